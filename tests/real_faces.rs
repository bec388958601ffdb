//! The engine on real people: the clips in `../shared/realfaces` (ordinary
//! people blinking, talking, pulling faces) and the real videos of the
//! development set in `../shared/bench`.
//!
//! These files are not the project's to redistribute, so they are read from
//! beside the project. Where they are missing (a user's fresh clone), the
//! tests say so and pass; CI sets `TWITCHSCOPE_REQUIRE_SHARED=1`, which makes
//! a missing folder a failure, so the checks cannot silently stop running.

use std::path::{Path, PathBuf};

use twitchscope::analysis::{Analysis, AnalysisConfig, Laterality, analyze_source};
use twitchscope::events::{EventKind, EventSide};
use twitchscope::export::HEAD_MOVING_NOTE_FRACTION;
use twitchscope::face::FaceTracker;
use twitchscope::frame::{Frame, FrameSource};
use twitchscope::regions::{Region, RegionLayout, RestShape, Side, head_yaw_deg, side_indices};
use twitchscope::source::VideoFileSource;

/// `../shared/<name>` beside the project, if it is there.
fn shared(name: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(name);
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("TWITCHSCOPE_REQUIRE_SHARED").is_none(),
        "{} is missing and TWITCHSCOPE_REQUIRE_SHARED is set",
        dir.display()
    );
    eprintln!("skipped: {} not found", dir.display());
    None
}

fn clips(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    v.sort();
    v
}

fn analyse(path: &Path) -> Analysis {
    let mut source = VideoFileSource::open(path).unwrap();
    analyze_source(&mut source, &AnalysisConfig::default(), |_| {}).unwrap()
}

fn spasms(a: &Analysis) -> Vec<String> {
    a.events
        .iter()
        .filter(|e| e.is_spasm())
        .map(|e| format!("{:?} {:?} {:.1}-{:.1}", e.side, e.kind, e.start_s, e.end_s))
        .collect()
}

/// The landmarks a region is placed by, averaged, in one frame's image.
fn anchor(points: &[[f32; 3]], side: Side, region: Region) -> [f32; 2] {
    let ix = side_indices(side);
    let idx: Vec<usize> = match region {
        Region::Brow => ix.brow.to_vec(),
        Region::UpperLid => ix.upper_mid.to_vec(),
        Region::LowerLid => ix.lower_mid.to_vec(),
        Region::Cheek => ix.cheek.to_vec(),
        Region::MouthCorner => vec![ix.mouth_corner],
    };
    let n = idx.len() as f32;
    let (x, y) = idx.iter().fold((0.0, 0.0), |(x, y), &i| {
        (x + points[i][0], y + points[i][1])
    });
    [x / n, y / n]
}

#[test]
fn regions_sit_on_each_persons_features() {
    // Every region's centre, placed on the person's resting face and carried
    // by the head's pose, stays near the landmarks it stands for: within a
    // fifth of the eye distance in 95 % of the frames
    // (talking and smiling move mouth corners and cheeks away from rest by
    // about that much; a misplaced region is off by half or more).
    let Some(dir) = shared("realfaces") else {
        return;
    };
    let mut tracker = FaceTracker::new().unwrap();
    for clip in clips(&dir) {
        tracker.reset();
        let mut source = VideoFileSource::open(&clip).unwrap();
        let mut frame = Frame::default();
        let mut rest = RestShape::new();
        let mut layout: Option<RegionLayout> = None;
        let mut errors: Vec<f32> = Vec::new();
        let mut scratch = Vec::new();
        let mut checked = 0;
        while source.next_frame(&mut frame).unwrap() {
            let Some(lm) = tracker.track(&frame).unwrap() else {
                continue;
            };
            let points = lm.points.clone();
            if layout.is_none() {
                rest.push(frame.timestamp_s, &points);
                if rest.span_s() >= 2.0 {
                    layout = rest.layout();
                }
                continue;
            }
            // Landmarks are the judge only where they can be: the whole face
            // in the picture and turned less than 2:1 between its sides (a
            // flat layout cannot follow a face seen from the side, and the
            // detector does not start events on fast turns).
            let inside = points.iter().all(|p| {
                p[0] >= 0.0
                    && p[1] >= 0.0
                    && p[0] < frame.width as f32
                    && p[1] < frame.height as f32
            });
            let reach = |i: usize| {
                ((points[1][0] - points[i][0]).powi(2) + (points[1][1] - points[i][1]).powi(2))
                    .sqrt()
            };
            let turn = reach(234) / reach(454).max(1e-3);
            if !inside || !(0.5..2.0).contains(&turn) {
                continue;
            }
            checked += 1;
            let layout = layout.as_ref().unwrap();
            let pose = layout.fit_pose(&points, &mut scratch).unwrap();
            let to_image = pose.inverse();
            let io = ((points[33][0] - points[263][0]).powi(2)
                + (points[33][1] - points[263][1]).powi(2))
            .sqrt();
            for side in Side::BOTH {
                for region in Region::ALL {
                    let c = to_image.apply(layout.rect(side, region).centre());
                    let a = anchor(&points, side, region);
                    errors.push(((c[0] - a[0]).powi(2) + (c[1] - a[1]).powi(2)).sqrt() / io);
                }
            }
        }
        let name = clip.file_name().unwrap().to_string_lossy();
        if layout.is_none() {
            // Shorter than the resting face needs (the 1 s clip).
            assert!(rest.span_s() < 2.0, "{name}: no layout");
            continue;
        }
        assert!(checked >= 10, "{name}: only {checked} frames to check");
        errors.sort_by(|a, b| a.total_cmp(b));
        let p95 = errors[errors.len() * 95 / 100];
        let median = errors[errors.len() / 2];
        eprintln!(
            "{name}: region-to-landmark distance median {median:.3}, 95th {p95:.3} eye distances"
        );
        assert!(
            p95 < 0.2 && median < 0.1,
            "{name}: median {median}, 95th {p95}"
        );
    }
}

/// The blink times of a sidecar's `blinks:` line: "automated 2 (t~2.0, 3.7
/// s)", "automated 2 closures (t~0.4 s long ~1.9 s grimace/squint, t~4.5
/// s)", or "0 in the 1 s".
fn sidecar_blinks(text: &str) -> Option<Vec<f64>> {
    let line = text.lines().find(|l| l.starts_with("blinks:"))?;
    let Some(start) = line.find("t~") else {
        return line.contains(" 0 ").then(Vec::new);
    };
    let list = &line[start..];
    let end = list.find([';', ')']).unwrap_or(list.len());
    Some(
        list[..end]
            .split(',')
            .filter_map(|part| {
                let part = part.trim().trim_start_matches("t~");
                let number: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.')
                    .collect();
                number.parse().ok()
            })
            .collect(),
    )
}

#[test]
fn sidecar_blink_lines_parse() {
    assert_eq!(
        sidecar_blinks("blinks: automated 2 (t~2.0, 3.7 s)."),
        Some(vec![2.0, 3.7])
    );
    assert_eq!(
        sidecar_blinks(
            "blinks: automated 2 closures (t~0.4 s long ~1.9 s grimace/squint, t~4.5 s); x"
        ),
        Some(vec![0.4, 4.5])
    );
    assert_eq!(
        sidecar_blinks("blinks: 0 in the 1 s (visual)."),
        Some(vec![])
    );
}

#[test]
fn ordinary_people_have_no_spasm_and_their_blinks_are_counted() {
    let Some(dir) = shared("realfaces") else {
        return;
    };
    for clip in clips(&dir) {
        let name = clip.file_stem().unwrap().to_string_lossy().to_string();
        let mut source = VideoFileSource::open(&clip).unwrap();
        let analysis = match analyze_source(&mut source, &AnalysisConfig::default(), |_| {}) {
            Ok(a) => a,
            // The 1 s clip is too short to analyse, and says so.
            Err(e) if format!("{e:#}").contains("too short") => continue,
            Err(e) => panic!("{name}: {e:#}"),
        };
        assert!(
            spasms(&analysis).is_empty(),
            "{name}: {:?}",
            spasms(&analysis)
        );
        assert_eq!(analysis.summary.laterality, Laterality::None, "{name}");
        // "No spasm" on a face that moved too fast to judge most of the time
        // says little, and the report must say so; on a still face it must
        // not cry wolf. (Foreman's camera shakes and he turns his head; the
        // child and the laughing man bob theirs; the others sit still or
        // move a little as they talk.)
        let moving = analysis.quality.head_moving_fraction;
        let lively = [
            "foreman_cif_openh264",
            "liveportrait_driving_d11",
            "liveportrait_driving_d12",
        ]
        .contains(&name.as_str());
        assert_eq!(
            moving >= HEAD_MOVING_NOTE_FRACTION,
            lively,
            "{name}: head moving {:.0}% of the time",
            100.0 * moving
        );
        // And where: the lively ones have stretches of it to shade; the
        // man with glasses moves now and then (cheek puffs, 15% of the
        // time), the others not at all.
        let stretches = &analysis.quality.head_moving;
        if lively {
            assert!(!stretches.is_empty(), "{name}");
        } else if moving == 0.0 {
            assert!(stretches.is_empty(), "{name}: {stretches:?}");
        }
        let blinks: Vec<f64> = analysis
            .events
            .iter()
            .filter(|e| e.kind == EventKind::Blink)
            .map(|e| e.start_s)
            .collect();
        let text = std::fs::read_to_string(clip.with_extension("txt")).unwrap();
        let listed = sidecar_blinks(&text).expect("a blinks line");
        eprintln!("{name}: blinks found {blinks:.2?}, sidecar {listed:?}");
        if name == "liveportrait_driving_d9" {
            // This sidecar lists six closures found by a script; looking at
            // the frames shows more blinks than that (0.3, 1.2, 4.7, 6.4,
            // 12.1, 12.7, 16.1, 16.6 s among them). Each listed blink must
            // be found; the listed 9.8 s closure is a double blink (the lids
            // half-open at 10.0 s), found as two.
            for t in &listed {
                assert!(
                    blinks.iter().any(|b| (b - t).abs() < 0.4),
                    "{name}: no blink near {t} in {blinks:?}"
                );
            }
            continue;
        }
        assert!(
            (blinks.len() as i64 - listed.len() as i64).abs() <= 1,
            "{name}: {} blinks found ({blinks:?}), sidecar lists {}",
            blinks.len(),
            listed.len()
        );
    }
}

#[test]
fn real_videos_of_the_dev_set() {
    let Some(dir) = shared("bench") else {
        return;
    };
    let cases = [
        ("dev_rm_left_clonic_glasses", Laterality::Left),
        ("dev_rm_right_tonic_synkinesis", Laterality::Right),
        ("dev_real_talking_glasses", Laterality::None),
        ("dev_real_face_leaves", Laterality::None),
    ];
    for (name, laterality) in cases {
        let a = analyse(&dir.join(format!("{name}.mp4")));
        assert_eq!(a.summary.laterality, laterality, "{name}: {:?}", spasms(&a));
        let side = match laterality {
            Laterality::Left => Some(EventSide::Left),
            Laterality::Right => Some(EventSide::Right),
            _ => None,
        };
        for e in a.events.iter().filter(|e| e.is_spasm()) {
            assert_eq!(Some(e.side), side, "{name}: {:?}", spasms(&a));
        }
    }
}

/// The head's turn read from the face mesh (the app's "head turned" hint)
/// on real frames: the Foreman clip is frontal at 1.0–1.4 s, turned about
/// 30° to his left (nose towards image right) at 4.3–4.5 s, and nearly in
/// profile at 5.5–5.7 s; the LivePortrait man of `d0` faces the camera
/// throughout. (Times picked by looking at the frames.)
#[test]
fn a_turned_head_reads_as_turned_and_a_frontal_one_does_not() {
    let Some(dir) = shared("realfaces") else {
        return;
    };
    let yaws = |name: &str| -> Vec<(f64, f32)> {
        let mut tracker = FaceTracker::new().unwrap();
        let mut source = VideoFileSource::open(&dir.join(name)).unwrap();
        let mut frame = Frame::default();
        let mut out = Vec::new();
        while source.next_frame(&mut frame).unwrap() {
            if let Some(lm) = tracker.track(&frame).unwrap()
                && let Some(yaw) = head_yaw_deg(&lm.points)
            {
                out.push((frame.timestamp_s, yaw));
            }
        }
        out
    };
    let within = |v: &[(f64, f32)], a: f64, b: f64| -> Vec<f32> {
        v.iter()
            .filter(|(t, _)| (a..=b).contains(t))
            .map(|&(_, y)| y)
            .collect()
    };
    let foreman = yaws("foreman_cif_openh264.mp4");
    let frontal = within(&foreman, 1.0, 1.4);
    let turned = within(&foreman, 4.3, 4.5);
    let profile = within(&foreman, 5.5, 5.7);
    assert!(!frontal.is_empty() && !turned.is_empty() && !profile.is_empty());
    assert!(
        frontal.iter().all(|y| y.abs() < 10.0),
        "frontal: {frontal:?}"
    );
    assert!(turned.iter().all(|&y| y > 20.0), "turned: {turned:?}");
    assert!(profile.iter().all(|&y| y > 25.0), "profile: {profile:?}");
    let d0 = yaws("liveportrait_driving_d0.mp4");
    assert!(d0.len() > 50);
    assert!(d0.iter().all(|(_, y)| y.abs() < 10.0), "d0: {d0:?}");
}
