//! Clinical figures of one analysis: the per-side table, the SMC grade and
//! Jankovic frequency estimates (each with the rule used), and rest versus
//! provocation from the guided protocol's step marks. Pure functions.

use crate::analysis::{Analysis, Laterality};
use crate::events::{Event, EventKind, EventSide};
use crate::regions::Region;
use crate::session::{StepMark, StepPhase};

/// Eye closure (fraction of the resting aperture lost) at or above which an
/// event counts as narrowing the eye: the detector's own threshold
/// (aperture below 60% of rest).
pub const NARROWED_CLOSURE: f64 = 0.4;

/// Resting blink rate above which blinking counts as increased
/// (Bentivoglio 2006: > 27 per minute is a red flag).
pub const HIGH_BLINK_RATE: f64 = 27.0;

/// The three columns of the per-side table.
pub const COLUMNS: [EventSide; 3] = [EventSide::Left, EventSide::Right, EventSide::Bilateral];

/// Figures of one column (patient's left, patient's right, both sides).
#[derive(Clone, Debug, PartialEq)]
pub struct SideFigures {
    pub side: EventSide,
    /// Spasm events (every kind but blinks).
    pub events: usize,
    pub events_per_min: f64,
    /// Per minute: clonic, tonic, myokymia.
    pub per_min_by_kind: [f64; 3],
    pub longest_tonic_s: Option<f64>,
    /// Share of the recording (0..1) inside events that narrowed the eye
    /// (see [`narrows`]): an estimate.
    pub narrowed_fraction: f64,
    /// Median, lowest and highest repetition frequency of the events, Hz.
    pub freq_hz: Option<(f64, f64, f64)>,
    /// Regions involved in at least a quarter of the events.
    pub regions: Vec<Region>,
    /// Events in which eye and mouth corner contracted together.
    pub synkinesis_events: usize,
    /// Events in which the brow lifted while the eye narrowed.
    pub brow_with_closure_events: usize,
}

pub const KINDS: [EventKind; 3] = [EventKind::Clonic, EventKind::Tonic, EventKind::Myokymia];

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Total time covered by the intervals (overlaps counted once).
fn covered_s(mut spans: Vec<(f64, f64)>) -> f64 {
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut total = 0.0;
    let mut cur: Option<(f64, f64)> = None;
    for (a, b) in spans {
        match &mut cur {
            Some((_, e)) if a <= *e => *e = e.max(b),
            _ => {
                if let Some((s, e)) = cur {
                    total += e - s;
                }
                cur = Some((a, b));
            }
        }
    }
    if let Some((s, e)) = cur {
        total += e - s;
    }
    total
}

/// Whether an event narrowed the eye: a tonic spasm (the eye held
/// narrowed or shut, by the detector's definition) or any event whose
/// measured closure reached [`NARROWED_CLOSURE`].
pub fn narrows(e: &Event) -> bool {
    e.kind == EventKind::Tonic || e.closure.is_some_and(|c| c >= NARROWED_CLOSURE)
}

/// The figures of one column.
pub fn side_figures(a: &Analysis, side: EventSide) -> SideFigures {
    let duration = a.source.duration_s.max(1e-9);
    let minutes = duration / 60.0;
    let evs: Vec<&Event> = a
        .events
        .iter()
        .filter(|e| e.is_spasm() && e.side == side)
        .collect();
    let per_min_by_kind =
        KINDS.map(|k| evs.iter().filter(|e| e.kind == k).count() as f64 / minutes);
    let longest_tonic_s = evs
        .iter()
        .filter(|e| e.kind == EventKind::Tonic)
        .map(|e| e.duration_s())
        .reduce(f64::max);
    let narrowed = covered_s(
        evs.iter()
            .filter(|e| narrows(e))
            .map(|e| (e.start_s, e.end_s))
            .collect(),
    );
    let mut freqs: Vec<f64> = evs.iter().filter_map(|e| e.freq_hz).collect();
    let freq_hz = if freqs.is_empty() {
        None
    } else {
        let lo = freqs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = freqs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some((median(&mut freqs), lo, hi))
    };
    let regions = Region::ALL
        .into_iter()
        .filter(|r| {
            let n = evs.iter().filter(|e| e.regions.contains(r)).count();
            n > 0 && n * 4 >= evs.len()
        })
        .collect();
    let has = |e: &Event, r: Region| e.regions.contains(&r);
    let eye = |e: &Event| has(e, Region::UpperLid) || has(e, Region::LowerLid);
    SideFigures {
        side,
        events: evs.len(),
        events_per_min: evs.len() as f64 / minutes,
        per_min_by_kind,
        longest_tonic_s,
        narrowed_fraction: (narrowed / duration).min(1.0),
        freq_hz,
        regions,
        synkinesis_events: evs
            .iter()
            .filter(|e| eye(e) && has(e, Region::MouthCorner))
            .count(),
        brow_with_closure_events: evs
            .iter()
            .filter(|e| has(e, Region::Brow) && narrows(e))
            .count(),
    }
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
for one-sided spasm.";

pub const JANKOVIC_RULE: &str = "Jankovic Rating Scale, frequency item (0-4), estimated: 0 = no \
spasm events; 1 = no spasm events but blinking increased (more than 27 blinks per minute); 2 = \
spasms, none longer than 1 s (flutter); 3 = at least one spasm longer than 1 s; 4 = eye narrowed \
more than 50% of the recording (functionally blind).";

/// The affected column(s) for the estimates.
fn affected(a: &Analysis) -> Vec<EventSide> {
    match a.summary.laterality {
        Laterality::None => vec![],
        Laterality::Left => vec![EventSide::Left],
        Laterality::Right => vec![EventSide::Right],
        Laterality::Bilateral => COLUMNS.to_vec(),
    }
}

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
    let tonic_per_min = f.per_min_by_kind[1];
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
    let sides = affected(a);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covered_time_counts_overlaps_once() {
        assert_eq!(covered_s(vec![(0.0, 2.0), (1.0, 3.0), (5.0, 6.0)]), 4.0);
        assert_eq!(covered_s(vec![]), 0.0);
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
