//! The guided self-check: on-screen prompts with a countdown per step, each
//! step's start and end recorded as step marks so a report can compare rest
//! with provocation; and free recording.

use egui::{Color32, RichText};

use twitchscope_session::StepPhase;

/// One step of the guided protocol.
#[derive(Clone, Debug, PartialEq)]
pub struct StepSpec {
    /// Name written into the session ("rest_open", …).
    pub id: &'static str,
    pub title: &'static str,
    pub prompt: &'static str,
    /// Countdown, seconds.
    pub duration_s: f64,
    /// Repetitions the user does (the step may be ended early with "Done").
    pub count: Option<u32>,
}

/// Protocol name written into the session meta.
pub const GUIDED_PROTOCOL: &str = "guided";

/// The guided self-check protocol.
pub fn guided_steps() -> Vec<StepSpec> {
    vec![
        StepSpec {
            id: "rest_open",
            title: "Rest, eyes open",
            prompt: "Sit still, look at the screen and let your face relax. Keep your eyes open.",
            duration_s: 60.0,
            count: None,
        },
        StepSpec {
            id: "gentle_closure",
            title: "Gentle eye closure",
            prompt: "Close your eyes gently, without squeezing, and count slowly to ten before opening them.",
            duration_s: 10.0,
            count: None,
        },
        StepSpec {
            id: "forceful_blinks",
            title: "Five forceful blinks",
            prompt: "Blink forcefully five times, about one blink a second. Press Done when finished.",
            duration_s: 15.0,
            count: Some(5),
        },
        StepSpec {
            id: "mouth_purse",
            title: "Five mouth purses",
            prompt: "Purse your lips (as for a kiss) five times. Press Done when finished.",
            duration_s: 15.0,
            count: Some(5),
        },
        StepSpec {
            id: "smile",
            title: "Five smiles",
            prompt: "Smile broadly, showing your teeth, five times. Press Done when finished.",
            duration_s: 15.0,
            count: Some(5),
        },
        StepSpec {
            id: "rest_again",
            title: "Rest again",
            prompt: "Rest again: eyes open, face relaxed, look at the screen.",
            duration_s: 30.0,
            count: None,
        },
    ]
}

/// What the wizard asks the recorder to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    StartRecording { protocol: Option<String> },
    Mark { step: String, phase: StepPhase },
    StopRecording,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Phase {
    Idle,
    /// A short "get ready" countdown before step `index`.
    Ready {
        index: usize,
        until: f64,
    },
    Running {
        index: usize,
        until: f64,
    },
    Finished,
    /// Free recording (no steps).
    Free,
}

pub struct Wizard {
    pub steps: Vec<StepSpec>,
    pub phase: Phase,
    /// Seconds of "get ready" before each step.
    pub ready_s: f64,
    /// The user opted in to saving the video with the next recording.
    pub save_video: bool,
}

impl Default for Wizard {
    fn default() -> Self {
        Wizard {
            steps: guided_steps(),
            phase: Phase::Idle,
            ready_s: 3.0,
            save_video: false,
        }
    }
}

impl Wizard {
    pub fn is_recording(&self) -> bool {
        matches!(
            self.phase,
            Phase::Ready { .. } | Phase::Running { .. } | Phase::Free
        )
    }

    pub fn start_guided(&mut self, now: f64) -> Vec<Action> {
        if self.is_recording() || self.steps.is_empty() {
            return Vec::new();
        }
        self.phase = Phase::Ready {
            index: 0,
            until: now + self.ready_s,
        };
        vec![Action::StartRecording {
            protocol: Some(GUIDED_PROTOCOL.into()),
        }]
    }

    pub fn start_free(&mut self) -> Vec<Action> {
        if self.is_recording() {
            return Vec::new();
        }
        self.phase = Phase::Free;
        vec![Action::StartRecording { protocol: None }]
    }

    /// Advances the countdowns to `now`.
    pub fn tick(&mut self, now: f64) -> Vec<Action> {
        let mut out = Vec::new();
        loop {
            match self.phase {
                Phase::Ready { index, until } if now >= until => {
                    self.begin(index, until, &mut out);
                }
                Phase::Running { index, until } if now >= until => {
                    self.end(index, until, &mut out);
                }
                _ => return out,
            }
        }
    }

    /// "Done" / "Start now": ends the running step or skips the wait.
    pub fn advance(&mut self, now: f64) -> Vec<Action> {
        let mut out = Vec::new();
        match self.phase {
            Phase::Ready { index, .. } => self.begin(index, now, &mut out),
            Phase::Running { index, .. } => self.end(index, now, &mut out),
            _ => {}
        }
        out
    }

    /// Stops whatever runs; the recording is kept (closed).
    pub fn stop(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        match self.phase {
            Phase::Running { index, .. } => {
                out.push(Action::Mark {
                    step: self.steps[index].id.into(),
                    phase: StepPhase::End,
                });
                out.push(Action::StopRecording);
            }
            Phase::Ready { .. } | Phase::Free => out.push(Action::StopRecording),
            _ => {}
        }
        self.phase = Phase::Idle;
        out
    }

    fn begin(&mut self, index: usize, at: f64, out: &mut Vec<Action>) {
        out.push(Action::Mark {
            step: self.steps[index].id.into(),
            phase: StepPhase::Start,
        });
        self.phase = Phase::Running {
            index,
            until: at + self.steps[index].duration_s,
        };
    }

    fn end(&mut self, index: usize, at: f64, out: &mut Vec<Action>) {
        out.push(Action::Mark {
            step: self.steps[index].id.into(),
            phase: StepPhase::End,
        });
        if index + 1 < self.steps.len() {
            self.phase = Phase::Ready {
                index: index + 1,
                until: at + self.ready_s,
            };
        } else {
            self.phase = Phase::Finished;
            out.push(Action::StopRecording);
        }
    }

    /// Draws the wizard; returns the actions the user's clicks caused.
    pub fn ui(&mut self, ui: &mut egui::Ui, now: f64, can_record: bool) -> Vec<Action> {
        let mut out = Vec::new();
        ui.heading("Self-check");
        match self.phase {
            Phase::Idle | Phase::Finished => {
                if self.phase == Phase::Finished {
                    ui.label(
                        RichText::new("Self-check complete: the session is saved.")
                            .color(Color32::from_rgb(90, 190, 90)),
                    );
                }
                ui.label(
                    "A guided check of about 2½ minutes: rest, gentle closure, blinks, \
                     mouth purses, smiles, rest. Each step is labelled in the recording.",
                );
                ui.checkbox(
                    &mut self.save_video,
                    "Also save the video (off: only measurements)",
                );
                ui.horizontal(|ui| {
                    if ui
                        .add_enabled(can_record, egui::Button::new("Start guided self-check"))
                        .clicked()
                    {
                        out.extend(self.start_guided(now));
                    }
                    if ui
                        .add_enabled(can_record, egui::Button::new("Record freely"))
                        .clicked()
                    {
                        out.extend(self.start_free());
                    }
                });
            }
            Phase::Free => {
                ui.label(
                    RichText::new("REC: recording (free mode)")
                        .color(Color32::from_rgb(230, 70, 60)),
                );
                if ui.button("Stop recording").clicked() {
                    out.extend(self.stop());
                }
            }
            Phase::Ready { index, until } => {
                let step = self.steps[index].clone();
                ui.label(
                    RichText::new(format!(
                        "Step {}/{}: {}",
                        index + 1,
                        self.steps.len(),
                        step.title
                    ))
                    .strong(),
                );
                ui.label(RichText::new(step.prompt).size(16.0));
                ui.label(
                    RichText::new(format!(
                        "Get ready… starts in {:.0} s",
                        (until - now).max(0.0).ceil()
                    ))
                    .size(18.0),
                );
                ui.horizontal(|ui| {
                    if ui.button("Start now").clicked() {
                        out.extend(self.advance(now));
                    }
                    if ui.button("Cancel self-check").clicked() {
                        out.extend(self.stop());
                    }
                });
            }
            Phase::Running { index, until } => {
                let step = self.steps[index].clone();
                let left = (until - now).max(0.0);
                ui.label(
                    RichText::new(format!(
                        "REC  Step {}/{}: {}",
                        index + 1,
                        self.steps.len(),
                        step.title
                    ))
                    .strong()
                    .color(Color32::from_rgb(230, 70, 60)),
                );
                ui.label(RichText::new(step.prompt).size(18.0));
                ui.label(
                    RichText::new(format!("{:.0} s left", left.ceil()))
                        .size(26.0)
                        .strong(),
                );
                ui.add(egui::ProgressBar::new(
                    (1.0 - left / step.duration_s).clamp(0.0, 1.0) as f32,
                ));
                ui.horizontal(|ui| {
                    let label = if step.count.is_some() {
                        "Done"
                    } else {
                        "Skip step"
                    };
                    if ui.button(label).clicked() {
                        out.extend(self.advance(now));
                    }
                    if ui.button("Cancel self-check").clicked() {
                        out.extend(self.stop());
                    }
                });
            }
        }
        let current = match self.phase {
            Phase::Ready { index, .. } | Phase::Running { index, .. } => Some(index),
            _ => None,
        };
        if current.is_some() {
            for (i, s) in self.steps.iter().enumerate() {
                let mark = match current {
                    Some(c) if i < c => "done",
                    Some(c) if i == c => "now ",
                    _ => "    ",
                };
                ui.label(format!("{mark} {} ({:.0} s)", s.title, s.duration_s));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marks(actions: &[Action]) -> Vec<(String, StepPhase)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Mark { step, phase } => Some((step.clone(), *phase)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn guided_run_marks_every_step_and_stops() {
        let mut w = Wizard::default();
        let mut all = w.start_guided(0.0);
        assert_eq!(
            all[0],
            Action::StartRecording {
                protocol: Some("guided".into())
            }
        );
        // Step through time in 0.5 s ticks, pressing Done on count steps after 4 s.
        let mut t = 0.0;
        while w.is_recording() && t < 1000.0 {
            t += 0.5;
            all.extend(w.tick(t));
            if let Phase::Running { index, until } = w.phase
                && w.steps[index].count.is_some()
                && until - t < w.steps[index].duration_s - 4.0
            {
                all.extend(w.advance(t));
            }
        }
        assert_eq!(w.phase, Phase::Finished);
        assert_eq!(all.last(), Some(&Action::StopRecording));
        let m = marks(&all);
        assert_eq!(m.len(), 12);
        let ids: Vec<&str> = guided_steps().iter().map(|s| s.id).collect();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(m[2 * i], (id.to_string(), StepPhase::Start));
            assert_eq!(m[2 * i + 1], (id.to_string(), StepPhase::End));
        }
        // 60 + 10 + 3×~4 + 30 s of steps plus six 3 s waits.
        assert!(t > 120.0 && t < 140.0, "{t}");
    }

    #[test]
    fn cancel_closes_the_running_step() {
        let mut w = Wizard::default();
        w.start_guided(0.0);
        w.tick(4.0);
        let a = w.stop();
        assert_eq!(
            a,
            vec![
                Action::Mark {
                    step: "rest_open".into(),
                    phase: StepPhase::End
                },
                Action::StopRecording
            ]
        );
        assert!(!w.is_recording());
        assert!(w.stop().is_empty());
    }
}
