//! Image strips of representative events, cut from a video file with the
//! ffmpeg program: a frame before the event, one in its middle (the peak of
//! a short twitch, the held part of a tonic spasm) and one after, each
//! cropped to the face the detector finds.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use twitchscope_engine::analysis::Analysis;
use twitchscope_engine::events::Event;

use super::EventStrip;

/// Up to three representative spasm events: the strongest of each kind
/// first, then the strongest left over; in time order.
pub fn representative(a: &Analysis) -> Vec<&Event> {
    let mut evs: Vec<&Event> = a.events.iter().filter(|e| e.is_spasm()).collect();
    evs.sort_by(|x, y| y.amplitude.total_cmp(&x.amplitude));
    let mut chosen: Vec<&Event> = Vec::new();
    for e in &evs {
        if chosen.len() < 3 && !chosen.iter().any(|c| c.kind == e.kind) {
            chosen.push(e);
        }
    }
    for e in &evs {
        if chosen.len() < 3 && !chosen.iter().any(|c| std::ptr::eq(*c, *e)) {
            chosen.push(e);
        }
    }
    chosen.sort_by(|x, y| x.start_s.total_cmp(&y.start_s));
    chosen
}

/// The three times shown for an event.
pub fn strip_times(e: &Event, duration_s: f64) -> [f64; 3] {
    let last = (duration_s - 0.05).max(0.0);
    [
        (e.start_s - 0.5).clamp(0.0, last),
        ((e.start_s + e.end_s) / 2.0).clamp(0.0, last),
        (e.end_s + 0.5).clamp(0.0, last),
    ]
}

/// A square crop `(x, y, side)` in pixels around the face of the frame at
/// `t`, found by the face detector; `None` when no face is found there.
fn face_crop(video: &Path, t: f64) -> Result<Option<(usize, usize, usize)>> {
    let probe = twitchscope_engine::source::probe(video)?;
    let (width, height) = if probe.rotation % 180 == 90 {
        (probe.height, probe.width)
    } else {
        (probe.width, probe.height)
    };
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &format!("{t:.3}"), "-i"])
        .arg(video)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .stdin(Stdio::null())
        .output()
        .context("running ffmpeg to find the face for event images")?;
    let mut frame = twitchscope_engine::frame::Frame::default();
    frame.ensure_size(width, height);
    if !out.status.success() || out.stdout.len() != frame.rgb.len() {
        return Ok(None);
    }
    frame.rgb.copy_from_slice(&out.stdout);
    frame.update_luma_from_rgb();
    let Some(face) = twitchscope_engine::face::FaceTracker::new()?.detect(&frame)? else {
        return Ok(None);
    };
    // The detector's box is tight (brows to chin); widen it so the brows,
    // cheeks and mouth corners all show.
    let side = (1.5 * face.size[0].max(face.size[1]))
        .min(width.min(height) as f32)
        .max(16.0);
    let x = (face.center[0] - side / 2.0).clamp(0.0, width as f32 - side);
    let y = (face.center[1] - side / 2.0).clamp(0.0, height as f32 - side);
    Ok(Some((x as usize, y as usize, side as usize)))
}

/// One frame at `t` seconds as PNG (cropped to `crop` when given), at
/// most 360 pixels wide.
fn frame_png(video: &Path, t: f64, crop: Option<(usize, usize, usize)>) -> Result<Vec<u8>> {
    let filter = match crop {
        Some((x, y, side)) => format!("crop={side}:{side}:{x}:{y},scale='min(360,iw)':-2"),
        None => "scale='min(360,iw)':-2".to_string(),
    };
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &format!("{t:.3}"), "-i"])
        .arg(video)
        .args([
            "-frames:v",
            "1",
            "-vf",
            &filter,
            "-f",
            "image2pipe",
            "-c:v",
            "png",
            "-",
        ])
        .stdin(Stdio::null())
        .output()
        .context("running ffmpeg to cut event images (is ffmpeg installed?)")?;
    if !out.status.success() || out.stdout.is_empty() {
        bail!(
            "ffmpeg could not cut a frame at {t:.1} s from {}: {}",
            video.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out.stdout)
}

/// Strips of the representative events of `video`. `video_start_s` is the
/// analysis time of the video's first frame (0 for an analysed file; the
/// first recorded sample for a session's saved video).
pub fn video_strips(video: &Path, a: &Analysis, video_start_s: f64) -> Result<Vec<EventStrip>> {
    let mut out = Vec::new();
    for e in representative(a) {
        let times_s = strip_times(e, a.source.duration_s);
        let at = |t: f64| (t - video_start_s).max(0.0);
        // One crop for the three frames, so they compare like for like.
        let crop = face_crop(video, at(times_s[0]))?;
        let images = [
            frame_png(video, at(times_s[0]), crop)?,
            frame_png(video, at(times_s[1]), crop)?,
            frame_png(video, at(times_s[2]), crop)?,
        ];
        let side = e.side.patient_label();
        out.push(EventStrip {
            label: format!(
                "{} spasm, {side}, {:.1}–{:.1} s",
                capitalise(e.kind.name()),
                e.start_s,
                e.end_s
            ),
            times_s,
            images,
        });
    }
    Ok(out)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
