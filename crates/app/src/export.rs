//! "Export report": the PDF (plus CSV and JSON) of the open session, made on
//! a background thread and written into the session folder.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, TryRecvError};

use egui::{Color32, RichText};

use super::WARN_COLOR;
use twitchscope_engine::analysis::AnalysisConfig;
use twitchscope_report::ReportDetails;

/// Where an export stands.
#[derive(Debug, Default)]
pub enum ExportState {
    #[default]
    Idle,
    /// Rendering on a background thread.
    Running(Receiver<Result<PathBuf, String>>),
    /// The PDF's path.
    Done(PathBuf),
    Failed(String),
}

#[derive(Default)]
pub struct ExportPanel {
    pub state: ExportState,
    /// The session folder the state is about.
    dir: Option<PathBuf>,
    /// The patient's name as typed (kept across exports).
    pub name: String,
    /// Treatments as typed: `YYYY-MM-DD:label`, one per line.
    pub treatments: String,
}

impl ExportPanel {
    /// Starts exporting the session folder `dir` on its own thread.
    pub fn start(
        &mut self,
        dir: &Path,
        history_root: &Path,
        config: &AnalysisConfig,
        ctx: Option<egui::Context>,
    ) {
        let details = match ReportDetails::parse(&self.name, &self.treatments) {
            Ok(d) => d,
            Err(e) => {
                self.state = ExportState::Failed(e);
                self.dir = Some(dir.to_path_buf());
                return;
            }
        };
        let (tx, rx) = mpsc::channel();
        let (d, root, config) = (
            dir.to_path_buf(),
            history_root.to_path_buf(),
            config.clone(),
        );
        let spawned = std::thread::Builder::new()
            .name("report-export".into())
            .spawn(move || {
                let result =
                    twitchscope_report::export_session_report(&d, Some(&root), &config, &details)
                        .map_err(|e| format!("{e:#}"));
                let _ = tx.send(result);
                if let Some(ctx) = ctx {
                    ctx.request_repaint();
                }
            });
        self.state = match spawned {
            Ok(_) => ExportState::Running(rx),
            Err(e) => ExportState::Failed(format!("cannot start the export: {e}")),
        };
        self.dir = Some(dir.to_path_buf());
    }

    /// Takes the background thread's result when it is there.
    pub fn poll(&mut self) {
        if let ExportState::Running(rx) = &self.state {
            self.state = match rx.try_recv() {
                Ok(Ok(path)) => ExportState::Done(path),
                Ok(Err(msg)) => ExportState::Failed(msg),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    ExportState::Failed("the export stopped unexpectedly".into())
                }
            };
        }
    }

    /// Forgets the outcome of another session's export (a running one
    /// finishes on its own; its result is dropped).
    pub fn reset_unless_for(&mut self, dir: Option<&Path>) {
        if self.dir.as_deref() != dir {
            self.state = ExportState::Idle;
            self.dir = None;
        }
    }

    /// The button and the outcome; `true` when the user asked for an export.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> bool {
        let running = matches!(self.state, ExportState::Running(_));
        egui::Grid::new("report_details")
            .num_columns(2)
            .show(ui, |ui| {
                let label = ui.label("Name:");
                ui.add(
                    egui::TextEdit::singleline(&mut self.name)
                        .hint_text("on the report (optional)")
                        .desired_width(180.0),
                )
                .labelled_by(label.id);
                ui.end_row();
                let label = ui.label("Treatments:");
                ui.add(
                    egui::TextEdit::multiline(&mut self.treatments)
                        .hint_text("2026-10-01:botulinum toxin (one per line)")
                        .desired_rows(2)
                        .desired_width(180.0),
                )
                .labelled_by(label.id);
                ui.end_row();
            });
        let parsed = ReportDetails::parse(&self.name, &self.treatments);
        if let Err(e) = &parsed {
            ui.colored_label(WARN_COLOR, e);
        }
        let clicked = ui
            .add_enabled(
                !running && parsed.is_ok(),
                egui::Button::new("Export report"),
            )
            .on_hover_text(
                "Write report.pdf, analysis.json and the CSV tables into the session folder",
            )
            .clicked();
        match &self.state {
            ExportState::Idle => {}
            ExportState::Running(_) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Making the report…");
                });
            }
            ExportState::Done(path) => {
                ui.label(format!("Report written to {}", path.display()));
            }
            ExportState::Failed(msg) => {
                ui.colored_label(
                    Color32::from_rgb(240, 90, 80),
                    RichText::new(format!("Report failed: {msg}")),
                );
            }
        }
        clicked && !running
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_that_is_no_session_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut panel = ExportPanel::default();
        panel.start(dir.path(), dir.path(), &AnalysisConfig::default(), None);
        let start = std::time::Instant::now();
        while matches!(panel.state, ExportState::Running(_))
            && start.elapsed() < std::time::Duration::from_secs(10)
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
            panel.poll();
        }
        let ExportState::Failed(msg) = &panel.state else {
            panic!("state {:?}", panel.state)
        };
        assert!(!msg.is_empty());
        assert!(!dir.path().join(twitchscope_report::REPORT_PDF).exists());
        panel.reset_unless_for(Some(dir.path()));
        assert!(matches!(panel.state, ExportState::Failed(_)));
        panel.reset_unless_for(None);
        assert!(matches!(panel.state, ExportState::Idle));
    }
}
