//! The desktop app: a live egui window over the engine.
//!
//! Layout: source picker and messages on top; the live view, face quality
//! and counters on the left; the self-check wizard and the session library
//! on the right; traces, spectrogram, laterality and the event timeline in
//! the middle. Every view reads a [`store::Store`], which is either the live
//! session (fed by [`pipeline::Pipeline`]) or a replayed one.
//!
//! Crate `twitchscope-app`: owns the window, the camera ([`camera`]), the
//! embedded demo video ([`sample`]) and the threads that feed the engine
//! live ([`pipeline`]). It is a front end: results come from the engine's
//! analysis, sessions from the session crate, reports from the report
//! crate; it defines none of them.

pub mod camera;
pub mod counters;
pub mod export;
pub mod face_quality;
pub mod library;
pub mod magnified;
pub mod pipeline;
pub mod replay_video;
pub mod sample;
pub mod sources;
pub mod spectrogram;
pub mod store;
pub mod timeline;
pub mod traces;
pub mod video;
pub mod wizard;

use std::path::PathBuf;

use egui::{Color32, RichText};

pub use pipeline::SourceChoice;
use pipeline::{Command, FaceQuality, FrameStats, Pipeline, Recording, Status};
use store::Store;
use twitchscope_engine::analysis::AnalysisConfig;
use twitchscope_engine::regions::{RegionLayout, Side};
use twitchscope_session::{default_data_dir, read_session};

/// Colour of the patient's left side everywhere.
pub const LEFT_COLOR: Color32 = Color32::from_rgb(240, 140, 40);
/// Colour of the patient's right side everywhere.
pub const RIGHT_COLOR: Color32 = Color32::from_rgb(70, 150, 240);
pub const BILATERAL_COLOR: Color32 = Color32::from_rgb(190, 90, 220);
/// Colour of a figure or message that needs the user's attention but does
/// not stop anything (frames dropped, a head moving too fast to judge).
pub const WARN_COLOR: Color32 = Color32::from_rgb(230, 170, 40);

pub fn side_color(side: Side) -> Color32 {
    match side {
        Side::Left => LEFT_COLOR,
        Side::Right => RIGHT_COLOR,
    }
}

pub fn side_label(side: Side) -> &'static str {
    side.patient_label()
}

/// How the app starts.
#[derive(Clone, Debug)]
pub struct AppOptions {
    /// The source to open; `None` picks the first camera, or the demo sample
    /// (with a banner) when there is no camera or it cannot be opened.
    pub source: Option<SourceChoice>,
    /// Where sessions are recorded; `None` uses
    /// [`default_data_dir`](twitchscope_session::default_data_dir)
    /// (`TWITCHSCOPE_DATA_DIR` overrides it).
    pub data_dir: Option<PathBuf>,
    /// Mirror the preview (the data always stay in patient sides).
    pub mirror: bool,
    pub analysis: AnalysisConfig,
    /// Close the window after this many seconds and print the frame counts
    /// to stderr (for measurements and smoke tests).
    pub quit_after_s: Option<f64>,
    /// Start a free recording with the source, as "Record freely" does.
    pub record: bool,
    /// Tick "Also save the video" at the start.
    pub save_video: bool,
    /// A recorded session to open in replay at the start.
    pub replay: Option<PathBuf>,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            source: None,
            data_dir: None,
            mirror: true,
            analysis: AnalysisConfig::default(),
            quit_after_s: None,
            record: false,
            save_video: false,
            replay: None,
        }
    }
}

/// Opens the window and runs until it is closed.
pub fn run(options: AppOptions) -> anyhow::Result<()> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("twitchscope")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([800.0, 560.0])
            .with_drag_and_drop(true),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    eframe::run_native(
        "twitchscope",
        native,
        Box::new(move |cc| Ok(Box::new(TwitchApp::new(options, Some(cc.egui_ctx.clone()))))),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}

/// Set in the version of a replay video frame in the view's texture:
/// replay frames count apart from live ones, so switching between them
/// always uploads the picture, and the view can tell which it shows.
const REPLAY_FRAME: u64 = 1 << 63;

/// The application state.
pub struct TwitchApp {
    options: AppOptions,
    data_dir: PathBuf,
    ctx: Option<egui::Context>,
    pipeline: Option<Pipeline>,
    started: bool,
    /// The source was picked automatically (falling back to the demo is allowed).
    auto_source: bool,
    pub banner: Option<String>,
    pub error: Option<String>,
    pub live: Store,
    pub replay: Option<Store>,
    status: Status,
    recording: Recording,
    layout: Option<RegionLayout>,
    quality: FaceQuality,
    stats: FrameStats,
    face_fraction: f64,
    video: video::VideoPanel,
    spectro: spectrogram::SpectrogramPanel,
    live_analysis_version: u64,
    frame_info: video::FrameInfo,
    /// The newest frame taken from the pipeline, and its version.
    shown_frame: pipeline::DisplayFrame,
    shown_frame_version: u64,
    /// Pipelines of earlier sources that are still closing.
    retiring: Vec<Pipeline>,
    /// The replayed session's video, following the replay's cursor.
    replay_video: Option<replay_video::ReplayVideo>,
    /// Its newest frame (the pose from the session's sample nearest to it),
    /// and that frame's version.
    replay_frame: pipeline::DisplayFrame,
    replay_frame_seen: u64,
    replay_frame_info: video::FrameInfo,
    /// The magnified replay of the event last clicked in the timeline.
    pub magnified: Option<magnified::MagnifiedReplay>,
    /// A replay being loaded off the UI thread.
    replay_job: Option<std::sync::mpsc::Receiver<Result<Store, String>>>,
    sources: sources::SourcePanel,
    pub wizard: wizard::Wizard,
    library: library::LibraryPanel,
    pub export: export::ExportPanel,
    last_time: Option<f64>,
    quit_at: Option<f64>,
    /// The window was asked to close and waits for pipelines to wind down.
    closing: bool,
}

impl TwitchApp {
    /// The app; the pipeline starts on the first frame drawn. `ctx` lets the
    /// analysis thread wake the UI (tests may pass `None`).
    pub fn new(options: AppOptions, ctx: Option<egui::Context>) -> TwitchApp {
        let data_dir = options.data_dir.clone().unwrap_or_else(default_data_dir);
        TwitchApp {
            video: video::VideoPanel::new(options.mirror),
            options,
            data_dir,
            ctx,
            pipeline: None,
            started: false,
            auto_source: false,
            banner: None,
            error: None,
            live: Store::live(),
            replay: None,
            status: Status::Starting,
            recording: Recording::Off,
            layout: None,
            quality: FaceQuality::default(),
            stats: FrameStats::default(),
            face_fraction: 0.0,
            spectro: spectrogram::SpectrogramPanel::default(),
            live_analysis_version: 0,
            frame_info: video::FrameInfo::default(),
            shown_frame: pipeline::DisplayFrame::default(),
            shown_frame_version: 0,
            replay_job: None,
            replay_video: None,
            magnified: None,
            replay_frame: pipeline::DisplayFrame::default(),
            replay_frame_seen: 0,
            replay_frame_info: video::FrameInfo::default(),
            retiring: Vec::new(),
            sources: sources::SourcePanel::default(),
            wizard: wizard::Wizard::default(),
            library: library::LibraryPanel::default(),
            export: export::ExportPanel::default(),
            last_time: None,
            quit_at: None,
            closing: false,
        }
    }

    /// The frame counts of the running pipeline.
    pub fn stats(&self) -> FrameStats {
        self.stats
    }

    pub fn status(&self) -> &Status {
        &self.status
    }

    pub fn recording(&self) -> &Recording {
        &self.recording
    }

    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// The session the "Export report" button is for: the replayed one, or
    /// else the recording just saved.
    pub fn open_session_dir(&self) -> Option<PathBuf> {
        if let Some(store) = &self.replay {
            return match &store.mode {
                store::StoreMode::Replay { dir, .. } => Some(dir.clone()),
                _ => None,
            };
        }
        match &self.recording {
            Recording::Saved(dir) => Some(dir.clone()),
            _ => None,
        }
    }

    /// Switches the live source (stopping the old one, closing its recording).
    pub fn start_source(&mut self, choice: SourceChoice) {
        // The old pipeline winds down in the background (its recording is
        // closed and analysed there); `poll` collects it.
        if let Some(p) = self.pipeline.take() {
            p.request_stop();
            self.retiring.push(p);
        }
        self.apply_recording_stop();
        self.live = Store::live();
        self.shown_frame_version = 0;
        self.live_analysis_version = 0;
        self.status = Status::Starting;
        self.layout = None;
        self.quality = FaceQuality::default();
        self.stats = FrameStats::default();
        self.error = None;
        if !matches!(choice, SourceChoice::Demo) {
            self.banner = None;
        }
        let ctx = self.ctx.clone();
        self.pipeline = Some(Pipeline::start(choice, self.options.analysis.clone(), ctx));
    }

    fn apply_recording_stop(&mut self) {
        if self.wizard.is_recording() {
            self.wizard.stop();
        }
    }

    fn first_start(&mut self) {
        self.started = true;
        self.sources.refresh_cameras();
        let choice = match self.options.source.clone() {
            Some(c) => c,
            None => {
                self.auto_source = true;
                match self.sources.cameras.first() {
                    Some(cam) => {
                        self.sources.request.index = cam.index;
                        SourceChoice::Camera(self.sources.request.clone())
                    }
                    None => {
                        self.banner = Some(
                            "No camera found: showing the built-in DEMO recording (a simulated \
                             face with twitching of the patient's LEFT side), not a live measurement."
                                .into(),
                        );
                        SourceChoice::Demo
                    }
                }
            }
        };
        self.start_source(choice);
    }

    /// Collects earlier pipelines that have finished closing: a recording
    /// they saved joins the library, a failure is shown.
    fn poll_retiring(&mut self) {
        let mut i = 0;
        while i < self.retiring.len() {
            if !self.retiring[i].is_finished() {
                i += 1;
                continue;
            }
            let p = self.retiring.swap_remove(i);
            let recording = p.live().recording.clone();
            match recording {
                Recording::Saved(_) => self.library.refresh(&self.data_dir),
                Recording::Failed(msg) => self.error = Some(msg),
                _ => {}
            }
        }
    }

    /// Asked to close the window: whether it may close now. The pipeline
    /// (and any recording it holds) is stopped in the background, never
    /// waited for on this thread; until it has finished the window stays
    /// and says why. If saving fails, the window stays open with the error.
    pub fn ready_to_close(&mut self) -> bool {
        if !self.closing {
            self.closing = true;
            self.wizard.stop();
            if let Some(p) = self.pipeline.take() {
                p.request_stop();
                self.retiring.push(p);
            }
        }
        let had_error = self.error.is_some();
        self.poll_retiring();
        if self.error.is_some() && !had_error {
            self.closing = false;
            return false;
        }
        self.retiring.is_empty()
    }

    /// Takes what the pipeline published.
    fn poll(&mut self, ctx: &egui::Context) {
        let Some(p) = &self.pipeline else { return };
        self.stats = p.stats();
        let mut live = p.live();
        if !live.new_samples.is_empty() {
            self.live.extend(&live.new_samples);
            live.new_samples.clear();
        }
        if !live.new_steps.is_empty() {
            self.live.steps.append(&mut live.new_steps);
        }
        if live.analysis_version != self.live_analysis_version {
            self.live.analysis = live.analysis.clone();
            self.live_analysis_version = live.analysis_version;
        }
        // The newest frame is swapped out (its buffer for the one shown
        // before), so the texture is built after the lock is released.
        let new_frame = live.frame_version != self.shown_frame_version;
        if new_frame {
            std::mem::swap(&mut self.shown_frame, &mut live.frame);
            self.shown_frame_version = live.frame_version;
        }
        let mut saved = false;
        self.status = live.status.clone();
        if let Some(cut) = live.ended_early.take() {
            let name = live.info.as_ref().map_or("the video", |i| i.name.as_str());
            self.error = Some(format!("{name}: {cut}."));
        }
        if live.recording != self.recording {
            saved = matches!(live.recording, Recording::Saved(_));
            if let Recording::Failed(msg) = &live.recording {
                self.error = Some(msg.clone());
                self.wizard.phase = wizard::Phase::Idle;
            }
            self.recording = live.recording.clone();
        }
        if self.layout.is_none() {
            self.layout = live.layout.clone();
        }
        self.quality = live.quality;
        self.face_fraction = live.face_visible_fraction;
        drop(live);
        if new_frame {
            // The view shows one picture: while a replay is open it is the
            // replay's video, and the live frames wait (back to live shows
            // the newest at once).
            if self.replay.is_none() {
                self.video
                    .update_texture(ctx, &self.shown_frame, self.shown_frame_version);
            }
            self.frame_info = video::FrameInfo::of(&self.shown_frame);
        }
        if saved {
            self.library.refresh(&self.data_dir);
        }
        // A source that ended or failed has closed its recording.
        if matches!(self.status, Status::Ended | Status::Failed(_)) && self.wizard.is_recording() {
            self.wizard.phase = wizard::Phase::Idle;
        }
        // A camera picked automatically that cannot be opened: fall back to
        // the demo, saying why.
        if let Status::Failed(msg) = &self.status {
            let camera = matches!(
                self.pipeline.as_ref().map(|p| &p.choice),
                Some(SourceChoice::Camera(_))
            );
            if self.auto_source && camera && self.live.samples.is_empty() {
                self.banner = Some(format!(
                    "The camera could not be opened ({msg}): showing the built-in DEMO recording \
                     (a simulated face with twitching of the patient's LEFT side), not a live measurement."
                ));
                self.auto_source = false;
                self.start_source(SourceChoice::Demo);
            }
        }
    }

    fn send(&mut self, actions: Vec<wizard::Action>) {
        for a in actions {
            let cmd = match a {
                wizard::Action::StartRecording { protocol } => Command::StartRecording {
                    root: self.data_dir.clone(),
                    protocol,
                    save_video: self.wizard.save_video,
                },
                wizard::Action::Mark { step, phase } => Command::Mark { step, phase },
                wizard::Action::StopRecording => Command::StopRecording,
            };
            if let Some(p) = &self.pipeline {
                p.send(cmd);
            }
        }
    }

    /// Reads and re-analyses a recorded session on a thread of its own (a
    /// long session takes a while); [`Self::poll_replay`] shows it when ready.
    fn open_replay(&mut self, dir: PathBuf) {
        let (tx, rx) = std::sync::mpsc::channel();
        let config = self.options.analysis.clone();
        let ctx = self.ctx.clone();
        let job_dir = dir.clone();
        let spawned = std::thread::Builder::new()
            .name("replay".into())
            .spawn(move || {
                let result = match read_session(&job_dir) {
                    Ok(session) if session.samples.is_empty() => {
                        Err(format!("{}: the session has no samples", job_dir.display()))
                    }
                    Ok(session) => {
                        let analysis = session.analyze(&config);
                        Ok(Store::replay(&session, analysis))
                    }
                    Err(e) => Err(format!("cannot open the session: {e:#}")),
                };
                let _ = tx.send(result);
                if let Some(ctx) = ctx {
                    ctx.request_repaint();
                }
            });
        match spawned {
            Ok(_) => self.replay_job = Some(rx),
            Err(e) => self.error = Some(format!("cannot open the session: {e}")),
        }
    }

    /// Shows a replay whose loading has finished.
    fn poll_replay(&mut self) {
        let Some(rx) = &self.replay_job else { return };
        match rx.try_recv() {
            Ok(Ok(store)) => {
                self.replay_video = store.video().map(|(path, start)| {
                    replay_video::ReplayVideo::open(path.clone(), *start, self.ctx.clone())
                });
                self.replay_frame_seen = 0;
                self.replay_frame_info = video::FrameInfo::default();
                self.replay = Some(store);
                self.library.playing = false;
                self.error = None;
                self.replay_job = None;
            }
            Ok(Err(msg)) => {
                self.error = Some(msg);
                self.replay_job = None;
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => {}
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                self.error = Some("opening the session failed".into());
                self.replay_job = None;
            }
        }
    }

    /// Keeps the replay's video at the replay's cursor and shows its newest
    /// frame, with the pose of the session's sample nearest to it.
    fn follow_replay_video(&mut self, ctx: &egui::Context) {
        let (Some(store), Some(v)) = (&self.replay, &self.replay_video) else {
            return;
        };
        v.show_at(store.now());
        if v.take_frame(&mut self.replay_frame, &mut self.replay_frame_seen) {
            self.replay_frame.pose = store
                .sample_nearest(self.replay_frame.t)
                .and_then(|s| s.pose);
            let version = self.replay_frame_seen | REPLAY_FRAME;
            self.video.update_texture(ctx, &self.replay_frame, version);
            self.replay_frame_info = video::FrameInfo::of(&self.replay_frame);
        }
    }

    /// Opens the magnified replay of event `e` of the store shown: from the
    /// replayed session's saved video, or from the video file being
    /// analysed; otherwise the window says what is needed.
    pub fn open_magnified(&mut self, e: twitchscope_engine::events::Event) {
        let store = self.replay.as_ref().unwrap_or(&self.live);
        let Some(analysis) = &store.analysis else {
            return;
        };
        let number = analysis
            .events
            .iter()
            .filter(|x| x.is_spasm())
            .position(|x| x.start_s == e.start_s && x.side == e.side && x.kind == e.kind)
            .map_or(0, |k| k + 1);
        let duration_s = analysis.source.duration_s;
        let source = match (&store.mode, self.pipeline.as_ref().map(|p| &p.choice)) {
            (store::StoreMode::Replay { dir, video, .. }, _) => match video {
                Some((path, start)) => Ok(magnified::ClipSource {
                    video: path.clone(),
                    video_start_s: *start,
                    duration_s,
                    save_dir: dir.clone(),
                }),
                None => Err(
                    "This session kept no video, only measurements: a magnified \
                             replay needs the video. Tick \"Also save the video\" before \
                             recording."
                        .to_string(),
                ),
            },
            (
                store::StoreMode::Live,
                Some(SourceChoice::File(path) | SourceChoice::AnalyseFile(path)),
            ) => Ok(magnified::ClipSource {
                video: path.clone(),
                video_start_s: 0.0,
                duration_s: f64::INFINITY,
                save_dir: self.data_dir.join("clips"),
            }),
            (store::StoreMode::Live, Some(SourceChoice::Demo)) => match sample::demo_video_path() {
                // The demo loops with its time running on: only its first
                // pass lies in the file as it is.
                Ok(path) => match twitchscope_engine::source::probe(&path) {
                    Ok(p) if p.duration_s.is_some_and(|d| e.end_s < d) => {
                        Ok(magnified::ClipSource {
                            video: path,
                            video_start_s: 0.0,
                            duration_s: p.duration_s.unwrap_or(f64::INFINITY),
                            save_dir: self.data_dir.join("clips"),
                        })
                    }
                    Ok(_) => Err("This event is from a later pass of the looping demo: \
                                  record the demo with \"Also save the video\" and open the \
                                  recording, or click an event of its first pass."
                        .to_string()),
                    Err(err) => Err(format!("{err:#}")),
                },
                Err(err) => Err(format!("{err:#}")),
            },
            (store::StoreMode::Live, _) => Err("A magnified replay needs the video: tick \
                 \"Also save the video\", record, and open the recording from the library \
                 when it is saved."
                .to_string()),
        };
        self.magnified = Some(match source {
            Ok(source) => magnified::MagnifiedReplay::start(e, number, source, self.ctx.clone()),
            Err(why) => magnified::MagnifiedReplay::unavailable(e, number, why),
        });
    }

    /// The view's picture is a frame of the replayed session's video (not
    /// a live frame).
    pub fn shows_replay_video(&self) -> bool {
        self.video.texture_version() & REPLAY_FRAME != 0
    }

    /// A replay is being loaded.
    pub fn replay_loading(&self) -> bool {
        self.replay_job.is_some()
    }

    /// Draws the whole window into `ui`.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if self.ctx.is_none() {
            self.ctx = Some(ctx.clone());
        }
        if !self.started {
            self.first_start();
            if let Some(s) = self.options.quit_after_s {
                self.quit_at = Some(ui.input(|i| i.time) + s);
            }
            self.wizard.save_video |= self.options.save_video;
            if let Some(dir) = self.options.replay.clone() {
                self.open_replay(dir);
            }
            if self.options.record {
                let actions = self.wizard.start_free();
                self.send(actions);
            }
        }
        self.poll(&ctx);
        self.poll_replay();
        self.poll_retiring();
        let now = ui.input(|i| i.time);
        let dt = self
            .last_time
            .map(|t| (now - t).clamp(0.0, 0.5))
            .unwrap_or(0.0);
        self.last_time = Some(now);
        // Dropped files become the source.
        let dropped: Vec<PathBuf> = ui.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if let Some(path) = dropped.into_iter().next() {
            self.sources.path_text = path.display().to_string();
            self.start_source(SourceChoice::File(path));
        }
        let actions = self.wizard.tick(now);
        self.send(actions);

        egui::Panel::top("top_bar").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new("twitchscope").strong().size(18.0));
                ui.label(
                    RichText::new(status_text(&self.status)).color(status_color(&self.status)),
                );
                match &self.recording {
                    Recording::On { dir, .. } => {
                        ui.label(
                            RichText::new(format!("REC {}", dir.display()))
                                .color(Color32::from_rgb(230, 70, 60)),
                        );
                    }
                    Recording::Saved(dir) => {
                        ui.label(format!("saved {}", dir.display()));
                    }
                    _ => {}
                }
            });
            let current = self.pipeline.as_ref().map(|p| p.choice.clone());
            if let Some(choice) = self.sources.ui(ui, current.as_ref()) {
                self.auto_source = false;
                self.start_source(choice);
            }
            if self.closing && !self.retiring.is_empty() {
                ui.label(
                    RichText::new("Saving the recording before the window closes…")
                        .color(Color32::YELLOW)
                        .strong(),
                );
            }
            if let Some(b) = &self.banner {
                egui::Frame::new()
                    .fill(Color32::from_rgb(90, 70, 10))
                    .inner_margin(4.0)
                    .show(ui, |ui| {
                        ui.label(
                            RichText::new(format!("DEMO  {b}"))
                                .color(Color32::WHITE)
                                .strong(),
                        );
                    });
            }
            let failed = match &self.status {
                Status::Failed(m) => Some(m.clone()),
                _ => None,
            };
            for msg in failed.iter().chain(self.error.iter()) {
                ui.colored_label(Color32::from_rgb(240, 90, 80), format!("Error: {msg}"));
            }
        });

        // Replay controls sit under the library on the right.
        let mut lib_action = None;
        egui::Panel::right("right_panel")
            .default_size(300.0)
            .resizable(true)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    let can_record = self.replay.is_none()
                        && matches!(self.status, Status::Running)
                        && self.pipeline.is_some();
                    let actions = self
                        .wizard
                        .ui(ui, now, can_record || self.wizard.is_recording());
                    self.send(actions);
                    ui.separator();
                    if let Some(store) = &mut self.replay {
                        lib_action = self.library.replay_controls(ui, store, dt);
                    }
                    let session_dir = self.open_session_dir();
                    self.export.poll();
                    self.export.reset_unless_for(session_dir.as_deref());
                    if let Some(dir) = &session_dir {
                        if self.replay.is_none() {
                            ui.label(RichText::new("Saved recording").strong());
                        }
                        if self.export.ui(ui) {
                            self.export.start(
                                dir,
                                &self.data_dir,
                                &self.options.analysis,
                                self.ctx.clone(),
                            );
                        }
                    }
                    if self.replay.is_some() || session_dir.is_some() {
                        ui.separator();
                    }
                    let replaying = self.replay.as_ref().and_then(|s| match &s.mode {
                        store::StoreMode::Replay { dir, .. } => Some(dir.clone()),
                        _ => None,
                    });
                    if self.replay_job.is_some() {
                        ui.horizontal(|ui| {
                            ui.spinner();
                            ui.label("Opening the session…");
                        });
                    }
                    if let Some(a) = self.library.ui(ui, &self.data_dir, replaying.as_deref()) {
                        lib_action = Some(a);
                    }
                });
            });
        match lib_action {
            Some(library::LibraryAction::Replay(dir)) => self.open_replay(dir),
            Some(library::LibraryAction::BackToLive) => {
                self.replay = None;
                self.replay_video = None;
                // The picture goes back to the newest live frame at once,
                // even if the live source has ended and sends no more.
                self.video
                    .update_texture(&ctx, &self.shown_frame, self.shown_frame_version);
                self.library.playing = false;
            }
            Some(library::LibraryAction::Delete(dir)) => {
                if let Err(e) = twitchscope_session::delete_session(&dir) {
                    self.error = Some(format!("{e:#}"));
                }
                self.library.refresh(&self.data_dir);
            }
            None => {}
        }

        self.follow_replay_video(&ctx);
        let store = self.replay.as_ref().unwrap_or(&self.live);
        let version = if store.is_replay() {
            u64::MAX - 1
        } else {
            self.live_analysis_version
        };
        self.spectro
            .update(&ctx, store.analysis.as_deref(), version);

        egui::Panel::left("left_panel")
            .default_size(440.0)
            .resizable(true)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    let shown = if store.is_replay() {
                        self.replay_video.as_ref().map(|_| video::ShownFrame {
                            frame: &self.replay_frame_info,
                            regions: store.regions.as_ref().map(|r| &r.regions),
                            quality: None,
                        })
                    } else {
                        Some(video::ShownFrame {
                            frame: &self.frame_info,
                            regions: self.layout.as_ref().map(|l| &l.regions),
                            quality: Some(self.quality),
                        })
                    };
                    let note = self.replay_video.as_ref().and_then(|v| v.error());
                    self.video.ui(ui, store, shown, note.as_deref());
                    ui.separator();
                    let stats = (!store.is_replay()).then_some(self.stats);
                    let face = (!store.is_replay()).then_some(self.face_fraction);
                    counters::ui(ui, store, stats, face);
                });
            });

        let band = {
            let mut s = self.options.analysis.spectral.clone();
            if let Some(a) = &store.analysis
                && a.source.fps.is_finite()
                && a.source.fps >= 5.0
            {
                s.rate_hz = a.source.fps.round();
            }
            s.band()
        };
        let mut clicked = None;
        egui::CentralPanel::default().show(ui, |ui| {
            let h = ui.available_height();
            let x_range = traces::ui(ui, store, (h * 0.36).max(150.0));
            ui.separator();
            self.spectro.ui(ui, store, band, (h * 0.34).max(130.0));
            ui.separator();
            timeline::laterality_ui(ui, store, x_range);
            ui.separator();
            clicked = timeline::events_ui(ui, store, x_range);
        });
        if let Some(e) = clicked {
            self.open_magnified(e);
        }
        if let Some(m) = &mut self.magnified {
            m.ui(&ctx, now);
            if !m.open {
                self.magnified = None;
            }
        }

        // Keep the clock running for countdowns, replay and live data.
        ctx.request_repaint_after(std::time::Duration::from_millis(100));
        if let Some(q) = self.quit_at
            && now >= q
        {
            let s = self.stats;
            eprintln!(
                "twitchscope app: frames captured {} analysed {} dropped {} ({:.1} % analysed)",
                s.captured,
                s.analysed,
                s.dropped,
                100.0 * s.analysed as f64 / s.captured.max(1) as f64
            );
            self.quit_at = None;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        // Closing waits for recordings to be saved without blocking the UI:
        // the first request is cancelled while pipelines wind down, and the
        // window closes itself once they have.
        let close_requested = ui.input(|i| i.viewport().close_requested());
        if close_requested || self.closing {
            let ready = self.ready_to_close();
            if close_requested && !ready {
                ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            } else if !close_requested && ready {
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
    }
}

impl eframe::App for TwitchApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.wizard.stop();
        // Normally nothing is left here (the window closes only once its
        // pipelines have finished, see `ready_to_close`); if the app is made
        // to exit otherwise, recordings are still closed before it goes.
        if let Some(p) = self.pipeline.take() {
            p.stop();
        }
        for p in self.retiring.drain(..) {
            p.stop();
        }
    }
}

fn status_text(s: &Status) -> String {
    match s {
        Status::Starting => "starting…".into(),
        Status::Running => "live".into(),
        Status::Ended => "source ended".into(),
        Status::Failed(_) => "stopped (see message)".into(),
    }
}

fn status_color(s: &Status) -> Color32 {
    match s {
        Status::Running => Color32::from_rgb(90, 190, 90),
        Status::Failed(_) => Color32::from_rgb(240, 90, 80),
        _ => Color32::GRAY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_labels_name_the_patient() {
        assert_eq!(side_label(Side::Left), "patient's left");
        assert_ne!(side_color(Side::Left), side_color(Side::Right));
    }
}
