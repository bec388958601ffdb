//! Per-region motion measured from pixels of the stabilised face.
//!
//! Every frame, each region (and a rigid reference patch on the nose bridge
//! and forehead) is resampled from the frame into canonical coordinates. From
//! two consecutive patches we measure:
//! - the region's mean flow (Lucas–Kanade, one translation per patch) minus
//!   the reference patch's flow, so residual head motion cancels;
//! - the normal-flow speed of what is left after removing the reference
//!   motion: `sqrt(Σ r² / Σ |∇I|²)` with `r = I_t + I_x u_ref + I_y v_ref`,
//!   a robust, texture-normalised measure of how much the skin moved;
//! - the deformation against a slowly adapting template of the region, which
//!   stays high while an eye is held shut (tonic spasm) when velocity is zero.
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
    /// Vertical velocity relative to the rigid reference (face units / s,
    /// positive = downwards in the face).
    pub vy: f32,
    /// Deviation from the region's resting appearance (face units).
    pub deform: f32,
}

/// Everything measured in one frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MotionSample {
    pub t: f64,
    /// True when a face pose was available and the motion is meaningful.
    pub valid: bool,
    /// `[side][region]`, side indexed by [`Side::index`].
    pub regions: [[RegionMotion; Region::COUNT]; 2],
    /// Eyelid aperture per side (gap / eye width), NaN when not measured.
    pub aperture: [f32; 2],
    /// Speed of the rigid reference patch (residual head motion, face units / s).
    pub head_speed: f32,
}

impl MotionSample {
    pub fn region(&self, side: Side, region: Region) -> &RegionMotion {
        &self.regions[side.index()][region.index()]
    }
}

/// One patch: where it sits in canonical space and its slot in the buffers.
#[derive(Clone, Copy, Debug)]
struct PatchSlot {
    rect: Rect,
    offset: usize,
}

/// Lucas–Kanade sums of one patch.
#[derive(Clone, Copy, Debug, Default)]
struct FlowSums {
    gxx: f64,
    gxy: f64,
    gyy: f64,
    gxt: f64,
    gyt: f64,
}

impl FlowSums {
    /// Solves the 2×2 system; a small ridge keeps flat patches near zero.
    fn solve(&self, n: usize) -> (f32, f32) {
        let ridge = 1e-2 * n as f64;
        let (a, b, d) = (self.gxx + ridge, self.gxy, self.gyy + ridge);
        let det = a * d - b * b;
        if det.abs() < 1e-12 {
            return (0.0, 0.0);
        }
        let u = -(d * self.gxt - b * self.gyt) / det;
        let v = -(-b * self.gxt + a * self.gyt) / det;
        (u as f32, v as f32)
    }
}

/// Time constant of the appearance template, seconds. Long enough that a
/// tonic closure of a few seconds stands out, short enough to follow lighting.
const TEMPLATE_TAU_S: f64 = 8.0;

/// Measures motion per region, frame after frame.
pub struct MotionAnalyzer {
    layout: RegionLayout,
    /// Patch 0 is the reference; then `[side][region]` in order.
    slots: Vec<PatchSlot>,
    current: Vec<f32>,
    previous: Vec<f32>,
    template: Vec<f32>,
    has_previous: bool,
    has_template: bool,
    last_t: f64,
    /// Canonical pixels → face units (interocular = 100).
    unit: f32,
}

impl MotionAnalyzer {
    pub fn new(layout: RegionLayout) -> MotionAnalyzer {
        let mut slots = Vec::with_capacity(1 + 2 * Region::COUNT);
        let mut offset = 0;
        let mut push = |rect: Rect| {
            slots.push(PatchSlot { rect, offset });
            offset += rect.area();
        };
        push(layout.reference);
        for side in Side::BOTH {
            for region in Region::ALL {
                push(layout.rect(side, region));
            }
        }
        let unit = 100.0 / layout.interocular.max(1.0);
        MotionAnalyzer {
            layout,
            slots,
            current: vec![0.0; offset],
            previous: vec![0.0; offset],
            template: vec![0.0; offset],
            has_previous: false,
            has_template: false,
            last_t: 0.0,
            unit,
        }
    }

    pub fn layout(&self) -> &RegionLayout {
        &self.layout
    }

    /// Forgets the previous frame (after the face was lost), so no motion is
    /// measured across a gap.
    pub fn reset(&mut self) {
        self.has_previous = false;
    }

    /// Measures one frame. `pose` maps image pixels to canonical pixels;
    /// `None` means no face in this frame.
    pub fn process(
        &mut self,
        luma: &[u8],
        width: usize,
        height: usize,
        t: f64,
        pose: Option<&Similarity>,
    ) -> MotionSample {
        let mut sample = MotionSample {
            t,
            aperture: [f32::NAN; 2],
            ..MotionSample::default()
        };
        let Some(pose) = pose else {
            self.has_previous = false;
            return sample;
        };
        let to_image = pose.inverse();
        for slot in &self.slots {
            let buf = &mut self.current[slot.offset..slot.offset + slot.rect.area()];
            sample_patch(luma, width, height, &to_image, &slot.rect, buf);
        }
        if !self.has_template {
            self.template.copy_from_slice(&self.current);
            self.has_template = true;
        }
        let dt = t - self.last_t;
        if self.has_previous && dt > 0.0 && dt < 1.0 {
            let per_s = self.unit / dt as f32;
            let reference = self.slots[0];
            let (ref_sums, _) = self.flow_sums(&reference, None);
            let (u_ref, v_ref) = ref_sums.solve(reference.rect.area());
            sample.head_speed = (u_ref * u_ref + v_ref * v_ref).sqrt() * per_s;
            for (i, slot) in self.slots[1..].iter().enumerate() {
                let (sums, residual_speed) = self.flow_sums(slot, Some((u_ref, v_ref)));
                let (_, v) = sums.solve(slot.rect.area());
                let deform = self.deformation(slot);
                let (side, region) = (i / Region::COUNT, i % Region::COUNT);
                sample.regions[side][region] = RegionMotion {
                    speed: residual_speed * per_s,
                    vy: (v - v_ref) * per_s,
                    deform: deform * self.unit,
                };
            }
            sample.valid = true;
        }
        // Adapt the template, then keep this frame for the next one.
        let alpha = if dt > 0.0 && dt < 1.0 {
            (dt / TEMPLATE_TAU_S).min(1.0) as f32
        } else {
            0.0
        };
        for (tpl, &cur) in self.template.iter_mut().zip(self.current.iter()) {
            *tpl += alpha * (cur - *tpl);
        }
        std::mem::swap(&mut self.current, &mut self.previous);
        self.has_previous = true;
        self.last_t = t;
        sample
    }

    /// Lucas–Kanade sums between the previous and current patch (gradients
    /// of their mean, temporal difference with the brightness change of the
    /// patch removed) and, when `compensate` gives the reference flow, the
    /// normal speed of the motion left after removing it (px / frame).
    fn flow_sums(&self, slot: &PatchSlot, compensate: Option<(f32, f32)>) -> (FlowSums, f32) {
        let (w, h) = (slot.rect.w, slot.rect.h);
        let cur = &self.current[slot.offset..slot.offset + w * h];
        let prev = &self.previous[slot.offset..slot.offset + w * h];
        let mean_dt = cur.iter().zip(prev).map(|(c, p)| c - p).sum::<f32>() / (w * h) as f32;
        let mut sums = FlowSums::default();
        let (mut rr, mut gg) = (0.0f64, 0.0f64);
        let (u0, v0) = compensate.unwrap_or((0.0, 0.0));
        for y in 1..h - 1 {
            let row = y * w;
            for x in 1..w - 1 {
                let i = row + x;
                let ix = 0.25 * (cur[i + 1] - cur[i - 1] + prev[i + 1] - prev[i - 1]);
                let iy = 0.25 * (cur[i + w] - cur[i - w] + prev[i + w] - prev[i - w]);
                let it = cur[i] - prev[i] - mean_dt;
                let (ix, iy, it) = (ix as f64, iy as f64, it as f64);
                sums.gxx += ix * ix;
                sums.gxy += ix * iy;
                sums.gyy += iy * iy;
                sums.gxt += ix * it;
                sums.gyt += iy * it;
                let r = it + ix * u0 as f64 + iy * v0 as f64;
                rr += r * r;
                gg += ix * ix + iy * iy;
            }
        }
        // A floor on the gradient energy (about 2 grey levels per pixel)
        // keeps flat, textureless patches from turning noise into speed.
        let n = ((w - 2) * (h - 2)) as f64;
        let speed = (rr / (gg + 4.0 * n)).sqrt() as f32;
        (sums, speed)
    }

    /// RMS difference from the template (brightness offset removed),
    /// normalised by the template's gradient: roughly a displacement in px.
    fn deformation(&self, slot: &PatchSlot) -> f32 {
        let (w, h) = (slot.rect.w, slot.rect.h);
        let cur = &self.current[slot.offset..slot.offset + w * h];
        let tpl = &self.template[slot.offset..slot.offset + w * h];
        let n = (w * h) as f32;
        let offset = cur.iter().zip(tpl).map(|(c, t)| c - t).sum::<f32>() / n;
        let mut dd = 0.0f64;
        let mut gg = 0.0f64;
        for y in 1..h - 1 {
            let row = y * w;
            for x in 1..w - 1 {
                let i = row + x;
                let d = (cur[i] - tpl[i] - offset) as f64;
                dd += d * d;
                let gx = 0.5 * (tpl[i + 1] - tpl[i - 1]) as f64;
                let gy = 0.5 * (tpl[i + w] - tpl[i - w]) as f64;
                gg += gx * gx + gy * gy;
            }
        }
        let m = ((w - 2) * (h - 2)) as f64;
        (dd / (gg + 4.0 * m)).sqrt() as f32
    }
}

/// Resamples a canonical rectangle from the frame (bilinear, clamped edges).
fn sample_patch(
    luma: &[u8],
    width: usize,
    height: usize,
    to_image: &Similarity,
    rect: &Rect,
    out: &mut [f32],
) {
    let max_x = (width - 1) as f32;
    let max_y = (height - 1) as f32;
    for row in 0..rect.h {
        let cy = rect.y0 + row as f32 + 0.5;
        for col in 0..rect.w {
            let cx = rect.x0 + col as f32 + 0.5;
            let p = to_image.apply([cx, cy]);
            let x = (p[0] - 0.5).clamp(0.0, max_x);
            let y = (p[1] - 0.5).clamp(0.0, max_y);
            let (x0, y0) = (x as usize, y as usize);
            let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
            let (fx, fy) = (x - x0 as f32, y - y0 as f32);
            let v00 = luma[y0 * width + x0] as f32;
            let v01 = luma[y0 * width + x1] as f32;
            let v10 = luma[y1 * width + x0] as f32;
            let v11 = luma[y1 * width + x1] as f32;
            let top = v00 + fx * (v01 - v00);
            let bottom = v10 + fx * (v11 - v10);
            out[row * rect.w + col] = top + fy * (bottom - top);
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

    fn simple_layout() -> RegionLayout {
        // A synthetic landmark set: only the indices the layout reads matter.
        let mut pts = vec![[100.0f32, 100.0, 0.0]; 468];
        let set = |pts: &mut Vec<[f32; 3]>, i: usize, x: f32, y: f32| pts[i] = [x, y, 0.0];
        set(&mut pts, 33, 60.0, 80.0);
        set(&mut pts, 133, 90.0, 80.0);
        set(&mut pts, 263, 140.0, 80.0);
        set(&mut pts, 362, 110.0, 80.0);
        for (i, x) in [(160, 70.0), (159, 75.0), (158, 80.0)] {
            set(&mut pts, i, x, 75.0);
        }
        for (i, x) in [(144, 70.0), (145, 75.0), (153, 80.0)] {
            set(&mut pts, i, x, 85.0);
        }
        for (i, x) in [(387, 130.0), (386, 125.0), (385, 120.0)] {
            set(&mut pts, i, x, 75.0);
        }
        for (i, x) in [(373, 130.0), (374, 125.0), (380, 120.0)] {
            set(&mut pts, i, x, 85.0);
        }
        for i in [70, 63, 105, 66, 107] {
            set(&mut pts, i, 75.0, 62.0);
        }
        for i in [300, 293, 334, 296, 336] {
            set(&mut pts, i, 125.0, 62.0);
        }
        for i in [50, 205] {
            set(&mut pts, i, 70.0, 110.0);
        }
        for i in [280, 425] {
            set(&mut pts, i, 130.0, 110.0);
        }
        set(&mut pts, 61, 85.0, 135.0);
        set(&mut pts, 291, 115.0, 135.0);
        for (i, y) in [(151, 50.0), (9, 60.0), (8, 68.0), (168, 75.0), (6, 85.0)] {
            set(&mut pts, i, 100.0, y);
        }
        RegionLayout::from_reference(&pts).expect("layout")
    }

    #[test]
    fn global_shift_is_head_motion_not_region_motion() {
        let layout = simple_layout();
        let mut m = MotionAnalyzer::new(layout);
        // The pose stays fixed while the whole image shifts by 0.5 px: the
        // reference picks it up and regions show almost no residual motion.
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
    fn local_motion_shows_in_its_region_only() {
        let layout = simple_layout();
        let rect = layout.rect(Side::Left, Region::LowerLid);
        let mut m = MotionAnalyzer::new(layout);
        let pose = Similarity::IDENTITY;
        let (w, h) = (220, 200);
        let still = texture(w, h, 0.0, 0.0);
        let moved_full = texture(w, h, 0.0, 1.0);
        // Move only the pixels of the left lower-lid rectangle down by 1 px.
        let mut moved = still.clone();
        for y in 0..h {
            for x in 0..w {
                let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
                if fx >= rect.x0 - 2.0
                    && fx <= rect.x0 + rect.w as f32 + 2.0
                    && fy >= rect.y0 - 2.0
                    && fy <= rect.y0 + rect.h as f32 + 2.0
                {
                    moved[y * w + x] = moved_full[y * w + x];
                }
            }
        }
        m.process(&still, w, h, 0.0, Some(&pose));
        let s = m.process(&moved, w, h, 1.0 / 30.0, Some(&pose));
        let lid = s.region(Side::Left, Region::LowerLid);
        let other = s.region(Side::Right, Region::LowerLid);
        assert!(lid.vy > 15.0, "downward motion expected: {lid:?}");
        assert!(
            lid.speed > 5.0 * other.speed.max(0.1),
            "{lid:?} vs {other:?}"
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
