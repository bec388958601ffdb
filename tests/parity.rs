//! One path from frames to results: the same video through `analyze` (the
//! library's `analyze_source`, which the CLI calls), through the app's
//! pipeline at full speed with a recording, and through that recording read
//! back and re-analysed gives the same events and the same summary.

use std::path::Path;
use std::time::{Duration, Instant};

use twitchscope::analysis::{Analysis, AnalysisConfig, analyze_source};
use twitchscope::app::pipeline::{Command, Pipeline, Recording, SourceChoice, Status};
use twitchscope::session::read_session;
use twitchscope::source::VideoFileSource;

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/demo_left_hfs.mp4");

/// Events agree in kind and side, and in time within one sample.
fn assert_same_results(name: &str, got: &Analysis, want: &Analysis) {
    let period = 1.0 / want.source.fps;
    let show = |a: &Analysis| {
        a.events
            .iter()
            .map(|e| format!("{:?} {:?} {:.3}-{:.3}", e.kind, e.side, e.start_s, e.end_s))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        got.events.len(),
        want.events.len(),
        "{name}: {:#?} vs {:#?}",
        show(got),
        show(want)
    );
    for (g, w) in got.events.iter().zip(&want.events) {
        assert_eq!((g.kind, g.side), (w.kind, w.side), "{name}");
        assert!(
            (g.start_s - w.start_s).abs() <= period + 1e-9
                && (g.end_s - w.end_s).abs() <= period + 1e-9,
            "{name}: {g:?} vs {w:?}"
        );
    }
    let (g, w) = (&got.summary, &want.summary);
    assert_eq!(g.laterality, w.laterality, "{name}");
    assert_eq!(g.events_per_min, w.events_per_min, "{name}");
    assert_eq!(g.blinks_per_min, w.blinks_per_min, "{name}");
    assert_eq!(g.dominant_freq_hz, w.dominant_freq_hz, "{name}");
    assert_eq!(g.regions, w.regions, "{name}");
    assert_eq!(g.synkinesis, w.synkinesis, "{name}");
    assert_eq!(g.sides, w.sides, "{name}");
    assert_eq!(got.source.frames, want.source.frames, "{name}");
    assert_eq!(got.source.duration_s, want.source.duration_s, "{name}");
    assert_eq!(got.quality, want.quality, "{name}");
}

fn offline(path: &Path, config: &AnalysisConfig) -> Analysis {
    let mut source = VideoFileSource::open(path).expect("the demo video opens");
    analyze_source(&mut source, config, |_| {}).expect("analyze")
}

#[test]
fn analyze_app_and_replay_agree() {
    let config = AnalysisConfig::default();
    let want = offline(Path::new(DEMO), &config);
    assert!(
        want.events.iter().any(|e| e.is_spasm()),
        "the demo has spasms to compare"
    );

    let root = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::start(SourceChoice::AnalyseFile(DEMO.into()), config.clone(), None);
    // Asked for before the source is open: recording starts with its
    // first frame.
    pipeline.send(Command::StartRecording {
        root: root.path().to_path_buf(),
        protocol: None,
        save_video: false,
    });
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let status = pipeline.live().status.clone();
        match status {
            Status::Ended => break,
            Status::Failed(e) => panic!("the pipeline failed: {e}"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "the pipeline did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = pipeline.stats();
    let live = pipeline
        .live()
        .analysis
        .clone()
        .expect("a final live analysis");
    pipeline.send(Command::StopRecording);
    let dir = {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Recording::Saved(dir) = pipeline.live().recording.clone() {
                break dir;
            }
            assert!(Instant::now() < deadline, "the recording was not saved");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    pipeline.stop();

    // At full speed nothing is dropped: the app saw every frame.
    assert_eq!(stats.dropped, 0);
    assert_eq!(stats.analysed, want.source.frames);
    assert_same_results("app, full speed", &live, &want);
    let session = read_session(&dir).unwrap();
    assert_eq!(session.samples.len() as u64, want.source.frames);
    assert_same_results("replay", &session.analyze(&config), &want);
}
