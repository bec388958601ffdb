//! `twitchscope` command line: a thin front end over the engine.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use twitchscope::analysis::{Analysis, AnalysisConfig, analyze_source};
use twitchscope::app::AppOptions;
use twitchscope::app::pipeline::SourceChoice;
use twitchscope::export::{
    EventsCsv, Exporter, JsonExporter, SessionSummaryCsv, WindowsCsv, plain_summary,
};
use twitchscope::frame::FrameSource;
use twitchscope::source::VideoFileSource;
use twitchscope::synth::{self, BaseSpec, Scenario, SynthSpec};

#[derive(Parser)]
#[command(
    name = "twitchscope",
    version,
    about = "Measures facial twitching from a webcam or a video file"
)]
struct Cli {
    /// Without a subcommand the desktop window opens (camera, or the
    /// embedded sample when there is no camera).
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Args, Clone)]
struct EngineArgs {
    /// Landmark refresh rate, Hz (motion is measured on every frame).
    #[arg(long, default_value_t = 10.0)]
    landmark_hz: f64,
    /// Spectral window length, seconds.
    #[arg(long, default_value_t = 2.0)]
    window: f64,
    /// Hop between spectral windows, seconds.
    #[arg(long, default_value_t = 0.5)]
    hop: f64,
    /// Lower edge of the spasm band, Hz.
    #[arg(long, default_value_t = 2.0)]
    band_lo: f64,
    /// Upper edge of the spasm band, Hz (capped below Nyquist).
    #[arg(long, default_value_t = 12.0)]
    band_hi: f64,
}

impl EngineArgs {
    fn config(&self) -> AnalysisConfig {
        let mut c = AnalysisConfig {
            landmark_hz: self.landmark_hz,
            ..AnalysisConfig::default()
        };
        c.spectral.window_s = self.window;
        c.spectral.hop_s = self.hop;
        c.spectral.band_lo_hz = self.band_lo;
        c.spectral.band_hi_hz = self.band_hi;
        c
    }
}

#[derive(Subcommand)]
enum Command {
    /// Open the desktop window (the default).
    App {
        /// Use the embedded sample video even if a camera exists.
        #[arg(long)]
        demo: bool,
        /// Open this video file instead of a camera.
        #[arg(long, conflicts_with = "demo")]
        file: Option<PathBuf>,
        /// Analyse the --file at full speed, every frame (as `analyze`
        /// does), instead of playing it at its own pace.
        #[arg(long, requires = "file")]
        full_speed: bool,
        /// Show the preview un-mirrored (data are always in patient sides).
        #[arg(long)]
        no_mirror: bool,
        /// Close after this many seconds and print frame counts (for tests).
        #[arg(long)]
        quit_after: Option<f64>,
        /// Start recording (freely, without the guided steps) at once.
        #[arg(long)]
        record: bool,
        /// Also save the video with the recording ("Also save the video").
        #[arg(long, requires = "record")]
        save_video: bool,
        /// Open this recorded session folder in replay.
        #[arg(long, value_name = "SESSION")]
        replay: Option<PathBuf>,
    },
    /// Analyse a face video: sides, regions, events, frequencies.
    Analyze {
        /// The video file (any format ffmpeg reads).
        video: PathBuf,
        /// Write the analysis JSON (schema twitchscope.analysis/1) here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Write events.csv and windows.csv into this directory.
        #[arg(long)]
        csv: Option<PathBuf>,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Analyse the embedded demo video (no camera or file needed).
    Demo {
        /// Write the analysis JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Write events.csv and windows.csv into this directory.
        #[arg(long)]
        csv: Option<PathBuf>,
    },
    /// Make a shareable report (PDF, optionally CSV and JSON) of a recorded
    /// session or a video file.
    Report(ReportArgs),
    /// Render a phantom test video with known ground truth, from the
    /// embedded face photo or drawn onto a real face video (--base).
    Synth(SynthArgs),
    /// Save a short clip of one spasm event with the twitch magnified
    /// (MP4, or an animated GIF when the name ends in .gif), to share.
    Clip(ClipArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::App {
        demo: false,
        file: None,
        full_speed: false,
        no_mirror: false,
        quit_after: None,
        record: false,
        save_video: false,
        replay: None,
    });
    let result = match command {
        Command::App {
            demo,
            file,
            full_speed,
            no_mirror,
            quit_after,
            record,
            save_video,
            replay,
        } => {
            let source = match (demo, file) {
                (true, _) => Some(SourceChoice::Demo),
                (false, Some(path)) if full_speed => Some(SourceChoice::AnalyseFile(path)),
                (false, Some(path)) => Some(SourceChoice::File(path)),
                (false, None) => None,
            };
            let options = AppOptions {
                source,
                mirror: !no_mirror,
                quit_after_s: quit_after,
                record,
                save_video,
                replay,
                ..AppOptions::default()
            };
            twitchscope::app::run(options).map_err(|e| {
                anyhow::anyhow!(
                    "{e:#}; without a display, `twitchscope demo` analyses the sample in the terminal"
                )
            })
        }
        Command::Analyze {
            video,
            json,
            csv,
            engine,
        } => analyze(&video, json.as_deref(), csv.as_deref(), &engine.config()),
        Command::Demo { json, csv } => demo(json.as_deref(), csv.as_deref()),
        Command::Report(args) => report(args),
        Command::Synth(args) => synth_cmd(args),
        Command::Clip(args) => clip(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("twitchscope: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn analyze(
    video: &Path,
    json: Option<&Path>,
    csv: Option<&Path>,
    config: &AnalysisConfig,
) -> Result<()> {
    config.validate().map_err(anyhow::Error::msg)?;
    let mut source = VideoFileSource::open(video)?;
    let analysis = run_with_progress(&mut source, config)?;
    write_outputs(&analysis, json, csv)?;
    print!("{}", plain_summary(&analysis));
    Ok(())
}

fn demo(json: Option<&Path>, csv: Option<&Path>) -> Result<()> {
    let path = twitchscope::sample::demo_video_path()?;
    println!("Analysing the {}.", twitchscope::sample::DEMO_NAME);
    analyze(&path, json, csv, &AnalysisConfig::default())
}

fn run_with_progress(source: &mut dyn FrameSource, config: &AnalysisConfig) -> Result<Analysis> {
    let total = source.info().frames.unwrap_or(0);
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(total);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} frames, {per_sec}, eta {eta}")
        {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let analysis = analyze_source(source, config, |n| bar.set_position(n));
    bar.finish_and_clear();
    analysis
}

/// Outputs replace older ones whole or not at all (a crash or a full disk
/// mid-write leaves the previous file), readable by the user only.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    twitchscope::session::write_atomically(path, bytes)
}

fn write_outputs(analysis: &Analysis, json: Option<&Path>, csv: Option<&Path>) -> Result<()> {
    if let Some(path) = json {
        write_file(path, &JsonExporter.serialize(analysis)?)?;
    }
    if let Some(dir) = csv {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for exporter in [&EventsCsv as &dyn Exporter, &WindowsCsv, &SessionSummaryCsv] {
            write_file(
                &dir.join(exporter.file_name()),
                &exporter.serialize(analysis)?,
            )?;
        }
    }
    Ok(())
}

#[derive(clap::Args)]
struct ReportArgs {
    /// A recorded session folder, or a video file (analysed on the way).
    input: PathBuf,
    /// Write the PDF report here.
    #[arg(long)]
    pdf: PathBuf,
    /// Write events.csv, windows.csv and summary.csv into this directory.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Write the analysis JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Patient's name for the header (left blank by default).
    #[arg(long)]
    name: Option<String>,
    /// Paper size, a4 or letter (default: from the locale).
    #[arg(long)]
    paper: Option<twitchscope::report::Paper>,
    /// A treatment to mark on the trend, e.g. 2026-10-01:botox (repeatable).
    #[arg(long = "treatment", value_name = "YYYY-MM-DD:LABEL")]
    treatments: Vec<twitchscope::report::Treatment>,
    /// Sessions folder for the trend (default: the app's data folder).
    #[arg(long)]
    history: Option<PathBuf>,
}

fn report(args: ReportArgs) -> Result<()> {
    use twitchscope::report::{self, ReportInput};
    let config = AnalysisConfig::default();
    let mut input = if args.input.is_dir() {
        report::report_input_for_session(&args.input, args.history.as_deref(), &config)?
    } else {
        let mut source = VideoFileSource::open(&args.input)?;
        let mut input = ReportInput::new(run_with_progress(&mut source, &config)?);
        input.recorded = std::fs::metadata(&args.input)
            .and_then(|m| m.modified())
            .ok()
            .map(|t| chrono::DateTime::<chrono::Local>::from(t).to_rfc3339());
        input.strips = report::strips::video_strips(&args.input, &input.analysis, 0.0)
            .unwrap_or_else(|e| {
                eprintln!("twitchscope: no event images: {e:#}");
                Vec::new()
            });
        input.history = report::history_for(args.history.as_deref(), &args.input)?;
        input.paper = report::Paper::from_locale();
        input
    };
    input.treatments = args.treatments;
    input.name = args.name;
    if let Some(paper) = args.paper {
        input.paper = paper;
    }
    write_outputs(&input.analysis, args.json.as_deref(), args.csv.as_deref())?;
    write_file(&args.pdf, &report::render_pdf(&input)?)?;
    print!("{}", plain_summary(&input.analysis));
    println!("Report written to {}.", args.pdf.display());
    Ok(())
}

#[derive(clap::Args)]
struct ClipArgs {
    /// A recorded session folder that kept its video, or a video file
    /// (analysed on the way).
    input: PathBuf,
    /// Which spasm event, counted in time order from 1.
    #[arg(long, default_value_t = 1)]
    event: usize,
    /// Magnification α: motion in the spasm band is shown 1 + α times
    /// larger (default: the largest that keeps the picture faithful, at
    /// most 9).
    #[arg(long)]
    factor: Option<f32>,
    /// The clip to write: NAME.mp4, or NAME.gif.
    #[arg(long, short)]
    out: PathBuf,
}

/// The magnified clip of one event: the event's stretch of the video (half a
/// second either side, at most 4 s), the face-aligned window over both
/// eyes, plain on the left and magnified on the right.
fn clip(args: ClipArgs) -> Result<()> {
    use twitchscope::report::strips;
    let config = AnalysisConfig::default();
    let (video, analysis, video_start_s) = if args.input.is_dir() {
        let session = twitchscope::session::read_session(&args.input)?;
        let (video, start) = session.saved_video().with_context(|| {
            format!(
                "{} kept no video (only measurements were recorded): a clip needs the video; \
                 tick \"Also save the video\" before recording",
                args.input.display()
            )
        })?;
        (video, session.analyze(&config), start)
    } else {
        let mut source = VideoFileSource::open(&args.input)?;
        let analysis = run_with_progress(&mut source, &config)?;
        (args.input.clone(), analysis, 0.0)
    };
    let spasms: Vec<_> = analysis.events.iter().filter(|e| e.is_spasm()).collect();
    anyhow::ensure!(
        !spasms.is_empty(),
        "no spasm event was found in {}: there is nothing to show",
        args.input.display()
    );
    let e = args
        .event
        .checked_sub(1)
        .and_then(|i| spasms.get(i))
        .with_context(|| {
            format!(
                "there is no event {}: {} has {} spasm event{} (--event 1 to {})",
                args.event,
                args.input.display(),
                spasms.len(),
                if spasms.len() == 1 { "" } else { "s" },
                spasms.len()
            )
        })?;
    let clip = strips::event_clip(&video, e, analysis.source.duration_s, video_start_s)?;
    let m = strips::magnified_clip(&clip, e, args.factor)?;
    let frames = strips::save_clip(&m, &args.out)?;
    println!(
        "Event {} of {}: {} {}, {:.1}–{:.1} s.",
        args.event,
        spasms.len(),
        match e.side {
            twitchscope::events::EventSide::Bilateral => "both sides,".to_string(),
            side => format!("patient's {},", side.name()),
        },
        e.kind.name(),
        e.start_s,
        e.end_s
    );
    println!(
        "Saved {} ({frames} frames, {:.1} s): the eyes as filmed on the left; on the right, \
         motion at {}–{} Hz MAGNIFIED {:.0}× (for seeing, not measuring).",
        args.out.display(),
        frames as f64 / m.fps,
        m.band_hz.0,
        m.band_hz.1,
        m.magnification
    );
    Ok(())
}

#[derive(clap::Args)]
struct SynthArgs {
    /// Scenario name (see --list). With --base, rest_blinks and talking add
    /// nothing (a plain re-encode of the real video).
    #[arg(long, default_value = "left_clonic_eye")]
    scenario: String,
    /// List the scenarios and exit.
    #[arg(long)]
    list: bool,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Frame rate (photo mode; --base keeps the video's own).
    #[arg(long, default_value_t = 30)]
    fps: u32,
    /// Clip length in seconds (photo mode; --base keeps the video's own,
    /// see --loop-to).
    #[arg(long, default_value_t = 30.0)]
    seconds: f64,
    /// H.264 constant rate factor, higher = more compression [default: 23,
    /// 18 with --base so a subtle added twitch survives].
    #[arg(long)]
    crf: Option<u32>,
    /// Head motion: 0 = still, 1 = natural sway, more = restless (photo mode).
    #[arg(long, default_value_t = 1.0)]
    head_motion: f32,
    /// Sensor noise, standard deviation in grey levels (photo mode).
    #[arg(long, default_value_t = 2.0)]
    noise: f32,
    /// Mains-light flicker amplitude, relative gain, e.g. 0.03 (photo mode).
    #[arg(long, default_value_t = 0.0)]
    flicker: f32,
    /// Scale every spasm warp: 1 = an obvious twitch, 0.3 = a subtle lid
    /// flicker.
    #[arg(long, default_value_t = 1.0)]
    amplitude: f32,
    /// Draw the scenario onto this real face video instead of the photo:
    /// the face is tracked in every frame and everything else stays real.
    #[arg(long, value_name = "VIDEO",
          conflicts_with_all = ["fps", "seconds", "head_motion", "noise", "flicker"])]
    base: Option<PathBuf>,
    /// With --base: a closing lid also pulls the skin around the eye down
    /// with it, by this many lid travels at full closure (0 = the lid
    /// alone; about 1.7 looks like the spasms on the dev set's real faces).
    #[arg(long, default_value_t = 0.0, requires = "base")]
    drag: f32,
    /// With --base: play a short video forward and backward (ping-pong)
    /// until it is this many seconds long.
    #[arg(long, value_name = "SECONDS", requires = "base")]
    loop_to: Option<f64>,
    /// Output video; the truth JSON goes beside it as NAME.truth.json.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

fn synth_cmd(args: SynthArgs) -> Result<()> {
    if args.list {
        for name in synth::scenario_names() {
            println!("{name}");
        }
        return Ok(());
    }
    let scenario: Scenario = args.scenario.parse()?;
    let Some(base) = args.base else {
        let spec = SynthSpec {
            scenario,
            seed: args.seed,
            fps: args.fps,
            seconds: args.seconds,
            crf: args.crf.unwrap_or(SynthSpec::default().crf),
            head_motion: args.head_motion,
            noise_sigma: args.noise,
            flicker: args.flicker,
            amplitude: args.amplitude,
            ..SynthSpec::default()
        };
        return synth_photo(&spec, args.out);
    };
    let spec = BaseSpec {
        scenario,
        seed: args.seed,
        amplitude: args.amplitude,
        drag: args.drag,
        crf: args.crf.unwrap_or(synth::BASE_CRF),
        loop_to: args.loop_to,
        ..BaseSpec::new(base, scenario)
    };
    let out = args.out.unwrap_or_else(|| {
        let stem = spec
            .base
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "base".to_string());
        PathBuf::from(format!("{stem}_{}_s{}.mp4", scenario.name(), spec.seed))
    });
    let truth = synth::render_on_base(&spec, &out)?;
    let truth_path = out.with_extension("truth.json");
    synth::write_base_truth(&truth, &truth_path)?;
    println!(
        "{}: {} events on {} ({:.2} s, {} frames without a face), amplitude {}; truth in {}",
        out.display(),
        truth.events.len(),
        truth.source,
        truth.seconds,
        truth.frames_without_face,
        truth.amplitude,
        truth_path.display()
    );
    Ok(())
}

fn synth_photo(spec: &SynthSpec, out: Option<PathBuf>) -> Result<()> {
    let out = out.unwrap_or_else(|| {
        PathBuf::from(format!(
            "{}_s{}_{}fps.mp4",
            spec.scenario.name(),
            spec.seed,
            spec.fps
        ))
    });
    let truth = synth::render(spec, &out)?;
    let truth_path = out.with_extension("truth.json");
    synth::write_truth(&truth, &truth_path)?;
    println!(
        "{}: {} events, {} blinks; truth in {}",
        out.display(),
        truth.events.len(),
        truth.blinks.len(),
        truth_path.display()
    );
    Ok(())
}
