//! Per-region motion measured from pixels of the stabilised face.
//!
//! Every frame, each region, the lips and a few rigid reference patches
//! (forehead, nose bridge, dorsum) are resampled from the frame into the
//! canonical face frame (see [`crate::regions`]). Between two consecutive
//! frames we then measure:
//! - **the head's own motion**: a Lucas–Kanade translation per reference
//!   patch, to which one similarity motion (shift, rotation, scale) is
//!   fitted. The landmark pose is refreshed only a few times a second and is
//!   interpolated in between; whatever it misses of the head's motion, the
//!   reference patches see, so it is removed here from pixels;
//! - **each region's motion relative to the head**: the region is resampled
//!   where the head's motion carried it, and what is left is the skin's own
//!   motion: a Lucas–Kanade translation (`vx` outward, `vy` down), fitted
//!   together with a vertical velocity growing along the region (`tilt`,
//!   the outer end down: a ripple travelling along a lid, whose crests and
//!   troughs cancel in `vy`), and the texture-normalised residual speed
//!   `sqrt(Σ r² / Σ |∇I|²)`;
//! - **displacement and deformation** against a slowly adapting template
//!   of each patch (its recent resting appearance): the head's offset from
//!   the template is fitted on the reference patches as above, and each
//!   region's own shift from its template (`dx`, `dy`) and the RMS change
//!   left (`deform`) are positions, not rates, so they stay up while an eye
//!   is held narrowed (a tonic spasm) when velocity is zero.
//!
//! A frame identical to the one before (a camera or a frame-rate converter
//! repeating frames) is reported as not measured: its zero motion followed by
//! a double step would otherwise read as a rhythm at the repetition rate.
//!
//! All buffers are allocated once per layout; the per-frame path allocates
//! nothing.

use serde::{Deserialize, Serialize};

use crate::regions::{Rect, Region, RegionLayout, Side, Similarity};

/// Motion of one region in one frame. Units are canonical pixels scaled to an
/// interocular distance of 100 ("face units"), per second where a rate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RegionMotion {
    /// Texture-normalised residual speed (face units / s), always >= 0.
    pub speed: f32,
    /// Horizontal velocity relative to the head (face units / s, positive =
    /// outwards, away from the face's midline, on either side).
    #[serde(default)]
    pub vx: f32,
    /// Vertical velocity relative to the head (face units / s, positive =
    /// downwards in the face).
    pub vy: f32,
    /// Horizontal displacement from the region's recent resting place
    /// (face units, positive = outwards).
    #[serde(default)]
    pub dx: f32,
    /// Vertical displacement from the region's recent resting place (face
    /// units, positive = downwards): a position, so it stays up while an
    /// eye is held narrowed.
    #[serde(default)]
    pub dy: f32,
    /// Deviation from the region's resting appearance (face units).
    pub deform: f32,
    /// What [`RegionMotion::speed`] leaves once the region's own
    /// translation is taken out (face units / s): skin moving unevenly
    /// within the region, such as a ripple travelling along a lid, while a
    /// region sliding as a whole (a lid pulled by the cheek in speech, the
    /// head's motion the pose missed) adds little.
    #[serde(default)]
    pub ripple: f32,
    /// How much faster the region's outer end moves down than its centre
    /// (face units / s): the signed shape of a ripple travelling along a
    /// lid, which [`RegionMotion::vy`] averages away.
    #[serde(default)]
    pub tilt: f32,
}

/// Everything measured in one frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MotionSample {
    pub t: f64,
    /// True when a face pose was available and the motion is meaningful.
    pub valid: bool,
    /// True when a face was tracked in this frame, whether or not its
    /// motion could be measured (the first frames, while the resting face
    /// is learned, and repeated frames are not measured). The face-visible
    /// fraction counts these.
    #[serde(default)]
    pub face: bool,
    /// `[side][region]`, side indexed by [`Side::index`].
    pub regions: [[RegionMotion; Region::COUNT]; 2],
    /// Eyelid aperture per side from the eye model (the gap between the lid
    /// margins over the eye's width, about 0.25–0.4 open, near 0 shut),
    /// NaN when not measured (the eye model skips frames of still lids:
    /// [`crate::eyes::EyeSchedule`]; the analysis interpolates over them).
    pub aperture: [f32; 2],
    /// Upper-lid margin above the line through the eye corners, per side,
    /// over the eye's width; NaN when not measured.
    #[serde(default = "nan_pair")]
    pub upper_lid: [f32; 2],
    /// Lower-lid margin below the corner line, per side, over the eye's
    /// width; NaN when not measured.
    #[serde(default = "nan_pair")]
    pub lower_lid: [f32; 2],
    /// Speed of the head's motion that the landmark pose missed (face
    /// units / s): large when the head moves fast or the pose is poor.
    pub head_speed: f32,
    /// Residual speed of the lips (face units / s): speech and expressions.
    #[serde(default)]
    pub lips_speed: f32,
    /// Contrast across the eyes (grey levels between the darker and the
    /// brighter tenth of the band through both eyes), NaN when not looked
    /// at: too low, and the face is too dark (or washed out) to measure.
    #[serde(default = "nan")]
    pub face_contrast: f32,
    /// Faces in the picture at the detector's last count (about once a
    /// second while a face is followed); 0 where not counted.
    #[serde(default)]
    pub faces_in_view: u8,
    /// Where the face was: the image → canonical transform of this frame
    /// when a face was tracked. A replay draws the regions on the recorded
    /// video with it, where the live view drew them.
    #[serde(default)]
    pub pose: Option<Similarity>,
}

fn nan_pair() -> [f32; 2] {
    [f32::NAN; 2]
}

fn nan() -> f32 {
    f32::NAN
}

impl MotionSample {
    /// A sample at `t` with nothing measured.
    pub fn empty(t: f64) -> MotionSample {
        MotionSample {
            t,
            aperture: [f32::NAN; 2],
            upper_lid: [f32::NAN; 2],
            lower_lid: [f32::NAN; 2],
            face_contrast: f32::NAN,
            ..MotionSample::default()
        }
    }

    pub fn region(&self, side: Side, region: Region) -> &RegionMotion {
        &self.regions[side.index()][region.index()]
    }
}

/// An affine map from canonical to image pixels, `[a b c; d e f]`.
#[derive(Clone, Copy, Debug)]
struct Affine([f32; 6]);

impl Affine {
    fn from_similarity(s: &Similarity) -> Affine {
        Affine([s.a, -s.b, s.tx, s.b, s.a, s.ty])
    }

    #[inline]
    fn apply(&self, x: f32, y: f32) -> [f32; 2] {
        let m = &self.0;
        [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]]
    }

    /// Moves each coefficient a fraction `alpha` of the way to `target`.
    fn blend_towards(&self, target: &Affine, alpha: f32) -> Affine {
        let mut out = *self;
        for (o, t) in out.0.iter_mut().zip(target.0) {
            *o += alpha * (t - *o);
        }
        out
    }

    /// `self ∘ motion`, where `motion` moves canonical point p to
    /// `p + t + M (p - c)`.
    fn after_motion(&self, motion: &HeadMotion) -> Affine {
        let (s, r) = (motion.scale, motion.rot);
        // p' = (I + M) p + (t - M c), M = [s -r; r s]
        let (m00, m01, m10, m11) = (1.0 + s, -r, r, 1.0 + s);
        let ox = motion.t[0] - (s * motion.c[0] - r * motion.c[1]);
        let oy = motion.t[1] - (r * motion.c[0] + s * motion.c[1]);
        let a = &self.0;
        Affine([
            a[0] * m00 + a[1] * m10,
            a[0] * m01 + a[1] * m11,
            a[0] * ox + a[1] * oy + a[2],
            a[3] * m00 + a[4] * m10,
            a[3] * m01 + a[4] * m11,
            a[3] * ox + a[4] * oy + a[5],
        ])
    }
}

/// The head's motion between two frames in canonical pixels: a small
/// similarity about the centre `c`: `d(p) = t + [scale -rot; rot scale] (p - c)`.
#[derive(Clone, Copy, Debug, Default)]
struct HeadMotion {
    t: [f32; 2],
    scale: f32,
    rot: f32,
    c: [f32; 2],
}

/// One patch: where it sits in canonical space and its slot in the buffers.
#[derive(Clone, Copy, Debug)]
struct PatchSlot {
    rect: Rect,
    offset: usize,
}

impl PatchSlot {
    fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.rect.area()
    }
}

/// Lucas–Kanade sums of one patch.
#[derive(Clone, Copy, Debug, Default)]
struct FlowSums {
    gxx: f64,
    gxy: f64,
    gyy: f64,
    gxt: f64,
    gyt: f64,
    /// Σ r² with r the temporal difference (its mean, a brightness change,
    /// removed).
    rr: f64,
    /// Pixels summed.
    n: usize,
    /// The same sums for a third unknown: a vertical velocity that grows
    /// across the patch, `v1·x̃` with `x̃` from −1 (left edge) to 1 (right
    /// edge). `z = Iy·x̃` is its gradient column.
    gxz: f64,
    gyz: f64,
    gzz: f64,
    gzt: f64,
}

impl FlowSums {
    /// Solves the 2×2 system; a small ridge keeps flat patches near zero.
    fn solve(&self) -> (f32, f32) {
        let ridge = 1e-2 * self.n as f64;
        let (a, b, d) = (self.gxx + ridge, self.gxy, self.gyy + ridge);
        let det = a * d - b * b;
        if det.abs() < 1e-12 {
            return (0.0, 0.0);
        }
        let u = -(d * self.gxt - b * self.gyt) / det;
        let v = -(-b * self.gxt + a * self.gyt) / det;
        (u as f32, v as f32)
    }

    /// The vertical velocity's change across the patch (`v1`, px / frame
    /// at its right edge against its centre), fitted with the translation:
    /// a ripple travelling along a lid moves one end up while the other
    /// goes down, which a translation averages away.
    fn tilt(&self) -> f32 {
        let ridge = 1e-2 * self.n as f64;
        let a = [
            [self.gxx + ridge, self.gxy, self.gxz],
            [self.gxy, self.gyy + ridge, self.gyz],
            [self.gxz, self.gyz, self.gzz + ridge],
        ];
        let b = [-self.gxt, -self.gyt, -self.gzt];
        let det3 = |m: &[[f64; 3]; 3]| {
            m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
                - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        };
        let det = det3(&a);
        if det.abs() < 1e-12 {
            return 0.0;
        }
        // Cramer's rule for the third unknown.
        let mut m = a;
        for (row, bi) in m.iter_mut().zip(b) {
            row[2] = bi;
        }
        (det3(&m) / det) as f32
    }

    /// Texture-normalised speed of what the patch's best translation does
    /// not explain (px / frame): the least-squares residual of the
    /// brightness-constancy fit, `Σ(It + Ix·u + Iy·v)²`, which at the solution
    /// is `Σ It² + u·Σ Ix·It + v·Σ Iy·It`, normalised like
    /// [`FlowSums::residual_speed`].
    fn unexplained_speed(&self) -> f32 {
        let (u, v) = self.solve();
        let left = (self.rr + u as f64 * self.gxt + v as f64 * self.gyt).clamp(0.0, self.rr);
        let gg = self.gxx + self.gyy;
        (left / (gg + 4.0 * self.n as f64)).sqrt() as f32
    }

    /// Confidence of the solution: the smaller eigenvalue of the structure
    /// tensor per pixel (0 for a flat or a one-directional patch).
    fn confidence(&self) -> f32 {
        if self.n == 0 {
            return 0.0;
        }
        let (a, b, d) = (self.gxx, self.gxy, self.gyy);
        let half_trace = 0.5 * (a + d);
        let disc = (0.25 * (a - d) * (a - d) + b * b).sqrt();
        ((half_trace - disc).max(0.0) / self.n as f64) as f32
    }

    /// Texture-normalised residual speed (px / frame). A floor on the
    /// gradient energy (about 2 grey levels per pixel) keeps flat,
    /// textureless patches from turning noise into speed.
    fn residual_speed(&self) -> f32 {
        let gg = self.gxx + self.gyy;
        (self.rr / (gg + 4.0 * self.n as f64)).sqrt() as f32
    }
}

/// Time constant of the appearance template, seconds. Long enough that a
/// tonic closure of a few seconds stands out, short enough to follow lighting.
const TEMPLATE_TAU_S: f64 = 8.0;

/// Mean absolute grey-level change over every patch below which a frame is
/// a repeat of the one before. Sensor noise alone changes real frames by
/// more than a grey level; a repeated frame, re-encoded, by far less.
const REPEAT_LEVEL: f32 = 0.15;

/// Lucas–Kanade refinements per patch: the second pass resamples the patch
/// where the first one says it went, which keeps fast motions (a blink, a
/// quick head turn) from being under-read.
const LK_PASSES: usize = 2;

/// Time constant with which the pixel-tracked pose is pulled towards the
/// landmark pose, seconds: slow enough to smooth landmark jitter, fast
/// enough that the pixel tracker cannot drift off the face.
const POSE_PULL_TAU_S: f64 = 0.5;

/// Largest Lucas–Kanade step (px) that is trusted; beyond it the patch
/// changed too much between the two images.
const MAX_LK_STEP: f32 = 4.0;

/// Template passes: displacements from rest (a narrowed eye) are larger
/// than frame-to-frame steps.
const LK_PASSES_TEMPLATE: usize = 3;

/// What a patch's motion is measured from.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Against {
    Previous,
    Template,
}

impl Against {
    /// The buffer of patches this measures from.
    fn pick<'a>(self, previous: &'a [f32], template: &'a [f32]) -> &'a [f32] {
        match self {
            Against::Previous => previous,
            Against::Template => template,
        }
    }
}

/// Measures motion per region, frame after frame.
pub struct MotionAnalyzer {
    layout: RegionLayout,
    /// Reference patches first, then `[side][region]` in order, then lips.
    slots: Vec<PatchSlot>,
    n_refs: usize,
    current: Vec<f32>,
    previous: Vec<f32>,
    template: Vec<f32>,
    /// Per-pixel weight of each patch (1, or the lid band's shape).
    weights: Vec<f32>,
    /// Resampled patch being refined (the largest patch's size).
    moved: Vec<f32>,
    /// A patch's reference, resampled patch and weights at half resolution
    /// (see [`MotionAnalyzer::refine`]).
    half: [Vec<f32>; 3],
    blur_scratch: Vec<f32>,
    /// Canonical → image map the previous frame was sampled with: the pose
    /// tracked from pixels, pulled slowly towards the landmark pose.
    tracked: Affine,
    /// The whole face at low resolution, for a first guess of fast head
    /// motion.
    coarse: Coarse,
    has_previous: bool,
    has_template: bool,
    last_t: f64,
    /// Canonical pixels → face units (interocular = 100).
    unit: f32,
}

impl MotionAnalyzer {
    pub fn new(layout: RegionLayout) -> MotionAnalyzer {
        let mut slots = Vec::with_capacity(layout.references.len() + 2 * Region::COUNT + 1);
        let mut offset = 0;
        let mut push = |rect: Rect| {
            slots.push(PatchSlot { rect, offset });
            offset += rect.area();
        };
        for &r in &layout.references {
            push(r);
        }
        for side in Side::BOTH {
            for region in Region::ALL {
                push(layout.rect(side, region));
            }
        }
        push(layout.lips);
        let largest = slots.iter().map(|s| s.rect.area()).max().unwrap_or(0);
        // The coarse view spans the references and the eyes.
        let face_box = slots[..layout.references.len()]
            .iter()
            .map(|s| s.rect)
            .chain([
                layout.rect(Side::Left, Region::UpperLid),
                layout.rect(Side::Right, Region::UpperLid),
            ])
            .fold(None, |acc: Option<(f32, f32, f32, f32)>, r| {
                let (x1, y1) = (r.x0 + r.w as f32, r.y0 + r.h as f32);
                Some(match acc {
                    None => (r.x0, r.y0, x1, y1),
                    Some(a) => (a.0.min(r.x0), a.1.min(r.y0), a.2.max(x1), a.3.max(y1)),
                })
            })
            .unwrap_or((0.0, 0.0, 1.0, 1.0));
        let unit = 100.0 / layout.interocular.max(1.0);
        let mut weights = vec![1.0; offset];
        let n_refs = layout.references.len();
        for side in Side::BOTH {
            for (k, region) in [Region::UpperLid, Region::LowerLid].into_iter().enumerate() {
                let slot = slots[n_refs + side.index() * Region::COUNT + region.index()];
                let band = &layout.lid_bands[side.index()][k];
                let w = &mut weights[slot.range()];
                for row in 0..slot.rect.h {
                    for col in 0..slot.rect.w {
                        let (x, y) = (
                            slot.rect.x0 + col as f32 + 0.5,
                            slot.rect.y0 + row as f32 + 0.5,
                        );
                        w[row * slot.rect.w + col] = band.weight(x, y, 1.5);
                    }
                }
            }
        }
        MotionAnalyzer {
            n_refs: layout.references.len(),
            layout,
            slots,
            current: vec![0.0; offset],
            previous: vec![0.0; offset],
            template: vec![0.0; offset],
            weights,
            moved: vec![0.0; largest],
            half: [0, 1, 2].map(|_| vec![0.0; largest / 4 + 1]),
            blur_scratch: vec![0.0; largest],
            tracked: Affine::from_similarity(&Similarity::IDENTITY),
            coarse: Coarse::new(face_box),
            has_previous: false,
            has_template: false,
            last_t: 0.0,
            unit,
        }
    }

    pub fn layout(&self) -> &RegionLayout {
        &self.layout
    }

    /// Where a canonical point is in the image of the last frame processed.
    pub fn to_image(&self, p: [f32; 2]) -> [f32; 2] {
        self.tracked.apply(p[0], p[1])
    }

    /// Forgets the previous frame (after the face was lost), so no motion is
    /// measured across a gap.
    pub fn reset(&mut self) {
        self.has_previous = false;
    }

    /// Measures one frame. `pose` maps image pixels to canonical pixels
    /// (from landmarks); `None` means no face in this frame.
    pub fn process(
        &mut self,
        luma: &[u8],
        width: usize,
        height: usize,
        t: f64,
        pose: Option<&Similarity>,
    ) -> MotionSample {
        let mut sample = MotionSample::empty(t);
        let Some(pose) = pose else {
            self.has_previous = false;
            return sample;
        };
        if width < 2 || height < 2 || luma.len() < width * height {
            self.has_previous = false;
            return sample;
        }
        let image = Image {
            luma,
            width,
            height,
        };
        let landmark_pose = Affine::from_similarity(&pose.inverse());
        let dt = t - self.last_t;
        if !(self.has_previous && dt > 0.0 && dt < 1.0) {
            // Start (or restart after a gap) from the landmarks.
            self.tracked = landmark_pose;
            self.keep_as_previous(&image, t, dt);
            return sample;
        }
        // The patches where the previous frame's pose puts them: a repeated
        // frame shows no change at all. (All of them: in a compressed video
        // a still forehead can repeat exactly while an eyelid moves.)
        for slot in &self.slots {
            let buf = &mut self.current[slot.range()];
            image.sample(&self.tracked, &slot.rect, buf, &mut self.blur_scratch);
        }
        if self.is_repeat() {
            // Keep the previous frame: the next real frame's motion is
            // measured over both intervals.
            return sample;
        }
        let per_s = self.unit / dt as f32;
        let tracked = self.tracked;
        // A coarse look at the whole face first: a fast head moves further
        // between two frames than Lucas–Kanade on a small patch can see.
        let start = self.coarse.shift(&image, &tracked).unwrap_or((0.0, 0.0));
        let head = self.head_motion(&image, &tracked, Against::Previous, start);
        sample.head_speed = head.t[0].hypot(head.t[1]) * per_s;
        // Where the head went: every patch sampled there moves only by what
        // the skin did.
        let followed = tracked.after_motion(&head);
        for slot in &self.slots {
            let buf = &mut self.current[slot.range()];
            image.sample(&followed, &slot.rect, buf, &mut self.blur_scratch);
        }
        let head_rest = self.head_motion(&image, &followed, Against::Template, (0.0, 0.0));
        let rest_pose = followed.after_motion(&head_rest);
        let n_regions = 2 * Region::COUNT;
        for i in 0..=n_regions {
            let slot = self.slots[self.n_refs + i];
            let moved = &mut self.moved[..slot.rect.area()];
            moved.copy_from_slice(&self.current[slot.range()]);
            let (sums, shift) =
                self.refine(&image, &followed, &slot, Against::Previous, (0.0, 0.0));
            let (u, v) = shift.unwrap_or((f32::NAN, f32::NAN));
            let speed = sums.residual_speed() * per_s;
            let ripple = sums.unexplained_speed() * per_s;
            let tilt = sums.tilt() * per_s;
            if i == n_regions {
                sample.lips_speed = speed;
                continue;
            }
            // The same against the template: where the skin sits now
            // relative to where it rests.
            let moved = &mut self.moved[..slot.rect.area()];
            image.sample(&rest_pose, &slot.rect, moved, &mut self.blur_scratch);
            let deform = self.deformation(&slot);
            let (_, shift) = self.refine(&image, &rest_pose, &slot, Against::Template, (0.0, 0.0));
            let (dx, dy) = shift.unwrap_or((f32::NAN, f32::NAN));
            let (side, region) = (i / Region::COUNT, i % Region::COUNT);
            let outward = Side::BOTH[side].outward_x();
            sample.regions[side][region] = RegionMotion {
                speed,
                vx: outward * u * per_s,
                vy: v * per_s,
                dx: outward * dx * self.unit,
                dy: dy * self.unit,
                deform: deform * self.unit,
                ripple,
                tilt: outward * tilt,
            };
        }
        sample.valid = true;
        // Pixels follow the head closely but drift; landmarks do not drift
        // but jitter and are refreshed only a few times a second. Pull the
        // followed pose towards the landmarks slowly.
        let gain = 1.0 - (-dt / POSE_PULL_TAU_S).exp() as f32;
        self.tracked = followed.blend_towards(&landmark_pose, gain);
        self.keep_as_previous(&image, t, dt);
        sample
    }

    /// Samples every patch at the tracked pose as the next frame's
    /// "previous", and adapts the template to it.
    fn keep_as_previous(&mut self, image: &Image, t: f64, dt: f64) {
        self.coarse.keep(image, &self.tracked);
        for slot in &self.slots {
            let buf = &mut self.previous[slot.range()];
            image.sample(&self.tracked, &slot.rect, buf, &mut self.blur_scratch);
        }
        if !self.has_template {
            self.template.copy_from_slice(&self.previous);
            self.has_template = true;
        } else {
            let alpha = if dt > 0.0 && dt < 1.0 {
                (dt / TEMPLATE_TAU_S).min(1.0) as f32
            } else {
                0.0
            };
            for (tpl, &cur) in self.template.iter_mut().zip(self.previous.iter()) {
                *tpl += alpha * (cur - *tpl);
            }
        }
        self.has_previous = true;
        self.last_t = t;
    }

    /// Whether this frame's patches repeat the previous frame's.
    fn is_repeat(&self) -> bool {
        let total: f32 = self
            .current
            .iter()
            .zip(&self.previous)
            .map(|(c, p)| (c - p).abs())
            .sum();
        total / (self.current.len().max(1) as f32) < REPEAT_LEVEL
    }

    /// Lucas–Kanade translation of one patch from `against` (the previous
    /// frame or the template) to `self.moved` (the patch sampled at `pose`),
    /// starting from `init` and refined by resampling where it went. Returns
    /// the first pass's sums (what changed before the patch's own shift is
    /// removed) and the translation.
    ///
    /// A patch that moved further than one Lucas–Kanade step reaches
    /// ([`MAX_LK_STEP`]) from a zero start is looked at again at half
    /// resolution, where it moved half as far, and refined from there. Why:
    /// on real faces that move, talk and laugh, a mouth corner or a brow
    /// often sits more than that from its resting place, and a lid jumps
    /// that far between two frames in a fast twitch; giving up there left
    /// gaps in up to a fifth of the frames of a lively face, exactly at the
    /// largest motions, and gaps on one side only read as asymmetry.
    fn refine(
        &mut self,
        image: &Image,
        pose: &Affine,
        slot: &PatchSlot,
        against: Against,
        init: (f32, f32),
    ) -> (FlowSums, Option<(f32, f32)>) {
        let (sums, shift) = self.refine_from(image, pose, slot, against, init);
        if shift.is_some() || init != (0.0, 0.0) {
            return (sums, shift);
        }
        let moved = &mut self.moved[..slot.rect.area()];
        image.sample(pose, &slot.rect, moved, &mut self.blur_scratch);
        let Some(start) = self.half_resolution_shift(slot, against) else {
            return (sums, None);
        };
        let (_, shift) = self.refine_from(image, pose, slot, against, start);
        (sums, shift)
    }

    /// One Lucas–Kanade step between `against` and `self.moved` halved in
    /// both directions (2×2 means), in full-resolution pixels; `None` where
    /// that step too is beyond [`MAX_LK_STEP`] (of half-resolution pixels).
    fn half_resolution_shift(&mut self, slot: &PatchSlot, against: Against) -> Option<(f32, f32)> {
        let (w, h) = (slot.rect.w / 2, slot.rect.h / 2);
        if w < 3 || h < 3 {
            return None;
        }
        let reference = &against.pick(&self.previous, &self.template)[slot.range()];
        let [half_reference, half_moved, half_weights] = &mut self.half;
        halve(reference, slot.rect.w, w, h, half_reference);
        halve(&self.moved, slot.rect.w, w, h, half_moved);
        halve(&self.weights[slot.range()], slot.rect.w, w, h, half_weights);
        let sums = flow_sums(
            &half_reference[..w * h],
            &half_moved[..w * h],
            &half_weights[..w * h],
            w,
            h,
        );
        let (u, v) = sums.solve();
        (u.abs() < MAX_LK_STEP && v.abs() < MAX_LK_STEP).then_some((2.0 * u, 2.0 * v))
    }

    /// [`MotionAnalyzer::refine`]'s Lucas–Kanade passes from `init`.
    fn refine_from(
        &mut self,
        image: &Image,
        pose: &Affine,
        slot: &PatchSlot,
        against: Against,
        init: (f32, f32),
    ) -> (FlowSums, Option<(f32, f32)>) {
        let (mut u, mut v) = init;
        let mut first = None;
        let passes = match against {
            Against::Previous => LK_PASSES,
            Against::Template => LK_PASSES_TEMPLATE,
        };
        for pass in 0..passes {
            if pass > 0 || init != (0.0, 0.0) {
                let shifted = Rect {
                    x0: slot.rect.x0 + u,
                    y0: slot.rect.y0 + v,
                    ..slot.rect
                };
                let moved = &mut self.moved[..slot.rect.area()];
                image.sample(pose, &shifted, moved, &mut self.blur_scratch);
            }
            let reference = &against.pick(&self.previous, &self.template)[slot.range()];
            let sums = flow_sums(
                reference,
                &self.moved[..slot.rect.area()],
                &self.weights[slot.range()],
                slot.rect.w,
                slot.rect.h,
            );
            first.get_or_insert(sums);
            let (du, dv) = sums.solve();
            // A step beyond a few pixels is LK outside its range: the
            // patch changed too much to say where it went.
            if !(du.abs() < MAX_LK_STEP && dv.abs() < MAX_LK_STEP) {
                return (first.unwrap_or_default(), None);
            }
            u += du;
            v += dv;
        }
        (first.unwrap_or_default(), Some((u, v)))
    }

    /// The head's motion from `against` (the previous frame or the
    /// template) to this frame, each patch searched from `init`, fitted to the reference patches'
    /// translations (weighted by their texture).
    fn head_motion(
        &mut self,
        image: &Image,
        to_image: &Affine,
        against: Against,
        init: (f32, f32),
    ) -> HeadMotion {
        let mut obs = [Observation::default(); 8];
        let n = self.n_refs.min(obs.len());
        for (k, o) in obs.iter_mut().enumerate().take(n) {
            let slot = self.slots[k];
            let moved = &mut self.moved[..slot.rect.area()];
            moved.copy_from_slice(&self.current[slot.range()]);
            let (sums, shift) = self.refine(image, to_image, &slot, against, init);
            *o = Observation {
                centre: slot.rect.centre(),
                shift: shift.map(|(u, v)| [u, v]).unwrap_or_default(),
                weight: if shift.is_some() {
                    sums.confidence()
                } else {
                    0.0
                },
            };
        }
        fit_head_motion(&mut obs[..n])
    }

    /// RMS difference between `self.moved` (the patch where the head
    /// carried it) and the template, brightness offset removed, normalised
    /// by the template's gradient: roughly a displacement in px.
    fn deformation(&self, slot: &PatchSlot) -> f32 {
        let (w, h) = (slot.rect.w, slot.rect.h);
        let cur = &self.moved[..slot.rect.area()];
        let tpl = &self.template[slot.range()];
        let weight = &self.weights[slot.range()];
        let (mut sw, mut sd) = (0.0f32, 0.0f32);
        for ((c, t), k) in cur.iter().zip(tpl).zip(weight) {
            sw += k;
            sd += k * (c - t);
        }
        let offset = sd / sw.max(1e-6);
        let mut dd = 0.0f64;
        let mut gg = 0.0f64;
        let mut m = 0.0f64;
        for y in 1..h - 1 {
            let row = y * w;
            for x in 1..w - 1 {
                let i = row + x;
                let k = weight[i] as f64;
                let d = (cur[i] - tpl[i] - offset) as f64;
                dd += k * d * d;
                let gx = 0.5 * (tpl[i + 1] - tpl[i - 1]) as f64;
                let gy = 0.5 * (tpl[i + w] - tpl[i - w]) as f64;
                gg += k * (gx * gx + gy * gy);
                m += k;
            }
        }
        (dd / (gg + 4.0 * m).max(1e-9)).sqrt() as f32
    }
}

/// Canonical pixels per pixel of the coarse face view.
const COARSE: f32 = 4.0;

/// The face at a quarter of the canonical resolution: one Lucas–Kanade
/// translation of it finds shifts of a dozen canonical pixels, which the
/// reference patches then refine.
struct Coarse {
    x0: f32,
    y0: f32,
    w: usize,
    h: usize,
    previous: Vec<f32>,
    current: Vec<f32>,
    weights: Vec<f32>,
    scratch: Vec<f32>,
    has_previous: bool,
}

impl Coarse {
    fn new(face_box: (f32, f32, f32, f32)) -> Coarse {
        let (x0, y0, x1, y1) = face_box;
        let w = (((x1 - x0) / COARSE).ceil() as usize).max(6);
        let h = (((y1 - y0) / COARSE).ceil() as usize).max(6);
        Coarse {
            x0,
            y0,
            w,
            h,
            previous: vec![0.0; w * h],
            current: vec![0.0; w * h],
            weights: vec![1.0; w * h],
            scratch: vec![0.0; w * h],
            has_previous: false,
        }
    }

    /// Samples the coarse view, each pixel the mean of four samples of its
    /// area, shifted by `(u, v)` canonical pixels.
    fn sample(&mut self, image: &Image, pose: &Affine, u: f32, v: f32, into_previous: bool) {
        let out = if into_previous {
            &mut self.previous
        } else {
            &mut self.current
        };
        let q = 0.25 * COARSE;
        for row in 0..self.h {
            let cy = self.y0 + (row as f32 + 0.5) * COARSE + v;
            for col in 0..self.w {
                let cx = self.x0 + (col as f32 + 0.5) * COARSE + u;
                let mut sum = 0.0;
                for (dx, dy) in [(-q, -q), (q, -q), (-q, q), (q, q)] {
                    let p = pose.apply(cx + dx, cy + dy);
                    sum += image.bilinear(p[0], p[1]);
                }
                out[row * self.w + col] = 0.25 * sum;
            }
        }
        binomial_blur(out, self.w, self.h, &mut self.scratch);
    }

    fn keep(&mut self, image: &Image, pose: &Affine) {
        self.sample(image, pose, 0.0, 0.0, true);
        self.has_previous = true;
    }

    /// The face's shift (canonical pixels) from the kept view to this
    /// frame at `pose`; `None` when it cannot be told.
    fn shift(&mut self, image: &Image, pose: &Affine) -> Option<(f32, f32)> {
        if !self.has_previous {
            return None;
        }
        let (mut u, mut v) = (0.0f32, 0.0f32);
        for _ in 0..3 {
            self.sample(image, pose, u * COARSE, v * COARSE, false);
            let sums = flow_sums(&self.previous, &self.current, &self.weights, self.w, self.h);
            let (du, dv) = sums.solve();
            if !(du.abs() < MAX_LK_STEP && dv.abs() < MAX_LK_STEP) {
                return None;
            }
            u += du;
            v += dv;
        }
        Some((u * COARSE, v * COARSE))
    }
}

/// One reference patch's say on the head's motion.
#[derive(Clone, Copy, Debug, Default)]
struct Observation {
    centre: [f32; 2],
    shift: [f32; 2],
    /// Texture confidence; 0 when LK did not converge.
    weight: f32,
}

/// Largest change of scale or roll between two frames that a head makes
/// (a few percent); a fit beyond it is noise, and the shift alone is kept.
const MAX_HEAD_SIMILARITY: f32 = 0.03;

/// Disagreement (px) with the fit above which a reference patch is an
/// outlier (a hand, hair, a reflection on glasses crossed it).
const REFERENCE_OUTLIER_PX: f32 = 0.75;

/// The head's similarity motion from the reference patches: weighted least
/// squares, refitted once without the patch that disagrees most if it
/// disagrees clearly.
fn fit_head_motion(obs: &mut [Observation]) -> HeadMotion {
    let first = fit_weighted(obs);
    let residual = |o: &Observation, m: &HeadMotion| {
        let (dx, dy) = (o.centre[0] - m.c[0], o.centre[1] - m.c[1]);
        let px = m.t[0] + m.scale * dx - m.rot * dy;
        let py = m.t[1] + m.rot * dx + m.scale * dy;
        (o.shift[0] - px).hypot(o.shift[1] - py)
    };
    let worst = obs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.weight > 0.0)
        .map(|(i, o)| (i, residual(o, &first)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    match worst {
        Some((i, r)) if r > REFERENCE_OUTLIER_PX => {
            obs[i].weight = 0.0;
            fit_weighted(obs)
        }
        _ => first,
    }
}

/// Weighted least-squares similarity motion through patch translations;
/// the shift alone when the centres cannot fix a rotation and scale or the
/// fit asks for an implausible one.
fn fit_weighted(obs: &[Observation]) -> HeadMotion {
    let wsum: f32 = obs.iter().map(|o| o.weight).sum();
    if obs.is_empty() || wsum <= 0.0 {
        return HeadMotion::default();
    }
    let mut c = [0.0f32; 2];
    let mut t = [0.0f32; 2];
    for o in obs {
        c[0] += o.weight * o.centre[0];
        c[1] += o.weight * o.centre[1];
        t[0] += o.weight * o.shift[0];
        t[1] += o.weight * o.shift[1];
    }
    let c = [c[0] / wsum, c[1] / wsum];
    let t = [t[0] / wsum, t[1] / wsum];
    // shift - t = [s -r; r s] (centre - c): least squares for s and r.
    let (mut spp, mut ss, mut sr) = (0.0f32, 0.0f32, 0.0f32);
    for o in obs {
        let (px, py) = (o.centre[0] - c[0], o.centre[1] - c[1]);
        let (qx, qy) = (o.shift[0] - t[0], o.shift[1] - t[1]);
        spp += o.weight * (px * px + py * py);
        ss += o.weight * (px * qx + py * qy);
        sr += o.weight * (px * qy - py * qx);
    }
    let (mut scale, mut rot) = if spp > 1e-3 * wsum {
        (ss / spp, sr / spp)
    } else {
        (0.0, 0.0)
    };
    if scale.abs() > MAX_HEAD_SIMILARITY || rot.abs() > MAX_HEAD_SIMILARITY {
        (scale, rot) = (0.0, 0.0);
    }
    HeadMotion { t, scale, rot, c }
}

/// Lucas–Kanade sums between two patches, with the patch's brightness
/// change as a third unknown (lighting drifts, cameras re-expose): the
/// gradients and the temporal difference are centred on their means, which
/// solves for the shift as if the brightness offset were fitted with it.
/// (Removing only the mean temporal difference would bias the shift towards
/// zero on any patch whose mean gradient is not zero.)
fn flow_sums(prev: &[f32], cur: &[f32], weight: &[f32], w: usize, h: usize) -> FlowSums {
    let mut raw = FlowSums::default();
    let (mut sw, mut sx, mut sy, mut st, mut stt) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    let mut sz = 0.0f64;
    let half = 0.5 * (w as f64 - 1.0);
    let to_unit = 1.0 / half.max(1.0);
    for y in 1..h - 1 {
        let row = y * w;
        for x in 1..w - 1 {
            let xu = (x as f64 - half) * to_unit;
            let i = row + x;
            let k = weight[i] as f64;
            if k <= 0.0 {
                continue;
            }
            let ix = 0.25 * (cur[i + 1] - cur[i - 1] + prev[i + 1] - prev[i - 1]);
            let iy = 0.25 * (cur[i + w] - cur[i - w] + prev[i + w] - prev[i - w]);
            let it = cur[i] - prev[i];
            let (ix, iy, it) = (ix as f64, iy as f64, it as f64);
            raw.gxx += k * ix * ix;
            raw.gxy += k * ix * iy;
            raw.gyy += k * iy * iy;
            raw.gxt += k * ix * it;
            raw.gyt += k * iy * it;
            let z = iy * xu;
            raw.gxz += k * ix * z;
            raw.gyz += k * iy * z;
            raw.gzz += k * z * z;
            raw.gzt += k * z * it;
            sz += k * z;
            sw += k;
            sx += k * ix;
            sy += k * iy;
            st += k * it;
            stt += k * it * it;
        }
    }
    let sw = sw.max(1e-9);
    FlowSums {
        gxx: raw.gxx - sx * sx / sw,
        gxy: raw.gxy - sx * sy / sw,
        gyy: raw.gyy - sy * sy / sw,
        gxt: raw.gxt - sx * st / sw,
        gyt: raw.gyt - sy * st / sw,
        rr: (stt - st * st / sw).max(0.0),
        n: sw.round().max(1.0) as usize,
        gxz: raw.gxz - sx * sz / sw,
        gyz: raw.gyz - sy * sz / sw,
        gzz: raw.gzz - sz * sz / sw,
        gzt: raw.gzt - sz * st / sw,
    }
}

/// The top-left `w`×`h` 2×2 means of a patch `src_w` wide, into `out`.
fn halve(src: &[f32], src_w: usize, w: usize, h: usize, out: &mut [f32]) {
    for y in 0..h {
        let (top, bottom) = (&src[2 * y * src_w..], &src[(2 * y + 1) * src_w..]);
        for x in 0..w {
            out[y * w + x] =
                0.25 * (top[2 * x] + top[2 * x + 1] + bottom[2 * x] + bottom[2 * x + 1]);
        }
    }
}

/// A luma image borrowed for one frame.
struct Image<'a> {
    luma: &'a [u8],
    width: usize,
    height: usize,
}

impl Image<'_> {
    /// Bilinear luma at image point (x, y) (pixel centres at +0.5),
    /// clamped to the frame.
    #[inline]
    fn bilinear(&self, x: f32, y: f32) -> f32 {
        let (width, height, luma) = (self.width, self.height, self.luma);
        let x = (x - 0.5).clamp(0.0, (width - 1) as f32);
        let y = (y - 0.5).clamp(0.0, (height - 1) as f32);
        let (x0, y0) = (x as usize, y as usize);
        let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let v00 = luma[y0 * width + x0] as f32;
        let v01 = luma[y0 * width + x1] as f32;
        let v10 = luma[y1 * width + x0] as f32;
        let v11 = luma[y1 * width + x1] as f32;
        let top = v00 + fx * (v01 - v00);
        let bottom = v10 + fx * (v11 - v10);
        top + fy * (bottom - top)
    }

    /// Resamples a canonical rectangle from the frame (bilinear, clamped
    /// edges), then smooths it with a 3×3 binomial kernel: the patch is
    /// often sampled below the frame's resolution, and gradients of an
    /// unsmoothed patch would be mostly aliasing and compression noise.
    fn sample(&self, to_image: &Affine, rect: &Rect, out: &mut [f32], scratch: &mut [f32]) {
        if self.holds(to_image, rect) {
            self.sample_inside(to_image, rect, out);
        } else {
            for row in 0..rect.h {
                let cy = rect.y0 + row as f32 + 0.5;
                for col in 0..rect.w {
                    let cx = rect.x0 + col as f32 + 0.5;
                    let p = to_image.apply(cx, cy);
                    out[row * rect.w + col] = self.bilinear(p[0], p[1]);
                }
            }
        }
        binomial_blur(out, rect.w, rect.h, &mut scratch[..rect.area()]);
    }

    /// Whether every sample of `rect` at `to_image` falls inside the frame
    /// with its four neighbours, so that no clamping is needed. The map is
    /// affine, so the corner samples bound all the others; the margin
    /// covers rounding.
    fn holds(&self, to_image: &Affine, rect: &Rect) -> bool {
        const MARGIN: f32 = 0.01;
        if rect.w == 0 || rect.h == 0 {
            return false;
        }
        let (x_max, y_max) = ((self.width - 1) as f32, (self.height - 1) as f32);
        let (c0, r0) = (rect.x0 + 0.5, rect.y0 + 0.5);
        let (c1, r1) = (c0 + (rect.w - 1) as f32, r0 + (rect.h - 1) as f32);
        [(c0, r0), (c1, r0), (c0, r1), (c1, r1)]
            .into_iter()
            .all(|(cx, cy)| {
                let p = to_image.apply(cx, cy);
                let (x, y) = (p[0] - 0.5, p[1] - 0.5);
                (MARGIN..=x_max - MARGIN).contains(&x) && (MARGIN..=y_max - MARGIN).contains(&y)
            })
    }

    /// [`Image::sample`]'s resampling where [`Image::holds`]: the same
    /// arithmetic as [`Image::bilinear`] without its clamps, which keeps
    /// the per-pixel loop free of branches (a test checks the two agree).
    /// The formula is written out here rather than shared with
    /// `bilinear`: a shared helper measured 6% slower per frame.
    fn sample_inside(&self, to_image: &Affine, rect: &Rect, out: &mut [f32]) {
        let (width, luma) = (self.width, self.luma);
        for (row, out_row) in out[..rect.area()].chunks_exact_mut(rect.w).enumerate() {
            let cy = rect.y0 + row as f32 + 0.5;
            for (col, o) in out_row.iter_mut().enumerate() {
                let cx = rect.x0 + col as f32 + 0.5;
                let p = to_image.apply(cx, cy);
                let (x, y) = (p[0] - 0.5, p[1] - 0.5);
                let (x0, y0) = (x as usize, y as usize);
                let (fx, fy) = (x - x0 as f32, y - y0 as f32);
                let i = y0 * width + x0;
                let (v00, v01) = (luma[i] as f32, luma[i + 1] as f32);
                let (v10, v11) = (luma[i + width] as f32, luma[i + width + 1] as f32);
                let top = v00 + fx * (v01 - v00);
                let bottom = v10 + fx * (v11 - v10);
                *o = top + fy * (bottom - top);
            }
        }
    }
}

/// In-place separable [1 2 1]/4 blur with clamped edges.
fn binomial_blur(buf: &mut [f32], w: usize, h: usize, tmp: &mut [f32]) {
    for y in 0..h {
        let row = &buf[y * w..(y + 1) * w];
        for x in 0..w {
            let l = row[x.saturating_sub(1)];
            let r = row[(x + 1).min(w - 1)];
            tmp[y * w + x] = 0.25 * (l + r) + 0.5 * row[x];
        }
    }
    for y in 0..h {
        let up = y.saturating_sub(1) * w;
        let down = (y + 1).min(h - 1) * w;
        for x in 0..w {
            buf[y * w + x] = 0.25 * (tmp[up + x] + tmp[down + x]) + 0.5 * tmp[y * w + x];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A textured test image: smooth blobs, so gradients exist everywhere.
    fn texture(width: usize, height: usize, dx: f32, dy: f32) -> Vec<u8> {
        let mut img = vec![0u8; width * height];
        for y in 0..height {
            for x in 0..width {
                let (fx, fy) = (x as f32 - dx, y as f32 - dy);
                let v = 128.0
                    + 50.0 * (fx * 0.21).sin() * (fy * 0.17).cos()
                    + 30.0 * (fx * 0.07 + fy * 0.11).sin();
                img[y * width + x] = v.clamp(0.0, 255.0) as u8;
            }
        }
        img
    }

    /// The texture rotated by `angle` about `c` and scaled by `scale`.
    fn texture_rotated(
        width: usize,
        height: usize,
        c: [f32; 2],
        angle: f32,
        scale: f32,
    ) -> Vec<u8> {
        let base = |x: f32, y: f32| {
            128.0 + 50.0 * (x * 0.21).sin() * (y * 0.17).cos() + 30.0 * (x * 0.07 + y * 0.11).sin()
        };
        let (s, co) = angle.sin_cos();
        let mut img = vec![0u8; width * height];
        for y in 0..height {
            for x in 0..width {
                // Inverse map: where this pixel came from.
                let (px, py) = ((x as f32 - c[0]) / scale, (y as f32 - c[1]) / scale);
                let (sx, sy) = (co * px + s * py + c[0], -s * px + co * py + c[1]);
                img[y * width + x] = base(sx, sy).clamp(0.0, 255.0) as u8;
            }
        }
        img
    }

    /// The texture with its pixels within `margin` of `rect` (image
    /// coordinates) moved down by `dy`: skin moving under a still head.
    fn texture_moved_in(width: usize, height: usize, rect: &Rect, margin: f32, dy: f32) -> Vec<u8> {
        let mut img = texture(width, height, 0.0, 0.0);
        let moved = texture(width, height, 0.0, dy);
        for y in 0..height {
            for x in 0..width {
                let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
                if fx >= rect.x0 - margin
                    && fx <= rect.x0 + rect.w as f32 + margin
                    && fy >= rect.y0 - margin
                    && fy <= rect.y0 + rect.h as f32 + margin
                {
                    img[y * width + x] = moved[y * width + x];
                }
            }
        }
        img
    }

    /// What the analyser measures when, under a still head, the skin of
    /// one region (and `margin` around it) moves `dy` down between two
    /// frames; and its face unit.
    fn one_region_moves(side: Side, region: Region, margin: f32, dy: f32) -> (MotionSample, f32) {
        let layout = simple_layout();
        let rect = layout.rect(side, region);
        let mut m = MotionAnalyzer::new(layout);
        let pose = Similarity::IDENTITY;
        let (w, h) = (220, 200);
        let moved = texture_moved_in(w, h, &rect, margin, dy);
        m.process(&texture(w, h, 0.0, 0.0), w, h, 0.0, Some(&pose));
        let s = m.process(&moved, w, h, 1.0 / 30.0, Some(&pose));
        (s, m.unit)
    }

    fn simple_layout() -> RegionLayout {
        // A synthetic landmark set: only the indices the layout reads matter.
        let mut pts = vec![[100.0f32, 100.0, 0.0]; 468];
        let mut set = |i: usize, x: f32, y: f32| pts[i] = [x, y, 0.0];
        for (i, x, y) in [
            (33, 60.0, 80.0),
            (133, 90.0, 80.0),
            (263, 140.0, 80.0),
            (362, 110.0, 80.0),
            (61, 85.0, 135.0),
            (291, 115.0, 135.0),
            (0, 100.0, 128.0),
            (13, 100.0, 133.0),
            (14, 100.0, 136.0),
            (17, 100.0, 142.0),
            (109, 80.0, 40.0),
            (338, 120.0, 40.0),
            (151, 100.0, 45.0),
            (9, 100.0, 58.0),
            (168, 100.0, 75.0),
            (6, 100.0, 85.0),
            (197, 100.0, 95.0),
            (195, 100.0, 103.0),
        ] {
            set(i, x, y);
        }
        for side in Side::BOTH {
            let ix = crate::regions::side_indices(side);
            let (x0, x1) = match side {
                Side::Right => (60.0, 90.0),
                Side::Left => (140.0, 110.0),
            };
            for k in 0..7 {
                let x = x0 + (x1 - x0) * (k + 1) as f32 / 8.0;
                set(ix.upper_lid[k], x, 75.0);
                set(ix.lower_lid[k], x, 85.0);
            }
            for &i in &ix.brow {
                set(i, (x0 + x1) / 2.0, 62.0);
            }
            for &i in &ix.cheek {
                set(i, (x0 + x1) / 2.0, 110.0);
            }
        }
        RegionLayout::from_reference(&pts).expect("layout")
    }

    #[test]
    fn unclamped_sampling_matches_the_clamped_one_inside_the_frame() {
        let (w, h) = (120, 90);
        let luma = texture(w, h, 0.0, 0.0);
        let image = Image {
            luma: &luma,
            width: w,
            height: h,
        };
        // A rotated, scaled patch well inside the frame, and one hanging
        // over its right edge (which must take the clamped path).
        let pose = Affine([1.3 * 0.96, -1.3 * 0.28, 20.0, 1.3 * 0.28, 1.3 * 0.96, 10.0]);
        let inside = Rect {
            x0: 5.3,
            y0: 7.9,
            w: 30,
            h: 20,
        };
        let over = Rect { x0: 70.0, ..inside };
        assert!(image.holds(&pose, &inside));
        assert!(!image.holds(&pose, &over));
        let mut fast = vec![0.0; inside.area()];
        image.sample_inside(&pose, &inside, &mut fast);
        for row in 0..inside.h {
            for col in 0..inside.w {
                let p = pose.apply(inside.x0 + col as f32 + 0.5, inside.y0 + row as f32 + 0.5);
                assert_eq!(fast[row * inside.w + col], image.bilinear(p[0], p[1]));
            }
        }
    }

    /// A `w`×`h` patch of smooth skin-like texture, each pixel showing the
    /// texture `dy(x, y)` px above it (the skin moved down by `dy`).
    fn skin_patch(w: usize, h: usize, dy: impl Fn(usize, usize) -> f32) -> Vec<f32> {
        let skin = |x: f32, y: f32| {
            100.0 + 40.0 * (x * 0.5).sin() * (y * 0.45).cos() + 25.0 * (x * 0.23 + y * 0.31).sin()
        };
        (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .map(|(x, y)| skin(x as f32, y as f32 - dy(x, y)))
            .collect()
    }

    #[test]
    fn a_patch_moving_as_a_whole_leaves_no_unexplained_speed() {
        // A textured 24×16 patch, then the same patch moved 0.4 px down
        // (as a whole), or rippled: its top half down and bottom half up.
        let (w, h) = (24, 16);
        let rest = skin_patch(w, h, |_, _| 0.0);
        let slid = skin_patch(w, h, |_, _| 0.4);
        let rippled = skin_patch(w, h, |_, y| if y < h / 2 { 0.4 } else { -0.4 });
        let weight = vec![1.0; w * h];
        let whole = flow_sums(&rest, &slid, &weight, w, h);
        let uneven = flow_sums(&rest, &rippled, &weight, w, h);
        // Both change the patch as much...
        assert!(whole.residual_speed() > 0.2, "{}", whole.residual_speed());
        assert!(uneven.residual_speed() > 0.2, "{}", uneven.residual_speed());
        // ...but only the uneven motion is left once a translation is fitted.
        assert!(
            whole.unexplained_speed() < 0.25 * whole.residual_speed(),
            "{} of {}",
            whole.unexplained_speed(),
            whole.residual_speed()
        );
        assert!(
            uneven.unexplained_speed() > 0.6 * uneven.residual_speed(),
            "{} of {}",
            uneven.unexplained_speed(),
            uneven.residual_speed()
        );
    }

    #[test]
    fn a_ripple_along_a_patch_is_its_tilt_and_a_slide_is_not() {
        // A textured 32×12 patch whose right end moves down while its left
        // end moves up (a ripple along a lid), a slide down as a whole, and a
        // mild bend (both ends up, the middle down).
        let (w, h) = (32, 12);
        let half = 0.5 * (w as f32 - 1.0);
        let along = move |x: usize| (x as f32 - half) / half;
        let rest = skin_patch(w, h, |_, _| 0.0);
        let tilted = skin_patch(w, h, |x, _| 0.3 * along(x));
        let slid = skin_patch(w, h, |_, _| 0.3);
        let bent = skin_patch(w, h, |x, _| 0.3 - 0.3 * along(x).powi(2));
        let weight = vec![1.0; w * h];
        let tilt = flow_sums(&rest, &tilted, &weight, w, h).tilt();
        assert!((tilt - 0.3).abs() < 0.08, "tilt {tilt}");
        let (_, v) = flow_sums(&rest, &tilted, &weight, w, h).solve();
        assert!(v.abs() < 0.05, "a ripple's mean vertical motion {v}");
        let tilt = flow_sums(&rest, &slid, &weight, w, h).tilt();
        assert!(tilt.abs() < 0.05, "a slide's tilt {tilt}");
        let tilt = flow_sums(&rest, &bent, &weight, w, h).tilt();
        assert!(tilt.abs() < 0.05, "a symmetric bend's tilt {tilt}");
    }

    #[test]
    fn global_shift_is_head_motion_not_region_motion() {
        let layout = simple_layout();
        let mut m = MotionAnalyzer::new(layout);
        // The pose stays fixed while the whole image shifts by 0.5 px: the
        // references pick it up and regions show almost no residual motion.
        let pose = Similarity::IDENTITY;
        let (w, h) = (220, 200);
        m.process(&texture(w, h, 0.0, 0.0), w, h, 0.0, Some(&pose));
        let s = m.process(&texture(w, h, 0.0, 0.5), w, h, 1.0 / 30.0, Some(&pose));
        assert!(s.valid);
        assert!(s.head_speed > 5.0, "head speed {}", s.head_speed);
        for side in Side::BOTH {
            for region in Region::ALL {
                let r = s.region(side, region);
                assert!(
                    r.vy.abs() < 0.25 * s.head_speed,
                    "{side:?} {region:?} {r:?}"
                );
            }
        }
    }

    #[test]
    fn a_region_moving_further_than_one_lucas_kanade_step_is_measured() {
        // The head stays; the skin of one cheek slides 6 px down between two
        // frames, further than one step reaches (MAX_LK_STEP).
        let (s, unit) = one_region_moves(Side::Left, Region::Cheek, 6.0, 6.0);
        assert!(s.valid);
        let expected = 6.0 * unit * 30.0;
        let r = s.region(Side::Left, Region::Cheek);
        assert!(
            (r.vy - expected).abs() < 0.1 * expected && r.vx.abs() < 0.1 * expected,
            "{r:?}, expected vy {expected}"
        );
        // The other cheek did not move.
        let other = s.region(Side::Right, Region::Cheek);
        assert!(other.vy.abs() < 0.05 * expected, "{other:?}");
    }

    #[test]
    fn head_roll_and_zoom_are_not_region_motion() {
        // A slight roll and zoom about the face's centre moves the cheeks
        // and mouth corners in different directions; the similarity fitted
        // on the reference patches explains it.
        let layout = simple_layout();
        let mut m = MotionAnalyzer::new(layout);
        let pose = Similarity::IDENTITY;
        let (w, h) = (220, 200);
        let c = [100.0, 80.0];
        m.process(&texture_rotated(w, h, c, 0.0, 1.0), w, h, 0.0, Some(&pose));
        let s = m.process(
            &texture_rotated(w, h, c, 0.01, 1.01),
            w,
            h,
            1.0 / 30.0,
            Some(&pose),
        );
        assert!(s.valid);
        for side in Side::BOTH {
            for region in [Region::Cheek, Region::MouthCorner, Region::UpperLid] {
                let r = s.region(side, region);
                // Uncompensated, the mouth corners would move ~0.6 px/frame
                // = ~50 face units/s.
                assert!(
                    r.vy.abs() < 8.0 && r.vx.abs() < 8.0,
                    "{side:?} {region:?} {r:?}"
                );
            }
        }
    }

    #[test]
    fn local_motion_shows_in_its_region_only() {
        // Only the pixels of the left lower-lid rectangle move, 1 px down.
        let (s, _) = one_region_moves(Side::Left, Region::LowerLid, 2.0, 1.0);
        let lid = s.region(Side::Left, Region::LowerLid);
        let other = s.region(Side::Right, Region::LowerLid);
        assert!(lid.vy > 15.0, "downward motion expected: {lid:?}");
        assert!(
            lid.speed > 5.0 * other.speed.max(0.1),
            "{lid:?} vs {other:?}"
        );
    }

    #[test]
    fn a_held_displacement_stays_in_dy_after_velocity_ends() {
        // The left upper lid's patch moves down 2 px and stays there (a
        // tonic narrowing): velocity shows the step once, displacement from
        // rest shows it for as long as it is held.
        let layout = simple_layout();
        let rect = layout.rect(Side::Left, Region::UpperLid);
        let mut m = MotionAnalyzer::new(layout);
        let unit = m.unit;
        let pose = Similarity::IDENTITY;
        let (w, h) = (220, 200);
        let still = texture(w, h, 0.0, 0.0);
        let held = texture_moved_in(w, h, &rect, 3.0, 2.0);
        // Sensor noise: without it every frame would repeat the last one.
        let noisy = |img: &[u8], k: usize| -> Vec<u8> {
            img.iter()
                .enumerate()
                .map(|(i, &v)| {
                    let hash = (i as u64 ^ (k as u64) << 32).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    (v as i32 + (hash >> 61) as i32 - 3).clamp(0, 255) as u8
                })
                .collect()
        };
        let dt = 1.0 / 30.0;
        for k in 0..10 {
            m.process(&noisy(&still, k), w, h, k as f64 * dt, Some(&pose));
        }
        let mut last = MotionSample::default();
        for k in 10..20 {
            last = m.process(&noisy(&held, k), w, h, k as f64 * dt, Some(&pose));
            assert!(last.valid);
        }
        let lid = last.region(Side::Left, Region::UpperLid);
        assert!(lid.vy.abs() < 3.0, "no velocity while held: {lid:?}");
        assert!(
            (lid.dy - 2.0 * unit).abs() < 0.6 * unit,
            "held 2 px = {} face units: {lid:?}",
            2.0 * unit
        );
        let other = last.region(Side::Right, Region::UpperLid);
        assert!(other.dy.abs() < 0.3 * unit, "{other:?}");
    }

    #[test]
    fn outward_motion_has_the_same_sign_on_both_sides() {
        // Both mouth corners pulled outwards (a symmetric smile): vx > 0 on
        // both sides although they move in opposite image directions.
        let layout = simple_layout();
        let rects = [
            layout.rect(Side::Left, Region::MouthCorner),
            layout.rect(Side::Right, Region::MouthCorner),
        ];
        let mut m = MotionAnalyzer::new(layout);
        let pose = Similarity::IDENTITY;
        let (w, h) = (220, 200);
        let still = texture(w, h, 0.0, 0.0);
        let mut moved = still.clone();
        for (rect, dx) in rects.iter().zip([1.0, -1.0]) {
            let shifted = texture(w, h, dx, 0.0);
            for y in 0..h {
                for x in 0..w {
                    let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
                    if fx >= rect.x0 - 3.0
                        && fx <= rect.x0 + rect.w as f32 + 3.0
                        && fy >= rect.y0 - 3.0
                        && fy <= rect.y0 + rect.h as f32 + 3.0
                    {
                        moved[y * w + x] = shifted[y * w + x];
                    }
                }
            }
        }
        m.process(&still, w, h, 0.0, Some(&pose));
        let s = m.process(&moved, w, h, 1.0 / 30.0, Some(&pose));
        for side in Side::BOTH {
            let r = s.region(side, Region::MouthCorner);
            assert!(r.vx > 15.0, "{side:?} {r:?}");
        }
    }

    #[test]
    fn a_repeated_frame_is_not_measured() {
        let mut m = MotionAnalyzer::new(simple_layout());
        let pose = Similarity::IDENTITY;
        let (w, h) = (220, 200);
        let a = texture(w, h, 0.0, 0.0);
        let b = texture(w, h, 0.0, 0.6);
        m.process(&a, w, h, 0.0, Some(&pose));
        let repeat = m.process(&a, w, h, 1.0 / 30.0, Some(&pose));
        assert!(!repeat.valid);
        // The next real frame is measured over both intervals.
        let s = m.process(&b, w, h, 2.0 / 30.0, Some(&pose));
        assert!(s.valid);
        let expected = 0.6 * m.unit * 15.0;
        assert!(
            (s.head_speed - expected).abs() < 0.3 * expected,
            "{} vs {expected}",
            s.head_speed
        );
    }

    #[test]
    fn no_pose_means_no_measurement() {
        let mut m = MotionAnalyzer::new(simple_layout());
        let img = texture(220, 200, 0.0, 0.0);
        let s = m.process(&img, 220, 200, 0.0, None);
        assert!(!s.valid);
    }
}
