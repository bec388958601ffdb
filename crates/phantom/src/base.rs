//! Base-video mode: the phantom's muscle warps drawn onto a real face video.
//!
//! Phantoms animate one photo, and a detector tuned on them fails on real
//! people (asymmetric blinks, talking, glasses, head turns, camera noise).
//! Here the same warps (upper-lid descent, lower-lid ripple, cheek raise,
//! mouth-corner pull, brow lift) are applied to a real clip, frame by frame,
//! at the face found in that frame; everything else stays real. No synthetic
//! head sway, lighting, flicker, noise or blinks are added.
//!
//! The clip is decoded twice (by [`VideoFileSource`], the project's own
//! decoder): first to run [`FaceTracker`] on every frame, then to warp and
//! encode. Between the two passes the landmarks are smoothed over time
//! (landmark jitter must not become extra warp motion, and the warp must not
//! lag a fast head: see [`smooth_faces`]), the stretches with a face are
//! found and the events are planned inside them. A clip played ping-pong
//! (`loop_to`) is kept in memory instead of being decoded again.
//!
//! The output is CFR at the base's frame rate and size; output frame `k` is
//! at `k / fps` s, and the truth uses that clock. A base with a variable
//! frame rate (phones) is resampled to it by the real timestamps: each output
//! frame shows the base frame nearest its time, so content keeps its timing. Sides are the patient's
//! (patient LEFT = image RIGHT; frames are never mirrored).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

use super::{
    Encoder, Event, FaceGeometry, FaceState, FaceWarp, Kind, Outline, Plan, REG_EYE, REG_SYNK,
    REG_TONIC, Rng, Scenario, SideGeometry, TruthBlink, TruthEvent, Who, check_amplitude,
    image_slot, round_ms, write_pretty_json,
};
use twitchscope_engine::face::FaceTracker;
use twitchscope_engine::frame::{Frame, FrameSource};
use twitchscope_engine::regions::Side;
use twitchscope_engine::source::VideoFileSource;

/// Default H.264 CRF for base-video mode: low enough that a subtle added
/// twitch survives the re-encode.
pub const BASE_CRF: u32 = 18;

/// Events stay this far (s) from any frame without a face and from the clip
/// ends, so every event is fully visible with some context around it.
pub const FACE_MARGIN_S: f64 = 0.5;

/// Half-width (s) of the centred moving averages over the landmarks: ±2
/// frames at 25-30 fps. Long enough to cut FaceMesh's frame-to-frame jitter
/// (0.1-0.4 px on the clips here) by 2-3x, short enough not to smear an
/// expression.
const SMOOTH_HALF_S: f64 = 0.067;

/// Head-pose smoothing gives way to the raw pose when the two differ by
/// more than this many pixels at the face (fast head motion: real people
/// swing their heads by up to 60 px a frame, and a lagging warp would land
/// beside the eye); full smoothing below `POSE_SMOOTH_PX.0`.
const POSE_SMOOTH_PX: (f32, f32) = (0.5, 1.5);

/// FaceMesh landmarks that expressions barely move (eye corners, nose
/// bridge and tip, forehead): the head pose is fitted on them.
const RIGID: [usize; 13] = [33, 133, 362, 263, 168, 6, 197, 195, 5, 4, 1, 151, 10];

/// FaceMesh face-oval landmarks of each side (patient right = image left,
/// then patient left), from the temple down to the jaw.
const OUTLINE: [[usize; 6]; 2] = [[162, 127, 234, 93, 132, 58], [389, 356, 454, 323, 361, 288]];

/// A looped (ping-pong) base is held in memory; this caps it.
const MAX_LOOP_BYTES: usize = 3 << 30;

/// Inter-ocular distance (px) of the photo phantom at its 640-pixel framing:
/// the ripple amplitudes of the plan are in those pixels, so on a real face
/// they are scaled by its own inter-ocular distance.
const BENCH_IOD_PX: f32 = 0.16 * 640.0;

/// Half-width (px) of the anti-aliased edge of a descending lid.
const LID_EDGE_PX: f32 = 0.6;

/// What to draw on which real clip.
#[derive(Clone, Debug, PartialEq)]
pub struct BaseSpec {
    /// The real face video.
    pub base: PathBuf,
    /// `rest_blinks` and `talking` add nothing (a plain re-encode).
    pub scenario: Scenario,
    /// Seeds event timing, rates and amplitudes.
    pub seed: u64,
    /// Scales every warp: 1 = obvious twitch, 0.3 = subtle lid flicker.
    pub amplitude: f32,
    /// How far a closing lid pulls the skin around the eye down with it,
    /// in lid travels at full closure: 0 = the lid alone (the default).
    /// Spasms drawn by other tools move the whole eye area; this checks a
    /// detector against that style too.
    pub drag: f32,
    /// H.264 constant rate factor.
    pub crf: u32,
    /// Extend a short clip to this many seconds by playing it forward and
    /// backward (ping-pong); `None` keeps the clip's own length.
    pub loop_to: Option<f64>,
}

impl BaseSpec {
    pub fn new(base: impl Into<PathBuf>, scenario: Scenario) -> BaseSpec {
        BaseSpec {
            base: base.into(),
            scenario,
            seed: 1,
            amplitude: 1.0,
            drag: 0.0,
            crf: BASE_CRF,
            loop_to: None,
        }
    }

    fn validate(&self) -> Result<()> {
        check_amplitude(self.amplitude)?;
        if !(self.drag.is_finite() && (0.0..=3.0).contains(&self.drag)) {
            bail!("--drag must be between 0 and 3, got {}", self.drag);
        }
        if self.crf > 51 {
            bail!("crf must be 0..=51, got {}", self.crf);
        }
        if let Some(s) = self.loop_to
            && !(s.is_finite() && s > 0.0 && s <= 3600.0)
        {
            bail!("--loop-to must be a positive number of seconds (at most 3600), got {s}");
        }
        Ok(())
    }
}

/// Ground truth of a base-video clip: the bench's schema
/// (`../shared/bench/dev_rm_*.truth.json`) plus a few descriptive fields the
/// scorer ignores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaseTruth {
    pub name: String,
    pub fps: f64,
    pub seconds: f64,
    /// `"left"`, `"right"`, `"bilateral"` or `"none"` (patient sides).
    pub expected_laterality: String,
    pub events: Vec<TruthEvent>,
    /// Always `null`: the real person's own blinks are not known.
    pub blinks: Option<Vec<TruthBlink>>,
    /// Stem of the base clip.
    pub source: String,
    pub mirrored: bool,
    /// Output frames in which the tracker found no face.
    pub frames_without_face: u64,
    /// Warp amplitude (1 = obvious; 0 when nothing was drawn).
    pub amplitude: f64,
    /// [`BaseSpec::drag`].
    #[serde(default)]
    pub drag: f64,
    pub scenario: String,
    pub seed: u64,
    /// Length of the base clip (s); differs from `seconds` when looped.
    pub source_seconds: f64,
    /// Whether the base was played ping-pong to reach `seconds`.
    pub looped: bool,
    pub notes: String,
}

/// Writes a base-video truth as pretty JSON (like the bench files).
pub fn write_base_truth(truth: &BaseTruth, path: &Path) -> Result<()> {
    write_pretty_json(truth, path)
}

/// Draws `spec.scenario` onto the real clip `spec.base`, writes the H.264
/// video to `out` and returns the truth (named after `out`'s stem; write it
/// with [`write_base_truth`]).
pub fn render_on_base(spec: &BaseSpec, out: &Path) -> Result<BaseTruth> {
    spec.validate()?;
    let clip = BaseClip::load(&spec.base, spec.loop_to.is_some())?;
    Ok(clip.render(spec, out)?.truth)
}

/// Output frame `k` of a ping-pong loop over `n` base frames: 0, 1, ..,
/// n-1, n-2, .., 1, 0, 1, .. (the turning frames are not repeated, so the
/// motion reverses without a one-frame freeze).
pub fn ping_pong_index(k: usize, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let r = k % period;
    if r < n { r } else { period - r }
}

// ---------------------------------------------------------------------------
// Pass 1: the face in every frame
// ---------------------------------------------------------------------------

/// A decoded and tracked base clip.
struct BaseClip {
    path: PathBuf,
    stem: String,
    width: usize,
    height: usize,
    fps: f64,
    /// Per decoded frame: the tracked face (unsmoothed), `None` without one.
    faces: Vec<Option<TrackedFace>>,
    /// The clip at a constant `fps`: the decoded frame nearest each time
    /// step (the identity for a constant-rate file).
    cfr: Vec<usize>,
    /// The decoded frames (RGB, back to back) when kept in memory.
    frames: Option<Vec<u8>>,
}

/// For each step `k / fps` from the first timestamp to the last, the index
/// of the frame whose timestamp is nearest (frames are repeated across gaps
/// and dropped where they come faster than `fps`).
fn constant_rate(times: &[f64], fps: f64) -> Vec<usize> {
    let t0 = times[0];
    let steps = ((times[times.len() - 1] - t0) * fps).round() as usize + 1;
    let mut j = 0;
    (0..steps)
        .map(|k| {
            let t = t0 + k as f64 / fps;
            while j + 1 < times.len() && (times[j + 1] - t).abs() < (times[j] - t).abs() {
                j += 1;
            }
            j
        })
        .collect()
}

impl BaseClip {
    /// Decodes `path`, tracks the face in every frame and, if `keep_frames`,
    /// holds the frames in memory (needed for ping-pong).
    fn load(path: &Path, keep_frames: bool) -> Result<BaseClip> {
        let mut src = VideoFileSource::open(path).context("base video")?;
        let info = src.info().clone();
        if info.width < 16 || info.height < 16 {
            bail!(
                "base video {}: {}x{} is too small for a face",
                path.display(),
                info.width,
                info.height
            );
        }
        let fps = info.fps;
        let frame_len = info.width * info.height * 3;
        let mut tracker = FaceTracker::new()?;
        let mut frame = Frame::default();
        let mut faces = Vec::new();
        let mut times = Vec::new();
        let mut frames = keep_frames.then(Vec::new);
        while src
            .next_frame(&mut frame)
            .with_context(|| format!("decoding base video {}", path.display()))?
        {
            let g = tracker
                .track(&frame)
                .with_context(|| format!("tracking the face in {}", path.display()))?
                .and_then(|lm| TrackedFace::new(&lm.points));
            faces.push(g);
            times.push(frame.timestamp_s);
            if let Some(buf) = frames.as_mut() {
                if buf.len() + frame_len > MAX_LOOP_BYTES {
                    bail!(
                        "base video {} is too long to loop in memory ({} frames of {}x{}); \
                         --loop-to is meant for clips of a few seconds",
                        path.display(),
                        faces.len(),
                        info.width,
                        info.height
                    );
                }
                buf.extend_from_slice(&frame.rgb);
            }
        }
        if faces.is_empty() {
            bail!("base video {}: no frames decoded", path.display());
        }
        if faces.iter().all(Option::is_none) {
            bail!("base video {}: no face found in any frame", path.display());
        }
        let cfr = constant_rate(&times, fps);
        Ok(BaseClip {
            path: path.to_path_buf(),
            stem: path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("base")
                .to_string(),
            width: info.width,
            height: info.height,
            fps,
            faces,
            cfr,
            frames,
        })
    }

    /// Length at the constant rate.
    fn seconds(&self) -> f64 {
        self.cfr.len() as f64 / self.fps
    }
}

/// What the warps need of a face: the muscle geometry and the outline of
/// each side (where skin bumps fade out).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Face {
    geo: FaceGeometry,
    outline: [[[f32; 2]; 6]; 2],
}

impl Face {
    const N_VALUES: usize = FaceGeometry::N_VALUES + 24;

    /// Applies `f` to every point; the eye half-lengths are left as they are.
    fn map_points(&self, f: impl Fn([f32; 2]) -> [f32; 2]) -> Face {
        Face {
            geo: self.geo.map_points(&f),
            outline: self.outline.map(|side| side.map(&f)),
        }
    }

    /// Every coordinate and length, for averaging.
    fn values(&self) -> [f32; Face::N_VALUES] {
        let mut v = [0.0; Face::N_VALUES];
        v[..FaceGeometry::N_VALUES].copy_from_slice(&self.geo.values());
        for (i, p) in self.outline.iter().flatten().enumerate() {
            v[FaceGeometry::N_VALUES + 2 * i] = p[0];
            v[FaceGeometry::N_VALUES + 2 * i + 1] = p[1];
        }
        v
    }

    fn from_values(v: &[f32; Face::N_VALUES]) -> Face {
        let mut geo = [0.0; FaceGeometry::N_VALUES];
        geo.copy_from_slice(&v[..FaceGeometry::N_VALUES]);
        let o = FaceGeometry::N_VALUES;
        Face {
            geo: FaceGeometry::from_values(&geo),
            outline: std::array::from_fn(|s| {
                std::array::from_fn(|k| [v[o + 12 * s + 2 * k], v[o + 12 * s + 2 * k + 1]])
            }),
        }
    }
}

/// One frame's face and the rigid landmarks its head pose is fitted on.
#[derive(Clone, Copy, Debug, PartialEq)]
struct TrackedFace {
    face: Face,
    rigid: [[f32; 2]; RIGID.len()],
}

impl TrackedFace {
    /// The face of FaceMesh landmarks, or `None` if they are unusable.
    /// Unlike [`FaceGeometry::from_landmarks`] a closed or squinting eye is
    /// accepted: real people blink, and the lid warp does nothing on an eye
    /// that is already shut.
    fn new(points: &[[f32; 3]]) -> Option<TrackedFace> {
        if points.len() < 468
            || points
                .iter()
                .any(|p| !(p[0].is_finite() && p[1].is_finite()))
        {
            return None;
        }
        let geo = FaceGeometry::build(points);
        let (r, l) = (
            &geo.sides[image_slot(Side::Right)],
            &geo.sides[image_slot(Side::Left)],
        );
        let p2 = |i: usize| [points[i][0], points[i][1]];
        // Patient right must be image-left (the frames are not mirrored), and
        // each eye must be wide enough to carry a warp.
        (r.eye_center[0] < l.eye_center[0] && r.eye_half_w >= 2.0 && l.eye_half_w >= 2.0).then(
            || TrackedFace {
                face: Face {
                    geo,
                    outline: OUTLINE.map(|side| side.map(p2)),
                },
                rigid: RIGID.map(p2),
            },
        )
    }
}

/// A 2-D similarity transform `p -> [a -b; b a] p + t`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Similarity {
    a: f32,
    b: f32,
    t: [f32; 2],
}

impl Similarity {
    /// Least-squares fit mapping `from` onto `to` (Umeyama, no reflection).
    fn fit(from: &[[f32; 2]], to: &[[f32; 2]]) -> Similarity {
        let n = from.len() as f32;
        let mean = |v: &[[f32; 2]]| {
            let s = v.iter().fold([0.0, 0.0], |s, p| [s[0] + p[0], s[1] + p[1]]);
            [s[0] / n, s[1] / n]
        };
        let (mf, mt) = (mean(from), mean(to));
        let (mut dot, mut cross, mut norm) = (0.0, 0.0, 0.0);
        for (p, q) in from.iter().zip(to) {
            let (px, py) = (p[0] - mf[0], p[1] - mf[1]);
            let (qx, qy) = (q[0] - mt[0], q[1] - mt[1]);
            dot += px * qx + py * qy;
            cross += px * qy - py * qx;
            norm += px * px + py * py;
        }
        let norm = norm.max(1e-6);
        let (a, b) = (dot / norm, cross / norm);
        Similarity {
            a,
            b,
            t: [
                mt[0] - (a * mf[0] - b * mf[1]),
                mt[1] - (b * mf[0] + a * mf[1]),
            ],
        }
    }

    fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        [
            self.a * p[0] - self.b * p[1] + self.t[0],
            self.b * p[0] + self.a * p[1] + self.t[1],
        ]
    }

    fn scale(&self) -> f32 {
        self.a.hypot(self.b)
    }

    fn inverse(&self) -> Similarity {
        let d = (self.a * self.a + self.b * self.b).max(1e-12);
        let (a, b) = (self.a / d, -self.b / d);
        Similarity {
            a,
            b,
            t: [
                -(a * self.t[0] - b * self.t[1]),
                -(b * self.t[0] + a * self.t[1]),
            ],
        }
    }

    /// The face under this transform (lengths scaled too).
    fn map(&self, f: &Face) -> Face {
        let k = self.scale();
        let mut out = f.map_points(|p| self.apply(p));
        for s in out.geo.sides.iter_mut() {
            s.eye_half_w *= k;
            s.eye_half_h *= k;
        }
        out
    }

    fn values(&self) -> [f32; 4] {
        [self.a, self.b, self.t[0], self.t[1]]
    }
}

impl FaceGeometry {
    /// Applies `f` to every point; the eye half-lengths are left as they are.
    fn map_points(&self, f: impl Fn([f32; 2]) -> [f32; 2]) -> FaceGeometry {
        let side = |s: &SideGeometry| SideGeometry {
            eye_center: f(s.eye_center),
            upper_lid: s.upper_lid.map(&f),
            lower_lid: s.lower_lid.map(&f),
            brow_center: f(s.brow_center),
            cheek_center: f(s.cheek_center),
            mouth_corner: f(s.mouth_corner),
            ..*s
        };
        FaceGeometry {
            sides: [side(&self.sides[0]), side(&self.sides[1])],
        }
    }

    const N_VALUES: usize = 44;

    /// Every coordinate and length, for averaging.
    fn values(&self) -> [f32; FaceGeometry::N_VALUES] {
        let mut v = [0.0; FaceGeometry::N_VALUES];
        let mut i = 0;
        let mut put = |x: f32| {
            v[i] = x;
            i += 1;
        };
        for s in &self.sides {
            for p in [s.eye_center, s.brow_center, s.cheek_center, s.mouth_corner]
                .iter()
                .chain(&s.upper_lid)
                .chain(&s.lower_lid)
            {
                put(p[0]);
                put(p[1]);
            }
            put(s.eye_half_w);
            put(s.eye_half_h);
        }
        v
    }

    fn from_values(v: &[f32; FaceGeometry::N_VALUES]) -> FaceGeometry {
        let side = |o: usize| {
            let p = |k: usize| [v[o + 2 * k], v[o + 2 * k + 1]];
            SideGeometry {
                eye_center: p(0),
                brow_center: p(1),
                cheek_center: p(2),
                mouth_corner: p(3),
                upper_lid: [p(4), p(5), p(6)],
                lower_lid: [p(7), p(8), p(9)],
                eye_half_w: v[o + 20],
                eye_half_h: v[o + 21],
            }
        };
        FaceGeometry {
            sides: [side(0), side(22)],
        }
    }
}

/// Half-width of a centred window around `k` of at most `radius` frames
/// that stays inside one run of frames with a face. It shrinks
/// symmetrically near a face loss, so an average over it never lags.
fn window(present: &[bool], k: usize, radius: usize) -> usize {
    let mut r = 0;
    while r < radius
        && k > r
        && k + r + 1 < present.len()
        && present[k - r - 1]
        && present[k + r + 1]
    {
        r += 1;
    }
    r
}

/// Mean of `vals[k - r..=k + r]` (all present).
fn mean_over<const N: usize>(vals: &[Option<[f32; N]>], k: usize, r: usize) -> [f32; N] {
    let mut acc = [0.0f32; N];
    for v in vals[k - r..=k + r].iter().flatten() {
        for (a, x) in acc.iter_mut().zip(v) {
            *a += x;
        }
    }
    let inv = 1.0 / (2 * r + 1) as f32;
    acc.map(|a| a * inv)
}

/// Smooths the tracked faces over time without letting the warp lag the
/// head. Each face is split into a head pose (a similarity fitted on the
/// rigid landmarks, relative to the first face) and its shape in the head's
/// frame. The shape (lids, brows, cheeks, mouth corners in face
/// coordinates) is averaged over ±`radius` frames; the pose is averaged too
/// while the head is still, but taken as measured when averaging would move
/// the face by more than [`POSE_SMOOTH_PX`] (fast head motion).
fn smooth_faces(raw: &[Option<TrackedFace>], radius: usize) -> Vec<Option<Face>> {
    let Some(reference) = raw.iter().flatten().next().map(|f| f.rigid) else {
        return vec![None; raw.len()];
    };
    let present: Vec<bool> = raw.iter().map(Option::is_some).collect();
    let poses: Vec<Option<Similarity>> = raw
        .iter()
        .map(|f| f.as_ref().map(|f| Similarity::fit(&reference, &f.rigid)))
        .collect();
    let shapes: Vec<Option<[f32; Face::N_VALUES]>> = raw
        .iter()
        .zip(&poses)
        .map(|(f, p)| Some(p.as_ref()?.inverse().map(&f.as_ref()?.face).values()))
        .collect();
    let pose_vals: Vec<Option<[f32; 4]>> = poses
        .iter()
        .map(|p| p.as_ref().map(Similarity::values))
        .collect();
    (0..raw.len())
        .map(|k| {
            let raw_pose = poses[k]?;
            let r = window(&present, k, radius);
            let shape = Face::from_values(&mean_over(&shapes, k, r));
            let [a, b, tx, ty] = mean_over(&pose_vals, k, r);
            let avg = Similarity { a, b, t: [tx, ty] };
            // How far the averaged pose would move the face from where it is.
            let off = reference
                .iter()
                .map(|&p| {
                    let (x, y) = (avg.apply(p), raw_pose.apply(p));
                    (x[0] - y[0]).hypot(x[1] - y[1])
                })
                .fold(0.0f32, f32::max);
            let (lo, hi) = POSE_SMOOTH_PX;
            let w = ((hi - off) / (hi - lo)).clamp(0.0, 1.0);
            let pv = raw_pose.values();
            let [a, b, tx, ty] = std::array::from_fn(|i| pv[i] + w * (avg.values()[i] - pv[i]));
            Some(Similarity { a, b, t: [tx, ty] }.map(&shape))
        })
        .collect()
}

/// The stretches (output seconds) where an event may lie: at least
/// [`FACE_MARGIN_S`] from every frame without a face and from the clip ends.
fn usable_spans(has_face: &[bool], fps: f64) -> Vec<(f64, f64)> {
    let n = has_face.len();
    let end = n as f64 / fps;
    let mut spans = Vec::new();
    let mut k = 0;
    while k < n {
        if !has_face[k] {
            k += 1;
            continue;
        }
        let k0 = k;
        while k < n && has_face[k] {
            k += 1;
        }
        // Frames k0-1 and k have no face (or are past the ends).
        let lo = if k0 == 0 { 0.0 } else { (k0 - 1) as f64 / fps };
        let hi = if k == n { end } else { k as f64 / fps };
        let (lo, hi) = (
            (lo + FACE_MARGIN_S).max(FACE_MARGIN_S),
            (hi - FACE_MARGIN_S).min(end - FACE_MARGIN_S),
        );
        if hi > lo {
            spans.push((lo, hi));
        }
    }
    spans
}

/// Times (output seconds, padded) when the real person has both eyes nearly
/// shut (blinks, squints): a twitch drawn there would be hidden by the real
/// lid, so the planner avoids them when it can.
fn real_closures(geo: &[Option<FaceGeometry>], fps: f64) -> Vec<(f64, f64)> {
    const PAD_S: f64 = 0.15;
    let ratio = |g: &FaceGeometry, s: usize| g.sides[s].eye_half_h / g.sides[s].eye_half_w;
    let median = |s: usize| {
        let mut r: Vec<f32> = geo.iter().flatten().map(|g| ratio(g, s)).collect();
        r.sort_by(f32::total_cmp);
        r.get(r.len() / 2).copied().unwrap_or(0.0)
    };
    let med = [median(0), median(1)];
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (k, g) in geo.iter().enumerate() {
        let Some(g) = g else { continue };
        if (0..2).all(|s| ratio(g, s) < 0.6 * med[s]) {
            let (a, b) = (k as f64 / fps - PAD_S, (k + 1) as f64 / fps + PAD_S);
            match out.last_mut() {
                Some(last) if a <= last.1 => last.1 = b,
                _ => out.push((a, b)),
            }
        }
    }
    out
}

/// `spans` with the `holes` cut out.
fn subtract(spans: &[(f64, f64)], holes: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for &(a, b) in spans {
        let mut lo = a;
        for &(ha, hb) in holes {
            if hb <= lo || ha >= b {
                continue;
            }
            if ha > lo {
                out.push((lo, ha));
            }
            lo = lo.max(hb);
        }
        if b > lo {
            out.push((lo, b));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Planning events on a real clip
// ---------------------------------------------------------------------------

impl Event {
    /// Shortens the event so it ends by `t_max`, if it stays recognisable: a
    /// clonic burst keeps at least 4 twitches, a tonic spasm 1.5 s, a
    /// myokymia episode 3 s.
    fn fit(mut self, t_max: f64) -> Option<Event> {
        if self.end <= t_max {
            return Some(self);
        }
        match self.kind {
            Kind::Clonic => {
                while self.n_twitches > 4 && self.end > t_max {
                    self.n_twitches -= 1;
                    self.end = self.start + (self.n_twitches - 1) as f64 / self.rate + self.pulse;
                }
                (self.end <= t_max).then_some(self)
            }
            Kind::Tonic | Kind::Myokymia => {
                let min = if self.kind == Kind::Tonic { 1.5 } else { 3.0 };
                (t_max - self.start >= min).then(|| {
                    self.end = t_max;
                    self
                })
            }
        }
    }
}

/// The `i`-th event of `sc` starting at `t`, or `None` for scenarios
/// without spasm.
fn base_event(sc: Scenario, rng: &mut Rng, i: usize, t: f64) -> Option<Event> {
    let who = sc.spasm_side().map(Who::One);
    Some(match sc {
        Scenario::RestBlinks | Scenario::Talking => return None,
        Scenario::LeftClonicEye | Scenario::RightClonicEye => Event::clonic(rng, who?, t, REG_EYE),
        Scenario::LeftTonicSynkinesis | Scenario::RightTonicSynkinesis => {
            // Tonic first, then clonic (like the dev set's real clip), then
            // a random mix.
            let tonic = match i {
                0 => true,
                1 => false,
                _ => rng.f64() < 0.5,
            };
            if tonic {
                Event::tonic(rng, who?, t, REG_TONIC)
            } else {
                Event::clonic(rng, who?, t, REG_SYNK)
            }
        }
        Scenario::LeftMyokymia | Scenario::RightMyokymia => Event::myokymia(rng, who?, t),
        Scenario::Bilateral => Event::bilateral(rng, t),
    })
}

impl Plan {
    /// Events of `sc` for a real clip, only inside `spans` (output seconds).
    /// Short clips (6-20 s) get one to a few events with 2-5 s between them;
    /// every spasm scenario gets at least one, shortened if needed, or an
    /// error says why it cannot.
    fn for_base(sc: Scenario, seed: u64, amplitude: f32, spans: &[(f64, f64)]) -> Result<Plan> {
        let mut rng = Rng::new(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0xBA5E_C11B);
        let mut events: Vec<Event> = Vec::new();
        let mut i = 0;
        // Earliest start of the next event: 2-5 s after the previous one,
        // also across a face loss or a real blink.
        let mut next = f64::MIN;
        for &(a, b) in spans {
            let mut t = (a + rng.range(0.0, 1.5)).max(next);
            while let Some(e) = base_event(sc, &mut rng, i, t).and_then(|e| e.fit(b)) {
                next = e.end + rng.range(2.0, 5.0);
                t = next;
                events.push(e);
                i += 1;
            }
        }
        if events.is_empty() && sc.expected_laterality() != "none" {
            // The random lead-in or the first kind did not fit: start at the
            // beginning of the longest stretch and try the next kinds too.
            let longest = spans
                .iter()
                .copied()
                .max_by(|x, y| (x.1 - x.0).total_cmp(&(y.1 - y.0)));
            if let Some((a, b)) = longest {
                events.extend((0..4).find_map(|i| base_event(sc, &mut rng, i, a)?.fit(b)));
            }
            if events.is_empty() {
                let len = longest.map_or(0.0, |(a, b)| b - a);
                bail!(
                    "no stretch of the base with a face is long enough for a {} event: the \
                     longest is {len:.1} s after keeping {FACE_MARGIN_S} s from the ends and from \
                     frames without a face (try --loop-to)",
                    sc.name()
                );
            }
        }
        Ok(Plan {
            // Unused here: the clip's own clock and length make the truth.
            fps: 0,
            seconds: 0.0,
            scenario: sc,
            events,
            blinks: Vec::new(),
            speech: Vec::new(),
            sway: [[(0.0, 0.0, 0.0); 2]; 4],
            head_motion: 0.0,
            light: [(0.0, 0.0, 0.0); 3],
            lighting_drift: 0.0,
            flicker: 0.0,
            flicker_hz: 0.0,
            amplitude: amplitude as f64,
        })
    }
}

// ---------------------------------------------------------------------------
// Pass 2: warp and encode
// ---------------------------------------------------------------------------

/// What a render produced (the plan and geometry are for tests).
struct Rendered {
    truth: BaseTruth,
    #[cfg_attr(not(test), allow(dead_code))]
    plan: Plan,
    /// Per output frame: the smoothed geometry the warps used.
    #[cfg_attr(not(test), allow(dead_code))]
    geo: Vec<Option<FaceGeometry>>,
}

/// ffmpeg's `-r` value for `fps`: integers exactly, others as decimals.
fn rate_arg(fps: f64) -> String {
    if (fps - fps.round()).abs() < 1e-9 {
        format!("{}", fps.round() as u64)
    } else {
        format!("{fps:.6}")
    }
}

impl BaseClip {
    fn render(&self, spec: &BaseSpec, out: &Path) -> Result<Rendered> {
        spec.validate()?;
        let n_base = self.cfr.len();
        let fps = self.fps;
        let n_out = match spec.loop_to {
            None => n_base,
            Some(s) => {
                let n = (s * fps).round() as usize;
                if n <= n_base {
                    bail!(
                        "--loop-to {s} s is not longer than the base video ({:.2} s)",
                        self.seconds()
                    );
                }
                if self.frames.is_none() {
                    return Err(anyhow!("internal: a looped base must be kept in memory"));
                }
                n
            }
        };
        // Output frame k shows decoded frame map[k].
        let map: Vec<usize> = (0..n_out)
            .map(|k| self.cfr[ping_pong_index(k, n_base)])
            .collect();
        let raw: Vec<Option<TrackedFace>> = map.iter().map(|&i| self.faces[i]).collect();
        let radius = ((SMOOTH_HALF_S * fps).round() as usize).max(1);
        let faces = smooth_faces(&raw, radius);
        let geo: Vec<Option<FaceGeometry>> = faces.iter().map(|f| f.map(|f| f.geo)).collect();
        let has_face: Vec<bool> = geo.iter().map(Option::is_some).collect();
        let spans = usable_spans(&has_face, fps);
        // Prefer stretches where the person's eyes are open; fall back to all
        // face-tracked time when that leaves no room.
        let open = subtract(&spans, &real_closures(&geo, fps));
        let plan = Plan::for_base(spec.scenario, spec.seed, spec.amplitude, &open)
            .or_else(|_| Plan::for_base(spec.scenario, spec.seed, spec.amplitude, &spans))
            .with_context(|| format!("base video {}", self.path.display()))?;

        // yuv420p needs an even size: drop a last odd column/row if any.
        let (w, h) = (self.width, self.height);
        let (ew, eh) = (w & !1, h & !1);
        let mut enc = Encoder::spawn(ew, eh, &rate_arg(fps), spec.crf, out)?;
        let frame_len = w * h * 3;
        let mut out_rgb = vec![0u8; frame_len];
        let mut cropped = if (ew, eh) != (w, h) {
            vec![0u8; ew * eh * 3]
        } else {
            Vec::new()
        };
        let mut source = match self.frames {
            Some(_) => None,
            None => Some(VideoFileSource::open(&self.path).context("base video")?),
        };
        let mut frame = Frame::default();
        // Index of the decoded frame held in `frame` (streaming, map[k] never
        // decreases; a repeated frame is not decoded again).
        let mut held: Option<usize> = None;
        for (k, face) in faces.iter().enumerate() {
            let src: &[u8] = match (&mut source, &self.frames) {
                (Some(s), _) => {
                    while held != Some(map[k]) {
                        if !s.next_frame(&mut frame)? || frame.rgb.len() != frame_len {
                            bail!(
                                "base video {} changed between two decodes (frame {k})",
                                self.path.display()
                            );
                        }
                        held = Some(held.map_or(0, |i| i + 1));
                    }
                    &frame.rgb
                }
                (None, Some(all)) => &all[map[k] * frame_len..(map[k] + 1) * frame_len],
                (None, None) => unreachable!("frames are either kept or decoded"),
            };
            out_rgb.copy_from_slice(src);
            if let Some(face) = face {
                let st = plan.state_at(k as f64 / fps);
                warp_onto(face, &st, spec.drag, src, &mut out_rgb, w, h);
            }
            let ok = if cropped.is_empty() {
                enc.write(&out_rgb)
            } else {
                for (dst, row) in cropped
                    .chunks_exact_mut(ew * 3)
                    .zip(out_rgb.chunks_exact(w * 3))
                {
                    dst.copy_from_slice(&row[..ew * 3]);
                }
                enc.write(&cropped)
            };
            if !ok {
                break;
            }
        }
        enc.finish()?;

        let name = out
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("base")
            .to_string();
        let frames_without_face = has_face.iter().filter(|&&f| !f).count() as u64;
        let truth = BaseTruth {
            name,
            fps,
            seconds: round_ms(n_out as f64 / fps),
            expected_laterality: spec.scenario.expected_laterality().to_string(),
            events: plan.truth_events(),
            blinks: None,
            source: self.stem.clone(),
            mirrored: false,
            frames_without_face,
            // Nothing is drawn without a spasm scenario.
            amplitude: if spec.scenario.expected_laterality() == "none" {
                0.0
            } else {
                round_ms(spec.amplitude as f64)
            },
            drag: round_ms(spec.drag as f64),
            scenario: spec.scenario.name().to_string(),
            seed: spec.seed,
            source_seconds: round_ms(self.seconds()),
            looped: spec.loop_to.is_some(),
            notes: self.notes(spec, n_out, (ew, eh)),
        };
        Ok(Rendered { truth, plan, geo })
    }

    fn notes(&self, spec: &BaseSpec, n_out: usize, size: (usize, usize)) -> String {
        let mut notes = if spec.scenario.expected_laterality() != "none" {
            format!(
                "real face ({}) with injected spasm warps: {}; amplitude {}",
                self.stem,
                spec.scenario.notes(),
                round_ms(spec.amplitude as f64)
            )
        } else {
            format!("real video ({}), re-encoded without added spasm", self.stem)
        };
        if spec.loop_to.is_some() {
            notes.push_str(&format!(
                "; played forward and backward from {:.2} s to {:.2} s",
                self.seconds(),
                n_out as f64 / self.fps
            ));
        }
        let repeated = self.cfr.windows(2).filter(|w| w[0] == w[1]).count();
        let dropped = self.faces.len() + repeated - self.cfr.len();
        if repeated + dropped > 0 {
            notes.push_str(&format!(
                "; base has a variable frame rate: resampled to a constant {} fps by its \
                 timestamps ({repeated} frames repeated, {dropped} dropped)",
                rate_arg(self.fps)
            ));
        }
        if size != (self.width, self.height) {
            notes.push_str(&format!(
                "; cropped from {}x{} to {}x{} (even size for H.264)",
                self.width, self.height, size.0, size.1
            ));
        }
        notes
    }
}

/// Bilinear RGB sample of a packed 8-bit frame, clamped to the frame.
#[inline(always)]
fn sample_rgb8(src: &[u8], w: usize, h: usize, x: f32, y: f32) -> [f32; 3] {
    let xf = x.clamp(0.0, (w - 1) as f32);
    let yf = y.clamp(0.0, (h - 1) as f32);
    let x0 = (xf as usize).min(w - 2);
    let y0 = (yf as usize).min(h - 2);
    let fx = xf - x0 as f32;
    let fy = yf - y0 as f32;
    let i00 = (y0 * w + x0) * 3;
    let i01 = i00 + w * 3;
    let mut out = [0.0; 3];
    for c in 0..3 {
        let (a, b) = (src[i00 + c] as f32, src[i00 + 3 + c] as f32);
        let (d, e) = (src[i01 + c] as f32, src[i01 + 3 + c] as f32);
        let top = a + (b - a) * fx;
        let bot = d + (e - d) * fx;
        out[c] = top + (bot - top) * fy;
    }
    out
}

/// Warps `dst` (a copy of `src`) with the muscle state `st` at the face `g`.
///
/// The warps are built for an upright face (lids along x, lifts along -y),
/// so they run in a face-aligned frame: the image rotated about the mid-eye
/// point until the eye line is horizontal. Only the warps' region is
/// touched; pixels the warp maps to themselves keep their exact value.
fn warp_onto(
    face: &Face,
    st: &FaceState,
    drag: f32,
    src: &[u8],
    dst: &mut [u8],
    w: usize,
    h: usize,
) {
    let g = &face.geo;
    let [mx, my] = g.mid_eyes();
    let (r, l) = (g.sides[0].eye_center, g.sides[1].eye_center);
    let (sin, cos) = (l[1] - r[1]).atan2(l[0] - r[0]).sin_cos();
    // Image → aligned is a rotation by -roll about the mid-eye point.
    let to_al = |x: f32, y: f32| {
        let (dx, dy) = (x - mx, y - my);
        (mx + cos * dx + sin * dy, my - sin * dx + cos * dy)
    };
    let from_al = |u: f32, v: f32| {
        let (du, dv) = (u - mx, v - my);
        (mx + cos * du - sin * dv, my + sin * du + cos * dv)
    };
    let aligned = face.map_points(|p| {
        let (u, v) = to_al(p[0], p[1]);
        [u, v]
    });
    let outline = |s: Side| Outline {
        pts: aligned.outline[image_slot(s)],
        outward: s.outward_x(),
        fade: 0.3 * aligned.geo.sides[image_slot(s)].eye_half_w,
    };
    let face = FaceWarp {
        outlines: Some([outline(Side::Right), outline(Side::Left)]),
        lid_drag: drag,
        ..FaceWarp::new(&aligned.geo)
    };
    let aw = face.active(st, g.inter_ocular() / BENCH_IOD_PX, LID_EDGE_PX);
    let Some(roi) = aw.roi else { return };
    // The region's bounding box in the image.
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for (u, v) in [
        (roi.x0, roi.y0),
        (roi.x1, roi.y0),
        (roi.x0, roi.y1),
        (roi.x1, roi.y1),
    ] {
        let (x, y) = from_al(u, v);
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    let clamp_x = |v: f32| (v.max(0.0) as usize).min(w - 1);
    let clamp_y = |v: f32| (v.max(0.0) as usize).min(h - 1);
    let (x0, x1) = (clamp_x(x0.floor() - 1.0), clamp_x(x1.ceil() + 1.0));
    let (y0, y1) = (clamp_y(y0.floor() - 1.0), clamp_y(y1.ceil() + 1.0));
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (u, v) = to_al(x as f32, y as f32);
            if !roi.contains(u, v) {
                continue;
            }
            let (su, sv, sv_lid, alpha) = face.warp(&aw, u, v);
            if su == u && sv == v && alpha == 0.0 {
                continue;
            }
            let (sx, sy) = from_al(su, sv);
            let mut c = sample_rgb8(src, w, h, sx, sy);
            if alpha > 0.0 {
                let (lx, ly) = from_al(su, sv_lid);
                let lid = sample_rgb8(src, w, h, lx, ly);
                for k in 0..3 {
                    c[k] += (lid[k] - c[k]) * alpha;
                }
            }
            let i = (y * w + x) * 3;
            for k in 0..3 {
                dst[i + k] = (c[k] + 0.5).clamp(0.0, 255.0) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SynthSpec, SyntheticSource};

    const W: usize = 320;
    const H: usize = 240;

    fn have_ffmpeg() -> bool {
        std::process::Command::new("ffmpeg")
            .arg("-version")
            .output()
            .is_ok()
    }

    /// A stand-in for a real clip: a photo phantom at 320x240 with natural
    /// blinks, strong head sway and sensor noise. Frames in `gap` are flat
    /// grey (no face); a dark 4-px tick at x = 4 * index in the top rows
    /// tags each frame so the order of output frames can be read back.
    fn make_base(path: &Path, seconds: f64, gap: std::ops::Range<u64>) {
        let spec = SynthSpec {
            scenario: Scenario::RestBlinks,
            seed: 5,
            seconds,
            width: W,
            height: H,
            head_motion: 3.0,
            geometry: Some(FaceGeometry::astronaut_fallback()),
            ..SynthSpec::default()
        };
        let mut src = SyntheticSource::new(&spec).unwrap();
        let mut enc = Encoder::spawn(W, H, "30", 10, path).unwrap();
        let mut f = Frame::default();
        while src.next_frame(&mut f).unwrap() {
            if gap.contains(&f.index) {
                f.rgb.fill(128);
            }
            for y in 0..8 {
                for x in 0..W {
                    let on = x / 4 == f.index as usize;
                    let i = (y * W + x) * 3;
                    f.rgb[i..i + 3].fill(if on { 0 } else { 235 });
                }
            }
            assert!(enc.write(&f.rgb));
        }
        enc.finish().unwrap();
    }

    /// Every frame of a video (RGB) and its timestamp.
    fn decode(path: &Path) -> (Vec<Vec<u8>>, Vec<f64>) {
        let mut src = VideoFileSource::open(path).unwrap();
        let (mut frames, mut times) = (Vec::new(), Vec::new());
        let mut f = Frame::default();
        while src.next_frame(&mut f).unwrap() {
            frames.push(f.rgb.clone());
            times.push(f.timestamp_s);
        }
        (frames, times)
    }

    /// The frame tag drawn by `make_base`.
    fn tag(rgb: &[u8]) -> usize {
        let dark = |x: usize| {
            (0..4)
                .map(|dx| rgb[(4 * W + x + dx) * 3] as u32)
                .sum::<u32>()
        };
        (0..W / 4).min_by_key(|&j| dark(4 * j)).unwrap()
    }

    /// Mean absolute RGB difference over the pixels where `keep(x, y)`.
    fn mean_diff(a: &[u8], b: &[u8], keep: impl Fn(usize, usize) -> bool) -> f64 {
        let (mut sum, mut n) = (0.0, 0usize);
        for y in 8..H {
            for x in 0..W {
                if keep(x, y) {
                    let i = (y * W + x) * 3;
                    for k in 0..3 {
                        sum += (a[i + k] as f64 - b[i + k] as f64).abs();
                    }
                    n += 3;
                }
            }
        }
        sum / n.max(1) as f64
    }

    /// A box around one eye and the lid skin above it.
    fn eye_box(g: &FaceGeometry, s: Side) -> impl Fn(usize, usize) -> bool + use<> {
        let e = g.sides[image_slot(s)];
        let r = 1.7 * e.eye_half_w;
        move |x, y| {
            (x as f32 - e.eye_center[0]).abs() <= r && (y as f32 - e.eye_center[1]).abs() <= r
        }
    }

    #[test]
    fn ping_pong_turns_without_repeating() {
        let seq: Vec<usize> = (0..12).map(|k| ping_pong_index(k, 4)).collect();
        assert_eq!(seq, [0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1]);
        assert!((0..10).all(|k| ping_pong_index(k, 1) == 0));
        for n in 2..9 {
            for k in 0..40 {
                let (a, b) = (ping_pong_index(k, n), ping_pong_index(k + 1, n));
                assert_eq!(a.abs_diff(b), 1, "n={n} k={k}");
            }
        }
    }

    #[test]
    fn variable_frame_rate_is_resampled_by_timestamp() {
        // Constant rate: the identity, even with an offset start (1.01 s).
        let cfr: Vec<f64> = (0..30).map(|k| 1.011979 + k as f64 / 30.0).collect();
        assert_eq!(constant_rate(&cfr, 30.0), (0..30).collect::<Vec<_>>());
        // A 0.2 s gap is bridged by repeating the frame before it, and frames
        // coming twice as fast are thinned: the timing stays real.
        let times = [0.0, 0.1, 0.2, 0.4, 0.45, 0.5, 0.55, 0.6];
        assert_eq!(constant_rate(&times, 10.0), [0, 1, 2, 2, 3, 5, 7]);
    }

    #[test]
    fn spans_keep_clear_of_face_loss_and_ends() {
        // 10 s at 10 fps, no face in frames 40..=44 (4.0-4.4 s).
        let has: Vec<bool> = (0..100).map(|k| !(40..=44).contains(&k)).collect();
        let spans = usable_spans(&has, 10.0);
        assert_eq!(spans.len(), 2);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(
            close(spans[0].0, 0.5) && close(spans[0].1, 3.5),
            "{spans:?}"
        );
        assert!(
            close(spans[1].0, 4.9) && close(spans[1].1, 9.5),
            "{spans:?}"
        );
        // Too short between two losses: nothing.
        let has: Vec<bool> = (0..100).map(|k| !(k == 40 || k == 48)).collect();
        assert!(
            usable_spans(&has, 10.0)
                .iter()
                .all(|s| s.1 <= 3.5 || s.0 >= 5.3)
        );
        assert_eq!(
            subtract(&[(0.5, 9.5)], &[(1.0, 2.0), (5.0, 6.0), (9.4, 10.0)]),
            vec![(0.5, 1.0), (2.0, 5.0), (6.0, 9.4)]
        );
    }

    /// The astronaut geometry shifted by `d`, every point (geometry and
    /// rigid landmarks) displaced by `jitter(point index)`.
    fn face(d: [f32; 2], jitter: impl Fn(usize) -> [f32; 2]) -> TrackedFace {
        let fb = FaceGeometry::astronaut_fallback();
        let (r, l) = (fb.sides[0], fb.sides[1]);
        let rigid_at = [
            r.upper_lid[0],
            r.upper_lid[2],
            l.upper_lid[2],
            l.upper_lid[0],
            r.brow_center,
            l.brow_center,
            r.cheek_center,
            l.cheek_center,
            r.mouth_corner,
            l.mouth_corner,
            fb.mid_eyes(),
            [fb.mid_eyes()[0], fb.mid_eyes()[1] + 20.0],
            [fb.mid_eyes()[0], fb.mid_eyes()[1] - 25.0],
        ];
        let i = std::cell::Cell::new(0);
        let shift = |p: [f32; 2]| {
            let j = jitter(i.get());
            i.set(i.get() + 1);
            [p[0] + d[0] + j[0], p[1] + d[1] + j[1]]
        };
        let rigid = rigid_at.map(&shift);
        let geo = fb.map_points(shift);
        // A stand-in outline: the cheeks' outer edge.
        let outline = [0, 1].map(|s| {
            let e = fb.sides[s];
            let x = e.eye_center[0] + (2.0 * s as f32 - 1.0) * 2.5 * e.eye_half_w;
            std::array::from_fn(|k| shift([x, e.brow_center[1] + 10.0 * k as f32]))
        });
        TrackedFace {
            face: Face { geo, outline },
            rigid,
        }
    }

    fn max_err(a: &Face, b: &Face) -> f32 {
        a.values()
            .iter()
            .zip(b.values())
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn smoothing_removes_jitter_but_follows_the_head() {
        let truth = |d: [f32; 2]| face(d, |_| [0.0, 0.0]).face;
        // A still face with ±0.8 px independent jitter on every landmark.
        let noise = |k: usize| {
            move |i: usize| {
                let h =
                    |s: u64| (super::super::hash01(k as u64, i as u64 * 2 + s) as f32 - 0.5) * 1.6;
                [h(0), h(1)]
            }
        };
        let raw: Vec<Option<TrackedFace>> = (0..40)
            .map(|k| (k != 20).then(|| face([0.0, 0.0], noise(k))))
            .collect();
        let sm = smooth_faces(&raw, 2);
        let (mut e_raw, mut e_sm) = (0.0, 0.0);
        for k in (3..17).chain(23..37) {
            let e = |g: &Face| {
                let t = truth([0.0, 0.0]);
                g.values()
                    .iter()
                    .zip(t.values())
                    .map(|(x, y)| (x - y).abs())
                    .sum::<f32>()
            };
            e_raw += e(&raw[k].unwrap().face);
            e_sm += e(&sm[k].unwrap());
        }
        assert!(e_sm < 0.6 * e_raw, "jitter {e_raw} -> {e_sm}");
        // No face in frame 20: none out, and the frames next to it are not
        // averaged across it (nor lopsidedly).
        assert!(sm[20].is_none());
        assert!(max_err(&sm[19].unwrap(), &raw[19].unwrap().face) < 1e-3);

        // A head swinging 40 px a frame (as in a real clip) is followed
        // exactly: the warp must not land beside the eye.
        let swing = |k: usize| {
            let ph = std::f32::consts::TAU * k as f32 / 10.0;
            [120.0 * ph.sin(), 25.0 * ph.cos()]
        };
        let raw: Vec<Option<TrackedFace>> = (0..40)
            .map(|k| Some(face(swing(k), |_| [0.0, 0.0])))
            .collect();
        let sm = smooth_faces(&raw, 2);
        for (k, f) in sm.iter().enumerate() {
            let e = max_err(&f.unwrap(), &truth(swing(k)));
            assert!(e < 0.05, "frame {k}: {e} px off");
        }
    }

    #[test]
    fn every_spasm_scenario_fits_short_clips() {
        let layouts: [&[(f64, f64)]; 5] = [
            &[(0.5, 5.5)],
            &[(0.5, 8.5)],
            &[(0.5, 19.0)],
            &[(0.5, 1.9), (3.0, 8.0)],
            &[(0.5, 3.6)],
        ];
        for &sc in &Scenario::ALL {
            for (li, spans) in layouts.iter().enumerate() {
                for seed in 0..25 {
                    let ctx = format!("{sc} layout {li} seed {seed}");
                    let plan = Plan::for_base(sc, seed, 1.0, spans);
                    if sc.expected_laterality() == "none" {
                        assert!(plan.unwrap().events.is_empty(), "{ctx}");
                        continue;
                    }
                    let plan = plan.unwrap_or_else(|e| panic!("{ctx}: {e}"));
                    let ev = &plan.events;
                    assert!(!ev.is_empty() && ev.len() <= 6, "{ctx}: {}", ev.len());
                    for e in ev {
                        assert!(
                            spans.iter().any(|s| e.start >= s.0 && e.end <= s.1),
                            "{ctx}: {e:?}"
                        );
                        let d = e.end - e.start;
                        match e.kind {
                            Kind::Clonic => assert!(e.n_twitches >= 4 && d > 0.5, "{ctx}"),
                            Kind::Tonic => assert!(d >= 1.5 - 1e-9, "{ctx}: {d}"),
                            Kind::Myokymia => assert!(d >= 3.0 - 1e-9, "{ctx}: {d}"),
                        }
                        assert_eq!(e.who.name(), sc.expected_laterality(), "{ctx}");
                    }
                    for w in ev.windows(2) {
                        assert!(w[1].start >= w[0].end + 2.0 - 1e-9, "{ctx}");
                    }
                    if matches!(
                        sc,
                        Scenario::LeftTonicSynkinesis | Scenario::RightTonicSynkinesis
                    ) && li == 2
                    {
                        assert_eq!(ev[0].kind, Kind::Tonic, "{ctx}");
                        assert!(ev.iter().any(|e| e.kind == Kind::Clonic), "{ctx}");
                    }
                }
            }
        }
        // Myokymia needs 3 s: a 2 s stretch is refused with a clear message.
        let err = Plan::for_base(Scenario::LeftMyokymia, 1, 1.0, &[(0.5, 2.5)])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("long enough") && err.contains("--loop-to"),
            "{err}"
        );
    }

    #[test]
    fn user_errors_are_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("o.mp4");
        let e = render_on_base(
            &BaseSpec::new(dir.path().join("missing.mp4"), Scenario::LeftClonicEye),
            &out,
        )
        .unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.contains("no such file") && !msg.contains('\n'), "{msg}");
        let mut spec = BaseSpec::new(dir.path().join("x.mp4"), Scenario::Bilateral);
        spec.amplitude = 0.0;
        assert!(render_on_base(&spec, &out).is_err());
        if !have_ffmpeg() {
            return;
        }
        let noface = dir.path().join("noface.mp4");
        let ok = std::process::Command::new("ffmpeg")
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
        let e = render_on_base(&BaseSpec::new(&noface, Scenario::LeftClonicEye), &out).unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains("no face found") && !msg.contains('\n'),
            "{msg}"
        );
    }

    /// A synthetic base clip NAME.mp4 of `seconds` (no face in frames
    /// `gap`) in a fresh temporary directory, and the clip loaded; `None`
    /// (the test skipped) without ffmpeg.
    fn loaded_base(
        name: &str,
        seconds: f64,
        gap: std::ops::Range<u64>,
    ) -> Option<(tempfile::TempDir, PathBuf, BaseClip)> {
        if !have_ffmpeg() {
            eprintln!("ffmpeg missing: skipped");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join(format!("{name}.mp4"));
        make_base(&base, seconds, gap);
        let clip = BaseClip::load(&base, true).unwrap();
        Some((dir, base, clip))
    }

    /// Renders `spec` losslessly (the tests compare warps, not x264's
    /// noise) into `dir` as NAME.mp4, and decodes it.
    fn render_lossless(
        clip: &BaseClip,
        dir: &Path,
        name: &str,
        spec: BaseSpec,
    ) -> (Vec<Vec<u8>>, Rendered) {
        let out = dir.join(format!("{name}.mp4"));
        let r = clip.render(&BaseSpec { crf: 0, ..spec }, &out).unwrap();
        (decode(&out).0, r)
    }

    /// With `drag`, a closing lid pulls the skin below the eye down with
    /// it; without, the skin below the lower lid stays where it is. The
    /// other eye is untouched either way.
    #[test]
    fn drag_pulls_the_skin_below_the_eye_along() {
        let Some((dir, base, clip)) = loaded_base("base", 3.0, 0..0) else {
            return;
        };
        let render = |sc: Scenario, drag: f32| {
            let spec = BaseSpec {
                seed: 3,
                drag,
                ..BaseSpec::new(&base, sc)
            };
            render_lossless(&clip, dir.path(), &format!("{sc}_{drag}"), spec)
        };
        let (plain, _) = render(Scenario::RestBlinks, 0.0);
        let (lid_alone, r) = render(Scenario::LeftClonicEye, 0.0);
        let (dragged, rd) = render(Scenario::LeftClonicEye, 1.7);
        assert_eq!(r.truth.events, rd.truth.events);
        assert_eq!((r.truth.drag, rd.truth.drag), (0.0, 1.7));
        let slot = image_slot(Side::Left);
        let closure = |k: usize| r.plan.state_at(k as f64 / 30.0).sides[slot].closure;
        let peak = (0..plain.len())
            .max_by(|&a, &b| closure(a).total_cmp(&closure(b)))
            .unwrap();
        let g = r.geo[peak].unwrap();
        let eye = g.sides[slot];
        let below = |x: usize, y: usize| {
            let (dx, dy) = (x as f32 - eye.eye_center[0], y as f32 - eye.lower_lid[1][1]);
            dx.abs() <= 0.6 * eye.eye_half_w && (0.25..=0.7).contains(&(dy / eye.eye_half_w))
        };
        let moved = |frames: &[Vec<u8>]| mean_diff(&frames[peak], &plain[peak], below);
        let other =
            |frames: &[Vec<u8>]| mean_diff(&frames[peak], &plain[peak], eye_box(&g, Side::Right));
        assert!(moved(&lid_alone) < 0.01, "{}", moved(&lid_alone));
        assert!(moved(&dragged) > 1.0, "{}", moved(&dragged));
        assert!(other(&lid_alone) < 0.01 && other(&dragged) < 0.01);
    }

    /// The warp lands on the named side's eye (image-right for patient-left),
    /// follows the moving head, scales with the amplitude and leaves the
    /// frames outside events as they are (up to compression noise).
    #[test]
    fn base_warps_the_named_eye_only() {
        const N: usize = 90;
        let Some((dir, base, clip)) = loaded_base("base", 3.0, 0..0) else {
            return;
        };
        assert_eq!(clip.faces.len(), N);
        assert!(clip.faces.iter().all(Option::is_some));
        let render = |sc: Scenario, amplitude: f32| {
            let spec = BaseSpec {
                seed: 3,
                amplitude,
                ..BaseSpec::new(&base, sc)
            };
            render_lossless(&clip, dir.path(), &format!("{sc}_{amplitude}"), spec)
        };
        let (plain, rp) = render(Scenario::RestBlinks, 1.0);
        assert!(rp.truth.events.is_empty());
        assert_eq!(rp.truth.amplitude, 0.0);
        assert_eq!(plain.len(), N);

        for (sc, side) in [
            (Scenario::LeftClonicEye, Side::Left),
            (Scenario::RightClonicEye, Side::Right),
        ] {
            let other = if side == Side::Left {
                Side::Right
            } else {
                Side::Left
            };
            let (full, r) = render(sc, 1.0);
            let (weak, rw) = render(sc, 0.4);
            assert!(!r.truth.events.is_empty(), "{sc}");
            assert_eq!(
                r.truth.events, rw.truth.events,
                "timing must not depend on amplitude"
            );
            assert_eq!(r.truth.amplitude, 1.0);
            assert_eq!(rw.truth.amplitude, 0.4);
            let closure =
                |k: usize| r.plan.state_at(k as f64 / 30.0).sides[image_slot(side)].closure;
            let peak = (0..N)
                .max_by(|&a, &b| closure(a).total_cmp(&closure(b)))
                .unwrap();
            assert!(closure(peak) > 0.3, "{sc}");
            let g = r.geo[peak].unwrap();
            // Patient left is image right.
            let (ex, ox) = (
                g.sides[image_slot(side)].eye_center[0],
                g.sides[image_slot(other)].eye_center[0],
            );
            assert_eq!(ex > ox, side == Side::Left, "{sc}");
            let on = mean_diff(&full[peak], &plain[peak], eye_box(&g, side));
            let off = mean_diff(&full[peak], &plain[peak], eye_box(&g, other));
            let (in_a, in_b) = (eye_box(&g, side), eye_box(&g, other));
            let rest = mean_diff(&full[peak], &plain[peak], |x, y| !in_a(x, y) && !in_b(x, y));
            assert!(
                on > 3.0 && off < 0.01 && rest < 0.01,
                "{sc}: {on} {off} {rest}"
            );

            // The change follows the head: in every strong frame its centroid
            // sits on that frame's tracked eye.
            let mut weak_sum = 0.0;
            let mut full_sum = 0.0;
            for k in 0..N {
                let c = closure(k);
                let g = r.geo[k].unwrap();
                let eye = g.sides[image_slot(side)];
                if c > 0.5 * closure(peak) {
                    // Centroid of the change, over 5x5 means (x264 scatters
                    // single-pixel noise over the whole frame when one
                    // region's content changes).
                    let d: Vec<f64> = (0..W * H)
                        .map(|i| {
                            (0..3)
                                .map(|j| {
                                    (full[k][3 * i + j] as f64 - plain[k][3 * i + j] as f64).abs()
                                })
                                .sum()
                        })
                        .collect();
                    // Over the band of both eyes, brows to cheeks (the rest
                    // of the frame is checked above to be unchanged).
                    let (hw, ey) = (eye.eye_half_w, eye.eye_center[1]);
                    let xs = g.sides.map(|e| e.eye_center[0]);
                    let span = |lo: f32, hi: f32, n: usize| {
                        (lo.max(2.0) as usize)..(hi.max(3.0) as usize).min(n - 2)
                    };
                    let (mut sx, mut sy, mut sw) = (0.0, 0.0, 0.0);
                    for y in span(ey - 4.0 * hw, ey + 4.0 * hw, H) {
                        for x in span(xs[0] - 4.0 * hw, xs[1] + 4.0 * hw, W) {
                            let m = (y - 2..=y + 2)
                                .flat_map(|yy| (x - 2..=x + 2).map(move |xx| yy * W + xx))
                                .map(|i| d[i])
                                .sum::<f64>()
                                / 25.0;
                            if m > 15.0 {
                                sx += m * x as f64;
                                sy += m * y as f64;
                                sw += m;
                            }
                        }
                    }
                    let (cx, cy) = (sx / sw, sy / sw);
                    let hw = hw as f64;
                    assert!(
                        (cx - eye.eye_center[0] as f64).abs() < hw
                            && (cy - eye.eye_center[1] as f64).abs() < 1.2 * hw,
                        "{sc} frame {k}: change at ({cx:.1}, {cy:.1}), eye at {:?}",
                        eye.eye_center
                    );
                }
                if c > 0.0 {
                    full_sum += mean_diff(&full[k], &plain[k], eye_box(&g, side));
                    weak_sum += mean_diff(&weak[k], &plain[k], eye_box(&g, side));
                }
                // Outside events the frame is exactly the plain re-encode
                // (lossless coding here, so x264 adds no noise of its own).
                if r.plan.state_at(k as f64 / 30.0) == rp.plan.state_at(0.0) {
                    assert!(full[k] == plain[k], "{sc} frame {k} outside events differs");
                    assert!(weak[k] == plain[k], "{sc} frame {k} outside events differs");
                }
            }
            let ratio = weak_sum / full_sum;
            assert!(
                (0.15..0.7).contains(&ratio),
                "{sc}: amplitude ratio {ratio}"
            );
        }
    }

    /// Events keep 0.5 s from frames without a face, and a short clip
    /// played ping-pong has the right length, frame order and timestamps.
    #[test]
    fn face_loss_and_ping_pong() {
        // 4.5 s, no face in 0.8-1.2 s.
        let Some((dir, base, clip)) = loaded_base("gap", 4.5, 24..36) else {
            return;
        };
        let out = dir.path().join("gap_out.mp4");
        let spec = BaseSpec {
            seed: 2,
            ..BaseSpec::new(&base, Scenario::LeftTonicSynkinesis)
        };
        let r = clip.render(&spec, &out).unwrap();
        let noface: Vec<f64> = (0..r.geo.len())
            .filter(|&k| r.geo[k].is_none())
            .map(|k| k as f64 / 30.0)
            .collect();
        assert!(noface.len() >= 12, "{noface:?}");
        assert_eq!(r.truth.frames_without_face as usize, noface.len());
        assert!(!r.truth.events.is_empty());
        for e in &r.truth.events {
            assert!(e.start_s >= 0.5 && e.end_s <= 4.0, "{e:?}");
            for &t in &noface {
                assert!(t < e.start_s - 0.499 || t > e.end_s + 0.499, "{e:?} vs {t}");
            }
        }

        // Ping-pong: 1.2 s (36 frames) played to 3 s.
        let short = dir.path().join("short.mp4");
        make_base(&short, 1.2, 0..0);
        let clip = BaseClip::load(&short, true).unwrap();
        let out = dir.path().join("looped.mp4");
        let spec = BaseSpec {
            loop_to: Some(3.0),
            ..BaseSpec::new(&short, Scenario::RestBlinks)
        };
        let r = clip.render(&spec, &out).unwrap();
        assert!(r.truth.looped && r.truth.seconds == 3.0 && r.truth.source_seconds == 1.2);
        let (frames, times) = decode(&out);
        assert_eq!(frames.len(), 90);
        for (k, (f, t)) in frames.iter().zip(&times).enumerate() {
            assert!((t - k as f64 / 30.0).abs() < 1e-3, "frame {k} at {t}");
            assert_eq!(tag(f), ping_pong_index(k, 36), "frame {k}");
        }
        let spec = BaseSpec {
            loop_to: Some(1.0),
            ..spec
        };
        let e = clip.render(&spec, &out).err().unwrap().to_string();
        assert!(e.contains("not longer"), "{e}");
    }
}
