//! The eye model on both eyes of every measured frame, each eye on a thread
//! of its own.
//!
//! The eye model is the costliest step per frame (about 4.5 ms per eye on
//! one core here, against about 4 ms for all the motion measures). The
//! engine's thread only resamples the two eye crops; the models run beside
//! it, and their results come back in the order the frames went in, so the
//! numbers are the same as reading the eyes in line.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, channel, sync_channel};
use std::thread::JoinHandle;

use anyhow::{Context, Result};

use crate::face::{EyeCrop, EyeLandmarker, Eyelids};
use crate::regions::Side;

/// Eye crops one worker may hold before the engine waits for it.
pub const EYE_QUEUE: usize = 4;

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
    /// Loads the eye model and starts a thread per eye; the two share the
    /// model's weights.
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
