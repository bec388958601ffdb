//! `twitchscope synth --base` as a user runs it: a truth file in the bench's
//! schema next to the video, and one clear line for every mistake.

use std::path::Path;
use std::process::{Command, Output};

use twitchscope::synth::{self, FaceGeometry, Scenario, SynthSpec};

fn twitchscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_twitchscope"))
        .args(args)
        .output()
        .expect("run twitchscope")
}

fn have_ffmpeg() -> bool {
    Command::new("ffmpeg").arg("-version").output().is_ok()
}

/// A clean failure (no panic) whose message contains `needle`, on one line
/// unless it is clap's usage message.
fn assert_user_error(out: &Output, needle: &str, one_line: bool) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "should fail: {stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert!(stderr.contains(needle), "expected '{needle}' in: {stderr}");
    if one_line {
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn base_mode_user_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.mp4");
    let out = dir.path().join("o.mp4");
    assert_user_error(
        &twitchscope(&["synth", "--base", s(&missing), "--out", s(&out)]),
        "no such file",
        true,
    );
    assert_user_error(
        &twitchscope(&["synth", "--base", s(&missing), "--amplitude", "0"]),
        "amplitude",
        true,
    );
    assert_user_error(
        &twitchscope(&["synth", "--base", s(&missing), "--scenario", "nope"]),
        "unknown scenario",
        true,
    );
    // Photo-only settings and --loop-to without --base are refused by the
    // argument parser.
    assert_user_error(
        &twitchscope(&["synth", "--base", s(&missing), "--fps", "60"]),
        "cannot be used with",
        false,
    );
    assert_user_error(&twitchscope(&["synth", "--loop-to", "9"]), "--base", false);
    assert!(!out.exists());

    if !have_ffmpeg() {
        return;
    }
    let noface = dir.path().join("noface.mp4");
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i"])
        .args([
            "testsrc=size=160x120:rate=30:duration=0.5",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(&noface)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    assert_user_error(
        &twitchscope(&["synth", "--base", s(&noface), "--out", s(&out)]),
        "no face found",
        true,
    );
}

/// A short clip looped to 6 s: the truth has the bench's keys, the base's
/// name, `blinks: null`, the amplitude, and events inside the clip.
#[test]
fn base_mode_writes_bench_truth() {
    if !have_ffmpeg() {
        eprintln!("ffmpeg missing: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("face.mp4");
    let spec = SynthSpec {
        scenario: Scenario::RestBlinks,
        seconds: 1.5,
        width: 320,
        height: 240,
        geometry: Some(FaceGeometry::astronaut_fallback()),
        ..SynthSpec::default()
    };
    synth::render(&spec, &base).unwrap();
    let video = dir.path().join("twitch.mp4");
    let out = twitchscope(&[
        "synth",
        "--base",
        s(&base),
        "--scenario",
        "right_clonic_eye",
        "--amplitude",
        "0.5",
        "--loop-to",
        "6",
        "--seed",
        "4",
        "--out",
        s(&video),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("twitch.truth.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for key in [
        "name",
        "fps",
        "seconds",
        "expected_laterality",
        "events",
        "blinks",
        "source",
        "mirrored",
        "frames_without_face",
        "notes",
        "amplitude",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {text}");
    }
    assert_eq!(v["name"], "twitch");
    assert_eq!(v["source"], "face");
    assert_eq!(v["fps"], 30.0);
    assert_eq!(v["seconds"], 6.0);
    assert_eq!(v["blinks"], serde_json::Value::Null);
    assert_eq!(v["mirrored"], false);
    assert_eq!(v["amplitude"], 0.5);
    assert_eq!(v["expected_laterality"], "right");
    assert!(v["notes"].as_str().unwrap().contains("amplitude 0.5"));
    let events = v["events"].as_array().unwrap();
    assert!(!events.is_empty());
    for e in events {
        assert_eq!(e["side"], "right");
        assert_eq!(e["kind"], "clonic");
        assert!(e["start_s"].as_f64().unwrap() >= 0.5);
        assert!(e["end_s"].as_f64().unwrap() <= 5.5);
    }
    let probe = twitchscope::source::probe(&video).unwrap();
    assert_eq!((probe.width, probe.height), (320, 240));
    assert_eq!(probe.frames, Some(180));
}
