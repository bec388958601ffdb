//! The session library: past sessions (date, duration, side, events per
//! minute) and the replay controls (seek slider, play/pause, back to live).

use std::path::{Path, PathBuf};

use egui::{Color32, RichText};

use super::WARN_COLOR;
use super::store::Store;
use twitchscope_report::export::head_moved_much_words;
use twitchscope_session::{SessionListing, list_sessions};

#[derive(Default)]
pub struct LibraryPanel {
    pub sessions: Vec<SessionListing>,
    pub error: Option<String>,
    loaded: bool,
    /// Replay is playing: the cursor advances in real time.
    pub playing: bool,
    /// The session the user asked to delete, awaiting confirmation.
    confirm_delete: Option<PathBuf>,
}

/// What the user asked of the library.
#[derive(Clone, Debug, PartialEq)]
pub enum LibraryAction {
    Replay(PathBuf),
    BackToLive,
    /// Delete the session (confirmed by the user).
    Delete(PathBuf),
}

impl LibraryPanel {
    pub fn refresh(&mut self, root: &Path) {
        self.loaded = true;
        match list_sessions(root) {
            Ok(s) => {
                self.sessions = s;
                self.error = None;
            }
            Err(e) => {
                self.sessions.clear();
                self.error = Some(format!("{e:#}"));
            }
        }
    }

    /// Replay controls; moves the replay cursor.
    pub fn replay_controls(
        &mut self,
        ui: &mut egui::Ui,
        store: &mut Store,
        dt: f64,
    ) -> Option<LibraryAction> {
        let mut action = None;
        let (t0, t1) = store.t_bounds()?;
        if let super::store::StoreMode::Replay { title, .. } = &store.mode {
            ui.label(RichText::new(format!("Replaying {title}")).strong());
        }
        let mut cursor = store.cursor.unwrap_or(t0);
        if self.playing {
            cursor += dt;
            if cursor >= t1 {
                cursor = t1;
                self.playing = false;
            }
        }
        ui.horizontal(|ui| {
            if ui
                .button(if self.playing { "Pause" } else { "Play" })
                .clicked()
            {
                if cursor >= t1 {
                    cursor = t0;
                }
                self.playing = !self.playing;
            }
            if ui.button("Back to live").clicked() {
                action = Some(LibraryAction::BackToLive);
            }
        });
        ui.spacing_mut().slider_width = (ui.available_width() - 70.0).max(80.0);
        ui.add(
            egui::Slider::new(&mut cursor, t0..=t1)
                .text("s")
                .fixed_decimals(1),
        );
        store.cursor = Some(cursor.clamp(t0, t1));
        action
    }

    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        root: &Path,
        replaying: Option<&Path>,
    ) -> Option<LibraryAction> {
        if !self.loaded {
            self.refresh(root);
        }
        let mut action = None;
        ui.horizontal(|ui| {
            ui.heading("Session library");
            if ui
                .button("Refresh")
                .on_hover_text("List the sessions again")
                .clicked()
            {
                self.refresh(root);
            }
        });
        ui.label(RichText::new(root.display().to_string()).small().weak());
        if let Some(e) = &self.error {
            ui.colored_label(Color32::from_rgb(230, 80, 70), e);
        }
        if let Some(dir) = self.confirm_delete.clone() {
            let name = dir.file_name().map_or_else(
                || dir.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            ui.colored_label(
                Color32::from_rgb(230, 160, 60),
                format!(
                    "Delete session {name} from this computer? Its measurements, exports and \
                     video are removed for good."
                ),
            );
            ui.horizontal(|ui| {
                if ui.button("Delete for good").clicked() {
                    action = Some(LibraryAction::Delete(dir.clone()));
                    self.confirm_delete = None;
                }
                if ui.button("Keep it").clicked() {
                    self.confirm_delete = None;
                }
            });
        }
        if self.sessions.is_empty() {
            ui.label("No sessions recorded yet.");
            return action;
        }
        egui::ScrollArea::vertical()
            .max_height(ui.available_height().max(80.0))
            .show(ui, |ui| {
                egui::Grid::new("sessions_grid")
                    .num_columns(6)
                    .striped(true)
                    .spacing([8.0, 2.0])
                    .show(ui, |ui| {
                        ui.label(RichText::new("Date").strong());
                        ui.label(RichText::new("Length").strong());
                        ui.label(RichText::new("Side").strong());
                        ui.label(RichText::new("Ev/min").strong());
                        ui.label("");
                        ui.label("");
                        ui.end_row();
                        for s in &self.sessions {
                            let date = s
                                .meta
                                .started
                                .get(..16)
                                .unwrap_or(&s.meta.started)
                                .replace('T', " ");
                            let date_text = match &s.meta.protocol {
                                Some(p) => format!("{date} ({p})"),
                                None => date,
                            };
                            ui.label(date_text).on_hover_text(format!(
                                "{}\nsource: {}\nprotocol: {}\n{}",
                                s.dir.display(),
                                s.meta.source,
                                s.meta.protocol.as_deref().unwrap_or("free recording"),
                                if s.closed_cleanly {
                                    "closed cleanly"
                                } else {
                                    "interrupted (not closed)"
                                }
                            ));
                            ui.label(format!("{:.0} s", s.duration_s));
                            ui.label(match s.laterality {
                                Some(twitchscope_engine::analysis::Laterality::Left) => {
                                    "left".to_string()
                                }
                                Some(twitchscope_engine::analysis::Laterality::Right) => {
                                    "right".to_string()
                                }
                                Some(l) => l.name().to_string(),
                                None if !s.closed_cleanly => "(interrupted)".to_string(),
                                None => "–".to_string(),
                            });
                            let rate = s
                                .events_per_min
                                .map(|e| format!("{e:.1}"))
                                .unwrap_or_else(|| "–".into());
                            // As on the report's trend: a low count from a
                            // session whose head moved fast much of the time
                            // may be the head's doing.
                            match s.head_moving_fraction.and_then(head_moved_much_words) {
                                Some(words) => {
                                    ui.label(RichText::new(format!("{rate} *")).color(WARN_COLOR))
                                        .on_hover_text(words);
                                }
                                None => {
                                    ui.label(rate);
                                }
                            }
                            let is_current = replaying == Some(s.dir.as_path());
                            if ui
                                .add_enabled(!is_current, egui::Button::new("Replay"))
                                .clicked()
                            {
                                action = Some(LibraryAction::Replay(s.dir.clone()));
                            }
                            if ui
                                .add_enabled(!is_current, egui::Button::new("Delete"))
                                .on_hover_text("Remove this session from the computer")
                                .clicked()
                            {
                                self.confirm_delete = Some(s.dir.clone());
                            }
                            ui.end_row();
                        }
                    });
            });
        action
    }
}
