//! Facial regions per patient side, placed in a face-aligned canonical frame.
//!
//! The canonical frame is the session's own reference face (the first good set
//! of landmarks), rotated so the eyes are level. Each later frame is mapped
//! into it by a similarity transform fitted to landmarks that muscles barely
//! move (eye corners, nose bridge, forehead, face outline), so head
//! translation, rotation and scale drop out. Regions are fixed rectangles in
//! that frame: a closing eye never drags its own region along with it.

use serde::{Deserialize, Serialize};

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
struct SideIndices {
    eye_outer: usize,
    eye_inner: usize,
    upper_lid: [usize; 3],
    lower_lid: [usize; 3],
    brow: [usize; 5],
    cheek: [usize; 2],
    mouth_corner: usize,
}

const fn side_indices(side: Side) -> SideIndices {
    match side {
        Side::Right => SideIndices {
            eye_outer: 33,
            eye_inner: 133,
            upper_lid: [160, 159, 158],
            lower_lid: [144, 145, 153],
            brow: [70, 63, 105, 66, 107],
            cheek: [50, 205],
            mouth_corner: 61,
        },
        Side::Left => SideIndices {
            eye_outer: 263,
            eye_inner: 362,
            upper_lid: [387, 386, 385],
            lower_lid: [373, 374, 380],
            brow: [300, 293, 334, 296, 336],
            cheek: [280, 425],
            mouth_corner: 291,
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

/// Nose bridge and forehead landmarks that place the rigid reference patch.
const REFERENCE_LANDMARKS: [usize; 5] = [151, 9, 8, 168, 6];

/// A 2-D similarity transform `p' = [a -b; b a] p + t`.
#[derive(Clone, Copy, Debug, PartialEq)]
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
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    pub x0: f32,
    pub y0: f32,
    pub w: usize,
    pub h: usize,
}

impl Rect {
    fn centred(cx: f32, cy: f32, w: f32, h: f32) -> Rect {
        let w = w.round().max(6.0) as usize;
        let h = h.round().max(6.0) as usize;
        Rect {
            x0: cx - w as f32 / 2.0,
            y0: cy - h as f32 / 2.0,
            w,
            h,
        }
    }

    fn spanning(cx: f32, w: f32, y0: f32, y1: f32) -> Rect {
        Rect::centred(cx, (y0 + y1) / 2.0, w, (y1 - y0).abs())
    }

    pub fn area(&self) -> usize {
        self.w * self.h
    }

    pub fn centre(&self) -> [f32; 2] {
        [self.x0 + self.w as f32 / 2.0, self.y0 + self.h as f32 / 2.0]
    }
}

/// Where each region sits in the canonical frame, and how to map a frame's
/// landmarks into that frame.
#[derive(Clone, Debug)]
pub struct RegionLayout {
    /// Canonical positions of [`RIGID_LANDMARKS`].
    rigid_canonical: Vec<[f32; 2]>,
    /// Region rectangles, indexed `[side][region]`.
    pub regions: [[Rect; Region::COUNT]; 2],
    /// The rigid reference patch (nose bridge and forehead).
    pub reference: Rect,
    /// Outer-to-outer eye-corner distance in canonical pixels.
    pub interocular: f32,
    /// Eye widths in canonical pixels, `[side]`.
    pub eye_width: [f32; 2],
}

/// Canonical interocular distance is capped here: larger faces are sampled
/// at a lower resolution, which keeps the per-frame cost bounded.
const MAX_CANONICAL_INTEROCULAR: f32 = 160.0;

impl RegionLayout {
    /// Builds the layout from a reference face (468 landmarks in image pixels).
    /// Returns `None` if the landmarks are degenerate.
    pub fn from_reference(points: &[[f32; 3]]) -> Option<RegionLayout> {
        if points.len() < 468 {
            return None;
        }
        let p2 = |i: usize| [points[i][0], points[i][1]];
        let r_outer = p2(33);
        let l_outer = p2(263);
        let dx = l_outer[0] - r_outer[0];
        let dy = l_outer[1] - r_outer[1];
        let io = (dx * dx + dy * dy).sqrt();
        if !io.is_finite() || io < 8.0 {
            return None;
        }
        // Rotate so the eye line is level, scale, and put the eye midpoint at
        // a fixed place well inside positive coordinates.
        let k = (MAX_CANONICAL_INTEROCULAR / io).min(1.0);
        let angle = dy.atan2(dx);
        let (s, c) = (-angle).sin_cos();
        let mid = [
            (r_outer[0] + l_outer[0]) / 2.0,
            (r_outer[1] + l_outer[1]) / 2.0,
        ];
        let origin = [1.5 * io * k, 1.2 * io * k];
        let to_canon = |p: [f32; 2]| -> [f32; 2] {
            let x = p[0] - mid[0];
            let y = p[1] - mid[1];
            [
                k * (c * x - s * y) + origin[0],
                k * (s * x + c * y) + origin[1],
            ]
        };
        let rigid_canonical = RIGID_LANDMARKS.iter().map(|&i| to_canon(p2(i))).collect();
        let mean = |idx: &[usize]| -> [f32; 2] {
            let mut m = [0.0, 0.0];
            for &i in idx {
                let q = to_canon(p2(i));
                m[0] += q[0];
                m[1] += q[1];
            }
            [m[0] / idx.len() as f32, m[1] / idx.len() as f32]
        };

        let mut regions = [[Rect::centred(0.0, 0.0, 1.0, 1.0); Region::COUNT]; 2];
        let mut eye_width = [0.0; 2];
        for side in Side::BOTH {
            let ix = side_indices(side);
            let outer = to_canon(p2(ix.eye_outer));
            let inner = to_canon(p2(ix.eye_inner));
            let w = ((outer[0] - inner[0]).powi(2) + (outer[1] - inner[1]).powi(2)).sqrt();
            eye_width[side.index()] = w;
            let cx = (outer[0] + inner[0]) / 2.0;
            let upper = mean(&ix.upper_lid);
            let lower = mean(&ix.lower_lid);
            let eye_mid = (upper[1] + lower[1]) / 2.0;
            let brow = mean(&ix.brow);
            let cheek = mean(&ix.cheek);
            let mouth = to_canon(p2(ix.mouth_corner));
            let r = &mut regions[side.index()];
            // The upper lid sweeps from above its crease down over the iris.
            r[Region::UpperLid.index()] = Rect::spanning(cx, 1.1 * w, upper[1] - 0.30 * w, eye_mid);
            // The lower lid ripples at its margin and the skin just below it.
            r[Region::LowerLid.index()] = Rect::spanning(cx, 1.0 * w, eye_mid, lower[1] + 0.35 * w);
            r[Region::Brow.index()] = Rect::centred(brow[0], brow[1], 1.2 * w, 0.45 * w);
            r[Region::Cheek.index()] = Rect::centred(cheek[0], cheek[1], 0.8 * w, 0.7 * w);
            r[Region::MouthCorner.index()] = Rect::centred(mouth[0], mouth[1], 0.6 * w, 0.5 * w);
        }
        let bridge = mean(&REFERENCE_LANDMARKS);
        let top = to_canon(p2(151));
        let bottom = to_canon(p2(6));
        let ew = (eye_width[0] + eye_width[1]) / 2.0;
        let reference =
            Rect::spanning(bridge[0], 0.7 * ew, top[1] - 0.1 * ew, bottom[1] + 0.1 * ew);
        Some(RegionLayout {
            rigid_canonical,
            regions,
            reference,
            interocular: io * k,
            eye_width,
        })
    }

    pub fn rect(&self, side: Side, region: Region) -> Rect {
        self.regions[side.index()][region.index()]
    }

    /// Fits the image-to-canonical transform for a frame's landmarks.
    pub fn fit_pose(&self, points: &[[f32; 3]], scratch: &mut Vec<[f32; 2]>) -> Option<Similarity> {
        if points.len() < 468 {
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
        .upper_lid
        .iter()
        .zip(ix.lower_lid.iter())
        .map(|(&u, &l)| d(u, l))
        .sum::<f32>()
        / 3.0;
    let width = d(ix.eye_outer, ix.eye_inner).max(1e-3);
    gap / width
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
    }
}
