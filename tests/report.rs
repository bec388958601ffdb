//! The shareable report: PDFs made from phantom recordings analysed by the
//! real engine, read back with pdftotext and checked against the analysis;
//! the CSV and JSON beside them; the trend page from three sessions.

use std::path::Path;
use std::process::Command;

use twitchscope::analysis::{
    Analysis, AnalysisConfig, Engine, Laterality, Stretch, analyze_source,
};
use twitchscope::events::{EventKind, EventSide};
use twitchscope::export::{Exporter, JsonExporter, SessionSummaryCsv, plain_summary};
use twitchscope::frame::{Frame, FrameSource};
use twitchscope::motion::MotionSample;
use twitchscope::report::clinical::{HIGH_BLINK_RATE, smc_grade};
use twitchscope::report::{ReportInput, TrendPoint, render_pdf};
use twitchscope::session::{SessionMeta, SessionWriter, StepMark, StepPhase};
use twitchscope::synth::{self, Scenario, SynthSpec, SyntheticSource};

fn spec(scenario: Scenario, seconds: f64, seed: u64) -> SynthSpec {
    SynthSpec {
        scenario,
        seed,
        seconds,
        ..SynthSpec::default()
    }
}

fn phantom(scenario: Scenario, seconds: f64, seed: u64) -> Analysis {
    let mut source = SyntheticSource::new(&spec(scenario, seconds, seed)).expect("phantom");
    analyze_source(&mut source, &AnalysisConfig::default(), |_| {}).expect("analysis")
}

/// The engine's per-frame samples of a phantom (what a session records).
fn phantom_samples(scenario: Scenario, seconds: f64, seed: u64) -> Vec<MotionSample> {
    let mut source = SyntheticSource::new(&spec(scenario, seconds, seed)).expect("phantom");
    let mut engine = Engine::new(AnalysisConfig::default()).unwrap();
    let (mut frame, mut ready) = (Frame::default(), Vec::new());
    while source.next_frame(&mut frame).unwrap() {
        engine.push_frame(&frame, &mut ready).unwrap();
    }
    engine.finish(&mut ready).unwrap();
    ready.iter().map(|r| r.sample).collect()
}

/// The PDF's text, whitespace collapsed and typographic apostrophes made
/// plain.
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils, see scripts/install-deps)");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .replace(['\u{2019}', '\u{2018}'], "'")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn pages(pdf: &[u8]) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdfinfo").arg(&path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:").map(|n| n.trim().parse().unwrap()))
        .unwrap()
}

fn assert_has(text: &str, needle: &str) {
    assert!(
        text.contains(needle),
        "{needle:?} not in the report:\n{text}"
    );
}

fn assert_common(text: &str) {
    assert_has(text, "A self-recorded measurement, not a diagnosis.");
    assert_has(text, "Estimates (not a diagnosis)");
    assert_has(text, "(estimate)");
    assert_has(text, "Rules used.");
}

fn total_per_min(a: &Analysis) -> f64 {
    let e = &a.summary.events_per_min;
    e.left + e.right + e.bilateral
}

fn twitchscope(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_twitchscope"))
        .args(args)
        .env("TWITCHSCOPE_DATA_DIR", "/nonexistent-twitchscope-test")
        .output()
        .unwrap()
}

#[test]
fn left_hemifacial_spasm_video_report_has_the_analysis_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    synth::render(
        &spec(Scenario::LeftTonicSynkinesis, 20.0, 3),
        &p("left.mp4"),
    )
    .unwrap();
    let out = twitchscope(&[
        "report",
        p("left.mp4").to_str().unwrap(),
        "--pdf",
        p("r.pdf").to_str().unwrap(),
        "--csv",
        p("csv").to_str().unwrap(),
        "--json",
        p("a.json").to_str().unwrap(),
        "--name",
        "Test \"Patient\" #1 [x]",
        "--paper",
        "letter",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a: Analysis = serde_json::from_slice(&std::fs::read(p("a.json")).unwrap()).unwrap();
    assert_eq!(a.summary.laterality, Laterality::Left);
    let pdf = std::fs::read(p("r.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let text = pdf_text(&pdf);
    assert_common(&text);
    assert_has(&text, "Test \"Patient\" #1 [x]");
    assert_has(&text, "Twitching on the patient's left side");
    assert_has(
        &text,
        &format!("{:.1} spasm events per minute", total_per_min(&a)),
    );
    assert_has(
        &text,
        &format!("patient's left {:.1},", a.summary.events_per_min.left),
    );
    if let Some(f) = a.summary.dominant_freq_hz {
        assert_has(&text, &format!("Dominant twitch frequency: {f:.1} Hz."));
    }
    assert_has(&text, "Regions, patient's left:");
    assert_has(&text, "cheek");
    // A video file was at hand: event images, not the "not saved" note.
    assert_has(&text, "Representative events");
    assert_has(&text, "at the peak");
    assert!(!text.contains("Video was not saved"));
    assert_has(&text, "The guided protocol was not used");

    // CSV beside it: one summary row agreeing with the JSON.
    for f in ["events.csv", "windows.csv", "summary.csv"] {
        assert!(p("csv").join(f).is_file(), "{f}");
    }
    let csv = std::fs::read_to_string(p("csv").join("summary.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2);
    let head: Vec<&str> = lines[0].split(',').collect();
    let row: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(head.len(), row.len());
    let col = |name: &str| row[head.iter().position(|h| *h == name).unwrap()];
    assert_eq!(col("laterality"), "left");
    let epm: f64 = col("left_events_per_min").parse().unwrap();
    assert!((epm - a.summary.events_per_min.left).abs() < 1e-3);
    assert_eq!(
        col("left_events").parse::<usize>().unwrap(),
        a.events
            .iter()
            .filter(|e| e.is_spasm() && e.side.name() == "left")
            .count()
    );
    assert_ne!(col("smc_grade_estimate"), "none");
    let events_csv = std::fs::read_to_string(p("csv").join("events.csv")).unwrap();
    assert_eq!(events_csv.lines().count(), a.events.len() + 1);
}

#[test]
fn a_head_moving_too_fast_to_judge_is_told_and_a_still_one_is_not() {
    let still = phantom(Scenario::RestBlinks, 15.0, 2);
    assert!(
        still.quality.head_moving_fraction < 0.05,
        "{}",
        still.quality.head_moving_fraction
    );
    let note = "the head moved quickly for";
    for text in [
        pdf_text(&render_pdf(&ReportInput::new(still.clone())).unwrap()),
        plain_summary(&still),
    ] {
        assert!(!text.contains(note), "{text}");
    }
    let band = "faint band = head moving fast";
    let still_pdf = pdf_text(&render_pdf(&ReportInput::new(still.clone())).unwrap());
    assert!(!still_pdf.contains(band), "{still_pdf}");
    let mut moving = still;
    moving.quality.head_moving_fraction = 0.66;
    moving.quality.head_moving = vec![Stretch {
        start_s: 2.0,
        end_s: 12.0,
    }];
    let moving_pdf = pdf_text(&render_pdf(&ReportInput::new(moving.clone())).unwrap());
    // Where: the event timeline shades the stretch and says what the shade is.
    assert_has(&moving_pdf, band);
    for text in [moving_pdf, plain_summary(&moving)] {
        assert_has(
            &text,
            "the head moved quickly for 66% of the time the face was in view",
        );
        assert_has(&text, "rest the head and keep it still.");
    }
}

#[test]
fn no_spasm_report_says_so_and_draws_no_empty_chart() {
    let a = phantom(Scenario::RestBlinks, 15.0, 2);
    assert_eq!(a.summary.laterality, Laterality::None);
    let pdf = render_pdf(&ReportInput::new(a.clone())).unwrap();
    let text = pdf_text(&pdf);
    assert_common(&text);
    assert_has(&text, "No spasm detected.");
    assert_has(
        &text,
        &format!(
            "Blink rate: {:.1} blinks per minute",
            a.summary.blinks_per_min
        ),
    );
    assert_has(&text, "no dominant twitch frequency was measured");
    assert!(!text.contains("Dominant twitch frequency over time"));
    assert_has(&text, "No spasm events, so no event images.");
    // SMC "none"; Jankovic 1 when resting blinks exceed the red-flag rate,
    // else 0.
    let jankovic = if a.summary.blinks_per_min > HIGH_BLINK_RATE {
        1
    } else {
        0
    };
    let csv = String::from_utf8(SessionSummaryCsv.serialize(&a).unwrap()).unwrap();
    let row = csv.lines().nth(1).unwrap();
    assert!(row.ends_with(&format!(",none,{jankovic}")), "{row}");
}

#[test]
fn myokymia_alone_gets_no_smc_grade_and_no_narrowed_eye() {
    let a = phantom(Scenario::LeftMyokymia, 15.0, 103);
    let kinds: Vec<EventKind> = a
        .events
        .iter()
        .filter(|e| e.is_spasm())
        .map(|e| e.kind)
        .collect();
    assert!(
        !kinds.is_empty() && kinds.iter().all(|k| *k == EventKind::Myokymia),
        "{:#?}",
        a.events
    );
    let smc = smc_grade(&a);
    assert_eq!(smc.value, "not applicable", "{smc:?}");
    assert!(smc.reason.contains("myokymia"), "{smc:?}");
    let left = a.figures(EventSide::Left);
    assert_eq!(left.narrowed_fraction, 0.0);
}

#[test]
fn bilateral_report_names_both_sides_and_skips_the_smc_grade() {
    let a = phantom(Scenario::Bilateral, 15.0, 4);
    assert_eq!(a.summary.laterality, Laterality::Bilateral);
    let mut input = ReportInput::new(a.clone());
    input.name = Some("B. Lateral".into());
    let text = pdf_text(&render_pdf(&input).unwrap());
    assert_common(&text);
    assert_has(&text, "B. Lateral");
    assert_has(&text, "Twitching on both sides (bilateral).");
    assert_has(
        &text,
        &format!("{:.1} spasm events per minute", total_per_min(&a)),
    );
    assert_has(
        &text,
        &format!(
            "both sides together {:.1}.",
            a.summary.events_per_min.bilateral
        ),
    );
    assert_has(&text, "not applicable");
    // The JSON exporter round-trips.
    let back: Analysis = serde_json::from_slice(&JsonExporter.serialize(&a).unwrap()).unwrap();
    assert_eq!(back.summary, a.summary);
}

fn meta(id: &str, started: &str) -> SessionMeta {
    SessionMeta {
        id: id.into(),
        started: started.into(),
        source: "phantom camera".into(),
        fps: 30.0,
        width: 640,
        height: 480,
        program_version: "test".into(),
        protocol: Some("guided".into()),
        video_saved: false,
    }
}

fn write_session(
    root: &Path,
    m: &SessionMeta,
    samples: &[MotionSample],
    steps: &[StepMark],
    analysis: &Analysis,
) -> std::path::PathBuf {
    let mut w = SessionWriter::create(root, m).unwrap();
    let mut marks = steps.iter().peekable();
    for s in samples {
        while let Some(mark) = marks.next_if(|mk| mk.t <= s.t) {
            w.mark_step(mark).unwrap();
        }
        w.append(s).unwrap();
    }
    w.close(Some(analysis)).unwrap()
}

#[test]
fn trend_page_appears_with_three_sessions_and_protocol_steps_compare() {
    let root = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let samples = phantom_samples(Scenario::RightClonicEye, 16.0, 7);
    let steps = vec![
        StepMark {
            t: 0.0,
            step: "rest_open".into(),
            phase: StepPhase::Start,
        },
        StepMark {
            t: 8.0,
            step: "rest_open".into(),
            phase: StepPhase::End,
        },
        StepMark {
            t: 8.0,
            step: "mouth_purse".into(),
            phase: StepPhase::Start,
        },
    ];
    let m3 = meta("20261120-090000", "2026-11-20T09:00:00+01:00");
    let dummy = twitchscope::analysis::analyze_samples(
        &samples,
        &twitchscope::frame::SourceInfo {
            name: "phantom camera".into(),
            width: 640,
            height: 480,
            fps: 30.0,
            frames: None,
            duration_s: None,
        },
        &AnalysisConfig::default(),
    );
    let newest = write_session(root.path(), &m3, &samples, &steps, &dummy);
    let pdf = out_dir.path().join("r.pdf");
    let report = |pdf: &Path| {
        let out = twitchscope(&[
            "report",
            newest.to_str().unwrap(),
            "--pdf",
            pdf.to_str().unwrap(),
            "--history",
            root.path().to_str().unwrap(),
            "--treatment",
            "2026-11-05:botulinum toxin",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read(pdf).unwrap()
    };

    // One session: no trend page yet, and the note that video was not kept.
    let text = pdf_text(&report(&pdf));
    assert_has(&text, "1 session with a summary so far");
    assert_has(&text, "Video was not saved with this recording");
    assert_has(&text, "Twitching on the patient's right side");
    // Rest versus provocation from the step marks.
    assert_has(&text, "rest open");
    assert_has(&text, "mouth purse");
    assert_has(&text, "provocation");
    assert_has(&text, "2026-11-20 09:00");

    // Two earlier sessions (summaries only matter for the trend).
    let mut earlier = dummy.clone();
    earlier.summary.events_per_min.right = 17.25;
    earlier.summary.dominant_freq_hz = Some(6.5);
    let few: Vec<MotionSample> = samples[..60].to_vec();
    write_session(
        root.path(),
        &meta("20261001-090000", "2026-10-01T09:00:00+02:00"),
        &few,
        &[],
        &earlier,
    );
    let n_before = pages(&report(&pdf));
    earlier.summary.events_per_min.right = 3.5;
    write_session(
        root.path(),
        &meta("20261110-090000", "2026-11-10T09:00:00+01:00"),
        &few,
        &[],
        &earlier,
    );
    let bytes = report(&pdf);
    let text = pdf_text(&bytes);
    assert_has(&text, "Trend across sessions");
    for date in ["2026-10-01", "2026-11-10", "2026-11-20"] {
        assert_has(&text, date);
    }
    assert_has(&text, "17.2");
    assert_has(&text, "3.5");
    assert_has(&text, "6.5 Hz");
    assert_has(
        &text,
        "Treatments entered by the user: 2026-11-05 botulinum toxin.",
    );
    assert_has(&text, "this recording");
    assert_eq!(pages(&bytes), n_before + 1, "the trend has its own page");
}

#[test]
fn trend_points_are_in_date_order_with_the_current_one_marked() {
    let a = phantom(Scenario::RestBlinks, 6.0, 1);
    let mut input = ReportInput::new(a);
    input.recorded = Some("2026-11-26T10:00:00+01:00".into());
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    input.history = vec![
        TrendPoint {
            day: day(20),
            events_per_min: 2.0,
            dominant_freq_hz: Some(5.0),
            head_moving_fraction: 0.6,
            current: false,
        },
        TrendPoint {
            day: day(1),
            events_per_min: 9.0,
            dominant_freq_hz: None,
            head_moving_fraction: 0.1,
            current: false,
        },
    ];
    let text = pdf_text(&render_pdf(&input).unwrap());
    assert_has(&text, "Trend across sessions");
    // The session whose head moved fast much of the time says so, once: its
    // two events a minute may be the head's doing, not a remission.
    assert_has(
        &text,
        "head moving fast 60% of the time: spasms may have been missed",
    );
    assert_eq!(text.matches("spasms may have been missed").count(), 1);
    assert_has(&text, "open circle: head moving fast");
    // The caption gives the report's own threshold for that mark.
    assert_has(&text, "moved fast for 25% of the time or more");
    let (i1, i20, i26) = (
        text.find("2026-11-01 9.0").unwrap(),
        text.find("2026-11-20 2.0").unwrap(),
        text.find("2026-11-26 0.0").unwrap(),
    );
    assert!(i1 < i20 && i20 < i26);
}

/// A session recorded with its video: the report shows face images of
/// representative events cut from that video; without the video it says so.
#[test]
fn session_with_saved_video_gets_event_images() {
    let root = tempfile::tempdir().unwrap();
    let s = spec(Scenario::LeftClonicEye, 14.0, 9);
    let video = root.path().join("phantom.mp4");
    synth::render(&s, &video).unwrap();
    let samples = phantom_samples(Scenario::LeftClonicEye, 14.0, 9);
    let analysis = phantom(Scenario::LeftClonicEye, 14.0, 9);
    assert!(analysis.events.iter().any(|e| e.is_spasm()));

    let mut with_video = meta("20261120-100000", "2026-11-20T10:00:00+00:00");
    with_video.video_saved = true;
    let dir = write_session(root.path(), &with_video, &samples, &[], &analysis);
    std::fs::copy(&video, dir.join("video.mp4")).unwrap();
    let input = twitchscope::report::report_input_for_session(
        &dir,
        Some(root.path()),
        &AnalysisConfig::default(),
    )
    .unwrap();
    assert!(!input.strips.is_empty());
    let text = pdf_text(&render_pdf(&input).unwrap());
    assert_has(&text, "at the peak");
    assert!(!text.contains("Video was not saved"), "{text}");

    let without = meta("20261121-100000", "2026-11-21T10:00:00+00:00");
    let dir = write_session(root.path(), &without, &samples, &[], &analysis);
    let input = twitchscope::report::report_input_for_session(
        &dir,
        Some(root.path()),
        &AnalysisConfig::default(),
    )
    .unwrap();
    assert!(input.strips.is_empty());
    assert_has(
        &pdf_text(&render_pdf(&input).unwrap()),
        "Video was not saved",
    );
}
