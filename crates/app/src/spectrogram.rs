//! Spectrogram strips (eye-region rhythm per side) with the spasm band
//! marked, and the dominant frequency of each window over time.

use egui::{Color32, TextureHandle};
use egui_plot::{HLine, Legend, LineStyle, MarkerShape, Plot, PlotImage, PlotPoint, Points};

use super::store::Store;
use super::{BILATERAL_COLOR, side_color, side_label};
use twitchscope_engine::analysis::{Analysis, Laterality};
use twitchscope_engine::regions::Side;

/// Highest frequency shown, Hz.
const F_MAX: f64 = 15.0;
/// Dynamic range of the colour scale, decades of power.
const RANGE_DECADES: f32 = 3.0;

#[derive(Default)]
pub struct SpectrogramPanel {
    textures: [Option<TextureHandle>; 2],
    version: u64,
    /// Frequency rows shown and the top frequency they reach.
    rows: usize,
    f_top: f64,
}

/// A dark-blue → green → yellow colour scale for `v` in 0..=1.
pub fn colormap(v: f32) -> Color32 {
    let v = v.clamp(0.0, 1.0);
    let stops: [(f32, [f32; 3]); 5] = [
        (0.0, [13.0, 8.0, 50.0]),
        (0.3, [59.0, 82.0, 139.0]),
        (0.55, [33.0, 145.0, 140.0]),
        (0.8, [94.0, 201.0, 98.0]),
        (1.0, [253.0, 231.0, 37.0]),
    ];
    let mut k = 0;
    while k + 2 < stops.len() && v > stops[k + 1].0 {
        k += 1;
    }
    let (a, ca) = stops[k];
    let (b, cb) = stops[k + 1];
    let f = ((v - a) / (b - a)).clamp(0.0, 1.0);
    let c = |i: usize| (ca[i] + f * (cb[i] - ca[i])).round() as u8;
    Color32::from_rgb(c(0), c(1), c(2))
}

impl SpectrogramPanel {
    /// Rebuilds the textures when the analysis changed.
    pub fn update(&mut self, ctx: &egui::Context, analysis: Option<&Analysis>, version: u64) {
        if version == self.version {
            return;
        }
        self.version = version;
        let Some(a) = analysis else {
            self.textures = [None, None];
            return;
        };
        let sg = &a.spectrogram;
        let rows = sg.freqs_hz.iter().take_while(|&&f| f <= F_MAX).count();
        let cols = sg.times_s.len();
        if rows < 2 || cols == 0 {
            self.textures = [None, None];
            return;
        }
        self.rows = rows;
        self.f_top = sg.freqs_hz[rows - 1];
        // One colour scale for both sides, so they compare.
        let max = sg
            .left
            .iter()
            .chain(sg.right.iter())
            .flat_map(|w| w.iter().take(rows).skip(1))
            .fold(f32::MIN_POSITIVE, |m, &p| m.max(p));
        let top = max.max(1e-12).log10();
        for side in Side::BOTH {
            let data = match side {
                Side::Left => &sg.left,
                Side::Right => &sg.right,
            };
            let mut img = egui::ColorImage::filled([cols, rows], Color32::BLACK);
            for (x, w) in data.iter().enumerate().take(cols) {
                for y in 0..rows {
                    let p = w.get(y).copied().unwrap_or(0.0).max(1e-12);
                    let v = 1.0 - (top - p.log10()) / RANGE_DECADES;
                    // Row 0 is the top of the image: the highest frequency.
                    img[(x, rows - 1 - y)] = colormap(v);
                }
            }
            let name = format!("spectrogram_{}", side.name());
            self.textures[side.index()] =
                Some(ctx.load_texture(name, img, egui::TextureOptions::NEAREST));
        }
    }

    pub fn ui(&self, ui: &mut egui::Ui, store: &Store, band: (f64, f64), height: f32) {
        ui.horizontal_wrapped(|ui| {
            ui.heading("Spectrogram");
            ui.label(format!(
                "eyelid rhythm, 0–{F_MAX:.0} Hz; spasm band {:.0}–{:.0} Hz dashed",
                band.0, band.1
            ));
        });
        let (t0, t1) = store.view_range();
        let strip_h = ((height - 60.0) / 3.0).max(40.0);
        let analysis = store.analysis.as_deref();
        for side in Side::BOTH {
            let mut plot = Plot::new(("spectrogram", side.index()))
                .height(strip_h)
                .allow_zoom(false)
                .allow_drag(false)
                .allow_scroll(false)
                .allow_boxed_zoom(false)
                .show_x(false)
                .show_axes([false, true])
                .y_axis_min_width(super::traces::PLOT_Y_AXIS_W)
                .include_y(0.0)
                .include_y(F_MAX);
            plot = plot.link_axis(egui::Id::unique("traces_x"), [true, false]);
            let resp = plot.show(ui, |p| {
                p.set_plot_bounds_x(t0..=t1);
                p.set_plot_bounds_y(0.0..=F_MAX);
                if let (Some(tex), Some(a)) = (&self.textures[side.index()], analysis) {
                    let times = &a.spectrogram.times_s;
                    if let (Some(&first), Some(&last)) = (times.first(), times.last()) {
                        let hop = if times.len() > 1 {
                            (last - first) / (times.len() - 1) as f64
                        } else {
                            0.5
                        };
                        let (x0, x1) = (first - hop / 2.0, last + hop / 2.0);
                        let df = if self.rows > 1 {
                            self.f_top / (self.rows - 1) as f64
                        } else {
                            1.0
                        };
                        let (y0, y1) = (-df / 2.0, self.f_top + df / 2.0);
                        p.image(PlotImage::new(
                            format!("{} spectrogram", side_label(side)),
                            tex.id(),
                            PlotPoint::new((x0 + x1) / 2.0, (y0 + y1) / 2.0),
                            [(x1 - x0) as f32, (y1 - y0) as f32],
                        ));
                    }
                }
                for f in [band.0, band.1] {
                    p.add(
                        HLine::new("spasm band", f)
                            .color(Color32::WHITE)
                            .style(LineStyle::dashed_loose()),
                    );
                }
            });
            super::traces::plot_caption(
                ui,
                resp.transform.frame(),
                &format!("{} (Hz)", side_label(side)),
            );
        }
        let resp = Plot::new("dominant_freq")
            .height(strip_h)
            .allow_zoom(false)
            .allow_drag(false)
            .allow_scroll(false)
            .allow_boxed_zoom(false)
            .y_axis_min_width(super::traces::PLOT_Y_AXIS_W)
            .link_axis(egui::Id::unique("traces_x"), [true, false])
            .legend(Legend::default().position(egui_plot::Corner::LeftTop))
            .show(ui, |p| {
                p.set_plot_bounds_x(t0..=t1);
                p.set_plot_bounds_y(0.0..=F_MAX);
                let Some(a) = analysis else { return };
                for (lat, name, color, shape) in [
                    (
                        Laterality::Left,
                        side_label(Side::Left),
                        side_color(Side::Left),
                        MarkerShape::Circle,
                    ),
                    (
                        Laterality::Right,
                        side_label(Side::Right),
                        side_color(Side::Right),
                        MarkerShape::Square,
                    ),
                    (
                        Laterality::Bilateral,
                        "bilateral",
                        BILATERAL_COLOR,
                        MarkerShape::Diamond,
                    ),
                ] {
                    let pts: Vec<[f64; 2]> = a
                        .windows
                        .iter()
                        .filter(|w| w.laterality == lat)
                        .filter_map(|w| {
                            w.dominant_freq_hz.map(|f| [(w.start_s + w.end_s) / 2.0, f])
                        })
                        .collect();
                    if !pts.is_empty() {
                        p.points(
                            Points::new(name, pts)
                                .color(color)
                                .shape(shape)
                                .radius(3.0)
                                .filled(true),
                        );
                    }
                }
                for f in [band.0, band.1] {
                    p.add(
                        HLine::new("", f)
                            .color(Color32::GRAY)
                            .style(LineStyle::dashed_loose()),
                    );
                }
            });
        super::traces::plot_caption(ui, resp.transform.frame(), "Dominant frequency (Hz)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colormap_runs_dark_to_bright() {
        let lum = |c: Color32| c.r() as u32 + c.g() as u32 + c.b() as u32;
        assert!(lum(colormap(0.0)) < lum(colormap(0.5)));
        assert!(lum(colormap(0.5)) < lum(colormap(1.0)));
        assert_eq!(colormap(-3.0), colormap(0.0));
    }
}
