//! The eye model on both eyes of the measured frames, each eye on a thread
//! of its own, and which frames it reads ([`EyeSchedule`]).
//!
//! The eye model is the costliest step per frame (about 2.5 ms per eye on
//! one core here, against about 4 ms for all the motion measures). The
//! engine's thread only resamples the two eye crops; the models run beside
//! it, and their results come back in the order the frames went in, so the
//! numbers are the same as reading the eyes in line.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, channel, sync_channel};
use std::thread::JoinHandle;

use anyhow::{Context, Result};

use crate::face::{EyeCrop, EyeLandmarker, Eyelids};
use crate::motion::MotionSample;
use crate::regions::{Region, Side};

/// Eye crops one worker may hold before the engine waits for it.
pub const EYE_QUEUE: usize = 4;

/// Lid speed (face units / s, the texture-normalised speed of either eye's
/// upper or lower lid from pixels) from which the eye model reads every
/// frame. A blink or a twitch moves a lid at 50–300; a still lid in a clean
/// video measures 1–5 and in a compressed or talking one 10–60.
pub const LID_MOTION_READ_SPEED: f32 = 12.0;

/// How long (s) after the lids last moved the eye model goes on reading
/// every frame: a blink's whole closing and reopening, and a twitch's.
pub const LID_MOTION_HOLD_S: f64 = 0.5;

/// Longest gap (s) between two reads of still lids. The aperture between
/// them is interpolated; what it shows there is slow by definition (a
/// sustained narrowing, a gaze lowered), and the spasm rules look at it over
/// a second or more.
pub const STILL_LIDS_READ_GAP_S: f64 = 0.1;

/// Which measured frames the eye model reads: every frame while the lids
/// move (from pixels, measured before the eye model is asked), and ten a
/// second while they are still.
///
/// Why: the eye model is about half the CPU time of an analysis, and most of
/// a self-check is still eyes, whose aperture then changes slowly. Pixels
/// see a lid start to move in the frame it moves, so blinks and twitches are
/// read at the full frame rate from their first frame. Skipping the still
/// frames left the analyses of the dev set and of both real-face sets as
/// they were (events, laterality, blink counts) but for one borderline
/// event on a laughing face (see BENCHMARKS.md). The events' rules know
/// which samples were read ([`crate::events::Signals::eyes_read`]).
#[derive(Clone, Copy, Debug)]
pub struct EyeSchedule {
    last_read_t: f64,
    read_until_t: f64,
}

impl Default for EyeSchedule {
    fn default() -> Self {
        EyeSchedule {
            last_read_t: f64::NEG_INFINITY,
            read_until_t: f64::NEG_INFINITY,
        }
    }
}

impl EyeSchedule {
    /// Whether the eye model reads the measured frame at `t` (s), whose
    /// lids moved at `lid_speed` (an unknown speed counts as moving). A
    /// time before the last read (a new source) starts afresh.
    pub fn reads(&mut self, t: f64, lid_speed: f32) -> bool {
        if t < self.last_read_t {
            *self = EyeSchedule::default();
        }
        if lid_speed.is_nan() || lid_speed >= LID_MOTION_READ_SPEED {
            self.read_until_t = t + LID_MOTION_HOLD_S;
        }
        // A frame's time is rounded by its container; a read due "now" must
        // not slip to the next frame for a microsecond.
        let due = t - self.last_read_t >= STILL_LIDS_READ_GAP_S - 1e-6;
        let read = t <= self.read_until_t || due;
        if read {
            self.last_read_t = t;
        }
        read
    }
}

/// The fastest of both eyes' upper and lower lids in a sample (face units /
/// s): what [`EyeSchedule`] watches.
pub fn lid_speed(sample: &MotionSample) -> f32 {
    let mut fastest = 0.0f32;
    for side in &sample.regions {
        for region in [Region::UpperLid, Region::LowerLid] {
            let speed = side[region.index()].speed;
            if speed.is_nan() {
                return f32::NAN;
            }
            fastest = fastest.max(speed);
        }
    }
    fastest
}

/// What a worker hands back: the crop (for reuse) and the lids it read.
struct EyeResult {
    crop: EyeCrop,
    lids: std::result::Result<Eyelids, String>,
}

/// One eye's model on its thread.
struct EyeWorker {
    jobs: Option<SyncSender<EyeCrop>>,
    results: Receiver<EyeResult>,
    thread: Option<JoinHandle<()>>,
    /// Results received and not yet taken, oldest first.
    done: VecDeque<Eyelids>,
    spare: Vec<EyeCrop>,
}

impl EyeWorker {
    fn start(side: Side, mut model: EyeLandmarker) -> Result<EyeWorker> {
        let (job_tx, job_rx) = sync_channel::<EyeCrop>(EYE_QUEUE);
        let (res_tx, res_rx) = channel::<EyeResult>();
        let thread = std::thread::Builder::new()
            .name(format!("eye-{}", side.name()))
            .spawn(move || {
                for crop in job_rx {
                    let lids = model.read(&crop).map_err(|e| format!("{e:#}"));
                    if res_tx.send(EyeResult { crop, lids }).is_err() {
                        break;
                    }
                }
            })
            .context("starting an eye model thread")?;
        Ok(EyeWorker {
            jobs: Some(job_tx),
            results: res_rx,
            thread: Some(thread),
            done: VecDeque::with_capacity(EYE_QUEUE + 1),
            spare: Vec::with_capacity(EYE_QUEUE + 1),
        })
    }

    /// Moves one result into `done`, waiting for it if `block`. Returns
    /// whether one came.
    fn receive(&mut self, block: bool) -> Result<bool> {
        let result = if block {
            self.results
                .recv()
                .map_err(|_| anyhow::anyhow!("an eye model thread stopped"))?
        } else {
            match self.results.try_recv() {
                Ok(r) => r,
                Err(TryRecvError::Empty) => return Ok(false),
                Err(TryRecvError::Disconnected) => {
                    anyhow::bail!("an eye model thread stopped")
                }
            }
        };
        self.spare.push(result.crop);
        let lids = result
            .lids
            .map_err(|e| anyhow::anyhow!("eye model failed: {e}"))?;
        self.done.push_back(lids);
        Ok(true)
    }
}

impl Drop for EyeWorker {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Both eyes' models, fed frame by frame, answering in order.
pub struct EyeReaders {
    /// Indexed by [`Side::index`].
    workers: [EyeWorker; 2],
    /// Frames submitted whose lids have not been taken.
    in_flight: usize,
}

impl EyeReaders {
    /// Loads the eye model and starts a thread per eye, each with its own
    /// reader of it ([`EyeLandmarker::share`]).
    pub fn new() -> Result<EyeReaders> {
        let model = EyeLandmarker::new()?;
        let second = model.share()?;
        Ok(EyeReaders {
            workers: [
                EyeWorker::start(Side::BOTH[0], model)?,
                EyeWorker::start(Side::BOTH[1], second)?,
            ],
            in_flight: 0,
        })
    }

    /// Frames submitted and not yet taken.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Crops both eyes of a luma frame, the eye corners given per side (in
    /// [`Side::index`] order, image pixels), and hands them to the models.
    /// Waits while a model already holds [`EYE_QUEUE`] crops.
    pub fn submit(
        &mut self,
        luma: &[u8],
        width: usize,
        height: usize,
        corners: [[[f32; 2]; 2]; 2],
    ) -> Result<()> {
        // Sample both crops before sending either, so that a bad frame
        // leaves the two queues in step.
        let mut crops = [0, 1].map(|k| self.workers[k].spare.pop().unwrap_or_default());
        for side in Side::BOTH {
            let k = side.index();
            if let Err(e) = crops[k].sample(luma, width, height, corners[k], side == Side::Right) {
                for (w, crop) in self.workers.iter_mut().zip(crops) {
                    w.spare.push(crop);
                }
                return Err(e);
            }
        }
        for (w, crop) in self.workers.iter_mut().zip(crops) {
            w.jobs
                .as_ref()
                .context("eye models already stopped")?
                .send(crop)
                .map_err(|_| anyhow::anyhow!("an eye model thread stopped"))?;
        }
        self.in_flight += 1;
        Ok(())
    }

    /// Both eyes' lids of the oldest frame submitted, in [`Side::index`]
    /// order; `None` if they are not read yet and `block` is false.
    pub fn take(&mut self, block: bool) -> Result<Option<[Eyelids; 2]>> {
        if self.in_flight == 0 {
            return Ok(None);
        }
        for w in &mut self.workers {
            while w.done.is_empty() {
                if !w.receive(block)? {
                    return Ok(None);
                }
            }
        }
        match [0, 1].map(|k| self.workers[k].done.pop_front()) {
            [Some(x), Some(y)] => {
                self.in_flight -= 1;
                Ok(Some([x, y]))
            }
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::FaceTracker;
    use crate::face::tests::astronaut;

    /// Times (s) of a 30 fps stream's frames the schedule reads, with the
    /// lids moving at `speed(k)` in frame `k`.
    fn reads_at_30fps(frames: usize, speed: impl Fn(usize) -> f32) -> Vec<usize> {
        let mut schedule = EyeSchedule::default();
        (0..frames)
            .filter(|&k| schedule.reads(k as f64 / 30.0, speed(k)))
            .collect()
    }

    #[test]
    fn still_lids_are_read_ten_times_a_second_moving_ones_every_frame() {
        // Still lids: every third frame at 30 fps.
        let still = reads_at_30fps(30, |_| 2.0);
        assert_eq!(still, (0..30).step_by(3).collect::<Vec<_>>());
        // A blink from frame 11, between two scheduled reads (9 and 12):
        // read from its first frame, and every frame for half a second
        // after the lids last moved (frame 13, t = 0.43 s).
        let blink = reads_at_30fps(60, |k| if (11..=13).contains(&k) { 150.0 } else { 2.0 });
        assert!(!blink.contains(&10), "{blink:?}");
        assert!((11..=27).all(|k| blink.contains(&k)), "{blink:?}");
        // Then still again: every third frame.
        let after: Vec<usize> = blink.iter().copied().filter(|&k| k >= 28).collect();
        assert!(after.windows(2).all(|w| w[1] - w[0] == 3), "{blink:?}");
        assert!(after.len() >= 10, "{blink:?}");
        // Unknown lid motion is read.
        assert_eq!(reads_at_30fps(6, |_| f32::NAN), (0..6).collect::<Vec<_>>());
    }

    #[test]
    fn a_new_stream_starts_the_schedule_afresh() {
        let mut schedule = EyeSchedule::default();
        assert!(schedule.reads(5.0, 2.0));
        assert!(!schedule.reads(5.04, 2.0));
        // Time went back: a new source. Its first frame is read.
        assert!(schedule.reads(0.0, 2.0));
        assert!(!schedule.reads(0.04, 2.0));
        assert!(schedule.reads(0.1, 2.0));
    }

    #[test]
    fn lid_speed_is_the_fastest_lid_of_either_eye() {
        let mut s = MotionSample::empty(0.0);
        s.regions[1][Region::LowerLid.index()].speed = 7.0;
        s.regions[0][Region::UpperLid.index()].speed = 3.0;
        s.regions[0][Region::Cheek.index()].speed = 90.0;
        assert_eq!(lid_speed(&s), 7.0);
        s.regions[0][Region::UpperLid.index()].speed = f32::NAN;
        assert!(lid_speed(&s).is_nan());
    }

    #[test]
    fn readers_answer_in_order_with_the_in_line_numbers() {
        let f = astronaut();
        let mut tracker = FaceTracker::new().unwrap();
        let p = tracker.track(&f).unwrap().expect("a face").points.clone();
        let corners = |a: usize, b: usize| [[p[a][0], p[a][1]], [p[b][0], p[b][1]]];
        // Side::index order: the subject's left eye, then the right.
        let eyes = [corners(263, 362), corners(33, 133)];
        // A second frame whose left eye is blotted out, so that a mix-up of
        // frames would show.
        let mut blotted = f.luma.clone();
        let [[x0, y0], [x1, _]] = eyes[0];
        for y in (y0 as usize - 6)..(y0 as usize + 6) {
            for x in (x1.min(x0) as usize)..(x1.max(x0) as usize) {
                blotted[y * f.width + x] = 128;
            }
        }
        let frames = [&f.luma, &blotted, &blotted, &f.luma, &blotted, &f.luma];
        let mut model = EyeLandmarker::new().unwrap();
        let expected: Vec<[Eyelids; 2]> = frames
            .iter()
            .map(|luma| {
                [0, 1].map(|k| {
                    let mirror = Side::BOTH[k] == Side::Right;
                    model
                        .eyelids(luma, f.width, f.height, eyes[k], mirror)
                        .unwrap()
                })
            })
            .collect();
        assert!(
            (expected[0][0].aperture - expected[1][0].aperture).abs() > 0.02,
            "the blot must change the left eye: {expected:?}"
        );
        let mut readers = EyeReaders::new().unwrap();
        let mut got = Vec::new();
        for luma in frames {
            while readers.in_flight() >= EYE_QUEUE {
                got.push(readers.take(true).unwrap().unwrap());
            }
            readers.submit(luma, f.width, f.height, eyes).unwrap();
        }
        while let Some(lids) = readers.take(true).unwrap() {
            got.push(lids);
        }
        assert_eq!(got, expected);
        assert!(readers.take(false).unwrap().is_none());
        // A crop that cannot be made fails without unbalancing the queues.
        let close = [[[10.0, 10.0], [10.5, 10.0]]; 2];
        assert!(readers.submit(&f.luma, f.width, f.height, close).is_err());
        assert_eq!(readers.in_flight(), 0);
    }
}
