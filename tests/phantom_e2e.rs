//! End to end: phantom videos with known ground truth, encoded to H.264,
//! decoded by ffmpeg and analysed by the real engine (face model included).
//! Each test checks recall, precision, side, kind and frequency against the
//! truth the renderer wrote.

use std::path::Path;

use twitchscope::analysis::{Analysis, AnalysisConfig, Laterality, analyze_source};
use twitchscope::events::{Event, EventKind};
use twitchscope::regions::Region;
use twitchscope::source::VideoFileSource;
use twitchscope::synth::{self, Scenario, SynthSpec, Truth, TruthEvent};

/// Slack around a true event, seconds (as in the bench scorer).
const TOL: f64 = 0.3;

fn render_and_analyze(spec: &SynthSpec) -> (Truth, Analysis) {
    let dir = tempfile::tempdir().expect("temp dir");
    let video = dir.path().join(format!("{}.mp4", spec.scenario.name()));
    let truth = synth::render(spec, &video).expect("render phantom");
    let analysis = analyze(&video);
    (truth, analysis)
}

fn analyze(video: &Path) -> Analysis {
    let mut source = VideoFileSource::open(video).expect("open video");
    analyze_source(&mut source, &AnalysisConfig::default(), |_| {}).expect("analysis")
}

fn overlaps(e: &Event, g: &TruthEvent) -> bool {
    e.side.name() == g.side && e.start_s <= g.end_s + TOL && e.end_s >= g.start_s - TOL
}

/// (recall, precision) of spasm events, the bench scorer's rule.
fn score(truth: &Truth, analysis: &Analysis) -> (f64, f64) {
    let det: Vec<&Event> = analysis.events.iter().filter(|e| e.is_spasm()).collect();
    let hit_g = truth
        .events
        .iter()
        .filter(|g| det.iter().any(|d| overlaps(d, g)))
        .count();
    let hit_d = det
        .iter()
        .filter(|d| truth.events.iter().any(|g| overlaps(d, g)))
        .count();
    let recall = if truth.events.is_empty() {
        1.0
    } else {
        hit_g as f64 / truth.events.len() as f64
    };
    let precision = if det.is_empty() {
        1.0
    } else {
        hit_d as f64 / det.len() as f64
    };
    (recall, precision)
}

fn true_frequency(truth: &Truth) -> Option<f64> {
    let mut rates: Vec<f64> = truth.events.iter().filter_map(|e| e.rate_hz).collect();
    if rates.is_empty() {
        return None;
    }
    rates.sort_by(f64::total_cmp);
    let n = rates.len();
    Some(if n % 2 == 1 {
        rates[n / 2]
    } else {
        0.5 * (rates[n / 2 - 1] + rates[n / 2])
    })
}

fn spec(scenario: Scenario, seed: u64) -> SynthSpec {
    SynthSpec {
        scenario,
        seed,
        seconds: 24.0,
        ..SynthSpec::default()
    }
}

/// Checks detection, side and frequency; returns the analysis for more.
fn check(spec: &SynthSpec) -> (Truth, Analysis) {
    let (truth, analysis) = render_and_analyze(spec);
    let (recall, precision) = score(&truth, &analysis);
    let name = spec.scenario.name();
    assert!(
        recall >= 0.8,
        "{name}: recall {recall:.2}\n{:#?}",
        analysis.events
    );
    assert!(
        precision >= 0.8,
        "{name}: precision {precision:.2}\n{:#?}",
        analysis.events
    );
    assert_eq!(
        analysis.summary.laterality.name(),
        truth.expected_laterality,
        "{name}: laterality"
    );
    if let Some(f) = true_frequency(&truth) {
        let got = analysis
            .summary
            .dominant_freq_hz
            .expect("a dominant frequency");
        assert!(
            (got - f).abs() <= 0.75,
            "{name}: frequency {got:.2} vs {f:.2}"
        );
    }
    assert!(analysis.quality.face_visible_fraction > 0.95);
    (truth, analysis)
}

fn kinds(analysis: &Analysis) -> Vec<EventKind> {
    analysis.events.iter().map(|e| e.kind).collect()
}

#[test]
fn left_clonic_eye_is_left_clonic() {
    let (_, a) = check(&spec(Scenario::LeftClonicEye, 101));
    assert!(kinds(&a).contains(&EventKind::Clonic));
    assert!(a.summary.events_per_min.right == 0.0, "{:?}", a.summary);
}

#[test]
fn right_tonic_synkinesis_has_tonic_spread_and_synkinesis() {
    let (_, a) = check(&spec(Scenario::RightTonicSynkinesis, 102));
    assert!(kinds(&a).contains(&EventKind::Tonic), "{:#?}", a.events);
    assert!(a.summary.synkinesis.right && !a.summary.synkinesis.left);
    let regions = &a.summary.regions.right;
    assert!(regions.contains(&Region::MouthCorner), "{regions:?}");
    assert!(a.summary.regions.left.is_empty());
}

#[test]
fn left_myokymia_is_a_lower_lid_ripple() {
    let (_, a) = check(&spec(Scenario::LeftMyokymia, 103));
    let ripples: Vec<&Event> = a
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Myokymia)
        .collect();
    assert!(!ripples.is_empty(), "{:#?}", a.events);
    assert!(
        ripples
            .iter()
            .all(|e| e.regions.contains(&Region::LowerLid))
    );
}

#[test]
fn bilateral_spasm_is_bilateral_not_blinks() {
    let (truth, a) = check(&spec(Scenario::Bilateral, 104));
    let bilateral = a
        .events
        .iter()
        .filter(|e| e.is_spasm() && e.side.name() == "bilateral")
        .count();
    assert!(bilateral * 10 >= truth.events.len() * 8, "{:#?}", a.events);
}

#[test]
fn rest_blinks_are_counted_and_never_spasm() {
    let (truth, a) = check(&spec(Scenario::RestBlinks, 105));
    assert_eq!(a.summary.laterality, Laterality::None);
    assert!(
        a.events.iter().all(|e| e.kind == EventKind::Blink),
        "{:#?}",
        a.events
    );
    let blinks = a.events.len() as i64;
    assert!(
        (blinks - truth.blinks.len() as i64).abs() <= 1,
        "{blinks} blinks vs {}",
        truth.blinks.len()
    );
}

#[test]
fn talking_with_head_motion_is_no_spasm() {
    let mut s = spec(Scenario::Talking, 106);
    s.head_motion = 2.0;
    s.flicker = 0.04;
    let (_, a) = check(&s);
    assert!(a.events.iter().all(|e| !e.is_spasm()), "{:#?}", a.events);
}

#[test]
fn sixty_fps_heavy_compression_right_clonic() {
    let mut s = spec(Scenario::RightClonicEye, 107);
    s.fps = 60;
    s.crf = 34;
    s.seconds = 16.0;
    let (_, a) = check(&s);
    assert!((a.source.fps - 60.0).abs() < 0.5);
}
