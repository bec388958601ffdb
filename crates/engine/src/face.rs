//! Face stage: finds the face and its 468 FaceMesh landmarks in each frame.
//!
//! Three MediaPipe models (see `models/README.md` for where they come from and
//! how they were rewritten) run on the CPU, on XNNPACK ([`crate::xnn`]) where
//! the machine has it and on tract (pure Rust) otherwise ([`ModelRuntime`]):
//!
//! * BlazeFace short-range detector: the whole frame, letterboxed to 128x128,
//!   gives face boxes and six keypoints (eyes, nose, mouth, ears).
//! * FaceMesh: a rotated square crop around the face, resampled to 192x192,
//!   gives 468 3-D landmarks and a face-presence score.
//! * The eye (iris) landmark model ([`EyeLandmarker`]): a 64x64 crop of one
//!   eye gives its eyelid contour. FaceMesh models both eyes together and
//!   tends to give them the same opening, so a one-sided lid twitch barely
//!   shows in its landmarks; the eye model looks at each eye on its own.
//!
//! Tracking follows MediaPipe's face-mesh graph: the crop for the next frame is
//! built from the current landmarks, and the (more expensive, less precise)
//! detector runs only at the start or when the face is lost.
//!
//! Per frame the only allocations are tract's own (XNNPACK runs in the
//! buffers it was given at load time): the face crops are sampled
//! straight into the networks' input tensors, and the eye crops into reused
//! [`EyeCrop`]s (so that they can cross to the eye threads) that are copied
//! into the eye model's input; tensors and crops are reused from frame to
//! frame.

use anyhow::{Context, Result, anyhow, ensure};
use std::sync::{Arc, OnceLock};
use tract_tflite::prelude::{
    Framework, IntoRunnable, IntoTValue, TDim, TValue, TVec, Tensor, TypedRunnableModel, tvec,
};

use crate::frame::Frame;
use crate::xnn::XnnNet;

/// Number of FaceMesh landmarks.
pub const NUM_LANDMARKS: usize = 468;

/// BlazeFace short-range, rewritten for tract (`models/prepare_models.py`).
static DETECTOR_TFLITE: &[u8] = include_bytes!("../../../models/face_detection_short_range.tflite");
/// FaceMesh landmarks, rewritten for tract (`models/prepare_models.py`).
static LANDMARK_TFLITE: &[u8] = include_bytes!("../../../models/face_landmark.tflite");
/// Eye (iris) landmarks, rewritten for tract (`models/prepare_models.py`).
static EYE_TFLITE: &[u8] = include_bytes!("../../../models/iris_landmark.tflite");

/// Detector input side in pixels.
const DET_SIZE: usize = 128;
/// Landmark model input side in pixels.
const LM_SIZE: usize = 192;
/// Eye model input side in pixels.
const EYE_SIZE: usize = 64;
/// Eye crop side relative to the corner-to-corner distance (MediaPipe's).
const EYE_ROI_SCALE: f32 = 2.3;
/// Eye model contour output: 71 eye and brow points, (x, y, z) each.
const EYE_CONTOUR_VALUES: usize = 213;
/// Eye-contour points of the lid margins: 0 and 8 are the corners, 1–7 the
/// lower lid, 9–15 the upper lid (as seen in the crop); the three middle
/// points of each lid face each other in pairs.
const EYE_CORNERS: [usize; 2] = [0, 8];
const EYE_UPPER_MID: [usize; 3] = [11, 12, 13];
const EYE_LOWER_MID: [usize; 3] = [3, 4, 5];
/// Detector anchors: 16x16 cells with 2 anchors, then 8x8 cells with 6.
const NUM_ANCHORS: usize = 16 * 16 * 2 + 8 * 8 * 6;
/// Values per anchor in the regressor output: box (4) and 6 keypoints (12).
const DET_REGRESSORS: usize = 16;
/// Minimum detection score (after the sigmoid), MediaPipe's default.
const DET_SCORE_MIN: f32 = 0.5;
/// Boxes overlapping the best one by more than this IoU merge into it.
const NMS_IOU: f32 = 0.3;
/// MediaPipe clamps the score logits to this before the sigmoid.
const SCORE_CLIP: f32 = 100.0;
/// Below this face-presence probability the face counts as lost.
const PRESENCE_MIN: f32 = 0.5;
/// Crop side relative to the face box: leaves margin for motion and pose.
const ROI_SCALE: f32 = 1.5;
/// Landmarks fixing the crop rotation when tracking: outer eye corners,
/// subject's right (image-left) then left.
const LM_EYE_RIGHT_OUTER: usize = 33;
const LM_EYE_LEFT_OUTER: usize = 263;

/// A face found by the detector, in image pixels.
#[derive(Clone, Debug)]
pub struct Detection {
    /// Detection confidence in [0, 1].
    pub score: f32,
    /// Centre of the face box.
    pub center: [f32; 2],
    /// Width and height of the face box.
    pub size: [f32; 2],
    /// Subject's right eye, left eye, nose tip, mouth centre, right ear
    /// tragion, left ear tragion. In an un-mirrored frame the subject's right
    /// is image-left.
    pub keypoints: [[f32; 2]; 6],
}

/// FaceMesh landmarks of one face.
#[derive(Clone, Debug)]
pub struct Landmarks {
    /// `NUM_LANDMARKS` points: x, y in image pixels of the frame; z (depth,
    /// smaller is nearer the camera, relative to the face centre) in the same
    /// pixel scale.
    pub points: Vec<[f32; 3]>,
    /// Face-presence probability in [0, 1].
    pub presence: f32,
}

/// A rotated square region of the frame, the landmark model's view.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Roi {
    /// Centre in image pixels.
    pub center: [f32; 2],
    /// Side length in image pixels.
    pub side: f32,
    /// Angle in radians from the image x axis to the crop's x axis (y down,
    /// so positive is clockwise on screen).
    pub rotation: f32,
}

impl Roi {
    /// The crop around a detection: rotated to the eye line, 1.5 x the
    /// longer box side.
    pub fn from_detection(d: &Detection) -> Self {
        let [r, l] = [d.keypoints[0], d.keypoints[1]];
        Roi {
            center: d.center,
            side: ROI_SCALE * d.size[0].max(d.size[1]),
            rotation: (l[1] - r[1]).atan2(l[0] - r[0]),
        }
    }

    /// The crop around landmarks: rotated to the line between the outer eye
    /// corners, 1.5 x the longer side of the landmarks' bounding box.
    ///
    /// The box is taken in the rotated frame, so the crop neither grows nor
    /// drifts when the head rolls (MediaPipe uses the axis-aligned box).
    pub fn from_landmarks(points: &[[f32; 3]]) -> Self {
        let (r, l) = (points[LM_EYE_RIGHT_OUTER], points[LM_EYE_LEFT_OUTER]);
        let rotation = (l[1] - r[1]).atan2(l[0] - r[0]);
        let (ux, vx) = Self::axes(rotation);
        let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
        for p in points {
            let q = [p[0] * ux[0] + p[1] * ux[1], p[0] * vx[0] + p[1] * vx[1]];
            for k in 0..2 {
                lo[k] = lo[k].min(q[k]);
                hi[k] = hi[k].max(q[k]);
            }
        }
        let (mu, mv) = ((lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0);
        Roi {
            center: [mu * ux[0] + mv * vx[0], mu * ux[1] + mv * vx[1]],
            side: ROI_SCALE * (hi[0] - lo[0]).max(hi[1] - lo[1]),
            rotation,
        }
    }

    /// Unit vectors of the crop's x and y axes in image coordinates.
    fn axes(rotation: f32) -> ([f32; 2], [f32; 2]) {
        let (s, c) = rotation.sin_cos();
        ([c, s], [-s, c])
    }

    /// Image point of a crop point given in crop fractions (0..1 across).
    #[inline]
    fn point_at(self, u: f32, v: f32) -> [f32; 2] {
        let (ux, vx) = Self::axes(self.rotation);
        let (du, dv) = ((u - 0.5) * self.side, (v - 0.5) * self.side);
        [
            self.center[0] + du * ux[0] + dv * vx[0],
            self.center[1] + du * ux[1] + dv * vx[1],
        ]
    }
}

/// What the sampler does outside the frame.
#[derive(Clone, Copy)]
enum Border {
    /// A constant (already normalised) value: letterbox bars.
    Constant(f32),
    /// The nearest edge pixel: keeps a face at the frame edge looking natural.
    Replicate,
}

/// Resamples the square `roi` of `frame` into an `n` x `n` RGB tensor
/// (`out`, HWC), bilinearly, mapping a byte `b` to `b * scale + offset`.
fn sample_roi(
    frame: &Frame,
    roi: &Roi,
    n: usize,
    scale: f32,
    offset: f32,
    border: Border,
    out: &mut [f32],
) {
    debug_assert_eq!(out.len(), n * n * 3);
    let (w, h) = (frame.width, frame.height);
    let (wf, hf) = (w as f32, h as f32);
    let (ux, vx) = Roi::axes(roi.rotation);
    let step = roi.side / n as f32;
    // Affine walk: image position of output pixel centre (0, 0), and the
    // change per output column and row. Subtracting 0.5 turns positions into
    // pixel-centre coordinates for the bilinear taps.
    let origin = roi.point_at(0.5 / n as f32, 0.5 / n as f32);
    let (col, row) = ([ux[0] * step, ux[1] * step], [vx[0] * step, vx[1] * step]);
    let rgb = &frame.rgb;
    for (v, out_row) in out.chunks_exact_mut(n * 3).enumerate() {
        let x_row = origin[0] + v as f32 * row[0];
        let y_row = origin[1] + v as f32 * row[1];
        for (u, px) in out_row.chunks_exact_mut(3).enumerate() {
            let x = x_row + u as f32 * col[0];
            let y = y_row + u as f32 * col[1];
            if let Border::Constant(value) = border
                && (!(0.0..wf).contains(&x) || !(0.0..hf).contains(&y))
            {
                px.fill(value);
                continue;
            }
            let Taps {
                xa,
                xb,
                ya,
                yb,
                ax,
                ay,
            } = Taps::at(x - 0.5, y - 0.5, w, h);
            let (ra, rb) = (ya * w * 3, yb * w * 3);
            for (c, o) in px.iter_mut().enumerate() {
                let p = |i: usize| rgb[i + c] as f32;
                let top = p(ra + xa * 3) + ax * (p(ra + xb * 3) - p(ra + xa * 3));
                let bot = p(rb + xa * 3) + ax * (p(rb + xb * 3) - p(rb + xa * 3));
                *o = (top + ay * (bot - top)) * scale + offset;
            }
        }
    }
}

/// The four pixels around a pixel-centre position `(fx, fy)` in a `w` × `h`
/// image (edge pixels repeated outside it) and the bilinear weights.
struct Taps {
    xa: usize,
    xb: usize,
    ya: usize,
    yb: usize,
    ax: f32,
    ay: f32,
}

impl Taps {
    #[inline]
    fn at(fx: f32, fy: f32, w: usize, h: usize) -> Taps {
        let (x0, y0) = (fx.floor(), fy.floor());
        let clamp_x = |i: f32| (i.max(0.0) as usize).min(w - 1);
        let clamp_y = |i: f32| (i.max(0.0) as usize).min(h - 1);
        Taps {
            xa: clamp_x(x0),
            xb: clamp_x(x0 + 1.0),
            ya: clamp_y(y0),
            yb: clamp_y(y0 + 1.0),
            ax: fx - x0,
            ay: fy - y0,
        }
    }
}

/// Which library runs the models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelRuntime {
    /// XNNPACK ([`crate::xnn`]), about three times as fast as tract here.
    Xnnpack,
    /// tract, pure Rust: always there.
    Tract,
}

impl ModelRuntime {
    /// What the models run on: XNNPACK where the machine has it, tract
    /// otherwise, or where `TWITCHSCOPE_MODEL_RUNTIME=tract` asks for it
    /// (to compare the two). Decided once per process.
    pub fn chosen() -> ModelRuntime {
        static CHOSEN: OnceLock<ModelRuntime> = OnceLock::new();
        *CHOSEN.get_or_init(|| {
            let asked = std::env::var("TWITCHSCOPE_MODEL_RUNTIME").unwrap_or_default();
            if asked.eq_ignore_ascii_case("tract") || crate::xnn::available().is_err() {
                ModelRuntime::Tract
            } else {
                ModelRuntime::Xnnpack
            }
        })
    }
}

/// One network with its input, refilled in place each run, and its outputs.
struct Net {
    backend: Backend,
    bytes: &'static [u8],
    keep: Option<usize>,
    side: usize,
    name: &'static str,
}

enum Backend {
    Xnnpack(XnnNet),
    Tract {
        plan: Arc<TypedRunnableModel>,
        input: Arc<Tensor>,
        /// The last run's outputs.
        outputs: TVec<TValue>,
    },
}

impl Net {
    fn load(bytes: &'static [u8], name: &'static str, side: usize) -> Result<Self> {
        Self::load_keeping(bytes, name, side, None)
    }

    /// Like [`Net::load`], keeping only the output of `keep` values (when
    /// given): the layers that feed only the others are left out.
    ///
    /// A model XNNPACK cannot run runs on tract: the detector, whose
    /// concatenations Debian's XNNPACK cannot express in its graph API (and
    /// whose standalone ReLUs `xnn.rs` therefore does not translate either).
    /// The detector runs about once a second, so that costs little.
    fn load_keeping(
        bytes: &'static [u8],
        name: &'static str,
        side: usize,
        keep: Option<usize>,
    ) -> Result<Self> {
        match ModelRuntime::chosen() {
            ModelRuntime::Xnnpack => Self::load_on(ModelRuntime::Xnnpack, bytes, name, side, keep)
                .or_else(|_| Self::load_on(ModelRuntime::Tract, bytes, name, side, keep)),
            ModelRuntime::Tract => Self::load_on(ModelRuntime::Tract, bytes, name, side, keep),
        }
    }

    /// What this network runs on.
    #[cfg(test)]
    fn runtime(&self) -> ModelRuntime {
        match self.backend {
            Backend::Xnnpack(_) => ModelRuntime::Xnnpack,
            Backend::Tract { .. } => ModelRuntime::Tract,
        }
    }

    fn load_on(
        runtime: ModelRuntime,
        bytes: &'static [u8],
        name: &'static str,
        side: usize,
        keep: Option<usize>,
    ) -> Result<Self> {
        let backend = match runtime {
            ModelRuntime::Xnnpack => Backend::Xnnpack(
                XnnNet::load(bytes, keep)
                    .with_context(|| format!("loading the embedded {name} model in XNNPACK"))?,
            ),
            ModelRuntime::Tract => Backend::Tract {
                plan: tract_plan(bytes, name, keep)?,
                input: Arc::new(Tensor::zero::<f32>(&[1, side, side, 3])?),
                outputs: TVec::new(),
            },
        };
        let net = Net {
            backend,
            bytes,
            keep,
            side,
            name,
        };
        Ok(net)
    }

    /// Another handle on the same network, with its own input and outputs,
    /// for another thread. On tract the optimised plan (and its weights) is
    /// shared; an XNNPACK runtime is one thread's, so it is compiled again.
    fn share(&self) -> Result<Self> {
        let backend = match &self.backend {
            Backend::Xnnpack(_) => Backend::Xnnpack(XnnNet::load(self.bytes, self.keep)?),
            Backend::Tract { plan, .. } => Backend::Tract {
                plan: Arc::clone(plan),
                input: Arc::new(Tensor::zero::<f32>(&[1, self.side, self.side, 3])?),
                outputs: TVec::new(),
            },
        };
        Ok(Net {
            backend,
            bytes: self.bytes,
            keep: self.keep,
            side: self.side,
            name: self.name,
        })
    }

    /// The input's values (1 x side x side x 3, HWC).
    fn input_mut(&mut self) -> Result<&mut [f32]> {
        match &mut self.backend {
            Backend::Xnnpack(net) => Ok(net.input_mut()),
            Backend::Tract { input, .. } => {
                // tract drops its handle on the input when a run ends, so
                // this is the same buffer every time; only a failed run
                // could leave it shared.
                if Arc::get_mut(input).is_none() {
                    *input = Arc::new(Tensor::zero::<f32>(&[1, self.side, self.side, 3])?);
                }
                Arc::get_mut(input)
                    .context("input tensor still shared")?
                    .to_plain_array_view_mut::<f32>()?
                    .into_slice()
                    .context("input tensor is not contiguous")
            }
        }
    }

    fn run(&mut self) -> Result<()> {
        match &mut self.backend {
            Backend::Xnnpack(net) => net.run(),
            Backend::Tract {
                plan,
                input,
                outputs,
            } => {
                *outputs = plan.run(tvec![input.clone().into_tvalue()])?;
                Ok(())
            }
        }
        .with_context(|| format!("running the {} model", self.name))
    }

    /// The last run's output of `len` values.
    fn output(&self, len: usize, what: &str) -> Result<&[f32]> {
        match &self.backend {
            Backend::Xnnpack(net) => net.output(len).ok_or_else(|| anyhow!("")),
            Backend::Tract { outputs, .. } => match outputs.iter().find(|t| t.len() == len) {
                Some(t) => t.try_as_plain_ram()?.as_slice::<f32>(),
                None => Err(anyhow!("")),
            },
        }
        .with_context(|| {
            format!(
                "the {} model has no {what} output of {len} values",
                self.name
            )
        })
    }

    /// How many outputs a run gives.
    #[cfg(test)]
    fn output_count(&self) -> usize {
        match &self.backend {
            Backend::Xnnpack(net) => net.output_count(),
            Backend::Tract { outputs, .. } => outputs.len(),
        }
    }
}

/// The model optimised for tract, keeping only the output of `keep` values
/// when given (tract then drops the layers that feed only the others).
fn tract_plan(
    bytes: &[u8],
    name: &'static str,
    keep: Option<usize>,
) -> Result<Arc<TypedRunnableModel>> {
    let mut model = tract_tflite::tflite()
        .model_for_read(&mut &*bytes)
        .with_context(|| format!("parsing the embedded {name} model"))?;
    if let Some(len) = keep {
        let outputs = model.output_outlets()?.to_vec();
        let mut kept = Vec::with_capacity(1);
        for outlet in outputs {
            let shape = &model.outlet_fact(outlet)?.shape;
            if shape.iter().product::<TDim>() == TDim::from(len as i64) {
                kept.push(outlet);
            }
        }
        ensure!(
            kept.len() == 1,
            "the {name} model has no single output of {len} values"
        );
        model.select_output_outlets(&kept)?;
    }
    model
        .into_optimized()
        .and_then(|m| m.into_runnable())
        .with_context(|| format!("optimising the {name} model"))
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// A decoded detector box, in letterbox fractions (0..1 across the square).
#[derive(Clone, Copy, Debug)]
struct Candidate {
    score: f32,
    /// Centre x, centre y, width, height.
    bbox: [f32; 4],
    keypoints: [[f32; 2]; 6],
}

impl Candidate {
    fn iou(&self, o: &Candidate) -> f32 {
        let [ax, ay, aw, ah] = self.bbox;
        let [bx, by, bw, bh] = o.bbox;
        let ix = ((ax + aw / 2.0).min(bx + bw / 2.0) - (ax - aw / 2.0).max(bx - bw / 2.0)).max(0.0);
        let iy = ((ay + ah / 2.0).min(by + bh / 2.0) - (ay - ah / 2.0).max(by - bh / 2.0)).max(0.0);
        let inter = ix * iy;
        let union = aw * ah + bw * bh - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }
}

/// BlazeFace short-range anchor centres, in the order of the model's outputs.
fn anchors() -> Vec<[f32; 2]> {
    let mut a = Vec::with_capacity(NUM_ANCHORS);
    // (grid side, anchors per cell): stride 8, then the three stride-16
    // layers, whose 2 anchors each share the 8x8 grid.
    for (grid, per_cell) in [(16usize, 2usize), (8, 6)] {
        for y in 0..grid {
            for x in 0..grid {
                let c = [
                    (x as f32 + 0.5) / grid as f32,
                    (y as f32 + 0.5) / grid as f32,
                ];
                a.extend(std::iter::repeat_n(c, per_cell));
            }
        }
    }
    a
}

/// One eye's lid margins, from the eye model. Lengths are fractions of the
/// eye's own corner-to-corner width, so they compare across faces and
/// distances.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Eyelids {
    /// Gap between the lid margins across the middle of the eye.
    pub aperture: f32,
    /// Upper-lid margin above the line through the corners.
    pub upper: f32,
    /// Lower-lid margin below the line through the corners.
    pub lower: f32,
}

/// MediaPipe's eye landmark model on one eye at a time.
pub struct EyeLandmarker {
    net: Net,
}

impl EyeLandmarker {
    /// Loads and optimises the embedded model (about 0.1 s).
    pub fn new() -> Result<Self> {
        Ok(EyeLandmarker {
            // Only the lid contour is used; the iris branch is left out.
            net: Net::load_keeping(
                EYE_TFLITE,
                "eye landmark",
                EYE_SIZE,
                Some(EYE_CONTOUR_VALUES),
            )?,
        })
    }

    /// A second reader of the same model, for another thread (on tract the
    /// weights are shared; an XNNPACK runtime is compiled for each).
    pub fn share(&self) -> Result<Self> {
        Ok(EyeLandmarker {
            net: self.net.share()?,
        })
    }

    /// The lids of the eye whose corners are at `corners` (image pixels, in
    /// either order) in a luma image: [`EyeCrop::sample`] then
    /// [`EyeLandmarker::read`].
    pub fn eyelids(
        &mut self,
        luma: &[u8],
        width: usize,
        height: usize,
        corners: [[f32; 2]; 2],
        mirror: bool,
    ) -> Result<Eyelids> {
        let mut crop = EyeCrop::default();
        crop.sample(luma, width, height, corners, mirror)?;
        self.read(&crop)
    }

    /// The lids in a crop made by [`EyeCrop::sample`]. The crop is a
    /// separate step so that the model can run on another thread than the
    /// one holding the frame.
    pub fn read(&mut self, crop: &EyeCrop) -> Result<Eyelids> {
        let input = self.net.input_mut()?;
        ensure!(
            crop.pixels.len() == input.len(),
            "eye crop has {} values, the model takes {}",
            crop.pixels.len(),
            input.len()
        );
        input.copy_from_slice(&crop.pixels);
        self.net.run()?;
        let c = self.net.output(EYE_CONTOUR_VALUES, "eye contour")?;
        let p = |i: usize| [c[3 * i], c[3 * i + 1]];
        // Everything in crop pixels: the crop is a similarity of the image
        // (a flip included), so ratios of lengths are the image's.
        let (c0, c1) = (p(EYE_CORNERS[0]), p(EYE_CORNERS[1]));
        let width_px = (c1[0] - c0[0]).hypot(c1[1] - c0[1]).max(1e-3);
        let gap = EYE_UPPER_MID
            .iter()
            .zip(EYE_LOWER_MID)
            .map(|(&u, l)| {
                let (pu, pl) = (p(u), p(l));
                (pu[0] - pl[0]).hypot(pu[1] - pl[1])
            })
            .sum::<f32>()
            / 3.0;
        // Signed distance below the corner line (y grows downwards).
        let below = |q: [f32; 2]| {
            ((q[1] - c0[1]) * (c1[0] - c0[0]) - (q[0] - c0[0]) * (c1[1] - c0[1])) / width_px
        };
        let mean_below = |idx: &[usize; 3]| idx.iter().map(|&i| below(p(i))).sum::<f32>() / 3.0;
        Ok(Eyelids {
            aperture: gap / width_px,
            upper: -mean_below(&EYE_UPPER_MID) / width_px,
            lower: mean_below(&EYE_LOWER_MID) / width_px,
        })
    }
}

/// One eye resampled for the eye model: a square 2.3 eye-widths across,
/// rotated to the line through the corners, grey, in [0, 1]. The model was
/// trained on one eye's orientation: the subject's right eye (`mirror`) is
/// shown to it flipped, as MediaPipe does.
#[derive(Clone, Debug, Default)]
pub struct EyeCrop {
    /// EYE_SIZE x EYE_SIZE x 3 values (HWC), reused from frame to frame.
    pixels: Vec<f32>,
}

impl EyeCrop {
    /// Resamples the eye whose corners are at `corners` (image pixels, in
    /// either order) from a luma image into this crop.
    pub fn sample(
        &mut self,
        luma: &[u8],
        width: usize,
        height: usize,
        corners: [[f32; 2]; 2],
        mirror: bool,
    ) -> Result<()> {
        ensure!(
            width > 0 && height > 0 && luma.len() >= width * height,
            "luma image {width}x{height} has {} bytes",
            luma.len()
        );
        let [a, b] = if corners[0][0] <= corners[1][0] {
            corners
        } else {
            [corners[1], corners[0]]
        };
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let eye_width = dx.hypot(dy);
        ensure!(
            eye_width.is_finite() && eye_width >= 2.0,
            "eye corners too close: {corners:?}"
        );
        let roi = Roi {
            center: [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0],
            side: EYE_ROI_SCALE * eye_width,
            rotation: dy.atan2(dx),
        };
        self.pixels.resize(EYE_SIZE * EYE_SIZE * 3, 0.0);
        sample_roi_luma(luma, width, height, &roi, mirror, &mut self.pixels);
        Ok(())
    }
}

/// Resamples the square `roi` of a luma image into an `n` x `n` grey RGB
/// tensor (`out`, HWC) in [0, 1], bilinearly, mirrored left-right if `flip`.
/// Edge pixels are repeated outside the image.
fn sample_roi_luma(luma: &[u8], w: usize, h: usize, roi: &Roi, flip: bool, out: &mut [f32]) {
    let n = (out.len() / 3).isqrt();
    let (ux, vx) = Roi::axes(roi.rotation);
    let step = roi.side / n as f32;
    let origin = roi.point_at(0.5 / n as f32, 0.5 / n as f32);
    let (col, row) = ([ux[0] * step, ux[1] * step], [vx[0] * step, vx[1] * step]);
    for (v, out_row) in out.chunks_exact_mut(n * 3).enumerate() {
        let x_row = origin[0] + v as f32 * row[0];
        let y_row = origin[1] + v as f32 * row[1];
        for (u, px) in out_row.chunks_exact_mut(3).enumerate() {
            let k = if flip { n - 1 - u } else { u } as f32;
            let (fx, fy) = (x_row + k * col[0] - 0.5, y_row + k * col[1] - 0.5);
            let Taps {
                xa,
                xb,
                ya,
                yb,
                ax,
                ay,
            } = Taps::at(fx, fy, w, h);
            let q = |y: usize, x: usize| luma[y * w + x] as f32;
            let top = q(ya, xa) + ax * (q(ya, xb) - q(ya, xa));
            let bot = q(yb, xa) + ax * (q(yb, xb) - q(yb, xa));
            px.fill((top + ay * (bot - top)) / 255.0);
        }
    }
}

/// Face detector and landmark tracker. Not thread-safe to share; make one per
/// video stream.
pub struct FaceTracker {
    detector: Net,
    landmarker: Net,
    anchors: Vec<[f32; 2]>,
    /// Scratch for the detector's decoded boxes, reused.
    candidates: Vec<Candidate>,
    /// Faces found by the last detector run, best first.
    detections: Vec<Detection>,
    landmarks: Landmarks,
    /// The crop the current landmarks were computed from.
    roi: Roi,
    /// Whether `landmarks` hold a face (presence above threshold).
    tracking: bool,
    detector_runs: u64,
    /// Faces the detector found at its last run.
    faces_in_view: usize,
    /// `track` calls while following a face (the detector recounts the
    /// faces every [`RECOUNT_EVERY`]).
    tracked_calls: u32,
}

/// While a face is followed, the detector counts the faces in the picture
/// once every this many landmark frames (about once a second at the
/// engine's 10 landmark frames per second): cheap next to the mesh, and
/// enough to notice someone stepping in.
const RECOUNT_EVERY: u32 = 10;

impl FaceTracker {
    /// Loads and optimises the embedded models (about 0.2 s).
    pub fn new() -> Result<Self> {
        Ok(FaceTracker {
            detector: Net::load(DETECTOR_TFLITE, "face detector", DET_SIZE)?,
            landmarker: Net::load(LANDMARK_TFLITE, "face landmark", LM_SIZE)?,
            anchors: anchors(),
            candidates: Vec::with_capacity(NUM_ANCHORS),
            detections: Vec::new(),
            landmarks: Landmarks {
                points: vec![[0.0; 3]; NUM_LANDMARKS],
                presence: 0.0,
            },
            roi: Roi {
                center: [0.0; 2],
                side: 0.0,
                rotation: 0.0,
            },
            tracking: false,
            detector_runs: 0,
            faces_in_view: 0,
            tracked_calls: 0,
        })
    }

    /// Runs the detector on the whole frame and returns the best face.
    pub fn detect(&mut self, frame: &Frame) -> Result<Option<Detection>> {
        Ok(self.detect_all(frame)?.first().cloned())
    }

    /// Runs the detector on the whole frame and returns every face found,
    /// best first (after weighted non-maximum suppression).
    pub fn detect_all(&mut self, frame: &Frame) -> Result<&[Detection]> {
        check_frame(frame)?;
        self.detector_runs += 1;
        // Letterbox: the centred square around the frame, black bars.
        let side = frame.width.max(frame.height) as f32;
        let letterbox = Roi {
            center: [frame.width as f32 / 2.0, frame.height as f32 / 2.0],
            side,
            rotation: 0.0,
        };
        // The detector wants RGB in [-1, 1].
        let (scale, offset) = (2.0 / 255.0, -1.0);
        let input = self.detector.input_mut()?;
        sample_roi(
            frame,
            &letterbox,
            DET_SIZE,
            scale,
            offset,
            Border::Constant(offset),
            input,
        );
        self.detector.run()?;
        let boxes = self
            .detector
            .output(NUM_ANCHORS * DET_REGRESSORS, "regressor")?;
        let scores = self.detector.output(NUM_ANCHORS, "score")?;

        self.candidates.clear();
        let s = DET_SIZE as f32;
        for ((r, &logit), a) in boxes
            .chunks_exact(DET_REGRESSORS)
            .zip(scores)
            .zip(&self.anchors)
        {
            let score = sigmoid(logit.clamp(-SCORE_CLIP, SCORE_CLIP));
            if score < DET_SCORE_MIN {
                continue;
            }
            let mut keypoints = [[0.0; 2]; 6];
            for (k, kp) in keypoints.iter_mut().enumerate() {
                *kp = [r[4 + 2 * k] / s + a[0], r[5 + 2 * k] / s + a[1]];
            }
            self.candidates.push(Candidate {
                score,
                bbox: [r[0] / s + a[0], r[1] / s + a[1], r[2] / s, r[3] / s],
                keypoints,
            });
        }

        // Weighted NMS (MediaPipe's for BlazeFace): each cluster of boxes
        // overlapping the best remaining one is replaced by their
        // score-weighted mean, which is steadier than the single best box.
        self.candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
        self.detections.clear();
        while let Some(best) = self.candidates.first().copied() {
            let (mut bbox, mut kps, mut total) = ([0.0f32; 4], [[0.0f32; 2]; 6], 0.0f32);
            self.candidates.retain(|c| {
                if best.iou(c) <= NMS_IOU {
                    return true;
                }
                for (acc, v) in bbox.iter_mut().zip(&c.bbox) {
                    *acc += c.score * v;
                }
                for (acc, kp) in kps.iter_mut().zip(&c.keypoints) {
                    acc[0] += c.score * kp[0];
                    acc[1] += c.score * kp[1];
                }
                total += c.score;
                false
            });
            if total <= 0.0 {
                // Only possible for a degenerate (zero-area) best box: drop it.
                self.candidates.remove(0);
                continue;
            }
            let to_px = |p: [f32; 2]| letterbox.point_at(p[0] / total, p[1] / total);
            self.detections.push(Detection {
                score: best.score,
                center: to_px([bbox[0], bbox[1]]),
                size: [bbox[2] / total * side, bbox[3] / total * side],
                keypoints: kps.map(to_px),
            });
        }
        Ok(&self.detections)
    }

    /// Landmarks for this frame: the crop comes from the previous frame's
    /// landmarks; the detector runs only at the start or when the face was
    /// lost. `None` when no face is found.
    pub fn track(&mut self, frame: &Frame) -> Result<Option<&Landmarks>> {
        check_frame(frame)?;
        if self.tracking {
            self.tracked_calls += 1;
            if self.tracked_calls.is_multiple_of(RECOUNT_EVERY) {
                // Someone may have stepped into the picture: count the
                // faces now and then. The tracked face stays followed,
                // whatever its size: it is the one being measured, and
                // jumping to a newcomer would mix two people's data.
                let count = self.detect_all(frame)?.len();
                self.faces_in_view = count;
            }
            let roi = Roi::from_landmarks(&self.landmarks.points);
            if self.run_landmarks(frame, &roi)? >= PRESENCE_MIN {
                return Ok(Some(&self.landmarks));
            }
            // Lost (blink of the camera, fast motion, face left): look again
            // in this same frame rather than dropping it.
            self.tracking = false;
        }
        // With more than one face in the picture (someone behind the
        // patient, a photo on the wall), the largest is followed: the person
        // recording sits closest to the camera.
        let faces = self.detect_all(frame)?;
        let count = faces.len();
        let largest = faces
            .iter()
            .max_by(|a, b| (a.size[0] * a.size[1]).total_cmp(&(b.size[0] * b.size[1])))
            .map(Roi::from_detection);
        self.faces_in_view = count;
        let Some(roi) = largest else {
            return Ok(None);
        };
        if self.run_landmarks(frame, &roi)? < PRESENCE_MIN {
            return Ok(None);
        }
        self.tracking = true;
        Ok(Some(&self.landmarks))
    }

    /// The current landmarks, if the last `track` found a face.
    pub fn landmarks(&self) -> Option<&Landmarks> {
        self.tracking.then_some(&self.landmarks)
    }

    /// The crop the current landmarks were computed from, if any.
    pub fn roi(&self) -> Option<Roi> {
        self.tracking.then_some(self.roi)
    }

    /// Forgets the tracked face: the next `track` runs the detector.
    pub fn reset(&mut self) {
        self.tracking = false;
    }

    /// How many times the detector has run.
    pub fn detector_runs(&self) -> u64 {
        self.detector_runs
    }

    /// The faces the detector found at its last run (about once a second
    /// while a face is followed).
    pub fn faces_in_view(&self) -> usize {
        self.faces_in_view
    }

    /// Runs FaceMesh on `roi`, stores the landmarks in image pixels and
    /// returns the face-presence probability.
    fn run_landmarks(&mut self, frame: &Frame, roi: &Roi) -> Result<f32> {
        // FaceMesh wants RGB in [0, 1].
        let input = self.landmarker.input_mut()?;
        sample_roi(
            frame,
            roi,
            LM_SIZE,
            1.0 / 255.0,
            0.0,
            Border::Replicate,
            input,
        );
        self.landmarker.run()?;
        let coords = self.landmarker.output(NUM_LANDMARKS * 3, "landmark")?;
        let presence = sigmoid(self.landmarker.output(1, "face presence")?[0]);
        let s = LM_SIZE as f32;
        for (p, c) in self.landmarks.points.iter_mut().zip(coords.chunks_exact(3)) {
            let [x, y] = roi.point_at(c[0] / s, c[1] / s);
            *p = [x, y, c[2] / s * roi.side];
        }
        self.landmarks.presence = presence;
        self.roi = *roi;
        Ok(presence)
    }
}

/// Rejects frames whose buffer does not match their size (would panic later).
fn check_frame(frame: &Frame) -> Result<()> {
    ensure!(
        frame.width > 0 && frame.height > 0,
        "empty frame ({}x{})",
        frame.width,
        frame.height
    );
    let need = frame
        .width
        .checked_mul(frame.height)
        .and_then(|n| n.checked_mul(3))
        .context("frame size overflows")?;
    ensure!(
        frame.rgb.len() >= need,
        "frame {}x{} has {} RGB bytes, needs {need}",
        frame.width,
        frame.height,
        frame.rgb.len()
    );
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The committed public-domain test portrait (see samples/README.md).
    const ASTRONAUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/astronaut.png");

    pub(crate) fn frame_from_rgb(width: usize, height: usize, rgb: Vec<u8>) -> Frame {
        let mut f = Frame::default();
        f.ensure_size(width, height);
        f.rgb = rgb;
        f.update_luma_from_rgb();
        f
    }

    /// The portrait as a frame (shared with the other engine tests).
    pub(crate) fn astronaut() -> Frame {
        let img = image::open(ASTRONAUT)
            .expect("samples/astronaut.png")
            .to_rgb8();
        let (w, h) = (img.width() as usize, img.height() as usize);
        frame_from_rgb(w, h, img.into_raw())
    }

    /// `src` moved by (dx, dy) whole pixels; uncovered pixels copy the edge.
    pub(crate) fn shifted(src: &Frame, dx: isize, dy: isize) -> Frame {
        let (w, h) = (src.width as isize, src.height as isize);
        let mut rgb = vec![0; src.rgb.len()];
        for y in 0..h {
            for x in 0..w {
                let sx = (x - dx).clamp(0, w - 1);
                let sy = (y - dy).clamp(0, h - 1);
                let (d, s) = (((y * w + x) * 3) as usize, ((sy * w + sx) * 3) as usize);
                rgb[d..d + 3].copy_from_slice(&src.rgb[s..s + 3]);
            }
        }
        frame_from_rgb(src.width, src.height, rgb)
    }

    fn mean(points: &[[f32; 3]], ix: &[usize]) -> [f32; 2] {
        let n = ix.len() as f32;
        let s = ix.iter().fold([0.0, 0.0], |a, &i| {
            [a[0] + points[i][0], a[1] + points[i][1]]
        });
        [s[0] / n, s[1] / n]
    }

    fn eye_centres(points: &[[f32; 3]]) -> ([f32; 2], [f32; 2]) {
        (mean(points, &[33, 133]), mean(points, &[263, 362]))
    }

    /// `src` (square) rotated by `-angle` about its centre `c`: a point q
    /// moves to c + R(-angle)(q - c). Resampled with the tracker's sampler.
    fn rotated(src: &Frame, angle: f32) -> Frame {
        let (w, h) = (src.width, src.height);
        assert_eq!(w, h, "square frames only");
        let c = [w as f32 / 2.0, h as f32 / 2.0];
        let roi = Roi {
            center: c,
            side: w as f32,
            rotation: angle,
        };
        let mut buf = vec![0.0; w * h * 3];
        sample_roi(src, &roi, w, 1.0, 0.0, Border::Replicate, &mut buf);
        frame_from_rgb(
            w,
            h,
            buf.iter()
                .map(|v| v.round().clamp(0.0, 255.0) as u8)
                .collect(),
        )
    }

    #[test]
    fn roi_geometry() {
        let roi = Roi {
            center: [100.0, 50.0],
            side: 40.0,
            rotation: std::f32::consts::FRAC_PI_2,
        };
        let close =
            |a: [f32; 2], b: [f32; 2]| (a[0] - b[0]).abs() < 1e-4 && (a[1] - b[1]).abs() < 1e-4;
        assert!(close(roi.point_at(0.5, 0.5), [100.0, 50.0]));
        // Crop x axis rotated a quarter turn clockwise on screen: image +y.
        assert!(close(roi.point_at(1.0, 0.5), [100.0, 70.0]));
        assert!(close(roi.point_at(0.5, 1.0), [80.0, 50.0]));
    }

    /// Both runtimes on the rewritten models against Google's LiteRT on the
    /// original files (numbers from `ai-edge-litert` 2.3.0 on the same input
    /// pattern). XNNPACK must be installed where the tests run
    /// (`scripts/install-deps`): without it this test fails rather than
    /// test one runtime only.
    #[test]
    #[allow(clippy::excessive_precision)] // reference values as LiteRT printed them
    fn models_match_litert_reference() {
        crate::xnn::available().expect("XNNPACK for the tests: run scripts/install-deps");
        let check = |net: &mut Net, scale: f32, offset: f32, want: &[(usize, &[f32], f64)]| {
            for (i, x) in net.input_mut().unwrap().iter_mut().enumerate() {
                *x = ((i * 37) % 255) as f32 * scale + offset;
            }
            net.run().unwrap();
            for &(len, first, sum) in want {
                let v = net.output(len, "any").unwrap();
                for (a, b) in v.iter().zip(first) {
                    assert!(
                        (a - b).abs() < 2e-3 * b.abs().max(1.0),
                        "{} on {:?}, {len}: {a} vs {b}",
                        net.name,
                        net.runtime()
                    );
                }
                let s: f64 = v.iter().map(|&x| x as f64).sum();
                assert!(
                    (s - sum).abs() < 1e-5 * sum.abs() + 0.1,
                    "{} on {:?}, {len}: sum {s} vs {sum}",
                    net.name,
                    net.runtime()
                );
            }
        };
        let detector = [
            (
                14336,
                &[
                    0.61433960,
                    -0.24302498,
                    27.691389,
                    27.691095,
                    -1.5635419,
                    -5.3786831,
                ][..],
                79651.4133,
            ),
            (
                896,
                &[
                    -4.6651855, -4.0322323, -4.4588256, -3.8003023, -4.0309415, -3.3733313,
                ][..],
                -3954.19906,
            ),
        ];
        let landmarks = [
            (
                1404,
                &[
                    97.790848, 122.56489, -8.2839327, 102.78680, 111.61089, -20.819088,
                ][..],
                93123.6121,
            ),
            (1, &[-8.3790588][..], -8.3790588),
        ];
        let contour = (
            EYE_CONTOUR_VALUES,
            &[
                23.048985, 33.657112, 7.741467, 25.000164, 35.577213, 5.9644637,
            ][..],
            4605.982240,
        );
        let iris = (
            15,
            &[
                33.658398, 27.499153, -2.4349487, 36.054852, 26.799183, -2.5126393,
            ][..],
            292.559228,
        );
        for runtime in [ModelRuntime::Xnnpack, ModelRuntime::Tract] {
            let load = |bytes, name, side, keep| Net::load_on(runtime, bytes, name, side, keep);
            // Debian's XNNPACK cannot run the detector (no concatenation).
            if runtime == ModelRuntime::Tract {
                let mut net = load(DETECTOR_TFLITE, "face detector", DET_SIZE, None).unwrap();
                check(&mut net, 2.0 / 255.0, -1.0, &detector);
            }
            let mut net = load(LANDMARK_TFLITE, "face landmark", LM_SIZE, None).unwrap();
            check(&mut net, 1.0 / 255.0, 0.0, &landmarks);
            // The whole eye model, and the engine's, which keeps only the
            // lid contour: the same numbers.
            let mut whole = load(EYE_TFLITE, "eye landmark", EYE_SIZE, None).unwrap();
            check(&mut whole, 1.0 / 255.0, 0.0, &[contour, iris]);
            let keep = Some(EYE_CONTOUR_VALUES);
            let mut eye = load(EYE_TFLITE, "eye landmark", EYE_SIZE, keep).unwrap();
            check(&mut eye, 1.0 / 255.0, 0.0, &[contour]);
            assert_eq!(eye.output_count(), 1, "the iris branch is left out");
            // A second handle (another eye's thread) computes the same.
            let mut shared = eye.share().unwrap();
            assert_eq!(shared.runtime(), runtime);
            check(&mut shared, 1.0 / 255.0, 0.0, &[contour]);
        }
        // Where XNNPACK is installed, the engine uses it for the face mesh
        // and the eye model.
        let tracker = FaceTracker::new().unwrap();
        assert_eq!(tracker.landmarker.runtime(), ModelRuntime::chosen());
        assert_eq!(
            EyeLandmarker::new().unwrap().net.runtime(),
            ModelRuntime::chosen()
        );
    }

    #[test]
    fn detector_finds_the_astronaut() {
        let mut t = FaceTracker::new().unwrap();
        let f = astronaut();
        let faces = t.detect_all(&f).unwrap();
        assert_eq!(faces.len(), 1, "{faces:?}");
        let d = &faces[0];
        assert!(d.score > 0.8, "{d:?}");
        // The face (checked by eye on the picture): centre near (225, 125),
        // about 90 px wide; subject's right eye image-left.
        assert!(
            (d.center[0] - 225.0).abs() < 10.0 && (d.center[1] - 125.0).abs() < 12.0,
            "{d:?}"
        );
        assert!((70.0..120.0).contains(&d.size[0]), "{d:?}");
        let [r, l] = [d.keypoints[0], d.keypoints[1]];
        assert!(r[0] < l[0], "right eye must be image-left: {d:?}");
        assert!(
            (r[0] - 205.0).abs() < 8.0 && (r[1] - 102.0).abs() < 8.0,
            "{d:?}"
        );
        assert!(
            (l[0] - 248.0).abs() < 8.0 && (l[1] - 105.0).abs() < 8.0,
            "{d:?}"
        );
        assert_eq!(t.detector_runs(), 1);
    }

    #[test]
    fn landmarks_on_the_astronaut() {
        let mut t = FaceTracker::new().unwrap();
        let f = astronaut();
        let lm = t.track(&f).unwrap().expect("a face").clone();
        assert_eq!(lm.points.len(), NUM_LANDMARKS);
        assert!(lm.presence > 0.5, "presence {}", lm.presence);
        let p = &lm.points;
        for (right, left) in [(33, 263), (133, 362), (33, 362), (133, 263)] {
            assert!(
                p[right][0] < p[left][0],
                "{right} {:?} vs {left} {:?}",
                p[right],
                p[left]
            );
        }
        // Eye corners ordered outer-inner-inner-outer across the face.
        assert!(p[33][0] < p[133][0] && p[362][0] < p[263][0]);
        let (re, le) = eye_centres(p);
        let dist = ((le[0] - re[0]).powi(2) + (le[1] - re[1]).powi(2)).sqrt();
        assert!((35.0..60.0).contains(&dist), "eye distance {dist}");
        // Forehead above nose above chin, all inside the detected face area.
        assert!(p[10][1] < p[1][1] && p[1][1] < p[152][1]);
        for q in p {
            assert!(
                (150.0..300.0).contains(&q[0]) && (40.0..210.0).contains(&q[1]),
                "{q:?}"
            );
        }
        assert_eq!(t.detector_runs(), 1);
    }

    #[test]
    fn eye_model_sees_one_eye_shut() {
        let mut t = FaceTracker::new().unwrap();
        let f = astronaut();
        let p = t.track(&f).unwrap().expect("a face").points.clone();
        let corners = |a: usize, b: usize| [[p[a][0], p[a][1]], [p[b][0], p[b][1]]];
        let (left, right) = (corners(263, 362), corners(33, 133));
        let mut eye = EyeLandmarker::new().unwrap();
        let lids = |eye: &mut EyeLandmarker, luma: &[u8]| {
            let l = eye.eyelids(luma, f.width, f.height, left, false).unwrap();
            let r = eye.eyelids(luma, f.width, f.height, right, true).unwrap();
            (l, r)
        };
        let (l_open, r_open) = lids(&mut eye, &f.luma);
        for e in [l_open, r_open] {
            assert!((0.15..0.6).contains(&e.aperture), "{e:?}");
            assert!(e.upper > 0.0 && e.lower > 0.0, "{e:?}");
        }
        // Shut the subject's left eye (image right): the opening between the
        // lid margins filled with the skin below it, and a darker lash line
        // where the lids meet.
        let upper = [263, 466, 388, 387, 386, 385, 384, 398, 362];
        let lower = [263, 249, 390, 373, 374, 380, 381, 382, 362];
        let margin_y = |lid: &[usize], x: f32| -> f32 {
            for w in lid.windows(2) {
                let (a, b) = (p[w[0]], p[w[1]]);
                let (lo, hi) = if a[0] <= b[0] { (a, b) } else { (b, a) };
                if x >= lo[0] && x <= hi[0] && hi[0] > lo[0] {
                    return lo[1] + (x - lo[0]) / (hi[0] - lo[0]) * (hi[1] - lo[1]);
                }
            }
            p[lid[0]][1]
        };
        let mut shut = f.luma.clone();
        let (x0, x1) = (p[362][0].min(p[263][0]), p[362][0].max(p[263][0]));
        for x in x0.ceil() as usize..=x1.floor() as usize {
            let (top, bottom) = (margin_y(&upper, x as f32), margin_y(&lower, x as f32));
            let skin = f.luma[(bottom + 4.0) as usize * f.width + x];
            for y in (top - 1.0) as usize..=(bottom + 1.0) as usize {
                shut[y * f.width + x] = skin;
            }
            shut[(bottom + 1.0) as usize * f.width + x] = (skin as f32 * 0.6) as u8;
        }
        let (l_shut, r_shut) = lids(&mut eye, &shut);
        // A painted lid on a 20-pixel eye is not a real one, so the model
        // does not read it as fully shut; what matters is that this eye's
        // opening clearly drops while the other eye's does not move.
        assert!(
            l_shut.aperture < 0.75 * l_open.aperture && l_shut.upper < 0.6 * l_open.upper,
            "{l_shut:?} vs {l_open:?}"
        );
        assert!(
            (r_shut.aperture - r_open.aperture).abs() < 0.15 * r_open.aperture,
            "{r_shut:?} vs {r_open:?}"
        );
    }

    #[test]
    fn tracking_follows_a_shift_without_the_detector() {
        let mut t = FaceTracker::new().unwrap();
        let f = astronaut();
        let before = t.track(&f).unwrap().expect("a face").points.clone();
        let (dx, dy) = (7.0, -5.0);
        let moved = shifted(&f, dx as isize, dy as isize);
        let after = t.track(&moved).unwrap().expect("a face").points.clone();
        assert_eq!(t.detector_runs(), 1, "tracking must not re-detect");
        let n = NUM_LANDMARKS as f32;
        let mean = before.iter().zip(&after).fold([0.0, 0.0], |m, (a, b)| {
            [m[0] + (b[0] - a[0]) / n, m[1] + (b[1] - a[1]) / n]
        });
        assert!(
            (mean[0] - dx).abs() < 1.5 && (mean[1] - dy).abs() < 1.5,
            "mean shift {mean:?}"
        );
        let (re0, le0) = eye_centres(&before);
        let (re1, le1) = eye_centres(&after);
        for (a, b) in [(re0, re1), (le0, le1)] {
            let err = ((b[0] - a[0] - dx).powi(2) + (b[1] - a[1] - dy).powi(2)).sqrt();
            assert!(
                err < 2.0,
                "eye centre moved {:?}, expected ({dx}, {dy})",
                [b[0] - a[0], b[1] - a[1]]
            );
        }
    }

    #[test]
    fn tracking_follows_a_rolled_head() {
        let mut t = FaceTracker::new().unwrap();
        let f = astronaut();
        let upright = t.track(&f).unwrap().expect("a face").points.clone();
        // Roll the picture 25 degrees, then track from a fresh detection
        // (the crop must rotate the right way).
        let c = [f.width as f32 / 2.0, f.height as f32 / 2.0];
        let angle = 25f32.to_radians();
        let rolled = rotated(&f, angle);
        t.reset();
        let got = t.track(&rolled).unwrap().expect("a face").points.clone();
        assert_eq!(t.detector_runs(), 2);
        // A second frame tracks from the rolled landmarks.
        let tracked = t.track(&rolled).unwrap().expect("a face").points.clone();
        assert_eq!(t.detector_runs(), 2);
        let (s, co) = (-angle).sin_cos();
        let mean_err = |pts: &[[f32; 3]]| {
            let mut sum = 0.0;
            for (q, g) in upright.iter().zip(pts) {
                let (x, y) = (q[0] - c[0], q[1] - c[1]);
                let want = [c[0] + co * x - s * y, c[1] + s * x + co * y];
                sum += ((g[0] - want[0]).powi(2) + (g[1] - want[1]).powi(2)).sqrt();
            }
            sum / NUM_LANDMARKS as f32
        };
        let (e_det, e_track) = (mean_err(&got), mean_err(&tracked));
        eprintln!(
            "mean landmark error after roll: {e_det} px from detection, {e_track} px tracked"
        );
        assert!(e_det < 3.0 && e_track < 3.0);
        let roll = Roi::from_landmarks(&tracked).rotation - Roi::from_landmarks(&upright).rotation;
        assert!(
            (roll + angle).abs() < 2f32.to_radians(),
            "landmark roll {roll} rad"
        );
    }

    #[test]
    fn blank_frame_has_no_face() {
        let mut t = FaceTracker::new().unwrap();
        let grey = frame_from_rgb(320, 240, vec![128; 320 * 240 * 3]);
        assert!(t.detect(&grey).unwrap().is_none());
        assert!(t.track(&grey).unwrap().is_none());
        assert!(t.landmarks().is_none());
        assert_eq!(t.detector_runs(), 2);
    }

    #[test]
    fn lost_face_is_found_again() {
        let mut t = FaceTracker::new().unwrap();
        let f = astronaut();
        let grey = frame_from_rgb(f.width, f.height, vec![128; f.rgb.len()]);
        assert!(t.track(&f).unwrap().is_some());
        // Tracking fails on the blank frame, then the detector runs on it too.
        assert!(t.track(&grey).unwrap().is_none());
        assert_eq!(t.detector_runs(), 2);
        assert!(t.track(&f).unwrap().is_some());
        assert_eq!(t.detector_runs(), 3);
        assert!(t.track(&f).unwrap().is_some());
        assert_eq!(t.detector_runs(), 3);
    }

    #[test]
    fn input_tensors_are_reused() {
        let mut t = FaceTracker::new().unwrap();
        let f = astronaut();
        t.track(&f).unwrap();
        let (det, lm) = (
            t.detector.input_mut().unwrap().as_ptr(),
            t.landmarker.input_mut().unwrap().as_ptr(),
        );
        t.reset();
        t.track(&f).unwrap();
        t.track(&f).unwrap();
        assert_eq!(t.detector.input_mut().unwrap().as_ptr(), det);
        assert_eq!(t.landmarker.input_mut().unwrap().as_ptr(), lm);
    }

    #[test]
    fn malformed_frames_are_errors() {
        let mut t = FaceTracker::new().unwrap();
        let mut short = frame_from_rgb(64, 64, vec![0; 64 * 64 * 3]);
        short.rgb.truncate(100);
        assert!(t.detect(&short).is_err());
        assert!(t.track(&short).is_err());
        assert!(t.track(&Frame::default()).is_err());
    }
}
