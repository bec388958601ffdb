//! The desktop app driven headless (egui_kittest, through the accessibility
//! tree) on the embedded demo source: every panel is there, a free recording
//! is saved, listed in the library and replayed in the same views.

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use twitchscope::app::export::ExportState;
use twitchscope::app::pipeline::{Recording, Status};
use twitchscope::app::{AppOptions, SourceChoice, TwitchApp};

/// Steps the UI (in real time, since the pipeline runs on real threads)
/// until `done` or `limit` passes.
fn step_until(
    harness: &mut Harness<'_, TwitchApp>,
    limit: Duration,
    done: impl Fn(&TwitchApp) -> bool,
) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        harness.step();
        if done(harness.state()) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    false
}

/// The PDF's text (pdftotext), whitespace collapsed and typographic
/// apostrophes made plain.
fn pdf_text(path: &std::path::Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils, see scripts/install-deps)");
    assert!(
        out.status.success(),
        "pdftotext cannot read {}",
        path.display()
    );
    String::from_utf8_lossy(&out.stdout)
        .replace(['\u{2019}', '\u{2018}'], "'")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn has_label(harness: &Harness<'_, TwitchApp>, label: &str) -> bool {
    harness.query_all_by_label(label).next().is_some()
}

/// The app on the demo sample with its sessions in `dir`, recording freely
/// for `record_for`.
fn recording_demo(dir: &std::path::Path, record_for: Duration) -> Harness<'static, TwitchApp> {
    let options = AppOptions {
        source: Some(SourceChoice::Demo),
        data_dir: Some(dir.to_path_buf()),
        ..AppOptions::default()
    };
    let app = TwitchApp::new(options, None);
    let mut harness = Harness::builder()
        .with_size([1280.0, 800.0])
        .build_ui_state(|ui, app: &mut TwitchApp| app.show(ui), app);
    assert!(step_until(&mut harness, Duration::from_secs(15), |app| {
        *app.status() == Status::Running
    }));
    harness.get_by_label("Record freely").click();
    assert!(step_until(&mut harness, Duration::from_secs(5), |app| {
        matches!(app.recording(), Recording::On { .. })
    }));
    std::thread::sleep(record_for);
    harness.step();
    harness
}

/// Whether a session under `root` was closed (its summary written).
fn has_saved_session(root: &std::path::Path) -> bool {
    std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.path().join("summary.json").is_file())
}

#[test]
fn every_panel_is_shown_and_a_recording_replays() {
    let dir = tempfile::tempdir().unwrap();
    let options = AppOptions {
        source: Some(SourceChoice::Demo),
        data_dir: Some(dir.path().to_path_buf()),
        ..AppOptions::default()
    };
    let app = TwitchApp::new(options, None);
    let mut harness = Harness::builder()
        .with_size([1280.0, 800.0])
        .build_ui_state(|ui, app: &mut TwitchApp| app.show(ui), app);

    let running = step_until(&mut harness, Duration::from_secs(15), |app| {
        *app.status() == Status::Running && app.live.samples.len() > 15
    });
    assert!(
        running,
        "the demo never ran: status {:?}, error {:?}",
        harness.state().status(),
        harness.state().error
    );
    for label in [
        "Live view",
        "Mirror preview",
        "Traces",
        "Spectrogram",
        "Laterality",
        "Event timeline",
        "Counters",
        "Self-check",
        "Session library",
        "Source",
        "Dropped frames",
        "Head too fast to judge",
        "Start guided self-check",
        "Record freely",
    ] {
        assert!(has_label(&harness, label), "no {label:?} in the window");
    }
    assert!(
        harness
            .query_all_by_label_contains("patient's left")
            .next()
            .is_some()
    );
    assert!(
        harness.state().banner.is_none(),
        "an explicit demo choice needs no banner"
    );

    // Free recording for about two seconds, video opted in.
    harness
        .get_by_label("Also save the video (off: only measurements)")
        .click();
    harness.step();
    harness.get_by_label("Record freely").click();
    assert!(step_until(&mut harness, Duration::from_secs(5), |app| {
        matches!(app.recording(), Recording::On { .. })
    }));
    std::thread::sleep(Duration::from_millis(2000));
    harness.step();
    harness.get_by_label("Stop recording").click();
    assert!(
        step_until(&mut harness, Duration::from_secs(5), |app| matches!(
            app.recording(),
            Recording::Saved(_)
        )),
        "recording state {:?}",
        harness.state().recording()
    );
    harness.step();
    harness.step();
    let Recording::Saved(session_dir) = harness.state().recording().clone() else {
        unreachable!()
    };
    let video = session_dir.join("video.mp4");
    let size = std::fs::metadata(&video).map(|m| m.len()).unwrap_or(0);
    assert!(size > 1000, "{} is {size} bytes", video.display());
    let meta = twitchscope::session::read_meta(&session_dir).unwrap();
    assert!(meta.video_saved);
    // The saved recording can be exported too.
    assert!(has_label(&harness, "Export report"));

    // The library lists it; replay shows it in the same views.
    harness.get_by_label("Replay").click();
    // The session is read and analysed off the UI thread.
    let opened = step_until(&mut harness, Duration::from_secs(30), |app| {
        app.replay.is_some()
    });
    assert!(
        opened,
        "the replay never opened: {:?}",
        harness.state().error
    );
    harness.step();
    let replay = harness.state().replay.as_ref().expect("a replay store");
    assert!(replay.is_replay());
    assert!(
        replay.samples.len() > 20,
        "{} samples",
        replay.samples.len()
    );
    assert!(has_label(&harness, "Back to live"));
    assert!(has_label(&harness, "Traces") && has_label(&harness, "Event timeline"));

    // The replay shows the saved video, the regions drawn where the live
    // view drew them (the session kept them and every frame's pose).
    assert!(session_dir.join("regions.json").is_file());
    assert!(replay.regions.is_some(), "the replay has no regions");
    let posed = replay.samples.iter().filter(|s| s.pose.is_some()).count();
    assert!(
        posed * 2 > replay.samples.len(),
        "{posed} samples with a pose"
    );
    let first_t = replay.samples[0].t;
    let until = Instant::now() + Duration::from_secs(20);
    let mut shown = false;
    while !shown && Instant::now() < until {
        harness.step();
        shown = harness
            .query_all_by_label_contains("the saved video, frame at")
            .next()
            .is_some();
        std::thread::sleep(Duration::from_millis(30));
    }
    assert!(shown, "the replay does not show the saved video");
    // ... and keeps showing it while the live demo goes on underneath.
    for _ in 0..20 {
        harness.step();
        std::thread::sleep(Duration::from_millis(30));
    }
    assert!(
        harness.state().shows_replay_video(),
        "a live frame replaced the replay's picture"
    );

    // An event of the replay, magnified: the clip is cut and magnified off
    // the UI thread, plays, shows as filmed on request, and saves as MP4.
    let event = twitchscope::events::Event {
        start_s: first_t + 0.6,
        end_s: first_t + 1.2,
        side: twitchscope::events::EventSide::Left,
        kind: twitchscope::events::EventKind::Clonic,
        regions: Vec::new(),
        freq_hz: None,
        amplitude: 1.0,
        closure: None,
    };
    harness.state_mut().open_magnified(event);
    // A window is laid out unseen in its first frame.
    harness.step();
    harness.step();
    assert!(
        harness
            .query_all_by_label_contains("patient's left clonic")
            .next()
            .is_some(),
        "no magnified replay window"
    );
    assert!(
        step_until(&mut harness, Duration::from_secs(30), |app| app
            .magnified
            .as_ref()
            .is_some_and(|m| m.is_ready() || m.error().is_some())),
        "the magnified clip never came"
    );
    harness.step();
    let magnified = harness.state().magnified.as_ref().unwrap();
    assert!(magnified.error().is_none(), "{:?}", magnified.error());
    let factor = magnified.magnification().unwrap();
    assert!((1.0..=21.0).contains(&factor), "magnified ×{factor}");
    assert!(
        harness
            .query_all_by_label_contains("MAGNIFIED ×")
            .next()
            .is_some()
    );
    harness
        .get_by_label("Show as filmed (no magnification)")
        .click();
    harness.step();
    harness.step();
    assert!(has_label(&harness, "AS FILMED"));
    harness.get_by_label("Save MP4").click();
    assert!(
        step_until(&mut harness, Duration::from_secs(30), |app| app
            .magnified
            .as_ref()
            .is_some_and(|m| m.saved().is_some())),
        "the clip was never saved"
    );
    let saved = harness
        .state()
        .magnified
        .as_ref()
        .unwrap()
        .saved()
        .unwrap()
        .to_string();
    let clip = std::fs::read_dir(&session_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "mp4") && p != &video)
        .unwrap_or_else(|| panic!("no clip in the session folder: {saved}"));
    assert!(saved.contains(&clip.display().to_string()), "{saved}");
    let probe = twitchscope::source::probe(&clip).unwrap();
    let seconds = probe.duration_s.unwrap();
    // The event ± half a second, as far as the recording reaches.
    assert!(
        (1.0..=1.75).contains(&seconds),
        "the clip lasts {seconds} s"
    );
    harness.state_mut().magnified = None;
    harness.step();

    // Export the replayed session with a name and a treatment date typed
    // in: the PDF is made off the UI thread and its path shown in the
    // window.
    let field = harness.get_by_label("Name:");
    field.focus();
    field.type_text("Ada Lovelace");
    harness.step();
    let field = harness.get_by_label("Treatments:");
    field.focus();
    field.type_text("2026-10-01:botulinum toxin");
    harness.step();
    harness.get_by_label("Export report").click();
    harness.step();
    // Rendering takes seconds; right after the click it is still running
    // on its own thread (a click that rendered in line would be done).
    assert!(
        matches!(harness.state().export.state, ExportState::Running(_)),
        "the export did not start in the background"
    );
    assert!(
        step_until(&mut harness, Duration::from_secs(30), |app| !matches!(
            app.export.state,
            ExportState::Idle | ExportState::Running(_)
        )),
        "the export never finished"
    );
    harness.step();
    let pdf = session_dir.join("report.pdf");
    assert!(
        matches!(&harness.state().export.state, ExportState::Done(p) if *p == pdf),
        "export state {:?}",
        harness.state().export.state
    );
    assert!(
        harness
            .query_all_by_label_contains("Report written to")
            .next()
            .is_some(),
        "the path is not shown"
    );
    let text = pdf_text(&pdf);
    assert!(text.contains("not a diagnosis"), "PDF text: {text}");
    assert!(text.contains("Ada Lovelace"), "no name in the PDF: {text}");
    assert!(
        text.contains("2026-10-01 botulinum toxin"),
        "no treatment in the PDF: {text}"
    );
    for name in ["analysis.json", "events.csv", "windows.csv", "summary.csv"] {
        assert!(session_dir.join(name).is_file(), "no {name}");
    }
    harness.get_by_label("Back to live").click();
    harness.step();
    assert!(harness.state().replay.is_none());

    // Deleting asks first, then removes the session from the disk.
    harness.step();
    harness.get_by_label("Delete").click();
    harness.step();
    harness.step();
    assert!(session_dir.is_dir(), "deleted before the user confirmed");
    harness.get_by_label("Delete for good").click();
    harness.step();
    harness.step();
    assert!(
        !session_dir.exists(),
        "{} is still there",
        session_dir.display()
    );
    assert!(has_label(&harness, "No sessions recorded yet."));
}

#[test]
fn a_missing_file_is_a_message_in_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let options = AppOptions {
        source: Some(SourceChoice::File(dir.path().join("no-such-video.mp4"))),
        data_dir: Some(dir.path().to_path_buf()),
        ..AppOptions::default()
    };
    let app = TwitchApp::new(options, None);
    let mut harness = Harness::builder()
        .with_size([1280.0, 800.0])
        .build_ui_state(|ui, app: &mut TwitchApp| app.show(ui), app);
    let failed = step_until(&mut harness, Duration::from_secs(10), |app| {
        matches!(app.status(), Status::Failed(_))
    });
    assert!(failed, "status {:?}", harness.state().status());
    harness.step();
    assert!(
        harness
            .query_all_by_label_contains("no such file")
            .next()
            .is_some(),
        "the error is not shown"
    );
    // The window still has its panels and records nothing.
    assert!(has_label(&harness, "Traces") && has_label(&harness, "Session library"));
}

#[test]
fn analyse_now_takes_every_frame_of_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/demo_left_hfs.mp4");
    let options = AppOptions {
        source: Some(SourceChoice::File(dir.path().join("not-yet.mp4"))),
        data_dir: Some(dir.path().to_path_buf()),
        ..AppOptions::default()
    };
    let app = TwitchApp::new(options, None);
    let mut harness = Harness::builder()
        .with_size([1280.0, 800.0])
        .build_ui_state(|ui, app: &mut TwitchApp| app.show(ui), app);
    harness.step();
    let field = harness.get_by_label("Video file:");
    field.focus();
    field.type_text(demo);
    harness.step();
    harness.get_by_label("Analyse now").click();
    let ended = step_until(&mut harness, Duration::from_secs(300), |app| {
        *app.status() == Status::Ended
    });
    assert!(ended, "status {:?}", harness.state().status());
    harness.step();
    let app = harness.state();
    let analysis = app.live.analysis.clone().expect("the file's analysis");
    let stats = app.stats();
    assert_eq!(stats.dropped, 0, "{stats:?}");
    assert_eq!(stats.analysed, analysis.source.frames, "{stats:?}");
    assert_eq!(analysis.summary.laterality.name(), "left");
}

#[test]
fn switching_source_while_recording_keeps_the_recording() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = recording_demo(dir.path(), Duration::from_millis(4000));
    // Another source while recording: the old pipeline closes the recording
    // in the background and the library lists it when it is done.
    harness.get_by_label("Demo sample").click();
    let root = harness.state().data_dir().to_path_buf();
    assert!(
        step_until(
            &mut harness,
            Duration::from_secs(30),
            |_| has_saved_session(&root)
        ),
        "the recording was not closed"
    );
    assert!(step_until(&mut harness, Duration::from_secs(10), |app| {
        *app.status() == Status::Running
    }));
    harness.step();
    assert!(
        harness.state().error.is_none(),
        "{:?}",
        harness.state().error
    );
}

#[test]
fn closing_while_recording_saves_without_blocking_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = recording_demo(dir.path(), Duration::from_millis(3000));
    // The first close request is answered at once: not yet, the recording
    // is being saved in the background.
    assert!(!harness.state_mut().ready_to_close());
    harness.step();
    assert!(has_label(
        &harness,
        "Saving the recording before the window closes…"
    ));
    // Then the window may close, with the recording on disk.
    let start = Instant::now();
    let mut ready = false;
    while !ready && start.elapsed() < Duration::from_secs(30) {
        harness.step();
        ready = harness.state_mut().ready_to_close();
        std::thread::sleep(Duration::from_millis(30));
    }
    assert!(ready, "the window never became ready to close");
    assert!(
        has_saved_session(harness.state().data_dir()),
        "the recording was not closed before the window could go"
    );
    assert!(
        harness.state().error.is_none(),
        "{:?}",
        harness.state().error
    );
}
