//! Live counters: events per minute per side, blink rate, dominant
//! frequency, laterality, and the pipeline's frame counts.

use egui::RichText;

use super::pipeline::FrameStats;
use super::store::Store;
use super::{BILATERAL_COLOR, WARN_COLOR, side_color};
use twitchscope_engine::regions::Side;
use twitchscope_report::export::head_moved_much;

pub fn ui(ui: &mut egui::Ui, store: &Store, stats: Option<FrameStats>, face_fraction: Option<f64>) {
    ui.heading("Counters");
    let summary = store
        .analysis
        .as_ref()
        .map(|a| (&a.summary, a.source.duration_s));
    let head_moving = store
        .analysis
        .as_ref()
        .map(|a| a.quality.head_moving_fraction);
    egui::Grid::new("counters_grid")
        .num_columns(2)
        .spacing([12.0, 2.0])
        .striped(true)
        .show(ui, |ui| {
            let na = || "–".to_string();
            let big = |s: String| RichText::new(s).size(16.0).strong();
            ui.label(RichText::new("Events/min, patient's left").color(side_color(Side::Left)));
            ui.label(big(summary
                .map(|(s, _)| format!("{:.1}", s.events_per_min.left))
                .unwrap_or_else(na)));
            ui.end_row();
            ui.label(RichText::new("Events/min, patient's right").color(side_color(Side::Right)));
            ui.label(big(summary
                .map(|(s, _)| format!("{:.1}", s.events_per_min.right))
                .unwrap_or_else(na)));
            ui.end_row();
            ui.label(RichText::new("Events/min, both sides").color(BILATERAL_COLOR));
            ui.label(big(summary
                .map(|(s, _)| format!("{:.1}", s.events_per_min.bilateral))
                .unwrap_or_else(na)));
            ui.end_row();
            ui.label("Blinks/min");
            ui.label(big(summary
                .map(|(s, _)| format!("{:.1}", s.blinks_per_min))
                .unwrap_or_else(na)));
            ui.end_row();
            ui.label("Dominant frequency");
            ui.label(big(summary
                .and_then(|(s, _)| s.dominant_freq_hz)
                .map(|f| format!("{f:.1} Hz"))
                .unwrap_or_else(na)));
            ui.end_row();
            ui.label("Laterality");
            ui.label(big(summary
                .map(|(s, _)| s.laterality.patient_label().to_string())
                .unwrap_or_else(na)));
            ui.end_row();
            ui.label("Analysed span");
            ui.label(summary.map(|(_, d)| format!("{d:.0} s")).unwrap_or_else(na));
            ui.end_row();
            // No spasm is judged while the head moves fast: how much of the
            // span that was, amber once the report would note it.
            ui.label("Head too fast to judge");
            ui.label(match head_moving {
                Some(f) => {
                    let text = RichText::new(format!("{:.0} % of the time", 100.0 * f));
                    if head_moved_much(f) {
                        text.color(WARN_COLOR)
                    } else {
                        text
                    }
                }
                None => RichText::new(na()),
            });
            ui.end_row();
            if let Some(f) = face_fraction {
                ui.label("Face visible");
                ui.label(format!("{:.0} %", 100.0 * f));
                ui.end_row();
            }
            if let Some(s) = stats {
                ui.label("Frames captured / analysed");
                ui.label(format!("{} / {}", s.captured, s.analysed));
                ui.end_row();
                ui.label("Dropped frames");
                let text = RichText::new(format!("{}", s.dropped));
                ui.label(if s.dropped > 0 {
                    text.color(WARN_COLOR)
                } else {
                    text
                });
                ui.end_row();
                if s.skipped > 0 {
                    // Frames the camera sent torn: the session went on
                    // without them.
                    ui.label("Unreadable frames skipped");
                    ui.label(RichText::new(format!("{}", s.skipped)).color(WARN_COLOR));
                    ui.end_row();
                }
            }
        });
}
