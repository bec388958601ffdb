//! Magnified replay of one event: the clip around it (the face-aligned
//! window over both eyes, half a second either side) plays in a loop with
//! the motion in the spasm band magnified, by the factor the slider sets
//! (the largest that keeps every frame faithful, to begin with); a toggle
//! shows it as filmed; the clip (plain beside magnified) is saved as MP4 or
//! GIF. Cutting the clip, magnifying it and encoding it run on a thread of
//! the window's own; the pictures are the report's
//! ([`twitchscope_report::strips`]), so the app, the report and
//! `twitchscope clip` show the same thing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};

use egui::{Color32, RichText, TextureHandle, vec2};

use super::WARN_COLOR;
use twitchscope_engine::events::Event;
use twitchscope_report::strips::{self, EventClip};

/// Largest α the slider offers (motion shown 1 + α times larger).
pub const MAX_ALPHA: f32 = 20.0;

/// Where the clip comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct ClipSource {
    /// The video, and the analysis time of its first frame.
    pub video: PathBuf,
    pub video_start_s: f64,
    /// The analysed duration (s): the clip stops there.
    pub duration_s: f64,
    /// Where saved clips go.
    pub save_dir: PathBuf,
}

enum Request {
    Magnify(f32),
    /// The frames shown (magnified by `alpha`), saved beside the plain ones.
    Save {
        alpha: f32,
        magnified: Arc<Vec<u8>>,
        out: PathBuf,
    },
}

enum Reply {
    Prepared(Prepared),
    Magnified(f32, Arc<Vec<u8>>),
    Saved(Result<PathBuf, String>),
    Failed(String),
}

/// The clip as prepared: plain frames, and the magnified ones for the
/// factor last asked for.
struct Prepared {
    width: usize,
    height: usize,
    fps: f64,
    start_s: f64,
    plain: Arc<Vec<u8>>,
    auto_alpha: f32,
    magnified: Option<(f32, Arc<Vec<u8>>)>,
}

impl Prepared {
    fn frames(&self) -> usize {
        self.plain.len() / (self.width * self.height * 3).max(1)
    }
}

/// The window of one event's magnified replay.
pub struct MagnifiedReplay {
    pub event: Event,
    /// The event's number among the recording's spasm events (from 1).
    pub number: usize,
    source: ClipSource,
    requests: Sender<Request>,
    replies: Receiver<Reply>,
    prepared: Option<Prepared>,
    /// α set by the slider (`None`: not yet known, the automatic one).
    pub alpha: Option<f32>,
    /// α asked of the worker last.
    asked: Option<f32>,
    /// Show the clip as filmed.
    pub plain: bool,
    error: Option<String>,
    saving: bool,
    saved: Option<String>,
    texture: Option<TextureHandle>,
    /// Which frame the texture holds: (index, plain, α).
    texture_of: Option<(usize, bool, f32)>,
    /// UI time the loop started.
    started: Option<f64>,
    /// The window is open.
    pub open: bool,
}

impl MagnifiedReplay {
    /// Starts preparing the clip of `event` (spasm number `number`) on a
    /// thread of its own.
    pub fn start(
        event: Event,
        number: usize,
        source: ClipSource,
        repaint: Option<egui::Context>,
    ) -> MagnifiedReplay {
        let (req_tx, req_rx) = mpsc::channel();
        let (rep_tx, rep_rx) = mpsc::channel();
        let (e, s) = (event.clone(), source.clone());
        let spawned = std::thread::Builder::new()
            .name("magnify".into())
            .spawn(move || worker(&e, &s, &req_rx, &rep_tx, repaint.as_ref()));
        let error = spawned
            .err()
            .map(|e| format!("cannot prepare the clip: {e}"));
        MagnifiedReplay::with(event, number, source, req_tx, rep_rx, error)
    }

    /// The window for an event whose clip cannot be made, saying why.
    pub fn unavailable(event: Event, number: usize, why: String) -> MagnifiedReplay {
        let source = ClipSource {
            video: PathBuf::new(),
            video_start_s: 0.0,
            duration_s: 0.0,
            save_dir: PathBuf::new(),
        };
        let (requests, _) = mpsc::channel();
        let (_, replies) = mpsc::channel();
        MagnifiedReplay::with(event, number, source, requests, replies, Some(why))
    }

    fn with(
        event: Event,
        number: usize,
        source: ClipSource,
        requests: Sender<Request>,
        replies: Receiver<Reply>,
        error: Option<String>,
    ) -> MagnifiedReplay {
        MagnifiedReplay {
            event,
            number,
            source,
            requests,
            replies,
            prepared: None,
            alpha: None,
            asked: None,
            plain: false,
            error,
            saving: false,
            saved: None,
            texture: None,
            texture_of: None,
            started: None,
            open: true,
        }
    }

    /// The clip is ready to play.
    pub fn is_ready(&self) -> bool {
        self.prepared
            .as_ref()
            .is_some_and(|p| p.magnified.is_some())
    }

    /// Why the clip cannot be shown, if it cannot.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The factor shown (`1 + α`), once known.
    pub fn magnification(&self) -> Option<f32> {
        self.prepared
            .as_ref()
            .and_then(|p| p.magnified.as_ref())
            .map(|(a, _)| 1.0 + a)
    }

    /// Where a saved clip went, or why it failed.
    pub fn saved(&self) -> Option<&str> {
        self.saved.as_deref()
    }

    /// Saves the clip (plain beside magnified) as `extension` ("mp4" or
    /// "gif") into the save folder.
    pub fn save(&mut self, extension: &str) {
        let Some((alpha, magnified)) = self.prepared.as_ref().and_then(|p| p.magnified.clone())
        else {
            return;
        };
        let name = format!(
            "event-{}-{}-{}-magnified-x{}.{extension}",
            self.number,
            self.event.side.name(),
            self.event.kind.name(),
            (1.0 + alpha).round()
        );
        let out = self.source.save_dir.join(name);
        let request = Request::Save {
            alpha,
            magnified,
            out,
        };
        self.saving = self.requests.send(request).is_ok();
        self.saved = None;
    }

    /// Takes the worker's replies.
    pub fn poll(&mut self) {
        loop {
            match self.replies.try_recv() {
                Ok(Reply::Prepared(p)) => {
                    self.alpha.get_or_insert(p.auto_alpha);
                    self.prepared = Some(p);
                }
                Ok(Reply::Magnified(alpha, frames)) => {
                    if let Some(p) = &mut self.prepared {
                        p.magnified = Some((alpha, frames));
                    }
                }
                Ok(Reply::Saved(result)) => {
                    self.saving = false;
                    self.saved = Some(match result {
                        Ok(path) => format!("Saved {}", path.display()),
                        Err(e) => format!("Not saved: {e}"),
                    });
                }
                Ok(Reply::Failed(e)) => {
                    self.error = Some(e);
                    self.saving = false;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    if self.prepared.is_none() && self.error.is_none() {
                        self.error = Some("preparing the clip failed".into());
                    }
                    break;
                }
            }
        }
        if self.prepared.is_some()
            && let Some(alpha) = self.alpha
            && self.asked != Some(alpha)
        {
            self.asked = Some(alpha);
            let _ = self.requests.send(Request::Magnify(alpha));
        }
    }

    /// The window; `now` is the UI's clock (s).
    pub fn ui(&mut self, ctx: &egui::Context, now: f64) {
        self.poll();
        let mut open = self.open;
        let title = format!(
            "Event {}: {} {}, {:.1}–{:.1} s",
            self.number,
            self.event.side.patient_label(),
            self.event.kind.name(),
            self.event.start_s,
            self.event.end_s
        );
        let screen = ctx.content_rect();
        egui::Window::new("Magnified replay")
            .default_pos(egui::pos2(screen.center().x - 280.0, screen.top() + 90.0))
            .open(&mut open)
            .default_width(560.0)
            .resizable(true)
            .show(ctx, |ui| {
                ui.label(RichText::new(title).strong());
                if let Some(e) = &self.error {
                    ui.colored_label(Color32::from_rgb(240, 90, 80), e);
                    return;
                }
                if !self.is_ready() {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("Cutting and magnifying the clip…");
                    });
                    return;
                }
                self.player(ui, now);
            });
        self.open = open;
        if self.is_ready() {
            ctx.request_repaint_after(std::time::Duration::from_millis(30));
        }
    }

    fn player(&mut self, ui: &mut egui::Ui, now: f64) {
        let Some(p) = &self.prepared else { return };
        let Some((alpha, magnified)) = &p.magnified else {
            return;
        };
        let (alpha, frames) = (*alpha, p.frames());
        let started = *self.started.get_or_insert(now);
        let index = (((now - started) * p.fps).max(0.0) as usize) % frames.max(1);
        let t = p.start_s + index as f64 / p.fps;
        let key = (index, self.plain, alpha);
        if self.texture_of != Some(key) {
            let n = p.width * p.height * 3;
            let pixels = if self.plain { &p.plain } else { magnified };
            let image = egui::ColorImage::from_rgb(
                [p.width, p.height],
                &pixels[index * n..(index + 1) * n],
            );
            match &mut self.texture {
                Some(tex) => tex.set(image, egui::TextureOptions::LINEAR),
                None => {
                    self.texture = Some(ui.ctx().load_texture(
                        "magnified_replay",
                        image,
                        egui::TextureOptions::LINEAR,
                    ))
                }
            }
            self.texture_of = Some(key);
        }
        let inside = (self.event.start_s..=self.event.end_s).contains(&t);
        ui.horizontal(|ui| {
            let (text, color) = if self.plain {
                ("AS FILMED".to_string(), Color32::from_gray(220))
            } else {
                (
                    format!("MAGNIFIED ×{:.0}", 1.0 + alpha),
                    Color32::from_rgb(255, 200, 60),
                )
            };
            ui.label(RichText::new(text).strong().color(color));
            ui.label(format!(
                "t = {t:.2} s {}",
                if inside {
                    "(in the event)"
                } else {
                    "(before or after)"
                }
            ));
        });
        if let Some(tex) = &self.texture {
            let w = ui.available_width().clamp(160.0, 900.0);
            let h = w * p.height as f32 / p.width.max(1) as f32;
            ui.image((tex.id(), vec2(w, h)));
            // Where the clip is: the event's span shaded, the frame shown
            // as a line.
            let (bar, _) = ui.allocate_exact_size(vec2(w, 8.0), egui::Sense::hover());
            let end = p.start_s + frames as f64 / p.fps;
            let x = |t: f64| {
                bar.left()
                    + bar.width() * ((t - p.start_s) / (end - p.start_s)).clamp(0.0, 1.0) as f32
            };
            let painter = ui.painter();
            painter.rect_filled(bar, 2.0, Color32::from_gray(45));
            let span = egui::Rect::from_x_y_ranges(
                x(self.event.start_s)..=x(self.event.end_s),
                bar.y_range(),
            );
            painter.rect_filled(span, 2.0, crate::timeline::event_color(self.event.side));
            painter.vline(x(t), bar.y_range(), egui::Stroke::new(2.0, Color32::WHITE));
        }
        ui.label(
            "The window over both eyes follows the face; image-right is the patient's left \
             (not mirrored). Magnification shows the 2–12 Hz motion larger: a picture, not \
             a measurement.",
        );
        // Shown as the factor people read ("×3"), kept as α (1 + α = ×).
        let mut factor = 1.0 + self.alpha.unwrap_or(p.auto_alpha);
        ui.horizontal(|ui| {
            ui.label("Magnification");
            ui.add(
                egui::Slider::new(&mut factor, 1.0..=1.0 + MAX_ALPHA)
                    .step_by(1.0)
                    .prefix("×"),
            );
            if ui
                .button(format!("auto (×{:.0})", 1.0 + p.auto_alpha))
                .on_hover_text("the largest factor that keeps every frame of the event faithful")
                .clicked()
            {
                factor = 1.0 + p.auto_alpha;
            }
        });
        self.alpha = Some(factor - 1.0);
        if factor > 1.0 + p.auto_alpha + 0.5 {
            ui.label(
                RichText::new(format!(
                    "Above ×{:.0} this event's picture breaks up: blotches are artefacts of \
                     the magnification, not motion.",
                    1.0 + p.auto_alpha
                ))
                .color(WARN_COLOR),
            );
        }
        if self.alpha != Some(alpha) {
            ui.label(RichText::new("magnifying…").weak());
        }
        ui.checkbox(&mut self.plain, "Show as filmed (no magnification)");
        ui.horizontal(|ui| {
            let enabled = !self.saving;
            if ui
                .add_enabled(enabled, egui::Button::new("Save MP4"))
                .clicked()
            {
                self.save("mp4");
            }
            if ui
                .add_enabled(enabled, egui::Button::new("Save GIF"))
                .clicked()
            {
                self.save("gif");
            }
            if self.saving {
                ui.spinner();
            }
        });
        ui.label(
            RichText::new(format!(
                "Saved clips show the plain window beside the magnified one, into {}",
                self.source.save_dir.display()
            ))
            .weak(),
        );
        if let Some(s) = &self.saved {
            ui.label(s);
        }
    }
}

/// Cuts the clip, then answers requests until the window goes.
fn worker(
    e: &Event,
    source: &ClipSource,
    requests: &Receiver<Request>,
    replies: &Sender<Reply>,
    repaint: Option<&egui::Context>,
) {
    let send = |r: Reply| {
        let _ = replies.send(r);
        if let Some(ctx) = repaint {
            ctx.request_repaint();
        }
    };
    let prepared = strips::event_clip(&source.video, e, source.duration_s, source.video_start_s)
        .and_then(|clip| strips::auto_factor(&clip, e).map(|a| (clip, a)));
    let (clip, auto_alpha) = match prepared {
        Ok(c) => c,
        Err(err) => {
            send(Reply::Failed(format!(
                "cannot cut the event's clip: {err:#}"
            )));
            return;
        }
    };
    send(Reply::Prepared(Prepared {
        width: clip.luma.width,
        height: clip.luma.height,
        fps: clip.fps,
        start_s: clip.start_s,
        plain: Arc::new(clip.colour.clone()),
        auto_alpha,
        magnified: None,
    }));
    while let Ok(first) = requests.recv() {
        // Only the newest factor matters: the slider moves faster than
        // the clip is magnified. Saves are all done, in order.
        let mut pending = vec![first];
        pending.extend(requests.try_iter());
        let newest = pending
            .iter()
            .rposition(|r| matches!(r, Request::Magnify(_)));
        for (k, r) in pending.into_iter().enumerate() {
            match r {
                Request::Magnify(alpha) if Some(k) == newest => {
                    match strips::magnified_frames(&clip, alpha) {
                        Ok(frames) => send(Reply::Magnified(alpha, Arc::new(frames))),
                        Err(err) => send(Reply::Failed(format!("{err:#}"))),
                    }
                }
                Request::Magnify(_) => {}
                Request::Save {
                    alpha,
                    magnified,
                    out,
                } => {
                    send(Reply::Saved(save(&clip, alpha, &magnified, &out)));
                }
            }
        }
    }
}

/// Saves the frames shown (`magnified`, by `alpha`) beside the plain ones.
fn save(clip: &EventClip, alpha: f32, magnified: &[u8], out: &Path) -> Result<PathBuf, String> {
    let m = strips::side_by_side(clip, magnified, alpha);
    if let Some(dir) = out.parent() {
        create_private_dir(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    strips::save_clip(&m, out).map_err(|e| format!("{e:#}"))?;
    Ok(out.to_path_buf())
}

/// Creates `dir` (and missing parents), its owner's alone: clips are health
/// data.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
