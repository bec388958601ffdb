//! Events: blinks, twitches, spasms and myokymia from per-frame signals.
//!
//! The detector works on a recording's uniformly sampled signals
//! ([`Signals`]): each eye's aperture from the eye model, each region's
//! motion relative to the head from pixels, and the head's own speed. Its
//! rules, and why each is there:
//!
//! 1. **Closure, relative to this person.** Each eye's closure is `1 −
//!    aperture / open`, where `open` is the eye's own open aperture (a high
//!    percentile over the recording: eyes are open most of the time). Faces,
//!    eye shapes and glasses differ; a closure of 0.3 means "30 % narrower
//!    than this eye is when open", whoever it is.
//! 2. **Blinks are both eyes together, and brief.** Both closures above
//!    [`EventConfig::blink_closure`] at once open a blink; up to
//!    [`EventConfig::blink_max_s`] it is a blink, counted and never a spasm
//!    (a normal blink is ≤ 0.5 s). Real blinks are not perfectly
//!    symmetric: one eye can lead by a frame and close less deeply, which is
//!    why the threshold is on both eyes and not on their difference.
//! 3. **Long symmetric closures, or both eyes twitching together, are
//!    bilateral spasm.** Both eyes shut for at least
//!    [`EventConfig::bilateral_min_s`] (blepharospasm, a bilateral tonic
//!    contraction); between a blink and that, nothing is reported: a slow
//!    blink or a glance down is not a spasm. Both eyes' lids twitching in the
//!    spasm band (rule 5's energy against the lower lid: against the
//!    surroundings, the brows of a person talking, which bob together, would
//!    read as both eyes twitching) at [`EventConfig::bilateral_energy`]
//!    times the typical activity, within [`EventConfig::bilateral_balance`]
//!    of each other, for [`EventConfig::bilateral_clonic_min_s`], and in
//!    step, is a bilateral clonic burst: the two eyes' twitch signals must
//!    correlate by [`EventConfig::bilateral_sync`] over the burst (a frame's
//!    shift allowed, [`BILATERAL_LAG_S`]). One brainstem drives both eyes
//!    in blepharospasm, so its twitches are synchronous; a person talking
//!    with a moving head shakes both sides of the face at once, but not in
//!    step (0.4–0.84 on the real-face negatives, against 0.94 and more on
//!    bursts drawn onto the same faces). Blinks are masked out of that
//!    energy, so a flurry of normal blinks is not a burst either. Brief
//!    closures of both eyes repeating faster than anyone blinks
//!    ([`BLINK_TRAIN`] starting under [`BLINK_TRAIN_GAP_S`] apart) are a
//!    bilateral clonic burst too, full closures anywhere and partial ones
//!    while the head is still ([`EventConfig::train_still_head_speed`]):
//!    blepharospasm's twitches need not shut the eyes, and their narrowing
//!    is masked out of the energy as shallow blinks; but a head turning or
//!    bobbing quickly dips both apertures together. A closure too long for
//!    a blink whose full closures lie [`DOUBLE_BLINK_GAP_S`] apart or more
//!    is a double blink (the lids half-open between two blinks, common on
//!    real faces), counted as two.
//! 4. **A tonic spasm is one eye held narrower than the other.** The
//!    closure of one eye exceeds the other's by
//!    [`EventConfig::tonic_asymmetry`] for [`EventConfig::tonic_min_s`].
//!    Comparing the eyes cancels what both do together (looking down,
//!    squinting at a light, a laugh). The stretch is tonic when the eye
//!    narrows once, however much it wavers, and clonic when it narrows and
//!    reopens at least three times, at least halfway each time or, for
//!    narrowings as brief as twitches ([`TWITCH_MAX_S`]), below 60% of the
//!    threshold (blinks left out: both eyes shut, the difference dips
//!    without the eye reopening). A held squeeze on a real face is never
//!    steady, so "stays narrowed throughout" would call it a burst; and on
//!    a moving face the eye model reads a held closure wavering by more
//!    than the threshold, which alone would count it as twitches.
//! 5. **A clonic burst is one eye's lids twitching while the other's do
//!    not.** The upper lid's closing velocity (downward, from pixels, every
//!    frame) is taken against two references, each band-passed to the spasm
//!    band (2–12 Hz: brief twitches repeating, not slow expressions): the
//!    skin around the lid (the brow above and the lower lid below,
//!    interpolated to where the lid lies between them), and the lower lid
//!    alone. Either cancels what moves the eye area as a whole, and each
//!    keeps what the other loses: a twitch that drags the skin below the
//!    eye along with the lid cancels against the lower lid but not against
//!    the surroundings; the brow of an expressive face, bobbing as the
//!    person talks, enters the surroundings but not the lower lid. Against
//!    each reference the twitch energy over half a second is compared
//!    between the eyes and with the recording's typical lid activity; a
//!    burst needs one eye at least [`EventConfig::clonic_asymmetry`] times
//!    the other and [`EventConfig::clonic_energy`] times the typical
//!    activity, for [`EventConfig::clonic_min_s`] (a burst, several
//!    twitches), and a burst against either reference is a burst. Blinks
//!    are taken out of these signals first (interpolated over), so a blink
//!    inside a burst does not make it two-sided, and the burst's pieces
//!    either side of a blink are one burst ([`BurstGaps`]); not so either
//!    side of a longer closure of both eyes, a laugh's, say.
//! 6. **Myokymia is a ripple of one lower lid.** Over 2 s windows, either
//!    the lower lid's vertical velocity has a clear peak at 3–8 Hz,
//!    [`EventConfig::myokymia_snr`] above the recording's quiet level and
//!    [`EventConfig::myokymia_asymmetry`] times the other lower lid's; or its
//!    tilt ([`Signals::tilt`]: one end moving down while the other moves up)
//!    has such a peak, [`EventConfig::myokymia_tilt_snr`] above its quiet
//!    level and as lopsided, and keeps one rhythm over the whole stretch
//!    ([`EventConfig::myokymia_tilt_peak_share`] of its power in one peak of
//!    the stretch's own spectrum); both for [`EventConfig::myokymia_min_s`].
//!    Or the lower lid's residual speed (what is left after its translation:
//!    the skin moving unevenly) is [`EventConfig::myokymia_residual_ratio`]
//!    times the other lower lid's for
//!    [`EventConfig::myokymia_residual_min_s`]. The tilt and the residual
//!    speed are there because a ripple travels along the lid: its crests and
//!    troughs move opposite ways at once, so the lid's mean velocity nearly
//!    cancels, while the lid tilts to the ripple's rate and its residual
//!    speed stays up the whole episode. The tilt keeps the ripple's sign, so
//!    its rhythm can be told from the irregular motion of talking, which
//!    the residual speed, a magnitude, cannot; a head rolling tilts both
//!    lids alike. Comparing the two lower lids at the same moment cancels what
//!    moves both (talking, a head turn, lighting, compression); a one-sided
//!    smile or squint is slow, and raises the lid as a whole (translation,
//!    not residual; [`Signals::ripple`] is the speed left once the lid's
//!    own translation is fitted out, so a lid sliding as a whole in speech
//!    adds little). A window where a blink or a quick head motion hid the
//!    lid is not judged; between two rippling windows it counts as
//!    rippling, since the ripple went on underneath. A ripple overlapping a
//!    twitch or a spasm of the same eye belongs to that spasm; the other
//!    way round, a clonic burst on a ripple is the ripple itself when its
//!    lower lid moves more than its upper lid and the eye does not narrow
//!    twitch by twitch (rule 4's prominent narrowings, three or more, not
//!    its brief held stretches): a ripple leaves the eye open, while a
//!    twitch closes it, however far it drags the lower lid along. A lid
//!    rippling upwards narrows the eye a little, and on an eye narrower
//!    than the other to begin with that crosses rule 4's threshold now and
//!    then; a burst crosses it at every twitch.
//! 7. **Fast head motion is no evidence.** Pixels of a face turning or
//!    bobbing quickly are blurred and foreshortened; no event starts while
//!    the head moves faster than [`EventConfig::max_head_speed`]. How much
//!    of a recording that was is reported ([`head_moving_fraction`]): on a
//!    face bobbing most of the time, "no spasm" means little.
//! 8. **One event per episode.** Pieces of spasm on the same side closer than
//!    [`EventConfig::merge_gap_s`] are one event; if any part was a sustained
//!    closure, the event is tonic.
//!
//! The regions an event involves, its frequency, amplitude and closure are
//! then measured within it. A clonic burst's frequency is its twitch rate:
//! counted from the eye's closure peaks where the twitches stand out as
//! separate, evenly spaced peaks, from the spectrum of the lids' velocity
//! where they do not (merged or faint twitches). A ripple's is the peak of
//! its lower lid's velocity and tilt spectra together, within 3–8 Hz.

use ndarray::{Array3, s};
use serde::{Deserialize, Serialize};

use crate::regions::{Region, Side};
use crate::spectral::{
    Spectrum, WindowSpectrum, band_pass, percentile, robust_stats, window_starts,
};

/// Uniformly sampled signals of a whole recording. The per-region
/// quantities are `[side, region, sample]` arrays (sides in [`Side::index`]
/// order, regions in [`Region::index`] order); each side's region is one
/// contiguous row ([`Signals::row`]).
#[derive(Clone, Debug)]
pub struct Signals {
    /// Sample rate (Hz) and time of sample 0 (s).
    pub rate: f64,
    pub t0: f64,
    /// Residual speed (face units / s).
    pub speed: Array3<f32>,
    /// Vertical velocity relative to the head (face units / s).
    pub vy: Array3<f32>,
    /// Deviation from the resting appearance (face units).
    pub deform: Array3<f32>,
    /// Speed left after each region's own translation (face units / s).
    pub ripple: Array3<f32>,
    /// How much faster each region's outer end moves down than its centre
    /// (face units / s): a ripple along a lid, signed.
    pub tilt: Array3<f32>,
    /// `[side]` eyelid aperture from the eye model (gap / eye width), NaN
    /// where unknown.
    pub aperture: [Vec<f32>; 2],
    /// Whether the eye model read the eyes at each sample; between its
    /// readings (it skips frames of still lids) the apertures are
    /// interpolated, and interpolated steps say nothing of the readings'
    /// jitter.
    pub eyes_read: Vec<bool>,
    /// The head's speed (face units / s).
    pub head_speed: Vec<f32>,
    /// Whether a face was measured at each sample.
    pub valid: Vec<bool>,
}

impl Default for Signals {
    fn default() -> Signals {
        Signals::zeros(0.0, 0.0, 0)
    }
}

impl Signals {
    /// `n` samples at `rate` from `t0`: regions still, apertures unknown,
    /// no face measured.
    pub fn zeros(rate: f64, t0: f64, n: usize) -> Signals {
        let per_region = || Array3::zeros((2, Region::COUNT, n));
        Signals {
            rate,
            t0,
            speed: per_region(),
            vy: per_region(),
            deform: per_region(),
            ripple: per_region(),
            tilt: per_region(),
            aperture: [vec![f32::NAN; n], vec![f32::NAN; n]],
            eyes_read: vec![true; n],
            head_speed: vec![0.0; n],
            valid: vec![false; n],
        }
    }

    /// One side's and region's samples of a `[side, region, sample]`
    /// quantity.
    pub fn row(quantity: &Array3<f32>, side: usize, region: usize) -> &[f32] {
        quantity
            .slice(s![side, region, ..])
            .to_slice()
            .expect("a row of a standard-layout array is contiguous")
    }

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
    /// A normal blink: both eyes, short. Never a spasm.
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
    /// As shown to people: "patient's left", "patient's right", "both sides".
    pub fn patient_label(self) -> &'static str {
        match self {
            EventSide::Left => Side::Left.patient_label(),
            EventSide::Right => Side::Right.patient_label(),
            EventSide::Bilateral => "both sides",
        }
    }

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
    /// Peak narrowing of the eyelid aperture from the eye model, as a
    /// fraction of the eye's open aperture (0 = none, 1 = shut); `None`
    /// when the aperture was not measured.
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

/// Thresholds of the detector (see the module documentation for the rule
/// each one belongs to). Closures are fractions of the eye's own open
/// aperture; energies are ratios to the recording's own typical activity,
/// so they carry over between cameras and faces.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventConfig {
    /// Percentile of an eye's aperture over the recording taken as "open".
    pub open_percentile: f32,
    /// Closure of both eyes that makes a blink frame.
    pub blink_closure: f32,
    /// Longest blink, seconds.
    pub blink_max_s: f64,
    /// Both eyes closed by this fraction of `blink_closure` are masked out
    /// of the twitch energy as (shallow) blinks.
    pub blink_mask_fraction: f32,
    /// Shortest bilateral (both-eye) tonic closure, seconds.
    pub bilateral_min_s: f64,
    /// Both eyes' twitch energy over the typical activity that makes a
    /// bilateral clonic burst (their ratio below `bilateral_balance`).
    pub bilateral_energy: f32,
    pub bilateral_balance: f32,
    /// Shortest bilateral clonic burst, seconds.
    pub bilateral_clonic_min_s: f64,
    /// Correlation of the two eyes' twitch signals over a bilateral clonic
    /// burst, at least: blepharospasm's twitches are synchronous.
    pub bilateral_sync: f32,
    /// Head speed (face units / s) at most, for partial closures of both
    /// eyes to count in a train of twitches (rule 3): with the head moving,
    /// blur and foreshortening narrow both eyes' apertures together.
    pub train_still_head_speed: f32,
    /// How much more one eye must be closed than the other (closure
    /// difference) for a tonic spasm.
    pub tonic_asymmetry: f32,
    /// The narrowed eye's own closure, at least.
    pub tonic_min_closure: f32,
    /// The closure difference must also exceed this many times its
    /// frame-to-frame jitter: a small or blurred face gives a noisy eye
    /// model, and noise must not read as narrowing.
    pub tonic_jitter_factor: f32,
    /// Shortest tonic spasm, seconds.
    pub tonic_min_s: f64,
    /// Longest rise of a one-sided narrowing, seconds: a spasm contracts
    /// in a moment, a smirk or a one-eyed squint builds up slowly.
    pub tonic_onset_max_s: f64,
    /// Window of the lids' twitch energy, seconds.
    pub energy_window_s: f64,
    /// One eye's twitch energy over the other's that opens a clonic burst.
    pub clonic_asymmetry: f32,
    /// ... and that keeps it open.
    pub clonic_asymmetry_hold: f32,
    /// Twitch energy over the recording's typical lid activity, to open
    /// and to keep a burst.
    pub clonic_energy: f32,
    pub clonic_energy_hold: f32,
    /// The twitching eye's lid energy at least (face units / s): below it,
    /// what moves is noise (sensor noise, flicker, compression), however
    /// lopsided.
    pub clonic_min_energy: f32,
    /// Gaps shorter than this inside a burst are bridged, seconds.
    pub clonic_gap_s: f64,
    /// Shortest clonic burst, seconds.
    pub clonic_min_s: f64,
    /// Lower-lid ripple power over the quiet level.
    pub myokymia_snr: f32,
    /// Share of the 3–8 Hz power in the ripple's peak.
    pub myokymia_peak_share: f32,
    /// Ripple power over the other lower lid's.
    pub myokymia_asymmetry: f32,
    /// One lower lid's residual (non-translational) speed over the other's
    /// that marks a ripple travelling along it.
    pub myokymia_residual_ratio: f32,
    /// The lower lid's tilt power over its quiet level, and the share of
    /// its 3–8 Hz power in the peak, that mark a ripple travelling along it.
    /// The share is higher than the velocity's: a lid tilts irregularly
    /// with every one-sided expression, and only a rhythm has one peak.
    pub myokymia_tilt_snr: f32,
    pub myokymia_tilt_peak_share: f32,
    /// Shortest myokymia episode, seconds: seen as a spectral peak of the
    /// velocity or of the tilt (the windows' span), or as residual speed
    /// (the raised stretch itself).
    pub myokymia_min_s: f64,
    pub myokymia_residual_min_s: f64,
    /// Head speed (face units / s) above which no event starts.
    pub max_head_speed: f32,
    /// Same-side pieces of spasm closer than this are one event, seconds.
    pub merge_gap_s: f64,
    /// Activity (robust z) that makes a region count as involved.
    pub z_region: f32,
    /// Spasm band, Hz.
    pub band: (f64, f64),
}

impl Default for EventConfig {
    fn default() -> Self {
        EventConfig {
            open_percentile: 90.0,
            blink_closure: 0.4,
            blink_max_s: 0.5,
            blink_mask_fraction: 0.5,
            bilateral_min_s: 1.2,
            bilateral_energy: 2.0,
            bilateral_balance: 2.0,
            bilateral_clonic_min_s: 1.0,
            bilateral_sync: 0.9,
            train_still_head_speed: 40.0,
            tonic_asymmetry: 0.15,
            tonic_min_closure: 0.1,
            tonic_jitter_factor: 4.0,
            tonic_min_s: 1.0,
            tonic_onset_max_s: 0.6,
            energy_window_s: 0.5,
            clonic_asymmetry: 2.8,
            clonic_asymmetry_hold: 1.5,
            clonic_energy: 1.0,
            clonic_energy_hold: 1.25,
            clonic_min_energy: 5.0,
            clonic_gap_s: 0.2,
            clonic_min_s: 0.7,
            myokymia_snr: 12.0,
            myokymia_peak_share: 0.5,
            myokymia_asymmetry: 6.0,
            myokymia_residual_ratio: 1.7,
            myokymia_tilt_snr: 6.0,
            myokymia_tilt_peak_share: 0.6,
            myokymia_min_s: 3.0,
            myokymia_residual_min_s: 2.0,
            max_head_speed: 100.0,
            merge_gap_s: 0.3,
            z_region: 6.0,
            band: (2.0, 12.0),
        }
    }
}

/// How far apart (seconds) the two eyes' twitches may fall and still be
/// together: a frame at 30 fps. The two sides' lids are driven by one
/// brainstem; in blinks the eyes lead each other by a frame at most.
const BILATERAL_LAG_S: f64 = 0.035;

/// How far either side of a closure of both eyes its motion is kept out of
/// the twitch energy (seconds): a blink's lids are still settling.
const BLINK_MASK_MARGIN_S: f64 = 0.1;

/// Brief closures of both eyes this many in a row, each starting less than
/// BLINK_TRAIN_GAP_S after the one before, are a clonic burst, not blinks:
/// people do not blink two and a half times a second.
const BLINK_TRAIN: usize = 3;
const BLINK_TRAIN_GAP_S: f64 = 0.4;

/// Two full closures of both eyes whose closed parts are at least this far
/// apart (seconds) are two blinks, even if the lids did not open fully in
/// between: a blink's closed phase lasts about a tenth of a second, so a
/// closure that wavers around the blink level parts for a frame or two, not
/// for this long.
const DOUBLE_BLINK_GAP_S: f64 = 0.15;

/// Separate narrowings that make a one-eyed stretch clonic (rule 4): a
/// burst is several twitches; a held closure wavers, but as one.
const CLONIC_MIN_TWITCHES: usize = 3;

/// Longest narrowing that is one twitch, seconds (rule 4): a clonic
/// contraction is brief, like a blink; one held longer is the eye held.
const TWITCH_MAX_S: f64 = 0.5;

/// Where the upper lid's region lies between the brow's and the lower
/// lid's, as a fraction of the way down (0.55-0.66 on the real faces we
/// have seen, from the layout fitted to each). Rule 5's first reference is
/// the skin around the upper lid, interpolated to the lid: a motion the
/// brow and the lower lid share, or one that grows steadily from brow to
/// cheek (the residue of a head motion, skin sliding over the face),
/// cancels; a lid closing over the eye does not, whether the lower lid
/// goes up to meet it or is dragged down a little with it.
const UPPER_LID_DEPTH: f32 = 0.6;

/// Fastest twitch rate the peak counting resolves (Hz): the spasm band's top.
const MAX_TWITCH_HZ: f64 = 12.0;

/// A burst's twitch peaks count as evenly spaced when the middle half of
/// their intervals spans at most this fraction of the median interval.
/// Twitches wander by a tenth of the period or so, which moves an interval
/// by up to twice that; a missed or a spurious peak makes intervals of half
/// or double the median, which spreads them by 0.5 and more.
const EVEN_SPACING: f64 = 0.3;

/// Where a burst's energy has fallen below this fraction of its peak, the
/// burst is over: the band-pass and the energy window smear a burst's
/// edges, and a quiet recording would let the smear count as twitching.
const BURST_EDGE: f32 = 0.15;

/// `range` without the ends where `x` is below `fraction` of its peak.
fn trim_to_peak(x: &[f32], range: (usize, usize), fraction: f32) -> (usize, usize) {
    let peak = x[range.0..range.1].iter().copied().fold(0.0f32, f32::max);
    let level = fraction * peak;
    let start = (range.0..range.1)
        .find(|&k| x[k] >= level)
        .unwrap_or(range.0);
    let end = (start..range.1)
        .rev()
        .find(|&k| x[k] >= level)
        .map_or(range.1, |k| k + 1);
    (start, end)
}

/// How long `x` took to rise from a third of `level` to `level` at the
/// start of `range` (seconds; 0 if it starts above).
fn rise_s(x: &[f32], range: (usize, usize), level: f32, rate: f64) -> f64 {
    let Some(top) = (range.0..range.1).find(|&k| x[k] > level) else {
        return 0.0;
    };
    let low = (0..=top).rev().find(|&k| x[k] < level / 3.0).unwrap_or(0);
    (top - low) as f64 / rate
}

/// The separate narrowings of one eye against the other in `diff` (rule 4):
/// peaks at least `threshold` above what lies between them and the
/// neighbouring higher ones, and reopening at least halfway from each (a
/// peak's prominence at least half its height). A held closure that wavers
/// dips by the threshold now and then without reopening (a face moving,
/// the eye model's jitter); a twitch reopens the eye.
fn narrowings(diff: &[f32], threshold: f32, min_gap: usize) -> usize {
    peaks_where(diff, min_gap, |k| {
        let prominence = peak_prominence(diff, k);
        prominence >= threshold && prominence >= 0.5 * diff[k]
    })
    .len()
}

/// How far the local maximum of `x` at `k` stands above the higher of the
/// lowest points between it and the next higher sample on either side.
fn peak_prominence(x: &[f32], k: usize) -> f32 {
    let base = |range: &mut dyn Iterator<Item = usize>| {
        let mut low = x[k];
        for j in range {
            if x[j] > x[k] {
                break;
            }
            low = low.min(x[j]);
        }
        low
    };
    let left = base(&mut (0..k).rev());
    let right = base(&mut (k + 1..x.len()));
    x[k] - left.max(right)
}

/// Positions (fractional samples, refined by a parabola through the top
/// three) of the peaks of `x` that stand at least `prominence` above the
/// higher of the lowest points between them and the next higher sample on
/// either side, at least `min_gap` samples apart (the earlier one kept).
/// The ends of `x` are never peaks: what lies beyond them is unknown.
fn prominent_peaks(x: &[f32], prominence: f32, min_gap: usize) -> Vec<f64> {
    peaks_where(x, min_gap, |k| peak_prominence(x, k) >= prominence)
}

/// Positions (as [`prominent_peaks`]) of the local maxima of `x` at which
/// `stands` holds, at least `min_gap` samples apart (the earlier one kept).
fn peaks_where(x: &[f32], min_gap: usize, stands: impl Fn(usize) -> bool) -> Vec<f64> {
    let m = x.len();
    let mut peaks: Vec<f64> = Vec::new();
    for k in 1..m.saturating_sub(1) {
        if !(x[k] >= x[k - 1] && x[k] > x[k + 1] && stands(k)) {
            continue;
        }
        let (a, b, c) = (x[k - 1], x[k], x[k + 1]);
        let curvature = a - 2.0 * b + c;
        let offset = if curvature.abs() > 1e-12 {
            (0.5 * (a - c) / curvature).clamp(-0.5, 0.5) as f64
        } else {
            0.0
        };
        let at = k as f64 + offset;
        if peaks.last().is_some_and(|&p| at - p < min_gap as f64) {
            continue;
        }
        peaks.push(at);
    }
    peaks
}

/// Half-open sample ranges where `active` holds.
fn segments(active: &[bool]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
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
        out.push((start, k));
    }
    out
}

/// Closures of both eyes (`ranges`, at the shallow level) too long for one
/// blink and too short for a bilateral spasm, split where their full
/// closures (`deep`) are at least `gap` samples apart: a double blink, the
/// lids half-opening between two blinks. Each part keeps the shallow
/// stretch up to the middle of the gap. Other closures stay whole.
fn split_double_blinks(
    ranges: Vec<(usize, usize)>,
    deep: &[bool],
    blink_max: usize,
    bilateral_min: usize,
    gap: usize,
) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(ranges.len());
    for range in ranges {
        let len = range.1 - range.0;
        if len <= blink_max || len >= bilateral_min {
            out.push(range);
            continue;
        }
        let closed: Vec<(usize, usize)> = segments(&deep[range.0..range.1])
            .into_iter()
            .map(|(a, b)| (range.0 + a, range.0 + b))
            .collect();
        let mut start = range.0;
        for pair in closed.windows(2) {
            if pair[1].0 - pair[0].1 >= gap {
                let cut = (pair[0].1 + pair[1].0) / 2;
                out.push((start, cut));
                start = cut;
            }
        }
        out.push((start, range.1));
    }
    out
}

/// Ranges closer than `gap` samples joined.
fn bridge(ranges: Vec<(usize, usize)>, gap: usize) -> Vec<(usize, usize)> {
    bridge_where(ranges, |last, next| next.0 <= last.1 + gap)
}

/// Ranges (in order) joined where `joins(last, next)` says the gap between
/// them does not part them.
fn bridge_where(
    ranges: Vec<(usize, usize)>,
    joins: impl Fn(&(usize, usize), &(usize, usize)) -> bool,
) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if joins(last, &r) => last.1 = last.1.max(r.1),
            _ => out.push(r),
        }
    }
    out
}

/// How the pieces of a burst of twitches are joined: across gaps of at
/// most `seen` samples, not counting what blinks hid (`keep` false and
/// `blinked`). A blink, or two, is no gap in a burst, which went on
/// underneath; a face screwed up for a second (a laugh) is: what its lids
/// did meanwhile is not known.
struct BurstGaps<'a> {
    seen: usize,
    keep: &'a [bool],
    blinked: &'a [bool],
}

impl BurstGaps<'_> {
    fn bridge(&self, ranges: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
        bridge_where(ranges, |last, next| {
            let between = last.1.min(next.0)..next.0;
            let seen = between.clone().filter(|&k| self.keep[k]).count();
            let only_blinks = between.clone().all(|k| self.keep[k] || self.blinked[k]);
            between.len() <= self.seen || (seen <= self.seen && only_blinks)
        })
    }
}

/// Hysteresis: where `on` holds, grown while `hold` holds.
fn hysteresis(on: &[bool], hold: &[bool]) -> Vec<bool> {
    let mut active = on.to_vec();
    for k in 1..active.len() {
        if active[k - 1] && hold[k] {
            active[k] = true;
        }
    }
    for k in (0..active.len().saturating_sub(1)).rev() {
        if active[k + 1] && hold[k] {
            active[k] = true;
        }
    }
    active
}

/// `mask` grown by `k` samples either side.
fn dilate(mask: &[bool], k: usize) -> Vec<bool> {
    let n = mask.len();
    let mut out = vec![false; n];
    for (i, _) in mask.iter().enumerate().filter(|(_, m)| **m) {
        out[i.saturating_sub(k)..(i + k + 1).min(n)].fill(true);
    }
    out
}

/// `x` with the samples where `keep` is false replaced by linear
/// interpolation between the kept ones (held at the ends).
fn interpolate_gaps(x: &[f32], keep: &[bool]) -> Vec<f32> {
    let idx: Vec<usize> = (0..x.len())
        .filter(|&k| keep[k] && x[k].is_finite())
        .collect();
    if idx.is_empty() {
        return vec![0.0; x.len()];
    }
    let mut out = vec![0.0; x.len()];
    let mut j = 0;
    for (k, o) in out.iter_mut().enumerate() {
        while j + 1 < idx.len() && idx[j + 1] <= k {
            j += 1;
        }
        let a = idx[j];
        *o = if k <= a || j + 1 == idx.len() {
            x[a]
        } else {
            let b = idx[j + 1];
            let f = (k - a) as f32 / (b - a) as f32;
            x[a] + f * (x[b] - x[a])
        };
    }
    out
}

/// Root mean square of `x` over a centred window of `w` samples, counting
/// only samples where `keep` holds (at least a fifth of the window must).
fn masked_rms(x: &[f32], keep: &[bool], w: usize) -> Vec<f32> {
    let n = x.len();
    let w = w.max(1);
    let (mut num, mut den) = (vec![0.0f64; n + 1], vec![0.0f64; n + 1]);
    for k in 0..n {
        let kept = keep[k] as u8 as f64;
        num[k + 1] = num[k] + kept * (x[k] as f64).powi(2);
        den[k + 1] = den[k] + kept;
    }
    (0..n)
        .map(|k| {
            let a = k.saturating_sub(w / 2);
            let b = (a + w).min(n);
            let count = (den[b] - den[a]).max(0.2 * w as f64);
            ((num[b] - num[a]) / count).sqrt() as f32
        })
        .collect()
}

/// Noise floors: robust z-scores of every region signal, for the regions
/// an event involves.
struct Scored {
    speed: [[Vec<f32>; Region::COUNT]; 2],
    deform: [[Vec<f32>; Region::COUNT]; 2],
}

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
                Signals::row(&signals.speed, s, r),
                &signals.valid,
                SPEED_FLOOR,
                &mut scratch,
            );
            deform[s][r] = zscore(
                Signals::row(&signals.deform, s, r),
                &signals.valid,
                DEFORM_FLOOR,
                &mut scratch,
            );
        }
    }
    Scored { speed, deform }
}

/// A stretch of one kind found by one rule, before merging.
#[derive(Clone, Copy, Debug)]
struct Piece {
    side: EventSide,
    kind: EventKind,
    range: (usize, usize),
}

/// The samples where an event may start (rule 7): a face measured, the
/// head no faster than [`EventConfig::max_head_speed`].
pub fn calm_samples(signals: &Signals, config: &EventConfig) -> Vec<bool> {
    (0..signals.len())
        .map(|k| {
            signals.valid[k]
                && signals
                    .head_speed
                    .get(k)
                    .is_none_or(|&h| h <= config.max_head_speed)
        })
        .collect()
}

/// Of the samples where a face was measured, the share in which the head
/// moved too fast for an event to start (rule 7): what a reader of "no
/// spasm" must know, since a spasm then would have been missed. 0 when no
/// face was measured.
pub fn head_moving_fraction(signals: &Signals, config: &EventConfig) -> f64 {
    let measured = signals.valid.iter().filter(|v| **v).count();
    if measured == 0 {
        return 0.0;
    }
    let calm = calm_samples(signals, config).iter().filter(|c| **c).count();
    (measured - calm) as f64 / measured as f64
}

/// Sample ranges in which the face was measured and the head moved too
/// fast for an event to start (rule 7), joined across slower moments of at
/// most `bridge` samples (never across samples without a face).
pub fn head_moving_ranges(
    signals: &Signals,
    config: &EventConfig,
    bridge: usize,
) -> Vec<(usize, usize)> {
    let calm = calm_samples(signals, config);
    let moving: Vec<bool> = (0..signals.len())
        .map(|k| signals.valid[k] && !calm[k])
        .collect();
    bridge_where(segments(&moving), |last, next| {
        next.0 <= last.1 + bridge && signals.valid[last.1..next.0].iter().all(|v| *v)
    })
}

/// Detects every event in a recording, in time order.
pub fn detect_events(signals: &Signals, config: &EventConfig) -> Vec<Event> {
    let n = signals.len();
    let rate = signals.rate;
    if n < 4 || rate <= 0.0 {
        return Vec::new();
    }
    let samples = |s: f64| (s * rate).round().max(1.0) as usize;
    let valid = &signals.valid;
    let calm = calm_samples(signals, config);

    // Rule 1: closure of each eye relative to its own open aperture.
    let closure: [Vec<f32>; 2] = [0, 1].map(|s| {
        let a = &signals.aperture[s];
        let kept: Vec<f32> = (0..n)
            .filter(|&k| valid[k] && a[k].is_finite())
            .map(|k| a[k])
            .collect();
        let open = percentile(&kept, config.open_percentile);
        if !(open.is_finite() && open > 0.0) {
            return vec![f32::NAN; n];
        }
        a.iter().map(|&v| 1.0 - v / open).collect()
    });
    let closed_both = |level: f32| -> Vec<bool> {
        (0..n)
            .map(|k| valid[k] && closure[0][k] > level && closure[1][k] > level)
            .collect()
    };

    let mut pieces = Vec::new();
    // Rules 2 and 3: closures of both eyes. Each stretch where both eyes
    // are closed at least `blink_mask_fraction` of a blink is one closure;
    // it is a blink if both eyes went past `blink_closure` and it was brief,
    // a bilateral tonic spasm if both were shut for long. Brief closures
    // in quick succession (at least BLINK_TRAIN in a row, starts under
    // BLINK_TRAIN_GAP_S apart: faster than anyone blinks) are a bilateral
    // clonic burst instead.
    let deep = closed_both(config.blink_closure);
    let closures = split_double_blinks(
        segments(&closed_both(
            config.blink_mask_fraction * config.blink_closure,
        )),
        &deep,
        samples(config.blink_max_s),
        samples(config.bilateral_min_s),
        samples(DOUBLE_BLINK_GAP_S),
    );
    // A train is made of full closures, or of partial ones while the head
    // is still: a squint hovering around the shallow level breaks into many
    // short stretches of its own, and so do both apertures of a face
    // turning or bobbing quickly; a still face narrowing both eyes several
    // times a second is twitching (blepharospasm's clonic form, which need
    // not shut the eyes).
    let still = |r: &(usize, usize)| {
        signals
            .head_speed
            .get(r.0..r.1)
            .is_none_or(|h| h.iter().all(|&h| h <= config.train_still_head_speed))
    };
    let brief = |r: &(usize, usize)| {
        (r.1 - r.0) as f64 / rate <= config.blink_max_s
            && (deep[r.0..r.1].iter().any(|d| *d) || still(r))
    };
    let mut in_train = vec![false; closures.len()];
    let mut run_start = 0;
    for i in 1..=closures.len() {
        let continues = i < closures.len()
            && brief(&closures[i])
            && brief(&closures[i - 1])
            && ((closures[i].0 - closures[i - 1].0) as f64 / rate) < BLINK_TRAIN_GAP_S;
        if !continues {
            if i - run_start >= BLINK_TRAIN {
                in_train[run_start..i].fill(true);
                pieces.push(Piece {
                    side: EventSide::Bilateral,
                    kind: EventKind::Clonic,
                    range: (closures[run_start].0, closures[i - 1].1),
                });
            }
            run_start = i;
        }
    }
    let mut blink_mask = vec![false; n];
    // The blinks among them (brief and deep): what the twitch energy lost
    // to them, a burst went on through.
    let mut blinked = vec![false; n];
    for (range, _) in closures.iter().zip(&in_train).filter(|(_, t)| !**t) {
        // A blink's own motion is kept out of the twitch energy, shallow
        // blinks included: one eye often closes less deeply than the other.
        blink_mask[range.0..range.1].fill(true);
        let was_deep = deep[range.0..range.1].iter().any(|d| *d);
        let dur = (range.1 - range.0) as f64 / rate;
        if was_deep && dur <= config.blink_max_s {
            blinked[range.0..range.1].fill(true);
        }
        let kind = if !was_deep {
            continue;
        } else if dur <= config.blink_max_s {
            EventKind::Blink
        } else if dur >= config.bilateral_min_s {
            EventKind::Tonic
        } else {
            continue;
        };
        pieces.push(Piece {
            side: EventSide::Bilateral,
            kind,
            range: *range,
        });
    }
    let blink_mask = dilate(&blink_mask, samples(BLINK_MASK_MARGIN_S));
    let blinked = dilate(&blinked, samples(BLINK_MASK_MARGIN_S));
    let keep: Vec<bool> = (0..n).map(|k| valid[k] && !blink_mask[k]).collect();

    // Rule 4: one eye narrower than the other. The stretch is clonic when
    // the eye narrows and reopens at least CLONIC_MIN_TWITCHES times (peaks
    // of the difference standing the rule's threshold above what lies
    // between them), tonic when it is one narrowing, however it wavers.
    // Blinks are left out of the count: both eyes shut, the difference dips.
    let twitch_gap = samples(1.0 / MAX_TWITCH_HZ);
    // Each eye's narrowing threshold (the closure difference that counts),
    // kept for rule 6.
    let mut narrowing = [f32::INFINITY; 2];
    for s in 0..2 {
        let (own, other) = (&closure[s], &closure[1 - s]);
        let diff: Vec<f32> = (0..n)
            .map(|k| {
                let d = own[k] - other[k];
                if d.is_finite() { d } else { f32::NEG_INFINITY }
            })
            .collect();
        // The jitter of the difference: the robust spread of its steps
        // from one reading to the next (a step has twice a reading's
        // variance; steps within an interpolated stretch would be smaller).
        let readings: Vec<f32> = (0..n)
            .filter(|&k| signals.eyes_read[k] && diff[k].is_finite())
            .map(|k| diff[k])
            .collect();
        let steps: Vec<f32> = readings.windows(2).map(|w| w[1] - w[0]).collect();
        let jitter = robust_stats(&steps, &mut Vec::new()).1 / std::f32::consts::SQRT_2;
        let threshold = config
            .tonic_asymmetry
            .max(config.tonic_jitter_factor * jitter);
        narrowing[s] = threshold;
        let narrower =
            |k: usize, f: f32| diff[k] > f * threshold && own[k] > f * config.tonic_min_closure;
        let on: Vec<bool> = (0..n).map(|k| calm[k] && narrower(k, 1.0)).collect();
        let hold: Vec<bool> = (0..n).map(|k| valid[k] && narrower(k, 0.6)).collect();
        let held = segments(&hysteresis(&on, &hold));
        // What a blink hides is not a reopening: the difference between the
        // eyes dips because both shut.
        let held_or_hidden: Vec<bool> = (0..n)
            .map(|k| valid[k] && (narrower(k, 0.6) || !keep[k]))
            .collect();
        for range in bridge(held.clone(), samples(0.3)) {
            if ((range.1 - range.0) as f64 / rate) < config.tonic_min_s {
                continue;
            }
            if rise_s(&diff, range, threshold, rate) > config.tonic_onset_max_s {
                continue;
            }
            let seen: Vec<f32> = (range.0..range.1)
                .filter(|&k| keep[k] && diff[k].is_finite())
                .map(|k| diff[k])
                .collect();
            // Narrowings: peaks reopening at least halfway, or the brief
            // held stretches bridged into this one, each ended by the eye
            // reopening past the hold level (blinks aside). Twitches that
            // narrow the eye by little more than the threshold stand less
            // than the threshold above the reopenings between them.
            let brief =
                |(a, b): &(usize, usize)| b - a >= 2 && (b - a) as f64 / rate <= TWITCH_MAX_S;
            let twitches = segments(&held_or_hidden[range.0..range.1])
                .into_iter()
                .map(|(a, b)| (range.0 + a, range.0 + b))
                .filter(|&(a, b)| held.iter().any(|h| h.0 < b && a < h.1))
                .filter(brief)
                .count();
            let count = narrowings(&seen, threshold, twitch_gap).max(twitches);
            pieces.push(Piece {
                side: EventSide::from_side(Side::BOTH[s]),
                kind: if count >= CLONIC_MIN_TWITCHES {
                    EventKind::Clonic
                } else {
                    EventKind::Tonic
                },
                range,
            });
        }
    }

    // Rule 5: one eye's lids twitching in the spasm band, seen against
    // either reference of the lid's motion.
    let band = (config.band.0, config.band.1.min(0.45 * rate));
    let window = samples(config.energy_window_s);
    let twitch = lid_twitch(signals, LidReference::Surroundings, &keep, band);
    let (energy, typical) = twitch_energy(&twitch, &keep, window);
    let gaps = BurstGaps {
        seen: samples(config.clonic_gap_s),
        keep: &keep,
        blinked: &blinked,
    };
    let bursts = |energy: &[Vec<f32>; 2], typical: f32| {
        one_sided_bursts(energy, typical, &calm, valid, config, rate, &gaps)
    };
    pieces.extend(bursts(&energy, typical));
    let against_lower_lid = lid_twitch(signals, LidReference::LowerLid, &keep, band);
    let (lower_energy, lower_typical) = twitch_energy(&against_lower_lid, &keep, window);
    pieces.extend(bursts(&lower_energy, lower_typical));

    // Rule 3 again, for the clonic form of blepharospasm: both eyes' lids
    // twitching together, as strongly as each other (against the lower lid:
    // see the module documentation).
    let both_twitch = {
        let (energy, typical) = (&lower_energy, lower_typical);
        let together = |k: usize, f: f32| {
            let (lo, hi) = (
                energy[0][k].min(energy[1][k]),
                energy[0][k].max(energy[1][k]),
            );
            valid[k]
                && lo > f * config.bilateral_energy * typical
                && lo >= f * config.clonic_min_energy
                && hi < config.bilateral_balance * lo.max(1e-3)
        };
        let on: Vec<bool> = (0..n).map(|k| calm[k] && together(k, 1.0)).collect();
        let hold: Vec<bool> = (0..n).map(|k| together(k, 0.8)).collect();
        hysteresis(&on, &hold)
    };
    let lag = samples(BILATERAL_LAG_S);
    for range in gaps.bridge(segments(&both_twitch)) {
        if (range.1 - range.0) as f64 / rate >= config.bilateral_clonic_min_s
            && synchrony(&against_lower_lid, &keep, range, lag) >= config.bilateral_sync
        {
            pieces.push(Piece {
                side: EventSide::Bilateral,
                kind: EventKind::Clonic,
                range,
            });
        }
    }

    // Rule 6: a lower-lid ripple.
    let ripples = myokymia(signals, config, &calm, &keep);

    // Rule 8: one event per episode; ripples inside spasms belong to them.
    let mut spasms: Vec<Piece> = Vec::new();
    pieces.sort_by_key(|p| p.range.0);
    for p in pieces {
        let gap = samples(config.merge_gap_s);
        let joined = (p.kind != EventKind::Blink)
            .then(|| {
                spasms.iter_mut().find(|q| {
                    q.kind != EventKind::Blink
                        && q.side == p.side
                        && p.range.0 <= q.range.1 + gap
                        && q.range.0 <= p.range.1 + gap
                })
            })
            .flatten();
        match joined {
            Some(q) => {
                q.range = (q.range.0.min(p.range.0), q.range.1.max(p.range.1));
                if p.kind == EventKind::Tonic {
                    q.kind = EventKind::Tonic;
                }
            }
            None => spasms.push(p),
        }
    }
    for (side, range) in ripples {
        // A clonic piece on the ripple whose lower lid moves more than its
        // upper lid is the ripple itself, unless the eye narrows in it twitch
        // by twitch (rule 4's prominent narrowings): a ripple runs along the
        // lower lid and leaves the eye open, a twitch closes it, however far
        // it drags the lower lid along. One narrowing is not enough: a lower
        // lid rippling upwards narrows the eye a little, and on a face whose
        // eye is narrower than the other to begin with that can cross the
        // threshold now and then. For the same reason rule 4's brief held
        // stretches do not count here: such an eye crosses the hold level
        // back and forth all through a ripple (the man with glasses, d9).
        let s = side.index();
        let ripple_itself = |q: &Piece| {
            let seen: Vec<f32> = (q.range.0..q.range.1)
                .filter(|&k| keep[k])
                .map(|k| closure[s][k] - closure[1 - s][k])
                .filter(|d| d.is_finite())
                .collect();
            let twitches = narrowings(&seen, narrowing[s], twitch_gap);
            lower_lid_leads(signals, s, q.range) && twitches < CLONIC_MIN_TWITCHES
        };
        spasms.retain(|q| {
            !(q.kind == EventKind::Clonic
                && q.side == EventSide::from_side(side)
                && range.0 <= q.range.1
                && q.range.0 <= range.1
                && ripple_itself(q))
        });
        let inside = spasms.iter().any(|q| {
            q.kind != EventKind::Blink
                && q.side.involves(side)
                && range.0 <= q.range.1
                && q.range.0 <= range.1
        });
        if !inside {
            spasms.push(Piece {
                side: EventSide::from_side(side),
                kind: EventKind::Myokymia,
                range,
            });
        }
    }

    let sc = score(signals);
    let mut measure = Measure {
        signals,
        config,
        sc: &sc,
        closure: &closure,
        twitch: &twitch,
    };
    let mut events: Vec<Event> = spasms.iter().map(|p| measure.event(p)).collect();
    events.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    events
}

/// What rule 5 measures the upper lid's closing motion against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LidReference {
    /// The skin around the lid: the brow above and the lower lid below,
    /// interpolated to where the lid lies between them ([`UPPER_LID_DEPTH`]).
    Surroundings,
    /// The lower lid alone.
    LowerLid,
}

impl LidReference {
    /// Weights of the lower lid's and the brow's velocity.
    fn weights(self) -> (f32, f32) {
        match self {
            LidReference::Surroundings => (UPPER_LID_DEPTH, 1.0 - UPPER_LID_DEPTH),
            LidReference::LowerLid => (1.0, 0.0),
        }
    }
}

/// Each side's closing velocity of the upper lid against `reference`,
/// blinks (`keep` false) interpolated over, band-passed to `band`.
fn lid_twitch(
    signals: &Signals,
    reference: LidReference,
    keep: &[bool],
    band: (f64, f64),
) -> [Vec<f32>; 2] {
    let (w_lower, w_brow) = reference.weights();
    [0, 1].map(|s| {
        let up = Signals::row(&signals.vy, s, Region::UpperLid.index());
        let lo = Signals::row(&signals.vy, s, Region::LowerLid.index());
        let brow = Signals::row(&signals.vy, s, Region::Brow.index());
        let closing: Vec<f32> = (0..signals.len())
            .map(|k| up[k] - (w_lower * lo[k] + w_brow * brow[k]))
            .collect();
        band_pass(&interpolate_gaps(&closing, keep), signals.rate, band)
    })
}

/// Each side's twitch energy over `window` samples, and the recording's
/// typical level (the median over both sides, blinks left out).
fn twitch_energy(twitch: &[Vec<f32>; 2], keep: &[bool], window: usize) -> ([Vec<f32>; 2], f32) {
    let energy = [0, 1].map(|s| masked_rms(&twitch[s], keep, window));
    let both: Vec<f32> = (0..keep.len())
        .filter(|&k| keep[k])
        .map(|k| 0.5 * (energy[0][k] + energy[1][k]))
        .collect();
    let typical = percentile(&both, 50.0).max(1e-3);
    (energy, typical)
}

/// How closely the two eyes' twitch signals move together within `range`
/// (blinks, `keep` false, left out): their correlation, the best over time
/// shifts of up to `lag` samples either way.
fn synchrony(twitch: &[Vec<f32>; 2], keep: &[bool], range: (usize, usize), lag: usize) -> f32 {
    let (a, b) = (&twitch[0], &twitch[1]);
    let lag = lag as isize;
    (-lag..=lag)
        .map(|d| {
            let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
            for k in range.0..range.1 {
                let j = k as isize + d;
                if j < 0 || j as usize >= b.len() || !keep[k] || !keep[j as usize] {
                    continue;
                }
                let (x, y) = (f64::from(a[k]), f64::from(b[j as usize]));
                ab += x * y;
                aa += x * x;
                bb += y * y;
            }
            if aa > 0.0 && bb > 0.0 {
                (ab / (aa * bb).sqrt()) as f32
            } else {
                0.0
            }
        })
        .fold(f32::NEG_INFINITY, f32::max)
}

/// Rule 5's bursts: stretches where one eye's twitch energy is well above
/// the other's and the typical level (gaps of `gap` samples bridged).
fn one_sided_bursts(
    energy: &[Vec<f32>; 2],
    typical: f32,
    calm: &[bool],
    valid: &[bool],
    config: &EventConfig,
    rate: f64,
    gaps: &BurstGaps,
) -> Vec<Piece> {
    let n = calm.len();
    let mut pieces = Vec::new();
    for s in 0..2 {
        let (own, other) = (&energy[s], &energy[1 - s]);
        let burst = |k: usize, asym: f32, level: f32| {
            own[k] > asym * other[k].max(1e-3) && own[k] > level * typical
        };
        let on: Vec<bool> = (0..n)
            .map(|k| {
                calm[k]
                    && own[k] >= config.clonic_min_energy
                    && burst(k, config.clonic_asymmetry, config.clonic_energy)
            })
            .collect();
        let hold: Vec<bool> = (0..n)
            .map(|k| valid[k] && burst(k, config.clonic_asymmetry_hold, config.clonic_energy_hold))
            .collect();
        for range in gaps.bridge(segments(&hysteresis(&on, &hold))) {
            let range = trim_to_peak(own, range, BURST_EDGE);
            if (range.1 - range.0) as f64 / rate >= config.clonic_min_s {
                pieces.push(Piece {
                    side: EventSide::from_side(Side::BOTH[s]),
                    kind: EventKind::Clonic,
                    range,
                });
            }
        }
    }
    pieces
}

/// The band of a lower-lid ripple (myokymia), Hz, below the Nyquist limit
/// of a recording at `rate`.
fn ripple_band(rate: f64) -> (f64, f64) {
    (3.0, 8.0f64.min(0.45 * rate))
}

/// Whether the lower lid's motion in the spasm band exceeds the upper
/// lid's on `side` within `range`.
fn lower_lid_leads(signals: &Signals, side: usize, range: (usize, usize)) -> bool {
    let band = ripple_band(signals.rate);
    let power = |r: Region| {
        let x = band_pass(
            &Signals::row(&signals.vy, side, r.index())[range.0..range.1],
            signals.rate,
            band,
        );
        x.iter().map(|v| v * v).sum::<f32>()
    };
    power(Region::LowerLid) > power(Region::UpperLid)
}

/// Lower-lid ripple episodes: `(side, range)`.
fn myokymia(
    signals: &Signals,
    config: &EventConfig,
    calm: &[bool],
    keep: &[bool],
) -> Vec<(Side, (usize, usize))> {
    let rate = signals.rate;
    let n = signals.len();
    let len = (2.0 * rate).round() as usize;
    let hop = (0.25 * rate).round().max(1.0) as usize;
    if n < len || len < 8 {
        return Vec::new();
    }
    let band = ripple_band(rate);
    let mut spectrum = Spectrum::new(len, 256.max(len.next_power_of_two() * 4), rate, band);
    let lo = Region::LowerLid.index();
    let starts: Vec<usize> = window_starts(n, len, hop).collect();
    let mut ws = WindowSpectrum::default();
    // Per quantity (velocity, tilt), side and window: band power and peak
    // share, and the quantity's quiet level: the 10th percentile over both
    // lower lids (a ripple can fill much of one side's recording, so its
    // median is no floor).
    let calm_window: Vec<bool> = starts
        .iter()
        .map(|&k| calm[k..k + len].iter().filter(|c| **c).count() as f32 / len as f32 > 0.9)
        .collect();
    let mut spectral_table = |quantity: &Array3<f32>| {
        let table: [Vec<(f32, f32)>; 2] = [0, 1].map(|s| {
            starts
                .iter()
                .map(|&k| {
                    spectrum.compute(&Signals::row(quantity, s, lo)[k..k + len], &mut ws);
                    (ws.band_power, ws.peak_share)
                })
                .collect()
        });
        // Over the calm windows (the face measured, the head still): where
        // the face was not measured the signals are zero, no quiet level.
        let all: Vec<f32> = table
            .iter()
            .flat_map(|rows| rows.iter().zip(&calm_window).filter(|(_, c)| **c))
            .map(|(w, _)| w.0)
            .collect();
        let floor = percentile(&all, 10.0).max(1e-9);
        (table, floor)
    };
    let (table, floor) = spectral_table(&signals.vy);
    let (tilt_table, tilt_floor) = spectral_table(&signals.tilt);
    // Per side and window: the lower lid's typical residual speed (what its
    // translation leaves) over the calm, blink-free samples (None when too
    // few are left to judge).
    let residual: [Vec<Option<f32>>; 2] = [0, 1].map(|s| {
        let ripple = Signals::row(&signals.ripple, s, lo);
        let mut seen = Vec::with_capacity(len);
        starts
            .iter()
            .map(|&k| {
                seen.clear();
                seen.extend(
                    (k..k + len)
                        .filter(|&j| calm[j] && keep[j])
                        .map(|j| ripple[j]),
                );
                (seen.len() as f32 >= RIPPLE_MIN_SEEN * len as f32).then(|| percentile(&seen, 50.0))
            })
            .collect()
    });
    // A window where one lower lid has a clear rhythm of its own: power over
    // the quiet level, in one peak, and far above the other lower lid's.
    let peak =
        |table: &[Vec<(f32, f32)>; 2], s: usize, i: usize, snr: f32, floor: f32, share: f32| {
            let (p, peak_share) = table[s][i];
            calm_window[i]
                && p >= snr * floor
                && peak_share >= share
                && p >= config.myokymia_asymmetry * table[1 - s][i].0
        };
    let mut out = Vec::new();
    for s in 0..2 {
        let narrow_peak: Vec<bool> = (0..starts.len())
            .map(|i| {
                peak(
                    &table,
                    s,
                    i,
                    config.myokymia_snr,
                    floor,
                    config.myokymia_peak_share,
                )
            })
            .collect();
        let tilt_peak: Vec<bool> = (0..starts.len())
            .map(|i| {
                peak(
                    &tilt_table,
                    s,
                    i,
                    config.myokymia_tilt_snr,
                    tilt_floor,
                    config.myokymia_tilt_peak_share,
                )
            })
            .collect();
        let judged: Vec<Option<bool>> = (0..starts.len())
            .map(|i| match (residual[s][i], residual[1 - s][i]) {
                (Some(own), Some(other)) => {
                    Some(own > config.myokymia_residual_ratio * other.max(1e-3))
                }
                _ => None,
            })
            .collect();
        let rippling = fill_unjudged(&judged);
        let mut ranges = Vec::new();
        for (flags, tilt) in [(&narrow_peak, false), (&tilt_peak, true)] {
            for (a, b) in segments(flags) {
                let range = (starts[a], (starts[b - 1] + len).min(n));
                if (range.1 - range.0) as f64 / rate >= config.myokymia_min_s
                    && (!tilt || one_rhythm(signals, s, range, config.myokymia_tilt_peak_share))
                {
                    ranges.push(range);
                }
            }
        }
        // A window's median is up when over half of it is: the flagged
        // windows' centres span the raised stretch itself, while the windows
        // reach a second beyond it either side.
        for (a, b) in segments(&rippling) {
            let range = (starts[a] + len / 2, (starts[b - 1] + len / 2 + hop).min(n));
            if (range.1 - range.0) as f64 / rate >= config.myokymia_residual_min_s {
                ranges.push(range);
            }
        }
        // Both measures can see one episode: one range for it.
        ranges.sort_unstable();
        for range in bridge(ranges, 0) {
            out.push((Side::BOTH[s], range));
        }
    }
    out
}

/// Whether the lower lid's tilt on `side` keeps one rhythm over the whole of
/// `range`: the share of its 3–8 Hz power in one peak of the stretch's own
/// spectrum is at least `share`. A 2 s window resolves only a few bins of
/// the band, so irregular motion often has one look peaked; over the longer
/// stretch its power spreads, while a ripple's stays at its rate.
fn one_rhythm(signals: &Signals, side: usize, range: (usize, usize), share: f32) -> bool {
    let len = range.1 - range.0;
    let x = &Signals::row(&signals.tilt, side, Region::LowerLid.index())[range.0..range.1];
    let mut spectrum = Spectrum::new(
        len,
        256.max(len.next_power_of_two() * 4),
        signals.rate,
        ripple_band(signals.rate),
    );
    let mut out = WindowSpectrum::default();
    spectrum.compute(x, &mut out);
    out.peak_share >= share
}

/// Windows that could not be judged (`None`: a blink or a quick head motion
/// hid the lid) count as rippling when the judged windows either side of
/// them both are: what was hidden for a moment went on underneath.
fn fill_unjudged(judged: &[Option<bool>]) -> Vec<bool> {
    let mut out: Vec<bool> = judged.iter().map(|j| j.unwrap_or(false)).collect();
    let mut last_judged: Option<(usize, bool)> = None;
    for (i, j) in judged.iter().enumerate() {
        let Some(now) = *j else { continue };
        if let Some((before, was)) = last_judged
            && was
            && now
        {
            out[before + 1..i].fill(true);
        }
        last_judged = Some((i, now));
    }
    out
}

/// Share of a window's samples that must be calm and blink-free for its
/// lower-lid residual speed to be judged.
const RIPPLE_MIN_SEEN: f32 = 0.6;

/// Measures an event's regions, frequency, amplitude and closure.
struct Measure<'a> {
    signals: &'a Signals,
    config: &'a EventConfig,
    sc: &'a Scored,
    closure: &'a [Vec<f32>; 2],
    twitch: &'a [Vec<f32>; 2],
}

impl Measure<'_> {
    fn event(&mut self, p: &Piece) -> Event {
        let range = p.range;
        let sides: Vec<usize> = match p.side {
            EventSide::Left => vec![0],
            EventSide::Right => vec![1],
            EventSide::Bilateral => vec![0, 1],
        };
        let mut regions: Vec<Region> = Vec::new();
        if p.kind == EventKind::Blink {
            regions.push(Region::UpperLid);
        } else {
            for &s in &sides {
                regions.extend(self.regions_involved(s, range, p.side == EventSide::Bilateral));
            }
            let lid = if p.kind == EventKind::Myokymia {
                Region::LowerLid
            } else {
                Region::UpperLid
            };
            if !regions.iter().any(|r| r.is_eye()) {
                regions.push(lid);
            }
            regions.sort();
            regions.dedup();
        }
        let freq_hz = match p.kind {
            EventKind::Clonic => {
                // The stronger eye's twitches (both add up when bilateral).
                let s = if sides.len() == 2 {
                    None
                } else {
                    Some(sides[0])
                };
                self.counted_rate_hz(s, range)
                    .or_else(|| self.repetition_hz(s, range))
            }
            EventKind::Myokymia => self.ripple_hz(sides[0], range),
            _ => None,
        };
        let amplitude = sides
            .iter()
            .map(|&s| self.amplitude(s, range))
            .fold(0.0, f64::max);
        let closure = sides
            .iter()
            .filter_map(|&s| self.peak_closure(s, range))
            .fold(None, |acc: Option<f64>, c| {
                Some(acc.map_or(c, |a| a.max(c)))
            });
        Event {
            start_s: self.signals.time(range.0),
            end_s: self.signals.time(range.1),
            side: p.side,
            kind: p.kind,
            regions,
            freq_hz,
            amplitude,
            closure,
        }
    }

    fn regions_involved(&self, side: usize, range: (usize, usize), bilateral: bool) -> Vec<Region> {
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
                // One-sided events: clearly more than the other side.
                let clear =
                    own >= self.config.z_region && (bilateral || own >= 1.5 * activity(other, r));
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
        let vy = Signals::row(&self.signals.vy, side, Region::Brow.index());
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
            Signals::row(&self.signals.deform, side, r.index())[range.0..range.1]
                .iter()
                .copied()
                .fold(0.0f32, f32::max)
        };
        peak(Region::UpperLid).max(peak(Region::LowerLid)) as f64
    }

    /// Peak closure of the eye in `range` (fraction of its open aperture).
    fn peak_closure(&self, side: usize, range: (usize, usize)) -> Option<f64> {
        let max = self.closure[side][range.0..range.1]
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(f32::NEG_INFINITY, f32::max);
        max.is_finite().then(|| max.clamp(0.0, 1.0) as f64)
    }

    /// A clonic burst's twitch rate by counting: one over the median
    /// interval between the closure's peaks, when the eye shows its twitches
    /// as separate, evenly spaced peaks (at least four, standing a quarter
    /// of the burst's closure range above their surroundings, spaced within
    /// [`EVEN_SPACING`]). Where twitches are resolved, counting is exact,
    /// while the spectrum of a burst lasting a second has bins ~1 Hz wide and
    /// brief twitches spread their power over the harmonics. `None` when the
    /// peaks are not clear (merged twitches, noise): the spectrum decides
    /// then. `side` `None` adds both eyes.
    fn counted_rate_hz(&self, side: Option<usize>, range: (usize, usize)) -> Option<f64> {
        let rate = self.signals.rate;
        // A little either side, so twitches at the edges stand out fully.
        let pad = (0.15 * rate) as usize;
        let span = range.0.saturating_sub(pad)..(range.1 + pad).min(self.signals.len());
        let sides: Vec<usize> = side.map_or(vec![0, 1], |s| vec![s]);
        let x: Vec<f32> = span
            .map(|k| {
                sides
                    .iter()
                    .map(|&s| self.closure[s][k])
                    .filter(|v| v.is_finite())
                    .sum()
            })
            .collect();
        let (lo, hi) = x
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        if hi <= lo {
            return None;
        }
        let min_gap = (rate / MAX_TWITCH_HZ).floor().max(1.0) as usize;
        let peaks = prominent_peaks(&x, 0.25 * (hi - lo), min_gap);
        if peaks.len() < 4 {
            return None;
        }
        let mut intervals: Vec<f64> = peaks.windows(2).map(|w| w[1] - w[0]).collect();
        intervals.sort_by(f64::total_cmp);
        let q = |f: f64| intervals[(intervals.len() as f64 * f) as usize];
        let median = q(0.5);
        ((q(0.75) - q(0.25)) <= EVEN_SPACING * median).then(|| rate / median)
    }

    /// Repetition rate of the lids' twitches within `range`: the harmonic
    /// sum over the spectrum of their velocity ([`Spectrum::harmonic_hz`]).
    /// Brief pulses put much of their power into the second harmonic, which
    /// the sum credits to the fundamental. (Integrating to a position
    /// instead tilts the spectrum by 1/f² towards the band's low edge, and a
    /// burst's envelope then wins.) `None` for a stretch too short for a few
    /// cycles. `side` `None` sums both eyes.
    fn repetition_hz(&self, side: Option<usize>, range: (usize, usize)) -> Option<f64> {
        let mut spectrum = self.stretch_spectrum(range)?;
        let sides: Vec<usize> = side.map_or(vec![0, 1], |s| vec![s]);
        let x: Vec<f32> = (range.0..range.1)
            .map(|k| sides.iter().map(|&s| self.twitch[s][k]).sum())
            .collect();
        let mut out = WindowSpectrum::default();
        spectrum.compute(&x, &mut out);
        let rate = self.signals.rate;
        let band = (self.config.band.0, self.config.band.1.min(0.45 * rate));
        (out.band_power > 0.0).then(|| spectrum.harmonic_hz(&out, band, 2, 0.8) as f64)
    }

    /// Rate of `side`'s lower-lid ripple within `range`. A ripple travelling
    /// along the lid moves it up and down as a whole (vy) and tilts it (one
    /// end up, the other down), by turns as it travels: its rate is where
    /// the two spectra together peak, in the ripple's band (talking puts its
    /// syllable rate below it), and a ripple is near a sine: no harmonics to
    /// weigh. `None` for a stretch too short for a few cycles.
    fn ripple_hz(&self, side: usize, range: (usize, usize)) -> Option<f64> {
        let mut spectrum = self.stretch_spectrum(range)?;
        let lo = Region::LowerLid.index();
        let mut out = WindowSpectrum::default();
        let mut tilt = WindowSpectrum::default();
        spectrum.compute(
            &Signals::row(&self.signals.vy, side, lo)[range.0..range.1],
            &mut out,
        );
        spectrum.compute(
            &Signals::row(&self.signals.tilt, side, lo)[range.0..range.1],
            &mut tilt,
        );
        for (p, q) in out.power.iter_mut().zip(&tilt.power) {
            *p += q;
        }
        out.band_power += tilt.band_power;
        let band = ripple_band(self.signals.rate);
        (out.band_power > 0.0).then(|| spectrum.harmonic_hz(&out, band, 1, 0.8) as f64)
    }

    /// A spectrum of the stretch `range`, up to the Nyquist limit so that the
    /// harmonics of a twitch near the band's top still count; `None` for a
    /// stretch too short for a few cycles.
    fn stretch_spectrum(&self, range: (usize, usize)) -> Option<Spectrum> {
        let len = range.1 - range.0;
        let rate = self.signals.rate;
        if (len as f64) < 0.6 * rate {
            return None;
        }
        let wide = (self.config.band.0, 0.5 * rate);
        Some(Spectrum::new(
            len,
            1024.max(len.next_power_of_two()),
            rate,
            wide,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: f64 = 30.0;

    /// Deterministic noise in [-1, 1].
    fn noise_source(seed: u64) -> impl FnMut() -> f32 {
        let mut state = seed;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state % 1000) as f32 / 1000.0 - 0.5) * 2.0
        }
    }

    /// Quiet signals: open eyes with a little jitter, lids and regions
    /// moving a little.
    fn quiet(seconds: f64) -> Signals {
        let n = (seconds * RATE) as usize;
        let mut noise = noise_source(12345);
        let mut s = Signals {
            valid: vec![true; n],
            head_speed: vec![5.0; n],
            ..Signals::zeros(RATE, 0.0, n)
        };
        for side in 0..2 {
            for r in 0..Region::COUNT {
                let fill = |q: &mut Array3<f32>, f: &mut dyn FnMut() -> f32| {
                    q.slice_mut(s![side, r, ..])
                        .iter_mut()
                        .for_each(|v| *v = f());
                };
                fill(&mut s.speed, &mut || 3.0 + noise());
                fill(&mut s.ripple, &mut || 2.0 + 0.7 * noise());
                fill(&mut s.vy, &mut || 2.0 * noise());
                fill(&mut s.tilt, &mut || 2.0 * noise());
                fill(&mut s.deform, &mut || 0.3 + 0.05 * noise());
            }
            s.aperture[side] = (0..n).map(|_| 0.32 + 0.005 * noise()).collect();
        }
        s
    }

    /// Eyelid closures on `sides`: `closure(t)` in 0..1 narrows the
    /// aperture and moves the lids (velocity, speed, deformation), and the
    /// `extra` regions with them.
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
                    s.speed[[i, r.index(), k]] += (40.0 * dc.abs()) as f32;
                    s.deform[[i, r.index(), k]] += (3.0 * c) as f32;
                }
                s.vy[[i, Region::UpperLid.index(), k]] += (30.0 * dc) as f32;
                s.vy[[i, Region::LowerLid.index(), k]] -= (5.0 * dc) as f32;
                s.aperture[i][k] = (0.32 * (1.0 - 0.95 * c)) as f32;
            }
        }
    }

    fn blink(t: f64) -> f64 {
        // ~250 ms closing and opening.
        (std::f64::consts::PI * t / 0.25).sin().max(0.0)
    }

    fn clonic(freq: f64, depth: f64) -> impl Fn(f64) -> f64 {
        move |t| depth * (0.5 - 0.5 * (2.0 * std::f64::consts::PI * freq * t).cos())
    }

    fn tonic(len: f64, depth: f64) -> impl Fn(f64) -> f64 {
        move |t| depth * ((t / 0.15).min(1.0)).min(((len - t) / 0.15).max(0.0))
    }

    fn spasms(ev: &[Event]) -> Vec<&Event> {
        ev.iter().filter(|e| e.is_spasm()).collect()
    }

    /// The one spasm among `ev`, of this side and kind.
    fn only_spasm(ev: &[Event], side: EventSide, kind: EventKind) -> &Event {
        let sp = spasms(ev);
        assert_eq!(sp.len(), 1, "{ev:#?}");
        assert_eq!((sp[0].side, sp[0].kind), (side, kind), "{ev:#?}");
        sp[0]
    }

    /// Both eyes narrowing by a third four times a second (blepharospasm's
    /// clonic form, not shutting the eyes) is a bilateral burst on a still
    /// face; the same dips while the head moves quickly prove nothing.
    #[test]
    fn partial_closures_of_both_eyes_in_a_train_are_a_burst_when_the_head_is_still() {
        let mut s = quiet(20.0);
        add_closure(&mut s, &Side::BOTH, 8.0, 9.5, clonic(4.0, 0.35), &[]);
        let ev = detect_events(&s, &EventConfig::default());
        let sp = spasms(&ev);
        assert_eq!(sp.len(), 1, "{ev:#?}");
        assert_eq!(sp[0].side, EventSide::Bilateral);
        assert_eq!(sp[0].kind, EventKind::Clonic);
        assert!(sp[0].start_s < 8.5 && sp[0].end_s > 9.0, "{:?}", sp[0]);

        let moving = (7.5 * RATE) as usize..(10.0 * RATE) as usize;
        s.head_speed[moving].fill(70.0);
        let ev = detect_events(&s, &EventConfig::default());
        assert!(spasms(&ev).is_empty(), "{ev:#?}");
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
        assert!(spasms(&ev).is_empty(), "{ev:#?}");
    }

    #[test]
    fn a_blink_with_one_eye_a_frame_late_and_shallower_is_a_blink() {
        let mut s = quiet(20.0);
        add_closure(&mut s, &[Side::Left], 5.0, 5.25, blink, &[]);
        add_closure(
            &mut s,
            &[Side::Right],
            5.0 + 1.0 / RATE,
            5.25 + 1.0 / RATE,
            |t| 0.7 * blink(t),
            &[],
        );
        let ev = detect_events(&s, &EventConfig::default());
        assert_eq!(ev.len(), 1, "{ev:#?}");
        assert_eq!(ev[0].kind, EventKind::Blink);
    }

    #[test]
    fn unilateral_clonic_burst_has_side_and_frequency() {
        let mut s = quiet(30.0);
        add_closure(&mut s, &[Side::Left], 10.0, 11.6, clonic(5.0, 0.4), &[]);
        add_closure(&mut s, &Side::BOTH, 20.0, 20.25, blink, &[]);
        let ev = detect_events(&s, &EventConfig::default());
        let sp = spasms(&ev);
        assert_eq!(sp.len(), 1, "{ev:#?}");
        let e = sp[0];
        assert_eq!(e.side, EventSide::Left);
        assert_eq!(e.kind, EventKind::Clonic);
        assert!(
            (e.start_s - 10.0).abs() < 0.4 && (e.end_s - 11.6).abs() < 0.4,
            "{e:?}"
        );
        let f = e.freq_hz.expect("frequency");
        assert!((f - 5.0).abs() < 0.5, "freq {f}");
        assert_eq!(ev.iter().filter(|e| e.kind == EventKind::Blink).count(), 1);
    }

    /// `vy` of one side's brow, upper and lower lid: `v(t)` times `gains`.
    fn add_eye_area_motion(
        s: &mut Signals,
        side: Side,
        t0: f64,
        t1: f64,
        v: impl Fn(f64) -> f64,
        gains: [f32; 3],
    ) {
        let regions = [Region::Brow, Region::UpperLid, Region::LowerLid];
        for k in (t0 * RATE) as usize..((t1 * RATE) as usize).min(s.len()) {
            let v = v(k as f64 / RATE - t0) as f32;
            for (r, g) in regions.iter().zip(gains) {
                s.vy[[side.index(), r.index(), k]] += g * v;
            }
        }
    }

    fn wobble(freq: f64, amplitude: f64) -> impl Fn(f64) -> f64 {
        move |t| amplitude * (2.0 * std::f64::consts::PI * freq * t).sin()
    }

    /// Twitches of the right eye area at 5 Hz from 10 to 12 s: the brow,
    /// upper and lower lid moving by `gains` times `amplitude`.
    fn add_right_burst(s: &mut Signals, amplitude: f64, gains: [f32; 3]) {
        add_eye_area_motion(s, Side::Right, 10.0, 12.0, wobble(5.0, amplitude), gains);
    }

    /// The recording's one spasm is that burst.
    fn assert_right_burst(s: &Signals) {
        let ev = detect_events(s, &EventConfig::default());
        let e = only_spasm(&ev, EventSide::Right, EventKind::Clonic);
        assert!(e.start_s < 10.5 && e.end_s > 11.5, "{e:?}");
    }

    /// A twitch that drags the lower lid down with the upper lid (the
    /// skin below the eye pulled along, the brow still) narrows the eye
    /// only a little and is still a burst: the lid's reference is the skin
    /// around it, not the lower lid alone, which would cancel most of it.
    #[test]
    fn a_twitch_dragging_the_lower_lid_along_is_a_burst() {
        let mut s = quiet(30.0);
        add_right_burst(&mut s, 12.0, [0.0, 1.0, 0.6]);
        assert_right_burst(&s);
    }

    /// A burst on a face whose brows bob as the person talks (both brows,
    /// at three times a second, far more than the twitch moves the lid) is
    /// still a burst: the lower lid, which the brows do not move, is the
    /// lid's other reference.
    #[test]
    fn a_burst_under_bobbing_brows_is_a_burst() {
        let mut s = quiet(30.0);
        add_right_burst(&mut s, 15.0, [0.0, 1.0, 0.0]);
        for side in Side::BOTH {
            add_eye_area_motion(&mut s, side, 8.0, 14.0, wobble(3.0, 60.0), [1.0, 0.0, 0.0]);
        }
        assert_right_burst(&s);
    }

    /// The skin around one eye moving as a whole at twitch rates (brow and
    /// both lids together), or stretching steadily from brow to cheek, is
    /// no twitch: the lids do not move against their surroundings. (The
    /// lower lid moving on its own at such rates is rule 6's to judge.)
    #[test]
    fn the_eye_area_moving_as_a_whole_is_no_twitch() {
        let mut s = quiet(30.0);
        add_eye_area_motion(
            &mut s,
            Side::Left,
            5.0,
            8.0,
            wobble(5.0, 30.0),
            [1.0, 1.0, 1.0],
        );
        let stretch = [0.0, UPPER_LID_DEPTH, 1.0];
        add_eye_area_motion(&mut s, Side::Right, 15.0, 18.0, wobble(4.0, 30.0), stretch);
        let ev = detect_events(&s, &EventConfig::default());
        assert!(ev.iter().all(|e| e.kind != EventKind::Clonic), "{ev:#?}");
    }

    #[test]
    fn a_blink_inside_a_burst_does_not_make_it_two_sided() {
        let mut s = quiet(30.0);
        add_closure(&mut s, &[Side::Right], 10.0, 12.0, clonic(5.0, 0.4), &[]);
        add_closure(&mut s, &Side::BOTH, 11.0, 11.25, blink, &[]);
        let ev = detect_events(&s, &EventConfig::default());
        let sp = spasms(&ev);
        assert_eq!(sp.len(), 1, "{ev:#?}");
        assert_eq!(sp[0].side, EventSide::Right);
        assert!(sp[0].start_s < 10.5 && sp[0].end_s > 11.5, "{ev:#?}");
    }

    #[test]
    fn a_burst_goes_on_through_blinks_but_not_through_a_longer_closure() {
        // Two pieces of a burst, 20 samples apart (more than the 6 a gap
        // may have), with `seen` of the samples between them seen and
        // `blinked` of them hidden by blinks (the rest by a longer closure).
        let pieces = vec![(10, 30), (50, 70)];
        let joined = |seen: std::ops::Range<usize>, blinked: std::ops::Range<usize>| {
            let mut keep = vec![true; 100];
            keep[30..50].fill(false);
            keep[seen].fill(true);
            let mut was_blink = vec![false; 100];
            was_blink[blinked].fill(true);
            let gaps = BurstGaps {
                seen: 6,
                keep: &keep,
                blinked: &was_blink,
            };
            gaps.bridge(pieces.clone()) != pieces
        };
        // Hidden by blinks (two of them, say, a frame seen between): one
        // burst.
        assert!(joined(40..41, 30..50));
        // Hidden by a closure too long for a blink (a laugh): two pieces.
        assert!(!joined(0..0, 0..0));
        // Partly by a blink, partly by a longer closure: two pieces.
        assert!(!joined(0..0, 30..40));
        // Seen for longer than a gap may be: two pieces, blinks or not.
        assert!(!joined(30..40, 30..50));
        // A gap short enough is bridged whatever hid it.
        let keep = vec![true; 100];
        let gaps = BurstGaps {
            seen: 6,
            keep: &keep,
            blinked: &[false; 100],
        };
        assert_eq!(gaps.bridge(vec![(10, 30), (35, 70)]), [(10, 70)]);
    }

    #[test]
    fn the_tonic_rule_measures_jitter_between_readings_not_interpolations() {
        // Noisy eye readings (a small or blurred face) taken every third
        // sample, as the eye model reads still lids, and interpolated in
        // between; one eye narrower by about what the readings jitter, for
        // two seconds: no evidence of a spasm.
        let mut s = quiet(30.0);
        let n = s.len();
        let mut noise = noise_source(99);
        let narrowed = |k: usize| {
            let t = k as f64 / RATE;
            if (10.0..12.0).contains(&t) { 0.78 } else { 1.0 }
        };
        for side in 0..2 {
            let read: Vec<(usize, f32)> = (0..n)
                .step_by(3)
                .map(|k| {
                    let factor = if side == 0 { narrowed(k) } else { 1.0 };
                    (k, (0.32 + 0.035 * noise()) * factor as f32)
                })
                .collect();
            for w in read.windows(2) {
                let ((ka, a), (kb, b)) = (w[0], w[1]);
                for k in ka..kb {
                    let f = (k - ka) as f32 / (kb - ka) as f32;
                    s.aperture[side][k] = a + f * (b - a);
                }
            }
        }
        s.eyes_read = (0..n).map(|k| k % 3 == 0).collect();
        let ev = detect_events(&s, &EventConfig::default());
        assert!(spasms(&ev).is_empty(), "{ev:#?}");
        // Taken as readings, the interpolated samples would make the jitter
        // look a third smaller and the narrowing a tonic spasm.
        s.eyes_read = vec![true; n];
        let ev = detect_events(&s, &EventConfig::default());
        assert!(
            spasms(&ev).iter().any(|e| e.kind == EventKind::Tonic),
            "{ev:#?}"
        );
    }

    #[test]
    fn sustained_one_sided_closure_is_tonic_with_regions() {
        let mut s = quiet(30.0);
        add_closure(
            &mut s,
            &[Side::Right],
            5.0,
            7.5,
            tonic(2.5, 0.6),
            &[Region::Cheek, Region::MouthCorner],
        );
        let ev = detect_events(&s, &EventConfig::default());
        let sp = spasms(&ev);
        assert_eq!(sp.len(), 1, "{ev:#?}");
        let e = sp[0];
        assert_eq!(e.side, EventSide::Right);
        assert_eq!(e.kind, EventKind::Tonic);
        assert!(e.regions.contains(&Region::Cheek) && e.regions.contains(&Region::MouthCorner));
        assert!(!e.regions.contains(&Region::Brow));
        assert!((e.closure.unwrap() - 0.57).abs() < 0.1, "{e:?}");
        assert!(e.amplitude > 1.0);
    }

    #[test]
    fn a_wavering_one_sided_closure_with_a_blink_inside_is_tonic() {
        // Held for 2 s, wavering by a fifth of its depth at 3 Hz (a real
        // squeeze is not steady), with a blink in the middle: both eyes
        // shut, the difference between them dips, the eye has not reopened.
        let mut s = quiet(30.0);
        add_closure(
            &mut s,
            &[Side::Left],
            5.0,
            7.0,
            |t| tonic(2.0, 0.5)(t) * (0.9 + 0.1 * (std::f64::consts::TAU * 3.0 * t).sin()),
            &[],
        );
        add_closure(&mut s, &Side::BOTH, 5.9, 6.15, blink, &[]);
        let ev = detect_events(&s, &EventConfig::default());
        only_spasm(&ev, EventSide::Left, EventKind::Tonic);
    }

    #[test]
    fn a_closure_wavering_by_more_than_the_threshold_is_tonic_until_it_reopens() {
        // Held at about two thirds for 2 s, wavering by 0.24 at
        // 2.5 Hz (more than rule 4's 0.15, never reopening halfway): one
        // narrowing. The same depth reopening fully at each twitch: a burst.
        let run = |closure: &dyn Fn(f64) -> f64| {
            let mut s = quiet(30.0);
            add_closure(&mut s, &[Side::Right], 5.0, 7.0, closure, &[]);
            detect_events(&s, &EventConfig::default())
        };
        let wave = |t: f64| (std::f64::consts::TAU * 2.5 * t).sin();
        let ev = run(&|t| tonic(2.0, 1.0)(t) * (0.55 + 0.12 * wave(t)));
        only_spasm(&ev, EventSide::Right, EventKind::Tonic);
        let ev = run(&clonic(2.5, 0.67));
        only_spasm(&ev, EventSide::Right, EventKind::Clonic);
    }

    #[test]
    fn twitches_narrowing_little_more_than_the_threshold_are_a_burst() {
        // Four a second for 1.5 s, each narrowing the eye to 0.2 and
        // reopening to 0.07 between (not quite open: the eye model lags a
        // fast lid): each stands 0.13 above the reopenings, under rule 4's
        // 0.15, but each is a brief narrowing of its own.
        let mut s = quiet(30.0);
        let twitching = |t: f64| {
            let onset = (t / 0.1).min(1.0);
            onset * (0.07 + 0.13 * (0.5 - 0.5 * (std::f64::consts::TAU * 4.0 * t).cos()))
        };
        add_closure(&mut s, &[Side::Left], 5.0, 6.5, twitching, &[]);
        let ev = detect_events(&s, &EventConfig::default());
        only_spasm(&ev, EventSide::Left, EventKind::Clonic);
    }

    #[test]
    fn brief_twitches_are_counted_at_their_rate() {
        // Seven twitches of 40 ms (a frame or two) every 0.2 s, each up to
        // 12% of the period early or late. Brief pulses spread their power
        // over the harmonics, and the spectrum of a 1.4 s burst is ~0.7 Hz
        // coarse: it finds 11 Hz here. Counting the twitches finds 5.
        let mut s = quiet(30.0);
        let mut jitter = noise_source(777);
        let offsets: Vec<f64> = (0..7).map(|_| 0.024 * jitter() as f64).collect();
        let twitch = move |t: f64| {
            offsets
                .iter()
                .enumerate()
                .map(|(i, dt)| {
                    let x = (t - 0.2 * i as f64 - dt) / 0.04;
                    if (0.0..=1.0).contains(&x) {
                        0.3 * (0.5 - 0.5 * (std::f64::consts::TAU * x).cos())
                    } else {
                        0.0
                    }
                })
                .fold(0.0, f64::max)
        };
        add_closure(&mut s, &[Side::Right], 10.0, 11.5, twitch, &[]);
        let ev = detect_events(&s, &EventConfig::default());
        let e = only_spasm(&ev, EventSide::Right, EventKind::Clonic);
        let f = e.freq_hz.expect("frequency");
        assert!((f - 5.0).abs() < 0.25, "freq {f}");
    }

    #[test]
    fn long_symmetric_closure_is_bilateral_not_blink() {
        let mut s = quiet(30.0);
        add_closure(
            &mut s,
            &Side::BOTH,
            12.0,
            14.0,
            tonic(2.0, 1.0),
            &[Region::Brow],
        );
        let ev = detect_events(&s, &EventConfig::default());
        assert_eq!(ev.len(), 1, "{ev:#?}");
        assert_eq!(ev[0].side, EventSide::Bilateral);
        assert_eq!(ev[0].kind, EventKind::Tonic);
    }

    #[test]
    fn both_eyes_twitching_together_is_a_bilateral_burst() {
        let mut s = quiet(30.0);
        // Forceful closures, four a second: blepharospasm, not blinking.
        add_closure(&mut s, &Side::BOTH, 10.0, 12.0, clonic(4.0, 0.7), &[]);
        let ev = detect_events(&s, &EventConfig::default());
        let sp = spasms(&ev);
        assert_eq!(sp.len(), 1, "{ev:#?}");
        assert!(ev.iter().all(|e| e.kind != EventKind::Blink), "{ev:#?}");
        assert_eq!(sp[0].side, EventSide::Bilateral);
        assert_eq!(sp[0].kind, EventKind::Clonic);
        let f = sp[0].freq_hz.expect("frequency");
        assert!((f - 4.0).abs() < 0.5, "freq {f}");
    }

    #[test]
    fn both_eyes_twitching_out_of_step_is_no_bilateral_burst() {
        // Both upper lids moving in the spasm band, equally: in step they
        // are one brainstem driving both eyes (blepharospasm); out of step
        // (half a twitch apart) they are what talking and a moving head do
        // to the two sides of a face.
        let bilateral = |shift: f64| {
            let mut s = quiet(30.0);
            let lid = [0.0, 1.0, 0.0];
            add_eye_area_motion(&mut s, Side::Left, 10.0, 12.0, wobble(4.0, 40.0), lid);
            let out_of_step = move |t: f64| wobble(4.0, 40.0)(t + shift);
            add_eye_area_motion(&mut s, Side::Right, 10.0, 12.0, out_of_step, lid);
            let ev = detect_events(&s, &EventConfig::default());
            spasms(&ev)
                .iter()
                .any(|e| e.side == EventSide::Bilateral && e.kind == EventKind::Clonic)
        };
        assert!(bilateral(0.0));
        // A frame apart is still together (blinks' eyes lead by as much).
        assert!(bilateral(1.0 / RATE));
        // A quarter and half a twitch apart is not.
        assert!(!bilateral(0.0625));
        assert!(!bilateral(0.125));
    }

    #[test]
    fn a_double_blink_without_full_reopening_is_two_blinks() {
        // Two blinks 0.45 s apart; between them the lids open only to 70 %
        // of their open aperture, so both eyes stay 30 % closed throughout.
        let mut s = quiet(20.0);
        let double = |t: f64| (0.3f64).max(blink(t)).max(blink(t - 0.45)).min(1.0);
        add_closure(&mut s, &Side::BOTH, 8.0, 8.7, double, &[]);
        let ev = detect_events(&s, &EventConfig::default());
        let blinks: Vec<&Event> = ev.iter().filter(|e| e.kind == EventKind::Blink).collect();
        assert_eq!(blinks.len(), 2, "{ev:#?}");
        assert!(blinks[1].start_s - blinks[0].start_s > 0.3, "{ev:#?}");
        assert!(spasms(&ev).is_empty(), "{ev:#?}");
    }

    #[test]
    fn a_slow_blink_or_a_glance_down_is_nothing() {
        // Both eyes closed for 0.7 s: longer than a blink, shorter than a
        // bilateral spasm.
        let mut s = quiet(20.0);
        add_closure(&mut s, &Side::BOTH, 8.0, 8.7, tonic(0.7, 0.9), &[]);
        let ev = detect_events(&s, &EventConfig::default());
        assert!(ev.is_empty(), "{ev:#?}");
    }

    #[test]
    fn symmetric_squinting_is_not_tonic() {
        // Both eyes narrowed by 40 % for 3 s (a laugh, a bright light).
        let mut s = quiet(20.0);
        add_closure(&mut s, &Side::BOTH, 6.0, 9.0, tonic(3.0, 0.4), &[]);
        let ev = detect_events(&s, &EventConfig::default());
        assert!(spasms(&ev).is_empty(), "{ev:#?}");
    }

    #[test]
    fn lower_lid_ripple_is_myokymia() {
        let mut s = quiet(40.0);
        let (k0, k1) = ((10.0 * RATE) as usize, (16.0 * RATE) as usize);
        let lo = Region::LowerLid.index();
        for k in k0..k1 {
            let t = k as f64 / RATE;
            let v = (2.0 * std::f64::consts::PI * 6.0 * t).cos() as f32;
            s.vy[[Side::Right.index(), lo, k]] += 15.0 * v;
            s.speed[[Side::Right.index(), lo, k]] += 15.0 * v.abs();
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
            spasms(&ev).iter().all(|e| e.kind == EventKind::Myokymia),
            "{ev:#?}"
        );
    }

    /// A ripple travelling along the lid: crests and troughs cancel in its
    /// mean velocity; only its residual speed rises.
    fn add_travelling_ripple(s: &mut Signals, sides: &[Side], t0: f64, t1: f64, extra: f32) {
        let lo = Region::LowerLid.index();
        for k in (t0 * RATE) as usize..(t1 * RATE) as usize {
            for side in sides {
                s.speed[[side.index(), lo, k]] += extra;
                s.ripple[[side.index(), lo, k]] += extra;
            }
        }
    }

    #[test]
    fn travelling_lower_lid_ripple_is_myokymia() {
        let mut s = quiet(40.0);
        add_travelling_ripple(&mut s, &[Side::Left], 10.0, 15.0, 6.0);
        let ev = detect_events(&s, &EventConfig::default());
        let sp = spasms(&ev);
        assert_eq!(sp.len(), 1, "{ev:#?}");
        assert_eq!(sp[0].kind, EventKind::Myokymia);
        assert_eq!(sp[0].side, EventSide::Left);
        assert!(sp[0].start_s < 11.0 && sp[0].end_s > 14.0, "{:?}", sp[0]);
    }

    /// A ripple travelling along `side`'s lower lid at `hz`, seen as its
    /// tilt (one end up while the other goes down), `amplitude` at its ends.
    fn add_tilt_ripple(s: &mut Signals, side: Side, t0: f64, t1: f64, hz: f64, amplitude: f32) {
        let lo = Region::LowerLid.index();
        for k in (t0 * RATE) as usize..(t1 * RATE) as usize {
            let t = k as f64 / RATE;
            let phase = (2.0 * std::f64::consts::PI * hz * t).sin() as f32;
            s.tilt[[side.index(), lo, k]] += amplitude * phase;
        }
    }

    #[test]
    fn a_lower_lid_tilting_to_a_rhythm_is_myokymia_at_that_rate() {
        // Neither the lid's mean velocity nor its residual speed rises: the
        // ripple shows only as the lid tilting one way and the other, 5 times
        // a second, for 3 s.
        let mut s = quiet(40.0);
        add_tilt_ripple(&mut s, Side::Right, 10.0, 13.0, 5.0, 8.0);
        let ev = detect_events(&s, &EventConfig::default());
        let sp = spasms(&ev);
        assert_eq!(sp.len(), 1, "{ev:#?}");
        assert_eq!(sp[0].kind, EventKind::Myokymia);
        assert_eq!(sp[0].side, EventSide::Right);
        assert!(sp[0].start_s < 11.0 && sp[0].end_s > 12.0, "{:?}", sp[0]);
        let hz = sp[0].freq_hz.expect("a rate");
        assert!((hz - 5.0).abs() < 0.4, "{hz}");
    }

    #[test]
    fn lids_tilting_together_or_unevenly_are_not_myokymia() {
        // Both lower lids tilting in the same rhythm (the head rolling, a
        // grimace), and one tilting irregularly (broadband) while the face
        // talks.
        let mut s = quiet(40.0);
        for side in Side::BOTH {
            add_tilt_ripple(&mut s, side, 5.0, 9.0, 5.0, 8.0);
        }
        let lo = Region::LowerLid.index();
        let mut noise = noise_source(99);
        for k in (25.0 * RATE) as usize..(29.0 * RATE) as usize {
            s.tilt[[Side::Left.index(), lo, k]] += 12.0 * noise();
        }
        let ev = detect_events(&s, &EventConfig::default());
        assert!(spasms(&ev).is_empty(), "{ev:#?}");
    }

    #[test]
    fn a_twitch_dragging_the_lower_lid_further_than_the_upper_lid_is_a_twitch() {
        // Twitches that narrow the right eye and pull its lower lid down
        // further than the upper lid comes down (the skin below the eye
        // moving unevenly, as a ripple does), inside a stretch where that
        // lower lid's residual speed is up.
        #[derive(PartialEq)]
        enum Eye {
            NarrowsAtEachTwitch,
            StaysOpen,
            NarrowsOnce,
        }
        let twitches = |eye: Eye| {
            let mut s = quiet(30.0);
            let (r, up, lo) = (
                Side::Right.index(),
                Region::UpperLid.index(),
                Region::LowerLid.index(),
            );
            add_closure(&mut s, &[Side::Right], 10.0, 12.5, clonic(5.0, 0.35), &[]);
            for k in (10.0 * RATE) as usize..(12.5 * RATE) as usize {
                s.vy[[r, lo, k]] = 1.5 * s.vy[[r, up, k]];
                if eye != Eye::NarrowsAtEachTwitch {
                    s.aperture[r][k] = 0.32;
                }
            }
            if eye == Eye::NarrowsOnce {
                // A quarter narrower for 0.3 s, once (a lid rippling upwards
                // on an eye a little narrower than the other to begin with).
                for k in (11.0 * RATE) as usize..(11.3 * RATE) as usize {
                    s.aperture[r][k] = 0.24;
                }
            }
            add_travelling_ripple(&mut s, &[Side::Right], 8.0, 16.0, 6.0);
            detect_events(&s, &EventConfig::default())
        };
        // The eye narrows at each twitch: a burst (the ripple is part of it).
        let ev = twitches(Eye::NarrowsAtEachTwitch);
        let e = only_spasm(&ev, EventSide::Right, EventKind::Clonic);
        assert!(e.start_s < 10.5 && e.end_s > 12.0, "{e:?}");
        // It stays open, or narrows once: the lower lid rippling.
        for eye in [Eye::StaysOpen, Eye::NarrowsOnce] {
            let ev = twitches(eye);
            only_spasm(&ev, EventSide::Right, EventKind::Myokymia);
        }
    }

    #[test]
    fn a_ripple_with_blinks_inside_is_one_episode() {
        // A 4 s ripple with a flurry of three blinks in its middle: the 2 s
        // windows holding them are hidden too long to be judged, and the
        // judged stretches either side are each under 2 s.
        let mut s = quiet(40.0);
        add_travelling_ripple(&mut s, &[Side::Right], 10.0, 14.0, 6.0);
        for t in [11.5, 12.0, 12.5] {
            add_closure(&mut s, &Side::BOTH, t, t + 0.25, blink, &[]);
        }
        let ev = detect_events(&s, &EventConfig::default());
        let sp = spasms(&ev);
        assert_eq!(sp.len(), 1, "{ev:#?}");
        assert_eq!(sp[0].kind, EventKind::Myokymia);
        assert_eq!(sp[0].side, EventSide::Right);
        assert!(sp[0].start_s < 11.0 && sp[0].end_s > 13.0, "{:?}", sp[0]);
    }

    #[test]
    fn a_lower_lid_sliding_as_a_whole_is_not_myokymia() {
        // Speech pulls one lower lid up and down: fast, but as one piece,
        // so the speed its translation leaves stays at rest.
        let mut s = quiet(40.0);
        let lo = Region::LowerLid.index();
        for k in (10.0 * RATE) as usize..(16.0 * RATE) as usize {
            s.speed[[Side::Left.index(), lo, k]] += 6.0;
        }
        let ev = detect_events(&s, &EventConfig::default());
        assert!(spasms(&ev).is_empty(), "{ev:#?}");
    }

    #[test]
    fn both_lower_lids_moving_is_not_myokymia() {
        // Talking moves both lower lids alike; a brief one-sided flicker is
        // too short to be an episode.
        let mut s = quiet(40.0);
        add_travelling_ripple(&mut s, &Side::BOTH, 10.0, 18.0, 6.0);
        add_travelling_ripple(&mut s, &[Side::Right], 25.0, 26.0, 6.0);
        let ev = detect_events(&s, &EventConfig::default());
        assert!(spasms(&ev).is_empty(), "{ev:#?}");
    }

    #[test]
    fn fast_head_motion_starts_no_event() {
        let mut s = quiet(30.0);
        add_closure(&mut s, &[Side::Left], 10.0, 11.6, clonic(5.0, 0.4), &[]);
        for h in &mut s.head_speed[(9.0 * RATE) as usize..(13.0 * RATE) as usize] {
            *h = 400.0;
        }
        let ev = detect_events(&s, &EventConfig::default());
        assert!(spasms(&ev).is_empty(), "{ev:#?}");
    }

    #[test]
    fn head_moving_fraction_counts_fast_head_over_the_measured_samples() {
        let config = EventConfig::default();
        let mut s = quiet(10.0);
        assert_eq!(head_moving_fraction(&s, &config), 0.0);
        // The head fast over the first 3 s; no face over the last 5 s
        // (fast or not, unmeasured samples are not counted).
        let n = s.len();
        let fast = 2.0 * config.max_head_speed;
        s.head_speed[..90].fill(fast);
        s.head_speed[n - 150..].fill(fast);
        s.valid[n - 150..].fill(false);
        assert!((head_moving_fraction(&s, &config) - 90.0 / 150.0).abs() < 1e-9);
        // At the limit the head is still calm enough to judge.
        s.head_speed[..90].fill(config.max_head_speed);
        assert_eq!(head_moving_fraction(&s, &config), 0.0);
        s.valid.fill(false);
        assert_eq!(head_moving_fraction(&s, &config), 0.0);
    }

    #[test]
    fn quiet_recording_has_no_events() {
        let s = quiet(60.0);
        assert!(detect_events(&s, &EventConfig::default()).is_empty());
    }

    #[test]
    fn helpers_behave() {
        assert_eq!(
            bridge(vec![(0, 3), (5, 8), (20, 22)], 2),
            vec![(0, 8), (20, 22)]
        );
        let held = interpolate_gaps(&[1.0, 9.0, 9.0, 4.0], &[true, false, false, true]);
        assert_eq!(held, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(
            dilate(&[false, false, true, false, false], 1),
            vec![false, true, true, true, false]
        );
        // Peaks at 1 and 7 stand 2 and 3.2 above their surroundings; the
        // bump at 3 (0.5) and the shoulder at 5 (0.5 above the dip before
        // the higher 7) do not; nor does the last sample, an end.
        let x = [0.0, 2.0, 0.0, 0.5, 0.0, 3.0, 2.5, 3.2, 0.0, 1.0];
        let at = prominent_peaks(&x, 1.0, 1);
        assert_eq!(at.len(), 2, "{at:?}");
        assert!(
            (at[0] - 1.0).abs() < 1e-9 && at[1] > 6.5 && at[1] < 7.0,
            "{at:?}"
        );
        // Too close together: the earlier is kept.
        assert_eq!(
            prominent_peaks(&[0.0, 2.0, 0.0, 2.0, 0.0], 1.0, 3),
            vec![1.0]
        );
        let rms = masked_rms(&[3.0, 100.0, 3.0, 3.0], &[true, false, true, true], 3);
        assert!(
            (rms[1] - 3.0).abs() < 1e-4 && (rms[2] - 3.0).abs() < 1e-4,
            "{rms:?}"
        );
    }
}
