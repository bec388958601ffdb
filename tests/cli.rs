//! The `twitchscope` binary as a user runs it: outputs on a real video, and
//! one clear line (never a panic) for every mistake a user can make.

use std::path::Path;
use std::process::{Command, Output};

use twitchscope::synth::{self, Scenario, SynthSpec};

fn twitchscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_twitchscope"))
        .args(args)
        .output()
        .expect("run twitchscope")
}

/// Runs the program, asserts it succeeded and returns what it printed.
fn twitchscope_ok(args: &[&str]) -> String {
    let out = twitchscope(args);
    assert!(
        out.status.success(),
        "twitchscope {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts a clean failure whose message contains `needle`.
fn assert_user_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "should fail: {stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert!(stderr.contains(needle), "expected '{needle}' in: {stderr}");
    assert_eq!(
        stderr.trim().lines().count(),
        1,
        "one line expected: {stderr}"
    );
}

fn ffmpeg(args: &[&str], out: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
}

#[test]
fn bad_inputs_get_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);

    assert_user_error(
        &twitchscope(&["analyze", p("missing.mp4").to_str().unwrap()]),
        "no such file",
    );
    assert_user_error(
        &twitchscope(&["analyze", dir.path().to_str().unwrap()]),
        "directory",
    );

    std::fs::write(p("empty.mp4"), b"").unwrap();
    assert_user_error(
        &twitchscope(&["analyze", p("empty.mp4").to_str().unwrap()]),
        "empty",
    );

    std::fs::write(p("notes.mp4"), b"shopping list: eggs, milk").unwrap();
    assert_user_error(
        &twitchscope(&["analyze", p("notes.mp4").to_str().unwrap()]),
        "not a readable video",
    );

    // Random bytes named .mp4.
    let noise: Vec<u8> = (0u32..200_000)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(p("noise.mp4"), &noise).unwrap();
    assert_user_error(
        &twitchscope(&["analyze", p("noise.mp4").to_str().unwrap()]),
        "not a readable video",
    );

    // Sound only.
    ffmpeg(
        &["-f", "lavfi", "-i", "sine=frequency=440:duration=3"],
        &p("voice.m4a"),
    );
    assert_user_error(
        &twitchscope(&["analyze", p("voice.m4a").to_str().unwrap()]),
        "no video stream",
    );

    // A path through a file, as if it were a folder.
    assert_user_error(
        &twitchscope(&["analyze", p("notes.mp4/clip.mp4").to_str().unwrap()]),
        "cannot be read",
    );

    // A real video with no face in it.
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=30:duration=4",
            "-pix_fmt",
            "yuv420p",
        ],
        &p("noface.mp4"),
    );
    assert_user_error(
        &twitchscope(&["analyze", p("noface.mp4").to_str().unwrap()]),
        "no face",
    );

    // A face video too short to analyse.
    let short = SynthSpec {
        scenario: Scenario::RestBlinks,
        seconds: 1.5,
        ..SynthSpec::default()
    };
    synth::render(&short, &p("short.mp4")).unwrap();
    assert_user_error(
        &twitchscope(&["analyze", p("short.mp4").to_str().unwrap()]),
        "too short",
    );

    // A face far too small to measure (64×48 frames).
    let tiny = SynthSpec {
        scenario: Scenario::RestBlinks,
        seconds: 4.0,
        width: 64,
        height: 48,
        ..SynthSpec::default()
    };
    synth::render(&tiny, &p("tiny.mp4")).unwrap();
    assert_user_error(
        &twitchscope(&["analyze", p("tiny.mp4").to_str().unwrap()]),
        "could not be measured",
    );

    // A single frame.
    ffmpeg(
        &["-i", p("short.mp4").to_str().unwrap(), "-frames:v", "1"],
        &p("one_frame.mp4"),
    );
    assert_user_error(
        &twitchscope(&["analyze", p("one_frame.mp4").to_str().unwrap()]),
        "too short",
    );

    // Settings a user can get wrong.
    assert_user_error(
        &twitchscope(&["analyze", p("short.mp4").to_str().unwrap(), "--hop", "0"]),
        "hop",
    );
    assert_user_error(
        &twitchscope(&["synth", "--scenario", "sneezing"]),
        "sneezing",
    );
}

#[test]
fn analyze_writes_json_and_csv_in_the_documented_schema() {
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("left.mp4");
    let spec = SynthSpec {
        scenario: Scenario::LeftClonicEye,
        seed: 5,
        seconds: 12.0,
        ..SynthSpec::default()
    };
    synth::render(&spec, &video).unwrap();
    let json = dir.path().join("a.json");
    let csv = dir.path().join("csv");
    let stdout = twitchscope_ok(&[
        "analyze",
        video.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert!(stdout.contains("LEFT"), "{stdout}");
    assert!(stdout.contains("not a diagnosis"), "{stdout}");

    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["schema"], "twitchscope.analysis/1");
    for key in ["path", "fps", "frames", "duration_s", "width", "height"] {
        assert!(!v["source"][key].is_null(), "source.{key}");
    }
    assert!(v["quality"]["face_visible_fraction"].as_f64().unwrap() > 0.9);
    let s = &v["summary"];
    assert_eq!(s["laterality"], "left");
    assert!(s["dominant_freq_hz"].is_number());
    for key in ["left", "right", "bilateral"] {
        assert!(s["events_per_min"][key].is_number(), "events_per_min.{key}");
    }
    assert!(s["blinks_per_min"].is_number());
    assert!(s["regions"]["left"].is_array() && s["regions"]["right"].is_array());
    assert!(s["synkinesis"]["left"].is_boolean() && s["synkinesis"]["right"].is_boolean());
    let events = v["events"].as_array().unwrap();
    assert!(!events.is_empty());
    for e in events {
        for key in ["start_s", "end_s", "side", "kind", "regions", "amplitude"] {
            assert!(!e[key].is_null(), "event.{key}");
        }
        assert!(e.get("freq_hz").is_some());
    }
    let w = &v["windows"][0];
    for key in ["start_s", "end_s", "laterality", "band_power"] {
        assert!(!w[key].is_null(), "window.{key}");
    }
    assert!(w["band_power"]["left"]["lower_lid"].is_number());

    let events_csv = std::fs::read_to_string(csv.join("events.csv")).unwrap();
    assert!(events_csv.starts_with("start_s,end_s,"));
    assert_eq!(events_csv.lines().count(), events.len() + 1);
    let windows_csv = std::fs::read_to_string(csv.join("windows.csv")).unwrap();
    assert!(
        windows_csv
            .lines()
            .next()
            .unwrap()
            .contains("left_lower_lid")
    );
}

/// Runs `analyze` on `video` (it must succeed): the terminal summary and
/// the analysis JSON.
fn analyze_ok(video: &Path, dir: &Path) -> (String, serde_json::Value) {
    let json = dir.join(format!(
        "{}.json",
        video.file_stem().unwrap().to_string_lossy()
    ));
    let stdout = twitchscope_ok(&[
        "analyze",
        video.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    (
        stdout,
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap(),
    )
}

/// A video cut in the middle (an interrupted copy, a full disk) is
/// analysed up to the cut, and both the terminal and the JSON say so.
#[test]
fn a_cut_video_is_analysed_to_the_cut_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let spec = SynthSpec {
        scenario: Scenario::RestBlinks,
        seconds: 8.0,
        ..SynthSpec::default()
    };
    let whole = dir.path().join("whole.mp4");
    synth::render(&spec, &whole).unwrap();
    // The index first, so that what precedes a cut can be decoded.
    let indexed = dir.path().join("indexed.mp4");
    ffmpeg(
        &[
            "-i",
            whole.to_str().unwrap(),
            "-c",
            "copy",
            "-movflags",
            "+faststart",
        ],
        &indexed,
    );
    let bytes = std::fs::read(&indexed).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() * 3 / 4]).unwrap();
    let (stdout, v) = analyze_ok(&cut, dir.path());
    assert!(stdout.contains("Warning: the video ends at"), "{stdout}");
    assert!(stdout.contains("cut short"), "{stdout}");
    let note = &v["quality"]["ended_early"];
    let (read, declared) = (
        note["read_s"].as_f64().unwrap(),
        note["declared_s"].as_f64().unwrap(),
    );
    assert!(
        (declared - 8.0).abs() < 0.2 && read > 3.0 && read < 7.0,
        "{note}"
    );
    assert!((v["source"]["duration_s"].as_f64().unwrap() - read).abs() < 0.2);

    // The whole file says nothing of the kind.
    let (stdout, _) = analyze_ok(&indexed, dir.path());
    assert!(!stdout.contains("Warning"), "{stdout}");

    // An output that cannot be written is named, and nothing half-written
    // is left beside it.
    let nowhere = dir.path().join("no_such_folder").join("out.json");
    assert_user_error(
        &twitchscope(&[
            "analyze",
            indexed.to_str().unwrap(),
            "--json",
            nowhere.to_str().unwrap(),
        ]),
        "cannot write",
    );
}

/// A phone stores a portrait clip sideways with a rotation tag, cameras
/// record at 120 fps, and screen recorders drop frames unevenly: the same
/// face gives the same length, blinks and verdict through all three.
#[test]
fn rotation_high_frame_rates_and_uneven_timing_keep_the_results() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let spec = SynthSpec {
        scenario: Scenario::RestBlinks,
        seconds: 10.0,
        ..SynthSpec::default()
    };
    synth::render(&spec, &p("plain.mp4")).unwrap();
    let plain = p("plain.mp4");
    let plain = plain.to_str().unwrap();
    // Stored turned a quarter, shown upright through the rotation tag.
    ffmpeg(
        &[
            "-i",
            plain,
            "-vf",
            "transpose=1",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
        &p("turned.mp4"),
    );
    ffmpeg(
        &[
            "-i",
            p("turned.mp4").to_str().unwrap(),
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
        ],
        &p("rotated.mp4"),
    );
    ffmpeg(
        &[
            "-i", plain, "-vf", "fps=120", "-c:v", "libx264", "-pix_fmt", "yuv420p",
        ],
        &p("fps120.mp4"),
    );
    // Every third frame dropped: gaps of one and two frame periods.
    ffmpeg(
        &[
            "-i",
            plain,
            "-vf",
            "select='not(eq(mod(n\\,3)\\,2))'",
            "-fps_mode",
            "vfr",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
        &p("uneven.mkv"),
    );
    let (_, want) = analyze_ok(&p("plain.mp4"), dir.path());
    let blinks = |a: &serde_json::Value| {
        a["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "blink")
            .count()
    };
    assert!(blinks(&want) >= 2, "{}", want["events"]);
    for name in ["rotated.mp4", "fps120.mp4", "uneven.mkv"] {
        let (_, got) = analyze_ok(&p(name), dir.path());
        let (w, h) = (
            got["source"]["width"].as_u64(),
            got["source"]["height"].as_u64(),
        );
        if name == "rotated.mp4" {
            assert_eq!((w, h), (Some(640), Some(480)), "{name} is shown upright");
        }
        let length = got["source"]["duration_s"].as_f64().unwrap();
        assert!((length - 10.0).abs() < 0.2, "{name}: {length} s");
        assert_eq!(got["summary"]["laterality"], "none", "{name}");
        assert!(
            blinks(&got).abs_diff(blinks(&want)) <= 1,
            "{name}: {} blinks, {} in the original",
            blinks(&got),
            blinks(&want)
        );
    }
}

#[test]
fn demo_runs_on_the_embedded_sample() {
    let stdout = twitchscope_ok(&["demo"]);
    // The sample is a patient-left hemifacial spasm phantom.
    assert!(stdout.contains("patient's LEFT"), "{stdout}");
}

/// The committed sample videos agree with their truth files.
#[test]
fn committed_samples_match_their_truth() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    for name in ["right_myokymia", "bilateral_60fps"] {
        let truth = synth::read_truth(&samples.join(format!("{name}.truth.json"))).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (_, v) = analyze_ok(&samples.join(format!("{name}.mp4")), dir.path());
        assert_eq!(
            v["summary"]["laterality"],
            truth.expected_laterality.as_str(),
            "{name}"
        );
        let kinds: Vec<&str> = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        for e in &truth.events {
            assert!(
                kinds.contains(&e.kind.as_str()),
                "{name}: {} missing in {kinds:?}",
                e.kind
            );
        }
    }
}

/// The committed sample with left-sided spasms.
fn demo_sample() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/demo_left_hfs.mp4")
}

/// Encodes to H.264 what `inputs` (ffmpeg inputs and filters) make.
fn h264(inputs: &[&str], out: &Path) {
    let mut args = inputs.to_vec();
    args.extend([
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
    ]);
    ffmpeg(&args, out);
}

/// A face in a dark room cannot be measured: the frames where it is too dark
/// are skipped and counted, and a video that is dark throughout is refused
/// with what to do, rather than read as twitching.
#[test]
fn a_dark_video_is_skipped_and_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let sample = demo_sample();
    let p = |name: &str| dir.path().join(name);
    // A tenth of the light from 8 s on.
    let half = p("half_dark.mp4");
    h264(
        &[
            "-i",
            sample.to_str().unwrap(),
            "-t",
            "16",
            "-vf",
            "lutyuv=y=val*0.1:enable='gte(t,8)'",
        ],
        &half,
    );
    let (stdout, v) = analyze_ok(&half, dir.path());
    let dark = v["quality"]["face_too_dark_fraction"].as_f64().unwrap();
    assert!((0.4..0.6).contains(&dark), "{dark}");
    assert!(
        stdout.contains("too dark to measure in 50% of the frames"),
        "{stdout}"
    );
    // All of it dark.
    let dark_all = p("dark.mp4");
    h264(
        &[
            "-i",
            sample.to_str().unwrap(),
            "-t",
            "8",
            "-vf",
            "lutyuv=y=val*0.1",
        ],
        &dark_all,
    );
    assert_user_error(
        &twitchscope(&["analyze", dark_all.to_str().unwrap()]),
        "too dark to measure",
    );
}

/// Someone steps into the picture beside the patient: the patient's face
/// stays followed (the newcomer's calm face would hide the twitching), and
/// the output says there were two faces.
#[test]
fn someone_stepping_in_does_not_take_over() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let calm = p("calm.mp4");
    let spec = SynthSpec {
        scenario: Scenario::RestBlinks,
        seconds: 8.0,
        ..SynthSpec::default()
    };
    synth::render(&spec, &calm).unwrap();
    // The patient alone for 4 s, then a second face as large beside them.
    let out = p("stepping_in.mp4");
    h264(
        &[
            "-i",
            demo_sample().to_str().unwrap(),
            "-i",
            calm.to_str().unwrap(),
            "-t",
            "12",
            "-filter_complex",
            "[1:v]tpad=start_duration=4:color=black[s];[0:v][s]hstack=inputs=2",
        ],
        &out,
    );
    let (stdout, v) = analyze_ok(&out, dir.path());
    assert_eq!(v["source"]["most_faces"], 2, "{}", v["source"]);
    assert!(stdout.contains("2 faces were in the picture"), "{stdout}");
    assert_eq!(v["summary"]["laterality"], "left", "{stdout}");
    assert!(v["quality"]["face_gaps"].as_array().unwrap().is_empty());
}

/// A face that leaves and comes back: the stretch without it is listed in
/// the JSON and said in the terminal, nothing is placed inside it, and the
/// twitching before and after it is still found.
#[test]
fn a_face_out_of_view_is_a_marked_gap() {
    let dir = tempfile::tempdir().unwrap();
    let sample = demo_sample();
    // The picture is a grey wall from 8 s to 12 s.
    let away = dir.path().join("away.mp4");
    h264(
        &[
            "-i",
            sample.to_str().unwrap(),
            "-vf",
            "drawbox=x=0:y=0:w=iw:h=ih:color=gray:t=fill:enable='between(t,8,12)'",
        ],
        &away,
    );
    let (stdout, v) = analyze_ok(&away, dir.path());
    let gaps = v["quality"]["face_gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    let (start, end) = (
        gaps[0]["start_s"].as_f64().unwrap(),
        gaps[0]["end_s"].as_f64().unwrap(),
    );
    assert!(
        (start - 8.0).abs() < 0.2 && (end - 12.0).abs() < 0.3,
        "{start}–{end}"
    );
    assert!(
        stdout.contains("the face was out of view once")
            && stdout.contains("nothing was measured there"),
        "{stdout}"
    );
    for e in v["events"].as_array().unwrap() {
        let (s, t) = (e["start_s"].as_f64().unwrap(), e["end_s"].as_f64().unwrap());
        assert!(
            t <= start + 0.1 || s >= end - 0.1,
            "event inside the gap: {e}"
        );
    }
    assert_eq!(v["summary"]["laterality"], "left", "{}", v["summary"]);
}

/// A 4K recording (a phone, a modern webcam) is read at full size: the same
/// face, the same verdict as the small original.
#[test]
fn a_4k_video_gives_the_same_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let sample = demo_sample();
    let big = dir.path().join("uhd.mp4");
    h264(
        &[
            "-i",
            sample.to_str().unwrap(),
            "-t",
            "6",
            "-vf",
            "scale=3840:2160",
        ],
        &big,
    );
    let (_, v) = analyze_ok(&big, dir.path());
    assert_eq!(v["source"]["width"], 3840);
    assert!(v["quality"]["face_visible_fraction"].as_f64().unwrap() > 0.95);
    assert_eq!(v["summary"]["laterality"], "left", "{}", v["summary"]);
}

/// Two faces in the picture (someone behind the patient): the larger one is
/// followed, whichever side of the picture it is on, and the output says
/// that there were two.
#[test]
fn with_two_faces_the_larger_is_followed_and_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let twitching = demo_sample();
    let calm = p("calm.mp4");
    let spec = SynthSpec {
        scenario: Scenario::RestBlinks,
        seconds: 8.0,
        ..SynthSpec::default()
    };
    synth::render(&spec, &calm).unwrap();
    // `big` at full size beside `small` at three quarters.
    let pair = |big: &Path, small: &Path, out: &Path| {
        h264(
            &[
                "-i",
                big.to_str().unwrap(),
                "-i",
                small.to_str().unwrap(),
                "-t",
                "8",
                "-filter_complex",
                "[1:v]scale=480:360,pad=480:480:0:60[s];[0:v][s]hstack=inputs=2",
            ],
            out,
        )
    };
    for (big, small, laterality) in [(&twitching, &calm, "left"), (&calm, &twitching, "none")] {
        let out = p(&format!("two_{laterality}.mp4"));
        pair(big, small, &out);
        let (stdout, v) = analyze_ok(&out, dir.path());
        assert_eq!(v["source"]["most_faces"], 2, "{}", v["source"]);
        assert!(stdout.contains("2 faces were in the picture"), "{stdout}");
        assert_eq!(v["summary"]["laterality"], laterality, "{stdout}");
    }
}

/// `clip` saves one event of the sample magnified, as MP4 and as GIF, each
/// as long as the event plus half a second either side (at most 4 s), and
/// says what it saved; a missing event is one clear line.
#[test]
fn a_magnified_clip_of_an_event_is_saved_as_mp4_and_gif() {
    let dir = tempfile::tempdir().unwrap();
    let sample = demo_sample();
    let (_, json) = analyze_ok(&sample, dir.path());
    let spasms: Vec<&serde_json::Value> = json["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] != "blink")
        .collect();
    assert!(spasms.len() >= 2);
    for (n, name) in [(1, "first.mp4"), (2, "second.gif")] {
        let e = spasms[n - 1];
        let (start, end) = (e["start_s"].as_f64().unwrap(), e["end_s"].as_f64().unwrap());
        let expected = (end + 0.5).min(start - 0.5 + 4.0) - (start - 0.5);
        let out_path = dir.path().join(name);
        let stdout = twitchscope_ok(&[
            "clip",
            sample.to_str().unwrap(),
            "--event",
            &n.to_string(),
            "-o",
            out_path.to_str().unwrap(),
        ]);
        assert!(stdout.contains("MAGNIFIED"), "{stdout}");
        let probe = Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
            .args(["-show_entries", "stream=nb_read_frames,width,height"])
            .args(["-of", "default=nw=1"])
            .arg(&out_path)
            .output()
            .expect("ffprobe runs");
        let text = String::from_utf8_lossy(&probe.stdout);
        let field = |k: &str| -> f64 {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {k} in {text}"))
        };
        let seconds = field("nb_read_frames") / 30.0;
        assert!(
            (seconds - expected).abs() <= 2.0 / 30.0,
            "{name}: {seconds:.2} s for an expected {expected:.2} s"
        );
        // Plain and magnified side by side.
        assert!(field("width") > 2.0 * field("height"), "{text}");
    }
    assert!(
        !std::fs::read_dir(dir.path()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("partial")),
        "a partial file was left behind"
    );
    let out = twitchscope(&[
        "clip",
        sample.to_str().unwrap(),
        "--event",
        "99",
        "-o",
        dir.path().join("x.mp4").to_str().unwrap(),
    ]);
    assert_user_error(&out, "there is no event 99");
}

/// Health data stay on the machine: analysing a video and writing its
/// report (the engine, ffmpeg and the PDF layout, child processes
/// included) never opens an internet socket. Watched with strace, which
/// logs every socket the processes ask for, so an attempt counts even
/// where it would have failed.
#[test]
fn analysing_and_reporting_open_no_network_socket() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("sockets.txt");
    let pdf = dir.path().join("report.pdf");
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=socket,connect", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_twitchscope"))
        .args(["report", demo_sample().to_str().unwrap(), "--pdf"])
        .arg(&pdf)
        .output()
        .expect("strace runs (scripts/install-deps installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(pdf.is_file());
    let calls = std::fs::read_to_string(&log).unwrap();
    let network: Vec<&str> = calls
        .lines()
        .filter(|l| l.contains("AF_INET") || l.contains("AF_PACKET") || l.contains("AF_NETLINK"))
        .collect();
    assert!(network.is_empty(), "network sockets: {network:?}");
    // The log is real: strace saw the ffmpeg children come and go.
    assert!(calls.contains("SIGCHLD"), "{calls}");
}
