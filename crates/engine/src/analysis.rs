//! The engine: frames in, an [`Analysis`] out.
//!
//! [`Engine`] is the streaming part (face → regions → motion), fed one frame
//! at a time by any [`FrameSource`]; it hands out each frame's
//! [`MotionSample`] and keeps none, so a session of hours does not grow in
//! memory (the caller keeps what it needs: `analyze` all of them, a
//! recording on disk, the live view its last minutes). [`analyze_samples`]
//! is the pure, offline part
//! (resampling → spectra → events → laterality) that turns samples into the
//! analysis. A live view and a replay run the same two pieces.
//!
//! Per frame the engine places the regions on the person's resting face
//! (learned over the first seconds, see [`RestShape`]), measures the skin's
//! motion from pixels ([`MotionAnalyzer`]) and reads both eyes' lids with the
//! eye model ([`EyeReaders`], one thread per eye; every frame while the lids
//! move, ten a second while they are still: [`EyeSchedule`]); the face mesh
//! runs every 1/10 s (1/5 s while the face is still: [`STILL_HEAD_SPEED`]) on a
//! worker thread and only steers the pose.

use std::collections::{BTreeMap, VecDeque};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, channel, sync_channel};
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use ndarray::{Array3, ArrayView1};
use serde::{Deserialize, Serialize};

use crate::events::{
    Event, EventConfig, EventKind, EventSide, Signals, detect_events, head_moving_fraction,
    head_moving_ranges,
};
use crate::eyes::{EYE_QUEUE, EyeReaders, EyeSchedule, LID_MOTION_READ_SPEED, lid_speed};
use crate::face::FaceTracker;
use crate::figures::{self, COLUMNS, SideFigures, side_figures};
use crate::frame::{EndedEarly, Frame, FrameSource, SourceInfo};
use crate::motion::{MotionAnalyzer, MotionSample};
use crate::regions::{
    Region, RegionLayout, RestShape, Side, Similarity, head_yaw_deg, side_indices,
};
use crate::spectral::{
    SpectralConfig, Spectrum, UniformGrid, WindowSpectrum, resample_uniform, window_starts,
};

/// The JSON schema name written into every analysis.
pub const SCHEMA: &str = "twitchscope.analysis/1";

/// Settings of the whole engine.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalysisConfig {
    /// How often landmarks are refreshed (Hz); motion is measured on every
    /// frame in between from pixels. Half as often while the face is still
    /// ([`STILL_HEAD_SPEED`]).
    pub landmark_hz: f64,
    pub spectral: SpectralConfig,
    pub events: EventConfig,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            landmark_hz: 10.0,
            spectral: SpectralConfig::default(),
            events: EventConfig::default(),
        }
    }
}

impl AnalysisConfig {
    /// Checks settings a user can set; the message says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        let s = &self.spectral;
        if !(self.landmark_hz > 0.0 && self.landmark_hz <= 120.0) {
            return Err(format!(
                "landmark rate {} Hz must be in (0, 120]",
                self.landmark_hz
            ));
        }
        if !(s.window_s >= 0.5 && s.window_s <= 30.0) {
            return Err(format!(
                "spectral window {} s must be between 0.5 and 30 s",
                s.window_s
            ));
        }
        if !(s.hop_s > 0.0 && s.hop_s <= s.window_s) {
            return Err(format!(
                "hop {} s must be > 0 and at most the window",
                s.hop_s
            ));
        }
        if !(s.band_lo_hz > 0.0 && s.band_lo_hz < s.band_hi_hz) {
            return Err(format!(
                "band {}–{} Hz is empty",
                s.band_lo_hz, s.band_hi_hz
            ));
        }
        Ok(())
    }
}

/// Shortest recording that can be analysed, seconds (a few spectral
/// windows). `analyze`, the live view and a closing recording all use it.
pub const MIN_DURATION_S: f64 = 3.0;

/// Fewest image pixels between the outer eye corners for a face to be
/// measured. Below it each eye is under ~12 pixels wide and opens by 3–4:
/// a twitch moves a lid by less than a pixel, under the video's own noise,
/// and what the eye model reads there is noise (on the 64×48 version of a
/// real clip, eyes 20 px apart, it reported a tonic spasm). The smallest
/// real face we have (foreman, CIF) has 71–84.
pub const MIN_EYE_SPAN_PX: f32 = 40.0;

/// Least contrast across the eyes ([`eye_band_contrast`], grey levels) for a
/// face to be measured. Lid edges, lashes and irises stand out from the skin
/// by tens of grey levels in a lit face; in a dark room they sink into the
/// camera's noise (a couple of levels) and its compression. Darkening a real
/// clip step by step: at 22 levels (30 % of its light) the analysis was
/// unchanged; at 14 (20 %) it lost two thirds of the blinks; below that it
/// reported a spasm on a person only talking.
pub const MIN_FACE_CONTRAST: f32 = 16.0;

/// How much of a recording there is. The one definition of a recording's
/// frame count, duration and face-visible fraction: `analyze`, the live
/// view, the recorder, the session reader and the library all count with
/// it, so their numbers (and the events per minute built on the duration)
/// agree.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Coverage {
    /// Samples (measured frames).
    pub frames: u64,
    /// Samples in which a face was tracked.
    pub face_frames: u64,
    /// Samples whose face could be measured.
    pub measured_frames: u64,
    /// Samples with a face too dark to measure ([`MIN_FACE_CONTRAST`]).
    pub dark_frames: u64,
    /// The most faces counted in the picture (0: never counted).
    pub most_faces: u8,
    first_t: f64,
    last_t: f64,
}

impl Coverage {
    pub fn of(samples: &[MotionSample]) -> Coverage {
        let mut c = Coverage::default();
        for s in samples {
            c.push(s);
        }
        c
    }

    /// Counts one more sample.
    pub fn push(&mut self, sample: &MotionSample) {
        if self.frames == 0 {
            self.first_t = sample.t;
        }
        self.last_t = sample.t;
        self.frames += 1;
        self.face_frames += u64::from(sample.face);
        self.measured_frames += u64::from(sample.valid);
        self.dark_frames += u64::from(sample.face && !sample.valid && is_too_dark(sample));
        self.most_faces = self.most_faces.max(sample.faces_in_view);
    }

    /// First to last sample plus one frame period: `frames` frames of a
    /// video last `frames / fps`, whatever its first timestamp. The period
    /// is `1 / fps`, or the samples' mean spacing when `fps` is unknown.
    pub fn duration_s(&self, fps: f64) -> f64 {
        span_duration_s(self.first_t, self.last_t, self.frames, fps)
    }

    /// Fraction of the samples in which a face was tracked.
    pub fn face_visible_fraction(&self) -> f64 {
        if self.frames == 0 {
            0.0
        } else {
            self.face_frames as f64 / self.frames as f64
        }
    }

    /// Fraction of the samples with a face too dark to measure.
    pub fn too_dark_fraction(&self) -> f64 {
        if self.frames == 0 {
            0.0
        } else {
            self.dark_frames as f64 / self.frames as f64
        }
    }

    /// Whether there is enough to analyse: frames, [`MIN_DURATION_S`], a
    /// face. The error says which is missing, naming the recording.
    pub fn check_analysable(&self, name: &str, fps: f64) -> Result<()> {
        let duration = self.duration_s(fps);
        if self.frames == 0 {
            anyhow::bail!("{name}: the video has no frames");
        }
        if duration < MIN_DURATION_S {
            anyhow::bail!(
                "{name}: the video is too short to analyse ({duration:.1} s; at least {MIN_DURATION_S} s needed)"
            );
        }
        if self.face_frames == 0 {
            anyhow::bail!("{name}: no face found in the video");
        }
        if self.measured_frames == 0 && self.dark_frames * 2 >= self.face_frames {
            anyhow::bail!(
                "{name}: a face was found but it is too dark to measure (too little contrast \
                 around the eyes); add light in front of the face, not behind it"
            );
        }
        if self.measured_frames == 0 {
            anyhow::bail!(
                "{name}: a face was found but could not be measured in any frame: it is too small \
                 in the picture (eyes under {MIN_EYE_SPAN_PX} pixels apart) or never seen steadily; \
                 move closer to the camera or record at a higher resolution"
            );
        }
        Ok(())
    }
}

/// The duration of `frames` samples from `first_t` to `last_t` at `fps` (see
/// [`Coverage::duration_s`]); for callers that know only the span.
pub fn span_duration_s(first_t: f64, last_t: f64, frames: u64, fps: f64) -> f64 {
    if frames == 0 {
        return 0.0;
    }
    let span = (last_t - first_t).max(0.0);
    let period = if fps.is_finite() && fps > 0.0 {
        1.0 / fps
    } else if frames >= 2 {
        span / (frames - 1) as f64
    } else {
        0.0
    };
    span + period
}

/// Whether a sample's face was too dark to measure.
fn is_too_dark(sample: &MotionSample) -> bool {
    sample.face_contrast < MIN_FACE_CONTRAST
}

/// Contrast across the eyes of a frame: the grey levels between the 10th and
/// the 90th percentile of the luma in the band from one outer eye corner
/// (`a`, image pixels) to the other (`b`), reaching a third of their distance
/// above and below the line through them (lids, lashes, irises and the skin
/// around them). Sampled on a fixed grid: nothing is allocated.
pub fn eye_band_contrast(
    luma: &[u8],
    width: usize,
    height: usize,
    a: [f32; 2],
    b: [f32; 2],
) -> f32 {
    const ALONG: usize = 24;
    const ACROSS: usize = 8;
    let mut values = [0u8; ALONG * ACROSS];
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    // The perpendicular, a third of the corner distance long.
    let (px, py) = (-dy / 3.0, dx / 3.0);
    let mut n = 0;
    for i in 0..ALONG {
        let f = (i as f32 + 0.5) / ALONG as f32;
        for j in 0..ACROSS {
            let g = 2.0 * (j as f32 + 0.5) / ACROSS as f32 - 1.0;
            let x = a[0] + f * dx + g * px;
            let y = a[1] + f * dy + g * py;
            if x >= 0.0
                && y >= 0.0
                && (x as usize) < width
                && (y as usize) < height
                && let Some(&v) = luma.get(y as usize * width + x as usize)
            {
                values[n] = v;
                n += 1;
            }
        }
    }
    if n < values.len() / 2 {
        // Mostly outside the frame: not judged here.
        return f32::NAN;
    }
    let seen = &mut values[..n];
    seen.sort_unstable();
    (seen[9 * n / 10] as f32) - (seen[n / 10] as f32)
}

/// What the engine measured in one frame (for live views).
#[derive(Clone, Debug, Default)]
pub struct FrameReport {
    pub index: u64,
    /// The frame's measurements, and where the face was
    /// ([`MotionSample::pose`]).
    pub sample: MotionSample,
}

/// A frame sent to the face worker, and the buffers it hands back.
struct FaceJob {
    frame: Frame,
    points: Vec<[f32; 3]>,
}

struct FaceResult {
    frame: Frame,
    points: Vec<[f32; 3]>,
    found: bool,
    /// The faces at the tracker's last count.
    faces_in_view: usize,
    error: Option<String>,
}

/// A face observation at a landmark frame, already in canonical terms.
#[derive(Clone, Copy, Debug)]
struct PoseKey {
    t: f64,
    pose: Option<Similarity>,
}

/// A decoded frame waiting for the landmark result that follows it.
struct Pending {
    index: u64,
    t: f64,
    width: usize,
    height: usize,
    luma: Vec<u8>,
}

/// Frames a landmark job may wait in the queue to the worker; beyond that
/// the reader waits (offline) so memory stays bounded.
const FACE_QUEUE: usize = 3;

/// Head speed (face units / s: what pixels saw the head do between two
/// frames) under which the head counts as still. Once the head has been
/// still, and the lids too (under [`LID_MOTION_READ_SPEED`]), for
/// [`STILL_HEAD_S`], the face mesh runs at half the landmark rate.
///
/// Why: the mesh only steers the pose; between its frames the pose follows
/// the head from pixels, and a face doing nothing needs little steering.
/// The mesh is the largest single cost of an analysis after the eye model.
/// A person sitting for a self-check moves under 15 (3–10 typically);
/// talking with head motion is 60–300.
pub const STILL_HEAD_SPEED: f32 = 15.0;

/// How long (s) the face must have been still before the mesh slows down.
pub const STILL_HEAD_S: f64 = 1.0;

/// Which frames go to the face mesh: one every 1/`landmark_hz` s, one every
/// 2/`landmark_hz` s once the face has been still for [`STILL_HEAD_S`] (see
/// [`STILL_HEAD_SPEED`]).
///
/// Stillness is read at the landmark frame before the last one sent, not
/// the last one: that one's result may or may not be back, and the mesh's
/// schedule, hence the analysis, must not depend on how fast the worker
/// thread ran. So the answer for a frame can have to wait until that
/// landmark frame is measured.
#[derive(Clone, Debug)]
pub struct MeshSchedule {
    interval_s: f64,
    last_sent_t: f64,
    sent: u64,
    /// Since when every measured frame's face was still; infinite while it
    /// is not.
    still_since: f64,
    /// The last landmark frames sent, oldest first, each with whether the
    /// face had been still for [`STILL_HEAD_S`] when that frame was
    /// measured (`None` until it is).
    recent: VecDeque<(f64, Option<bool>)>,
}

impl MeshSchedule {
    pub fn new(landmark_hz: f64) -> MeshSchedule {
        MeshSchedule {
            interval_s: 1.0 / landmark_hz,
            last_sent_t: f64::NEG_INFINITY,
            sent: 0,
            still_since: f64::INFINITY,
            recent: VecDeque::with_capacity(3),
        }
    }

    /// Whether the frame at `t` goes to the mesh; `None` while that depends
    /// on a landmark frame not measured yet (measure it and ask again).
    pub fn sends(&self, t: f64) -> Option<bool> {
        let since = t - self.last_sent_t;
        if since < 0.999 * self.interval_s {
            return Some(false);
        }
        if since >= 1.998 * self.interval_s {
            return Some(true);
        }
        match self.recent.len().checked_sub(2) {
            Some(k) => self.recent[k].1.map(|still| !still),
            None => Some(true),
        }
    }

    /// The frame at `t` went to the mesh.
    pub fn sent(&mut self, t: f64) {
        self.last_sent_t = t;
        self.sent += 1;
        if self.recent.len() == 3 {
            self.recent.pop_front();
        }
        self.recent.push_back((t, None));
    }

    /// Frames sent so far.
    pub fn frames_sent(&self) -> u64 {
        self.sent
    }

    /// A frame was measured (in order): `face` whether a face was tracked
    /// in it, `lid_speed` its lids' speed ([`crate::eyes::lid_speed`]).
    pub fn measured(&mut self, sample: &MotionSample, face: bool, lid_speed: f32) {
        // A frame without a face, or with the head or the lids moving, ends
        // a still stretch; one seen but not measured (a repeated frame,
        // which says nothing moved) neither ends nor extends it.
        let moving = sample.valid
            && !(sample.head_speed < STILL_HEAD_SPEED && lid_speed < LID_MOTION_READ_SPEED);
        if !face || moving {
            self.still_since = f64::INFINITY;
        } else if sample.valid {
            self.still_since = self.still_since.min(sample.t);
        }
        let still = sample.t - self.still_since >= STILL_HEAD_S;
        for key in self.recent.iter_mut() {
            if key.1.is_none() && key.0 <= sample.t {
                key.1 = Some(still);
            }
        }
    }
}

/// Seconds of landmarks that make the resting face the regions are placed
/// on: long enough that a blink, a word or a glance is a minority.
const REST_SPAN_S: f64 = 2.0;

/// A face missing this long is gone: when one is found again (the same
/// person back, or someone else), its resting face is learned anew.
const FACE_GONE_S: f64 = 2.0;

/// The streaming engine: face → regions → motion, frame by frame.
///
/// Landmarks are the costly step, so a worker thread runs the face model
/// on every few frames while this thread measures motion on every frame.
/// Each frame's pose is interpolated between the landmark frames around it,
/// so results come out a few frames behind the input, in order.
pub struct Engine {
    config: AnalysisConfig,
    jobs: Option<SyncSender<FaceJob>>,
    results: Receiver<FaceResult>,
    worker: Option<JoinHandle<()>>,
    jobs_in_flight: usize,
    spare_frames: Vec<Frame>,
    spare_points: Vec<Vec<[f32; 3]>>,
    spare_luma: Vec<Vec<u8>>,
    pending: VecDeque<Pending>,
    motion: Option<MotionAnalyzer>,
    /// The resting face being learned; `None` once the layout is built on it.
    rest: Option<RestShape>,
    /// Time of the last landmark frame with a face.
    last_face_t: f64,
    /// The faces in the picture at the last count.
    faces_in_view: usize,
    /// The followed head's turn at the last landmark frame with a face.
    yaw_deg: Option<f32>,
    /// Last two landmark observations (older, newer).
    keys: VecDeque<PoseKey>,
    smoothed: Option<Similarity>,
    mesh_schedule: MeshSchedule,
    frames_in: u64,
    coverage: Coverage,
    fit_scratch: Vec<[f32; 2]>,
    /// The eye model, run on both eyes of the measured frames the schedule
    /// picks.
    eyes: EyeReaders,
    eye_schedule: EyeSchedule,
    /// Measured frames waiting for their eyes' lids, oldest first.
    awaiting: VecDeque<Awaiting>,
}

/// A measured frame, and whether its eyes were sent to the eye model.
struct Awaiting {
    report: FrameReport,
    eyes: bool,
}

impl Engine {
    pub fn new(config: AnalysisConfig) -> Result<Engine> {
        config.validate().map_err(anyhow::Error::msg)?;
        let mesh_schedule = MeshSchedule::new(config.landmark_hz);
        let mut tracker = FaceTracker::new()?;
        let (job_tx, job_rx) = sync_channel::<FaceJob>(FACE_QUEUE);
        let (res_tx, res_rx) = channel::<FaceResult>();
        let worker = std::thread::Builder::new()
            .name("face".into())
            .spawn(move || {
                for mut job in job_rx {
                    let (found, error) = match tracker.track(&job.frame) {
                        Ok(Some(lm)) => {
                            job.points.clear();
                            job.points.extend_from_slice(&lm.points);
                            (true, None)
                        }
                        Ok(None) => (false, None),
                        Err(e) => (false, Some(format!("{e:#}"))),
                    };
                    let result = FaceResult {
                        frame: job.frame,
                        points: job.points,
                        found,
                        faces_in_view: tracker.faces_in_view(),
                        error,
                    };
                    if res_tx.send(result).is_err() {
                        break;
                    }
                }
            })
            .context("starting the face worker thread")?;
        Ok(Engine {
            config,
            jobs: Some(job_tx),
            results: res_rx,
            worker: Some(worker),
            jobs_in_flight: 0,
            spare_frames: Vec::new(),
            spare_points: Vec::new(),
            spare_luma: Vec::new(),
            pending: VecDeque::new(),
            motion: None,
            rest: None,
            last_face_t: f64::NEG_INFINITY,
            faces_in_view: 0,
            yaw_deg: None,
            keys: VecDeque::with_capacity(3),
            smoothed: None,
            mesh_schedule,
            frames_in: 0,
            coverage: Coverage::default(),
            fit_scratch: Vec::with_capacity(32),
            eyes: EyeReaders::new()?,
            eye_schedule: EyeSchedule::default(),
            awaiting: VecDeque::with_capacity(EYE_QUEUE + 2),
        })
    }

    pub fn config(&self) -> &AnalysisConfig {
        &self.config
    }

    /// Frames sent to the face mesh so far.
    pub fn landmark_frames(&self) -> u64 {
        self.mesh_schedule.frames_sent()
    }

    pub fn layout(&self) -> Option<&RegionLayout> {
        self.motion.as_ref().map(|m| m.layout())
    }

    /// Frames pushed in.
    pub fn frames_seen(&self) -> u64 {
        self.frames_in
    }

    /// The faces in the picture when they were last counted (about once a
    /// second while a face is followed).
    pub fn faces_in_view(&self) -> usize {
        self.faces_in_view
    }

    /// How far the followed head is turned left or right, degrees, at the
    /// newest landmark frame (see [`head_yaw_deg`]); `None` without a face.
    pub fn head_yaw_deg(&self) -> Option<f32> {
        self.yaw_deg
    }

    /// How much has been measured so far (see [`Coverage`]).
    pub fn coverage(&self) -> Coverage {
        self.coverage
    }

    /// Feeds one frame. Returns the reports of the frames that became ready
    /// (usually a few frames behind).
    pub fn push_frame(&mut self, frame: &Frame, ready: &mut Vec<FrameReport>) -> Result<()> {
        self.frames_in += 1;
        let t = frame.timestamp_s;
        let mut luma = self.spare_luma.pop().unwrap_or_default();
        luma.clear();
        luma.extend_from_slice(&frame.luma);
        self.pending.push_back(Pending {
            index: frame.index,
            t,
            width: frame.width,
            height: frame.height,
            luma,
        });
        let send = loop {
            match self.mesh_schedule.sends(t) {
                Some(send) => break send,
                // The landmark frame the answer reads is with the worker.
                None if self.jobs_in_flight > 0 => self.receive(true, ready)?,
                None => break true,
            }
        };
        if send {
            self.mesh_schedule.sent(t);
            let mut copy = self.spare_frames.pop().unwrap_or_default();
            copy.ensure_size(frame.width, frame.height);
            copy.rgb.copy_from_slice(&frame.rgb);
            copy.timestamp_s = t;
            copy.index = frame.index;
            let points = self.spare_points.pop().unwrap_or_default();
            // Keep the queue bounded: collect finished work before sending.
            while self.jobs_in_flight >= FACE_QUEUE {
                self.receive(true, ready)?;
            }
            let jobs = self.jobs.as_ref().context("engine already finished")?;
            jobs.send(FaceJob {
                frame: copy,
                points,
            })
            .map_err(|_| anyhow::anyhow!("the face worker stopped"))?;
            self.jobs_in_flight += 1;
        }
        self.receive(false, ready)
    }

    /// Ends the stream: waits for the worker and measures every frame left.
    pub fn finish(&mut self, ready: &mut Vec<FrameReport>) -> Result<()> {
        while self.jobs_in_flight > 0 {
            self.receive(true, ready)?;
        }
        self.jobs = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
        while !self.pending.is_empty() {
            self.measure_front(ready)?;
        }
        self.complete(0, ready)
    }

    /// Takes landmark results (waiting for one if `block`) and measures the
    /// frames they cover.
    fn receive(&mut self, block: bool, ready: &mut Vec<FrameReport>) -> Result<()> {
        loop {
            let result = if block {
                match self.results.recv() {
                    Ok(r) => r,
                    Err(_) => anyhow::bail!("the face worker stopped"),
                }
            } else {
                match self.results.try_recv() {
                    Ok(r) => r,
                    Err(TryRecvError::Empty) => return Ok(()),
                    Err(TryRecvError::Disconnected) => anyhow::bail!("the face worker stopped"),
                }
            };
            self.jobs_in_flight -= 1;
            if let Some(e) = result.error {
                anyhow::bail!("face model failed: {e}");
            }
            self.faces_in_view = result.faces_in_view;
            self.add_key(&result);
            self.spare_frames.push(result.frame);
            self.spare_points.push(result.points);
            // Every frame up to this landmark frame now has its pose bracket.
            let t_key = self.keys.back().map(|k| k.t).unwrap_or(f64::NEG_INFINITY);
            while self.pending.front().is_some_and(|p| p.t <= t_key) {
                self.measure_front(ready)?;
            }
            if block {
                return Ok(());
            }
        }
    }

    fn add_key(&mut self, result: &FaceResult) {
        let t = result.frame.timestamp_s;
        let mut key = PoseKey { t, pose: None };
        self.yaw_deg = None;
        if result.found {
            self.yaw_deg = head_yaw_deg(&result.points);
            self.learn_rest(t, &result.points);
            self.last_face_t = t;
            if let Some(motion) = &self.motion
                && let Some(fit) = motion
                    .layout()
                    .fit_pose(&result.points, &mut self.fit_scratch)
            {
                // Light smoothing: landmark jitter must not become
                // motion, yet the pose must follow the head.
                let pose = match &mut self.smoothed {
                    Some(p) => {
                        p.blend_towards(&fit, 0.6);
                        *p
                    }
                    None => {
                        self.smoothed = Some(fit);
                        fit
                    }
                };
                key.pose = Some(pose);
            }
        } else {
            self.smoothed = None;
        }
        if self.keys.len() == 2 {
            self.keys.pop_front();
        }
        self.keys.push_back(key);
    }

    /// Places the regions: provisionally on the first face seen, then on the
    /// resting face of the first [`REST_SPAN_S`] seconds; anew after the face
    /// was gone for [`FACE_GONE_S`].
    fn learn_rest(&mut self, t: f64, points: &[[f32; 3]]) {
        if t - self.last_face_t > FACE_GONE_S {
            self.motion = None;
            self.rest = None;
        }
        if self.motion.is_none() {
            let Some(layout) = RegionLayout::from_reference(points) else {
                return;
            };
            self.motion = Some(MotionAnalyzer::new(layout));
            self.rest = Some(RestShape::new());
            self.smoothed = None;
        }
        let Some(rest) = &mut self.rest else {
            return;
        };
        rest.push(t, points);
        if rest.span_s() >= REST_SPAN_S || rest.len() >= RestShape::MAX_SETS {
            if let Some(layout) = rest.layout() {
                // Poses fitted to the provisional layout do not apply to
                // the new one: start the pose track afresh.
                self.motion = Some(MotionAnalyzer::new(layout));
                self.smoothed = None;
                self.keys.clear();
            }
            self.rest = None;
        }
    }

    /// Pose at time `t` from the landmark frames around it.
    fn pose_at(&self, t: f64) -> Option<Similarity> {
        let (a, b) = match (self.keys.front(), self.keys.back()) {
            (Some(a), Some(b)) => (a, b),
            _ => return None,
        };
        let (first, second) = if t <= a.t || self.keys.len() == 1 {
            (a, a)
        } else if t >= b.t {
            (b, b)
        } else {
            (a, b)
        };
        let f = if second.t > first.t {
            ((t - first.t) / (second.t - first.t)) as f32
        } else {
            0.0
        };
        let lerp = |x: f32, y: f32| x + f * (y - x);
        match (first.pose, second.pose) {
            (Some(p), Some(q)) => Some(Similarity {
                a: lerp(p.a, q.a),
                b: lerp(p.b, q.b),
                tx: lerp(p.tx, q.tx),
                ty: lerp(p.ty, q.ty),
            }),
            (p, q) => p.or(q),
        }
    }

    fn measure_front(&mut self, ready: &mut Vec<FrameReport>) -> Result<()> {
        let Some(p) = self.pending.pop_front() else {
            return Ok(());
        };
        let pose = self.pose_at(p.t);
        let (sample, corners) = match &mut self.motion {
            Some(m) => {
                let mut s = m.process(&p.luma, p.width, p.height, p.t, pose.as_ref());
                // The eyelids, each eye on its own, where the tracked pose
                // puts this person's resting eye corners.
                let rest = m.layout().rest();
                let corners = Side::BOTH.map(|side| {
                    let ix = side_indices(side);
                    [
                        m.to_image(rest[ix.eye_outer]),
                        m.to_image(rest[ix.eye_inner]),
                    ]
                });
                let [a, b] = [corners[0][0], corners[1][0]];
                let span = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
                if span.is_nan() || span < MIN_EYE_SPAN_PX {
                    // Too small to measure: seen, not measured.
                    s = MotionSample::empty(p.t);
                } else {
                    let contrast = eye_band_contrast(&p.luma, p.width, p.height, a, b);
                    if contrast < MIN_FACE_CONTRAST {
                        // Too dark to measure: seen, not measured.
                        s = MotionSample::empty(p.t);
                    }
                    s.face_contrast = contrast;
                }
                (s, Some(corners))
            }
            None => (MotionSample::empty(p.t), None),
        };
        let lids = lid_speed(&sample);
        let read = sample.valid && self.eye_schedule.reads(p.t, lids);
        let corners = corners.filter(|_| read);
        self.mesh_schedule.measured(&sample, pose.is_some(), lids);
        let report = FrameReport {
            index: p.index,
            sample: MotionSample {
                face: pose.is_some(),
                faces_in_view: u8::try_from(self.faces_in_view).unwrap_or(u8::MAX),
                pose,
                ..sample
            },
        };
        if let Some(corners) = corners {
            self.complete(EYE_QUEUE - 1, ready)?;
            self.eyes.submit(&p.luma, p.width, p.height, corners)?;
        }
        self.spare_luma.push(p.luma);
        self.awaiting.push_back(Awaiting {
            report,
            eyes: corners.is_some(),
        });
        self.complete(EYE_QUEUE, ready)
    }

    /// Hands out the measured frames whose eyes are read, in order, waiting
    /// for the eye model until at most `max_in_flight` frames are with it.
    fn complete(&mut self, max_in_flight: usize, ready: &mut Vec<FrameReport>) -> Result<()> {
        while let Some(front) = self.awaiting.front() {
            let lids = if front.eyes {
                let wait = self.eyes.in_flight() > max_in_flight;
                match self.eyes.take(wait)? {
                    Some(lids) => Some(lids),
                    None => break,
                }
            } else {
                None
            };
            let Some(Awaiting { mut report, .. }) = self.awaiting.pop_front() else {
                break;
            };
            for (k, l) in lids.iter().flatten().enumerate() {
                let s = &mut report.sample;
                s.aperture[k] = l.aperture;
                s.upper_lid[k] = l.upper;
                s.lower_lid[k] = l.lower;
            }
            self.coverage.push(&report.sample);
            ready.push(report);
        }
        Ok(())
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// Runs the engine over a whole source. `progress` is called with the number
/// of frames done.
pub fn analyze_source(
    source: &mut dyn FrameSource,
    config: &AnalysisConfig,
    mut progress: impl FnMut(u64),
) -> Result<Analysis> {
    let mut engine = Engine::new(config.clone())?;
    let mut frame = Frame::default();
    let mut ready = Vec::new();
    let mut samples = Vec::new();
    while source.next_frame(&mut frame)? {
        ready.clear();
        engine.push_frame(&frame, &mut ready)?;
        samples.extend(ready.iter().map(|r| r.sample));
        progress(engine.frames_seen());
    }
    ready.clear();
    engine.finish(&mut ready)?;
    samples.extend(ready.iter().map(|r| r.sample));
    let info = source.info().clone();
    engine.coverage().check_analysable(&info.name, info.fps)?;
    let mut analysis = analyze_samples(&samples, &info, config);
    analysis.quality.ended_early = source.ended_early();
    Ok(analysis)
}

/// Where the analysed frames came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceMeta {
    pub path: String,
    pub fps: f64,
    pub frames: u64,
    pub duration_s: f64,
    pub width: usize,
    pub height: usize,
    /// The most faces found in one frame of the video; with more than one,
    /// the largest was followed. Absent where the frames are not at hand
    /// (a recorded session read back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub most_faces: Option<usize>,
}

impl SourceMeta {
    /// The source `info` describes, as far as `coverage` measured it.
    pub fn new(info: &SourceInfo, coverage: &Coverage) -> SourceMeta {
        SourceMeta {
            path: info.name.clone(),
            fps: info.fps,
            frames: coverage.frames,
            duration_s: coverage.duration_s(info.fps),
            width: info.width,
            height: info.height,
            // From the samples, so a recorded session read back (or the
            // app's own analysis) says it as `analyze` does.
            most_faces: (coverage.most_faces > 0).then_some(usize::from(coverage.most_faces)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    pub face_visible_fraction: f64,
    /// Fraction of the frames whose face was too dark to measure (skipped).
    #[serde(default)]
    pub face_too_dark_fraction: f64,
    /// The video ended before its header said: only what was read is
    /// analysed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_early: Option<EndedEarly>,
    /// Stretches of the recording in which no face was in view (the person
    /// left, turned away or was hidden), at least [`MIN_FACE_GAP_S`] long.
    /// Nothing is measured there and no event is placed there.
    #[serde(default)]
    pub face_gaps: Vec<Stretch>,
    /// Of the time the face was measured, the share in which the head moved
    /// too fast for a spasm to be judged (no event starts then: pixels of a
    /// face turning or bobbing quickly are blurred and foreshortened).
    #[serde(default)]
    pub head_moving_fraction: f64,
    /// Where that was: the stretches of at least [`MIN_HEAD_MOVING_S`] with
    /// the head too fast, so that a quiet stretch of the timeline is not
    /// read as a calm one.
    #[serde(default)]
    pub head_moving: Vec<Stretch>,
}

/// A stretch of a recording, in the samples' time (seconds, like the
/// events). A face gap runs from the first frame without a face to the first
/// one with a face again (or the end of the recording).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stretch {
    pub start_s: f64,
    pub end_s: f64,
}

impl Stretch {
    pub fn duration_s(&self) -> f64 {
        self.end_s - self.start_s
    }
}

/// Shortest stretch without a face that is listed as a gap. Shorter losses
/// (a hand passing, motion blur for a few frames) are bridged by the
/// tracker and the resampling; a gap this long is a person who left or
/// turned away, which a reader of the results must know about.
pub const MIN_FACE_GAP_S: f64 = 0.5;

/// Shortest stretch with the head too fast to judge that is listed: a
/// head bobbing as the person talks moves fast for a few frames at a time.
pub const MIN_HEAD_MOVING_S: f64 = 0.5;

/// Slower moments shorter than this inside a stretch of fast head motion
/// belong to it (s): a bobbing head slows at each turn of its motion.
const HEAD_MOVING_BRIDGE_S: f64 = 0.25;

/// The stretches of a recording in which the face was measured and the
/// head moved too fast for an event to start (the detector's rule 7), at
/// least [`MIN_HEAD_MOVING_S`] long, brief slower moments inside bridged.
pub fn head_moving_stretches(signals: &Signals, config: &EventConfig) -> Vec<Stretch> {
    let rate = signals.rate;
    head_moving_ranges(
        signals,
        config,
        (HEAD_MOVING_BRIDGE_S * rate).round() as usize,
    )
    .into_iter()
    .map(|(a, b)| Stretch {
        start_s: signals.t0 + a as f64 / rate,
        end_s: signals.t0 + b as f64 / rate,
    })
    .filter(|s| s.duration_s() >= MIN_HEAD_MOVING_S - 1e-9)
    .collect()
}

/// The time of a recording of `duration_s` seconds with a face in view:
/// all of it but its face gaps. Events per minute and the time an eye
/// was narrowed are counted over it.
pub fn observed_s(duration_s: f64, gaps: &[Stretch]) -> f64 {
    (duration_s - gaps.iter().map(Stretch::duration_s).sum::<f64>()).max(0.0)
}

/// The stretches of `samples` without a face lasting at least
/// [`MIN_FACE_GAP_S`]. A stretch reaching the end of the recording ends one
/// frame period after its last sample (`period_s`), like the recording.
pub fn face_gaps(samples: &[MotionSample], period_s: f64) -> Vec<Stretch> {
    let mut gaps = Vec::new();
    let mut start: Option<f64> = None;
    let mut push = |start_s: f64, end_s: f64| {
        if end_s - start_s >= MIN_FACE_GAP_S {
            gaps.push(Stretch { start_s, end_s });
        }
    };
    for s in samples {
        match (s.face, start) {
            (false, None) => start = Some(s.t),
            (true, Some(t0)) => {
                push(t0, s.t);
                start = None;
            }
            _ => {}
        }
    }
    if let (Some(t0), Some(last)) = (start, samples.last()) {
        push(t0, last.t + period_s.max(0.0));
    }
    gaps
}

/// Laterality of a window or a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Laterality {
    None,
    Left,
    Right,
    Bilateral,
}

impl Laterality {
    pub fn name(self) -> &'static str {
        match self {
            Laterality::None => "none",
            Laterality::Left => "left",
            Laterality::Right => "right",
            Laterality::Bilateral => "bilateral",
        }
    }

    /// As shown to people: the patient's own side, "bilateral" or "none".
    pub fn patient_label(self) -> &'static str {
        match self {
            Laterality::Left => Side::Left.patient_label(),
            Laterality::Right => Side::Right.patient_label(),
            other => other.name(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PerSide<T> {
    pub left: T,
    pub right: T,
}

impl<T> PerSide<T> {
    pub fn get(&self, side: Side) -> &T {
        match side {
            Side::Left => &self.left,
            Side::Right => &self.right,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventsPerMin {
    pub left: f64,
    pub right: f64,
    pub bilateral: f64,
}

/// Session-level answer: which side, how often, what frequency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub laterality: Laterality,
    pub dominant_freq_hz: Option<f64>,
    pub events_per_min: EventsPerMin,
    pub blinks_per_min: f64,
    pub regions: PerSide<Vec<Region>>,
    pub synkinesis: PerSide<bool>,
    /// The figures of each column ([`COLUMNS`]); absent in analyses saved
    /// before they existed (see [`Analysis::figures`]).
    #[serde(default)]
    pub sides: Vec<SideFigures>,
}

/// One spectral window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub start_s: f64,
    pub end_s: f64,
    pub laterality: Laterality,
    pub dominant_freq_hz: Option<f64>,
    /// Band power of each region's vertical velocity, per side.
    pub band_power: PerSide<BTreeMap<Region, f64>>,
}

/// Spectrogram per side: eye-region power per window and frequency bin.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Spectrogram {
    pub freqs_hz: Vec<f64>,
    pub times_s: Vec<f64>,
    /// `[window][bin]`.
    pub left: Vec<Vec<f32>>,
    pub right: Vec<Vec<f32>>,
}

/// The result of analysing a recording; serialises to the
/// `twitchscope.analysis/1` JSON schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub schema: String,
    pub source: SourceMeta,
    pub quality: Quality,
    pub summary: Summary,
    pub events: Vec<Event>,
    pub windows: Vec<Window>,
    pub spectrogram: Spectrogram,
    /// Noise floor of each region's band power, learned from this
    /// recording (median over windows): `band_power` well above it is
    /// activity.
    #[serde(default)]
    pub noise_floor: PerSide<BTreeMap<Region, f64>>,
}

/// A measured frame whose head speed is at least JOLT_MIN_SPEED (face
/// units / s) while the frames measured before and after it show a still
/// head (under [`STILL_HEAD_SPEED`]) is a jolt: the whole picture jumped in
/// one frame interval and stayed (a dropped stretch of frames, a cut in the
/// video, the camera knocked). A head moves over several frames, and a lid
/// twitch does not move the head's reference patches; across a jolt every
/// region's motion is mostly registration error, which the band-pass turns
/// into a burst of "twitching". Such a frame is not measured (its
/// quantities are interpolated, like a repeated frame's).
const JOLT_MIN_SPEED: f32 = 50.0;

/// Which of `measured` (the measured frames, in order) are jolts.
fn jolts(measured: &[&MotionSample]) -> Vec<bool> {
    let still = |i: usize| measured[i].head_speed < STILL_HEAD_SPEED;
    (0..measured.len())
        .map(|i| {
            i > 0
                && i + 1 < measured.len()
                && measured[i].head_speed >= JOLT_MIN_SPEED
                && still(i - 1)
                && still(i + 1)
        })
        .collect()
}

/// Resamples motion samples to a uniform time base. Each quantity is
/// interpolated over the samples where it was measured (a failed measurement
/// is a gap, not a zero; a jolt, see [`JOLT_MIN_SPEED`], is not a
/// measurement); gaps over a quarter of a second stay unknown.
pub fn build_signals(samples: &[MotionSample], rate: f64) -> Signals {
    let Some(first) = samples.first() else {
        return Signals::zeros(rate, 0.0, 0);
    };
    let t0 = first.t;
    let t_end = samples.last().map(|s| s.t).unwrap_or(t0);
    let n = ((t_end - t0) * rate).floor() as usize + 1;
    let mut signals = Signals::zeros(rate, t0, n);
    let measured: Vec<&MotionSample> = samples.iter().filter(|s| s.valid).collect();
    let valid: Vec<&MotionSample> = measured
        .iter()
        .zip(jolts(&measured))
        .filter(|(_, jolt)| !jolt)
        .map(|(s, _)| *s)
        .collect();
    let grid = UniformGrid {
        t0,
        rate,
        n,
        max_gap_s: 0.25,
        fill: f32::NAN,
    };
    let (mut times, mut values) = (
        Vec::with_capacity(valid.len()),
        Vec::with_capacity(valid.len()),
    );
    let mut resample = |get: &dyn Fn(&MotionSample) -> f32| -> Vec<f32> {
        times.clear();
        values.clear();
        for s in &valid {
            let v = get(s);
            if v.is_finite() {
                times.push(s.t);
                values.push(v);
            }
        }
        let mut out = Vec::new();
        resample_uniform(&times, &values, &grid, &mut out);
        out
    };
    for s in 0..2 {
        for r in 0..Region::COUNT {
            let row = |q: &mut Array3<f32>, values: Vec<f32>| {
                q.slice_mut(ndarray::s![s, r, ..])
                    .assign(&ArrayView1::from(&values));
            };
            row(&mut signals.speed, resample(&|m| m.regions[s][r].speed));
            row(&mut signals.vy, resample(&|m| m.regions[s][r].vy));
            row(&mut signals.deform, resample(&|m| m.regions[s][r].deform));
            row(&mut signals.ripple, resample(&|m| m.regions[s][r].ripple));
            row(&mut signals.tilt, resample(&|m| m.regions[s][r].tilt));
        }
        signals.aperture[s] = resample(&|m| m.aperture[s]);
    }
    signals.eyes_read = vec![false; n];
    for m in &valid {
        if m.aperture.iter().all(|a| a.is_finite()) {
            let k = ((m.t - t0) * rate).round();
            if k >= 0.0 && (k as usize) < n {
                signals.eyes_read[k as usize] = true;
            }
        }
    }
    signals.head_speed = resample(&|m| m.head_speed);
    // A sample is measured where the face was tracked around it.
    let tracked = resample(&|m| if m.valid { 1.0 } else { f32::NAN });
    signals.valid = tracked.iter().map(|v| v.is_finite()).collect();
    for q in [
        &mut signals.speed,
        &mut signals.vy,
        &mut signals.deform,
        &mut signals.ripple,
        &mut signals.tilt,
    ] {
        q.mapv_inplace(|v| if v.is_finite() { v } else { 0.0 });
    }
    for v in &mut signals.head_speed {
        if !v.is_finite() {
            *v = 0.0;
        }
    }
    signals
}

/// The offline part of the engine: samples to analysis. The recording's
/// frames, duration and face-visible fraction are counted from `samples`
/// ([`Coverage`]); `info` says where they came from.
pub fn analyze_samples(
    samples: &[MotionSample],
    info: &SourceInfo,
    config: &AnalysisConfig,
) -> Analysis {
    let coverage = Coverage::of(samples);
    let source = SourceMeta::new(info, &coverage);
    let rate = if source.fps.is_finite() && source.fps >= 5.0 {
        source.fps.round()
    } else {
        config.spectral.rate_hz
    };
    let spectral = SpectralConfig {
        rate_hz: rate,
        ..config.spectral.clone()
    };
    let band = spectral.band();
    let events_config = EventConfig {
        band,
        ..config.events.clone()
    };
    let signals = build_signals(samples, rate);
    let events = detect_events(&signals, &events_config);
    let (windows, spectrogram) = spectral_windows(&signals, &spectral, &events);
    let noise_floor = noise_floor(&windows);
    let face_gaps = face_gaps(samples, 1.0 / rate);
    // Rates are per minute of face in view: a spasm while the person was
    // away is unseen, not absent.
    let summary = summarise(&events, observed_s(source.duration_s, &face_gaps));
    Analysis {
        schema: SCHEMA.to_string(),
        source,
        quality: Quality {
            face_visible_fraction: coverage.face_visible_fraction(),
            face_too_dark_fraction: coverage.too_dark_fraction(),
            ended_early: None,
            face_gaps,
            head_moving_fraction: head_moving_fraction(&signals, &events_config),
            head_moving: head_moving_stretches(&signals, &events_config),
        },
        summary,
        events,
        windows,
        spectrogram,
        noise_floor,
    }
}

/// Median band power per side and region over all windows.
fn noise_floor(windows: &[Window]) -> PerSide<BTreeMap<Region, f64>> {
    let mut scratch = Vec::new();
    let mut values = Vec::with_capacity(windows.len());
    let mut floor_of = |side: Side| -> BTreeMap<Region, f64> {
        Region::ALL
            .into_iter()
            .map(|r| {
                values.clear();
                values.extend(
                    windows
                        .iter()
                        .map(|w| w.band_power.get(side).get(&r).copied().unwrap_or(0.0) as f32),
                );
                (r, crate::spectral::median(&values, &mut scratch) as f64)
            })
            .collect()
    };
    PerSide {
        left: floor_of(Side::Left),
        right: floor_of(Side::Right),
    }
}

/// Laterality of the events overlapping `[t0, t1)`.
fn laterality_of(events: &[Event], t0: f64, t1: f64) -> Laterality {
    let (mut left, mut right) = (false, false);
    for e in events
        .iter()
        .filter(|e| e.is_spasm() && e.start_s < t1 && e.end_s > t0)
    {
        left |= e.side.involves(Side::Left);
        right |= e.side.involves(Side::Right);
    }
    match (left, right) {
        (true, true) => Laterality::Bilateral,
        (true, false) => Laterality::Left,
        (false, true) => Laterality::Right,
        (false, false) => Laterality::None,
    }
}

fn spectral_windows(
    signals: &Signals,
    config: &SpectralConfig,
    events: &[Event],
) -> (Vec<Window>, Spectrogram) {
    let rate = signals.rate;
    let len = (config.window_s * rate).round().max(8.0) as usize;
    let hop = (config.hop_s * rate).round().max(1.0) as usize;
    let band = config.band();
    let mut spectrum = Spectrum::new(len, len.next_power_of_two() * 2, rate, band);
    let mut ws = WindowSpectrum::default();
    let mut eye = vec![0.0f32; len];
    let mut windows = Vec::new();
    let mut spectrogram = Spectrogram {
        freqs_hz: (0..spectrum.bins()).map(|b| spectrum.bin_hz(b)).collect(),
        ..Spectrogram::default()
    };
    let up = Region::UpperLid.index();
    let lo = Region::LowerLid.index();
    for k in window_starts(signals.len(), len, hop) {
        let (t0, t1) = (signals.time(k), signals.time(k + len));
        let mut band_power = PerSide::<BTreeMap<Region, f64>>::default();
        let mut eye_peak = [(0.0f32, 0.0f32); 2];
        for side in Side::BOTH {
            let s = side.index();
            let map = match side {
                Side::Left => &mut band_power.left,
                Side::Right => &mut band_power.right,
            };
            for region in Region::ALL {
                spectrum.compute(
                    &Signals::row(&signals.vy, s, region.index())[k..k + len],
                    &mut ws,
                );
                map.insert(region, ws.band_power as f64);
            }
            // The eye's closure (deformation of both lids) is position-like,
            // so its spectrum peaks at the twitch rate rather than at the
            // harmonics a velocity would favour.
            for (i, v) in eye.iter_mut().enumerate() {
                *v = signals.deform[[s, up, k + i]] + signals.deform[[s, lo, k + i]];
            }
            spectrum.compute(&eye, &mut ws);
            eye_peak[s] = (ws.band_power, spectrum.repetition_hz(&ws));
            match side {
                Side::Left => spectrogram.left.push(ws.power.clone()),
                Side::Right => spectrogram.right.push(ws.power.clone()),
            }
        }
        spectrogram.times_s.push((t0 + t1) / 2.0);
        let laterality = laterality_of(events, t0, t1);
        // The dominant frequency of a window is the eye rhythm of the side
        // that is active (the stronger one when both are).
        let dominant = match laterality {
            Laterality::None => None,
            Laterality::Left => Some(eye_peak[0].1 as f64),
            Laterality::Right => Some(eye_peak[1].1 as f64),
            Laterality::Bilateral => {
                let s = if eye_peak[0].0 >= eye_peak[1].0 { 0 } else { 1 };
                Some(eye_peak[s].1 as f64)
            }
        };
        windows.push(Window {
            start_s: t0,
            end_s: t1,
            laterality,
            dominant_freq_hz: dominant,
            band_power,
        });
    }
    (windows, spectrogram)
}

/// Session summary from the events.
pub fn summarise(events: &[Event], duration_s: f64) -> Summary {
    let minutes = (duration_s / 60.0).max(1e-9);
    let count = |side: EventSide| {
        events
            .iter()
            .filter(|e| e.is_spasm() && e.side == side)
            .count()
    };
    let (n_left, n_right, n_bi) = (
        count(EventSide::Left),
        count(EventSide::Right),
        count(EventSide::Bilateral),
    );
    let blinks = events.iter().filter(|e| e.kind == EventKind::Blink).count();
    // Time spent in spasm per side decides laterality; a side needs a fair
    // share of the total to count, so a stray event does not make a
    // unilateral case bilateral.
    let time = |side: EventSide| -> f64 {
        events
            .iter()
            .filter(|e| e.is_spasm() && e.side == side)
            .map(|e| e.duration_s())
            .sum()
    };
    let (t_left, t_right, t_bi) = (
        time(EventSide::Left),
        time(EventSide::Right),
        time(EventSide::Bilateral),
    );
    let total = t_left + t_right + t_bi;
    let laterality = if total <= 0.0 {
        Laterality::None
    } else if t_bi >= 0.5 * total || (t_left >= 0.25 * total && t_right >= 0.25 * total) {
        Laterality::Bilateral
    } else if t_left >= t_right {
        Laterality::Left
    } else {
        Laterality::Right
    };
    let affected = affected_sides(laterality);
    let freqs: Vec<f64> = events
        .iter()
        .filter(|e| e.is_spasm() && affected.contains(&e.side))
        .filter_map(|e| e.freq_hz)
        .collect();
    let dominant_freq_hz = figures::median(&freqs);
    let sides = COLUMNS.map(|c| side_figures(events, duration_s, c));
    let [left, right, _] = &sides;
    Summary {
        laterality,
        dominant_freq_hz,
        events_per_min: EventsPerMin {
            left: n_left as f64 / minutes,
            right: n_right as f64 / minutes,
            bilateral: n_bi as f64 / minutes,
        },
        blinks_per_min: blinks as f64 / minutes,
        regions: PerSide {
            left: left.regions.clone(),
            right: right.regions.clone(),
        },
        synkinesis: PerSide {
            left: left.synkinesis(),
            right: right.synkinesis(),
        },
        sides: sides.to_vec(),
    }
}

/// The columns whose events make up a laterality: the one side, or all
/// three for bilateral spasm.
pub fn affected_sides(laterality: Laterality) -> Vec<EventSide> {
    match laterality {
        Laterality::None => vec![],
        Laterality::Left => vec![EventSide::Left],
        Laterality::Right => vec![EventSide::Right],
        Laterality::Bilateral => COLUMNS.to_vec(),
    }
}

impl Analysis {
    /// The figures of one column, as the summary holds them (an analysis
    /// saved before the summary held them gets them from its events by
    /// the same rule).
    pub fn figures(&self, side: EventSide) -> SideFigures {
        self.summary
            .sides
            .iter()
            .find(|f| f.side == side)
            .cloned()
            .unwrap_or_else(|| side_figures(&self.events, self.observed_s(), side))
    }

    /// Seconds of the recording with a face in view (see [`observed_s`]).
    pub fn observed_s(&self) -> f64 {
        observed_s(self.source.duration_s, &self.quality.face_gaps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A measured sample at `t` with the head moving at `head_speed`.
    fn measured_at(t: f64, head_speed: f32) -> MotionSample {
        MotionSample {
            valid: true,
            face: true,
            head_speed,
            ..MotionSample::empty(t)
        }
    }

    /// Frames `frames` of a 30 fps stream through `schedule`, each measured
    /// as soon as it is sent (a fast worker) with the head at `head_speed`;
    /// the frames sent to the mesh.
    fn mesh_frames(
        schedule: &mut MeshSchedule,
        frames: std::ops::Range<usize>,
        head_speed: f32,
    ) -> Vec<usize> {
        let mut sent = Vec::new();
        for k in frames {
            let t = k as f64 / 30.0;
            if schedule.sends(t) == Some(true) {
                schedule.sent(t);
                sent.push(k);
            }
            schedule.measured(&measured_at(t, head_speed), true, 1.0);
        }
        sent
    }

    #[test]
    fn the_mesh_schedule_halves_on_a_still_face_from_measured_frames_only() {
        let mut schedule = MeshSchedule::new(10.0);
        let sent = mesh_frames(&mut schedule, 0..90, 2.0);
        // Every third frame for the first second and a bit, then every sixth.
        assert_eq!(sent[..4], [0, 3, 6, 9]);
        let last: Vec<usize> = sent.windows(2).map(|w| w[1] - w[0]).rev().take(5).collect();
        assert_eq!(last, [6; 5], "{sent:?}");
        // Then the head moves: back to every third frame once a landmark
        // frame that saw it moving is measured.
        let sent = mesh_frames(&mut schedule, 90..150, 80.0);
        let gaps: Vec<usize> = sent.windows(2).map(|w| w[1] - w[0]).collect();
        // One more slow step (its decision read a still frame), then fast.
        assert_eq!(gaps[0], 6, "{sent:?}");
        assert!(gaps[1..].iter().all(|&g| g == 3), "{sent:?}");
    }

    #[test]
    fn the_mesh_schedule_waits_for_the_frame_it_reads_not_for_the_newest() {
        let mut schedule = MeshSchedule::new(10.0);
        let mut t = 0.0;
        // Still for two seconds, sent and measured in step.
        while t < 2.0 {
            if schedule.sends(t) == Some(true) {
                schedule.sent(t);
            }
            schedule.measured(&measured_at(t, 2.0), true, 1.0);
            t += 0.1;
        }
        // Two more landmark frames sent, neither measured: the answer at the
        // next due time depends on the older of the two, so it waits.
        let (a, b) = (2.2, 2.4);
        schedule.sent(a);
        schedule.sent(b);
        assert_eq!(schedule.sends(2.5), None);
        // Once the older one is measured (still), the newer's result does not
        // matter: the mesh waits for 2/10 s.
        schedule.measured(&measured_at(a, 2.0), true, 1.0);
        assert_eq!(schedule.sends(2.5), Some(false));
        assert_eq!(schedule.sends(2.6), Some(true));
        // A repeated frame (seen, not measured) neither ends nor extends a
        // still stretch; a frame without a face ends it.
        let mut repeat = MotionSample::empty(2.5);
        repeat.face = true;
        schedule.measured(&repeat, true, 0.0);
        schedule.sent(2.6);
        assert_eq!(
            schedule.sends(2.7),
            Some(false),
            "the frame at 2.4 was still"
        );
        schedule.measured(&MotionSample::empty(2.61), false, 0.0);
        schedule.measured(&measured_at(2.65, 2.0), true, 1.0);
        schedule.sent(2.8);
        assert_eq!(
            schedule.sends(2.9),
            Some(true),
            "the face was lost before 2.6"
        );
    }

    #[test]
    fn the_mesh_runs_half_as_often_while_the_face_is_still() {
        use crate::face::tests::{astronaut, frame_from_rgb, shifted};
        let face = astronaut();
        // The same face a grey level brighter: no frame repeats the one
        // before (a repeat is not measured), and nothing moves.
        let brighter = {
            let rgb = face.rgb.iter().map(|&v| v.saturating_add(1)).collect();
            frame_from_rgb(face.width, face.height, rgb)
        };
        let mut engine = Engine::new(AnalysisConfig::default()).unwrap();
        let mut ready = Vec::new();
        let mut mesh_runs = |engine: &mut Engine, from_s: f64, to_s: f64, moving: bool| {
            let before = engine.landmark_frames();
            for k in (from_s * 30.0).round() as usize..(to_s * 30.0).round() as usize {
                let t = k as f64 / 30.0;
                let mut frame = if moving {
                    // Swaying 8 px at 1 Hz: about 50 px/s.
                    let dx = (8.0 * (std::f64::consts::TAU * t).sin()).round() as isize;
                    shifted(&face, dx, 0)
                } else if k % 2 == 0 {
                    face.clone()
                } else {
                    brighter.clone()
                };
                frame.timestamp_s = t;
                frame.index = k as u64;
                engine.push_frame(&frame, &mut ready).unwrap();
            }
            engine.landmark_frames() - before
        };
        mesh_runs(&mut engine, 0.0, 4.0, false);
        // Still for a while: 5 a second.
        let still = mesh_runs(&mut engine, 4.0, 6.0, false);
        assert!(
            (9..=11).contains(&still),
            "{still} mesh runs in 2 s of a still face"
        );
        // Moving: 10 a second again once the motion is measured.
        mesh_runs(&mut engine, 6.0, 6.5, true);
        let moving = mesh_runs(&mut engine, 6.5, 8.5, true);
        assert!(
            (19..=21).contains(&moving),
            "{moving} mesh runs in 2 s of a moving head"
        );
        assert!(ready.iter().any(|r| r.sample.valid));
    }

    fn samples_at(times: &[f64], faces: &[bool]) -> Vec<MotionSample> {
        times
            .iter()
            .zip(faces)
            .map(|(&t, &face)| MotionSample {
                face,
                valid: face,
                ..MotionSample::empty(t)
            })
            .collect()
    }

    #[test]
    fn stretches_without_a_face_are_listed_when_long_enough() {
        // 10 s at 10 fps: no face for 0.2 s at 1 s (a passing hand, not
        // listed), for 3 s from 4 s (listed), and from 9.5 s to the end.
        let times: Vec<f64> = (0..100).map(|i| i as f64 / 10.0).collect();
        let faces: Vec<bool> = times
            .iter()
            .map(|&t| !((1.0..1.15).contains(&t) || (4.0..6.95).contains(&t) || t >= 9.45))
            .collect();
        let gaps = face_gaps(&samples_at(&times, &faces), 0.1);
        assert_eq!(gaps.len(), 2, "{gaps:?}");
        assert!((gaps[0].start_s - 4.0).abs() < 1e-9 && (gaps[0].end_s - 7.0).abs() < 1e-9);
        assert!((gaps[1].start_s - 9.5).abs() < 1e-9 && (gaps[1].end_s - 10.0).abs() < 1e-9);
        assert!((gaps[0].duration_s() - 3.0).abs() < 1e-9);
        // A face throughout, or no samples: no gap.
        assert!(face_gaps(&samples_at(&times, &[true; 100]), 0.1).is_empty());
        assert!(face_gaps(&[], 0.1).is_empty());
    }

    #[test]
    fn stretches_of_a_fast_head_are_listed_when_long_enough() {
        let config = EventConfig::default();
        let rate = 30.0;
        let mut s = Signals::zeros(rate, 10.0, 300);
        s.valid.fill(true);
        let fast = 2.0 * config.max_head_speed;
        let at = |t: f64| (t * rate).round() as usize;
        // 1–3 s fast, slowing for 0.1 s at 2 s (a bobbing head's turn).
        s.head_speed[at(1.0)..at(3.0)].fill(fast);
        s.head_speed[at(2.0)..at(2.1)].fill(0.0);
        // 5–5.3 s: too brief to list.
        s.head_speed[at(5.0)..at(5.3)].fill(fast);
        // 7–8 s fast, but the face lost at 7.4–7.6 s: two pieces too brief
        // on their own, not joined across the gap.
        s.head_speed[at(7.0)..at(8.0)].fill(fast);
        s.valid[at(7.4)..at(7.6)].fill(false);
        let listed = head_moving_stretches(&s, &config);
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert!((listed[0].start_s - 11.0).abs() < 1e-9, "{listed:?}");
        assert!((listed[0].end_s - 13.0).abs() < 1e-9, "{listed:?}");
        // Slowing for longer than a turn splits it, and each half is kept.
        s.head_speed[at(1.8)..at(2.1)].fill(0.0);
        let split = head_moving_stretches(&s, &config);
        assert_eq!(split.len(), 2, "{split:?}");
        assert!((split[0].end_s - 11.8).abs() < 1e-9 && (split[1].start_s - 12.1).abs() < 1e-9);
    }

    #[test]
    fn eye_band_contrast_is_the_spread_of_the_eyes_band() {
        // A 200×100 frame, 40 on the left half and 140 on the right: the
        // band through (50, 50)–(150, 50) holds both.
        let (w, h) = (200, 100);
        let striped: Vec<u8> = (0..w * h)
            .map(|i| if i % w < 100 { 40 } else { 140 })
            .collect();
        assert_eq!(
            eye_band_contrast(&striped, w, h, [50.0, 50.0], [150.0, 50.0]),
            100.0
        );
        // The same at a tenth of the light.
        let dark: Vec<u8> = striped.iter().map(|v| v / 10).collect();
        assert_eq!(
            eye_band_contrast(&dark, w, h, [50.0, 50.0], [150.0, 50.0]),
            10.0
        );
        const { assert!(10.0 < MIN_FACE_CONTRAST && MIN_FACE_CONTRAST < 100.0) };
        // A band mostly outside the frame is not judged.
        assert!(eye_band_contrast(&striped, w, h, [150.0, 50.0], [450.0, 50.0]).is_nan());
    }

    /// 30 fps samples of a still head whose right upper lid moves at
    /// `lid_vy(k)`, with the whole picture jumping at the frames in `jolts`.
    fn still_head_with(jolts: &[usize], lid_vy: impl Fn(usize) -> f32) -> Vec<MotionSample> {
        (0..90)
            .map(|k| {
                let jolt = jolts.contains(&k);
                let mut s = measured_at(k as f64 / 30.0, if jolt { 150.0 } else { 4.0 });
                s.regions[Side::Right.index()][Region::UpperLid.index()].vy =
                    lid_vy(k) + if jolt { 60.0 } else { 0.0 };
                s
            })
            .collect()
    }

    #[test]
    fn a_jolt_of_the_whole_picture_is_not_measured() {
        let lid = |s: &Signals| {
            Signals::row(&s.vy, Side::Right.index(), Region::UpperLid.index()).to_vec()
        };
        // One frame where everything jumps while the head is still before
        // and after: its motion is interpolated over.
        let signals = build_signals(&still_head_with(&[40], |_| 2.0), 30.0);
        assert!(signals.valid.iter().all(|&v| v));
        assert!(
            lid(&signals).iter().all(|&v| (v - 2.0).abs() < 1e-4),
            "{:?}",
            lid(&signals)
        );
        assert!(signals.head_speed.iter().all(|&h| h < 5.0));
        // A head moving for two frames in a row is a motion, not a jolt;
        // and a lid twitching under a still head is measured as it is.
        let signals = build_signals(&still_head_with(&[40, 41], |_| 2.0), 30.0);
        assert!(lid(&signals)[40] > 50.0 && lid(&signals)[41] > 50.0);
        let twitch = |k: usize| if k == 40 { 80.0 } else { 2.0 };
        let signals = build_signals(&still_head_with(&[], twitch), 30.0);
        assert_eq!(lid(&signals)[40], 80.0);
    }

    #[test]
    fn coverage_counts_duration_from_the_span_and_the_frame_rate() {
        // 10 frames at 10 fps starting at t = 5 s: one second, wherever
        // the timestamps start.
        let times: Vec<f64> = (0..10).map(|i| 5.0 + i as f64 * 0.1).collect();
        let faces: Vec<bool> = (0..10).map(|i| i % 4 != 0).collect();
        let c = Coverage::of(&samples_at(&times, &faces));
        assert_eq!(c.frames, 10);
        assert_eq!(c.face_frames, 7);
        assert!((c.duration_s(10.0) - 1.0).abs() < 1e-9);
        assert!((c.face_visible_fraction() - 0.7).abs() < 1e-12);
        // An unknown frame rate falls back on the samples' own spacing.
        assert!((c.duration_s(0.0) - 1.0).abs() < 1e-9);
        assert!((c.duration_s(f64::NAN) - 1.0).abs() < 1e-9);
        assert_eq!(Coverage::default().duration_s(30.0), 0.0);
        assert_eq!(Coverage::default().face_visible_fraction(), 0.0);
    }

    #[test]
    fn coverage_says_why_a_recording_cannot_be_analysed() {
        let err = |c: Coverage| {
            c.check_analysable("clip.mp4", 10.0)
                .unwrap_err()
                .to_string()
        };
        assert!(err(Coverage::default()).contains("no frames"));
        let short: Vec<f64> = (0..29).map(|i| i as f64 * 0.1).collect();
        let msg = err(Coverage::of(&samples_at(&short, &[true; 29])));
        assert!(
            msg.starts_with("clip.mp4: ") && msg.contains("too short"),
            "{msg}"
        );
        let long: Vec<f64> = (0..30).map(|i| i as f64 * 0.1).collect();
        assert!(err(Coverage::of(&samples_at(&long, &[false; 30]))).contains("no face"));
        // Faces seen, none measured (too small in the picture).
        let unmeasured: Vec<MotionSample> = samples_at(&long, &[true; 30])
            .into_iter()
            .map(|s| MotionSample { valid: false, ..s })
            .collect();
        let msg = err(Coverage::of(&unmeasured));
        assert!(
            msg.contains("could not be measured") && msg.contains("closer"),
            "{msg}"
        );
        let ok = Coverage::of(&samples_at(&long, &[true; 30]));
        assert!(ok.check_analysable("clip.mp4", 10.0).is_ok());
    }

    fn ev(
        start: f64,
        end: f64,
        side: EventSide,
        kind: EventKind,
        regions: &[Region],
        f: Option<f64>,
    ) -> Event {
        Event {
            start_s: start,
            end_s: end,
            side,
            kind,
            regions: regions.to_vec(),
            freq_hz: f,
            amplitude: 0.5,
            closure: None,
        }
    }

    #[test]
    fn summary_and_report_read_the_same_figures() {
        let events = vec![
            ev(
                1.0,
                2.0,
                EventSide::Left,
                EventKind::Clonic,
                &[Region::LowerLid, Region::MouthCorner],
                Some(5.0),
            ),
            ev(
                4.0,
                6.0,
                EventSide::Left,
                EventKind::Tonic,
                &[Region::UpperLid, Region::Cheek],
                None,
            ),
            ev(
                9.0,
                9.4,
                EventSide::Right,
                EventKind::Clonic,
                &[Region::UpperLid],
                Some(4.0),
            ),
        ];
        let summary = summarise(&events, 60.0);
        for (side, col) in [
            (Side::Left, EventSide::Left),
            (Side::Right, EventSide::Right),
        ] {
            let f = side_figures(&events, 60.0, col);
            assert_eq!(summary.regions.get(side), &f.regions);
            assert_eq!(*summary.synkinesis.get(side), f.synkinesis());
        }
        assert_eq!(summary.sides.len(), 3);
        // An analysis saved before the summary held the figures gets the
        // same ones from its events.
        let info = SourceInfo {
            name: "x".into(),
            fps: 30.0,
            ..SourceInfo::default()
        };
        let samples: Vec<MotionSample> = (0..1800)
            .map(|i| MotionSample {
                face: true,
                ..MotionSample::empty(i as f64 / 30.0)
            })
            .collect();
        let mut a = analyze_samples(&samples, &info, &AnalysisConfig::default());
        a.events = events.clone();
        a.summary = summarise(&events, a.source.duration_s);
        let stored = a.figures(EventSide::Left);
        a.summary.sides.clear();
        assert_eq!(a.figures(EventSide::Left), stored);
        assert_eq!(stored, side_figures(&events, 60.0, EventSide::Left));
    }

    #[test]
    fn summary_of_left_hemifacial_spasm() {
        let events = vec![
            ev(
                1.0,
                2.0,
                EventSide::Left,
                EventKind::Clonic,
                &[Region::LowerLid, Region::MouthCorner],
                Some(5.0),
            ),
            ev(
                3.0,
                3.2,
                EventSide::Bilateral,
                EventKind::Blink,
                &[Region::UpperLid],
                None,
            ),
            ev(
                10.0,
                12.0,
                EventSide::Left,
                EventKind::Tonic,
                &[Region::UpperLid, Region::MouthCorner],
                None,
            ),
            ev(
                20.0,
                21.0,
                EventSide::Left,
                EventKind::Clonic,
                &[Region::LowerLid],
                Some(4.0),
            ),
        ];
        let s = summarise(&events, 60.0);
        assert_eq!(s.laterality, Laterality::Left);
        assert_eq!(s.events_per_min.left, 3.0);
        assert_eq!(s.events_per_min.right, 0.0);
        assert_eq!(s.blinks_per_min, 1.0);
        let f = s.dominant_freq_hz.unwrap();
        assert!((4.0..=5.0).contains(&f));
        assert!(s.synkinesis.left && !s.synkinesis.right);
        assert!(s.regions.left.contains(&Region::MouthCorner));
        assert!(s.regions.right.is_empty());
    }

    #[test]
    fn blinks_alone_mean_no_spasm() {
        let events = vec![ev(
            3.0,
            3.2,
            EventSide::Bilateral,
            EventKind::Blink,
            &[Region::UpperLid],
            None,
        )];
        let s = summarise(&events, 30.0);
        assert_eq!(s.laterality, Laterality::None);
        assert_eq!(s.dominant_freq_hz, None);
        assert_eq!(s.blinks_per_min, 2.0);
    }

    #[test]
    fn both_sides_make_bilateral() {
        let events = vec![
            ev(
                1.0,
                3.0,
                EventSide::Bilateral,
                EventKind::Tonic,
                &[Region::UpperLid],
                None,
            ),
            ev(
                5.0,
                6.0,
                EventSide::Right,
                EventKind::Clonic,
                &[Region::UpperLid],
                Some(5.0),
            ),
        ];
        assert_eq!(summarise(&events, 60.0).laterality, Laterality::Bilateral);
    }

    #[test]
    fn window_laterality_follows_events() {
        let events = vec![
            ev(
                1.0,
                2.0,
                EventSide::Left,
                EventKind::Clonic,
                &[Region::LowerLid],
                None,
            ),
            ev(
                4.0,
                4.2,
                EventSide::Bilateral,
                EventKind::Blink,
                &[Region::UpperLid],
                None,
            ),
        ];
        assert_eq!(laterality_of(&events, 0.5, 1.5), Laterality::Left);
        assert_eq!(laterality_of(&events, 3.5, 4.5), Laterality::None);
    }

    #[test]
    fn bad_settings_are_named() {
        let mut c = AnalysisConfig::default();
        c.spectral.hop_s = 0.0;
        assert!(c.validate().unwrap_err().contains("hop"));
        let mut c = AnalysisConfig::default();
        c.spectral.band_lo_hz = 20.0;
        assert!(c.validate().unwrap_err().contains("band"));
    }
}
