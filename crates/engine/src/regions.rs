//! Facial regions per patient side, placed on this person's resting face.
//!
//! Everything is measured in a face-aligned *canonical* frame: each frame is
//! mapped into it by a similarity transform fitted to landmarks that muscles
//! barely move (eye corners, nose bridge, forehead, face outline), so head
//! translation, roll and scale drop out.
//!
//! Where the regions sit comes from the person's **resting face**
//! ([`RestShape`]): the per-landmark median of the landmark sets of the first
//! seconds of a recording, each aligned into the canonical frame. A median
//! over a few seconds is not fooled by what one frame shows (an open mouth
//! while talking, a blink, a squint, a glance to the side), and it is this
//! person's own geometry, not a template's proportions. Regions are fixed
//! rectangles in the canonical frame around that resting geometry, so a
//! closing eye never drags its own region along with it, and every frame's
//! motion is measured on the same patch of skin.

use serde::{Deserialize, Serialize};

/// Number of FaceMesh landmarks the layout reads.
pub const MESH_POINTS: usize = 468;

/// The patient's side. `Left` is the patient's left, image-right in an
/// un-mirrored frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Left,
    Right,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Left, Side::Right];

    pub fn index(self) -> usize {
        match self {
            Side::Left => 0,
            Side::Right => 1,
        }
    }

    pub fn other(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Side::Left => "left",
            Side::Right => "right",
        }
    }

    /// The side as shown to people: always the patient's own side. The one
    /// place these words are written.
    pub fn patient_label(self) -> &'static str {
        match self {
            Side::Left => "patient's left",
            Side::Right => "patient's right",
        }
    }

    /// +1 when the side's outward direction is image +x (the patient's left
    /// is image-right in an un-mirrored frame), else -1.
    pub fn outward_x(self) -> f32 {
        match self {
            Side::Left => 1.0,
            Side::Right => -1.0,
        }
    }
}

/// A measured facial region on one side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    Brow,
    UpperLid,
    LowerLid,
    Cheek,
    MouthCorner,
}

impl Region {
    pub const ALL: [Region; 5] = [
        Region::Brow,
        Region::UpperLid,
        Region::LowerLid,
        Region::Cheek,
        Region::MouthCorner,
    ];
    pub const COUNT: usize = 5;

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Region::Brow => "brow",
            Region::UpperLid => "upper_lid",
            Region::LowerLid => "lower_lid",
            Region::Cheek => "cheek",
            Region::MouthCorner => "mouth_corner",
        }
    }

    pub fn is_eye(self) -> bool {
        matches!(self, Region::UpperLid | Region::LowerLid)
    }
}

/// MediaPipe FaceMesh indices of one side of the face. The model labels by
/// the subject's anatomy when the frame is un-mirrored.
pub struct SideIndices {
    pub eye_outer: usize,
    pub eye_inner: usize,
    /// Upper-lid margin, outer to inner corner (without the corners).
    pub upper_lid: [usize; 7],
    /// Lower-lid margin, outer to inner corner (without the corners).
    pub lower_lid: [usize; 7],
    /// The three middle lid points used for the aperture.
    pub upper_mid: [usize; 3],
    pub lower_mid: [usize; 3],
    pub brow: [usize; 5],
    pub cheek: [usize; 2],
    pub mouth_corner: usize,
    /// Forehead above the brow (frontalis barely moves it): a rigid patch.
    pub forehead: usize,
}

pub const fn side_indices(side: Side) -> SideIndices {
    match side {
        Side::Right => SideIndices {
            eye_outer: 33,
            eye_inner: 133,
            upper_lid: [246, 161, 160, 159, 158, 157, 173],
            lower_lid: [7, 163, 144, 145, 153, 154, 155],
            upper_mid: [160, 159, 158],
            lower_mid: [144, 145, 153],
            brow: [70, 63, 105, 66, 107],
            cheek: [50, 205],
            mouth_corner: 61,
            forehead: 109,
        },
        Side::Left => SideIndices {
            eye_outer: 263,
            eye_inner: 362,
            upper_lid: [466, 388, 387, 386, 385, 384, 398],
            lower_lid: [249, 390, 373, 374, 380, 381, 382],
            upper_mid: [387, 386, 385],
            lower_mid: [373, 374, 380],
            brow: [300, 293, 334, 296, 336],
            cheek: [280, 425],
            mouth_corner: 291,
            forehead: 338,
        },
    }
}

/// Landmarks that facial muscles barely move: used to fit the head pose.
pub const RIGID_LANDMARKS: [usize; 20] = [
    33, 133, 263, 362, // eye corners
    6, 168, 197, 195, 5, 4, // nose bridge and dorsum
    10, 151, 9, 8, // forehead
    234, 454, 127, 356, 93, 323, // face outline at eye level
];

/// Lip landmarks: upper lip top and inner, lower lip inner and bottom.
const LIPS: [usize; 4] = [0, 13, 14, 17];
/// Nose-bridge landmarks (between the eyes) and dorsum.
const BRIDGE: [usize; 2] = [168, 6];
const DORSUM: [usize; 2] = [197, 195];
/// Forehead centre.
const FOREHEAD: [usize; 2] = [151, 9];

/// A 2-D similarity transform `p' = [a -b; b a] p + t`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Similarity {
    pub a: f32,
    pub b: f32,
    pub tx: f32,
    pub ty: f32,
}

impl Similarity {
    pub const IDENTITY: Similarity = Similarity {
        a: 1.0,
        b: 0.0,
        tx: 0.0,
        ty: 0.0,
    };

    #[inline]
    pub fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        [
            self.a * p[0] - self.b * p[1] + self.tx,
            self.b * p[0] + self.a * p[1] + self.ty,
        ]
    }

    pub fn scale(&self) -> f32 {
        (self.a * self.a + self.b * self.b).sqrt()
    }

    pub fn inverse(&self) -> Similarity {
        let d = self.a * self.a + self.b * self.b;
        let (a, b) = (self.a / d, -self.b / d);
        Similarity {
            a,
            b,
            tx: -(a * self.tx - b * self.ty),
            ty: -(b * self.tx + a * self.ty),
        }
    }

    /// `self ∘ other`: first `other`, then `self`.
    pub fn compose(&self, other: &Similarity) -> Similarity {
        let t = self.apply([other.tx, other.ty]);
        Similarity {
            a: self.a * other.a - self.b * other.b,
            b: self.b * other.a + self.a * other.b,
            tx: t[0],
            ty: t[1],
        }
    }

    /// Least-squares similarity mapping `from[i]` onto `to[i]` (Umeyama without
    /// reflection). `None` when the points are degenerate.
    pub fn fit(from: &[[f32; 2]], to: &[[f32; 2]]) -> Option<Similarity> {
        let n = from.len().min(to.len());
        if n < 2 {
            return None;
        }
        let nf = n as f64;
        let (mut fx, mut fy, mut gx, mut gy) = (0.0f64, 0.0, 0.0, 0.0);
        for i in 0..n {
            fx += from[i][0] as f64;
            fy += from[i][1] as f64;
            gx += to[i][0] as f64;
            gy += to[i][1] as f64;
        }
        let (fx, fy, gx, gy) = (fx / nf, fy / nf, gx / nf, gy / nf);
        let (mut sxx, mut sab, mut sba) = (0.0f64, 0.0f64, 0.0f64);
        for i in 0..n {
            let (px, py) = (from[i][0] as f64 - fx, from[i][1] as f64 - fy);
            let (qx, qy) = (to[i][0] as f64 - gx, to[i][1] as f64 - gy);
            sxx += px * px + py * py;
            sab += px * qx + py * qy;
            sba += px * qy - py * qx;
        }
        if sxx < 1e-9 {
            return None;
        }
        let a = sab / sxx;
        let b = sba / sxx;
        if !(a.is_finite() && b.is_finite()) {
            return None;
        }
        let tx = gx - (a * fx - b * fy);
        let ty = gy - (b * fx + a * fy);
        Some(Similarity {
            a: a as f32,
            b: b as f32,
            tx: tx as f32,
            ty: ty as f32,
        })
    }

    /// Moves `self` a fraction `alpha` of the way towards `target`.
    pub fn blend_towards(&mut self, target: &Similarity, alpha: f32) {
        self.a += alpha * (target.a - self.a);
        self.b += alpha * (target.b - self.b);
        self.tx += alpha * (target.tx - self.tx);
        self.ty += alpha * (target.ty - self.ty);
    }
}

/// An axis-aligned rectangle in canonical pixels.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rect {
    pub x0: f32,
    pub y0: f32,
    pub w: usize,
    pub h: usize,
}

impl Rect {
    /// Patches are at least this many pixels a side: LK needs a border and
    /// some texture.
    const MIN_SIDE: f32 = 6.0;

    pub fn centred(cx: f32, cy: f32, w: f32, h: f32) -> Rect {
        let w = w.round().max(Self::MIN_SIDE) as usize;
        let h = h.round().max(Self::MIN_SIDE) as usize;
        Rect {
            x0: cx - w as f32 / 2.0,
            y0: cy - h as f32 / 2.0,
            w,
            h,
        }
    }

    pub fn area(&self) -> usize {
        self.w * self.h
    }

    pub fn centre(&self) -> [f32; 2] {
        [self.x0 + self.w as f32 / 2.0, self.y0 + self.h as f32 / 2.0]
    }
}

/// The band of skin along an eyelid margin that a lid region measures:
/// from `above` to `below` canonical pixels around the margin curve (y grows
/// downwards). The eye opening itself is left out: the iris moves with the
/// gaze, not with the lid.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LidBand {
    /// The margin, outer corner to inner corner, canonical pixels.
    pub margin: Vec<[f32; 2]>,
    pub above: f32,
    pub below: f32,
}

impl LidBand {
    /// The margin's height at `x` (linear between points, flat beyond).
    pub fn margin_y(&self, x: f32) -> f32 {
        let m = &self.margin;
        if m.is_empty() {
            return 0.0;
        }
        let (first, last) = (m[0], m[m.len() - 1]);
        let (lo, hi) = if first[0] <= last[0] {
            (first, last)
        } else {
            (last, first)
        };
        if x <= lo[0] {
            return lo[1];
        }
        if x >= hi[0] {
            return hi[1];
        }
        for w in m.windows(2) {
            let (a, b) = if w[0][0] <= w[1][0] {
                (w[0], w[1])
            } else {
                (w[1], w[0])
            };
            if x >= a[0] && x <= b[0] && b[0] > a[0] {
                return a[1] + (x - a[0]) / (b[0] - a[0]) * (b[1] - a[1]);
            }
        }
        0.5 * (lo[1] + hi[1])
    }

    /// Weight of canonical point (x, y): 1 inside the band, fading to 0
    /// over `soft` pixels outside it.
    pub fn weight(&self, x: f32, y: f32, soft: f32) -> f32 {
        let m = self.margin_y(x);
        let (top, bottom) = (m - self.above, m + self.below);
        let outside = (top - y).max(y - bottom).max(0.0);
        (1.0 - outside / soft.max(1e-3)).max(0.0)
    }

    /// The rectangle that holds the band, `pad` pixels wider each side.
    fn bounds(&self, pad: f32) -> Rect {
        let xs = self.margin.iter().map(|p| p[0]);
        let x0 = xs.clone().fold(f32::INFINITY, f32::min) - pad;
        let x1 = xs.fold(f32::NEG_INFINITY, f32::max) + pad;
        let ys = self.margin.iter().map(|p| p[1]);
        let y0 = ys.clone().fold(f32::INFINITY, f32::min) - self.above;
        let y1 = ys.fold(f32::NEG_INFINITY, f32::max) + self.below;
        Rect::centred((x0 + x1) / 2.0, (y0 + y1) / 2.0, x1 - x0, y1 - y0 + 2.0)
    }
}

/// Canonical interocular distance is capped here: larger faces are sampled
/// at a lower resolution, which keeps the per-frame cost bounded.
const MAX_CANONICAL_INTEROCULAR: f32 = 160.0;

fn dist(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

fn mean_of(points: &[[f32; 2]], idx: &[usize]) -> [f32; 2] {
    let mut m = [0.0, 0.0];
    for &i in idx {
        m[0] += points[i][0];
        m[1] += points[i][1];
    }
    [m[0] / idx.len() as f32, m[1] / idx.len() as f32]
}

/// The canonical frame of a recording: eye line level, the eye midpoint at a
/// fixed place, interocular distance at most [`MAX_CANONICAL_INTEROCULAR`].
fn canonical_frame(points: &[[f32; 3]]) -> Option<Similarity> {
    let r_outer = [points[33][0], points[33][1]];
    let l_outer = [points[263][0], points[263][1]];
    let (dx, dy) = (l_outer[0] - r_outer[0], l_outer[1] - r_outer[1]);
    let io = (dx * dx + dy * dy).sqrt();
    if !io.is_finite() || io < 8.0 {
        return None;
    }
    let k = (MAX_CANONICAL_INTEROCULAR / io).min(1.0);
    let (s, c) = (-dy.atan2(dx)).sin_cos();
    let mid = [
        (r_outer[0] + l_outer[0]) / 2.0,
        (r_outer[1] + l_outer[1]) / 2.0,
    ];
    // Rotate about the eye midpoint, scale, then put the midpoint well
    // inside positive coordinates (room for the brow above and the mouth
    // below).
    let rot = Similarity {
        a: k * c,
        b: k * s,
        tx: 0.0,
        ty: 0.0,
    };
    let m = rot.apply(mid);
    let origin = [1.5 * io * k, 1.2 * io * k];
    Some(Similarity {
        tx: origin[0] - m[0],
        ty: origin[1] - m[1],
        ..rot
    })
}

/// The resting face of a recording: per-landmark medians of landmark sets
/// aligned into the canonical frame.
///
/// The first set fixes the canonical frame (level eyes, scale); every later
/// set is aligned to it on [`RIGID_LANDMARKS`], so head motion does not blur
/// the median. The median needs a few seconds of sets to be a resting face:
/// talking, blinks and glances are minorities of any few seconds.
#[derive(Clone, Debug, Default)]
pub struct RestShape {
    frame: Option<Similarity>,
    /// Canonical rigid landmarks of the first set (the alignment target).
    anchor: Vec<[f32; 2]>,
    /// Aligned sets, `MESH_POINTS` points each, one after the other.
    sets: Vec<[f32; 2]>,
    first_t: f64,
    last_t: f64,
    scratch: Vec<[f32; 2]>,
}

impl RestShape {
    /// At most this many sets are kept (a few seconds of landmarks).
    pub const MAX_SETS: usize = 64;

    pub fn new() -> RestShape {
        RestShape::default()
    }

    /// Number of landmark sets collected.
    pub fn len(&self) -> usize {
        self.sets.len() / MESH_POINTS
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Seconds between the first and the last set.
    pub fn span_s(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            self.last_t - self.first_t
        }
    }

    /// Adds one landmark set (image pixels) seen at time `t`. Returns false
    /// (and keeps nothing) when the set is degenerate or the shape is full.
    pub fn push(&mut self, t: f64, points: &[[f32; 3]]) -> bool {
        if points.len() < MESH_POINTS || self.len() >= Self::MAX_SETS {
            return false;
        }
        let to_canon = match self.frame {
            None => {
                let Some(frame) = canonical_frame(points) else {
                    return false;
                };
                self.frame = Some(frame);
                self.anchor = RIGID_LANDMARKS
                    .iter()
                    .map(|&i| frame.apply([points[i][0], points[i][1]]))
                    .collect();
                self.first_t = t;
                frame
            }
            Some(_) => {
                self.scratch.clear();
                self.scratch.extend(
                    RIGID_LANDMARKS
                        .iter()
                        .map(|&i| [points[i][0], points[i][1]]),
                );
                match Similarity::fit(&self.scratch, &self.anchor) {
                    Some(fit) => fit,
                    None => return false,
                }
            }
        };
        self.sets.extend(
            points[..MESH_POINTS]
                .iter()
                .map(|p| to_canon.apply([p[0], p[1]])),
        );
        self.last_t = t;
        true
    }

    /// Per-landmark median of the sets, in canonical pixels.
    pub fn median(&self) -> Option<Vec<[f32; 2]>> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let mut column = Vec::with_capacity(n);
        let mut scratch = Vec::with_capacity(n);
        let mut out = Vec::with_capacity(MESH_POINTS);
        for i in 0..MESH_POINTS {
            let mut p = [0.0f32; 2];
            for (c, v) in p.iter_mut().enumerate() {
                column.clear();
                column.extend((0..n).map(|k| self.sets[k * MESH_POINTS + i][c]));
                *v = crate::spectral::median(&column, &mut scratch);
            }
            out.push(p);
        }
        Some(out)
    }

    /// The region layout on this resting face.
    pub fn layout(&self) -> Option<RegionLayout> {
        RegionLayout::from_canonical(&self.median()?)
    }
}

/// Where each region sits in the canonical frame, and how to map a frame's
/// landmarks into that frame.
#[derive(Clone, Debug)]
pub struct RegionLayout {
    /// The resting face, canonical pixels, [`MESH_POINTS`] landmarks.
    rest: Vec<[f32; 2]>,
    /// Canonical positions of [`RIGID_LANDMARKS`].
    rigid_canonical: Vec<[f32; 2]>,
    /// Region rectangles, indexed `[side][region]`.
    pub regions: [[Rect; Region::COUNT]; 2],
    /// The lid bands inside the lid rectangles, `[side][0 upper, 1 lower]`.
    pub lid_bands: [[LidBand; 2]; 2],
    /// Rigid reference patches (forehead, brow-free forehead sides, nose
    /// bridge, dorsum): their common motion is the head's.
    pub references: Vec<Rect>,
    /// The lips (centre of the mouth): speech and expressions move it.
    pub lips: Rect,
    /// Outer-to-outer eye-corner distance in canonical pixels.
    pub interocular: f32,
    /// Eye widths in canonical pixels, `[side]`.
    pub eye_width: [f32; 2],
    /// Resting lid gap (mid upper to mid lower lid) in canonical pixels,
    /// `[side]`.
    pub eye_height: [f32; 2],
}

impl RegionLayout {
    /// Builds the layout from one landmark set (468 points, image pixels):
    /// a provisional layout until a [`RestShape`] has a few seconds.
    pub fn from_reference(points: &[[f32; 3]]) -> Option<RegionLayout> {
        let mut rest = RestShape::new();
        rest.push(0.0, points).then_some(())?;
        rest.layout()
    }

    /// Builds the layout from resting landmarks already in canonical pixels.
    pub fn from_canonical(rest: &[[f32; 2]]) -> Option<RegionLayout> {
        if rest.len() < MESH_POINTS || rest.iter().any(|p| !p[0].is_finite() || !p[1].is_finite()) {
            return None;
        }
        let io = dist(rest[33], rest[263]);
        if io < 8.0 {
            return None;
        }
        let mut regions = [[Rect::centred(0.0, 0.0, 1.0, 1.0); Region::COUNT]; 2];
        let mut eye_width = [0.0; 2];
        let mut eye_height = [0.0; 2];
        let mut references = Vec::with_capacity(5);
        let mut lid_bands: [[LidBand; 2]; 2] = Default::default();
        for side in Side::BOTH {
            let ix = side_indices(side);
            let outer = rest[ix.eye_outer];
            let inner = rest[ix.eye_inner];
            let w = dist(outer, inner);
            if w < 3.0 {
                return None;
            }
            eye_width[side.index()] = w;
            let upper = mean_of(rest, &ix.upper_mid);
            let lower = mean_of(rest, &ix.lower_mid);
            eye_height[side.index()] = (lower[1] - upper[1]).max(0.5);
            // The highest point of the upper lid and the lowest of the lower
            // lid bound the eye, whatever its shape.
            let lid_top = ix
                .upper_lid
                .iter()
                .map(|&i| rest[i][1])
                .fold(f32::INFINITY, f32::min);
            let brow = mean_of(rest, &ix.brow);
            let cheek = mean_of(rest, &ix.cheek);
            let mouth = rest[ix.mouth_corner];
            let r = &mut regions[side.index()];
            // The upper lid: the skin from its crease down to just below
            // the margin (the lashes), which a closing lid carries down.
            let margin = |lid: &[usize; 7]| -> Vec<[f32; 2]> {
                std::iter::once(outer)
                    .chain(lid.iter().map(|&i| rest[i]))
                    .chain(std::iter::once(inner))
                    .collect()
            };
            let upper_band = LidBand {
                margin: margin(&ix.upper_lid),
                above: (lid_top - (brow[1] + 0.12 * w)).clamp(0.15 * w, 0.35 * w),
                below: 0.08 * w,
            };
            // The lower lid ripples at its margin and the skin just below.
            let lower_band = LidBand {
                margin: margin(&ix.lower_lid),
                above: 0.08 * w,
                below: 0.35 * w,
            };
            r[Region::UpperLid.index()] = upper_band.bounds(0.05 * w);
            r[Region::LowerLid.index()] = lower_band.bounds(0.0);
            lid_bands[side.index()] = [upper_band, lower_band];
            r[Region::Brow.index()] = Rect::centred(brow[0], brow[1], 1.2 * w, 0.45 * w);
            r[Region::Cheek.index()] = Rect::centred(cheek[0], cheek[1], 0.8 * w, 0.7 * w);
            r[Region::MouthCorner.index()] = Rect::centred(mouth[0], mouth[1], 0.6 * w, 0.5 * w);
            // Forehead above the brow: the skin barely moves with the brow.
            let f = rest[ix.forehead];
            references.push(Rect::centred(f[0], f[1], 0.5 * w, 0.4 * w));
        }
        let ew = (eye_width[0] + eye_width[1]) / 2.0;
        let forehead = mean_of(rest, &FOREHEAD);
        references.push(Rect::centred(forehead[0], forehead[1], 0.7 * ew, 0.5 * ew));
        let bridge = mean_of(rest, &BRIDGE);
        references.push(Rect::centred(bridge[0], bridge[1], 0.5 * ew, 0.5 * ew));
        let dorsum = mean_of(rest, &DORSUM);
        references.push(Rect::centred(dorsum[0], dorsum[1], 0.4 * ew, 0.4 * ew));
        let lips = mean_of(rest, &LIPS);
        let mouth_w = dist(
            rest[side_indices(Side::Left).mouth_corner],
            rest[side_indices(Side::Right).mouth_corner],
        );
        let lips = Rect::centred(lips[0], lips[1], 0.6 * mouth_w.max(ew), 0.6 * ew);
        Some(RegionLayout {
            rest: rest[..MESH_POINTS].to_vec(),
            rigid_canonical: RIGID_LANDMARKS.iter().map(|&i| rest[i]).collect(),
            regions,
            lid_bands,
            references,
            lips,
            interocular: io,
            eye_width,
            eye_height,
        })
    }

    pub fn rect(&self, side: Side, region: Region) -> Rect {
        self.regions[side.index()][region.index()]
    }

    /// The resting face in canonical pixels.
    pub fn rest(&self) -> &[[f32; 2]] {
        &self.rest
    }

    /// Fits the image-to-canonical transform for a frame's landmarks.
    pub fn fit_pose(&self, points: &[[f32; 3]], scratch: &mut Vec<[f32; 2]>) -> Option<Similarity> {
        if points.len() < MESH_POINTS {
            return None;
        }
        scratch.clear();
        scratch.extend(
            RIGID_LANDMARKS
                .iter()
                .map(|&i| [points[i][0], points[i][1]]),
        );
        Similarity::fit(scratch, &self.rigid_canonical)
    }

    /// The resting landmark a region is centred on (or the mean of the
    /// landmarks it spans), in canonical pixels: what placement tests check.
    pub fn anchor(&self, side: Side, region: Region) -> [f32; 2] {
        let ix = side_indices(side);
        let r = &self.rest;
        match region {
            Region::Brow => mean_of(r, &ix.brow),
            Region::UpperLid => mean_of(r, &ix.upper_mid),
            Region::LowerLid => mean_of(r, &ix.lower_mid),
            Region::Cheek => mean_of(r, &ix.cheek),
            Region::MouthCorner => r[ix.mouth_corner],
        }
    }
}

/// Eyelid aperture of one eye from landmarks: mean lid gap over eye width,
/// a scale-free number (about 0.25–0.35 open, near 0 closed).
pub fn eye_aperture(points: &[[f32; 3]], side: Side) -> f32 {
    let ix = side_indices(side);
    let d = |a: usize, b: usize| {
        let (pa, pb) = (points[a], points[b]);
        ((pa[0] - pb[0]).powi(2) + (pa[1] - pb[1]).powi(2)).sqrt()
    };
    let gap: f32 = ix
        .upper_mid
        .iter()
        .zip(ix.lower_mid.iter())
        .map(|(&u, &l)| d(u, l))
        .sum::<f32>()
        / 3.0;
    let width = d(ix.eye_outer, ix.eye_inner).max(1e-3);
    gap / width
}

/// How far the head is turned left or right (yaw), degrees, from the face
/// mesh's depth: the angle of the outer-eye-corner line out of the image
/// plane. Positive when the patient's left eye is further from the camera
/// (the head turned to the patient's left: the nose towards image right in
/// an un-mirrored frame; the mesh's depth grows away from the camera). The
/// depth is in the same pixels as x and y, so the angle needs no camera
/// model; roll is taken out by measuring the line's length in the image
/// plane. `None` for a degenerate mesh.
pub fn head_yaw_deg(points: &[[f32; 3]]) -> Option<f32> {
    let (r, l) = (
        points.get(side_indices(Side::Right).eye_outer)?,
        points.get(side_indices(Side::Left).eye_outer)?,
    );
    let in_plane = (l[0] - r[0]).hypot(l[1] - r[1]);
    let depth = l[2] - r[2];
    let yaw = depth.atan2(in_plane).to_degrees();
    (in_plane > 1.0 && yaw.is_finite()).then_some(yaw)
}

/// Image-space corners of a canonical rectangle (for drawing overlays).
pub fn rect_corners_in_image(rect: &Rect, image_to_canonical: &Similarity) -> [[f32; 2]; 4] {
    let inv = image_to_canonical.inverse();
    let (x0, y0) = (rect.x0, rect.y0);
    let (x1, y1) = (x0 + rect.w as f32, y0 + rect.h as f32);
    [
        inv.apply([x0, y0]),
        inv.apply([x1, y0]),
        inv.apply([x1, y1]),
        inv.apply([x0, y1]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_yaw_is_the_eye_line_turned_out_of_the_image() {
        // Eye corners 100 px apart, the head turned by a known angle about
        // the vertical axis, and rolled 20° in the image: the turn is read
        // back, its sign says which eye went away, and roll does not count.
        for yaw in [-40.0f32, -15.0, 0.0, 25.0] {
            let (s, c) = yaw.to_radians().sin_cos();
            let (rs, rc) = 20f32.to_radians().sin_cos();
            let mut points = vec![[0.0f32; 3]; MESH_POINTS];
            for (side, x) in [(Side::Right, -50.0f32), (Side::Left, 50.0)] {
                let (px, pz) = (x * c, x * s);
                points[side_indices(side).eye_outer] = [300.0 + px * rc, 200.0 + px * rs, pz];
            }
            let got = head_yaw_deg(&points).unwrap();
            assert!((got - yaw).abs() < 0.01, "{yaw}° read as {got}°");
        }
        assert_eq!(head_yaw_deg(&[[0.0; 3]; MESH_POINTS]), None);
        assert_eq!(head_yaw_deg(&[]), None);
    }

    #[test]
    fn similarity_fit_recovers_a_known_transform() {
        let t = Similarity {
            a: 0.9,
            b: 0.2,
            tx: 12.0,
            ty: -7.0,
        };
        let from: Vec<[f32; 2]> = (0..10)
            .map(|i| [i as f32 * 3.0, (i * i) as f32 * 0.5])
            .collect();
        let to: Vec<[f32; 2]> = from.iter().map(|&p| t.apply(p)).collect();
        let fit = Similarity::fit(&from, &to).unwrap();
        assert!((fit.a - t.a).abs() < 1e-4 && (fit.b - t.b).abs() < 1e-4);
        assert!((fit.tx - t.tx).abs() < 1e-3 && (fit.ty - t.ty).abs() < 1e-3);
        let back = fit.inverse().apply(fit.apply([5.0, -3.0]));
        assert!((back[0] - 5.0).abs() < 1e-4 && (back[1] + 3.0).abs() < 1e-4);
    }

    #[test]
    fn compose_applies_right_then_left() {
        let s = Similarity {
            a: 0.8,
            b: -0.3,
            tx: 2.0,
            ty: 5.0,
        };
        let t = Similarity {
            a: 1.1,
            b: 0.2,
            tx: -4.0,
            ty: 1.0,
        };
        let p = [3.0, -2.0];
        let want = s.apply(t.apply(p));
        let got = s.compose(&t).apply(p);
        assert!((want[0] - got[0]).abs() < 1e-4 && (want[1] - got[1]).abs() < 1e-4);
    }

    #[test]
    fn degenerate_points_give_no_transform() {
        let p = [[1.0, 1.0]; 5];
        assert!(Similarity::fit(&p, &p).is_none());
    }

    #[test]
    fn side_names_are_patient_sides() {
        // The patient's left eye uses the landmarks the model places at
        // image-right (263/362), never 33/133.
        assert_eq!(side_indices(Side::Left).eye_outer, 263);
        assert_eq!(side_indices(Side::Right).eye_outer, 33);
        assert_eq!(Side::Left.other(), Side::Right);
        assert_eq!(Side::Left.outward_x(), 1.0);
    }

    /// A plausible synthetic face: only the landmarks the layout reads are
    /// placed; `mouth_open` drops the lower lip and the mouth corners.
    fn face(shift: [f32; 2], mouth_open: f32) -> Vec<[f32; 3]> {
        let mut pts = vec![[100.0f32, 100.0, 0.0]; MESH_POINTS];
        let mut set = |i: usize, x: f32, y: f32| pts[i] = [x + shift[0], y + shift[1], 0.0];
        for (i, x, y) in [
            (33, 60.0, 80.0),
            (133, 90.0, 80.0),
            (263, 140.0, 80.0),
            (362, 110.0, 80.0),
            (234, 40.0, 90.0),
            (454, 160.0, 90.0),
            (127, 42.0, 80.0),
            (356, 158.0, 80.0),
            (93, 45.0, 110.0),
            (323, 155.0, 110.0),
            (10, 100.0, 30.0),
            (151, 100.0, 45.0),
            (9, 100.0, 58.0),
            (8, 100.0, 68.0),
            (168, 100.0, 76.0),
            (6, 100.0, 85.0),
            (197, 100.0, 95.0),
            (195, 100.0, 103.0),
            (5, 100.0, 110.0),
            (4, 100.0, 114.0),
            (109, 80.0, 40.0),
            (338, 120.0, 40.0),
            (0, 100.0, 130.0),
            (13, 100.0, 135.0),
            (14, 100.0, 136.0 + mouth_open),
            (17, 100.0, 142.0 + mouth_open),
            (61, 85.0, 136.0 + 0.5 * mouth_open),
            (291, 115.0, 136.0 + 0.5 * mouth_open),
        ] {
            set(i, x, y);
        }
        for side in Side::BOTH {
            let ix = side_indices(side);
            let (x0, x1) = match side {
                Side::Right => (60.0, 90.0),
                Side::Left => (140.0, 110.0),
            };
            for k in 0..7 {
                let x = x0 + (x1 - x0) * (k + 1) as f32 / 8.0;
                let bulge = 5.0 * (1.0 - ((k as f32 - 3.0) / 4.0).powi(2));
                set(ix.upper_lid[k], x, 80.0 - bulge);
                set(ix.lower_lid[k], x, 80.0 + bulge);
            }
            for (k, &i) in ix.brow.iter().enumerate() {
                set(i, x0 + (x1 - x0) * k as f32 / 4.0, 64.0);
            }
            let cx = (x0 + x1) / 2.0;
            set(ix.cheek[0], cx, 105.0);
            set(ix.cheek[1], cx, 115.0);
        }
        pts
    }

    #[test]
    fn rest_shape_ignores_a_minority_of_open_mouths() {
        let mut rest = RestShape::new();
        for k in 0..20 {
            // Head drifts; the mouth is wide open in 6 of 20 sets.
            let open = if k % 10 < 3 { 14.0 } else { 0.0 };
            assert!(rest.push(k as f64 * 0.1, &face([k as f32, 0.5 * k as f32], open)));
        }
        assert_eq!(rest.len(), 20);
        assert!((rest.span_s() - 1.9).abs() < 1e-9);
        let layout = rest.layout().expect("layout");
        let closed = RegionLayout::from_reference(&face([0.0, 0.0], 0.0)).unwrap();
        for side in Side::BOTH {
            let a = layout.rect(side, Region::MouthCorner).centre();
            let b = closed.rect(side, Region::MouthCorner).centre();
            assert!(dist(a, b) < 0.5, "{side:?}: {a:?} vs {b:?}");
        }
        // The first set alone (mouth open) would have placed it lower.
        let open = RegionLayout::from_reference(&face([0.0, 0.0], 14.0)).unwrap();
        let c = open.rect(Side::Left, Region::MouthCorner).centre();
        assert!(c[1] - closed.rect(Side::Left, Region::MouthCorner).centre()[1] > 5.0);
    }

    #[test]
    fn regions_sit_on_their_landmarks_and_sides() {
        let layout = RegionLayout::from_reference(&face([0.0, 0.0], 0.0)).unwrap();
        let io = layout.interocular;
        for side in Side::BOTH {
            for region in Region::ALL {
                let c = layout.rect(side, region).centre();
                let a = layout.anchor(side, region);
                assert!(
                    dist(c, a) < 0.2 * io,
                    "{side:?} {region:?}: centre {c:?} anchor {a:?}"
                );
            }
            // Patient-left regions lie on canonical (image) right.
            let l = layout.rect(Side::Left, Region::UpperLid).centre()[0];
            let r = layout.rect(Side::Right, Region::UpperLid).centre()[0];
            assert!(l > r);
        }
        let upper = layout.rect(Side::Left, Region::UpperLid);
        let brow = layout.rect(Side::Left, Region::Brow);
        assert!(
            upper.y0 >= brow.centre()[1],
            "upper lid reaches into the brow"
        );
    }
}
