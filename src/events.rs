//! Events: twitches, spasms, myokymia and blinks from per-region signals.
//!
//! The detector works on uniformly sampled signals (see [`Signals`]). Every
//! signal is scored against its own noise floor, learned from the recording
//! (median and MAD: spasms occupy a minority of a recording). Eye activity
//! per side opens candidate segments; the two sides are then compared:
//! - both eyes, symmetric and short (≤ [`EventConfig::blink_max_s`]): a blink,
//!   counted but never a spasm;
//! - both eyes, symmetric and long or repeated: a bilateral spasm;
//! - one eye clearly stronger: a unilateral event on that side, `tonic` when
//!   the eye stays narrowed for a sustained stretch, else `clonic`;
//! - a narrow-band ripple of one lower lid lasting seconds, with the eye
//!   open: `myokymia`.

use serde::{Deserialize, Serialize};

use crate::regions::{Region, Side};
use crate::spectral::{Spectrum, WindowSpectrum, robust_stats, window_starts};

/// Uniformly sampled signals of a whole recording.
#[derive(Clone, Debug, Default)]
pub struct Signals {
    /// Sample rate (Hz) and time of sample 0 (s).
    pub rate: f64,
    pub t0: f64,
    /// `[side][region]` residual speed (face units / s).
    pub speed: [[Vec<f32>; Region::COUNT]; 2],
    /// `[side][region]` vertical velocity relative to the head (face units / s).
    pub vy: [[Vec<f32>; Region::COUNT]; 2],
    /// `[side][region]` deviation from the resting appearance (face units).
    pub deform: [[Vec<f32>; Region::COUNT]; 2],
    /// `[side]` eyelid aperture (gap / eye width), NaN where unknown.
    pub aperture: [Vec<f32>; 2],
    /// Whether a face was measured at each sample.
    pub valid: Vec<bool>,
}

impl Signals {
    pub fn len(&self) -> usize {
        self.valid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.valid.is_empty()
    }

    pub fn time(&self, k: usize) -> f64 {
        self.t0 + k as f64 / self.rate
    }
}

/// What kind of event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// Brief twitches, often repeated in a burst.
    Clonic,
    /// A sustained contraction (eye held narrowed or shut).
    Tonic,
    /// A fine rhythmic ripple, usually of one lower lid.
    Myokymia,
    /// A normal blink: both eyes, symmetric, short. Never a spasm.
    Blink,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Clonic => "clonic",
            EventKind::Tonic => "tonic",
            EventKind::Myokymia => "myokymia",
            EventKind::Blink => "blink",
        }
    }
}

/// Which side an event belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventSide {
    Left,
    Right,
    Bilateral,
}

impl EventSide {
    pub fn from_side(side: Side) -> EventSide {
        match side {
            Side::Left => EventSide::Left,
            Side::Right => EventSide::Right,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            EventSide::Left => "left",
            EventSide::Right => "right",
            EventSide::Bilateral => "bilateral",
        }
    }

    /// Whether the event involves `side`.
    pub fn involves(self, side: Side) -> bool {
        matches!(
            (self, side),
            (EventSide::Bilateral, _)
                | (EventSide::Left, Side::Left)
                | (EventSide::Right, Side::Right)
        )
    }
}

/// One detected event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub start_s: f64,
    pub end_s: f64,
    pub side: EventSide,
    pub kind: EventKind,
    /// Regions involved, in anatomical order (brow to mouth corner).
    pub regions: Vec<Region>,
    /// Repetition frequency of repetitive events, Hz.
    pub freq_hz: Option<f64>,
    /// Peak displacement of the eye's skin, in percent of the interocular
    /// distance (deformation against the resting appearance).
    pub amplitude: f64,
    /// Peak narrowing of the eyelid aperture measured from landmarks, as a
    /// fraction of the resting aperture (0 = none, 1 = shut); `None` when
    /// landmarks did not measure it.
    pub closure: Option<f64>,
}

impl Event {
    pub fn duration_s(&self) -> f64 {
        self.end_s - self.start_s
    }

    pub fn is_spasm(&self) -> bool {
        self.kind != EventKind::Blink
    }
}

/// Thresholds of the detector. They are in units of each signal's own noise
/// (robust z-scores), so they carry over between cameras and faces.
#[derive(Clone, Debug, PartialEq)]
pub struct EventConfig {
    /// Activity (z) that opens a segment.
    pub z_on: f32,
    /// Activity (z) that keeps a segment open.
    pub z_off: f32,
    /// Segments closer than this merge (a clonic burst is one event).
    pub merge_gap_s: f64,
    /// Weaker-to-stronger side ratio at or above which both eyes count.
    pub symmetry_ratio: f32,
    /// Longest blink, seconds.
    pub blink_max_s: f64,
    /// Sustained narrowing that makes an event tonic, seconds.
    pub tonic_min_s: f64,
    /// Aperture below this fraction of rest counts as narrowed.
    pub narrowed_fraction: f32,
    /// Activity (z) that makes a region count as involved.
    pub z_region: f32,
    /// Shortest event, seconds: even the fastest twitch takes ~0.1 s, so a
    /// one-frame blip is noise (a compression artefact, a dropped frame).
    pub min_event_s: f64,
    /// Myokymia: shortest ripple episode, seconds.
    pub myokymia_min_s: f64,
    /// Spasm band, Hz.
    pub band: (f64, f64),
}

impl Default for EventConfig {
    fn default() -> Self {
        EventConfig {
            z_on: 8.0,
            z_off: 3.5,
            merge_gap_s: 0.35,
            symmetry_ratio: 0.35,
            blink_max_s: 0.7,
            tonic_min_s: 0.8,
            min_event_s: 0.1,
            narrowed_fraction: 0.6,
            z_region: 6.0,
            myokymia_min_s: 3.0,
            band: (2.0, 12.0),
        }
    }
}

/// Noise floors: robust z-scores of every signal.
struct Scored {
    /// `[side][region]` speed z.
    speed: [[Vec<f32>; Region::COUNT]; 2],
    /// `[side][region]` deformation z.
    deform: [[Vec<f32>; Region::COUNT]; 2],
    /// `[side]` eye activity: the larger of lid speed and lid deformation z.
    eye: [Vec<f32>; 2],
    /// `[side]` resting aperture (median), NaN if never measured.
    rest_aperture: [f32; 2],
}

/// Band power over the noise floor that a lower-lid ripple needs (6 dB).
const MYOKYMIA_SNR: f32 = 4.0;

/// Minimum noise scale per signal, so a perfectly clean synthetic video
/// (or a frozen frame) cannot turn a rounding error into a huge z.
const SPEED_FLOOR: f32 = 1.0;
const DEFORM_FLOOR: f32 = 0.05;

fn zscore(values: &[f32], valid: &[bool], floor: f32, scratch: &mut Vec<f32>) -> Vec<f32> {
    let kept: Vec<f32> = values
        .iter()
        .zip(valid)
        .filter(|(v, ok)| **ok && v.is_finite())
        .map(|(v, _)| *v)
        .collect();
    let (med, sigma) = robust_stats(&kept, scratch);
    let sigma = sigma.max(floor);
    values
        .iter()
        .zip(valid)
        .map(|(v, ok)| {
            if *ok && v.is_finite() {
                (v - med) / sigma
            } else {
                0.0
            }
        })
        .collect()
}

fn score(signals: &Signals) -> Scored {
    let mut scratch = Vec::new();
    let mut speed: [[Vec<f32>; Region::COUNT]; 2] = Default::default();
    let mut deform: [[Vec<f32>; Region::COUNT]; 2] = Default::default();
    for s in 0..2 {
        for r in 0..Region::COUNT {
            speed[s][r] = zscore(
                &signals.speed[s][r],
                &signals.valid,
                SPEED_FLOOR,
                &mut scratch,
            );
            deform[s][r] = zscore(
                &signals.deform[s][r],
                &signals.valid,
                DEFORM_FLOOR,
                &mut scratch,
            );
        }
    }
    let up = Region::UpperLid.index();
    let lo = Region::LowerLid.index();
    let eye = [0, 1].map(|s| {
        (0..signals.len())
            .map(|k| {
                speed[s][up][k]
                    .max(speed[s][lo][k])
                    .max(deform[s][up][k])
                    .max(deform[s][lo][k])
            })
            .collect::<Vec<f32>>()
    });
    let rest_aperture = [0, 1].map(|s| {
        let kept: Vec<f32> = signals.aperture[s]
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        if kept.is_empty() {
            f32::NAN
        } else {
            crate::spectral::median(&kept, &mut scratch)
        }
    });
    Scored {
        speed,
        deform,
        eye,
        rest_aperture,
    }
}

/// Half-open sample ranges where `active` holds, with short gaps merged.
fn segments(active: &[bool], merge_gap: usize) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut k = 0;
    while k < active.len() {
        if !active[k] {
            k += 1;
            continue;
        }
        let start = k;
        while k < active.len() && active[k] {
            k += 1;
        }
        match out.last_mut() {
            Some(last) if start - last.1 <= merge_gap => last.1 = k,
            _ => out.push((start, k)),
        }
    }
    out
}

/// Hysteresis: samples above `on`, grown while above `off`.
fn hysteresis(x: &[f32], on: f32, off: f32) -> Vec<bool> {
    let mut active: Vec<bool> = x.iter().map(|&v| v >= on).collect();
    // Grow forwards and backwards while above `off`.
    for k in 1..x.len() {
        if active[k - 1] && x[k] >= off {
            active[k] = true;
        }
    }
    for k in (0..x.len().saturating_sub(1)).rev() {
        if active[k + 1] && x[k] >= off {
            active[k] = true;
        }
    }
    active
}

/// Activity above the hold threshold, summed: how much a side moved.
fn energy(x: &[f32], range: (usize, usize), off: f32) -> f32 {
    x[range.0..range.1]
        .iter()
        .map(|&v| (v - off).max(0.0))
        .sum()
}

/// Longest run (in samples) where the eye is narrowed.
fn longest_narrowed_run(
    aperture: &[f32],
    rest: f32,
    fraction: f32,
    range: (usize, usize),
) -> Option<usize> {
    if !rest.is_finite() || rest <= 0.0 {
        return None;
    }
    let (mut best, mut run, mut seen) = (0, 0, false);
    for &a in &aperture[range.0..range.1] {
        if a.is_finite() {
            seen = true;
            if a < fraction * rest {
                run += 1;
                best = best.max(run);
            } else {
                run = 0;
            }
        }
    }
    seen.then_some(best)
}

/// Detects every event in a recording, in time order.
pub fn detect_events(signals: &Signals, config: &EventConfig) -> Vec<Event> {
    let n = signals.len();
    if n < 4 || signals.rate <= 0.0 {
        return Vec::new();
    }
    let sc = score(signals);
    let gap = (config.merge_gap_s * signals.rate).round() as usize;
    let active: [Vec<bool>; 2] = [0, 1].map(|s| hysteresis(&sc.eye[s], config.z_on, config.z_off));
    let union: Vec<bool> = (0..n).map(|k| active[0][k] || active[1][k]).collect();
    let mut detector = Detector {
        signals,
        config,
        sc: &sc,
        spectrum_cache: None,
    };

    let myokymia = detector.myokymia_episodes();
    let mut events = Vec::new();
    let min_len = (config.min_event_s * signals.rate).round().max(1.0) as usize;
    for seg in segments(&union, gap) {
        if seg.1 - seg.0 < min_len {
            continue;
        }
        let e = [0, 1].map(|s| energy(&sc.eye[s], seg, config.z_off));
        let (strong, weak) = if e[0] >= e[1] { (0, 1) } else { (1, 0) };
        if e[strong] <= 0.0 {
            continue;
        }
        let ratio = e[weak] / e[strong];
        if ratio >= config.symmetry_ratio {
            events.push(detector.bilateral_event(seg, &active));
        } else {
            let side = Side::BOTH[strong];
            // The side's own active stretch inside the joint segment.
            let own = segments(&active[strong][seg.0..seg.1], gap)
                .into_iter()
                .map(|(a, b)| (a + seg.0, b + seg.0))
                .fold(None, |acc: Option<(usize, usize)>, r| match acc {
                    None => Some(r),
                    Some(a) => Some((a.0.min(r.0), a.1.max(r.1))),
                })
                .unwrap_or(seg);
            let in_ripple = myokymia
                .iter()
                .any(|m| m.side == side && m.range.0 <= own.1 && own.0 <= m.range.1);
            let ev = detector.unilateral_event(side, own);
            // A lid ripple also raises speed; inside a myokymia episode the
            // fragments belong to it unless the eye really closed.
            if in_ripple && ev.kind == EventKind::Clonic && ev.closure.is_none_or(|c| c < 0.3) {
                continue;
            }
            events.push(ev);
        }
    }
    // A ripple that overlaps a real closure of the same eye (a tonic spasm
    // relaxing, a clonic burst) is part of that spasm, not myokymia.
    let ripples: Vec<Event> = myokymia
        .iter()
        .filter(|m| {
            let (t0, t1) = (detector.t(m.range.0), detector.t(m.range.1));
            !events
                .iter()
                .any(|e| e.is_spasm() && e.side.involves(m.side) && e.start_s < t1 && e.end_s > t0)
        })
        .map(|m| detector.myokymia_event(m))
        .collect();
    events.extend(ripples);
    events.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    events
}

/// A lower-lid ripple episode found by the spectral scan.
struct Ripple {
    side: Side,
    range: (usize, usize),
    freq_hz: f64,
}

struct Detector<'a> {
    signals: &'a Signals,
    config: &'a EventConfig,
    sc: &'a Scored,
    spectrum_cache: Option<(usize, Spectrum)>,
}

impl Detector<'_> {
    fn t(&self, k: usize) -> f64 {
        self.signals.time(k)
    }

    fn regions_involved(&self, side: usize, range: (usize, usize)) -> Vec<Region> {
        let other = 1 - side;
        let peak = |v: &[f32]| v[range.0..range.1].iter().copied().fold(0.0f32, f32::max);
        let activity = |s: usize, r: Region| {
            peak(&self.sc.speed[s][r.index()]).max(peak(&self.sc.deform[s][r.index()]))
        };
        let eye = activity(side, Region::UpperLid).max(activity(side, Region::LowerLid));
        Region::ALL
            .into_iter()
            .filter(|&r| {
                let own = activity(side, r);
                let clear = own >= self.config.z_region && own >= 1.5 * activity(other, r);
                if r.is_eye() {
                    return clear;
                }
                // Skin next to a closing eye is dragged along with it; a
                // region of its own moves at least a fifth as much as the eye.
                let own_motion = own >= 0.2 * eye;
                // The brow counts only when it lifts: the lid's closure drags
                // it down, the "other Babinski sign" raises it.
                let lifts = r != Region::Brow || self.brow_lifts(side, range);
                clear && own_motion && lifts
            })
            .collect()
    }

    /// Whether the brow's net motion in `range` is upwards (a lift) rather
    /// than downwards with the closing lid.
    fn brow_lifts(&self, side: usize, range: (usize, usize)) -> bool {
        let vy = &self.signals.vy[side][Region::Brow.index()];
        let dt = 1.0 / self.signals.rate as f32;
        let (mut y, mut up, mut down) = (0.0f32, 0.0f32, 0.0f32);
        for &v in &vy[range.0..range.1] {
            y += v * dt;
            up = up.min(y);
            down = down.max(y);
        }
        // 0.1 face units is 0.1 % of the interocular distance, about a
        // sixth of a pixel for a face 150 px across the eyes.
        -up >= 0.1 && -up > down
    }

    /// Peak displacement of the eye's skin (face units, i.e. percent of the
    /// interocular distance) on `side` within `range`.
    fn amplitude(&self, side: usize, range: (usize, usize)) -> f64 {
        let peak = |r: Region| {
            self.signals.deform[side][r.index()][range.0..range.1]
                .iter()
                .copied()
                .fold(0.0f32, f32::max)
        };
        peak(Region::UpperLid).max(peak(Region::LowerLid)) as f64
    }

    /// Peak aperture narrowing from landmarks (fraction of rest).
    fn closure(&self, side: usize, range: (usize, usize)) -> Option<f64> {
        let rest = self.sc.rest_aperture[side];
        if !(rest.is_finite() && rest > 0.0) {
            return None;
        }
        let min = self.signals.aperture[side][range.0..range.1]
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(f32::INFINITY, f32::min);
        min.is_finite()
            .then(|| (1.0 - min / rest).clamp(0.0, 1.0) as f64)
    }

    /// The eye's closure as a position-like signal: deformation of both
    /// lids. A twitch is one pulse of it, so its spectrum peaks at the
    /// repetition rate (a velocity would favour harmonics).
    fn eye_closure(&self, side: usize, range: (usize, usize), out: &mut Vec<f32>) {
        let up = &self.signals.deform[side][Region::UpperLid.index()];
        let lo = &self.signals.deform[side][Region::LowerLid.index()];
        out.clear();
        out.extend((range.0..range.1).map(|k| up[k] + lo[k]));
    }

    /// Longest stretch (s) in which the eye stays at least half as closed as
    /// at its peak: long for a tonic contraction, short between the
    /// twitches of a clonic burst.
    fn sustained_closure_s(&self, side: usize, range: (usize, usize)) -> f64 {
        let mut x = Vec::new();
        self.eye_closure(side, range, &mut x);
        let base = x.iter().copied().fold(f32::INFINITY, f32::min);
        let peak = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if peak <= base {
            return 0.0;
        }
        let half = base + 0.5 * (peak - base);
        let (mut best, mut run) = (0usize, 0usize);
        for &v in &x {
            if v >= half {
                run += 1;
                best = best.max(run);
            } else {
                run = 0;
            }
        }
        best as f64 / self.signals.rate
    }

    /// Repetition frequency of the eye's closures within `range`, if the
    /// event lasts long enough for a few cycles. `lower_lid_only` measures
    /// the lower lid's vertical motion instead (myokymia ripples).
    fn frequency(
        &mut self,
        side: usize,
        range: (usize, usize),
        lower_lid_only: bool,
    ) -> Option<f64> {
        let len = range.1 - range.0;
        let rate = self.signals.rate;
        if (len as f64) < 0.6 * rate {
            return None;
        }
        let mut x = Vec::with_capacity(len);
        if lower_lid_only {
            x.extend_from_slice(&self.signals.vy[side][Region::LowerLid.index()][range.0..range.1]);
        } else {
            self.eye_closure(side, range, &mut x);
        }
        let band = (self.config.band.0, self.config.band.1.min(0.45 * rate));
        let fft_len = 1024.max(len.next_power_of_two());
        let spectrum = match &mut self.spectrum_cache {
            Some((l, s)) if *l == len => s,
            cache => {
                *cache = Some((len, Spectrum::new(len, fft_len, rate, band)));
                &mut cache.as_mut().expect("just set").1
            }
        };
        let mut out = WindowSpectrum::default();
        spectrum.compute(&x, &mut out);
        if out.band_power <= 0.0 {
            return None;
        }
        let f = spectrum.repetition_hz(&out) as f64;
        Some(f)
    }

    fn unilateral_event(&mut self, side: Side, range: (usize, usize)) -> Event {
        let s = side.index();
        let rest = self.sc.rest_aperture[s];
        let rate = self.signals.rate;
        let narrowed = longest_narrowed_run(
            &self.signals.aperture[s],
            rest,
            self.config.narrowed_fraction,
            range,
        );
        let tonic = narrowed.is_some_and(|run| run as f64 / rate >= self.config.tonic_min_s)
            || self.sustained_closure_s(s, range) >= self.config.tonic_min_s;
        let kind = if tonic {
            EventKind::Tonic
        } else {
            EventKind::Clonic
        };
        let freq_hz = if tonic {
            None
        } else {
            self.frequency(s, range, false)
        };
        let mut regions = self.regions_involved(s, range);
        if !regions.iter().any(|r| r.is_eye()) {
            // The eye opened the segment; name the lid that moved most.
            let peak = |r: Region| {
                self.sc.speed[s][r.index()][range.0..range.1]
                    .iter()
                    .copied()
                    .fold(0.0f32, f32::max)
            };
            let lid = if peak(Region::UpperLid) >= peak(Region::LowerLid) {
                Region::UpperLid
            } else {
                Region::LowerLid
            };
            regions.push(lid);
            regions.sort();
        }
        Event {
            start_s: self.t(range.0),
            end_s: self.t(range.1),
            side: EventSide::from_side(side),
            kind,
            regions,
            freq_hz,
            amplitude: self.amplitude(s, range),
            closure: self.closure(s, range),
        }
    }

    fn bilateral_event(&mut self, range: (usize, usize), _active: &[Vec<bool>; 2]) -> Event {
        let rate = self.signals.rate;
        let dur = (range.1 - range.0) as f64 / rate;
        let amplitude = self.amplitude(0, range).max(self.amplitude(1, range));
        let closure = match (self.closure(0, range), self.closure(1, range)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if dur <= self.config.blink_max_s {
            return Event {
                start_s: self.t(range.0),
                end_s: self.t(range.1),
                side: EventSide::Bilateral,
                kind: EventKind::Blink,
                regions: vec![Region::UpperLid],
                freq_hz: None,
                amplitude,
                closure,
            };
        }
        let tonic = (0..2).all(|s| {
            longest_narrowed_run(
                &self.signals.aperture[s],
                self.sc.rest_aperture[s],
                self.config.narrowed_fraction,
                range,
            )
            .is_some_and(|run| run as f64 / rate >= self.config.tonic_min_s)
                || self.sustained_closure_s(s, range) >= self.config.tonic_min_s
        });
        let freq_hz = if tonic {
            None
        } else {
            self.frequency(0, range, false)
        };
        let mut regions: Vec<Region> = self.regions_involved(0, range);
        regions.extend(self.regions_involved(1, range));
        regions.push(Region::UpperLid);
        regions.sort();
        regions.dedup();
        Event {
            start_s: self.t(range.0),
            end_s: self.t(range.1),
            side: EventSide::Bilateral,
            kind: if tonic {
                EventKind::Tonic
            } else {
                EventKind::Clonic
            },
            regions,
            freq_hz,
            amplitude,
            closure,
        }
    }

    /// Scans each lower lid for a narrow-band ripple in the myokymia range
    /// (3–8 Hz) that the other lower lid does not share.
    fn myokymia_episodes(&self) -> Vec<Ripple> {
        let rate = self.signals.rate;
        let n = self.signals.len();
        let len = (2.0 * rate).round() as usize;
        let hop = (0.5 * rate).round().max(1.0) as usize;
        if n < len {
            return Vec::new();
        }
        let band = (3.0, 8.0f64.min(0.45 * rate));
        let mut spectrum = Spectrum::new(len, 256.max(len.next_power_of_two()), rate, band);
        let lo = Region::LowerLid.index();
        let up = Region::UpperLid.index();
        let mut out = Vec::new();
        let starts: Vec<usize> = window_starts(n, len, hop).collect();
        let mut ws = WindowSpectrum::default();
        // Per side and window: band power, peak share, peak frequency.
        let mut table = [Vec::new(), Vec::new()];
        let mut wu = WindowSpectrum::default();
        for (s, rows) in table.iter_mut().enumerate() {
            for &k in &starts {
                spectrum.compute(&self.signals.vy[s][lo][k..k + len], &mut ws);
                spectrum.compute(&self.signals.vy[s][up][k..k + len], &mut wu);
                rows.push((ws.band_power, ws.peak_share, ws.dominant_hz, wu.band_power));
            }
        }
        let mut scratch = Vec::new();
        for s in 0..2 {
            // Noise floor of lower-lid band power: the 10th percentile over
            // both sides (ripple episodes can fill half of one side's
            // recording, so its own median is no floor).
            scratch.clear();
            scratch.extend(table.iter().flatten().map(|w| w.0));
            let q = scratch.len() / 10;
            let floor = *scratch.select_nth_unstable_by(q, |a, b| a.total_cmp(b)).1;
            let other: Vec<f32> = table[1 - s].iter().map(|w| w.0).collect();
            let eye_open: Vec<bool> = starts
                .iter()
                .map(|&k| {
                    let d = &self.sc.deform[s][up][k..k + len];
                    d.iter().sum::<f32>() / (len as f32) < self.config.z_off
                })
                .collect();
            let flags: Vec<bool> = table[s]
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    // Well above the floor, narrow-band, stronger than the
                    // other lower lid and than its own upper lid, with the
                    // eye open (a blink or closure moves the upper lid most
                    // and narrows the eye).
                    w.0 >= MYOKYMIA_SNR * floor
                        && w.1 >= 0.6
                        && w.0 >= 4.0 * other[i]
                        && w.0 >= 3.0 * w.3
                        && eye_open[i]
                })
                .collect();
            let min_windows = ((self.config.myokymia_min_s - 2.0) * rate / hop as f64)
                .ceil()
                .max(0.0) as usize
                + 1;
            for (a, b) in segments(&flags, 1) {
                if b - a < min_windows {
                    continue;
                }
                let mut freqs: Vec<f32> = table[s][a..b].iter().map(|w| w.2).collect();
                let freq = crate::spectral::median(&freqs, &mut scratch) as f64;
                freqs.clear();
                out.push(Ripple {
                    side: Side::BOTH[s],
                    range: (starts[a], (starts[b - 1] + len).min(n)),
                    freq_hz: freq,
                });
            }
        }
        out
    }

    fn myokymia_event(&self, ripple: &Ripple) -> Event {
        let s = ripple.side.index();
        let mut regions = self.regions_involved(s, ripple.range);
        if !regions.contains(&Region::LowerLid) {
            regions.push(Region::LowerLid);
            regions.sort();
        }
        Event {
            start_s: self.t(ripple.range.0),
            end_s: self.t(ripple.range.1),
            side: EventSide::from_side(ripple.side),
            kind: EventKind::Myokymia,
            regions,
            freq_hz: Some(ripple.freq_hz),
            amplitude: self.amplitude(s, ripple.range),
            closure: self.closure(s, ripple.range),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: f64 = 30.0;

    /// Quiet signals with a little deterministic noise.
    fn quiet(seconds: f64) -> Signals {
        let n = (seconds * RATE) as usize;
        let mut state = 12345u64;
        let mut noise = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state % 1000) as f32 / 1000.0 - 0.5) * 2.0
        };
        let mut s = Signals {
            rate: RATE,
            t0: 0.0,
            valid: vec![true; n],
            ..Signals::default()
        };
        for side in 0..2 {
            for r in 0..Region::COUNT {
                s.speed[side][r] = (0..n).map(|_| 3.0 + noise()).collect();
                s.vy[side][r] = (0..n).map(|_| noise()).collect();
                s.deform[side][r] = (0..n).map(|_| 0.3 + 0.05 * noise()).collect();
            }
            s.aperture[side] = (0..n).map(|_| 0.3 + 0.005 * noise()).collect();
        }
        s
    }

    /// Eyelid closures on `sides`: `closure(t)` in 0..1 drives speed,
    /// velocity, deformation and aperture of the lids (and `extra` regions).
    fn add_closure(
        s: &mut Signals,
        sides: &[Side],
        t0: f64,
        t1: f64,
        closure: impl Fn(f64) -> f64,
        extra: &[Region],
    ) {
        let k0 = (t0 * RATE) as usize;
        let k1 = ((t1 * RATE) as usize).min(s.len());
        for &side in sides {
            let i = side.index();
            for k in k0..k1 {
                let t = k as f64 / RATE;
                let c = closure(t - t0);
                let dc = (closure(t - t0 + 1.0 / RATE) - c) * RATE;
                let mut regions = vec![Region::UpperLid, Region::LowerLid];
                regions.extend_from_slice(extra);
                for r in regions {
                    s.speed[i][r.index()][k] += (40.0 * dc.abs()) as f32;
                    s.deform[i][r.index()][k] += (3.0 * c) as f32;
                }
                s.vy[i][Region::UpperLid.index()][k] += (30.0 * dc) as f32;
                s.vy[i][Region::LowerLid.index()][k] -= (5.0 * dc) as f32;
                s.aperture[i][k] = (0.3 * (1.0 - 0.95 * c)) as f32;
            }
        }
    }

    fn blink(t: f64) -> f64 {
        // ~250 ms closing and opening.
        (std::f64::consts::PI * t / 0.25).sin().max(0.0)
    }

    fn clonic(freq: f64) -> impl Fn(f64) -> f64 {
        move |t| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * freq * t).cos()
    }

    fn tonic(len: f64) -> impl Fn(f64) -> f64 {
        move |t| ((t / 0.15).min(1.0)).min(((len - t) / 0.15).max(0.0))
    }

    #[test]
    fn blinks_are_counted_not_spasm() {
        let mut s = quiet(30.0);
        for t in [3.0, 9.0, 15.0, 22.0] {
            add_closure(&mut s, &Side::BOTH, t, t + 0.25, blink, &[]);
        }
        let ev = detect_events(&s, &EventConfig::default());
        let blinks = ev.iter().filter(|e| e.kind == EventKind::Blink).count();
        assert_eq!(blinks, 4, "{ev:#?}");
        assert!(ev.iter().all(|e| !e.is_spasm()), "{ev:#?}");
    }

    #[test]
    fn unilateral_clonic_burst_has_side_and_frequency() {
        let mut s = quiet(30.0);
        add_closure(&mut s, &[Side::Left], 10.0, 11.5, clonic(5.0), &[]);
        add_closure(&mut s, &Side::BOTH, 20.0, 20.25, blink, &[]);
        let ev = detect_events(&s, &EventConfig::default());
        let spasms: Vec<&Event> = ev.iter().filter(|e| e.is_spasm()).collect();
        assert_eq!(spasms.len(), 1, "{ev:#?}");
        let e = spasms[0];
        assert_eq!(e.side, EventSide::Left);
        assert_eq!(e.kind, EventKind::Clonic);
        assert!(
            (e.start_s - 10.0).abs() < 0.3 && (e.end_s - 11.5).abs() < 0.3,
            "{e:?}"
        );
        let f = e.freq_hz.expect("frequency");
        assert!((f - 5.0).abs() < 0.5, "freq {f}");
        assert_eq!(ev.iter().filter(|e| e.kind == EventKind::Blink).count(), 1);
    }

    #[test]
    fn sustained_closure_is_tonic_with_regions() {
        let mut s = quiet(30.0);
        add_closure(
            &mut s,
            &[Side::Right],
            5.0,
            7.5,
            tonic(2.5),
            &[Region::Cheek, Region::MouthCorner],
        );
        let ev = detect_events(&s, &EventConfig::default());
        let spasms: Vec<&Event> = ev.iter().filter(|e| e.is_spasm()).collect();
        assert_eq!(spasms.len(), 1, "{ev:#?}");
        let e = spasms[0];
        assert_eq!(e.side, EventSide::Right);
        assert_eq!(e.kind, EventKind::Tonic);
        assert!(e.regions.contains(&Region::Cheek) && e.regions.contains(&Region::MouthCorner));
        assert!(!e.regions.contains(&Region::Brow));
        assert!(e.closure.unwrap() > 0.8);
        assert!(e.amplitude > 1.0);
    }

    #[test]
    fn long_symmetric_closure_is_bilateral_not_blink() {
        let mut s = quiet(30.0);
        add_closure(&mut s, &Side::BOTH, 12.0, 14.0, tonic(2.0), &[Region::Brow]);
        let ev = detect_events(&s, &EventConfig::default());
        assert_eq!(ev.len(), 1, "{ev:#?}");
        assert_eq!(ev[0].side, EventSide::Bilateral);
        assert_eq!(ev[0].kind, EventKind::Tonic);
    }

    #[test]
    fn lower_lid_ripple_is_myokymia() {
        let mut s = quiet(40.0);
        let (k0, k1) = ((10.0 * RATE) as usize, (16.0 * RATE) as usize);
        let lo = Region::LowerLid.index();
        for k in k0..k1 {
            let t = k as f64 / RATE;
            let v = (2.0 * std::f64::consts::PI * 6.0 * t).cos() as f32;
            s.vy[Side::Right.index()][lo][k] += 15.0 * v;
            s.speed[Side::Right.index()][lo][k] += 15.0 * v.abs();
        }
        let ev = detect_events(&s, &EventConfig::default());
        let my: Vec<&Event> = ev
            .iter()
            .filter(|e| e.kind == EventKind::Myokymia)
            .collect();
        assert_eq!(my.len(), 1, "{ev:#?}");
        assert_eq!(my[0].side, EventSide::Right);
        assert!((my[0].freq_hz.unwrap() - 6.0).abs() < 0.5);
        assert!(my[0].start_s < 11.0 && my[0].end_s > 15.0);
        assert!(
            ev.iter()
                .filter(|e| e.is_spasm())
                .all(|e| e.kind == EventKind::Myokymia),
            "{ev:#?}"
        );
    }

    #[test]
    fn quiet_recording_has_no_events() {
        let s = quiet(60.0);
        assert!(detect_events(&s, &EventConfig::default()).is_empty());
    }
}
