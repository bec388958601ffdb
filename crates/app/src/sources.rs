//! Source picker: camera (with resolution and frame rate), video file (path
//! field or drag-and-drop) or the demo sample.

use std::path::PathBuf;

use egui::{Color32, RichText};

use super::pipeline::SourceChoice;
use crate::camera::{CameraDevice, CameraRequest, list_cameras};

/// Resolutions offered for cameras.
pub const RESOLUTIONS: [(u32, u32); 3] = [(640, 480), (1280, 720), (320, 240)];
/// Frame rates offered for cameras.
pub const FRAME_RATES: [u32; 3] = [30, 15, 60];

/// The picker's own state.
#[derive(Default)]
pub struct SourcePanel {
    pub cameras: Vec<CameraDevice>,
    pub camera_error: Option<String>,
    pub request: CameraRequest,
    pub path_text: String,
}

impl SourcePanel {
    /// Lists the cameras again.
    pub fn refresh_cameras(&mut self) {
        match list_cameras() {
            Ok(c) => {
                self.cameras = c;
                self.camera_error = None;
                if let Some(first) = self.cameras.first()
                    && !self.cameras.iter().any(|c| c.index == self.request.index)
                {
                    self.request.index = first.index;
                }
            }
            Err(e) => {
                self.cameras.clear();
                self.camera_error = Some(format!("{e:#}"));
            }
        }
    }

    /// Draws the picker; returns the source the user switched to.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        current: Option<&SourceChoice>,
    ) -> Option<SourceChoice> {
        let mut chosen = None;
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new("Source").strong());
            if let Some(c) = current {
                ui.label(format!("({})", c.label()));
            }
            ui.separator();
            // Camera.
            let cam_label = match self.cameras.iter().find(|c| c.index == self.request.index) {
                Some(c) => format!("{}: {}", c.index, c.name),
                None if self.cameras.is_empty() => "no camera".to_string(),
                None => format!("camera {}", self.request.index),
            };
            let cam_name = ui.label("Camera:");
            egui::ComboBox::from_id_salt("camera_pick")
                .selected_text(cam_label)
                .width(150.0)
                .show_ui(ui, |ui| {
                    for c in &self.cameras {
                        ui.selectable_value(
                            &mut self.request.index,
                            c.index,
                            format!("{}: {}", c.index, c.name),
                        );
                    }
                    if self.cameras.is_empty() {
                        ui.label("no camera found");
                    }
                })
                .response
                .labelled_by(cam_name.id);
            let res_name = ui.label("Mode:");
            egui::ComboBox::from_id_salt("camera_res")
                .selected_text(format!("{}×{}", self.request.width, self.request.height))
                .width(90.0)
                .show_ui(ui, |ui| {
                    for (w, h) in RESOLUTIONS {
                        if ui
                            .selectable_label(
                                self.request.width == w && self.request.height == h,
                                format!("{w}×{h}"),
                            )
                            .clicked()
                        {
                            self.request.width = w;
                            self.request.height = h;
                        }
                    }
                })
                .response
                .labelled_by(res_name.id);
            egui::ComboBox::from_id_salt("camera_fps")
                .selected_text(format!("{} fps", self.request.fps))
                .width(70.0)
                .show_ui(ui, |ui| {
                    for f in FRAME_RATES {
                        ui.selectable_value(&mut self.request.fps, f, format!("{f} fps"));
                    }
                })
                .response
                .labelled_by(res_name.id);
            if ui
                .button("Rescan")
                .on_hover_text("Look for cameras again")
                .clicked()
            {
                self.refresh_cameras();
            }
            if ui
                .add_enabled(!self.cameras.is_empty(), egui::Button::new("Use camera"))
                .clicked()
            {
                chosen = Some(SourceChoice::Camera(self.request.clone()));
            }
            ui.separator();
            // File.
            let label = ui.label("Video file:");
            let edit = ui
                .add(
                    egui::TextEdit::singleline(&mut self.path_text)
                        .hint_text("path, or drop a file on the window")
                        .desired_width(200.0),
                )
                .labelled_by(label.id);
            let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui
                .button("Open file")
                .on_hover_text("Play the video at its own pace, as a camera would show it")
                .clicked()
                || enter
            {
                let p = self.path_text.trim();
                if !p.is_empty() {
                    chosen = Some(SourceChoice::File(PathBuf::from(p)));
                }
            }
            if ui
                .button("Analyse now")
                .on_hover_text(
                    "Analyse every frame of the video as fast as this computer can \
                     (the same results as `twitchscope analyze`)",
                )
                .clicked()
            {
                let p = self.path_text.trim();
                if !p.is_empty() {
                    chosen = Some(SourceChoice::AnalyseFile(PathBuf::from(p)));
                }
            }
            ui.separator();
            if ui.button("Demo sample").clicked() {
                chosen = Some(SourceChoice::Demo);
            }
        });
        if let Some(e) = &self.camera_error {
            ui.colored_label(Color32::from_rgb(220, 120, 60), e);
        }
        chosen
    }
}
