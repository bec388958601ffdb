//! Scrolling motion traces: one plot per region, the patient's left as a
//! solid line and the right as a dashed one (and each named in the legend),
//! so the sides differ by more than colour.

use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints, VLine};

use super::store::Store;
use super::{side_color, side_label};
use twitchscope_engine::regions::{Region, Side};

pub fn region_title(region: Region) -> &'static str {
    match region {
        Region::Brow => "Brow",
        Region::UpperLid => "Upper lid",
        Region::LowerLid => "Lower lid",
        Region::Cheek => "Cheek",
        Region::MouthCorner => "Mouth corner",
    }
}

/// Line style of a side in every plot.
pub fn side_style(side: Side) -> LineStyle {
    match side {
        Side::Left => LineStyle::Solid,
        Side::Right => LineStyle::dashed_dense(),
    }
}

/// At most this many points per line (older ones are decimated by max).
const MAX_POINTS: usize = 400;

/// Draws the traces; returns the x-range of the plot area on screen, so the
/// strips below can align their time axes with it.
pub fn ui(ui: &mut egui::Ui, store: &Store, height: f32) -> Option<egui::Rangef> {
    ui.horizontal_wrapped(|ui| {
        ui.heading("Traces");
        ui.label("motion per region (face units/s); solid = patient's left, dashed = right");
    });
    let (t0, t1) = store.view_range();
    let samples = store.samples_between(t0, t1);
    let row_h = ((height - 24.0) / Region::COUNT as f32).max(36.0);
    let link = egui::Id::unique("traces_x");
    let mut x_range = None;
    for (i, region) in Region::ALL.into_iter().enumerate() {
        let r = region.index();
        let mut lines: Vec<(Side, Vec<[f64; 2]>)> = Vec::new();
        for side in Side::BOTH {
            let s = side.index();
            let step = samples.len().div_ceil(MAX_POINTS).max(1);
            let pts: Vec<[f64; 2]> = samples
                .chunks(step)
                .filter_map(|c| {
                    let v = c
                        .iter()
                        .filter(|m| m.valid)
                        .map(|m| m.regions[s][r].speed)
                        .fold(f32::NAN, f32::max);
                    v.is_finite().then(|| [c[c.len() - 1].t, v as f64])
                })
                .collect();
            lines.push((side, pts));
        }
        let mut plot = Plot::new(("trace", i))
            .height(row_h)
            .allow_zoom(false)
            .allow_drag(false)
            .allow_scroll(false)
            .allow_boxed_zoom(false)
            .show_x(false)
            .include_y(0.0)
            .y_axis_min_width(PLOT_Y_AXIS_W)
            .link_axis(link, [true, false]);
        if i == 0 {
            plot = plot.legend(Legend::default().position(egui_plot::Corner::LeftTop));
        }
        if i + 1 < Region::COUNT {
            plot = plot.show_axes([false, true]);
        }
        let now = store.now();
        let resp = plot.show(ui, |p| {
            p.set_plot_bounds_x(t0..=t1);
            for (side, pts) in lines {
                p.line(
                    Line::new(side_label(side), PlotPoints::new(pts))
                        .color(side_color(side))
                        .style(side_style(side))
                        .width(1.5),
                );
            }
            if store.is_replay() {
                p.add(VLine::new("", now).color(egui::Color32::GRAY));
            }
        });
        plot_caption(ui, resp.transform.frame(), region_title(region));
        x_range = Some(resp.transform.frame().x_range());
    }
    x_range
}

/// Width kept for every plot's y axis, so the time axes line up.
pub const PLOT_Y_AXIS_W: f32 = 66.0;

/// A caption in the top-right corner of a plot.
pub fn plot_caption(ui: &egui::Ui, frame: &egui::Rect, text: &str) {
    let galley = ui.painter().layout_no_wrap(
        text.to_string(),
        egui::FontId::proportional(12.0),
        ui.visuals().strong_text_color(),
    );
    let pos = frame.right_top() + egui::vec2(-galley.size().x - 6.0, 2.0);
    let bg = egui::Rect::from_min_size(pos, galley.size()).expand(2.0);
    ui.painter()
        .rect_filled(bg, 2.0, ui.visuals().extreme_bg_color.gamma_multiply(0.8));
    ui.painter()
        .galley(pos, galley, ui.visuals().strong_text_color());
}
