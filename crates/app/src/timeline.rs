//! The laterality strip (none / left / right / bilateral per window) and the
//! event timeline (clonic, tonic, myokymia and bilateral spasms; blinks on
//! their own row), with protocol steps marked.

use egui::{Align2, Color32, FontId, Rect, Sense, Stroke, pos2, vec2};

use super::store::Store;
use super::{BILATERAL_COLOR, side_color};
use twitchscope_engine::analysis::Laterality;
use twitchscope_engine::events::{Event, EventKind, EventSide};
use twitchscope_engine::regions::Side;
use twitchscope_session::StepPhase;

const LABEL_W: f32 = 86.0;

/// Which events a timeline row shows.
type RowFilter = Box<dyn Fn(EventKind, EventSide) -> bool>;

pub fn laterality_color(l: Laterality) -> Color32 {
    match l {
        Laterality::None => Color32::from_gray(60),
        Laterality::Left => side_color(Side::Left),
        Laterality::Right => side_color(Side::Right),
        Laterality::Bilateral => BILATERAL_COLOR,
    }
}

pub(crate) fn event_color(side: EventSide) -> Color32 {
    match side {
        EventSide::Left => side_color(Side::Left),
        EventSide::Right => side_color(Side::Right),
        EventSide::Bilateral => BILATERAL_COLOR,
    }
}

fn side_letter(side: EventSide) -> &'static str {
    match side {
        EventSide::Left => "L",
        EventSide::Right => "R",
        EventSide::Bilateral => "B",
    }
}

/// Background of the stretches without a face.
const NO_FACE_COLOR: Color32 = Color32::from_gray(60);
/// Between the plot's background and the gaps' shade: the face was
/// measured there, but the head moved too fast for a spasm to be judged.
const HEAD_MOVING_COLOR: Color32 = Color32::from_gray(40);

/// The part of `rect` that shows time: under the plots when their x-range
/// is known, else right of the row labels.
fn time_rect(rect: Rect, x_range: Option<egui::Rangef>) -> Rect {
    match x_range {
        Some(x) if x.min >= rect.left() + 40.0 && x.max <= rect.right() + 1.0 => {
            Rect::from_x_y_ranges(x, rect.y_range())
        }
        _ => Rect::from_min_max(pos2(rect.left() + LABEL_W, rect.top()), rect.max),
    }
}

struct Axis {
    rect: Rect,
    t0: f64,
    t1: f64,
}

impl Axis {
    fn x(&self, t: f64) -> f32 {
        let f = ((t - self.t0) / (self.t1 - self.t0).max(1e-9)) as f32;
        self.rect.left() + f.clamp(0.0, 1.0) * self.rect.width()
    }
}

fn row_label(ui: &egui::Ui, row: Rect, text: &str) {
    ui.painter().text(
        pos2(row.left() + 2.0, row.center().y),
        Align2::LEFT_CENTER,
        text,
        FontId::proportional(12.0),
        ui.visuals().text_color(),
    );
}

/// `x_range`: the screen x-range of the plots above, to line up with.
pub fn laterality_ui(ui: &mut egui::Ui, store: &Store, x_range: Option<egui::Rangef>) {
    ui.horizontal_wrapped(|ui| {
        ui.heading("Laterality");
        for l in [
            Laterality::None,
            Laterality::Left,
            Laterality::Right,
            Laterality::Bilateral,
        ] {
            let name = match l {
                Laterality::None => "none".to_string(),
                Laterality::Bilateral => "bilateral".to_string(),
                other => format!("patient's {}", other.name()),
            };
            ui.label(egui::RichText::new(format!("[{name}]")).color(laterality_color(l)));
        }
    });
    let (t0, t1) = store.view_range();
    let (rect, _) = ui.allocate_exact_size(vec2(ui.available_width(), 18.0), Sense::hover());
    let axis = Axis {
        rect: time_rect(rect, x_range),
        t0,
        t1,
    };
    row_label(ui, rect, "per window");
    ui.painter()
        .rect_filled(axis.rect, 0.0, Color32::from_gray(25));
    if let Some(a) = &store.analysis {
        // Windows overlap (hop < window): paint each over its hop only.
        for (i, w) in a.windows.iter().enumerate() {
            let end = a
                .windows
                .get(i + 1)
                .map(|n| n.start_s + (n.end_s - n.start_s) / 2.0)
                .unwrap_or(w.end_s);
            let mid = w.start_s + (w.end_s - w.start_s) / 2.0;
            let start = if i == 0 { w.start_s } else { mid };
            if end < t0 || start > t1 {
                continue;
            }
            let r = Rect::from_x_y_ranges(axis.x(start)..=axis.x(end), axis.rect.y_range());
            if w.laterality != Laterality::None {
                ui.painter()
                    .rect_filled(r, 0.0, laterality_color(w.laterality));
            }
        }
    }
}

/// The event timeline; returns the spasm event clicked (to replay it
/// magnified), if one was.
pub fn events_ui(ui: &mut egui::Ui, store: &Store, x_range: Option<egui::Rangef>) -> Option<Event> {
    ui.horizontal(|ui| {
        ui.heading("Event timeline");
        ui.label("L/R = patient's left/right, B = both; click to magnify");
    });
    let rows: [(&str, RowFilter); 5] = [
        (
            "Clonic",
            Box::new(|k, s| k == EventKind::Clonic && s != EventSide::Bilateral),
        ),
        (
            "Tonic",
            Box::new(|k, s| k == EventKind::Tonic && s != EventSide::Bilateral),
        ),
        (
            "Myokymia",
            Box::new(|k, s| k == EventKind::Myokymia && s != EventSide::Bilateral),
        ),
        (
            "Bilateral",
            Box::new(|k, s| k != EventKind::Blink && s == EventSide::Bilateral),
        ),
        ("Blinks", Box::new(|k, _| k == EventKind::Blink)),
    ];
    let row_h = 17.0;
    let steps_h = 16.0;
    let (rect, response) = ui.allocate_exact_size(
        vec2(ui.available_width(), steps_h + row_h * rows.len() as f32),
        Sense::click(),
    );
    let pointer = response.hover_pos();
    let mut hovered: Option<&Event> = None;
    let (t0, t1) = store.view_range();
    let plot_rect = time_rect(rect, x_range);
    let axis = Axis {
        rect: plot_rect,
        t0,
        t1,
    };
    let painter = ui.painter();
    painter.rect_filled(plot_rect, 0.0, Color32::from_gray(25));
    // Where no face was in view nothing was measured, and where the head
    // moved too fast nothing could start: shade both, so an empty stretch
    // is not read as a calm one.
    let shaded = store.analysis.iter().flat_map(|a| {
        let moving = a
            .quality
            .head_moving
            .iter()
            .map(|g| (g, HEAD_MOVING_COLOR, "head moving"));
        let gaps = a
            .quality
            .face_gaps
            .iter()
            .map(|g| (g, NO_FACE_COLOR, "no face"));
        moving.chain(gaps)
    });
    for (g, color, label) in shaded {
        if g.end_s < t0 || g.start_s > t1 {
            continue;
        }
        let r = Rect::from_x_y_ranges(
            axis.x(g.start_s)..=axis.x(g.end_s),
            plot_rect.top() + steps_h..=plot_rect.bottom(),
        );
        painter.rect_filled(r, 0.0, color);
        if r.width() > 6.5 * label.len() as f32 {
            painter.text(
                pos2(r.center().x, r.bottom() - 2.0),
                Align2::CENTER_BOTTOM,
                label,
                FontId::proportional(11.0),
                Color32::from_gray(170),
            );
        }
    }
    // Protocol steps on the top line.
    let steps_row = Rect::from_min_size(rect.min, vec2(rect.width(), steps_h));
    row_label(ui, steps_row, "Steps");
    let mut open: Option<(f64, &str)> = None;
    let mut spans: Vec<(f64, f64, &str)> = Vec::new();
    for m in &store.steps {
        match m.phase {
            StepPhase::Start => open = Some((m.t, m.step.as_str())),
            StepPhase::End => {
                if let Some((s, name)) = open.take() {
                    spans.push((s, m.t, name));
                }
            }
        }
    }
    if let Some((s, name)) = open {
        spans.push((s, store.now().max(s), name));
    }
    for (s, e, name) in spans {
        if e < t0 || s > t1 {
            continue;
        }
        let r = Rect::from_x_y_ranges(
            axis.x(s)..=axis.x(e),
            steps_row.top() + 1.0..=steps_row.bottom() - 1.0,
        );
        painter.rect_filled(r, 2.0, Color32::from_rgb(70, 70, 90));
        painter.text(
            pos2(r.left() + 2.0, r.center().y),
            Align2::LEFT_CENTER,
            name,
            FontId::proportional(11.0),
            Color32::WHITE,
        );
    }
    for (i, (name, keep)) in rows.iter().enumerate() {
        let top = rect.top() + steps_h + i as f32 * row_h;
        let row = Rect::from_min_size(pos2(rect.left(), top), vec2(rect.width(), row_h));
        row_label(ui, row, name);
        painter.hline(
            plot_rect.x_range(),
            row.bottom(),
            Stroke::new(0.5, Color32::from_gray(50)),
        );
        let Some(a) = &store.analysis else { continue };
        for e in a.events.iter().filter(|e| keep(e.kind, e.side)) {
            if e.end_s < t0 || e.start_s > t1 {
                continue;
            }
            let x0 = axis.x(e.start_s);
            let x1 = axis.x(e.end_s).max(x0 + 3.0);
            let r = Rect::from_x_y_ranges(x0..=x1, row.top() + 2.0..=row.bottom() - 2.0);
            if e.is_spasm() && pointer.is_some_and(|p| r.expand(2.0).contains(p)) {
                hovered = Some(e);
            }
            let color = event_color(e.side);
            painter.rect_filled(r, 2.0, color);
            if r.width() > 10.0 {
                painter.text(
                    r.center(),
                    Align2::CENTER_CENTER,
                    side_letter(e.side),
                    FontId::proportional(11.0),
                    Color32::BLACK,
                );
            }
        }
    }
    if store.is_replay() {
        let x = axis.x(store.now());
        painter.vline(x, rect.y_range(), Stroke::new(1.0, Color32::GRAY));
    }
    let e = hovered?;
    ui.ctx().set_cursor_icon(egui::CursorIcon::PointingHand);
    let clicked = response.clicked();
    response.on_hover_text(format!(
        "{} {}, {:.1}–{:.1} s: click to see it magnified",
        e.side.patient_label(),
        e.kind.name(),
        e.start_s,
        e.end_s
    ));
    clicked.then(|| e.clone())
}
