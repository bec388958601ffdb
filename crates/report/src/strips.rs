//! Image strips of representative events, cut from a video file with the
//! ffmpeg program: a frame before the event, one in its middle (the peak of
//! a short twitch, the held part of a tonic spasm) and one after, each
//! cropped to the face the detector finds; and a close-up of both eyes
//! ([`closeup`]): the same event before, at its peak and after, in a
//! window that follows the face, and the peak once more with the twitch
//! magnified ([`twitchscope_engine::magnify`]), labelled with the factor.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail, ensure};

use twitchscope_engine::analysis::Analysis;
use twitchscope_engine::events::{Event, EventSide};
use twitchscope_engine::face::{FaceTracker, Landmarks};
use twitchscope_engine::frame::Frame;
use twitchscope_engine::magnify::{self, Clip, WindowPose};

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
        let closeup =
            closeup(video, e, a.source.duration_s, video_start_s).map_err(|err| format!("{err:#}"));
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
            closeup,
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

/// Both eyes of one event up close: PNGs of the same face-aligned window
/// before the event, at its peak, after it, and the peak with the motion
/// in the spasm band magnified.
#[derive(Clone, Debug, PartialEq)]
pub struct CloseUp {
    /// Before, peak, after.
    pub images: [Vec<u8>; 3],
    pub times_s: [f64; 3],
    /// The peak frame, magnified.
    pub magnified: Vec<u8>,
    /// Motion in the band is shown this many times larger (`1 + α`).
    pub magnification: f32,
    pub band_hz: (f64, f64),
    /// The event's side, to name on the pictures.
    pub side: EventSide,
}

/// What the close-ups show and how.
pub mod closeup_settings {
    /// Seconds of video before the event's start and after its end.
    pub const MARGIN_S: f64 = 0.5;
    /// Longest clip decoded for one event: a long tonic spasm is shown by
    /// its first seconds.
    pub const MAX_CLIP_S: f64 = 4.0;
    /// Band magnified: the spasm band the engine measures in.
    pub const BAND_HZ: (f64, f64) = (2.0, 12.0);
    /// Largest `α` (in-band motion comes out `1 + α` times larger): ten
    /// times makes a one-pixel lid flicker a clear movement.
    pub const MAX_FACTOR: f32 = 9.0;
    /// Largest brightness change (grey levels) the magnification may add
    /// at the peak (99th percentile over the event's side). A twitch that
    /// already closes the eye would otherwise be drawn as white and black
    /// blotches: linear magnification only holds for small motions, so a
    /// large twitch is magnified less, and the label gives the factor used.
    pub const MAX_CHANGE: f32 = 50.0;
    /// Pyramid level the motion is taken from (one halving: averages away
    /// the sensor grain, keeps the lid margin).
    pub const LEVEL: u32 = 1;
    /// Window width in units of the distance between the outer eye
    /// corners, and height to width: both eyes, the brows and the top of
    /// the cheeks.
    pub const WIDTH_PER_EYE_SPAN: f32 = 1.8;
    pub const HEIGHT_PER_WIDTH: f32 = 0.42;
    /// Widest window the magnification works on, window pixels (a face
    /// filling an HD frame is sampled down to this).
    pub const MAX_WINDOW_PX: usize = 256;
    /// Width of the images in the PDF, pixels.
    pub const SHOWN_PX: u32 = 640;
}

/// FaceMesh eye corners: subject's right outer and inner (image-left),
/// left inner and outer (image-right).
const EYE_CORNERS: [usize; 4] = [33, 133, 362, 263];

/// The window over both eyes from one frame's landmarks: centred between
/// the four eye corners, turned with the line between the outer corners,
/// `window_px` pixels wide covering [`closeup_settings::WIDTH_PER_EYE_SPAN`]
/// eye spans. `None` for degenerate landmarks.
pub fn eye_window(lm: &Landmarks, window_px: usize) -> Option<WindowPose> {
    let p = |i: usize| lm.points.get(i).map(|q| [q[0], q[1]]);
    let [ro, ri, li, lo] = [
        p(EYE_CORNERS[0])?,
        p(EYE_CORNERS[1])?,
        p(EYE_CORNERS[2])?,
        p(EYE_CORNERS[3])?,
    ];
    let span = (lo[0] - ro[0]).hypot(lo[1] - ro[1]);
    let pose = WindowPose {
        center: [
            (ro[0] + ri[0] + li[0] + lo[0]) / 4.0,
            (ro[1] + ri[1] + li[1] + lo[1]) / 4.0,
        ],
        rotation: (lo[1] - ro[1]).atan2(lo[0] - ro[0]),
        scale: closeup_settings::WIDTH_PER_EYE_SPAN * span / window_px.max(1) as f32,
    };
    (span.is_finite() && span >= 4.0 && pose.center.iter().all(|c| c.is_finite())).then_some(pose)
}

/// Window size for an eye span: about one window pixel per frame pixel,
/// at most [`closeup_settings::MAX_WINDOW_PX`] wide; even sizes.
pub fn window_size(eye_span_px: f32) -> (usize, usize) {
    use closeup_settings::*;
    let w = ((WIDTH_PER_EYE_SPAN * eye_span_px) as usize).clamp(32, MAX_WINDOW_PX) & !1;
    let h = ((w as f32 * HEIGHT_PER_WIDTH) as usize).max(16) & !1;
    (w, h)
}

/// Decodes `seconds` of `video` from `start_s` as RGB frames, one at a
/// time, through the ffmpeg program.
struct ClipDecoder {
    child: std::process::Child,
    stdout: std::process::ChildStdout,
    width: usize,
    height: usize,
}

impl ClipDecoder {
    fn open(video: &Path, start_s: f64, seconds: f64) -> Result<ClipDecoder> {
        let probe = twitchscope_engine::source::probe(video)?;
        // ffmpeg auto-rotates, so a 90°/270° video comes out transposed.
        let (width, height) = if probe.rotation % 180 == 90 {
            (probe.height, probe.width)
        } else {
            (probe.width, probe.height)
        };
        ensure!(width > 0 && height > 0, "the video has no picture size");
        let mut child = Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-nostdin",
                "-ss",
                &format!("{start_s:.3}"),
                "-i",
            ])
            .arg(video)
            .args([
                "-t",
                &format!("{seconds:.3}"),
                "-map",
                "0:v:0",
                "-an",
                "-sn",
            ])
            .args([
                "-fps_mode",
                "passthrough",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "rgb24",
                "-",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("running ffmpeg to decode the event's clip (is ffmpeg installed?)")?;
        let stdout = child.stdout.take().context("ffmpeg's output")?;
        Ok(ClipDecoder {
            child,
            stdout,
            width,
            height,
        })
    }

    /// The next frame into `frame` (buffers reused); `false` at the end.
    fn next(&mut self, frame: &mut Frame) -> Result<bool> {
        frame.ensure_size(self.width, self.height);
        match self.stdout.read_exact(&mut frame.rgb) {
            Ok(()) => {
                frame.update_luma_from_rgb();
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
            Err(e) => Err(e).context("reading the event's clip from ffmpeg"),
        }
    }
}

impl Drop for ClipDecoder {
    fn drop(&mut self) {
        // Stopped early or done: never leave the child behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The face-aligned window over both eyes around one event, every frame:
/// luma for the magnification, colour for the pictures, and the motion in
/// the spasm band, band-passed once for every factor asked of it.
pub struct EventClip {
    pub luma: Clip,
    /// `frames × width × height × 3` RGB bytes.
    pub colour: Vec<u8>,
    pub fps: f64,
    /// Analysis time of the first frame, seconds.
    pub start_s: f64,
    band: magnify::MotionBand,
}

impl EventClip {
    /// The clip of these frames, its spasm band measured.
    pub fn new(luma: Clip, colour: Vec<u8>, fps: f64, start_s: f64) -> Result<EventClip> {
        use closeup_settings::*;
        ensure!(
            colour.len() == luma.pixels.len() * 3,
            "the colour frames do not match the luma ones"
        );
        let band = magnify::MotionBand::of(&luma, fps, BAND_HZ, LEVEL)?;
        Ok(EventClip {
            luma,
            colour,
            fps,
            start_s,
            band,
        })
    }

    pub fn frames(&self) -> usize {
        self.luma.frames()
    }

    /// Analysis time of frame `i`.
    pub fn time(&self, i: usize) -> f64 {
        self.start_s + i as f64 / self.fps
    }

    /// Frame `i`'s colour pixels.
    pub fn rgb(&self, i: usize) -> &[u8] {
        let n = self.luma.width * self.luma.height * 3;
        &self.colour[i * n..(i + 1) * n]
    }
}

/// The clip of event `e` from `video` (whose first frame is at analysis
/// time `video_start_s`): from half a second before the event to half a
/// second after it (at most [`closeup_settings::MAX_CLIP_S`]), decoded
/// twice, first to follow the face, then to cut the same face-aligned
/// window from every frame: the window needs the steadied poses of the
/// whole clip, and decoding a few seconds again is cheaper than holding
/// them as whole frames (4 s of 1080p at 60 fps is 1.5 GB).
pub fn event_clip(
    video: &Path,
    e: &Event,
    duration_s: f64,
    video_start_s: f64,
) -> Result<EventClip> {
    use closeup_settings::*;
    let clip_start = (e.start_s - MARGIN_S).max(video_start_s).max(0.0);
    let clip_end = (e.end_s + MARGIN_S)
        .min(clip_start + MAX_CLIP_S)
        .min(duration_s.max(clip_start));
    ensure!(
        clip_end - clip_start > 0.5,
        "the event's clip ({clip_start:.1}–{clip_end:.1} s) is too short"
    );
    let seconds = clip_end - clip_start;
    let at = clip_start - video_start_s;

    // Pass 1: the face in every frame (landmarks track from frame to
    // frame; the detector runs when the face is lost).
    let mut tracker = FaceTracker::new()?;
    let mut frame = Frame::default();
    let mut decoder = ClipDecoder::open(video, at, seconds)?;
    let mut measured: Vec<Option<WindowPose>> = Vec::new();
    let mut spans: Vec<f32> = Vec::new();
    while decoder.next(&mut frame)? {
        let pose = tracker.track(&frame)?.and_then(|lm| {
            let pose = eye_window(lm, 1)?;
            spans.push(pose.scale / WIDTH_PER_EYE_SPAN);
            Some(pose)
        });
        measured.push(pose);
    }
    drop(decoder);
    let frames = measured.len();
    ensure!(
        frames >= magnify::MIN_FRAMES,
        "ffmpeg gave {frames} frames of the event's clip"
    );
    ensure!(
        spans.len() * 2 >= frames,
        "the face was found in only {} of {frames} frames of the event's clip",
        spans.len()
    );
    spans.sort_by(|a, b| a.total_cmp(b));
    let (width, height) = window_size(spans[spans.len() / 2]);
    // Poses came out for a one-pixel window; rescale to the real one.
    for p in measured.iter_mut().flatten() {
        p.scale /= width as f32;
    }
    let fps = frames as f64 / seconds;
    // A quarter of a second either way: follows the head, not the twitch.
    let half = ((0.125 * fps).round() as usize).max(1);
    let poses = magnify::steady_poses(&measured, half).context("no face in the event's clip")?;

    // Pass 2: the window from every frame, luma for the magnification and
    // colour for the pictures.
    let mut luma = Clip::new(width, height, frames);
    let mut colour = vec![0u8; width * height * 3 * frames];
    let mut decoder = ClipDecoder::open(video, at, seconds)?;
    let mut n = 0;
    while n < frames && decoder.next(&mut frame)? {
        let rgb = &mut colour[n * width * height * 3..(n + 1) * width * height * 3];
        magnify::sample_window(
            &frame,
            &poses[n],
            width,
            height,
            luma.frame_mut(n),
            Some(rgb),
        )?;
        n += 1;
    }
    drop(decoder);
    ensure!(
        n == frames,
        "the clip gave {n} frames the second time, {frames} the first"
    );

    EventClip::new(luma, colour, fps, clip_start)
}

/// The close-up of event `e` from `video` (see [`event_clip`]).
pub fn closeup(video: &Path, e: &Event, duration_s: f64, video_start_s: f64) -> Result<CloseUp> {
    use closeup_settings::*;
    let clip = event_clip(video, e, duration_s, video_start_s)?;
    let luma = &clip.luma;
    let (width, height, frames) = (luma.width, luma.height, luma.frames());
    let time = |i: usize| clip.time(i);
    let peak =
        peak_frame(luma, e, time).context("the event's clip has no frame inside the event")?;
    // Only the peak frame is drawn from the clip's band.
    let factor = safe_factor(
        luma,
        &clip.band,
        peak,
        e.side,
        &mut Vec::new(),
        &mut Vec::new(),
    );
    let mut magnified = luma.frame(peak).to_vec();
    clip.band.add_to(peak, factor, &mut magnified);
    let frame_rgb = |i: usize| clip.rgb(i);
    // The colour picture with the luma's magnified change added to each
    // channel (magnifying brightness only, as Wu et al. do in YIQ).
    let mut magnified_rgb = frame_rgb(peak).to_vec();
    add_luma_change(&mut magnified_rgb, &magnified, luma.frame(peak));
    let last = frames - 1;
    Ok(CloseUp {
        images: [
            png(frame_rgb(0), width, height)?,
            png(frame_rgb(peak), width, height)?,
            png(frame_rgb(last), width, height)?,
        ],
        times_s: [time(0), time(peak), time(last)],
        magnified: png(&magnified_rgb, width, height)?,
        magnification: 1.0 + factor,
        band_hz: BAND_HZ,
        side: e.side,
    })
}

/// The largest `α` (a whole number, at most
/// [`closeup_settings::MAX_FACTOR`]) whose change at frame `peak` stays
/// within [`closeup_settings::MAX_CHANGE`] grey levels on the event's side
/// (99th percentile): linear magnification only holds for small motions,
/// so a twitch that already closes the eye is magnified less.
/// `unit` and `changes` are scratch buffers, reused across frames.
fn safe_factor(
    luma: &Clip,
    band: &magnify::MotionBand,
    peak: usize,
    side: EventSide,
    unit: &mut Vec<f32>,
    changes: &mut Vec<f32>,
) -> f32 {
    use closeup_settings::*;
    unit.clear();
    unit.extend_from_slice(luma.frame(peak));
    band.add_to(peak, 1.0, unit);
    changes.clear();
    changes.extend(
        side_pixels(luma.width, luma.height, side).map(|k| (unit[k] - luma.frame(peak)[k]).abs()),
    );
    changes.sort_by(|a, b| a.total_cmp(b));
    let typical = changes
        .get(changes.len() * 99 / 100)
        .copied()
        .unwrap_or(0.0);
    if typical > 0.0 {
        (MAX_CHANGE / typical).floor().clamp(1.0, MAX_FACTOR)
    } else {
        MAX_FACTOR
    }
}

/// Adds the luma's change (`magnified − original`) to every channel of
/// `rgb`: brightness only is magnified, as Wu et al. do in YIQ.
fn add_luma_change(rgb: &mut [u8], magnified: &[f32], original: &[f32]) {
    for (px, (m, o)) in rgb.chunks_exact_mut(3).zip(magnified.iter().zip(original)) {
        let change = m - o;
        for c in px {
            *c = (*c as f32 + change).round().clamp(0.0, 255.0) as u8;
        }
    }
}

/// A magnified clip of one event, to play or share.
#[derive(Clone, Debug)]
pub struct MagnifiedClip {
    /// Width and height of one frame: the plain window on the left, the
    /// same window magnified on the right, so the viewer sees what is real.
    pub width: usize,
    pub height: usize,
    pub fps: f64,
    /// `frames × width × height × 3` RGB bytes.
    pub rgb: Vec<u8>,
    /// Motion in the band is shown this many times larger (`1 + α`).
    pub magnification: f32,
    pub band_hz: (f64, f64),
}

/// The largest `α` every frame of event `e` in `clip` allows (see
/// `safe_factor`): the clip shows every frame of the event, not only its
/// peak, so the factor must keep all of them faithful (a blink inside the
/// event moves far more than a twitch and would turn into blotches).
pub fn auto_factor(clip: &EventClip, e: &Event) -> Result<f32> {
    let (mut unit, mut changes) = (Vec::new(), Vec::new());
    (0..clip.frames())
        .filter(|&i| (e.start_s..=e.end_s).contains(&clip.time(i)))
        .map(|i| safe_factor(&clip.luma, &clip.band, i, e.side, &mut unit, &mut changes))
        .reduce(f32::min)
        .context("the event's clip has no frame inside the event")
}

/// Every frame of `clip` in colour with the motion in the spasm band
/// magnified `1 + alpha` times: `frames × width × height × 3` RGB bytes.
pub fn magnified_frames(clip: &EventClip, alpha: f32) -> Result<Vec<u8>> {
    ensure!(
        alpha.is_finite() && (0.0..=100.0).contains(&alpha),
        "the magnification factor must be between 0 and 100 (got {alpha})"
    );
    let luma = &clip.luma;
    let n = luma.width * luma.height;
    let mut out = clip.colour.clone();
    let mut magnified = vec![0.0f32; n];
    for (i, rgb) in out.chunks_exact_mut(n * 3).enumerate() {
        magnified.copy_from_slice(luma.frame(i));
        clip.band.add_to(i, alpha, &mut magnified);
        add_luma_change(rgb, &magnified, luma.frame(i));
    }
    Ok(out)
}

/// Every frame of `clip` beside itself with the motion in the spasm band
/// magnified: by `alpha` (`1 + α` times) when given, else by the largest
/// `α` every frame of the event allows ([`auto_factor`]).
pub fn magnified_clip(clip: &EventClip, e: &Event, alpha: Option<f32>) -> Result<MagnifiedClip> {
    let alpha = match alpha {
        Some(a) => a,
        None => auto_factor(clip, e)?,
    };
    let magnified = magnified_frames(clip, alpha)?;
    Ok(side_by_side(clip, &magnified, alpha))
}

/// The plain frames of `clip` on the left, `magnified` (its frames
/// magnified by `alpha`) on the right.
pub fn side_by_side(clip: &EventClip, magnified: &[u8], alpha: f32) -> MagnifiedClip {
    use closeup_settings::*;
    let (w, h) = (clip.luma.width, clip.luma.height);
    let mut rgb = Vec::with_capacity(clip.frames() * 2 * w * h * 3);
    for (i, right) in magnified.chunks_exact(w * h * 3).enumerate() {
        for y in 0..h {
            rgb.extend_from_slice(&clip.rgb(i)[y * w * 3..(y + 1) * w * 3]);
            rgb.extend_from_slice(&right[y * w * 3..(y + 1) * w * 3]);
        }
    }
    MagnifiedClip {
        width: 2 * w,
        height: h,
        fps: clip.fps,
        rgb,
        magnification: 1.0 + alpha,
        band_hz: BAND_HZ,
    }
}

/// Writes `m` to `out` (MP4, or GIF when `out` ends in .gif) through a
/// partial file renamed into place: a failed encode leaves no half clip
/// under the name asked for. Returns the frames written.
pub fn save_clip(m: &MagnifiedClip, out: &Path) -> Result<usize> {
    let name = out
        .file_name()
        .with_context(|| format!("{} does not name a file", out.display()))?
        .to_string_lossy();
    let extension = out
        .extension()
        .map_or("mp4".into(), |x| x.to_string_lossy().to_lowercase());
    let partial = out.with_file_name(format!(".{name}.partial.{extension}"));
    let frame_bytes = (m.width * m.height * 3).max(1);
    let encoded = (|| {
        let mut encoder = twitchscope_engine::encode::Encoder::spawn(
            m.width,
            m.height,
            &format!("{:.3}", m.fps),
            18,
            &partial,
        )?;
        for frame in m.rgb.chunks_exact(frame_bytes) {
            if !encoder.write(frame) {
                break;
            }
        }
        encoder.finish()?;
        std::fs::rename(&partial, out).with_context(|| format!("cannot write {}", out.display()))
    })();
    if encoded.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    encoded?;
    Ok(m.rgb.len() / frame_bytes)
}

/// The frame inside the event that differs most from the clip's first
/// frame (before the event) on the event's side of the window (image-right
/// is the patient's left; both halves for a bilateral event): the deepest
/// point of a twitch or of a tonic narrowing.
pub fn peak_frame(clip: &Clip, e: &Event, time: impl Fn(usize) -> f64) -> Option<usize> {
    let before = clip.frame(0);
    (0..clip.frames())
        .filter(|&i| (e.start_s..=e.end_s).contains(&time(i)))
        .map(|i| {
            let f = clip.frame(i);
            let change: f32 = side_pixels(clip.width, clip.height, e.side)
                .map(|k| (f[k] - before[k]).abs())
                .sum();
            (i, change)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// Indices of the window's pixels on `side` (image-right is the
/// patient's left; both halves for a bilateral event).
fn side_pixels(w: usize, h: usize, side: EventSide) -> impl Iterator<Item = usize> {
    let columns = match side {
        EventSide::Left => w / 2..w,
        EventSide::Right => 0..w / 2,
        EventSide::Bilateral => 0..w,
    };
    (0..h).flat_map(move |y| columns.clone().map(move |x| y * w + x))
}

/// An RGB picture as PNG, enlarged to [`closeup_settings::SHOWN_PX`] wide
/// so a lid's few pixels are legible on paper.
fn png(rgb: &[u8], width: usize, height: usize) -> Result<Vec<u8>> {
    let img = image::RgbImage::from_raw(width as u32, height as u32, rgb.to_vec())
        .context("close-up picture has the wrong size")?;
    let shown_w = closeup_settings::SHOWN_PX.max(width as u32);
    let shown_h = (height as u64 * shown_w as u64 / width as u64) as u32;
    let big = image::imageops::resize(
        &img,
        shown_w,
        shown_h,
        image::imageops::FilterType::CatmullRom,
    );
    let mut out = std::io::Cursor::new(Vec::new());
    big.write_to(&mut out, image::ImageFormat::Png)
        .context("encoding a close-up as PNG")?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use twitchscope_engine::events::EventKind;
    use twitchscope_engine::face::NUM_LANDMARKS;

    fn landmarks(corners: [[f32; 2]; 4]) -> Landmarks {
        let mut points = vec![[0.0; 3]; NUM_LANDMARKS];
        for (i, c) in EYE_CORNERS.iter().zip(corners) {
            points[*i] = [c[0], c[1], 0.0];
        }
        Landmarks {
            points,
            presence: 1.0,
        }
    }

    #[test]
    fn the_eye_window_spans_both_eyes_along_the_eye_line() {
        // Outer corners 100 px apart on a line turned 0.2 rad.
        let (s, c) = 0.2f32.sin_cos();
        let along = |d: f32| [300.0 + c * d, 200.0 + s * d];
        let lm = landmarks([along(-50.0), along(-15.0), along(15.0), along(50.0)]);
        let (w, h) = window_size(100.0);
        assert_eq!(w, 180, "1.8 eye spans at one window pixel per frame pixel");
        assert!(h < w / 2 && h > w / 3);
        let pose = eye_window(&lm, w).unwrap();
        assert!((pose.center[0] - 300.0).abs() < 1e-3 && (pose.center[1] - 200.0).abs() < 1e-3);
        assert!((pose.rotation - 0.2).abs() < 1e-5);
        // The window's left and right edges at mid-height lie on the eye
        // line, 0.9 eye spans out: both eyes with room beside them.
        let left = pose.to_frame(0.0, h as f32 / 2.0, w, h);
        let right = pose.to_frame(w as f32, h as f32 / 2.0, w, h);
        for (p, d) in [(left, -90.0), (right, 90.0)] {
            let want = along(d);
            assert!((p[0] - want[0]).abs() < 0.01 && (p[1] - want[1]).abs() < 0.01);
        }
        // A huge face is sampled down to the cap; collapsed corners give
        // no window.
        assert_eq!(window_size(2000.0).0, closeup_settings::MAX_WINDOW_PX);
        assert!(eye_window(&landmarks([[5.0, 5.0]; 4]), w).is_none());
    }

    fn event(side: EventSide, start_s: f64, end_s: f64) -> Event {
        Event {
            start_s,
            end_s,
            side,
            kind: EventKind::Clonic,
            regions: Vec::new(),
            freq_hz: None,
            amplitude: 1.0,
            closure: None,
        }
    }

    /// A clip where a dark bar (a lid) on the image-right half moves up and
    /// down by a pixel at 5 Hz, and the image-left half is still.
    fn twitching_clip() -> EventClip {
        let (w, h, n, fps) = (64, 32, 60, 30.0);
        let mut luma = Clip::new(w, h, n);
        let mut colour = vec![0u8; w * h * 3 * n];
        for i in 0..n {
            let lid = 14.0 + (2.0 * std::f64::consts::PI * 5.0 * i as f64 / fps).sin() as f32;
            for y in 0..h {
                for x in 0..w {
                    // Image-left: a still bar at row 14; image-right: the lid.
                    let centre = if x < w / 2 { 14.0 } else { lid };
                    let v = 200.0 - 150.0 * (-((y as f32 - centre) / 2.0).powi(2)).exp();
                    luma.frame_mut(i)[y * w + x] = v;
                    let k = ((i * h + y) * w + x) * 3;
                    colour[k..k + 3].fill(v.round() as u8);
                }
            }
        }
        EventClip::new(luma, colour, fps, 10.0).unwrap()
    }

    #[test]
    fn a_magnified_clip_shows_the_plain_window_beside_the_magnified_one() {
        let clip = twitching_clip();
        let e = event(EventSide::Left, 10.5, 11.5);
        let m = magnified_clip(&clip, &e, Some(4.0)).unwrap();
        let (w, h) = (clip.luma.width, clip.luma.height);
        assert_eq!((m.width, m.height, m.magnification), (2 * w, h, 5.0));
        assert_eq!(m.rgb.len(), clip.frames() * 2 * w * h * 3);
        let frame = |i: usize| &m.rgb[i * 2 * w * h * 3..(i + 1) * 2 * w * h * 3];
        let (mut plain_moved, mut magnified_moved, mut still_moved) = (0.0f32, 0.0f32, 0.0f32);
        for i in 0..clip.frames() {
            for y in 0..h {
                let row = &frame(i)[y * 2 * w * 3..(y + 1) * 2 * w * 3];
                // The left half is the clip as filmed, untouched.
                assert_eq!(&row[..w * 3], &clip.rgb(i)[y * w * 3..(y + 1) * w * 3]);
                let plain = |x: usize| clip.rgb(i)[(y * w + x) * 3] as f32;
                let shown = |x: usize| row[(w + x) * 3] as f32;
                let mean = |x: usize| {
                    clip.luma
                        .pixels
                        .iter()
                        .skip(y * w + x)
                        .step_by(w * h)
                        .sum::<f32>()
                        / clip.frames() as f32
                };
                plain_moved += (plain(48) - mean(48)).abs();
                magnified_moved += (shown(48) - mean(48)).abs();
                still_moved += (shown(16) - plain(16)).abs();
            }
        }
        // The lid's in-band motion comes out larger; the still side stays.
        assert!(
            magnified_moved > 3.0 * plain_moved,
            "{magnified_moved} vs {plain_moved}"
        );
        assert!(still_moved < 1e-3 * plain_moved.max(1.0), "{still_moved}");
        assert!(magnified_clip(&clip, &e, Some(f32::NAN)).is_err());
        assert!(magnified_clip(&clip, &e, Some(-1.0)).is_err());
        // Without a factor, the one every frame of the event allows.
        let auto = magnified_clip(&clip, &e, None).unwrap();
        assert!(
            (2.0..=10.0).contains(&auto.magnification),
            "{}",
            auto.magnification
        );
    }

    #[test]
    fn the_peak_is_the_biggest_change_on_the_events_side_inside_the_event() {
        // 10 frames at 10 fps; image-right (patient's left) changes most
        // at frame 6, image-left (patient's right) even more at frame 3,
        // and the largest change of all is at frame 9, after the event.
        let (w, h) = (8, 4);
        let mut clip = Clip::new(w, h, 10);
        for (t, x, v) in [(6, 6, 40.0), (4, 5, 10.0), (3, 1, 90.0), (9, 6, 200.0)] {
            clip.frame_mut(t)[w + x] = v;
        }
        let time = |i: usize| i as f64 / 10.0;
        let left = event(EventSide::Left, 0.2, 0.8);
        assert_eq!(peak_frame(&clip, &left, time), Some(6));
        let right = event(EventSide::Right, 0.2, 0.8);
        assert_eq!(peak_frame(&clip, &right, time), Some(3));
        let both = event(EventSide::Bilateral, 0.2, 0.8);
        assert_eq!(peak_frame(&clip, &both, time), Some(3));
        let outside = event(EventSide::Left, 5.0, 6.0);
        assert_eq!(peak_frame(&clip, &outside, time), None);
    }
}
