//! Capture → analysis → UI.
//!
//! The capture thread reads frames from the source into a small bounded
//! queue. A camera, and a file played at real-time pace, must keep up: when
//! analysis falls behind, the oldest queued frame is dropped (counted, and
//! its buffer reused). A file analysed "now" ([`SourceChoice::AnalyseFile`])
//! is read as fast as the analysis takes it, every frame, so its results
//! are those of `twitchscope analyze`. The analysis thread runs the
//! [`Engine`] on every frame it gets, records the session when asked, and
//! publishes samples and the newest frame with its pose to [`LiveState`],
//! which the UI drains every repaint. A third thread re-runs
//! [`analyze_samples`] (the offline analysis itself) on the recent samples
//! about once a second and publishes its events, so the frame thread never
//! waits for it. Frame buffers circulate
//! capture → queue → analysis → back to capture, so the steady state
//! allocates no frames.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::camera::{CameraRequest, CameraSource};
use crate::sample::{DEMO_NAME, demo_video_path};
use twitchscope_engine::analysis::{
    Analysis, AnalysisConfig, Coverage, Engine, FrameReport, analyze_samples,
};
use twitchscope_engine::encode::Encoder;
use twitchscope_engine::frame::{EndedEarly, Frame, FrameSource, SourceInfo};
use twitchscope_engine::motion::MotionSample;
use twitchscope_engine::regions::{RegionLayout, Similarity};
use twitchscope_engine::source::VideoFileSource;
use twitchscope_session::{
    SessionMeta, SessionRegions, SessionWriter, StepMark, StepPhase, VIDEO_FILE, read_session,
};

/// Frames the capture → analysis queue holds before the oldest is dropped.
pub const QUEUE_FRAMES: usize = 8;
/// How often the live analysis is re-run, seconds.
pub const ANALYSIS_PERIOD_S: f64 = 1.0;
/// The live analysis covers at most this many recent seconds.
pub const LIVE_ANALYSIS_SPAN_S: f64 = 300.0;

/// Where frames come from.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceChoice {
    Camera(CameraRequest),
    /// A video file played at real-time pace, as a camera would deliver it.
    File(PathBuf),
    /// A video file analysed at full speed: every frame, as fast as the
    /// machine allows.
    AnalyseFile(PathBuf),
    /// The embedded demo recording, looped.
    Demo,
}

impl SourceChoice {
    pub fn label(&self) -> String {
        match self {
            SourceChoice::Camera(r) => format!("camera {}", r.index),
            SourceChoice::File(p) | SourceChoice::AnalyseFile(p) => p.display().to_string(),
            SourceChoice::Demo => "demo sample".into(),
        }
    }
}

/// Pause between two passes of a looped video, seconds.
pub const LOOP_GAP_S: f64 = 1.0;

/// A video file played again and again, time running on across the loops.
pub struct LoopingSource {
    path: PathBuf,
    inner: VideoFileSource,
    info: SourceInfo,
    offset_s: f64,
    last_t: f64,
    next_index: u64,
    frames_this_loop: u64,
}

impl LoopingSource {
    pub fn open(path: &Path) -> Result<LoopingSource> {
        let inner = VideoFileSource::open(path)?;
        let mut info = inner.info().clone();
        info.frames = None;
        info.duration_s = None;
        Ok(LoopingSource {
            path: path.to_path_buf(),
            inner,
            info,
            offset_s: 0.0,
            last_t: 0.0,
            next_index: 0,
            frames_this_loop: 0,
        })
    }
}

impl FrameSource for LoopingSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool> {
        if !self.inner.next_frame(frame)? {
            if self.frames_this_loop == 0 {
                return Ok(false);
            }
            // A second's gap marks the jump back to the start, so the
            // analysis does not read the cut as a twitch of the whole face.
            self.offset_s = self.last_t + LOOP_GAP_S;
            self.inner = VideoFileSource::open(&self.path)?;
            self.frames_this_loop = 0;
            if !self.inner.next_frame(frame)? {
                return Ok(false);
            }
        }
        self.frames_this_loop += 1;
        frame.timestamp_s += self.offset_s;
        frame.index = self.next_index;
        self.next_index += 1;
        self.last_t = frame.timestamp_s;
        Ok(true)
    }
}

/// How the capture thread feeds the analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pace {
    /// As the source delivers (a camera); the oldest frame is dropped when
    /// the analysis is behind.
    Live,
    /// At the frames' own timestamps (a file shown as if live); dropping as
    /// `Live`.
    RealTime,
    /// Every frame, as fast as the analysis takes them.
    FullSpeed,
}

fn open_source(choice: &SourceChoice) -> Result<(Box<dyn FrameSource>, Pace)> {
    Ok(match choice {
        SourceChoice::Camera(req) => (Box::new(CameraSource::open(req)?), Pace::Live),
        SourceChoice::File(path) => (Box::new(VideoFileSource::open(path)?), Pace::RealTime),
        SourceChoice::AnalyseFile(path) => {
            (Box::new(VideoFileSource::open(path)?), Pace::FullSpeed)
        }
        SourceChoice::Demo => {
            let mut demo = LoopingSource::open(&demo_video_path()?)?;
            demo.info.name = DEMO_NAME.into();
            (Box::new(demo), Pace::RealTime)
        }
    })
}

pub use crate::face_quality::FaceQuality;

/// The newest analysed frame, for the live view.
#[derive(Clone, Debug, Default)]
pub struct DisplayFrame {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
    pub t: f64,
    pub index: u64,
    pub pose: Option<Similarity>,
}

/// The state of the session recording.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Recording {
    #[default]
    Off,
    On {
        dir: PathBuf,
        protocol: Option<String>,
        /// Pipeline time at which the recording started.
        started_t: f64,
    },
    Saved(PathBuf),
    Failed(String),
}

/// Where the pipeline stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Status {
    #[default]
    Starting,
    Running,
    /// The source ended (end of a video file).
    Ended,
    /// The source or the engine failed; the message is for the user.
    Failed(String),
}

/// What the analysis thread publishes for the UI.
#[derive(Default)]
pub struct LiveState {
    pub info: Option<SourceInfo>,
    pub status: Status,
    /// Samples the UI has not taken yet.
    pub new_samples: Vec<MotionSample>,
    pub frame: DisplayFrame,
    pub frame_version: u64,
    pub layout: Option<RegionLayout>,
    pub analysis: Option<Arc<Analysis>>,
    pub analysis_version: u64,
    pub quality: FaceQuality,
    pub face_visible_fraction: f64,
    pub recording: Recording,
    /// Step marks as recorded (pipeline time), for the live store.
    pub new_steps: Vec<StepMark>,
    /// The file ended before its header said (taken by the UI once).
    pub ended_early: Option<EndedEarly>,
}

/// Frame counters, readable without locking.
#[derive(Default)]
pub struct Counters {
    pub captured: AtomicU64,
    pub dropped: AtomicU64,
    pub analysed: AtomicU64,
    /// Frames the source could not decode (skipped by the source).
    pub skipped: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FrameStats {
    pub captured: u64,
    pub dropped: u64,
    pub analysed: u64,
    pub skipped: u64,
}

#[derive(Default)]
struct FrameQueue {
    frames: VecDeque<Frame>,
    /// The capture thread has stopped (end of stream or error).
    closed: bool,
}

struct Shared {
    stop: AtomicBool,
    queue: Mutex<FrameQueue>,
    /// A frame was queued (or the queue closed).
    ready: Condvar,
    /// A frame was taken from the queue.
    space: Condvar,
    live: Mutex<LiveState>,
    counters: Counters,
    repaint: Option<egui::Context>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicked thread must not take the UI down with it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Requests from the UI to the analysis thread.
#[derive(Clone, Debug)]
pub enum Command {
    StartRecording {
        root: PathBuf,
        protocol: Option<String>,
        /// Also save the video (`video.mp4` in the session folder).
        save_video: bool,
    },
    Mark {
        step: String,
        phase: StepPhase,
    },
    StopRecording,
}

/// A running capture + analysis pipeline. Dropping it stops both threads
/// (closing any recording cleanly).
pub struct Pipeline {
    pub choice: SourceChoice,
    shared: Arc<Shared>,
    commands: Sender<Command>,
    threads: Vec<JoinHandle<()>>,
}

impl Pipeline {
    /// Starts the threads; the source is opened on the capture thread, so a
    /// slow or failing camera never blocks the UI.
    pub fn start(
        choice: SourceChoice,
        config: AnalysisConfig,
        repaint: Option<egui::Context>,
    ) -> Pipeline {
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            queue: Mutex::new(FrameQueue::default()),
            ready: Condvar::new(),
            space: Condvar::new(),
            live: Mutex::new(LiveState::default()),
            counters: Counters::default(),
            repaint,
        });
        let (cmd_tx, cmd_rx) = channel();
        let (pool_tx, pool_rx) = channel::<Frame>();
        let mut threads = Vec::new();
        let s = shared.clone();
        let c = choice.clone();
        match std::thread::Builder::new()
            .name("capture".into())
            .spawn(move || capture_thread(c, s, pool_rx))
        {
            Ok(h) => threads.push(h),
            Err(e) => fail(&shared, format!("cannot start the capture thread: {e}")),
        }
        let s = shared.clone();
        match std::thread::Builder::new()
            .name("analysis".into())
            .spawn(move || analysis_thread(config, s, cmd_rx, pool_tx))
        {
            Ok(h) => threads.push(h),
            Err(e) => fail(&shared, format!("cannot start the analysis thread: {e}")),
        }
        Pipeline {
            choice,
            shared,
            commands: cmd_tx,
            threads,
        }
    }

    /// Locks the published state.
    pub fn live(&self) -> MutexGuard<'_, LiveState> {
        lock(&self.shared.live)
    }

    pub fn stats(&self) -> FrameStats {
        let c = &self.shared.counters;
        FrameStats {
            captured: c.captured.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            analysed: c.analysed.load(Ordering::Relaxed),
            skipped: c.skipped.load(Ordering::Relaxed),
        }
    }

    pub fn send(&self, command: Command) {
        // The analysis thread has exited only after a failure, which the
        // status already reports.
        let _ = self.commands.send(command);
    }

    /// Stops both threads and waits for them (the recording is closed).
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Asks the threads to stop without waiting: closing a recording (its
    /// analysis, its video) can take a while. See [`Pipeline::is_finished`].
    pub fn request_stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.ready.notify_all();
        self.shared.space.notify_all();
    }

    /// Every thread has ended (dropping the pipeline then does not wait).
    pub fn is_finished(&self) -> bool {
        self.threads.iter().all(|t| t.is_finished())
    }

    fn shutdown(&mut self) {
        self.request_stop();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn fail(shared: &Shared, msg: String) {
    lock(&shared.live).status = Status::Failed(msg);
    if let Some(ctx) = &shared.repaint {
        ctx.request_repaint();
    }
}

fn capture_thread(choice: SourceChoice, shared: Arc<Shared>, pool: Receiver<Frame>) {
    let close = |shared: &Shared| {
        lock(&shared.queue).closed = true;
        shared.ready.notify_all();
    };
    let (mut source, pace) = match open_source(&choice) {
        Ok(s) => s,
        Err(e) => {
            fail(&shared, format!("{e:#}"));
            close(&shared);
            return;
        }
    };
    lock(&shared.live).info = Some(source.info().clone());
    // Real-time pacing of files: media time t plays at wall time
    // `clock + (t - t0)`.
    let mut clock: Option<(Instant, f64)> = None;
    // A dropped frame's buffer, reused for the next one.
    let mut spare: Option<Frame> = None;
    while !shared.stop.load(Ordering::Relaxed) {
        let mut frame = spare
            .take()
            .or_else(|| pool.try_recv().ok())
            .unwrap_or_default();
        let read = source.next_frame(&mut frame);
        shared
            .counters
            .skipped
            .store(source.skipped_frames(), Ordering::Relaxed);
        match read {
            Ok(true) => {}
            Ok(false) => {
                lock(&shared.live).ended_early = source.ended_early();
                break;
            }
            Err(e) => {
                fail(&shared, format!("{e:#}"));
                break;
            }
        }
        if pace == Pace::RealTime {
            let t = frame.timestamp_s;
            let (start, t0) = *clock.get_or_insert((Instant::now(), t));
            let due = start + Duration::from_secs_f64((t - t0).max(0.0));
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            } else if now - due > Duration::from_secs(1) {
                // Far behind (a stall): restart the clock rather than race.
                clock = Some((now, t));
            }
        }
        shared.counters.captured.fetch_add(1, Ordering::Relaxed);
        let mut q = lock(&shared.queue);
        if pace == Pace::FullSpeed {
            while q.frames.len() >= QUEUE_FRAMES && !shared.stop.load(Ordering::Relaxed) {
                q = shared
                    .space
                    .wait_timeout(q, Duration::from_millis(50))
                    .map(|(g, _)| g)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
        } else if q.frames.len() >= QUEUE_FRAMES {
            spare = q.frames.pop_front();
            shared.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
        q.frames.push_back(frame);
        drop(q);
        shared.ready.notify_one();
    }
    close(&shared);
}

/// The session being written, owned by the analysis thread. It keeps no
/// samples in memory: they are on disk, and a session of hours must not
/// grow the program.
struct Recorder {
    writer: SessionWriter,
    /// Pipeline time of the recording's t = 0.
    t0: f64,
    video: Option<VideoWriter>,
    /// The regions last saved with the session.
    regions: Option<SessionRegions>,
}

impl Recorder {
    /// Saves where the regions are when they are new (the first layout, or
    /// one learned anew), so a replay draws them where the live view did.
    fn note_layout(&mut self, layout: Option<&RegionLayout>) -> Result<()> {
        let Some(layout) = layout else {
            return Ok(());
        };
        let regions = SessionRegions {
            regions: layout.regions,
        };
        if self.regions != Some(regions) {
            self.writer.write_regions(&regions)?;
            self.regions = Some(regions);
        }
        Ok(())
    }

    fn append(&mut self, sample: &MotionSample) -> Result<()> {
        let mut s = *sample;
        s.t -= self.t0;
        self.writer.append(&s)
    }

    fn close(mut self, config: &AnalysisConfig) -> Result<PathBuf> {
        let video = self.video.take().map(|v| v.finish());
        // The analysis saved with the session is the one of what the
        // session file holds, read back (the same as `report` or a replay
        // recomputes). The same rule as `analyze`: a recording too short or
        // without a face is kept, without an analysis; so is one that
        // cannot be read back (the error shows when it is opened).
        let info = self.writer.meta().source_info();
        let analysis = self
            .writer
            .flush()
            .and_then(|()| read_session(self.writer.dir()))
            .ok()
            .filter(|recorded| {
                Coverage::of(&recorded.samples)
                    .check_analysable(&info.name, info.fps)
                    .is_ok()
            })
            .map(|recorded| analyze_samples(&recorded.samples, &info, config));
        let dir = self.writer.close(analysis.as_ref())?;
        match video {
            Some(Err(e)) => Err(e.context("the session is saved, but not its video")),
            _ => Ok(dir),
        }
    }
}

struct AnalysisWorker {
    config: AnalysisConfig,
    shared: Arc<Shared>,
    pool: Sender<Frame>,
    /// Frames pushed into the engine whose reports have not come out yet.
    held: VecDeque<Frame>,
    ready: Vec<FrameReport>,
    recorder: Option<Recorder>,
    /// A recording asked for before the source was open: it starts with
    /// the source's first frame.
    deferred_start: Option<Command>,
    last_t: f64,
    /// Re-analyses the recent samples off this thread.
    live_analysis: LiveAnalysis,
    last_flush: Instant,
    last_repaint: Instant,
}

fn analysis_thread(
    config: AnalysisConfig,
    shared: Arc<Shared>,
    commands: Receiver<Command>,
    pool: Sender<Frame>,
) {
    let mut engine = match Engine::new(config.clone()) {
        Ok(e) => e,
        Err(e) => {
            fail(&shared, format!("cannot start the analysis engine: {e:#}"));
            shared.stop.store(true, Ordering::SeqCst);
            return;
        }
    };
    let mut w = AnalysisWorker {
        config: config.clone(),
        shared: shared.clone(),
        pool,
        held: VecDeque::new(),
        ready: Vec::new(),
        recorder: None,
        deferred_start: None,
        last_t: 0.0,
        live_analysis: LiveAnalysis::start(config.clone(), shared.clone()),
        last_flush: Instant::now(),
        last_repaint: Instant::now(),
    };
    let mut ended = false;
    loop {
        while let Ok(cmd) = commands.try_recv() {
            w.command(cmd);
        }
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        let frame = {
            let mut q = lock(&shared.queue);
            if q.frames.is_empty() && !q.closed {
                q = shared
                    .ready
                    .wait_timeout(q, Duration::from_millis(50))
                    .map(|(g, _)| g)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
            match q.frames.pop_front() {
                Some(f) => {
                    shared.space.notify_one();
                    Some(f)
                }
                None if q.closed => {
                    ended = true;
                    None
                }
                None => None,
            }
        };
        if ended {
            break;
        }
        let Some(frame) = frame else { continue };
        if let Some(cmd) = w.deferred_start.take() {
            w.command(cmd);
        }
        w.ready.clear();
        if let Err(e) = engine.push_frame(&frame, &mut w.ready) {
            fail(&shared, format!("analysis failed: {e:#}"));
            shared.stop.store(true, Ordering::SeqCst);
            let _ = w.pool.send(frame);
            break;
        }
        shared.counters.analysed.fetch_add(1, Ordering::Relaxed);
        if let Some(v) = w.recorder.as_mut().and_then(|r| r.video.as_mut()) {
            v.push(&frame);
        }
        w.last_t = frame.timestamp_s;
        w.held.push_back(frame);
        w.publish(&engine);
    }
    // End of stream: measure what is left and publish the final analysis.
    w.ready.clear();
    if engine.finish(&mut w.ready).is_ok() {
        w.publish(&engine);
    }
    // The final analysis is published before the end is announced.
    let live_analysis = std::mem::replace(&mut w.live_analysis, LiveAnalysis::idle());
    live_analysis.finish();
    if ended {
        let mut live = lock(&shared.live);
        if live.status == Status::Running || live.status == Status::Starting {
            live.status = Status::Ended;
        }
    }
    // Commands that arrived meanwhile (a last step mark) still count.
    while let Ok(cmd) = commands.try_recv() {
        if !matches!(cmd, Command::StartRecording { .. }) {
            w.command(cmd);
        }
    }
    w.stop_recording();
    if let Some(ctx) = &shared.repaint {
        ctx.request_repaint();
    }
}

impl AnalysisWorker {
    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::StartRecording { .. } if lock(&self.shared.live).info.is_none() => {
                self.deferred_start = Some(cmd);
            }
            Command::StartRecording {
                root,
                protocol,
                save_video,
            } => {
                self.stop_recording();
                let info = lock(&self.shared.live).info.clone().unwrap_or_default();
                let mut meta = SessionMeta::new(
                    info.name.clone(),
                    info.fps,
                    info.width,
                    info.height,
                    protocol.clone(),
                );
                meta.video_saved = save_video;
                let state = match SessionWriter::create(&root, &meta) {
                    Ok(writer) => {
                        let dir = writer.dir().to_path_buf();
                        let video = if save_video {
                            match VideoWriter::start(
                                &dir.join(VIDEO_FILE),
                                info.width,
                                info.height,
                                info.fps,
                            ) {
                                Ok(v) => Some(v),
                                Err(e) => {
                                    lock(&self.shared.live).recording =
                                        Recording::Failed(format!("cannot save video: {e:#}"));
                                    None
                                }
                            }
                        } else {
                            None
                        };
                        self.recorder = Some(Recorder {
                            writer,
                            t0: self.last_t,
                            video,
                            regions: None,
                        });
                        Recording::On {
                            dir,
                            protocol,
                            started_t: self.last_t,
                        }
                    }
                    Err(e) => Recording::Failed(format!("cannot record: {e:#}")),
                };
                lock(&self.shared.live).recording = state;
            }
            Command::Mark { step, phase } => {
                let t = self.last_t;
                if let Some(rec) = &mut self.recorder {
                    let mark = StepMark {
                        t: t - rec.t0,
                        step: step.clone(),
                        phase,
                    };
                    if let Err(e) = rec.writer.mark_step(&mark) {
                        lock(&self.shared.live).recording =
                            Recording::Failed(format!("recording failed: {e:#}"));
                        self.recorder = None;
                    }
                }
                lock(&self.shared.live)
                    .new_steps
                    .push(StepMark { t, step, phase });
            }
            Command::StopRecording => {
                self.deferred_start = None;
                self.stop_recording();
            }
        }
    }

    fn stop_recording(&mut self) {
        if let Some(rec) = self.recorder.take() {
            let state = match rec.close(&self.config) {
                Ok(dir) => Recording::Saved(dir),
                Err(e) => Recording::Failed(format!("closing the recording failed: {e:#}")),
            };
            lock(&self.shared.live).recording = state;
        }
    }

    /// Hands new reports to the recorder and the UI.
    fn publish(&mut self, engine: &Engine) {
        if let Some(rec) = &mut self.recorder {
            let mut failed = rec
                .note_layout(engine.layout())
                .err()
                .map(|e| format!("recording failed: {e:#}"));
            for r in &self.ready {
                if failed.is_some() {
                    break;
                }
                if let Err(e) = rec.append(&r.sample) {
                    failed = Some(format!("recording failed: {e:#}"));
                }
            }
            if let Some(msg) = failed {
                self.recorder = None;
                lock(&self.shared.live).recording = Recording::Failed(msg);
            }
        }
        let newest = self.ready.last().map(|r| (r.index, r.sample));
        // Frames whose reports are out go back to the capture thread; the
        // newest reported one is shown.
        let mut shown: Option<Frame> = None;
        if let Some((index, _)) = newest {
            while self.held.front().is_some_and(|f| f.index <= index) {
                let f = self.held.pop_front().expect("checked above");
                if f.index == index {
                    shown = Some(f);
                } else {
                    let _ = self.pool.send(f);
                }
            }
        }
        for r in &self.ready {
            self.live_analysis.push(r.sample);
        }
        let flush = self.last_flush.elapsed().as_secs_f64() >= ANALYSIS_PERIOD_S;
        {
            let mut live = lock(&self.shared.live);
            if live.status == Status::Starting {
                live.status = Status::Running;
            }
            live.new_samples.extend(self.ready.iter().map(|r| r.sample));
            if live.layout.is_none() {
                live.layout = engine.layout().cloned();
            }
            if let (Some(mut f), Some((index, sample))) = (shown, newest) {
                live.quality = FaceQuality::measure(
                    &f,
                    sample.pose,
                    live.layout.as_ref(),
                    engine.head_yaw_deg(),
                    sample.head_speed,
                    engine.faces_in_view(),
                );
                let d = &mut live.frame;
                std::mem::swap(&mut d.rgb, &mut f.rgb);
                d.width = f.width;
                d.height = f.height;
                d.t = f.timestamp_s;
                d.index = index;
                d.pose = sample.pose;
                live.frame_version += 1;
                // The buffer swapped in is the previous display frame's.
                f.rgb.resize(f.width * f.height * 3, 0);
                let _ = self.pool.send(f);
            }
            live.face_visible_fraction = engine.coverage().face_visible_fraction();
        }
        if flush {
            self.last_flush = Instant::now();
            if let Some(rec) = &mut self.recorder
                && let Err(e) = rec.writer.flush()
            {
                self.recorder = None;
                lock(&self.shared.live).recording =
                    Recording::Failed(format!("recording failed: {e:#}"));
            }
        }
        if let Some(ctx) = &self.shared.repaint {
            // About 25 redraws a second: a software-rendered window must
            // not take the CPU the analysis needs.
            if self.last_repaint.elapsed() >= Duration::from_millis(40) {
                self.last_repaint = Instant::now();
                ctx.request_repaint();
            }
        }
    }
}

/// The live view's analysis: the same [`analyze_samples`] as `analyze`,
/// re-run about once a second over the recent samples on a thread of its
/// own, so the frame thread never waits for it.
struct LiveAnalysis {
    samples: Option<Sender<MotionSample>>,
    thread: Option<JoinHandle<()>>,
}

impl LiveAnalysis {
    fn start(config: AnalysisConfig, shared: Arc<Shared>) -> LiveAnalysis {
        let (tx, rx) = channel();
        match std::thread::Builder::new()
            .name("live analysis".into())
            .spawn(move || live_analysis_thread(config, shared, rx))
        {
            Ok(thread) => LiveAnalysis {
                samples: Some(tx),
                thread: Some(thread),
            },
            // Without the thread the live view shows no events; the
            // recording and its analysis are unaffected.
            Err(_) => LiveAnalysis::idle(),
        }
    }

    fn idle() -> LiveAnalysis {
        LiveAnalysis {
            samples: None,
            thread: None,
        }
    }

    fn push(&self, sample: MotionSample) {
        if let Some(tx) = &self.samples {
            let _ = tx.send(sample);
        }
    }

    /// Runs the last analysis over everything sent and waits for it.
    fn finish(mut self) {
        self.samples = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for LiveAnalysis {
    fn drop(&mut self) {
        self.samples = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn live_analysis_thread(config: AnalysisConfig, shared: Arc<Shared>, rx: Receiver<MotionSample>) {
    use std::sync::mpsc::RecvTimeoutError;
    let period = Duration::from_secs_f64(ANALYSIS_PERIOD_S);
    let mut samples: VecDeque<MotionSample> = VecDeque::new();
    let mut last_run = Instant::now();
    let mut fresh = false;
    loop {
        let wait = period.saturating_sub(last_run.elapsed());
        match rx.recv_timeout(wait) {
            Ok(s) => {
                samples.push_back(s);
                fresh = true;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if last_run.elapsed() < period {
            continue;
        }
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        if fresh {
            publish_live_analysis(&mut samples, &config, &shared);
            fresh = false;
        }
        last_run = Instant::now();
    }
    // The source ended: one last analysis of everything (unless the
    // pipeline is being stopped).
    if fresh && !shared.stop.load(Ordering::Relaxed) {
        publish_live_analysis(&mut samples, &config, &shared);
    }
}

/// Analyses the last [`LIVE_ANALYSIS_SPAN_S`] of `samples` (dropping older
/// ones) and publishes the result.
fn publish_live_analysis(
    samples: &mut VecDeque<MotionSample>,
    config: &AnalysisConfig,
    shared: &Shared,
) {
    let Some(last_t) = samples.back().map(|s| s.t) else {
        return;
    };
    while samples
        .front()
        .is_some_and(|s| s.t < last_t - LIVE_ANALYSIS_SPAN_S)
    {
        samples.pop_front();
    }
    let info = lock(&shared.live).info.clone().unwrap_or_default();
    let recent = samples.make_contiguous();
    if Coverage::of(recent)
        .check_analysable(&info.name, info.fps)
        .is_err()
    {
        return;
    }
    let analysis = analyze_samples(recent, &info, config);
    let mut live = lock(&shared.live);
    live.analysis = Some(Arc::new(analysis));
    live.analysis_version += 1;
}

/// Saves frames as H.264 through the `ffmpeg` program, on its own thread so
/// encoding never stalls the analysis. A frame that cannot be queued (the
/// encoder is behind, or the picture size changed) is skipped and counted,
/// and the next frame queued stands in for it as well: the video keeps one
/// frame per frame pushed, so its time stays the recording's (a replay, a
/// clip or the report finds each moment by the video's own clock).
pub struct VideoWriter {
    tx: Option<std::sync::mpsc::SyncSender<(Vec<u8>, u64)>>,
    spare: Receiver<Vec<u8>>,
    thread: Option<JoinHandle<Result<()>>>,
    frame_bytes: usize,
    pub skipped: u64,
    /// Frames skipped since the last one queued: it is written this many
    /// times more.
    owed: u64,
}

/// Frames the video thread may hold before frames are skipped.
const VIDEO_QUEUE: usize = 8;

impl VideoWriter {
    pub fn start(path: &Path, width: usize, height: usize, fps: f64) -> Result<VideoWriter> {
        Self::start_with_queue(path, width, height, fps, VIDEO_QUEUE)
    }

    fn start_with_queue(
        path: &Path,
        width: usize,
        height: usize,
        fps: f64,
        queue: usize,
    ) -> Result<VideoWriter> {
        anyhow::ensure!(width > 0 && height > 0, "unknown frame size");
        let fps = if fps > 0.0 { fps } else { 30.0 };
        let mut encoder = Encoder::spawn(width, height, &format!("{fps}"), 23, path)
            .context("cannot save the video")?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<(Vec<u8>, u64)>(queue);
        let (spare_tx, spare_rx) = channel::<Vec<u8>>();
        let thread = std::thread::Builder::new()
            .name("video".into())
            .spawn(move || -> Result<()> {
                let mut open = true;
                for (buf, times) in rx {
                    // After a failed write, ffmpeg's own message comes from
                    // `finish`; the frames still go back for reuse.
                    for _ in 0..times {
                        if open {
                            open = encoder.write(&buf);
                        }
                    }
                    let _ = spare_tx.send(buf);
                }
                encoder.finish()
            })
            .context("starting the video thread")?;
        Ok(VideoWriter {
            tx: Some(tx),
            spare: spare_rx,
            thread: Some(thread),
            frame_bytes: width * height * 3,
            skipped: 0,
            owed: 0,
        })
    }

    /// Queues one frame (see [`VideoWriter`] for a frame that cannot be).
    pub fn push(&mut self, frame: &Frame) {
        let Some(tx) = &self.tx else { return };
        if frame.rgb.len() != self.frame_bytes {
            self.skipped += 1;
            self.owed += 1;
            return;
        }
        let mut buf = self.spare.try_recv().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(&frame.rgb);
        match tx.try_send((buf, 1 + self.owed)) {
            Ok(()) => self.owed = 0,
            Err(_) => {
                self.skipped += 1;
                self.owed += 1;
            }
        }
    }

    /// Ends the video and waits for ffmpeg. Frames skipped after the last
    /// one queued have nothing to stand in for them: the video ends there.
    pub fn finish(mut self) -> Result<()> {
        self.tx = None;
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| anyhow::anyhow!("the video thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for VideoWriter {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames that cannot be queued still count in the video: the next
    /// frame queued stands in for them, so the video has one frame per frame
    /// pushed (up to the last one queued) and keeps the recording's time.
    #[test]
    fn a_video_that_skips_frames_keeps_its_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("video.mp4");
        // No queue: a frame is taken only while the encoder waits for one,
        // so pushing quickly skips most frames.
        let mut v = VideoWriter::start_with_queue(&path, 64, 48, 30.0, 0).unwrap();
        let mut frame = Frame::default();
        frame.ensure_size(64, 48);
        let pushed = 90;
        for k in 0..pushed {
            frame.rgb.fill((k * 2) as u8);
            v.push(&frame);
            if k % 15 == 14 {
                std::thread::sleep(Duration::from_millis(60));
            }
        }
        let (skipped, tail) = (v.skipped, v.owed);
        v.finish().unwrap();
        assert!(
            skipped > tail,
            "no skipped frame was made up: {skipped} skipped, {tail} at the end"
        );
        let frames = twitchscope_engine::source::probe(&path)
            .unwrap()
            .frames
            .unwrap();
        assert_eq!(
            frames,
            pushed - tail,
            "{skipped} skipped, {tail} at the end"
        );
    }
}
