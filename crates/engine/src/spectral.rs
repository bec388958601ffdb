//! Spectral stage: uniform resampling, windowed spectra, band power and
//! dominant frequency.
//!
//! Plans come from one `RealFftPlanner` per thread, which keeps every plan it
//! made: the live view re-analyses the last minutes once a second, and its
//! transforms of the same lengths are planned once, not every time. Every
//! buffer is allocated when the analyser is built, so spectra of many
//! windows allocate nothing.

use std::cell::RefCell;
use std::sync::Arc;

use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
// realfft is rustfft's front end for real input; the bins are rustfft's
// complex numbers.
use rustfft::num_complex::Complex32;

thread_local! {
    static PLANNER: RefCell<RealFftPlanner<f32>> = RefCell::new(RealFftPlanner::new());
}

/// The forward real FFT of `len` points, planned once per thread.
pub(crate) fn forward_plan(len: usize) -> Arc<dyn RealToComplex<f32>> {
    PLANNER.with(|p| p.borrow_mut().plan_fft_forward(len))
}

/// The inverse real FFT of `len` points, planned once per thread.
pub(crate) fn inverse_plan(len: usize) -> Arc<dyn ComplexToReal<f32>> {
    PLANNER.with(|p| p.borrow_mut().plan_fft_inverse(len))
}

/// A uniform time grid: `n` samples from `t0` at `rate` Hz. Gaps in the
/// input longer than `max_gap_s` (face lost, dropped frames) become `fill`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UniformGrid {
    pub t0: f64,
    pub rate: f64,
    pub n: usize,
    pub max_gap_s: f64,
    pub fill: f32,
}

/// Resamples `(t, value)` samples with uneven timestamps onto `grid` by
/// linear interpolation.
pub fn resample_uniform(times: &[f64], values: &[f32], grid: &UniformGrid, out: &mut Vec<f32>) {
    let UniformGrid {
        t0,
        rate,
        n: n_out,
        max_gap_s,
        fill,
    } = *grid;
    out.clear();
    out.reserve(n_out);
    let mut j = 0usize;
    for k in 0..n_out {
        let t = t0 + k as f64 / rate;
        while j + 1 < times.len() && times[j + 1] <= t {
            j += 1;
        }
        let v = if times.is_empty() {
            fill
        } else if t <= times[0] {
            if times[0] - t <= max_gap_s {
                values[0]
            } else {
                fill
            }
        } else if j + 1 >= times.len() {
            if t - times[j] <= max_gap_s {
                values[j]
            } else {
                fill
            }
        } else {
            let (ta, tb) = (times[j], times[j + 1]);
            if t - ta < 1e-9 {
                values[j]
            } else if tb - ta > max_gap_s {
                fill
            } else {
                let f = ((t - ta) / (tb - ta)) as f32;
                values[j] + f * (values[j + 1] - values[j])
            }
        };
        out.push(v);
    }
}

/// Window and band settings of the spectral stage.
#[derive(Clone, Debug, PartialEq)]
pub struct SpectralConfig {
    /// Uniform sample rate, Hz.
    pub rate_hz: f64,
    /// Window length, seconds.
    pub window_s: f64,
    /// Hop between windows, seconds.
    pub hop_s: f64,
    /// Spasm band, Hz. The upper edge is capped below Nyquist.
    pub band_lo_hz: f64,
    pub band_hi_hz: f64,
}

impl Default for SpectralConfig {
    fn default() -> Self {
        SpectralConfig {
            rate_hz: 30.0,
            window_s: 2.0,
            hop_s: 0.5,
            band_lo_hz: 2.0,
            band_hi_hz: 12.0,
        }
    }
}

impl SpectralConfig {
    /// Band edges actually used: the upper one stays below 0.9 × Nyquist.
    pub fn band(&self) -> (f64, f64) {
        let hi = self.band_hi_hz.min(0.45 * self.rate_hz);
        (self.band_lo_hz.min(hi * 0.5), hi)
    }
}

/// The spectrum of one window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowSpectrum {
    /// Power per frequency bin (one-sided), same length as `freqs`.
    pub power: Vec<f32>,
    /// Mean power in the spasm band.
    pub band_power: f32,
    /// Frequency of the largest in-band peak (parabolic interpolation), Hz.
    pub dominant_hz: f32,
    /// Share of the band's power that sits in the main lobe of the peak:
    /// near 1 for a clean rhythm, small for broadband noise.
    pub peak_share: f32,
}

/// Computes Hann-windowed power spectra of fixed-length windows.
pub struct Spectrum {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    input: Vec<f32>,
    output: Vec<Complex32>,
    scratch: Vec<Complex32>,
    rate: f64,
    band_bins: (usize, usize),
}

impl Spectrum {
    /// A spectrum of `len` samples at `rate` Hz, zero-padded to `fft_len`
    /// (>= len) for finer peak placement.
    pub fn new(len: usize, fft_len: usize, rate: f64, band: (f64, f64)) -> Spectrum {
        let fft_len = fft_len.max(len).max(4);
        let fft = forward_plan(fft_len);
        let window = (0..len)
            .map(|i| {
                let x = std::f32::consts::PI * 2.0 * i as f32 / (len.max(2) - 1) as f32;
                0.5 - 0.5 * x.cos()
            })
            .collect();
        let input = fft.make_input_vec();
        let output = fft.make_output_vec();
        let scratch = fft.make_scratch_vec();
        let df = rate / fft_len as f64;
        let lo = (band.0 / df).ceil().max(1.0) as usize;
        let hi = ((band.1 / df).floor() as usize)
            .min(output.len() - 1)
            .max(lo);
        Spectrum {
            fft,
            window,
            input,
            output,
            scratch,
            rate,
            band_bins: (lo, hi),
        }
    }

    pub fn len(&self) -> usize {
        self.window.len()
    }

    pub fn is_empty(&self) -> bool {
        self.window.is_empty()
    }

    pub fn bins(&self) -> usize {
        self.output.len()
    }

    pub fn bin_hz(&self, bin: usize) -> f64 {
        bin as f64 * self.rate / self.input.len() as f64
    }

    /// The repetition rate behind a computed spectrum: the dominant
    /// frequency, or half of it when that subharmonic is nearly as strong.
    /// Sharp pulses (twitches) put much of their power into harmonics, so
    /// the strongest peak can be twice the rate at which they repeat.
    pub fn repetition_hz(&self, out: &WindowSpectrum) -> f32 {
        let f = out.dominant_hz;
        let half = f / 2.0;
        if (half as f64) < self.bin_hz(self.band_bins.0) || out.power.is_empty() {
            return f;
        }
        let peak_near = |hz: f32| {
            let b = (hz as f64 * self.input.len() as f64 / self.rate).round() as usize;
            let b = b.min(out.power.len() - 1);
            out.power[b.saturating_sub(2)..=(b + 2).min(out.power.len() - 1)]
                .iter()
                .copied()
                .fold(0.0f32, f32::max)
        };
        if peak_near(half) >= 0.5 * peak_near(f) {
            half
        } else {
            f
        }
    }

    /// The repetition rate by harmonic summation: the frequency in `band`
    /// whose first `harmonics` multiples (up to 0.9 of the spectrum's top)
    /// carry the most power, each harmonic weighted `decay` times the last.
    /// Compute the spectrum with a band reaching the harmonics.
    pub fn harmonic_hz(
        &self,
        out: &WindowSpectrum,
        band: (f64, f64),
        harmonics: usize,
        decay: f32,
    ) -> f32 {
        let bins = out.power.len();
        if bins == 0 {
            return out.dominant_hz;
        }
        let top = (0.9 * (bins - 1) as f64) as usize;
        let df = self.bin_hz(1);
        let lo = ((band.0 / df).ceil() as usize).max(1);
        let hi = (band.1 / df).floor() as usize;
        let mut best = (lo, f32::MIN);
        for b in lo..=hi.min(bins - 1) {
            let mut score = 0.0f32;
            let mut w = 1.0f32;
            for h in 1..=harmonics {
                let hb = b * h;
                if hb > top {
                    break;
                }
                score += w * out.power[hb];
                w *= decay;
            }
            if score > best.1 {
                best = (b, score);
            }
        }
        self.bin_hz(best.0) as f32
    }

    /// Spectrum of `samples` (exactly `len()` of them; the mean is removed).
    pub fn compute(&mut self, samples: &[f32], out: &mut WindowSpectrum) {
        let n = self.window.len();
        debug_assert_eq!(samples.len(), n);
        let mean = samples.iter().sum::<f32>() / n.max(1) as f32;
        let norm: f32 = self.window.iter().map(|w| w * w).sum::<f32>().max(1e-9);
        for (i, slot) in self.input.iter_mut().enumerate() {
            *slot = if i < n {
                (samples[i] - mean) * self.window[i]
            } else {
                0.0
            };
        }
        // The buffers are sized by the plan itself, so this cannot fail.
        let _ = self
            .fft
            .process_with_scratch(&mut self.input, &mut self.output, &mut self.scratch);
        out.power.resize(self.output.len(), 0.0);
        for (p, c) in out.power.iter_mut().zip(self.output.iter()) {
            *p = c.norm_sqr() / norm;
        }
        let (lo, hi) = self.band_bins;
        let band = &out.power[lo..=hi];
        let total: f32 = band.iter().sum();
        out.band_power = total / band.len() as f32;
        let (mut best, mut best_p) = (lo, -1.0f32);
        for (k, &p) in band.iter().enumerate() {
            if p > best_p {
                best_p = p;
                best = lo + k;
            }
        }
        // Parabolic interpolation of the peak between neighbouring bins.
        let mut delta = 0.0f32;
        if best > 0 && best + 1 < out.power.len() {
            let (a, b, c) = (out.power[best - 1], out.power[best], out.power[best + 1]);
            let denom = a - 2.0 * b + c;
            if denom.abs() > 1e-12 {
                delta = (0.5 * (a - c) / denom).clamp(-0.5, 0.5);
            }
        }
        out.dominant_hz =
            ((best as f32 + delta) as f64 * self.rate / self.input.len() as f64) as f32;
        // A Hann window's main lobe spans ±2 bins of the unpadded length.
        let lobe = (2 * self.input.len()).div_ceil(n.max(1));
        let near: f32 = out.power[best.saturating_sub(lobe).max(lo)..=(best + lobe).min(hi)]
            .iter()
            .sum();
        out.peak_share = if total > 0.0 {
            (near / total).min(1.0)
        } else {
            0.0
        };
    }
}

/// Window start indices for a signal of `n` samples.
pub fn window_starts(n: usize, len: usize, hop: usize) -> impl Iterator<Item = usize> {
    let hop = hop.max(1);
    let count = if n >= len { (n - len) / hop + 1 } else { 0 };
    (0..count).map(move |k| k * hop)
}

/// Median of the finite values of a slice (copied into `scratch`); the mean
/// of the two middle values for an even count, 0 for none.
pub fn median(values: &[f32], scratch: &mut Vec<f32>) -> f32 {
    scratch.clear();
    scratch.extend(values.iter().copied().filter(|v| v.is_finite()));
    let n = scratch.len();
    if n == 0 {
        return 0.0;
    }
    let mid = n / 2;
    let (lower, m, _) = scratch.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
    let upper = *m;
    if n % 2 == 1 {
        upper
    } else {
        let below = lower.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        0.5 * (below + upper)
    }
}

/// The `p`-th percentile (0–100) of the finite values, by linear
/// interpolation between order statistics; NaN for none.
pub fn percentile(values: &[f32], p: f32) -> f32 {
    let mut v: Vec<f32> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f32::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let pos = (p.clamp(0.0, 100.0) / 100.0) * (v.len() - 1) as f32;
    let (i, f) = (pos.floor() as usize, pos.fract());
    let j = (i + 1).min(v.len() - 1);
    v[i] + f * (v[j] - v[i])
}

/// Zero-phase band-pass of a whole signal: its spectrum multiplied by a
/// pass band `band` (Hz) with raised-cosine edges 0.5 Hz wide, and back.
/// Offline analysis filters whole recordings at once, so a frequency-domain
/// filter is exact and has no phase delay to undo.
pub fn band_pass(x: &[f32], rate: f64, band: (f64, f64)) -> Vec<f32> {
    let n = x.len();
    if n < 4 {
        return vec![0.0; n];
    }
    let forward = forward_plan(n);
    let inverse = inverse_plan(n);
    let mean = x.iter().sum::<f32>() / n as f32;
    let mut input: Vec<f32> = x.iter().map(|v| v - mean).collect();
    let mut spectrum = forward.make_output_vec();
    // The buffers come from the plans, so the transforms cannot fail.
    let _ = forward.process(&mut input, &mut spectrum);
    for (k, c) in spectrum.iter_mut().enumerate() {
        let g = band_gain(k as f64 * rate / n as f64, band);
        *c *= (g / n as f64) as f32;
    }
    // A real signal's spectrum has no imaginary part at 0 and Nyquist.
    spectrum[0].im = 0.0;
    if n.is_multiple_of(2)
        && let Some(last) = spectrum.last_mut()
    {
        last.im = 0.0;
    }
    let mut out = inverse.make_output_vec();
    let _ = inverse.process(&mut spectrum, &mut out);
    out
}

/// Gain of the zero-phase band-pass at `f` Hz: 1 inside `band`, 0 outside,
/// with raised-cosine edges 0.5 Hz wide centred on the band's ends. A
/// brick-wall edge would ring for the whole length of the signal; the soft
/// edge keeps the ringing short.
pub fn band_gain(f: f64, band: (f64, f64)) -> f64 {
    const EDGE_HZ: f64 = 0.5;
    let rise = ((f - (band.0 - EDGE_HZ / 2.0)) / EDGE_HZ).clamp(0.0, 1.0);
    let fall = (((band.1 + EDGE_HZ / 2.0) - f) / EDGE_HZ).clamp(0.0, 1.0);
    0.5 - 0.5 * (std::f64::consts::PI * rise.min(fall)).cos()
}

/// Robust location and scale: median and 1.4826 × MAD.
pub fn robust_stats(values: &[f32], scratch: &mut Vec<f32>) -> (f32, f32) {
    let med = median(values, scratch);
    let dev: Vec<f32> = values.iter().map(|v| (v - med).abs()).collect();
    let mad = median(&dev, scratch);
    (med, 1.4826 * mad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(f: f64, rate: f64, n: usize, amp: f32) -> Vec<f32> {
        (0..n)
            .map(|i| amp * (2.0 * std::f64::consts::PI * f * i as f64 / rate).sin() as f32)
            .collect()
    }

    #[test]
    fn band_pass_keeps_the_band_and_drops_the_rest() {
        let rate = 30.0;
        let n = 600;
        let inside = sine(5.0, rate, n, 1.0);
        let slow = sine(0.3, rate, n, 3.0);
        let x: Vec<f32> = inside.iter().zip(&slow).map(|(a, b)| a + b + 7.0).collect();
        let y = band_pass(&x, rate, (2.0, 12.0));
        // Away from the ends, the 5 Hz tone comes through unchanged.
        for k in 60..n - 60 {
            assert!(
                (y[k] - inside[k]).abs() < 0.05,
                "{k}: {} vs {}",
                y[k],
                inside[k]
            );
        }
    }

    #[test]
    fn percentiles_interpolate() {
        let v = [4.0, 1.0, f32::NAN, 3.0, 2.0];
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&v, 100.0), 4.0);
        assert_eq!(percentile(&v, 50.0), 2.5);
        assert!(percentile(&[], 50.0).is_nan());
    }

    #[test]
    fn dominant_frequency_of_a_sinusoid() {
        for &f in &[2.5, 4.0, 5.3, 7.9, 11.0] {
            let mut s = Spectrum::new(60, 512, 30.0, (2.0, 12.0));
            let mut out = WindowSpectrum::default();
            s.compute(&sine(f, 30.0, 60, 1.0), &mut out);
            assert!(
                (out.dominant_hz as f64 - f).abs() < 0.15,
                "{f} Hz -> {}",
                out.dominant_hz
            );
            assert!(out.peak_share > 0.8, "clean tone share {}", out.peak_share);
        }
    }

    #[test]
    fn repetition_rate_of_a_pulse_train_is_its_fundamental() {
        // Brief twitches at 4 Hz: narrow pulses, rich in harmonics.
        let n = 60;
        let pulses: Vec<f32> = (0..n)
            .map(|i| {
                let phase = (i as f64 * 4.0 / 30.0).fract();
                if phase < 0.15 { 1.0 } else { 0.0 }
            })
            .collect();
        let mut s = Spectrum::new(n, 512, 30.0, (2.0, 12.0));
        let mut out = WindowSpectrum::default();
        s.compute(&pulses, &mut out);
        let f = s.repetition_hz(&out);
        assert!((f - 4.0).abs() < 0.3, "{f} Hz");
        // A pure tone keeps its own frequency.
        s.compute(&sine(9.0, 30.0, n, 1.0), &mut out);
        assert!((s.repetition_hz(&out) - 9.0).abs() < 0.2);
    }

    #[test]
    fn harmonic_sum_finds_the_rate_of_pulses_and_of_a_tone() {
        // The velocity of brief 5 Hz twitches (the lid closes and reopens
        // within a third of the period, then rests): its strongest peak is
        // at 10 Hz.
        let n = 45;
        let rate = 30.0;
        let position: Vec<f32> = (0..n + 1)
            .map(|i| {
                let phase = (i as f64 * 5.0 / rate).fract();
                (if phase < 0.15 {
                    phase / 0.15
                } else {
                    (1.0 - (phase - 0.15) / 0.15).max(0.0)
                }) as f32
            })
            .collect();
        let velocity: Vec<f32> = position
            .windows(2)
            .map(|w| (w[1] - w[0]) * rate as f32)
            .collect();
        let mut s = Spectrum::new(n, 1024, rate, (2.0, 15.0));
        let mut out = WindowSpectrum::default();
        s.compute(&velocity, &mut out);
        let f = s.harmonic_hz(&out, (2.0, 12.0), 2, 0.8);
        assert!((f - 5.0).abs() < 0.4, "{f} Hz");
        // A pure tone keeps its own frequency, also near the band's top.
        for hz in [3.0, 9.0] {
            s.compute(&sine(hz, rate, n, 1.0), &mut out);
            let f = s.harmonic_hz(&out, (2.0, 12.0), 2, 0.8);
            assert!((f as f64 - hz).abs() < 0.3, "{f} Hz for {hz}");
        }
    }

    #[test]
    fn band_power_scales_with_amplitude_and_ignores_out_of_band() {
        let mut s = Spectrum::new(64, 64, 30.0, (2.0, 12.0));
        let mut a = WindowSpectrum::default();
        let mut b = WindowSpectrum::default();
        let mut c = WindowSpectrum::default();
        s.compute(&sine(5.0, 30.0, 64, 1.0), &mut a);
        s.compute(&sine(5.0, 30.0, 64, 2.0), &mut b);
        s.compute(&sine(0.5, 30.0, 64, 2.0), &mut c);
        assert!((b.band_power / a.band_power - 4.0).abs() < 0.05);
        // Noise spreads its power: a small share in any one lobe.
        let mut state = 7u32;
        let noise: Vec<f32> = (0..256)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect();
        let mut long = Spectrum::new(256, 256, 30.0, (2.0, 12.0));
        let mut d = WindowSpectrum::default();
        long.compute(&noise, &mut d);
        assert!(d.peak_share < 0.3, "noise share {}", d.peak_share);
        let mut e = WindowSpectrum::default();
        long.compute(&sine(6.0, 30.0, 256, 0.2), &mut e);
        assert!(e.peak_share > 0.9, "tone share {}", e.peak_share);
        assert!(c.band_power < 0.05 * b.band_power);
    }

    #[test]
    fn resampling_uneven_timestamps_is_exact_for_linear_signals() {
        // Variable frame intervals, as from a phone: 25–40 ms.
        let mut times = vec![0.0f64];
        for k in 1..100 {
            times.push(times[k - 1] + 0.025 + 0.015 * ((k * 7 % 5) as f64 / 4.0));
        }
        let values: Vec<f32> = times.iter().map(|&t| (3.0 * t + 1.0) as f32).collect();
        let mut out = Vec::new();
        let grid = UniformGrid {
            t0: 0.0,
            rate: 30.0,
            n: 60,
            max_gap_s: 0.5,
            fill: f32::NAN,
        };
        resample_uniform(&times, &values, &grid, &mut out);
        for (k, v) in out.iter().enumerate() {
            let t = k as f64 / 30.0;
            assert!((*v as f64 - (3.0 * t + 1.0)).abs() < 1e-4, "k={k}");
        }
    }

    #[test]
    fn resampling_fills_long_gaps() {
        let times = [0.0, 0.1, 2.0, 2.1];
        let values = [1.0, 1.0, 5.0, 5.0];
        let mut out = Vec::new();
        let grid = UniformGrid {
            t0: 0.0,
            rate: 10.0,
            n: 22,
            max_gap_s: 0.5,
            fill: -1.0,
        };
        resample_uniform(&times, &values, &grid, &mut out);
        assert_eq!(out[1], 1.0);
        assert_eq!(out[10], -1.0);
        assert_eq!(out[21], 5.0);
    }

    #[test]
    fn band_is_capped_below_nyquist() {
        let c = SpectralConfig {
            rate_hz: 15.0,
            ..SpectralConfig::default()
        };
        let (_, hi) = c.band();
        assert!(hi < 7.5);
    }

    #[test]
    fn plans_are_made_once_per_length_and_thread() {
        let a = forward_plan(1000);
        assert!(Arc::ptr_eq(&a, &forward_plan(1000)));
        assert!(!Arc::ptr_eq(&a, &forward_plan(1024)));
        assert!(Arc::ptr_eq(&inverse_plan(1000), &inverse_plan(1000)));
        // Another thread plans for itself (the planner is not shared).
        let other = std::thread::spawn(|| forward_plan(1000)).join().unwrap();
        assert!(!Arc::ptr_eq(&a, &other));
    }

    #[test]
    fn window_starts_cover_the_signal() {
        let v: Vec<usize> = window_starts(100, 60, 15).collect();
        assert_eq!(v, vec![0, 15, 30]);
        assert_eq!(window_starts(10, 60, 15).count(), 0);
    }

    #[test]
    fn median_of_even_and_odd_counts() {
        let mut scratch = Vec::new();
        assert_eq!(median(&[5.0, 7.0], &mut scratch), 6.0);
        assert_eq!(median(&[3.0, 9.0, 1.0], &mut scratch), 3.0);
        assert_eq!(median(&[f32::NAN, 2.0, 4.0, 8.0, 6.0], &mut scratch), 5.0);
        assert_eq!(median(&[], &mut scratch), 0.0);
    }

    #[test]
    fn robust_stats_ignore_outliers() {
        let mut v: Vec<f32> = (0..100).map(|i| (i % 10) as f32).collect();
        v.push(1e6);
        let (m, s) = robust_stats(&v, &mut Vec::new());
        assert!((4.0..=5.0).contains(&m));
        assert!(s < 10.0);
    }
}
