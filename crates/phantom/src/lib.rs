//! The phantom: renders face videos with known spasm ground truth.
//!
//! A real face photo (the public-domain NASA astronaut portrait in
//! `samples/astronaut.png`, embedded in the binary) is animated with local,
//! smooth, backward-mapped displacement fields that move skin the way the
//! facial muscles do: upper-lid descent (blinks, clonic twitches, tonic
//! closures), lower-lid ripple (myokymia), cheek raise, mouth-corner pull,
//! brow lift and, for the talking distractor, a jaw drop. A slow global
//! similarity transform (head sway), lighting drift, optional flicker and
//! Gaussian sensor noise are applied on top; [`render`] pipes the frames to
//! `ffmpeg` (H.264) and [`SyntheticSource`] yields the same frames in memory.
//!
//! Sides are the patient's: patient LEFT is image RIGHT (frames are never
//! mirrored). Every event, its timing, rate and amplitude comes from the seed,
//! and the [`Truth`] returned uses the schema of the development bench
//! (`*.truth.json`).
//!
//! [`render_on_base`] draws the same warps onto a real face video instead of
//! the photo (see the `base` submodule).

use std::fmt;
use std::path::{Path, PathBuf};
#[cfg(test)]
use std::process::Command;
use std::str::FromStr;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

pub(crate) use twitchscope_engine::encode::Encoder;
use twitchscope_engine::frame::{Frame, FrameSource, SourceInfo};
use twitchscope_engine::regions::Side;

mod base;
pub use base::{
    BASE_CRF, BaseSpec, BaseTruth, FACE_MARGIN_S, ping_pong_index, render_on_base, write_base_truth,
};

// ---------------------------------------------------------------------------
// Scenarios and spec
// ---------------------------------------------------------------------------

/// What the phantom patient does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Natural symmetric blinks only (10-20 per minute); nothing to report.
    RestBlinks,
    /// Bursts of 4-6 Hz lid twitches of the patient's left eye, plus blinks.
    LeftClonicEye,
    /// Bursts of 4-6 Hz lid twitches of the patient's right eye, plus blinks.
    RightClonicEye,
    /// Patient-left hemifacial spasm: tonic closures with cheek, mouth and
    /// brow (synkinesis) and clonic bursts with cheek and mouth, plus blinks.
    LeftTonicSynkinesis,
    /// Patient-right hemifacial spasm (see [`Scenario::LeftTonicSynkinesis`]).
    RightTonicSynkinesis,
    /// Lower-lid ripple episodes (3-8 Hz) of the patient's left eye.
    LeftMyokymia,
    /// Lower-lid ripple episodes (3-8 Hz) of the patient's right eye.
    RightMyokymia,
    /// Blepharospasm-like: both eyes close together, clonic or tonic,
    /// longer than blinks; frequent blinks.
    Bilateral,
    /// Distractor: speech-like mouth and jaw motion on both sides, blinks,
    /// no spasm.
    Talking,
}

impl Scenario {
    /// Every scenario, in a stable order.
    pub const ALL: [Scenario; 9] = [
        Scenario::RestBlinks,
        Scenario::LeftClonicEye,
        Scenario::RightClonicEye,
        Scenario::LeftTonicSynkinesis,
        Scenario::RightTonicSynkinesis,
        Scenario::LeftMyokymia,
        Scenario::RightMyokymia,
        Scenario::Bilateral,
        Scenario::Talking,
    ];

    /// The snake_case name used on the command line and in file names.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::RestBlinks => "rest_blinks",
            Scenario::LeftClonicEye => "left_clonic_eye",
            Scenario::RightClonicEye => "right_clonic_eye",
            Scenario::LeftTonicSynkinesis => "left_tonic_synkinesis",
            Scenario::RightTonicSynkinesis => "right_tonic_synkinesis",
            Scenario::LeftMyokymia => "left_myokymia",
            Scenario::RightMyokymia => "right_myokymia",
            Scenario::Bilateral => "bilateral",
            Scenario::Talking => "talking",
        }
    }

    /// `"left"`, `"right"`, `"bilateral"` or `"none"` (patient sides).
    pub fn expected_laterality(self) -> &'static str {
        match self {
            Scenario::RestBlinks | Scenario::Talking => "none",
            Scenario::LeftClonicEye | Scenario::LeftTonicSynkinesis | Scenario::LeftMyokymia => {
                "left"
            }
            Scenario::RightClonicEye | Scenario::RightTonicSynkinesis | Scenario::RightMyokymia => {
                "right"
            }
            Scenario::Bilateral => "bilateral",
        }
    }

    fn spasm_side(self) -> Option<Side> {
        match self.expected_laterality() {
            "left" => Some(Side::Left),
            "right" => Some(Side::Right),
            _ => None,
        }
    }

    fn notes(self) -> &'static str {
        match self {
            Scenario::RestBlinks => "natural bilateral blinks only",
            Scenario::LeftClonicEye => "clonic periocular bursts, patient-left",
            Scenario::RightClonicEye => "clonic periocular bursts, patient-right",
            Scenario::LeftTonicSynkinesis => {
                "tonic spasms eye+cheek+mouth+brow and clonic bursts with synkinesis, patient-left"
            }
            Scenario::RightTonicSynkinesis => {
                "tonic spasms eye+cheek+mouth+brow and clonic bursts with synkinesis, patient-right"
            }
            Scenario::LeftMyokymia => "lower-lid myokymia ripple episodes, patient-left",
            Scenario::RightMyokymia => "lower-lid myokymia ripple episodes, patient-right",
            Scenario::Bilateral => "blepharospasm-like bilateral clonic and tonic closures",
            Scenario::Talking => "talking distractor: mouth and jaw motion, blinks, no spasm",
        }
    }
}

/// The scenario names accepted by [`Scenario::from_str`], in a stable order.
pub fn scenario_names() -> Vec<&'static str> {
    Scenario::ALL.iter().map(|s| s.name()).collect()
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = anyhow::Error;

    /// Accepts the snake_case names; `-` may replace `_`, case-insensitive.
    fn from_str(s: &str) -> Result<Self> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        Scenario::ALL
            .iter()
            .copied()
            .find(|sc| sc.name() == norm)
            .ok_or_else(|| {
                anyhow!(
                    "unknown scenario {s:?}; expected one of: {}",
                    scenario_names().join(", ")
                )
            })
    }
}

/// Everything that defines a phantom video. Same spec, same frames.
#[derive(Clone, Debug)]
pub struct SynthSpec {
    pub scenario: Scenario,
    /// Seeds event timing, rates, amplitudes, head motion, lighting and noise.
    pub seed: u64,
    /// Frame rate (30 or 60 typically; any positive rate works).
    pub fps: u32,
    /// Clip length in seconds.
    pub seconds: f64,
    /// Output frame size (default 640x480; the face is framed like the bench).
    pub width: usize,
    pub height: usize,
    /// Head motion amplitude: 0 = still, 1 = natural sway (about ±4 px,
    /// ±1°, ±1.5 % scale at 640x480), larger = more.
    pub head_motion: f32,
    /// Slow lighting drift amplitude: 0 = constant, 1 = about ±6 % gain
    /// plus a drifting left-right gradient.
    pub lighting_drift: f32,
    /// Mains-light flicker (relative gain amplitude, e.g. 0.03), seen at the
    /// alias of 100 Hz for the frame rate. 0 = none.
    pub flicker: f32,
    /// Gaussian sensor noise, standard deviation in 8-bit levels.
    pub noise_sigma: f32,
    /// H.264 constant rate factor used by [`render`].
    pub crf: u32,
    /// Scales every spasm warp (lid closure, lower-lid ripple, cheek, mouth
    /// corner, brow): 1 = the obvious twitch, 0.3 = a subtle lid flicker.
    /// Blinks and talking are not scaled; event timing does not depend on it.
    pub amplitude: f32,
    /// Face photo to animate; `None` = the embedded astronaut portrait.
    pub photo: Option<PathBuf>,
    /// Face geometry on the photo, in photo pixels; `None` = located with
    /// the FaceMesh tracker (about 0.3 s; for the embedded photo the
    /// hand-measured [`FaceGeometry::astronaut_fallback`] is used if the
    /// tracker fails). Tests set it to skip the tracker.
    pub geometry: Option<FaceGeometry>,
}

impl Default for SynthSpec {
    fn default() -> Self {
        SynthSpec {
            scenario: Scenario::LeftTonicSynkinesis,
            seed: 1,
            fps: 30,
            seconds: 30.0,
            width: 640,
            height: 480,
            head_motion: 1.0,
            lighting_drift: 1.0,
            flicker: 0.0,
            noise_sigma: 2.0,
            crf: 23,
            amplitude: 1.0,
            photo: None,
            geometry: None,
        }
    }
}

impl SynthSpec {
    /// Number of frames in the clip.
    pub fn frame_count(&self) -> u64 {
        (self.seconds * self.fps as f64).round().max(0.0) as u64
    }

    fn validate(&self) -> Result<()> {
        if self.fps == 0 {
            bail!("fps must be positive");
        }
        if !(self.seconds.is_finite() && self.seconds > 0.0) {
            bail!("seconds must be positive, got {}", self.seconds);
        }
        if self.width < 16
            || self.height < 16
            || !self.width.is_multiple_of(2)
            || !self.height.is_multiple_of(2)
        {
            bail!(
                "output size must be even and at least 16x16, got {}x{}",
                self.width,
                self.height
            );
        }
        if self.crf > 51 {
            bail!("crf must be 0..=51, got {}", self.crf);
        }
        check_amplitude(self.amplitude)
    }
}

/// Largest accepted warp amplitude: beyond it the lid closure saturates and
/// the skin bumps tear.
pub const MAX_AMPLITUDE: f32 = 3.0;

fn check_amplitude(a: f32) -> Result<()> {
    if !(a.is_finite() && a > 0.0 && a <= MAX_AMPLITUDE) {
        bail!("amplitude must be in (0, {MAX_AMPLITUDE}], got {a}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Ground truth (bench schema)
// ---------------------------------------------------------------------------

/// One spasm event of the ground truth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruthEvent {
    pub start_s: f64,
    pub end_s: f64,
    /// `"left"`, `"right"` (patient sides) or `"bilateral"`.
    pub side: String,
    /// `"clonic"`, `"tonic"` or `"myokymia"`.
    pub kind: String,
    /// Twitch / ripple rate; `None` for tonic events.
    pub rate_hz: Option<f64>,
    /// Involved regions among `"eye"`, `"cheek"`, `"mouth"`, `"brow"`.
    pub regions: Vec<String>,
}

/// One natural (bilateral, symmetric) blink.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruthBlink {
    pub start_s: f64,
    pub end_s: f64,
}

/// Ground truth of a phantom video, same schema as the bench's `*.truth.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub name: String,
    pub fps: u32,
    pub seconds: f64,
    /// `"left"`, `"right"`, `"bilateral"` or `"none"`.
    pub expected_laterality: String,
    pub events: Vec<TruthEvent>,
    pub blinks: Vec<TruthBlink>,
    pub mirrored: bool,
    /// The warp amplitude when it is not 1 (absent otherwise, so default
    /// phantoms keep exactly the bench's keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amplitude: Option<f64>,
    pub notes: String,
}

/// Writes `truth` as pretty JSON (one-space indent, like the bench files).
pub fn write_truth(truth: &Truth, path: &Path) -> Result<()> {
    write_pretty_json(truth, path)
}

fn write_pretty_json<T: Serialize>(value: &T, path: &Path) -> Result<()> {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    value.serialize(&mut ser)?;
    buf.push(b'\n');
    std::fs::write(path, buf).with_context(|| format!("writing {}", path.display()))
}

/// Reads a `*.truth.json` file (ours or the bench's).
pub fn read_truth(path: &Path) -> Result<Truth> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

// ---------------------------------------------------------------------------
// Face geometry
// ---------------------------------------------------------------------------

/// The renderer keeps its per-side arrays (geometry, muscle state, warps) in
/// image order, left to right in an un-mirrored frame: the patient's right
/// side first. [`image_slot`] is the one place that maps a [`Side`] to it.
const IMAGE_ORDER: [Side; 2] = [Side::Right, Side::Left];

/// Position of `side` in the renderer's image-order arrays.
fn image_slot(side: Side) -> usize {
    match side {
        Side::Right => 0,
        Side::Left => 1,
    }
}

/// Landmarks of one side of the face, in photo pixels (x right, y down).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SideGeometry {
    pub eye_center: [f32; 2],
    pub eye_half_w: f32,
    pub eye_half_h: f32,
    /// Upper lid line: outer corner, mid point, inner corner.
    pub upper_lid: [[f32; 2]; 3],
    /// Lower lid line: outer corner, mid point, inner corner.
    pub lower_lid: [[f32; 2]; 3],
    pub brow_center: [f32; 2],
    pub cheek_center: [f32; 2],
    pub mouth_corner: [f32; 2],
}

/// Both sides of the face, in image order ([`image_slot`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaceGeometry {
    pub sides: [SideGeometry; 2],
}

/// MediaPipe face-mesh indices (patient right, patient left).
mod mp {
    pub const EYE_OUTER: [usize; 2] = [33, 263];
    pub const EYE_INNER: [usize; 2] = [133, 362];
    pub const UPPER_LID: [usize; 2] = [159, 386];
    pub const LOWER_LID: [usize; 2] = [145, 374];
    pub const BROW: [[usize; 5]; 2] = [[70, 63, 105, 66, 107], [300, 293, 334, 296, 336]];
    pub const CHEEK: [[usize; 2]; 2] = [[50, 205], [280, 425]];
    pub const MOUTH_CORNER: [usize; 2] = [61, 291];
}

fn mean_pt(points: &[[f32; 3]], idx: &[usize]) -> [f32; 2] {
    let n = idx.len() as f32;
    let (sx, sy) = idx.iter().fold((0.0, 0.0), |(sx, sy), &i| {
        (sx + points[i][0], sy + points[i][1])
    });
    [sx / n, sy / n]
}

fn side_from_points(
    outer: [f32; 2],
    inner: [f32; 2],
    upper: [f32; 2],
    lower: [f32; 2],
    brow: [f32; 2],
    cheek: [f32; 2],
    mouth: [f32; 2],
) -> SideGeometry {
    let eye_center = [
        (outer[0] + inner[0] + upper[0] + lower[0]) * 0.25,
        (outer[1] + inner[1] + upper[1] + lower[1]) * 0.25,
    ];
    let eye_half_w = 0.5 * ((outer[0] - inner[0]).powi(2) + (outer[1] - inner[1]).powi(2)).sqrt();
    let eye_half_h = 0.5 * ((upper[0] - lower[0]).powi(2) + (upper[1] - lower[1]).powi(2)).sqrt();
    SideGeometry {
        eye_center,
        eye_half_w,
        eye_half_h,
        upper_lid: [outer, upper, inner],
        lower_lid: [outer, lower, inner],
        brow_center: brow,
        cheek_center: cheek,
        mouth_corner: mouth,
    }
}

impl FaceGeometry {
    /// Builds the geometry from 468 (or 478) MediaPipe face-mesh landmarks in
    /// image pixels.
    pub fn from_landmarks(points: &[[f32; 3]]) -> Result<FaceGeometry> {
        if points.len() < 468 {
            bail!(
                "expected at least 468 face-mesh landmarks, got {}",
                points.len()
            );
        }
        let g = FaceGeometry::build(points);
        g.check()?;
        Ok(g)
    }

    /// The geometry of `points` (at least 468), unchecked.
    fn build(points: &[[f32; 3]]) -> FaceGeometry {
        let p2 = |i: usize| [points[i][0], points[i][1]];
        let side = |s: usize| {
            side_from_points(
                p2(mp::EYE_OUTER[s]),
                p2(mp::EYE_INNER[s]),
                p2(mp::UPPER_LID[s]),
                p2(mp::LOWER_LID[s]),
                mean_pt(points, &mp::BROW[s]),
                mean_pt(points, &mp::CHEEK[s]),
                p2(mp::MOUTH_CORNER[s]),
            )
        };
        FaceGeometry {
            sides: [side(0), side(1)],
        }
    }

    /// Hand-measured geometry of the embedded astronaut portrait (512x512).
    pub fn astronaut_fallback() -> FaceGeometry {
        FaceGeometry {
            sides: [
                // Patient right = image left.
                side_from_points(
                    [192.5, 100.6],
                    [213.0, 102.0],
                    [203.0, 97.0],
                    [203.0, 104.4],
                    [202.0, 89.5],
                    [197.5, 120.0],
                    [202.5, 140.0],
                ),
                // Patient left = image right.
                side_from_points(
                    [259.0, 102.5],
                    [236.0, 104.4],
                    [246.0, 99.4],
                    [246.0, 106.0],
                    [249.0, 92.0],
                    [251.0, 122.5],
                    [245.0, 140.6],
                ),
            ],
        }
    }

    /// Sanity checks: patient right must be image-left, lids ordered.
    fn check(&self) -> Result<()> {
        let r = &self.sides[image_slot(Side::Right)];
        let l = &self.sides[image_slot(Side::Left)];
        if r.eye_center[0] >= l.eye_center[0] {
            bail!("face geometry: the patient's right eye must be on the image left");
        }
        for s in &self.sides {
            if s.eye_half_w < 2.0 || s.eye_half_h < 0.5 || s.upper_lid[1][1] >= s.lower_lid[1][1] {
                bail!("face geometry: implausible eye {s:?}");
            }
        }
        Ok(())
    }

    fn inter_ocular(&self) -> f32 {
        let a = self.sides[0].eye_center;
        let b = self.sides[1].eye_center;
        ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
    }

    fn mid_eyes(&self) -> [f32; 2] {
        let a = self.sides[0].eye_center;
        let b = self.sides[1].eye_center;
        [(a[0] + b[0]) * 0.5, (a[1] + b[1]) * 0.5]
    }
}

// ---------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------

/// SplitMix64: tiny, fast, good enough for timing and noise.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }
    #[inline]
    fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }
    fn int(&mut self, lo: u32, hi_incl: u32) -> u32 {
        lo + (self.next_u64() % (hi_incl - lo + 1) as u64) as u32
    }
    fn normal(&mut self) -> f64 {
        let u1 = self.f64().max(1e-300);
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[inline]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Deterministic uniform in [0, 1) from a key (allocation-free per-twitch jitter).
#[inline]
fn hash01(a: u64, b: u64) -> f64 {
    (mix64(a ^ mix64(b.wrapping_add(0x632B_E59B_D9B4_E019))) >> 11) as f64
        * (1.0 / (1u64 << 53) as f64)
}

// ---------------------------------------------------------------------------
// The plan: events and their time courses
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Clonic,
    Tonic,
    Myokymia,
}

/// Which sides an event drives.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    One(Side),
    Both,
}

impl Who {
    fn drives(self, s: Side) -> bool {
        match self {
            Who::One(x) => x == s,
            Who::Both => true,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Who::One(s) => s.name(),
            Who::Both => "bilateral",
        }
    }
}

#[derive(Clone, Debug)]
struct Event {
    kind: Kind,
    who: Who,
    start: f64,
    end: f64,
    /// Clonic twitch rate / myokymia ripple rate.
    rate: f64,
    n_twitches: u32,
    /// Twitch pulse width (s) for clonic events.
    pulse: f64,
    /// Peak lid closure (0..1) for clonic/tonic; ripple amplitude in output
    /// pixels for myokymia.
    amp: f64,
    /// Synkinesis gains (cheek, mouth, brow) relative to the lid closure.
    cheek: f64,
    mouth: f64,
    brow: f64,
    key: u64,
    regions: &'static [&'static str],
}

#[derive(Clone, Debug)]
struct Blink {
    start: f64,
    close: f64,
    hold: f64,
    open: f64,
    depth: f64,
}

impl Blink {
    fn end(&self) -> f64 {
        self.start + self.close + self.hold + self.open
    }
    fn closure(&self, t: f64) -> f64 {
        let dt = t - self.start;
        if dt <= 0.0 || t >= self.end() {
            return 0.0;
        }
        let v = if dt < self.close {
            smooth(dt / self.close)
        } else if dt < self.close + self.hold {
            1.0
        } else {
            1.0 - smooth((dt - self.close - self.hold) / self.open)
        };
        v * self.depth
    }
}

/// A speech segment for the talking distractor.
#[derive(Clone, Debug)]
struct Speech {
    start: f64,
    end: f64,
    rate: f64,
    amp: f64,
    key: u64,
}

#[inline]
fn smooth(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

/// Raised-cosine pulse on [0, 1]: 0 → 1 → 0.
#[inline]
fn pulse01(x: f64) -> f64 {
    if !(0.0..=1.0).contains(&x) {
        0.0
    } else {
        0.5 - 0.5 * (std::f64::consts::TAU * x).cos()
    }
}

/// Muscle state of one side at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct SideState {
    /// Upper-lid closure 0 (open) .. 1 (shut).
    closure: f32,
    /// Lower-lid vertical ripple, output pixels (positive = down) and the
    /// travelling-wave phase.
    ripple_px: f32,
    ripple_phase: f32,
    /// Cheek raise 0..1.
    cheek: f32,
    /// Mouth-corner pull 0..1 (up and out); negative = pursing (in).
    mouth: f32,
    /// Brow lift 0..1.
    brow: f32,
}

/// Everything that changes from frame to frame.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct FaceState {
    sides: [SideState; 2],
    /// Jaw drop 0..1 (talking).
    jaw: f32,
    /// Head pose: translation (output px), rotation (rad), scale factor.
    tx: f32,
    ty: f32,
    rot: f32,
    scale: f32,
    /// Global gain, horizontal gain gradient (per half frame width).
    gain: f32,
    gain_grad: f32,
}

#[derive(Clone, Debug)]
struct Plan {
    fps: u32,
    seconds: f64,
    scenario: Scenario,
    events: Vec<Event>,
    blinks: Vec<Blink>,
    speech: Vec<Speech>,
    // Head sway: per component (tx, ty, rot, scale) two sinusoids.
    sway: [[(f64, f64, f64); 2]; 4],
    head_motion: f64,
    light: [(f64, f64, f64); 3],
    lighting_drift: f64,
    flicker: f64,
    flicker_hz: f64,
    /// Scale of every spasm warp ([`SynthSpec::amplitude`]).
    amplitude: f64,
}

const REG_EYE: &[&str] = &["eye"];
const REG_SYNK: &[&str] = &["eye", "cheek", "mouth"];
const REG_TONIC: &[&str] = &["eye", "cheek", "mouth", "brow"];
const REG_EYE_CHEEK: &[&str] = &["eye", "cheek"];

fn round_ms(t: f64) -> f64 {
    (t * 1000.0).round() / 1000.0
}

/// Aliased frequency of a `f` Hz flicker sampled at `fps`.
fn alias_hz(f: f64, fps: f64) -> f64 {
    let r = f.rem_euclid(fps);
    r.min(fps - r)
}

/// Event generators shared by the photo planner ([`Plan::new`]) and the
/// base-video planner. Each draws from `rng` in a fixed order, so a seed
/// gives the same events whichever planner calls them.
impl Event {
    /// A burst of 4-6 Hz lid twitches (with cheek and mouth when `regions`
    /// name them).
    fn clonic(rng: &mut Rng, who: Who, start: f64, regions: &'static [&'static str]) -> Event {
        let rate = rng.int(4, 6) as f64;
        let dur = rng.range(1.0, 2.5);
        let n = ((dur * rate).round() as u32).max(4);
        // Each twitch lasts from 60 ms (a frame or two on a webcam, as brief
        // as an orbicularis twitch gets) to 80% of the period (neighbouring
        // twitches nearly merge): a detector must see both.
        let pulse = rng.range(0.06, 0.8 / rate);
        let synk = regions.len() > 1;
        Event {
            kind: Kind::Clonic,
            who,
            start,
            end: start + (n - 1) as f64 / rate + pulse,
            rate,
            n_twitches: n,
            pulse,
            amp: rng.range(0.35, 0.6),
            cheek: if synk { rng.range(0.4, 0.7) } else { 0.0 },
            mouth: if synk { rng.range(0.4, 0.7) } else { 0.0 },
            brow: 0.0,
            key: rng.next_u64(),
            regions,
        }
    }

    /// A held closure of 1.5-3 s with the regions' synkinesis.
    fn tonic(rng: &mut Rng, who: Who, start: f64, regions: &'static [&'static str]) -> Event {
        let dur = rng.range(1.5, 3.0);
        let has = |r: &str| regions.contains(&r);
        Event {
            kind: Kind::Tonic,
            who,
            start,
            end: start + dur,
            rate: 0.0,
            n_twitches: 0,
            pulse: 0.0,
            amp: rng.range(0.8, 1.0),
            cheek: if has("cheek") {
                rng.range(0.7, 1.0)
            } else {
                0.0
            },
            mouth: if has("mouth") {
                rng.range(0.7, 1.0)
            } else {
                0.0
            },
            brow: if has("brow") {
                rng.range(0.6, 1.0)
            } else {
                0.0
            },
            key: rng.next_u64(),
            regions,
        }
    }

    /// A 3-8 s lower-lid ripple episode at 3-8 Hz.
    fn myokymia(rng: &mut Rng, who: Who, start: f64) -> Event {
        let dur = rng.range(3.0, 8.0);
        Event {
            kind: Kind::Myokymia,
            who,
            start,
            end: start + dur,
            rate: (rng.range(3.0, 8.0) * 2.0).round() / 2.0,
            n_twitches: 0,
            pulse: 0.0,
            amp: rng.range(1.2, 2.8),
            cheek: 0.0,
            mouth: 0.0,
            brow: 0.0,
            key: rng.next_u64(),
            regions: REG_EYE,
        }
    }

    /// Blepharospasm-like: both eyes, a slow forceful clonic burst or a tonic
    /// closure with cheeks, half and half.
    fn bilateral(rng: &mut Rng, t: f64) -> Event {
        if rng.f64() < 0.5 {
            let mut e = Event::clonic(rng, Who::Both, t, REG_EYE);
            // Blepharospasm twitches are forceful, slower than HFS.
            e.rate = rng.int(3, 5) as f64;
            e.n_twitches = ((rng.range(1.2, 2.5) * e.rate).round() as u32).max(4);
            e.pulse = rng.range(0.6, 0.75) / e.rate;
            e.end = t + (e.n_twitches - 1) as f64 / e.rate + e.pulse;
            e.amp = rng.range(0.6, 0.9);
            e
        } else {
            let mut e = Event::tonic(rng, Who::Both, t, REG_EYE_CHEEK);
            e.cheek = rng.range(0.4, 0.7);
            e
        }
    }
}

impl Plan {
    fn new(spec: &SynthSpec) -> Plan {
        let mut rng = Rng::new(spec.seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0xA11CE);
        let t_end = spec.seconds;
        let mut events = Vec::new();
        let mut speech = Vec::new();
        let sc = spec.scenario;

        let mut t = rng.range(2.0, 4.0);
        let margin = 0.8;
        match sc {
            Scenario::RestBlinks => {}
            Scenario::LeftClonicEye | Scenario::RightClonicEye => {
                let who = Who::One(sc.spasm_side().unwrap());
                loop {
                    let e = Event::clonic(&mut rng, who, t, REG_EYE);
                    if e.end > t_end - margin {
                        break;
                    }
                    t = e.end + rng.range(3.5, 8.0);
                    events.push(e);
                }
            }
            Scenario::LeftTonicSynkinesis | Scenario::RightTonicSynkinesis => {
                let who = Who::One(sc.spasm_side().unwrap());
                let mut i = 0;
                loop {
                    // First event clonic, then a random mix leaning tonic.
                    let e = if i > 0 && rng.f64() < 0.55 {
                        Event::tonic(&mut rng, who, t, REG_TONIC)
                    } else {
                        Event::clonic(&mut rng, who, t, REG_SYNK)
                    };
                    if e.end > t_end - margin {
                        break;
                    }
                    t = e.end + rng.range(3.0, 6.5);
                    events.push(e);
                    i += 1;
                }
            }
            Scenario::LeftMyokymia | Scenario::RightMyokymia => {
                let who = Who::One(sc.spasm_side().unwrap());
                loop {
                    let e = Event::myokymia(&mut rng, who, t);
                    if e.end > t_end - margin {
                        break;
                    }
                    t = e.end + rng.range(2.5, 6.0);
                    events.push(e);
                }
            }
            Scenario::Bilateral => loop {
                let e = Event::bilateral(&mut rng, t);
                if e.end > t_end - margin {
                    break;
                }
                t = e.end + rng.range(2.5, 6.0);
                events.push(e);
            },
            Scenario::Talking => {
                let mut t = rng.range(0.5, 2.0);
                loop {
                    let dur = rng.range(2.0, 6.0);
                    if t + dur > t_end - 0.3 {
                        break;
                    }
                    speech.push(Speech {
                        start: t,
                        end: t + dur,
                        rate: rng.range(3.0, 5.5),
                        amp: rng.range(0.6, 1.0),
                        key: rng.next_u64(),
                    });
                    t += dur + rng.range(0.5, 2.5);
                }
            }
        }

        // Blinks: Poisson process, kept clear of spasm events.
        let per_min = match sc {
            Scenario::RestBlinks
            | Scenario::Talking
            | Scenario::LeftMyokymia
            | Scenario::RightMyokymia => rng.range(10.0, 20.0),
            Scenario::Bilateral => rng.range(14.0, 24.0),
            _ => rng.range(5.0, 12.0),
        };
        let mut blinks: Vec<Blink> = Vec::new();
        let mut tb = rng.range(0.3, 60.0 / per_min);
        while tb < t_end {
            let b = Blink {
                start: tb,
                close: rng.range(0.075, 0.11),
                hold: rng.range(0.02, 0.09),
                open: rng.range(0.11, 0.16),
                depth: if rng.f64() < 0.85 {
                    1.0
                } else {
                    rng.range(0.75, 0.95)
                },
            };
            let clear_events = events
                .iter()
                .all(|e| b.end() + 0.6 < e.start || b.start > e.end + 0.6);
            let clear_blinks = blinks.last().is_none_or(|p| b.start > p.end() + 0.8);
            if b.start > 0.3 && b.end() < t_end - 0.3 && clear_events && clear_blinks {
                blinks.push(b);
            }
            // Exponential gaps, with a refractory minimum.
            tb += (-(1.0 - rng.f64()).ln() * 60.0 / per_min).max(0.9);
        }

        let mut sway = [[(0.0, 0.0, 0.0); 2]; 4];
        for comp in sway.iter_mut() {
            for (k, s) in comp.iter_mut().enumerate() {
                let w = if k == 0 { 1.0 } else { 0.45 };
                *s = (
                    w * rng.range(0.7, 1.0),
                    rng.range(0.04, 0.25) * if k == 0 { 1.0 } else { 1.8 },
                    rng.range(0.0, std::f64::consts::TAU),
                );
            }
        }
        let mut light = [(0.0, 0.0, 0.0); 3];
        for l in light.iter_mut() {
            *l = (
                rng.range(0.6, 1.0),
                rng.range(0.02, 0.12),
                rng.range(0.0, std::f64::consts::TAU),
            );
        }

        Plan {
            fps: spec.fps,
            seconds: spec.seconds,
            scenario: sc,
            events,
            blinks,
            speech,
            sway,
            head_motion: spec.head_motion as f64,
            light,
            lighting_drift: spec.lighting_drift as f64,
            flicker: spec.flicker as f64,
            flicker_hz: alias_hz(100.0, spec.fps as f64),
            amplitude: spec.amplitude as f64,
        }
    }

    fn truth(&self, name: &str) -> Truth {
        // Default phantoms keep their historical truth files byte for byte.
        let scaled = self.amplitude != 1.0;
        let amplitude = round_ms(self.amplitude); // the f32 it came from, tidied
        let mut notes = self.scenario.notes().to_string();
        if scaled {
            notes.push_str(&format!("; warp amplitude {amplitude}"));
        }
        Truth {
            name: name.to_string(),
            fps: self.fps,
            seconds: self.seconds,
            expected_laterality: self.scenario.expected_laterality().to_string(),
            events: self.truth_events(),
            blinks: self
                .blinks
                .iter()
                .map(|b| TruthBlink {
                    start_s: round_ms(b.start),
                    end_s: round_ms(b.end()),
                })
                .collect(),
            mirrored: false,
            amplitude: scaled.then_some(amplitude),
            notes,
        }
    }

    /// The events in the bench's truth schema.
    fn truth_events(&self) -> Vec<TruthEvent> {
        self.events
            .iter()
            .map(|e| TruthEvent {
                start_s: round_ms(e.start),
                end_s: round_ms(e.end),
                side: e.who.name().to_string(),
                kind: match e.kind {
                    Kind::Clonic => "clonic",
                    Kind::Tonic => "tonic",
                    Kind::Myokymia => "myokymia",
                }
                .to_string(),
                rate_hz: (e.kind != Kind::Tonic).then_some(e.rate),
                regions: e.regions.iter().map(|r| r.to_string()).collect(),
            })
            .collect()
    }

    /// Muscle state, head pose and lighting at time `t`. Allocation-free.
    fn state_at(&self, t: f64) -> FaceState {
        let mut st = FaceState {
            scale: 1.0,
            gain: 1.0,
            ..FaceState::default()
        };
        let blink = self.blinks.iter().map(|b| b.closure(t)).fold(0.0, f64::max);

        let mut sides = [[0.0f64; 6]; 2]; // closure, ripple, phase, cheek, mouth, brow
        for e in &self.events {
            if t < e.start - 0.05 || t > e.end + 0.05 {
                continue;
            }
            let (clo, ch, mo, br, rip, ph) = match e.kind {
                Kind::Clonic => {
                    let k0 = ((t - e.start) * e.rate).floor() as i64;
                    let mut c = 0.0f64;
                    for k in (k0 - 1)..=(k0 + 1) {
                        if k < 0 || k >= e.n_twitches as i64 {
                            continue;
                        }
                        let kk = k as u64;
                        // Irregular timing: ±12 % of the period, never before
                        // the event start; amplitude 60-100 %.
                        let jitter = if k == 0 {
                            0.0
                        } else {
                            (hash01(e.key, 2 * kk) - 0.5) * 0.24 / e.rate
                        };
                        let a = e.amp * (0.6 + 0.4 * hash01(e.key, 2 * kk + 1));
                        let t0 = e.start + k as f64 / e.rate + jitter;
                        let x = (t - t0) / e.pulse;
                        c = c.max(a * pulse01(x));
                    }
                    // Last twitch must end at e.end (no jitter pushes it out).
                    if t > e.end {
                        c = 0.0;
                    }
                    (c, c * e.cheek, c * e.mouth, c * e.brow, 0.0, 0.0)
                }
                Kind::Tonic => {
                    let up = smooth((t - e.start) / 0.28);
                    let down = 1.0 - smooth((t - (e.end - 0.32)) / 0.32);
                    let env = up.min(down);
                    let tremor = 1.0 - 0.04 * (0.5 + 0.5 * (t * 7.3 + e.key as f64).sin());
                    let c = (e.amp * env * tremor).min(1.0);
                    (c, env * e.cheek, env * e.mouth, env * e.brow, 0.0, 0.0)
                }
                Kind::Myokymia => {
                    let env =
                        smooth((t - e.start) / 0.4).min(1.0 - smooth((t - e.end + 0.4) / 0.4));
                    // Semirhythmic: amplitude wanders per cycle.
                    let cyc = ((t - e.start) * e.rate).max(0.0);
                    let k = cyc.floor() as u64;
                    let f = cyc - k as f64;
                    let a0 = 0.55 + 0.45 * hash01(e.key, k);
                    let a1 = 0.55 + 0.45 * hash01(e.key, k + 1);
                    let a = a0 + (a1 - a0) * smooth(f);
                    let ph = std::f64::consts::TAU * e.rate * (t - e.start);
                    (0.0, 0.0, 0.0, 0.0, e.amp * env * a, ph)
                }
            };
            // Every spasm warp scales with the amplitude (x 1.0 is exact, so
            // default phantoms are unchanged); blinks and talking do not.
            let amp = self.amplitude;
            let (clo, ch, mo, br, rip) = (clo * amp, ch * amp, mo * amp, br * amp, rip * amp);
            for (i, s) in sides.iter_mut().enumerate() {
                let side = IMAGE_ORDER[i];
                if !e.who.drives(side) {
                    continue;
                }
                s[0] = s[0].max(clo);
                if rip != 0.0 {
                    s[1] = rip;
                    s[2] = ph;
                }
                s[3] = s[3].max(ch);
                s[4] = s[4].max(mo);
                s[5] = s[5].max(br);
            }
        }

        // Talking: syllables drive the jaw and both mouth corners.
        for sp in &self.speech {
            if t < sp.start || t > sp.end {
                continue;
            }
            let env = smooth((t - sp.start) / 0.2).min(1.0 - smooth((t - sp.end + 0.2) / 0.2));
            let cyc = (t - sp.start) * sp.rate;
            let k = cyc.floor() as u64;
            let f = cyc - k as f64;
            let a = 0.4 + 0.6 * hash01(sp.key, k);
            let jaw = sp.amp * env * a * pulse01(f);
            st.jaw = st.jaw.max(jaw as f32);
            // Corners alternate between rounding (in) and spreading (out).
            let shape = (hash01(sp.key ^ 0x55, k) - 0.5) * 1.2;
            let m = (sp.amp * env * shape * pulse01(f)) as f32;
            for s in st.sides.iter_mut() {
                s.mouth = m;
            }
        }

        for (s, v) in st.sides.iter_mut().zip(sides.iter()) {
            s.closure = v[0].max(blink).min(1.0) as f32;
            s.ripple_px = v[1] as f32;
            s.ripple_phase = v[2] as f32;
            s.cheek = v[3] as f32;
            if v[4] != 0.0 {
                s.mouth = v[4] as f32;
            }
            s.brow = v[5] as f32;
        }

        // Head sway.
        let hm = self.head_motion;
        let comp = |c: &[(f64, f64, f64); 2]| -> f64 {
            c.iter()
                .map(|&(a, f, p)| a * (std::f64::consts::TAU * f * t + p).sin())
                .sum::<f64>()
                / 1.45
        };
        st.tx = (hm * 4.5 * comp(&self.sway[0])) as f32;
        st.ty = (hm * 3.0 * comp(&self.sway[1])) as f32;
        st.rot = (hm * 1.0f64.to_radians() * comp(&self.sway[2])) as f32;
        st.scale = (1.0 + hm * 0.015 * comp(&self.sway[3])) as f32;

        // Lighting.
        let ld = self.lighting_drift;
        let l = |i: usize| {
            let (a, f, p) = self.light[i];
            a * (std::f64::consts::TAU * f * t + p).sin()
        };
        let flick = self.flicker * (std::f64::consts::TAU * self.flicker_hz * t).sin();
        st.gain = (1.0 + ld * (0.04 * l(0) + 0.025 * l(1)) + flick) as f32;
        st.gain_grad = (ld * 0.05 * l(2)) as f32;
        st
    }
}

// ---------------------------------------------------------------------------
// Renderer
// ---------------------------------------------------------------------------

/// A rectangle in photo pixels.
#[derive(Clone, Copy, Debug)]
struct Rect {
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
}

impl Rect {
    #[inline]
    fn contains(&self, x: f32, y: f32) -> bool {
        x >= self.x0 && x <= self.x1 && y >= self.y0 && y <= self.y1
    }
    fn union(&self, o: &Rect) -> Rect {
        Rect {
            x0: self.x0.min(o.x0),
            y0: self.y0.min(o.y0),
            x1: self.x1.max(o.x1),
            y1: self.y1.max(o.y1),
        }
    }
}

/// A Gaussian-falloff displacement: content near `c` moves by `d` (photo px).
#[derive(Clone, Copy, Debug)]
struct Bump {
    c: [f32; 2],
    inv2sx2: f32,
    inv2sy2: f32,
    d: [f32; 2],
    rect: Rect,
    /// Face outline the displacement fades out at (base-video mode).
    outline: Option<Outline>,
}

/// The outline of one side of the face, from the temple down to the jaw (y
/// increasing). A skin warp fades to nothing at it, so that on a turned
/// head a cheek or mouth bump does not drag the background along.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Outline {
    pts: [[f32; 2]; 6],
    /// +1 when outward is image +x (patient left), -1 otherwise.
    outward: f32,
    /// Width (face pixels) of the fade inside the outline.
    fade: f32,
}

impl Outline {
    /// The outline's x at height `y` (piecewise linear, clamped at the ends).
    #[inline]
    fn x_at(&self, y: f32) -> f32 {
        let p = &self.pts;
        if y <= p[0][1] {
            return p[0][0];
        }
        for w in p.windows(2) {
            if y <= w[1][1] {
                let dy = w[1][1] - w[0][1];
                let f = if dy > 1e-3 { (y - w[0][1]) / dy } else { 1.0 };
                return w[0][0] + f * (w[1][0] - w[0][0]);
            }
        }
        p[5][0]
    }

    /// 1 inside the face (more than `fade` from the outline), 0 on or
    /// beyond it, smooth in between.
    #[inline]
    fn inside(&self, x: f32, y: f32) -> f32 {
        let m = ((self.x_at(y) - x) * self.outward / self.fade).clamp(0.0, 1.0);
        m * m * (3.0 - 2.0 * m)
    }
}

impl Bump {
    fn new(c: [f32; 2], sx: f32, sy: f32, d: [f32; 2]) -> Bump {
        Bump {
            c,
            inv2sx2: 1.0 / (2.0 * sx * sx),
            inv2sy2: 1.0 / (2.0 * sy * sy),
            d,
            rect: Rect {
                x0: c[0] - 3.0 * sx,
                y0: c[1] - 3.0 * sy,
                x1: c[0] + 3.0 * sx,
                y1: c[1] + 3.0 * sy,
            },
            outline: None,
        }
    }
    #[inline]
    fn weight(&self, x: f32, y: f32) -> f32 {
        let dx = x - self.c[0];
        let dy = y - self.c[1];
        (-(dx * dx * self.inv2sx2 + dy * dy * self.inv2sy2)).exp()
    }
}

/// Lid curve y(x) through three points (outer, mid, inner): a parabola.
#[derive(Clone, Copy, Debug)]
struct LidCurve {
    // y = a + b (x - xm) + c (x - xm)^2
    xm: f32,
    a: f32,
    b: f32,
    c: f32,
}

impl LidCurve {
    fn new(p: [[f32; 2]; 3]) -> LidCurve {
        let xm = p[1][0];
        let (x0, y0) = (p[0][0] - xm, p[0][1]);
        let (x2, y2) = (p[2][0] - xm, p[2][1]);
        let a = p[1][1];
        // Solve y0 - a = b x0 + c x0², y2 - a = b x2 + c x2².
        let det = x0 * x2 * x2 - x2 * x0 * x0;
        let (b, c) = if det.abs() < 1e-6 {
            (0.0, 0.0)
        } else {
            (
                ((y0 - a) * x2 * x2 - (y2 - a) * x0 * x0) / det,
                (x0 * (y2 - a) - x2 * (y0 - a)) / det,
            )
        };
        LidCurve { xm, a, b, c }
    }
    #[inline]
    fn y(&self, x: f32) -> f32 {
        let d = x - self.xm;
        self.a + self.b * d + self.c * d * d
    }
}

/// How far (photo px) a fully closed lid reaches below the lower-lid line.
const LID_OVERSHOOT: f32 = 0.6;
/// Thickness (photo px) of the upper-lid margin (lashes) below the lid line
/// that moves with the lid.
const LASH_PX: f32 = 1.2;

/// Vertical spread (in eye half-widths) of the skin a closing lid drags
/// along ([`FaceWarp::lid_drag`]): the lower lid moves about half as far as
/// the upper lid, the brow a tenth, as in the spasms drawn onto the real
/// faces of the development set.
const DRAG_SPREAD: f32 = 0.6;

/// Precomputed per-side warp geometry.
#[derive(Clone, Copy, Debug)]
struct SideWarp {
    upper: LidCurve,
    lower: LidCurve,
    x_lo: f32,
    x_hi: f32,
    /// Thickness of the lid-skin band above the upper lid that stretches down.
    band: f32,
    lid_rect: Rect,
    geo: SideGeometry,
}

impl SideWarp {
    fn new(g: &SideGeometry) -> SideWarp {
        let upper = LidCurve::new(g.upper_lid);
        let lower = LidCurve::new(g.lower_lid);
        let x_lo = g.upper_lid[0][0].min(g.upper_lid[2][0]);
        let x_hi = g.upper_lid[0][0].max(g.upper_lid[2][0]);
        let band = (0.8 * (g.upper_lid[1][1] - g.brow_center[1]))
            .clamp(0.8 * g.eye_half_h, 2.5 * g.eye_half_h.max(2.0))
            .max(3.0 * LASH_PX);
        let top = g.upper_lid.iter().map(|p| p[1]).fold(f32::MAX, f32::min) - band - 1.0;
        let bot = g.lower_lid.iter().map(|p| p[1]).fold(f32::MIN, f32::max) + 2.0;
        SideWarp {
            upper,
            lower,
            x_lo,
            x_hi,
            band,
            lid_rect: Rect {
                x0: x_lo,
                y0: top,
                x1: x_hi,
                y1: bot,
            },
            geo: *g,
        }
    }

    /// Backward map of the lid closure: where the output pixel (x, y) of the
    /// closed eye samples the open-eye photo. `c` in 0..1.
    #[inline]
    ///
    /// Returns `(y_src, y_lid, alpha)`: near the occluding lid edge the
    /// pixel blends `alpha` of the lid sample `y_lid` into the eye sample
    /// (anti-aliasing over `edge` photo pixels either side).
    fn lid_source_y(&self, x: f32, y: f32, c: f32, edge: f32) -> (f32, f32, f32) {
        let yu = self.upper.y(x);
        let yl = self.lower.y(x);
        let h = (yl - yu).max(0.0);
        if h <= 0.0 {
            return (y, y, 0.0);
        }
        let top = yu - self.band;
        // The moving lid is the skin band above the upper lid plus its
        // margin (lashes, LASH_PX below the lid line). Closing slides the
        // margin down to the lower lid, slightly overshooting it so a shut
        // eye shows no sclera; the band stretches, the eye stays in place and
        // is occluded.
        let yl2 = yl + LID_OVERSHOOT * c;
        let ym = yu + c * (yl2 - yu); // where the lid line now is
        let shift = ym - yu;
        // The margin strip [yu - LASH_PX, yu + LASH_PX] moves rigidly (crisp
        // lashes); the skin above it stretches.
        let src_knee = yu - LASH_PX;
        let dst_knee = src_knee + shift;
        let edge_y = ym + LASH_PX;
        if y <= top || y >= edge_y + edge {
            (y, y, 0.0)
        } else if y > edge_y - edge && shift > 0.0 {
            let a = smooth(((edge_y - y) / (2.0 * edge) + 0.5) as f64) as f32;
            (y, y - shift, a)
        } else if y >= dst_knee {
            (y - shift, y - shift, 0.0)
        } else {
            let ys = top + (y - top) * (src_knee - top) / (dst_knee - top);
            (ys, ys, 0.0)
        }
    }
}

/// Myokymia: a vertical travelling ripple of the lower lid.
#[derive(Clone, Copy, Debug)]
struct Ripple {
    bump: Bump,
    /// Amplitude in photo pixels and temporal phase (rad).
    amp: f32,
    phase: f32,
    /// Spatial phase origin (x) and wavenumber (rad per photo pixel).
    x0: f32,
    k: f32,
    /// Lower-lid line: the ripple fades out above it.
    lid: LidCurve,
}

/// Per-frame list of active warps (fixed capacity: no allocation).
#[derive(Clone, Copy, Debug)]
struct ActiveWarps {
    bumps: [Bump; 12],
    n_bumps: usize,
    lid_c: [f32; 2],
    ripple: [Option<Ripple>; 2],
    jaw: f32,
    /// Half-width of the anti-aliased lid edge, photo pixels.
    edge: f32,
    roi: Option<Rect>,
}

/// The photo and the mapping from photo to output.
struct Renderer {
    photo: Vec<f32>, // RGB interleaved, 0..255
    pw: usize,
    ph: usize,
    face: FaceWarp,
    geo: FaceGeometry,
    /// Photo → output scale and anchor.
    scale: f32,
    anchor_photo: [f32; 2],
    anchor_out: [f32; 2],
    out_w: usize,
    out_h: usize,
    noise_sigma: f32,
    seed: u64,
    gauss: Box<[f32; GAUSS_N]>, // standard normal samples
}

const GAUSS_N: usize = 1 << 16;

fn load_photo(path: Option<&Path>) -> Result<image::RgbImage> {
    let img = match path {
        Some(p) => image::open(p).with_context(|| format!("opening face photo {}", p.display()))?,
        None => image::load_from_memory(ASTRONAUT_PNG).context("decoding embedded photo")?,
    };
    Ok(img.to_rgb8())
}

/// The embedded public-domain NASA astronaut portrait (see samples/README.md).
const ASTRONAUT_PNG: &[u8] = include_bytes!("../../../samples/astronaut.png");

/// Locates the face on the photo: explicit geometry if given, else the
/// FaceMesh tracker ([`FaceGeometry::locate`]); for the embedded portrait the
/// hand-measured geometry is the fallback when the tracker fails or lands far
/// from it.
fn locate_face(spec: &SynthSpec, img: &image::RgbImage) -> Result<FaceGeometry> {
    if let Some(g) = spec.geometry {
        g.check()?;
        return Ok(g);
    }
    let tracked = FaceGeometry::locate(img);
    if spec.photo.is_some() {
        return tracked.context("locating the face on the photo (set SynthSpec::geometry)");
    }
    let fallback = FaceGeometry::astronaut_fallback();
    Ok(match tracked {
        Ok(g) if g.close_to(&fallback, 0.25) => g,
        _ => fallback,
    })
}

impl FaceGeometry {
    /// Finds the face on a photo with the FaceMesh tracker (`twitchscope_engine::face`).
    pub fn locate(img: &image::RgbImage) -> Result<FaceGeometry> {
        let mut frame = Frame::default();
        frame.ensure_size(img.width() as usize, img.height() as usize);
        frame.rgb.copy_from_slice(img.as_raw());
        frame.update_luma_from_rgb();
        let mut tracker = twitchscope_engine::face::FaceTracker::new()?;
        // The first pass crops from the detector box; the second refines the
        // crop from the first landmarks, as in tracking.
        if tracker.track(&frame)?.is_none() {
            bail!("no face found on the photo");
        }
        let lm = tracker
            .track(&frame)?
            .ok_or_else(|| anyhow!("face lost on the photo's second pass"))?;
        FaceGeometry::from_landmarks(&lm.points)
    }

    /// Whether every landmark of `self` lies within `tol` inter-ocular
    /// distances of the same landmark of `other`.
    fn close_to(&self, other: &FaceGeometry, tol: f32) -> bool {
        let lim = tol * other.inter_ocular();
        let d = |a: [f32; 2], b: [f32; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
        self.sides.iter().zip(&other.sides).all(|(a, b)| {
            d(a.eye_center, b.eye_center) < lim
                && d(a.brow_center, b.brow_center) < lim
                && d(a.cheek_center, b.cheek_center) < lim
                && d(a.mouth_corner, b.mouth_corner) < lim
        })
    }
}

/// The muscle warps of one face: built from its geometry (photo pixels in
/// photo mode, face-aligned frame pixels in base-video mode), turned into a
/// backward map per frame. Cheap to build (no allocation), so base-video mode
/// makes one per frame from that frame's landmarks.
#[derive(Clone, Copy, Debug)]
struct FaceWarp {
    warps: [SideWarp; 2],
    geo: FaceGeometry,
    /// How far a closing lid pulls the skin around the eye down with it,
    /// in lid travels at full closure (0: the lid alone).
    lid_drag: f32,
    /// Face outline per side (patient right, left); `None` on the photo,
    /// whose face is frontal and whose bumps stay inside it.
    outlines: Option<[Outline; 2]>,
}

impl FaceWarp {
    fn new(geo: &FaceGeometry) -> FaceWarp {
        FaceWarp {
            warps: [SideWarp::new(&geo.sides[0]), SideWarp::new(&geo.sides[1])],
            geo: *geo,
            lid_drag: 0.0,
            outlines: None,
        }
    }

    /// Turns the muscle state into the frame's active warps (face pixels).
    /// `px_out` is one output pixel in face pixels (the unit of the ripple
    /// amplitude), `edge` the half-width of the anti-aliased lid edge.
    fn active(&self, st: &FaceState, px_out: f32, edge: f32) -> ActiveWarps {
        let zero = Bump::new([0.0, 0.0], 1.0, 1.0, [0.0, 0.0]);
        let mut aw = ActiveWarps {
            bumps: [zero; 12],
            n_bumps: 0,
            lid_c: [0.0; 2],
            ripple: [None; 2],
            jaw: 0.0,
            edge,
            roi: None,
        };
        let add_roi = |aw: &mut ActiveWarps, r: Rect| {
            aw.roi = Some(aw.roi.map_or(r, |o| o.union(&r)));
        };
        for (i, s) in st.sides.iter().enumerate() {
            let side = IMAGE_ORDER[i];
            let w = &self.warps[i];
            let g = &w.geo;
            let hw = g.eye_half_w;
            if s.closure > 1e-3 {
                aw.lid_c[i] = s.closure;
                add_roi(&mut aw, w.lid_rect);
                if self.lid_drag > 0.0 {
                    // The skin around the eye pulled down with the lid,
                    // most at the upper lid, less at the lower lid, the
                    // brow barely.
                    let travel = (g.lower_lid[1][1] - g.upper_lid[1][1]).max(1.0);
                    let b = Bump {
                        outline: self.outlines.map(|o| o[i]),
                        ..Bump::new(
                            g.upper_lid[1],
                            hw,
                            DRAG_SPREAD * hw,
                            [0.0, self.lid_drag * s.closure * travel],
                        )
                    };
                    add_roi(&mut aw, b.rect);
                    aw.bumps[aw.n_bumps] = b;
                    aw.n_bumps += 1;
                }
            }
            if s.ripple_px.abs() > 1e-3 {
                let amp = s.ripple_px * px_out;
                // The lower lid margin and the lid skin just below it, not
                // the eye above the lid line.
                let c = [g.lower_lid[1][0], g.lower_lid[1][1] + 0.15 * hw];
                let b = Bump::new(c, 0.7 * hw, 0.35 * hw, [0.0, 0.0]);
                add_roi(&mut aw, b.rect);
                aw.ripple[i] = Some(Ripple {
                    bump: b,
                    amp,
                    phase: s.ripple_phase,
                    x0: g.lower_lid[1][0],
                    k: std::f32::consts::PI / (1.5 * hw),
                    lid: w.lower,
                });
            }
            if s.cheek > 1e-3 {
                // Cheek rises and bulges slightly; the lower lid goes with it.
                let b = Bump::new(
                    g.cheek_center,
                    1.1 * hw,
                    0.95 * hw,
                    [0.0, -0.38 * hw * s.cheek],
                );
                let b = Bump {
                    outline: self.outlines.map(|o| o[i]),
                    ..b
                };
                add_roi(&mut aw, b.rect);
                aw.bumps[aw.n_bumps] = b;
                aw.n_bumps += 1;
            }
            if s.mouth.abs() > 1e-3 {
                let m = s.mouth;
                let d = if m > 0.0 {
                    // Up and out (zygomaticus / risorius pull).
                    [side.outward_x() * 0.28 * hw * m, -0.26 * hw * m]
                } else {
                    // Pursing: corner moves in.
                    [side.outward_x() * 0.3 * hw * m, 0.0]
                };
                let b = Bump {
                    outline: self.outlines.map(|o| o[i]),
                    ..Bump::new(g.mouth_corner, 0.75 * hw, 0.65 * hw, d)
                };
                add_roi(&mut aw, b.rect);
                aw.bumps[aw.n_bumps] = b;
                aw.n_bumps += 1;
            }
            if s.brow > 1e-3 {
                let b = Bump {
                    outline: self.outlines.map(|o| o[i]),
                    ..Bump::new(g.brow_center, 1.0 * hw, 0.8 * hw, [0.0, -0.3 * hw * s.brow])
                };
                add_roi(&mut aw, b.rect);
                aw.bumps[aw.n_bumps] = b;
                aw.n_bumps += 1;
            }
        }
        if st.jaw > 1e-3 {
            let hw = 0.5 * (self.geo.sides[0].eye_half_w + self.geo.sides[1].eye_half_w);
            aw.jaw = st.jaw * 0.3 * hw;
            let m0 = self.geo.sides[0].mouth_corner;
            let m1 = self.geo.sides[1].mouth_corner;
            let half = 0.5 * (m1[0] - m0[0]).abs();
            add_roi(
                &mut aw,
                Rect {
                    x0: m0[0].min(m1[0]) - 1.5 * half,
                    y0: m0[1].min(m1[1]) - 0.5 * hw,
                    x1: m0[0].max(m1[0]) + 1.5 * half,
                    y1: m0[1].max(m1[1]) + 4.0 * hw,
                },
            );
        }
        aw
    }

    /// Backward warp of one photo point: output-face point → photo point.
    #[inline]
    /// Returns `(sx, sy, sy_lid, alpha)`: see [`SideWarp::lid_source_y`].
    fn warp(&self, aw: &ActiveWarps, x: f32, y: f32) -> (f32, f32, f32, f32) {
        let (mut sx, mut sy) = (x, y);
        // Smooth displacement fields (cheek, mouth, brow, ripple): sum of
        // Gaussian bumps, backward-mapped (q = p - d w(p)).
        for b in &aw.bumps[..aw.n_bumps] {
            if b.rect.contains(x, y) {
                let w = match &b.outline {
                    Some(o) => b.weight(x, y) * o.inside(x, y),
                    None => b.weight(x, y),
                };
                sx -= b.d[0] * w;
                sy -= b.d[1] * w;
            }
        }
        // Myokymia ripple: vertical, travelling along the lower lid.
        for r in aw.ripple.iter().flatten() {
            if r.bump.rect.contains(x, y) {
                let m = ((y - r.lid.y(x) + 2.0) * (1.0 / 3.0)).clamp(0.0, 1.0);
                let w = r.bump.weight(x, y) * m * m * (3.0 - 2.0 * m);
                sy -= r.amp * w * (r.phase - r.k * (x - r.x0)).sin();
            }
        }
        // Jaw drop: everything below the lips moves down, fading far below.
        if aw.jaw > 0.0 {
            let m0 = self.geo.sides[0].mouth_corner;
            let m1 = self.geo.sides[1].mouth_corner;
            let half = 0.5 * (m1[0] - m0[0]).abs().max(1.0);
            let cx = 0.5 * (m0[0] + m1[0]);
            let cy = 0.5 * (m0[1] + m1[1]);
            let hw = self.geo.sides[0].eye_half_w;
            let u = (x - cx) / (1.3 * half);
            let gx = (-u * u).exp();
            let vy = ((y - (cy - 0.15 * hw)) / (0.45 * hw)).clamp(0.0, 1.0);
            let below = vy * vy * (3.0 - 2.0 * vy);
            let far = 1.0 - ((y - cy - 2.5 * hw) / (1.5 * hw)).clamp(0.0, 1.0);
            sy -= aw.jaw * gx * below * far;
        }
        // Lid closure acts in the face before the skin displacements above.
        for (w, &c) in self.warps.iter().zip(aw.lid_c.iter()) {
            if c > 0.0 && w.lid_rect.contains(sx, sy) && sx > w.x_lo && sx < w.x_hi {
                let (y0, y1, a) = w.lid_source_y(sx, sy, c, aw.edge);
                return (sx, y0, y1, a);
            }
        }
        (sx, sy, sy, 0.0)
    }
}

impl Renderer {
    fn new(spec: &SynthSpec) -> Result<Renderer> {
        let img = load_photo(spec.photo.as_deref())?;
        let geo = locate_face(spec, &img)?;
        let (pw, ph) = (img.width() as usize, img.height() as usize);
        let photo = img.as_raw().iter().map(|&v| v as f32).collect();
        // Framing like the bench: inter-ocular distance 16 % of the width,
        // mid-eye point at (50 %, 40 %) of the frame.
        let scale = 0.16 * spec.width as f32 / geo.inter_ocular();
        let mut rng = Rng::new(0x6A55);
        let mut gauss = Box::new([0.0f32; GAUSS_N]);
        for g in gauss.iter_mut() {
            *g = rng.normal() as f32;
        }
        Ok(Renderer {
            photo,
            pw,
            ph,
            face: FaceWarp::new(&geo),
            geo,
            scale,
            anchor_photo: geo.mid_eyes(),
            anchor_out: [0.5 * spec.width as f32, 0.40 * spec.height as f32],
            out_w: spec.width,
            out_h: spec.height,
            noise_sigma: spec.noise_sigma,
            seed: spec.seed,
            gauss,
        })
    }

    /// Where a photo point lands in the output at rest pose.
    #[cfg(test)]
    fn to_output(&self, p: [f32; 2]) -> [f32; 2] {
        [
            self.anchor_out[0] + (p[0] - self.anchor_photo[0]) * self.scale,
            self.anchor_out[1] + (p[1] - self.anchor_photo[1]) * self.scale,
        ]
    }

    #[inline(always)]
    fn sample(&self, x: f32, y: f32) -> [f32; 3] {
        let xf = x.clamp(0.0, (self.pw - 1) as f32);
        let yf = y.clamp(0.0, (self.ph - 1) as f32);
        let x0 = (xf as usize).min(self.pw - 2);
        let y0 = (yf as usize).min(self.ph - 2);
        let fx = xf - x0 as f32;
        let fy = yf - y0 as f32;
        let i00 = (y0 * self.pw + x0) * 3;
        let i01 = i00 + self.pw * 3;
        let r0 = &self.photo[i00..i00 + 6];
        let r1 = &self.photo[i01..i01 + 6];
        let mut out = [0.0; 3];
        for c in 0..3 {
            let top = r0[c] + (r0[c + 3] - r0[c]) * fx;
            let bot = r1[c] + (r1[c + 3] - r1[c]) * fx;
            out[c] = top + (bot - top) * fy;
        }
        out
    }

    /// Renders frame `index` with state `st` into `rgb` (w*h*3). No allocation.
    fn render_into(&self, st: &FaceState, index: u64, rgb: &mut [u8]) {
        let aw = self
            .face
            .active(st, 1.0 / self.scale, 0.6 / (self.scale * st.scale));
        // Output → photo: p = A + R(-rot) (o - O - T) / (scale * k).
        let s = self.scale * st.scale;
        let (sin, cos) = st.rot.sin_cos();
        let a = cos / s;
        let b = -sin / s;
        let ox = self.anchor_out[0] + st.tx;
        let oy = self.anchor_out[1] + st.ty;
        let [ax, ay] = self.anchor_photo;
        let mut noise = Rng::new(
            mix64(self.seed ^ 0x5EED_0000_0000) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03),
        );
        let sigma = self.noise_sigma;
        let half_w = 0.5 * self.out_w as f32;
        for yo in 0..self.out_h {
            let dy = yo as f32 - oy;
            let row = &mut rgb[yo * self.out_w * 3..(yo + 1) * self.out_w * 3];
            for (xo, px) in row.chunks_exact_mut(3).enumerate() {
                let dx = xo as f32 - ox;
                // Rotation by -rot: [cos sin; -sin cos] (image y down).
                let u = ax + a * dx - b * dy;
                let v = ay + b * dx + a * dy;
                let c = match aw.roi {
                    Some(r) if r.contains(u, v) => {
                        let (su, sv, sv_lid, alpha) = self.face.warp(&aw, u, v);
                        let c = self.sample(su, sv);
                        if alpha > 0.0 {
                            let l = self.sample(su, sv_lid);
                            [
                                c[0] + (l[0] - c[0]) * alpha,
                                c[1] + (l[1] - c[1]) * alpha,
                                c[2] + (l[2] - c[2]) * alpha,
                            ]
                        } else {
                            c
                        }
                    }
                    _ => self.sample(u, v),
                };
                let gain = st.gain + st.gain_grad * (xo as f32 - half_w) / half_w;
                let r = if sigma > 0.0 { noise.next_u64() } else { 0 };
                for k in 0..3 {
                    let n = if sigma > 0.0 {
                        sigma * self.gauss[((r >> (16 * k)) as usize) & (GAUSS_N - 1)]
                    } else {
                        0.0
                    };
                    px[k] = (c[k] * gain + n + 0.5).clamp(0.0, 255.0) as u8;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Frame source and video rendering
// ---------------------------------------------------------------------------

/// The phantom as an in-memory [`FrameSource`]: exact timestamps
/// (`index / fps`), no encoding.
pub struct SyntheticSource {
    info: SourceInfo,
    plan: Plan,
    renderer: Renderer,
    next: u64,
    total: u64,
    truth: Truth,
}

impl SyntheticSource {
    pub fn new(spec: &SynthSpec) -> Result<SyntheticSource> {
        spec.validate()?;
        let plan = Plan::new(spec);
        let renderer = Renderer::new(spec)?;
        let total = spec.frame_count();
        let name = format!("synthetic:{}:seed{}", spec.scenario.name(), spec.seed);
        let truth = plan.truth(&format!("{}_seed{}", spec.scenario.name(), spec.seed));
        Ok(SyntheticSource {
            info: SourceInfo {
                name,
                width: spec.width,
                height: spec.height,
                fps: spec.fps as f64,
                frames: Some(total),
                duration_s: Some(total as f64 / spec.fps as f64),
            },
            plan,
            renderer,
            next: 0,
            total,
            truth,
        })
    }

    /// The ground truth of this clip.
    pub fn truth(&self) -> &Truth {
        &self.truth
    }

    /// The face geometry used (photo pixels).
    pub fn geometry(&self) -> &FaceGeometry {
        &self.renderer.geo
    }

    /// Renders frame `index` into `frame` (random access; does not move the
    /// stream position).
    pub fn render_frame(&self, index: u64, frame: &mut Frame) {
        let t = index as f64 / self.plan.fps as f64;
        let st = self.plan.state_at(t);
        frame.ensure_size(self.info.width, self.info.height);
        frame.index = index;
        frame.timestamp_s = t;
        self.renderer.render_into(&st, index, &mut frame.rgb);
        frame.update_luma_from_rgb();
    }
}

impl FrameSource for SyntheticSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool> {
        if self.next >= self.total {
            return Ok(false);
        }
        self.render_frame(self.next, frame);
        self.next += 1;
        Ok(true)
    }
}

/// Renders the phantom to an H.264 MP4 through `ffmpeg` and returns its
/// ground truth (named after the file stem; write it with [`write_truth`]).
pub fn render(spec: &SynthSpec, out_video: &Path) -> Result<Truth> {
    let mut src = SyntheticSource::new(spec)?;
    let name = out_video
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("synthetic")
        .to_string();
    let mut truth = src.truth().clone();
    truth.name = name;

    let mut enc = Encoder::spawn(
        spec.width,
        spec.height,
        &spec.fps.to_string(),
        spec.crf,
        out_video,
    )?;
    let mut frame = Frame::default();
    while src.next_frame(&mut frame)? {
        if !enc.write(&frame.rgb) {
            break;
        }
    }
    enc.finish()?;
    Ok(truth)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet_spec(scenario: Scenario, seed: u64) -> SynthSpec {
        SynthSpec {
            scenario,
            seed,
            seconds: 40.0,
            head_motion: 0.0,
            lighting_drift: 0.0,
            noise_sigma: 0.0,
            geometry: Some(FaceGeometry::astronaut_fallback()),
            ..SynthSpec::default()
        }
    }

    fn overlaps(a0: f64, a1: f64, b0: f64, b1: f64) -> bool {
        a0 < b1 && b0 < a1
    }

    #[test]
    fn scenario_names_round_trip() {
        let names = scenario_names();
        assert_eq!(names.len(), Scenario::ALL.len());
        for (sc, name) in Scenario::ALL.iter().zip(&names) {
            assert_eq!(Scenario::from_str(name).unwrap(), *sc);
            assert_eq!(sc.to_string(), *name);
        }
        assert_eq!(
            "Left-Tonic-Synkinesis".parse::<Scenario>().unwrap(),
            Scenario::LeftTonicSynkinesis
        );
        let err = "nope".parse::<Scenario>().unwrap_err().to_string();
        assert!(err.contains("rest_blinks"), "{err}");
    }

    #[test]
    fn truth_invariants_every_scenario() {
        for &sc in &Scenario::ALL {
            for seed in 0..12u64 {
                let spec = SynthSpec {
                    scenario: sc,
                    seed,
                    seconds: 45.0,
                    ..SynthSpec::default()
                };
                let truth = Plan::new(&spec).truth("t");
                let ctx = format!("{sc} seed {seed}");
                assert_eq!(truth.expected_laterality, sc.expected_laterality(), "{ctx}");
                assert!(!truth.mirrored);
                assert_eq!(truth.fps, 30);
                let mut prev_end = 0.0;
                for e in &truth.events {
                    assert!(e.start_s >= 0.0 && e.end_s <= spec.seconds, "{ctx}: {e:?}");
                    assert!(e.start_s < e.end_s && e.start_s >= prev_end, "{ctx}: {e:?}");
                    prev_end = e.end_s;
                    let dur = e.end_s - e.start_s;
                    assert_eq!(e.side, sc.expected_laterality(), "{ctx}: {e:?}");
                    assert!(e.regions.iter().any(|r| r == "eye"), "{ctx}: {e:?}");
                    match e.kind.as_str() {
                        "clonic" => {
                            let f = e.rate_hz.unwrap();
                            assert!((3.0..=6.0).contains(&f), "{ctx}: {e:?}");
                            assert!((0.6..=2.8).contains(&dur), "{ctx}: {e:?}");
                        }
                        "tonic" => {
                            assert!(e.rate_hz.is_none());
                            assert!((1.5..=3.0).contains(&dur), "{ctx}: {e:?}");
                        }
                        "myokymia" => {
                            let f = e.rate_hz.unwrap();
                            assert!((3.0..=8.0).contains(&f), "{ctx}: {e:?}");
                            assert!((3.0..=8.0).contains(&dur), "{ctx}: {e:?}");
                        }
                        k => panic!("{ctx}: unexpected kind {k}"),
                    }
                }
                let kinds: Vec<&str> = truth.events.iter().map(|e| e.kind.as_str()).collect();
                match sc {
                    Scenario::RestBlinks | Scenario::Talking => assert!(kinds.is_empty()),
                    Scenario::LeftClonicEye | Scenario::RightClonicEye => {
                        assert!(
                            kinds.len() >= 3 && kinds.iter().all(|&k| k == "clonic"),
                            "{ctx}"
                        )
                    }
                    Scenario::LeftMyokymia | Scenario::RightMyokymia => {
                        assert!(
                            kinds.len() >= 2 && kinds.iter().all(|&k| k == "myokymia"),
                            "{ctx}"
                        )
                    }
                    Scenario::LeftTonicSynkinesis | Scenario::RightTonicSynkinesis => {
                        assert!(kinds.len() >= 3, "{ctx}");
                        assert!(kinds.iter().all(|&k| k == "clonic" || k == "tonic"));
                        for e in &truth.events {
                            assert!(e.regions.len() >= 3, "synkinesis regions {ctx}: {e:?}");
                        }
                    }
                    Scenario::Bilateral => {
                        assert!(kinds.len() >= 3, "{ctx}");
                        assert!(kinds.iter().all(|&k| k == "clonic" || k == "tonic"));
                    }
                }
                // Blinks: short, inside the clip, apart from events.
                for b in &truth.blinks {
                    let d = b.end_s - b.start_s;
                    assert!((0.18..=0.4).contains(&d), "{ctx}: blink {b:?}");
                    assert!(b.start_s > 0.0 && b.end_s < spec.seconds);
                    for e in &truth.events {
                        assert!(!overlaps(b.start_s, b.end_s, e.start_s, e.end_s), "{ctx}");
                    }
                }
                if matches!(sc, Scenario::RestBlinks) {
                    let per_min = truth.blinks.len() as f64 * 60.0 / spec.seconds;
                    assert!((5.0..=26.0).contains(&per_min), "{ctx}: {per_min}/min");
                }
            }
        }
    }

    #[test]
    fn blinks_are_bilateral_and_symmetric() {
        let plan = Plan::new(&quiet_spec(Scenario::RestBlinks, 3));
        assert!(!plan.blinks.is_empty());
        for b in &plan.blinks {
            let mid = b.start + b.close + 0.5 * b.hold;
            let st = plan.state_at(mid);
            assert!(st.sides[0].closure > 0.7);
            assert_eq!(st.sides[0].closure, st.sides[1].closure);
        }
    }

    #[test]
    fn amplitude_scales_spasms_not_blinks_or_timing() {
        let spec = quiet_spec(Scenario::LeftTonicSynkinesis, 4);
        let full = Plan::new(&spec);
        let weak = Plan::new(&SynthSpec {
            amplitude: 0.35,
            ..spec.clone()
        });
        let (tf, tw) = (full.truth("x"), weak.truth("x"));
        assert_eq!(tf.events, tw.events);
        assert_eq!(tf.blinks, tw.blinks);
        assert_eq!((tf.amplitude, tw.amplitude), (None, Some(0.35)));
        assert!(tw.notes.contains("amplitude 0.35"), "{}", tw.notes);
        let mut peak = 0.0f32;
        for i in 0..(40 * 60) {
            let t = i as f64 / 60.0;
            let (a, b) = (full.state_at(t).sides[1], weak.state_at(t).sides[1]);
            let in_blink = full.blinks.iter().any(|bl| t >= bl.start && t <= bl.end());
            if in_blink {
                assert_eq!(a.closure, b.closure, "blinks are not scaled");
            } else {
                assert!((b.closure - 0.35 * a.closure).abs() < 1e-5, "t={t}");
                assert!((b.mouth - 0.35 * a.mouth).abs() < 1e-5, "t={t}");
            }
            peak = peak.max(a.closure);
        }
        assert!(peak > 0.5);
        let bad = SynthSpec {
            amplitude: 0.0,
            ..spec
        };
        assert!(SyntheticSource::new(&bad).is_err());
    }

    #[test]
    fn spasms_stay_on_their_side() {
        for (sc, side) in [
            (Scenario::LeftClonicEye, Side::Left),
            (Scenario::RightTonicSynkinesis, Side::Right),
        ] {
            let spec = quiet_spec(sc, 7);
            let plan = Plan::new(&spec);
            let other = 1 - image_slot(side);
            let (mut peak, mut peak_other) = (0.0f32, 0.0f32);
            for e in &plan.events {
                let n = ((e.end - e.start) * 120.0) as usize;
                for i in 0..n {
                    let st = plan.state_at(e.start + i as f64 / 120.0);
                    peak = peak.max(st.sides[image_slot(side)].closure);
                    peak_other = peak_other.max(st.sides[other].closure);
                    peak_other = peak_other.max(st.sides[other].cheek);
                }
            }
            assert!(peak > 0.3, "{sc}: peak closure {peak}");
            assert_eq!(peak_other, 0.0, "{sc}");
        }
    }

    #[test]
    fn clonic_twitch_rate_matches_truth() {
        let plan = Plan::new(&quiet_spec(Scenario::LeftClonicEye, 11));
        for e in &plan.events {
            // Count closure peaks above half the amplitude at 240 Hz.
            let n = ((e.end - e.start) * 240.0) as usize;
            let c: Vec<f32> = (0..=n)
                .map(|i| plan.state_at(e.start + i as f64 / 240.0).sides[1].closure)
                .collect();
            let thr = 0.25 * e.amp as f32;
            let rises = c.windows(2).filter(|w| w[0] < thr && w[1] >= thr).count();
            assert_eq!(rises as u32, e.n_twitches, "{e:?}");
        }
    }

    #[test]
    fn myokymia_ripples_at_its_rate() {
        let plan = Plan::new(&quiet_spec(Scenario::RightMyokymia, 5));
        let e = &plan.events[0];
        let fs = 120.0;
        let (a, b) = (e.start + 0.5, e.end - 0.5);
        let n = ((b - a) * fs) as usize;
        let x: Vec<f64> = (0..n)
            .map(|i| {
                let s = plan.state_at(a + i as f64 / fs).sides[0];
                (s.ripple_px * s.ripple_phase.sin()) as f64
            })
            .collect();
        assert!(x.iter().all(|v| v.abs() <= 3.0));
        assert!((1.0..=3.0).contains(&e.amp));
        assert!(x.iter().any(|v| v.abs() >= 1.0));
        let crossings = x.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
        let f = crossings as f64 / (b - a);
        assert!((f - e.rate).abs() < 0.6, "{f} vs {}", e.rate);
        // The other side stays still.
        assert!((0..n).all(|i| plan.state_at(a + i as f64 / fs).sides[1].ripple_px == 0.0));
    }

    #[test]
    fn same_seed_same_frames_other_seed_differs() {
        let spec = SynthSpec {
            scenario: Scenario::LeftTonicSynkinesis,
            seed: 42,
            geometry: Some(FaceGeometry::astronaut_fallback()),
            ..SynthSpec::default()
        };
        let a = SyntheticSource::new(&spec).unwrap();
        let b = SyntheticSource::new(&spec).unwrap();
        assert_eq!(a.truth(), b.truth());
        let (mut fa, mut fb) = (Frame::default(), Frame::default());
        for i in [0u64, 77, 301] {
            a.render_frame(i, &mut fa);
            b.render_frame(i, &mut fb);
            assert_eq!(fa.rgb, fb.rgb, "frame {i}");
        }
        let c = SyntheticSource::new(&SynthSpec {
            seed: 43,
            ..spec.clone()
        })
        .unwrap();
        assert_ne!(a.truth(), c.truth());
        c.render_frame(301, &mut fb);
        assert_ne!(fa.rgb, fb.rgb);
    }

    /// Mean absolute RGB difference inside a square of half-side `r` around
    /// `c` (output pixels).
    fn patch_diff(a: &Frame, b: &Frame, c: [f32; 2], r: usize) -> f64 {
        let (cx, cy) = (c[0].round() as usize, c[1].round() as usize);
        let mut sum = 0.0;
        let mut n = 0;
        for y in cy - r..=cy + r {
            for x in cx - r..=cx + r {
                for k in 0..3 {
                    let i = (y * a.width + x) * 3 + k;
                    sum += (a.rgb[i] as f64 - b.rgb[i] as f64).abs();
                    n += 1;
                }
            }
        }
        sum / n as f64
    }

    fn render_state(r: &Renderer, st: &FaceState) -> Frame {
        let mut f = Frame::default();
        f.ensure_size(r.out_w, r.out_h);
        r.render_into(st, 0, &mut f.rgb);
        f
    }

    fn rest() -> FaceState {
        FaceState {
            scale: 1.0,
            gain: 1.0,
            ..FaceState::default()
        }
    }

    #[test]
    fn warps_move_the_right_pixels() {
        let spec = quiet_spec(Scenario::RestBlinks, 1);
        let r = Renderer::new(&spec).unwrap();
        let g = r.geo;
        let out = |p: [f32; 2]| r.to_output(p);
        let base = render_state(&r, &rest());
        // Rendering the rest state twice is identical (no noise here).
        assert_eq!(base.rgb, render_state(&r, &rest()).rgb);
        let eye_l = out(g.sides[image_slot(Side::Left)].eye_center);
        let eye_r = out(g.sides[image_slot(Side::Right)].eye_center);
        // Patient left = image right.
        assert!(eye_l[0] > eye_r[0]);

        // Full closure of the patient's left eye.
        let mut st = rest();
        st.sides[image_slot(Side::Left)].closure = 1.0;
        let f = render_state(&r, &st);
        let d_left = patch_diff(&base, &f, eye_l, 6);
        let d_right = patch_diff(&base, &f, eye_r, 6);
        assert!(d_left > 15.0, "left eye patch changed by {d_left}");
        assert_eq!(d_right, 0.0);
        // A closed eye is skin: the dark iris/pupil is covered.
        let lum = |fr: &Frame, p: [f32; 2]| {
            let i = (p[1].round() as usize * fr.width + p[0].round() as usize) * 3;
            fr.rgb[i..i + 3].iter().map(|&v| v as f64).sum::<f64>() / 3.0
        };
        assert!(lum(&f, eye_l) > lum(&base, eye_l) + 40.0);

        // Mouth pull on the patient's right: image-left mouth corner only.
        let mut st = rest();
        st.sides[image_slot(Side::Right)].mouth = 1.0;
        let f = render_state(&r, &st);
        let m_r = out(g.sides[image_slot(Side::Right)].mouth_corner);
        let m_l = out(g.sides[image_slot(Side::Left)].mouth_corner);
        assert!(patch_diff(&base, &f, m_r, 8) > 3.0);
        assert_eq!(patch_diff(&base, &f, m_l, 8), 0.0);
        assert_eq!(patch_diff(&base, &f, eye_l, 6), 0.0);

        // Lower-lid ripple: below the lid moves, the pupil does not.
        let mut st = rest();
        st.sides[image_slot(Side::Left)].ripple_px = 2.5;
        st.sides[image_slot(Side::Left)].ripple_phase = 1.2;
        let f = render_state(&r, &st);
        let sg = &g.sides[image_slot(Side::Left)];
        let below = out([sg.lower_lid[1][0], sg.lower_lid[1][1] + 1.0]);
        let d_below = patch_diff(&base, &f, below, 4);
        let pupil = out([sg.eye_center[0], sg.eye_center[1] - 1.0]);
        let d_pupil = patch_diff(&base, &f, pupil, 2);
        assert!(
            d_below > 1.0 && d_pupil < 0.05 * d_below,
            "{d_below} {d_pupil}"
        );

        // Cheek and brow on one side leave the other side alone.
        let mut st = rest();
        st.sides[image_slot(Side::Left)].cheek = 1.0;
        st.sides[image_slot(Side::Left)].brow = 1.0;
        let f = render_state(&r, &st);
        assert!(patch_diff(&base, &f, out(sg.brow_center), 6) > 1.0);
        assert_eq!(
            patch_diff(
                &base,
                &f,
                out(g.sides[image_slot(Side::Right)].brow_center),
                6
            ),
            0.0
        );
    }

    #[test]
    fn source_timestamps_are_exact() {
        for fps in [30u32, 60] {
            let spec = SynthSpec {
                fps,
                seconds: 1.5,
                width: 160,
                height: 120,
                geometry: Some(FaceGeometry::astronaut_fallback()),
                ..SynthSpec::default()
            };
            let mut src = SyntheticSource::new(&spec).unwrap();
            let expected = (1.5 * fps as f64) as u64;
            assert_eq!(src.info().frames, Some(expected));
            assert_eq!(src.info().fps, fps as f64);
            let mut f = Frame::default();
            let mut n = 0u64;
            while src.next_frame(&mut f).unwrap() {
                assert_eq!(f.index, n);
                assert_eq!(f.timestamp_s, n as f64 / fps as f64);
                assert_eq!((f.width, f.height), (160, 120));
                assert_eq!(f.rgb.len(), 160 * 120 * 3);
                assert_eq!(f.luma.len(), 160 * 120);
                n += 1;
            }
            assert_eq!(n, expected);
            assert!(!src.next_frame(&mut f).unwrap());
        }
    }

    #[test]
    fn truth_json_matches_bench_schema() {
        let bench = r#"{"name": "dev_x", "fps": 30, "seconds": 45,
            "expected_laterality": "right",
            "events": [{"start_s": 8.871, "end_s": 10.87, "side": "right", "kind": "tonic",
                        "rate_hz": null, "regions": ["eye", "cheek", "mouth", "brow"]},
                       {"start_s": 4.0, "end_s": 5.213, "side": "right", "kind": "clonic",
                        "rate_hz": 5.0, "regions": ["eye"]}],
            "blinks": [{"start_s": 1.199, "end_s": 1.459}],
            "mirrored": false, "notes": "x"}"#;
        let t: Truth = serde_json::from_str(bench).unwrap();
        assert_eq!(t.events[0].rate_hz, None);
        let spec = quiet_spec(Scenario::RightTonicSynkinesis, 2);
        let truth = Plan::new(&spec).truth("demo");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.truth.json");
        write_truth(&truth, &path).unwrap();
        assert_eq!(read_truth(&path).unwrap(), truth);
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let b: serde_json::Value = serde_json::from_str(bench).unwrap();
        let keys = |v: &serde_json::Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys(&v), keys(&b));
        assert_eq!(keys(&v["events"][0]), keys(&b["events"][0]));
        assert_eq!(keys(&v["blinks"][0]), keys(&b["blinks"][0]));
    }

    #[test]
    fn geometry_from_landmarks() {
        let fb = FaceGeometry::astronaut_fallback();
        let mut pts = vec![[0.0f32; 3]; 468];
        for s in 0..2 {
            let g = &fb.sides[s];
            let set = |pts: &mut Vec<[f32; 3]>, i: usize, p: [f32; 2]| pts[i] = [p[0], p[1], 0.0];
            set(&mut pts, mp::EYE_OUTER[s], g.upper_lid[0]);
            set(&mut pts, mp::EYE_INNER[s], g.upper_lid[2]);
            set(&mut pts, mp::UPPER_LID[s], g.upper_lid[1]);
            set(&mut pts, mp::LOWER_LID[s], g.lower_lid[1]);
            for &i in &mp::BROW[s] {
                set(&mut pts, i, g.brow_center);
            }
            for &i in &mp::CHEEK[s] {
                set(&mut pts, i, g.cheek_center);
            }
            set(&mut pts, mp::MOUTH_CORNER[s], g.mouth_corner);
        }
        let g = FaceGeometry::from_landmarks(&pts).unwrap();
        for s in 0..2 {
            let (a, b) = (&g.sides[s], &fb.sides[s]);
            assert!((a.eye_half_w - b.eye_half_w).abs() < 1e-4);
            assert!((a.brow_center[1] - b.brow_center[1]).abs() < 1e-4);
            assert!((a.eye_center[0] - b.eye_center[0]).abs() < 1e-4);
        }
        assert!(FaceGeometry::from_landmarks(&pts[..100]).is_err());
        // Mirrored landmarks (patient right on the image right) are refused.
        let mirrored: Vec<[f32; 3]> = pts.iter().map(|p| [512.0 - p[0], p[1], p[2]]).collect();
        assert!(FaceGeometry::from_landmarks(&mirrored).is_err());
    }

    #[test]
    fn tracker_agrees_with_hand_measured_geometry() {
        let img = load_photo(None).unwrap();
        let tracked = FaceGeometry::locate(&img).unwrap();
        let fb = FaceGeometry::astronaut_fallback();
        for (a, b) in tracked.sides.iter().zip(&fb.sides) {
            eprintln!("tracked {a:?}\nmeasured {b:?}");
        }
        assert!(tracked.close_to(&fb, 0.15));
    }

    #[test]
    fn renders_h264_video() {
        if Command::new("ffmpeg").arg("-version").output().is_err() {
            eprintln!("ffmpeg missing: skipped");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clip.mp4");
        let spec = SynthSpec {
            scenario: Scenario::Talking,
            seconds: 1.0,
            width: 320,
            height: 240,
            geometry: Some(FaceGeometry::astronaut_fallback()),
            ..SynthSpec::default()
        };
        let truth = render(&spec, &path).unwrap();
        assert_eq!(truth.name, "clip");
        assert!(std::fs::metadata(&path).unwrap().len() > 1000);
    }
}
