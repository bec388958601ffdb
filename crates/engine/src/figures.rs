//! Per-side figures of a recording's events: the one definition of which
//! side is affected, which regions a side's spasms involve, synkinesis, and
//! the rates and durations the report tabulates. The analysis summary and
//! the report both read them from here, so they cannot disagree.

use serde::{Deserialize, Serialize};

use crate::events::{Event, EventKind, EventSide};
use crate::regions::Region;

/// Eye closure (fraction of the resting aperture lost) at or above which an
/// event counts as narrowing the eye: the detector's own blink threshold
/// (aperture below 60% of rest).
pub const NARROWED_CLOSURE: f64 = 0.4;

/// The three columns: the patient's left, the patient's right, both sides.
pub const COLUMNS: [EventSide; 3] = [EventSide::Left, EventSide::Right, EventSide::Bilateral];

/// The spasm kinds, in the order of [`SideFigures::per_min_by_kind`].
pub const KINDS: [EventKind; 3] = [EventKind::Clonic, EventKind::Tonic, EventKind::Myokymia];

/// A region belongs to a side's spasms when at least this share of the
/// side's events involve it: one stray event does not add a region.
const REGION_SHARE: f64 = 0.25;

/// A side has synkinesis when eye and mouth corner contract together in at
/// least this share of its events.
const SYNKINESIS_SHARE: f64 = 0.5;

/// Figures of one column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SideFigures {
    pub side: EventSide,
    /// Spasm events (every kind but blinks).
    pub events: usize,
    pub events_per_min: f64,
    /// Per minute: clonic, tonic, myokymia ([`KINDS`]).
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

impl SideFigures {
    /// Eye and mouth corner together in at least half of the events.
    pub fn synkinesis(&self) -> bool {
        self.events > 0 && self.synkinesis_events as f64 >= SYNKINESIS_SHARE * self.events as f64
    }
}

/// Whether an event narrowed the eye: a tonic spasm (the eye held narrowed
/// or shut, by the detector's definition) or a clonic one whose measured
/// closure reached [`NARROWED_CLOSURE`]. Myokymia never does: a ripple of
/// the lower lid leaves the eye open (a lower-lid rhythm that narrows the
/// eye twitch by twitch is a clonic burst), and the deepest closure
/// measured within one is a blink's.
pub fn narrows(e: &Event) -> bool {
    match e.kind {
        EventKind::Tonic => true,
        EventKind::Clonic => e.closure.is_some_and(|c| c >= NARROWED_CLOSURE),
        EventKind::Myokymia | EventKind::Blink => false,
    }
}

/// Whether the event is a contraction of an eye and the mouth corner
/// together. Not myokymia's: a ripple of the lower lid is no contraction of
/// the eye, and a mouth corner moving meanwhile is the person talking.
fn eye_and_mouth(e: &Event) -> bool {
    e.kind != EventKind::Myokymia
        && e.regions.iter().any(|r| r.is_eye())
        && e.regions.contains(&Region::MouthCorner)
}

/// The figures of `side` over a recording of `duration_s` seconds.
pub fn side_figures(events: &[Event], duration_s: f64, side: EventSide) -> SideFigures {
    let duration = duration_s.max(1e-9);
    let minutes = duration / 60.0;
    let evs: Vec<&Event> = events
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
    let freqs: Vec<f64> = evs.iter().filter_map(|e| e.freq_hz).collect();
    let freq_hz = median(&freqs).map(|m| {
        let lo = freqs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = freqs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (m, lo, hi)
    });
    let regions = Region::ALL
        .into_iter()
        .filter(|r| {
            let n = evs.iter().filter(|e| e.regions.contains(r)).count();
            n > 0 && n as f64 >= REGION_SHARE * evs.len() as f64
        })
        .collect();
    SideFigures {
        side,
        events: evs.len(),
        events_per_min: evs.len() as f64 / minutes,
        per_min_by_kind,
        longest_tonic_s,
        narrowed_fraction: (narrowed / duration).min(1.0),
        freq_hz,
        regions,
        synkinesis_events: evs.iter().filter(|e| eye_and_mouth(e)).count(),
        brow_with_closure_events: evs
            .iter()
            .filter(|e| e.regions.contains(&Region::Brow) && narrows(e))
            .count(),
    }
}

/// The median of `values` ([`crate::spectral::median`], the project's one
/// robust-statistics code); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
    Some(crate::spectral::median(&v, &mut Vec::new()) as f64)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(start: f64, end: f64, side: EventSide, kind: EventKind, regions: &[Region]) -> Event {
        Event {
            start_s: start,
            end_s: end,
            side,
            kind,
            regions: regions.to_vec(),
            freq_hz: (kind == EventKind::Clonic).then_some(4.0 + start / 10.0),
            amplitude: 0.5,
            closure: None,
        }
    }

    #[test]
    fn covered_time_counts_overlaps_once() {
        assert_eq!(covered_s(vec![(0.0, 2.0), (1.0, 3.0), (5.0, 6.0)]), 4.0);
        assert_eq!(covered_s(vec![]), 0.0);
    }

    #[test]
    fn median_of_even_odd_and_none() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.5]), Some(4.5));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn a_sides_regions_synkinesis_and_rates() {
        use EventKind::*;
        use Region::*;
        let events = vec![
            ev(1.0, 1.5, EventSide::Right, Clonic, &[LowerLid, MouthCorner]),
            ev(
                5.0,
                8.0,
                EventSide::Right,
                Tonic,
                &[UpperLid, LowerLid, Cheek],
            ),
            ev(
                10.0,
                10.5,
                EventSide::Right,
                Clonic,
                &[LowerLid, MouthCorner],
            ),
            ev(20.0, 20.6, EventSide::Right, Clonic, &[LowerLid]),
            // One stray brow event of five: under a quarter.
            ev(30.0, 30.4, EventSide::Right, Clonic, &[Brow, LowerLid]),
            ev(40.0, 40.2, EventSide::Left, Blink, &[UpperLid]),
            ev(41.0, 42.0, EventSide::Left, Clonic, &[UpperLid]),
        ];
        let f = side_figures(&events, 60.0, EventSide::Right);
        assert_eq!(f.events, 5);
        assert_eq!(f.events_per_min, 5.0);
        assert_eq!(f.per_min_by_kind, [4.0, 1.0, 0.0]);
        assert_eq!(f.longest_tonic_s, Some(3.0));
        assert!((f.narrowed_fraction - 3.0 / 60.0).abs() < 1e-12);
        assert_eq!(f.regions, vec![LowerLid, MouthCorner]);
        assert_eq!(f.synkinesis_events, 2);
        // Two of five: no synkinesis.
        assert!(!f.synkinesis());
        let (m, lo, hi) = f.freq_hz.unwrap();
        assert!((m - 5.5).abs() < 1e-6 && (lo - 4.1).abs() < 1e-9 && (hi - 7.0).abs() < 1e-9);
        // Blinks are not spasms.
        let left = side_figures(&events, 60.0, EventSide::Left);
        assert_eq!((left.events, left.regions.clone()), (1, vec![UpperLid]));
        assert!(!left.synkinesis());
        let none = side_figures(&events, 60.0, EventSide::Bilateral);
        assert_eq!((none.events, none.freq_hz), (0, None));
    }

    #[test]
    fn a_ripple_neither_narrows_the_eye_nor_contracts_with_the_mouth() {
        // The same closure (a blink's, inside it) and the same regions (the
        // mouth corner moving as the person talks): a twitch narrowed the
        // eye and pulled the mouth; a ripple did neither.
        let closing = |kind: EventKind| Event {
            closure: Some(0.6),
            ..ev(
                10.0,
                16.0,
                EventSide::Left,
                kind,
                &[Region::LowerLid, Region::MouthCorner],
            )
        };
        let f = |kind| side_figures(&[closing(kind)], 60.0, EventSide::Left);
        let ripple = f(EventKind::Myokymia);
        assert_eq!(
            (ripple.narrowed_fraction, ripple.synkinesis_events),
            (0.0, 0)
        );
        let twitch = f(EventKind::Clonic);
        assert!((twitch.narrowed_fraction - 0.1).abs() < 1e-12);
        assert_eq!(twitch.synkinesis_events, 1);
    }
}
