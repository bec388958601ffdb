//! Clinical figures of one analysis: the per-side table, the SMC grade and
//! Jankovic frequency estimates (each with the rule used), and rest versus
//! provocation from the guided protocol's step marks. Pure functions.

use twitchscope_engine::analysis::{Analysis, Laterality, affected_sides};
use twitchscope_engine::events::{Event, EventKind, EventSide};
pub use twitchscope_engine::figures::{COLUMNS, KINDS, NARROWED_CLOSURE, SideFigures, narrows};
use twitchscope_engine::regions::Region;
use twitchscope_session::{StepMark, StepPhase};

/// Resting blink rate above which blinking counts as increased
/// (Bentivoglio 2006: > 27 per minute is a red flag).
pub const HIGH_BLINK_RATE: f64 = 27.0;

/// The figures of one column, as the analysis summary holds them.
pub fn side_figures(a: &Analysis, side: EventSide) -> SideFigures {
    a.figures(side)
}

/// An estimate of a clinical scale item with the rule that produced it.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// e.g. "II", "3", "not applicable".
    pub value: String,
    /// Why, in plain words.
    pub reason: String,
    /// The rule used, in full.
    pub rule: &'static str,
}

pub const SMC_RULE: &str = "SMC grade (Samsung Medical Center, hemifacial spasm) estimated from the \
events of the affected side: I = periocular only (eyelids, brow); II = spread to cheek or mouth \
corner on the same side; III = frequent tonic spasms (at least 1 tonic spasm per minute, or the eye \
narrowed at least 10% of the time). Grade IV (disfiguring asymmetry) is not measured. Only defined \
for one-sided spasm, clonic or tonic: myokymia alone (a fine lower-lid ripple) is not hemifacial spasm.";

pub const JANKOVIC_RULE: &str = "Jankovic Rating Scale, frequency item (0-4), estimated: 0 = no \
spasm events; 1 = no spasm events but blinking increased (more than 27 blinks per minute); 2 = \
spasms, none longer than 1 s (flutter); 3 = at least one spasm longer than 1 s; 4 = eye narrowed \
more than 50% of the recording (functionally blind).";

/// SMC grade estimate.
pub fn smc_grade(a: &Analysis) -> Estimate {
    let side = match a.summary.laterality {
        Laterality::None => {
            return Estimate {
                value: "none".into(),
                reason: "no spasm events".into(),
                rule: SMC_RULE,
            };
        }
        Laterality::Bilateral => {
            return Estimate {
                value: "not applicable".into(),
                reason: "the spasms are on both sides; the SMC grade describes one-sided \
                         (hemifacial) spasm"
                    .into(),
                rule: SMC_RULE,
            };
        }
        Laterality::Left => EventSide::Left,
        Laterality::Right => EventSide::Right,
    };
    let f = side_figures(a, side);
    let [clonic_per_min, tonic_per_min, _] = f.per_min_by_kind;
    if clonic_per_min + tonic_per_min == 0.0 {
        return Estimate {
            value: "not applicable".into(),
            reason: "only myokymia, a fine ripple of the lower lid; the SMC grade describes \
                     hemifacial spasm"
                .into(),
            rule: SMC_RULE,
        };
    }
    let spread = f
        .regions
        .iter()
        .any(|r| matches!(r, Region::Cheek | Region::MouthCorner));
    let (value, reason) = if tonic_per_min >= 1.0 || f.narrowed_fraction >= 0.10 {
        (
            "III",
            format!(
                "{tonic_per_min:.1} tonic spasms per minute, eye narrowed {:.0}% of the time",
                100.0 * f.narrowed_fraction
            ),
        )
    } else if spread {
        (
            "II",
            format!("spread beyond the eye: {}", region_list(&f.regions)),
        )
    } else {
        ("I", format!("periocular only: {}", region_list(&f.regions)))
    };
    Estimate {
        value: value.into(),
        reason,
        rule: SMC_RULE,
    }
}

/// Jankovic frequency item estimate.
pub fn jankovic_frequency(a: &Analysis) -> Estimate {
    let sides = affected_sides(a.summary.laterality);
    let evs: Vec<&Event> = a.events.iter().filter(|e| e.is_spasm()).collect();
    let (value, reason) = if evs.is_empty() {
        if a.summary.blinks_per_min > HIGH_BLINK_RATE {
            (
                1,
                format!(
                    "no spasm events; {:.0} blinks per minute",
                    a.summary.blinks_per_min
                ),
            )
        } else {
            (0, "no spasm events".to_string())
        }
    } else {
        let narrowed = sides
            .iter()
            .map(|s| side_figures(a, *s).narrowed_fraction)
            .fold(0.0, f64::max);
        let longest = evs.iter().map(|e| e.duration_s()).fold(0.0, f64::max);
        if narrowed > 0.5 {
            (
                4,
                format!("eye narrowed {:.0}% of the time", 100.0 * narrowed),
            )
        } else if longest > 1.0 {
            (3, format!("longest spasm {longest:.1} s"))
        } else {
            (
                2,
                format!("all spasms shorter than 1 s (longest {longest:.1} s)"),
            )
        }
    };
    Estimate {
        value: value.to_string(),
        reason,
        rule: JANKOVIC_RULE,
    }
}

/// Plain names of regions, e.g. "upper lid, cheek".
pub fn region_list(regions: &[Region]) -> String {
    if regions.is_empty() {
        return "none".into();
    }
    regions
        .iter()
        .map(|r| region_name(*r))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn region_name(r: Region) -> &'static str {
    match r {
        Region::Brow => "brow",
        Region::UpperLid => "upper lid",
        Region::LowerLid => "lower lid",
        Region::Cheek => "cheek",
        Region::MouthCorner => "mouth corner",
    }
}

/// One protocol step's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct StepFigures {
    pub step: String,
    /// Rest steps ("rest_*") versus provocation (everything else).
    pub rest: bool,
    pub start_s: f64,
    pub end_s: f64,
    pub spasm_events: usize,
    pub events_per_min: f64,
    pub blinks_per_min: f64,
}

/// Pairs the step marks into intervals and counts the events that start in
/// each. Steps without an end run to the next step's start or the end of
/// the recording.
pub fn step_figures(a: &Analysis, steps: &[StepMark]) -> Vec<StepFigures> {
    let mut starts: Vec<&StepMark> = steps
        .iter()
        .filter(|m| m.phase == StepPhase::Start)
        .collect();
    starts.sort_by(|x, y| x.t.total_cmp(&y.t));
    let mut out = Vec::new();
    for (i, m) in starts.iter().enumerate() {
        let next = starts.get(i + 1).map(|n| n.t).unwrap_or(f64::INFINITY);
        let end = steps
            .iter()
            .filter(|e| e.phase == StepPhase::End && e.step == m.step && e.t > m.t)
            .map(|e| e.t)
            .fold(f64::INFINITY, f64::min)
            .min(next)
            .min(a.source.duration_s);
        if end <= m.t {
            continue;
        }
        let minutes = (end - m.t) / 60.0;
        let inside = |e: &&Event| e.start_s >= m.t && e.start_s < end;
        let spasm_events = a
            .events
            .iter()
            .filter(inside)
            .filter(|e| e.is_spasm())
            .count();
        let blinks = a
            .events
            .iter()
            .filter(inside)
            .filter(|e| e.kind == EventKind::Blink)
            .count();
        out.push(StepFigures {
            step: m.step.clone(),
            rest: m.step.starts_with("rest"),
            start_s: m.t,
            end_s: end,
            spasm_events,
            events_per_min: spasm_events as f64 / minutes,
            blinks_per_min: blinks as f64 / minutes,
        });
    }
    out
}

/// Human name of a protocol step, e.g. "mouth purse".
pub fn step_name(step: &str) -> String {
    step.replace('_', " ")
}
