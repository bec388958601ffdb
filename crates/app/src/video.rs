//! Live view: the frame with the face regions drawn on it, each tinted by its
//! current activity, mirrored by default for comfort while every label names
//! the patient's side; and the face-quality indicator. A replay shows the
//! session's saved video the same way, the regions where the live view drew
//! them; a replay without video shows a schematic face with the same tinted
//! regions.

use egui::{Color32, Pos2, Rect, RichText, Sense, Shape, Stroke, TextureHandle, pos2, vec2};

use super::pipeline::{DisplayFrame, FaceQuality};
use super::store::Store;
use super::{WARN_COLOR, side_color, side_label};
use twitchscope_engine::regions::{self as face_regions, Region, Side, rect_corners_in_image};

/// Size, time and pose of the frame in the texture.
#[derive(Clone, Copy, Debug, Default)]
pub struct FrameInfo {
    pub width: usize,
    pub height: usize,
    pub t: f64,
    pub index: u64,
    pub pose: Option<twitchscope_engine::regions::Similarity>,
}

impl FrameInfo {
    pub fn of(f: &DisplayFrame) -> FrameInfo {
        FrameInfo {
            width: f.width,
            height: f.height,
            t: f.t,
            index: f.index,
            pose: f.pose,
        }
    }
}

/// The picture the view shows: the live frame, or a replay's video frame.
pub struct ShownFrame<'a> {
    pub frame: &'a FrameInfo,
    /// The regions in the face's canonical frame, `[side][region]`.
    pub regions: Option<&'a [[face_regions::Rect; Region::COUNT]; 2]>,
    /// The face quality, live only.
    pub quality: Option<FaceQuality>,
}

pub struct VideoPanel {
    texture: Option<TextureHandle>,
    version: u64,
    /// Show the image mirrored (the patient's left on screen-left).
    pub mirror: bool,
}

impl VideoPanel {
    pub fn new(mirror: bool) -> VideoPanel {
        VideoPanel {
            texture: None,
            version: 0,
            mirror,
        }
    }

    /// The version of the frame in the texture (0: none yet).
    pub fn texture_version(&self) -> u64 {
        self.version
    }

    /// Uploads the frame if it is newer than the texture.
    pub fn update_texture(&mut self, ctx: &egui::Context, frame: &DisplayFrame, version: u64) {
        if version == self.version
            || frame.width == 0
            || frame.rgb.len() < frame.width * frame.height * 3
        {
            return;
        }
        self.version = version;
        let image = egui::ColorImage::from_rgb(
            [frame.width, frame.height],
            &frame.rgb[..frame.width * frame.height * 3],
        );
        match &mut self.texture {
            Some(t) => t.set(image, egui::TextureOptions::LINEAR),
            None => {
                self.texture =
                    Some(ctx.load_texture("live_frame", image, egui::TextureOptions::LINEAR))
            }
        }
    }

    /// Draws the view; `note` says why there is no picture (a replay whose
    /// video cannot be played).
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        store: &Store,
        shown: Option<ShownFrame<'_>>,
        note: Option<&str>,
    ) {
        ui.horizontal(|ui| {
            ui.heading("Live view");
            ui.checkbox(&mut self.mirror, "Mirror preview");
        });
        let activity = store.activity_at(store.now());
        let width = ui.available_width().max(120.0);
        match (&shown, &self.texture) {
            (Some(l), Some(tex)) if l.frame.width > 0 => {
                let (fw, fh) = (l.frame.width as f32, l.frame.height as f32);
                let h = (width * fh / fw).min(ui.available_height() * 0.6).max(60.0);
                let w = h * fw / fh;
                let (rect, _) = ui.allocate_exact_size(vec2(w, h), Sense::hover());
                let uv = if self.mirror {
                    Rect::from_min_max(pos2(1.0, 0.0), pos2(0.0, 1.0))
                } else {
                    Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0))
                };
                ui.painter().image(tex.id(), rect, uv, Color32::WHITE);
                let to_screen = |p: [f32; 2]| -> Pos2 {
                    let x = if self.mirror { fw - p[0] } else { p[0] };
                    pos2(rect.left() + x / fw * w, rect.top() + p[1] / fh * h)
                };
                if let (Some(regions), Some(pose)) = (l.regions, l.frame.pose.as_ref()) {
                    let rect = |side: Side, region: Region| regions[side.index()][region.index()];
                    // Each side's brow on screen: its centre and its top.
                    let mut brows = [(0.0f32, f32::INFINITY); 2];
                    for side in Side::BOTH {
                        for region in Region::ALL {
                            let c = rect_corners_in_image(&rect(side, region), pose);
                            let pts: Vec<Pos2> = c.iter().map(|&p| to_screen(p)).collect();
                            draw_region(ui, &pts, side, activity[side.index()][region.index()]);
                        }
                        let brow =
                            rect_corners_in_image(&rect(side, Region::Brow), pose).map(&to_screen);
                        brows[side.index()] = (
                            brow.iter().map(|p| p.x).sum::<f32>() / 4.0,
                            brow.iter().map(|p| p.y).fold(f32::INFINITY, f32::min),
                        );
                    }
                    // The side names above the brows, each reaching outwards
                    // from the face's midline: centred on their brows they
                    // overlap on a small face.
                    let mid = (brows[0].0 + brows[1].0) / 2.0;
                    let top = brows[0].1.min(brows[1].1) - 4.0;
                    for side in Side::BOTH {
                        let (x, align) = if brows[side.index()].0 < mid {
                            (mid - 2.0, egui::Align2::RIGHT_BOTTOM)
                        } else {
                            (mid + 2.0, egui::Align2::LEFT_BOTTOM)
                        };
                        label_on(ui, pos2(x, top), side_label(side), side_color(side), align);
                    }
                }
                self.edge_labels(ui, rect);
                if store.is_replay() {
                    ui.label(format!(
                        "replay at t = {:.1} s: the saved video, frame at {:.2} s",
                        store.now(),
                        l.frame.t
                    ));
                } else {
                    ui.label(format!("t = {:.1} s, frame {}", l.frame.t, l.frame.index));
                }
            }
            _ => {
                let h = (width * 0.75).min(ui.available_height() * 0.6).max(60.0);
                let (rect, _) = ui.allocate_exact_size(vec2(width, h), Sense::hover());
                ui.painter().rect_filled(rect, 4.0, Color32::from_gray(30));
                if store.samples.is_empty() {
                    ui.painter().text(
                        rect.center(),
                        egui::Align2::CENTER_CENTER,
                        "waiting for frames…",
                        egui::FontId::proportional(16.0),
                        Color32::GRAY,
                    );
                } else {
                    self.schematic(ui, rect, &activity);
                }
                self.edge_labels(ui, rect);
                if store.is_replay() {
                    let why = note.unwrap_or("no video saved");
                    ui.label(format!(
                        "replay at t = {:.1} s ({why}: schematic regions)",
                        store.now()
                    ));
                }
            }
        }
        if let Some(q) = shown.as_ref().and_then(|l| l.quality.as_ref()) {
            quality_ui(ui, q);
        }
    }

    /// "patient's left/right" at the image's top corners.
    fn edge_labels(&self, ui: &egui::Ui, rect: Rect) {
        let (on_left, on_right) = if self.mirror {
            (Side::Left, Side::Right)
        } else {
            (Side::Right, Side::Left)
        };
        label_on(
            ui,
            rect.left_top() + vec2(4.0, 4.0),
            &format!("< {}", side_label(on_left)),
            side_color(on_left),
            egui::Align2::LEFT_TOP,
        );
        label_on(
            ui,
            rect.right_top() + vec2(-4.0, 4.0),
            &format!("{} >", side_label(on_right)),
            side_color(on_right),
            egui::Align2::RIGHT_TOP,
        );
    }

    /// A schematic face with the ten regions, for replays without video.
    fn schematic(&self, ui: &egui::Ui, rect: Rect, activity: &[[f32; Region::COUNT]; 2]) {
        let face = Rect::from_center_size(
            rect.center(),
            vec2(rect.height() * 0.75, rect.height() * 0.9),
        );
        ui.painter().add(Shape::ellipse_stroke(
            face.center(),
            face.size() / 2.0,
            Stroke::new(1.5, Color32::from_gray(120)),
        ));
        for side in Side::BOTH {
            // Image-left is the patient's right unless mirrored.
            let image_left = (side == Side::Right) != self.mirror;
            let dir = if image_left { -1.0 } else { 1.0 };
            for region in Region::ALL {
                let (dx, y, w, h) = match region {
                    Region::Brow => (0.20, 0.30, 0.22, 0.06),
                    Region::UpperLid => (0.20, 0.38, 0.20, 0.06),
                    Region::LowerLid => (0.20, 0.45, 0.18, 0.06),
                    Region::Cheek => (0.22, 0.58, 0.14, 0.10),
                    Region::MouthCorner => (0.13, 0.76, 0.10, 0.07),
                };
                let c = pos2(
                    face.center().x + dir * dx * face.width(),
                    face.top() + y * face.height(),
                );
                let r = Rect::from_center_size(c, vec2(w * face.width(), h * face.height()));
                let pts = vec![
                    r.left_top(),
                    r.right_top(),
                    r.right_bottom(),
                    r.left_bottom(),
                ];
                draw_region(ui, &pts, side, activity[side.index()][region.index()]);
            }
        }
    }
}

fn label_on(ui: &egui::Ui, pos: Pos2, text: &str, color: Color32, align: egui::Align2) {
    let font = egui::FontId::proportional(13.0);
    let galley = ui.painter().layout_no_wrap(text.to_string(), font, color);
    let rect = align.anchor_size(pos, galley.size()).expand(2.0);
    ui.painter()
        .rect_filled(rect, 2.0, Color32::from_black_alpha(160));
    ui.painter()
        .galley(rect.min + vec2(2.0, 2.0), galley, color);
}

/// A region outline (patient's left solid, right dashed) filled by activity.
fn draw_region(ui: &egui::Ui, pts: &[Pos2], side: Side, activity: f32) {
    let color = side_color(side);
    let a = activity.clamp(0.0, 1.0);
    if a > 0.02 {
        let fill = Color32::from_rgba_unmultiplied(255, 40, 40, (40.0 + 170.0 * a) as u8);
        ui.painter()
            .add(Shape::convex_polygon(pts.to_vec(), fill, Stroke::NONE));
    }
    let stroke = Stroke::new(1.0 + 2.0 * a, color);
    let mut closed = pts.to_vec();
    closed.push(pts[0]);
    match side {
        Side::Left => {
            ui.painter().add(Shape::line(closed, stroke));
        }
        Side::Right => {
            ui.painter()
                .extend(Shape::dashed_line(&closed, stroke, 4.0, 3.0));
        }
    }
}

fn quality_ui(ui: &mut egui::Ui, q: &FaceQuality) {
    let good = Color32::from_rgb(90, 190, 90);
    let warn = WARN_COLOR;
    let bad = Color32::from_rgb(230, 80, 70);
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Face quality:").strong());
        let hints = q.hints();
        if hints.is_empty() {
            ui.label(RichText::new("good: face found, well lit, steady").color(good));
        }
        for h in hints {
            let color = if h.blocks() { bad } else { warn };
            ui.label(RichText::new(h.advice()).color(color));
        }
    });
}
