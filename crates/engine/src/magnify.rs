//! Motion magnification: makes a twitch of a pixel or two visible by
//! amplifying what moves in the spasm band.
//!
//! Linear Eulerian video magnification (Wu et al., "Eulerian Video
//! Magnification for Revealing Subtle Changes in the World", SIGGRAPH
//! 2012). For an image `f` moved by a small `δ(t)`, the intensity at a pixel
//! is `f(x + δ(t)) ≈ f(x) + δ(t) f'(x)`: the motion shows as an intensity
//! change proportional to it. Band-passing each pixel's time series keeps
//! `δ_band(t) f'(x)`; adding it back `α` times gives
//! `f(x) + (1 + α) δ_band(t) f'(x) ≈ f(x + (1 + α) δ_band(t))`, the same
//! picture with the in-band motion `1 + α` times larger and everything else
//! (still parts, slow drift, out-of-band flicker) as it was. The
//! approximation holds while `(1 + α) δ` stays small against the size of
//! the structure that moves (Wu et al. give `λ/8` for a wavelength `λ`);
//! beyond it edges ghost rather than move, which is why the result is
//! always labelled as magnified and never measured.
//!
//! The intensity change is taken on a level of a Gaussian pyramid (each
//! level blurs with the binomial `[1 4 6 4 1] / 16` and halves the size):
//! the blur averages away pixel noise that would otherwise be amplified
//! with the motion, and the smaller level has fewer time series to filter.
//! Structures finer than the level are magnified less.
//!
//! [`magnify`] is a pure function of the frames; the frames must already be
//! stabilised (the same face-aligned window in every frame), or the head's
//! own motion in the band would be magnified too. [`sample_window`] and
//! [`stabilised_clip`] cut such windows from frames at given poses, and
//! [`steady_poses`] makes per-frame landmark poses steady enough to use.
//!
//! The temporal filter is ideal (frequency domain, raised-cosine edges):
//! clips are a few seconds long, so a whole-clip FFT per pixel is cheap,
//! exact and has no phase delay (the magnified motion stays in step with
//! the picture). Its buffers are planned once and reused for every pixel.

use anyhow::{Result, anyhow, ensure};

use crate::frame::Frame;
use crate::spectral::{band_gain, forward_plan, inverse_plan};

/// A short clip of single-channel images (luma, 0–255, as `f32`), all of
/// the same size.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Clip {
    pub width: usize,
    pub height: usize,
    /// `frames() * width * height` values, frame after frame, each frame
    /// row after row.
    pub pixels: Vec<f32>,
}

impl Clip {
    /// A clip of `frames` black frames.
    pub fn new(width: usize, height: usize, frames: usize) -> Clip {
        Clip {
            width,
            height,
            pixels: vec![0.0; width * height * frames],
        }
    }

    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.pixels
            .len()
            .checked_div(self.width * self.height)
            .unwrap_or(0)
    }

    /// Frame `i` (panics when out of range, like slice indexing).
    pub fn frame(&self, i: usize) -> &[f32] {
        let plane = self.width * self.height;
        &self.pixels[i * plane..(i + 1) * plane]
    }

    pub fn frame_mut(&mut self, i: usize) -> &mut [f32] {
        let plane = self.width * self.height;
        &mut self.pixels[i * plane..(i + 1) * plane]
    }
}

/// What to magnify and by how much.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Magnification {
    /// Temporal pass band, Hz (the upper end is capped below Nyquist).
    pub band_hz: (f64, f64),
    /// `α`: motion in the band comes out `1 + α` times larger.
    pub factor: f32,
    /// Gaussian pyramid level the motion is taken from: 0 is full
    /// resolution, each level blurs and halves the size.
    pub level: u32,
}

/// Fewest frames [`magnify`] accepts: below this the band has no bins.
pub const MIN_FRAMES: usize = 8;

/// The clip with the motion in `m.band_hz` magnified by `1 + m.factor`,
/// clamped to the luma range 0–255. `fps` is the clip's frame rate.
pub fn magnify(clip: &Clip, fps: f64, m: &Magnification) -> Result<Clip> {
    ensure!(
        m.factor.is_finite() && m.factor >= 0.0,
        "magnification factor {} is not a non-negative number",
        m.factor
    );
    let band = MotionBand::of(clip, fps, m.band_hz, m.level)?;
    let mut out = clip.clone();
    for t in 0..clip.frames() {
        band.add_to(t, m.factor, out.frame_mut(t));
    }
    Ok(out)
}

/// A clip's in-band intensity change ([`temporal_band`]), computed once and
/// added back at full resolution to whichever frames are wanted, at any
/// factor: choosing a factor from the change at one frame, then drawing
/// that frame, costs one band-pass, not two.
pub struct MotionBand {
    coarse: Clip,
    width: usize,
    /// Bilinear taps from full resolution to the level, per column and per
    /// row: the level's pixel i sits on the full-resolution pixel
    /// i * 2^level (each reduction keeps the even pixels).
    xs: Vec<(usize, usize, f32)>,
    ys: Vec<(usize, usize, f32)>,
}

impl MotionBand {
    pub fn of(clip: &Clip, fps: f64, band_hz: (f64, f64), level: u32) -> Result<MotionBand> {
        let coarse = temporal_band(clip, fps, band_hz, level)?;
        let step = (1u32 << level) as f32;
        let taps = |n: usize, coarse: usize| -> Vec<(usize, usize, f32)> {
            (0..n)
                .map(|x| {
                    let c = (x as f32 / step).min((coarse - 1) as f32);
                    let a = c.floor() as usize;
                    (a, (a + 1).min(coarse - 1), c - a as f32)
                })
                .collect()
        };
        Ok(MotionBand {
            xs: taps(clip.width, coarse.width),
            ys: taps(clip.height, coarse.height),
            width: clip.width,
            coarse,
        })
    }

    /// Adds frame `t`'s in-band change `factor` times to `frame` (the
    /// clip's frame `t` or a copy of it), clamped to 0–255.
    pub fn add_to(&self, t: usize, factor: f32, frame: &mut [f32]) {
        let coarse = self.coarse.frame(t);
        let q = |y: usize, x: usize| coarse[y * self.coarse.width + x];
        for (row, &(ya, yb, fy)) in frame.chunks_exact_mut(self.width).zip(&self.ys) {
            for (px, &(xa, xb, fx)) in row.iter_mut().zip(&self.xs) {
                let top = q(ya, xa) + fx * (q(ya, xb) - q(ya, xa));
                let bottom = q(yb, xa) + fx * (q(yb, xb) - q(yb, xa));
                let motion = top + fy * (bottom - top);
                *px = (*px + factor * motion).clamp(0.0, 255.0);
            }
        }
    }
}

/// Each pixel's time series on pyramid level `level`, band-passed to
/// `band_hz` (zero-phase, whole clip at once): the intensity change the
/// in-band motion makes, at the level's size.
pub fn temporal_band(clip: &Clip, fps: f64, band_hz: (f64, f64), level: u32) -> Result<Clip> {
    let n = clip.frames();
    ensure!(
        clip.width > 0 && clip.height > 0 && n >= MIN_FRAMES,
        "a clip of {n} frames of {}x{} is too short or empty to magnify",
        clip.width,
        clip.height
    );
    ensure!(
        clip.pixels.len() == n * clip.width * clip.height,
        "clip has {} values, not a whole number of {}x{} frames",
        clip.pixels.len(),
        clip.width,
        clip.height
    );
    ensure!(
        fps.is_finite() && fps > 0.0,
        "frame rate {fps} is not positive"
    );
    let hi = band_hz.1.min(0.45 * fps);
    ensure!(
        band_hz.0 > 0.0 && band_hz.0 < hi,
        "band {:.2}–{:.2} Hz is empty at {fps:.1} fps",
        band_hz.0,
        band_hz.1
    );
    ensure!(level <= 8, "pyramid level {level} is beyond any face crop");
    let band = (band_hz.0, hi);

    // Down the pyramid, frame by frame, through two reused scratch planes.
    let mut coarse = Clip::default();
    let (mut a, mut b, mut tmp) = (Vec::new(), Vec::new(), Vec::new());
    for t in 0..n {
        a.clear();
        a.extend_from_slice(clip.frame(t));
        let (mut w, mut h) = (clip.width, clip.height);
        for _ in 0..level {
            (w, h) = reduce(&a, w, h, &mut tmp, &mut b);
            std::mem::swap(&mut a, &mut b);
        }
        if t == 0 {
            coarse = Clip::new(w, h, n);
        }
        coarse.frame_mut(t).copy_from_slice(&a);
    }

    // The temporal filter, one pixel's series at a time; every buffer is
    // made once for the clip's length and reused for all pixels.
    //
    // The FFT treats its input as periodic, and a series whose end does not
    // meet its start has a jump or a kink at the wrap, which spreads energy
    // over every frequency, the band too: a slow drift would come out as
    // ripples near the clip's ends, magnified. So the line through the
    // first and last values is taken out (no jump), and the series is
    // extended by its point reflection, `x0 … x(n-1), -x(n-2) … -x1`,
    // whose slope also runs on through both joins (no kink).
    let m = 2 * (n - 1);
    let forward = forward_plan(m);
    let inverse = inverse_plan(m);
    let mut series = forward.make_input_vec();
    let mut spectrum = forward.make_output_vec();
    let mut forward_scratch = forward.make_scratch_vec();
    let mut inverse_scratch = inverse.make_scratch_vec();
    // The FFT's round trip scales by m; fold 1/m into the gains.
    let gains: Vec<f32> = (0..spectrum.len())
        .map(|k| (band_gain(k as f64 * fps / m as f64, band) / m as f64) as f32)
        .collect();
    let plane = coarse.width * coarse.height;
    let slope_scale = 1.0 / (n - 1) as f32;
    for p in 0..plane {
        let (first, last) = (coarse.pixels[p], coarse.pixels[(n - 1) * plane + p]);
        let slope = (last - first) * slope_scale;
        for (t, s) in series.iter_mut().take(n).enumerate() {
            *s = coarse.pixels[t * plane + p] - (first + slope * t as f32);
        }
        for k in 1..n - 1 {
            series[n - 1 + k] = -series[n - 1 - k];
        }
        forward
            .process_with_scratch(&mut series, &mut spectrum, &mut forward_scratch)
            .map_err(|e| anyhow!("band-pass FFT: {e}"))?;
        for (c, g) in spectrum.iter_mut().zip(&gains) {
            *c *= *g;
        }
        // A real series' spectrum has no imaginary part at 0 and Nyquist
        // (m is even).
        spectrum[0].im = 0.0;
        if let Some(c) = spectrum.last_mut() {
            c.im = 0.0;
        }
        inverse
            .process_with_scratch(&mut spectrum, &mut series, &mut inverse_scratch)
            .map_err(|e| anyhow!("band-pass inverse FFT: {e}"))?;
        for (t, s) in series.iter().take(n).enumerate() {
            coarse.pixels[t * plane + p] = *s;
        }
    }
    Ok(coarse)
}

/// One Gaussian pyramid reduction (Burt and Adelson): blur with
/// `[1 4 6 4 1] / 16` across and down, keep the even pixels. Edge pixels
/// repeat outside the image. Writes `dst` and returns its size.
fn reduce(
    src: &[f32],
    w: usize,
    h: usize,
    tmp: &mut Vec<f32>,
    dst: &mut Vec<f32>,
) -> (usize, usize) {
    const K: [f32; 5] = [1.0 / 16.0, 4.0 / 16.0, 6.0 / 16.0, 4.0 / 16.0, 1.0 / 16.0];
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let clamp = |i: isize, n: usize| i.clamp(0, n as isize - 1) as usize;
    // Across: only the kept columns, every row.
    tmp.clear();
    tmp.resize(cw * h, 0.0);
    for y in 0..h {
        let row = &src[y * w..(y + 1) * w];
        for cx in 0..cw {
            let x = 2 * cx as isize;
            tmp[y * cw + cx] = K
                .iter()
                .enumerate()
                .map(|(k, g)| g * row[clamp(x + k as isize - 2, w)])
                .sum();
        }
    }
    // Down: only the kept rows.
    dst.clear();
    dst.resize(cw * ch, 0.0);
    for cy in 0..ch {
        let y = 2 * cy as isize;
        for (k, g) in K.iter().enumerate() {
            let sy = clamp(y + k as isize - 2, h);
            let src_row = &tmp[sy * cw..(sy + 1) * cw];
            for (d, s) in dst[cy * cw..(cy + 1) * cw].iter_mut().zip(src_row) {
                *d += g * s;
            }
        }
    }
    (cw, ch)
}

/// Where a stabilised window sits in one frame: a similarity from window
/// pixels to frame pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowPose {
    /// The window's centre, frame pixels.
    pub center: [f32; 2],
    /// Angle from the frame's x axis to the window's x axis, radians (y
    /// down, so positive turns clockwise on screen).
    pub rotation: f32,
    /// Frame pixels per window pixel.
    pub scale: f32,
}

impl WindowPose {
    /// Frame position (pixel units, pixel `i` spanning `[i, i + 1)`) of the
    /// point `(u, v)` of a `width` x `height` window.
    pub fn to_frame(&self, u: f32, v: f32, width: usize, height: usize) -> [f32; 2] {
        let (du, dv) = (
            (u - width as f32 / 2.0) * self.scale,
            (v - height as f32 / 2.0) * self.scale,
        );
        let (s, c) = self.rotation.sin_cos();
        [
            self.center[0] + c * du - s * dv,
            self.center[1] + s * du + c * dv,
        ]
    }
}

/// Samples the `width` x `height` window at `pose` of `frame`, bilinearly
/// (edge pixels repeat outside the frame), into `luma` and, when given,
/// `rgb` (3 bytes a pixel).
pub fn sample_window(
    frame: &Frame,
    pose: &WindowPose,
    width: usize,
    height: usize,
    luma: &mut [f32],
    mut rgb: Option<&mut [u8]>,
) -> Result<()> {
    let (fw, fh) = (frame.width, frame.height);
    ensure!(
        fw > 0 && fh > 0 && frame.luma.len() >= fw * fh && frame.rgb.len() >= fw * fh * 3,
        "frame {fw}x{fh} has no pixels"
    );
    ensure!(
        luma.len() == width * height && rgb.as_ref().is_none_or(|c| c.len() == width * height * 3),
        "window buffers do not hold {width}x{height} pixels"
    );
    ensure!(
        pose.center.iter().all(|c| c.is_finite())
            && pose.rotation.is_finite()
            && pose.scale.is_finite()
            && pose.scale > 0.0,
        "window pose {pose:?} is not a pose"
    );
    let tap = |p: f32, n: usize| -> (usize, usize, f32) {
        // Pixel centres sit at i + 0.5.
        let p = (p - 0.5).clamp(0.0, (n - 1) as f32);
        let a = p.floor() as usize;
        (a, (a + 1).min(n - 1), p - a as f32)
    };
    for v in 0..height {
        for u in 0..width {
            let [x, y] = pose.to_frame(u as f32 + 0.5, v as f32 + 0.5, width, height);
            let ((xa, xb, ax), (ya, yb, ay)) = (tap(x, fw), tap(y, fh));
            let mix = |q: &dyn Fn(usize, usize) -> f32| {
                let top = q(ya, xa) + ax * (q(ya, xb) - q(ya, xa));
                let bottom = q(yb, xa) + ax * (q(yb, xb) - q(yb, xa));
                top + ay * (bottom - top)
            };
            let i = v * width + u;
            luma[i] = mix(&|y, x| frame.luma[y * fw + x] as f32);
            if let Some(rgb) = rgb.as_deref_mut() {
                for k in 0..3 {
                    let value = mix(&|y, x| frame.rgb[(y * fw + x) * 3 + k] as f32);
                    rgb[i * 3 + k] = value.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
    }
    Ok(())
}

/// The luma of the window at each frame's pose, as a clip: the head's
/// motion (as far as the poses follow it) taken out.
pub fn stabilised_clip<'a>(
    frames: impl IntoIterator<Item = &'a Frame>,
    poses: &[WindowPose],
    width: usize,
    height: usize,
) -> Result<Clip> {
    let mut clip = Clip::new(width, height, poses.len());
    let mut count = 0;
    for (i, frame) in frames.into_iter().enumerate() {
        ensure!(i < poses.len(), "more frames than poses ({})", poses.len());
        sample_window(frame, &poses[i], width, height, clip.frame_mut(i), None)?;
        count += 1;
    }
    ensure!(
        count == poses.len(),
        "{count} frames for {} poses",
        poses.len()
    );
    Ok(clip)
}

/// Steady window poses from per-frame measured ones (`None` where the face
/// was not found): the centre averaged over `2 * half + 1` frames, rotation
/// and scale the clip's medians; gaps are bridged by straight lines.
/// `None` when no frame has a pose.
///
/// Landmarks jitter by a fraction of a pixel from frame to frame, and
/// FaceMesh's eye corners move a little with the lids: a window that
/// followed them frame by frame would shake in the spasm band, and
/// magnification would show the shake. Averaged over a few tenths of a
/// second the window still follows the head's slow motion but neither the
/// jitter nor the twitch.
pub fn steady_poses(poses: &[Option<WindowPose>], half: usize) -> Option<Vec<WindowPose>> {
    let measured: Vec<(usize, WindowPose)> = poses
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.map(|p| (i, p)))
        .collect();
    if measured.is_empty() {
        return None;
    }
    let median = |mut v: Vec<f32>| -> f32 {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let rotation = median(measured.iter().map(|(_, p)| p.rotation).collect());
    let scale = median(measured.iter().map(|(_, p)| p.scale).collect());
    // Fill the gaps: between two measured centres along the line joining
    // them, before the first and after the last with the nearest. Then
    // average.
    let mut centers = Vec::with_capacity(poses.len());
    let mut next = 0;
    for i in 0..poses.len() {
        while next < measured.len() && measured[next].0 < i {
            next += 1;
        }
        let center = match (next.checked_sub(1).map(|k| measured[k]), measured.get(next)) {
            (_, Some(&(j, p))) if j == i => p.center,
            (Some((a, pa)), Some(&(b, pb))) => {
                let f = (i - a) as f32 / (b - a) as f32;
                [
                    pa.center[0] + f * (pb.center[0] - pa.center[0]),
                    pa.center[1] + f * (pb.center[1] - pa.center[1]),
                ]
            }
            (Some((_, p)), None) | (None, Some(&(_, p))) => p.center,
            (None, None) => unreachable!("measured is not empty"),
        };
        centers.push(center);
    }
    Some(
        (0..poses.len())
            .map(|i| {
                let (lo, hi) = (i.saturating_sub(half), (i + half).min(poses.len() - 1));
                let k = (hi - lo + 1) as f32;
                let sum = centers[lo..=hi]
                    .iter()
                    .fold([0.0f32; 2], |s, c| [s[0] + c[0], s[1] + c[1]]);
                WindowPose {
                    center: [sum[0] / k, sum[1] / k],
                    rotation,
                    scale,
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    const FPS: f64 = 30.0;
    const W: usize = 64;
    const H: usize = 48;
    const BACKGROUND: f32 = 100.0;

    /// A clip of `n` frames whose frame `t` is `image(t, x, y)`.
    fn clip(n: usize, image: impl Fn(usize, f32, f32) -> f32) -> Clip {
        let mut c = Clip::new(W, H, n);
        for t in 0..n {
            for (i, px) in c.frame_mut(t).iter_mut().enumerate() {
                *px = image(t, (i % W) as f32, (i / W) as f32);
            }
        }
        c
    }

    /// A Gaussian blob (σ 3 px, 80 above the background) at `(x, y)`.
    fn blob(px: f32, py: f32, x: f32, y: f32) -> f32 {
        let r2 = (px - x).powi(2) + (py - y).powi(2);
        BACKGROUND + 80.0 * (-r2 / (2.0 * 9.0)).exp()
    }

    /// Least-squares amplitude of the `f` Hz sinusoid in `x` (mean removed),
    /// over the frames `skip..len - skip`.
    fn amplitude_at(x: &[f64], f: f64, skip: usize) -> f64 {
        let range = skip..x.len() - skip;
        let mean = x[range.clone()].iter().sum::<f64>() / range.len() as f64;
        let (mut ss, mut cc, mut sc, mut xs, mut xc) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for t in range {
            let phase = 2.0 * PI * f * t as f64 / FPS;
            let (s, c) = phase.sin_cos();
            let v = x[t] - mean;
            ss += s * s;
            cc += c * c;
            sc += s * c;
            xs += v * s;
            xc += v * c;
        }
        // Solve the 2x2 normal equations for a sin + b cos.
        let det = ss * cc - sc * sc;
        let a = (xs * cc - xc * sc) / det;
        let b = (xc * ss - xs * sc) / det;
        a.hypot(b)
    }

    /// Horizontal centroid of the brightness above the background, per
    /// frame.
    fn centroids(c: &Clip) -> Vec<f64> {
        (0..c.frames())
            .map(|t| {
                let (mut m, mut mx) = (0.0f64, 0.0f64);
                for (i, v) in c.frame(t).iter().enumerate() {
                    let w = (*v - BACKGROUND) as f64;
                    m += w;
                    mx += w * (i % W) as f64;
                }
                mx / m
            })
            .collect()
    }

    fn spasm_band(factor: f32, level: u32) -> Magnification {
        Magnification {
            band_hz: (2.0, 12.0),
            factor,
            level,
        }
    }

    #[test]
    fn in_band_motion_grows_by_one_plus_the_factor() {
        // A blob shaking 0.5 px at 5 Hz: 100 frames is not a whole number
        // of cycles, so the filter's leakage is part of the test.
        let n = 100;
        let shake = |t: usize| 0.5 * (2.0 * PI * 5.0 * t as f64 / FPS).sin() as f32;
        let input = clip(n, |t, x, y| blob(x, y, 32.0 + shake(t), 24.0));
        for (factor, level) in [(4.0, 1), (10.0, 1), (10.0, 2)] {
            let out = magnify(&input, FPS, &spasm_band(factor, level)).unwrap();
            let before = amplitude_at(&centroids(&input), 5.0, 10);
            let after = amplitude_at(&centroids(&out), 5.0, 10);
            let gain = after / before;
            let want = 1.0 + factor as f64;
            assert!(
                (gain / want - 1.0).abs() < 0.05,
                "factor {factor}, level {level}: motion grew {gain:.2}x, want {want}x"
            );
        }
    }

    /// Sub-pixel position of the bright-to-dark edge of row `y`: where it
    /// crosses half-way between the two sides.
    fn edge_position(frame: &[f32], y: usize, lo: f32, hi: f32) -> f64 {
        let row = &frame[y * W..(y + 1) * W];
        let mid = (lo + hi) / 2.0;
        // The crossing nearest the middle of the row.
        (1..W)
            .filter(|&x| (row[x - 1] - mid) * (row[x] - mid) <= 0.0 && row[x - 1] != row[x])
            .map(|x| (x - 1) as f64 + ((row[x - 1] - mid) / (row[x - 1] - row[x])) as f64)
            .min_by(|a, b| (a - 32.0).abs().total_cmp(&(b - 32.0).abs()))
            .unwrap_or(f64::NAN)
    }

    #[test]
    fn a_shaking_edge_moves_one_plus_the_factor_times_as_far() {
        // A soft edge (σ 4 px) moving 0.3 px at 6 Hz, magnified 5 times:
        // the edge itself, not an average, must move 1 + α times as far.
        // The level's blur (variance 1 px² at level 1, plus the bilinear
        // expansion's) flattens the edge's slope a little, so slightly
        // less than 1 + α is expected; 12 % covers it.
        let n = 90;
        let edge = |x: f32, at: f32| {
            let z = (x - at) / (4.0 * std::f32::consts::SQRT_2);
            // erf by its tanh approximation (close enough for a test image)
            BACKGROUND
                + 60.0
                    * (1.0
                        - (std::f32::consts::FRAC_2_SQRT_PI * z * (1.0 + 0.089_4 * z * z)).tanh())
        };
        let shake = |t: usize| 0.3 * (2.0 * PI * 6.0 * t as f64 / FPS).sin() as f32;
        let input = clip(n, |t, x, _| edge(x + 0.5, 32.0 + shake(t)));
        let factor = 5.0;
        let out = magnify(&input, FPS, &spasm_band(factor, 1)).unwrap();
        let position = |c: &Clip| -> Vec<f64> {
            (0..n)
                .map(|t| edge_position(c.frame(t), H / 2, BACKGROUND, BACKGROUND + 120.0))
                .collect()
        };
        let before = amplitude_at(&position(&input), 6.0, 10);
        let after = amplitude_at(&position(&out), 6.0, 10);
        assert!((before - 0.3).abs() < 0.03, "edge shook {before:.3} px");
        let gain = after / before;
        let want = 1.0 + factor as f64;
        assert!(
            (gain / want - 1.0).abs() < 0.12,
            "edge motion grew {gain:.2}x, want {want}x"
        );
    }

    #[test]
    fn slow_drift_outside_the_band_does_not_grow() {
        // 3 px of drift at 0.4 Hz (1.2 cycles, not a whole number, so the
        // clip's ends do not meet) and the 5 Hz shake on top.
        let n = 90;
        let drift = |t: usize| 3.0 * (2.0 * PI * 0.4 * t as f64 / FPS).sin() as f32;
        let shake = |t: usize| 0.4 * (2.0 * PI * 5.0 * t as f64 / FPS).sin() as f32;
        let only_drift = clip(n, |t, x, y| blob(x, y, 32.0 + drift(t), 24.0));
        let both = clip(n, |t, x, y| blob(x, y, 32.0 + drift(t) + shake(t), 24.0));
        let factor = 10.0;
        let out = magnify(&only_drift, FPS, &spasm_band(factor, 1)).unwrap();
        // The drift itself: the centroid's path is unchanged, frame by
        // frame. Near the clip's ends the filter's edge effects (the drift
        // bends there and the reflection cannot continue the bend) leave a
        // little ripple; magnified 10 times without that care it was 1.4 px.
        let moved = |range: std::ops::Range<usize>| {
            let (c_in, c_out) = (centroids(&only_drift), centroids(&out));
            range
                .map(|t| (c_in[t] - c_out[t]).abs())
                .fold(0.0, f64::max)
        };
        let (middle, whole) = (moved(n / 6..n - n / 6), moved(0..n));
        assert!(
            middle < 0.1 && whole < 0.35,
            "drift path (3 px) moved by up to {middle:.3} px in the middle, {whole:.3} px overall"
        );
        // With the shake on top: the shake grows, the drift does not. The
        // shake's path is the difference from the drift-only clip (a fit of
        // one tone over 1.2 cycles of drift would mix the two).
        let out_both = magnify(&both, FPS, &spasm_band(factor, 1)).unwrap();
        let (c_in, c_out) = (centroids(&both), centroids(&out_both));
        let drift_gain = amplitude_at(&c_out, 0.4, 0) / amplitude_at(&c_in, 0.4, 0);
        assert!(
            (drift_gain - 1.0).abs() < 0.05,
            "drift grew {drift_gain:.3}x"
        );
        let path = |a: &Clip, b: &Clip| -> Vec<f64> {
            centroids(a)
                .iter()
                .zip(centroids(b))
                .map(|(x, y)| x - y)
                .collect()
        };
        let shake_in = amplitude_at(&path(&both, &only_drift), 5.0, 10);
        let shake_out = amplitude_at(&path(&out_both, &out), 5.0, 10);
        let shake_gain = shake_out / shake_in;
        assert!(
            (shake_gain / 11.0 - 1.0).abs() < 0.08,
            "shake grew {shake_gain:.2}x, want 11x"
        );
    }

    /// Random numbers, reproducible (xorshift).
    fn noise(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed.max(1);
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Root-mean-square of `a - b`.
    fn rms_difference(a: &Clip, b: &Clip) -> f64 {
        let s: f64 = a
            .pixels
            .iter()
            .zip(&b.pixels)
            .map(|(x, y)| ((x - y) as f64).powi(2))
            .sum();
        (s / a.pixels.len() as f64).sqrt()
    }

    #[test]
    fn flicker_outside_the_band_does_not_grow() {
        // Every pixel flickers by its own sum of random-phase tones below
        // 1.5 Hz and above 12.5 Hz (spatially independent, so the pyramid's
        // blur cannot be what removes it): out-of-band noise.
        let n = 120;
        let mut rand = noise(7);
        let tones: Vec<Vec<(f64, f64)>> = (0..W * H)
            .map(|_| {
                [0.3, 0.8, 1.3, 12.8, 13.6, 14.4]
                    .iter()
                    .map(|&f| (f, 2.0 * PI * rand()))
                    .collect()
            })
            .collect();
        let still = clip(n, |_, x, y| blob(x, y, 32.0, 24.0));
        let flickering = clip(n, |t, x, y| {
            let p = y as usize * W + x as usize;
            let f: f64 = tones[p]
                .iter()
                .map(|(f, phase)| 2.0 * (2.0 * PI * f * t as f64 / FPS + phase).sin())
                .sum();
            blob(x, y, 32.0, 24.0) + f as f32
        });
        let out = magnify(&flickering, FPS, &spasm_band(10.0, 1)).unwrap();
        let before = rms_difference(&flickering, &still);
        let after = rms_difference(&out, &still);
        assert!(
            (after / before - 1.0).abs() < 0.1,
            "out-of-band flicker went from {before:.2} to {after:.2} grey levels"
        );
    }

    #[test]
    fn pixel_noise_is_held_back_by_the_pyramid_level() {
        // White noise has a share in the band, and that share is
        // magnified; the pyramid's blur is what keeps grain from swamping
        // the picture. Spatially independent noise of σ 2 grey levels, α 10:
        // full resolution it grows several times, two levels down it must
        // stay under 1.6 times.
        let n = 90;
        let mut rand = noise(11);
        let grain: Vec<f32> = (0..n * W * H)
            .map(|_| {
                // Sum of 12 uniforms: near-Gaussian, σ 1.
                ((0..12).map(|_| rand()).sum::<f64>() - 6.0) as f32 * 2.0
            })
            .collect();
        let still = clip(n, |_, x, y| blob(x, y, 32.0, 24.0));
        let mut noisy = still.clone();
        for (p, g) in noisy.pixels.iter_mut().zip(&grain) {
            *p += g;
        }
        let before = rms_difference(&noisy, &still);
        let growth = |level| {
            let out = magnify(&noisy, FPS, &spasm_band(10.0, level)).unwrap();
            rms_difference(&out, &still) / before
        };
        let (full, coarse) = (growth(0), growth(2));
        assert!(full > 4.0, "full resolution: noise grew only {full:.2}x");
        assert!(coarse < 1.6, "level 2: noise grew {coarse:.2}x");
    }

    #[test]
    fn a_still_clip_comes_out_unchanged() {
        let input = clip(40, |_, x, y| blob(x, y, 30.0, 20.0) + 0.5 * x);
        for level in [0, 1, 3] {
            let out = magnify(&input, FPS, &spasm_band(20.0, level)).unwrap();
            let worst = input
                .pixels
                .iter()
                .zip(&out.pixels)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-3, "level {level}: a pixel changed by {worst}");
        }
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let input = clip(20, |_, x, y| blob(x, y, 30.0, 20.0));
        let short = clip(3, |_, x, y| blob(x, y, 30.0, 20.0));
        assert!(magnify(&short, FPS, &spasm_band(10.0, 1)).is_err());
        assert!(magnify(&input, 0.0, &spasm_band(10.0, 1)).is_err());
        assert!(magnify(&input, FPS, &spasm_band(f32::NAN, 1)).is_err());
        let above_nyquist = Magnification {
            band_hz: (16.0, 20.0),
            factor: 10.0,
            level: 1,
        };
        assert!(magnify(&input, FPS, &above_nyquist).is_err());
        assert!(magnify(&Clip::default(), FPS, &spasm_band(10.0, 1)).is_err());
    }

    /// A frame with a bright square (3x3) centred on `(x, y)` in grey.
    fn frame_with_dot(x: usize, y: usize) -> Frame {
        let mut f = Frame::default();
        f.ensure_size(80, 60);
        f.rgb.fill(40);
        for dy in 0..3 {
            for dx in 0..3 {
                let i = ((y + dy - 1) * 80 + x + dx - 1) * 3;
                f.rgb[i..i + 3].copy_from_slice(&[250, 200, 150]);
            }
        }
        f.update_luma_from_rgb();
        f
    }

    #[test]
    fn windows_follow_the_pose_and_cancel_its_motion() {
        // A dot wandering over the frame, a window following it: every
        // window shows the dot in its centre.
        let spots = [(20, 15), (21, 15), (40, 30), (60, 44)];
        let frames: Vec<Frame> = spots.iter().map(|&(x, y)| frame_with_dot(x, y)).collect();
        let poses: Vec<WindowPose> = spots
            .iter()
            .map(|&(x, y)| WindowPose {
                center: [x as f32 + 0.5, y as f32 + 0.5],
                rotation: 0.3,
                scale: 0.5,
            })
            .collect();
        let (w, h) = (16, 10);
        let c = stabilised_clip(&frames, &poses, w, h).unwrap();
        for t in 0..c.frames() {
            let moved = c
                .frame(t)
                .iter()
                .zip(c.frame(0))
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(moved < 0.01, "frame {t} differs from frame 0 by {moved}");
            let brightest = c
                .frame(t)
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| (i % w, i / w))
                .unwrap();
            // At half a frame pixel per window pixel, the 3x3 dot covers
            // the window's middle 6x6; its centre is the middle.
            assert!(
                brightest.0.abs_diff(w / 2) <= 1 && brightest.1.abs_diff(h / 2) <= 1,
                "brightest window pixel at {brightest:?}"
            );
        }
        // The colour comes along.
        let mut luma = vec![0.0; w * h];
        let mut rgb = vec![0u8; w * h * 3];
        sample_window(&frames[2], &poses[2], w, h, &mut luma, Some(&mut rgb)).unwrap();
        let mid = ((h / 2) * w + w / 2) * 3;
        assert_eq!(&rgb[mid..mid + 3], &[250, 200, 150]);
        // A pose off the frame repeats the edge pixels and does not panic;
        // a broken pose is an error.
        let far = WindowPose {
            center: [-500.0, 9000.0],
            ..poses[0]
        };
        assert!(sample_window(&frames[0], &far, w, h, &mut luma, None).is_ok());
        let broken = WindowPose {
            scale: f32::NAN,
            ..poses[0]
        };
        assert!(sample_window(&frames[0], &broken, w, h, &mut luma, None).is_err());
        assert!(stabilised_clip(&frames, &poses[..2], w, h).is_err());
    }

    #[test]
    fn steady_poses_keep_slow_motion_and_drop_jitter() {
        // The head glides 20 px over 60 frames; the measured centre jitters
        // ±0.8 px frame to frame and is missing for a few frames.
        let measured: Vec<Option<WindowPose>> = (0..60)
            .map(|i| {
                let jitter = if i % 2 == 0 { 0.8 } else { -0.8 };
                (!(20..24).contains(&i)).then_some(WindowPose {
                    center: [100.0 + i as f32 / 3.0 + jitter, 50.0],
                    rotation: 0.1 + jitter * 0.01,
                    scale: 1.0,
                })
            })
            .collect();
        let steady = steady_poses(&measured, 4).unwrap();
        assert_eq!(steady.len(), 60);
        for (i, p) in steady.iter().enumerate().skip(5).take(50) {
            let truth = 100.0 + i as f32 / 3.0;
            assert!(
                (p.center[0] - truth).abs() < 0.3,
                "frame {i}: {} vs {truth}",
                p.center[0]
            );
            assert!((p.rotation - 0.1).abs() < 0.009);
        }
        assert!(steady_poses(&[None, None], 3).is_none());
        assert!(steady_poses(&[], 3).is_none());
    }
}
