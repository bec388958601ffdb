//! Webcams through nokhwa (V4L2 on Linux), as a [`FrameSource`].
//!
//! Frames are read with `frame_raw`, which borrows the driver's buffer, and
//! converted straight into a recycled [`Frame`]: YUYV gives luma
//! from its Y samples (expanded from video range to full range, like the
//! file source's luma) and RGB in the same pass; MJPEG is decoded once into
//! RGB. Timestamps come from a monotonic clock at capture, seconds since the
//! stream opened.
//!
//! Failures a user can cause — no camera, a camera busy in another program,
//! one unplugged mid-session — come back as [`CameraError`] with a plain
//! one-line message. A frame that does not decode is skipped and counted
//! ([`FrameSource::skipped_frames`]); a camera that stops sending is
//! reopened a few times before the stream ends ([`FaultPolicy`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;
use std::time::Instant;

use anyhow::Result;
use nokhwa::Camera;
use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
    Resolution,
};

use twitchscope_engine::frame::{Frame, FrameSource, SourceInfo};

/// A camera the system lists.
#[derive(Clone, Debug, PartialEq)]
pub struct CameraDevice {
    pub index: u32,
    pub name: String,
}

/// What the user asked for; the camera picks the closest mode it supports.
#[derive(Clone, Debug, PartialEq)]
pub struct CameraRequest {
    pub index: u32,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

impl Default for CameraRequest {
    fn default() -> Self {
        CameraRequest {
            index: 0,
            width: 640,
            height: 480,
            fps: 30,
        }
    }
}

/// Camera failures, worded for the user.
#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    #[error("no camera found (is one connected, and may this user open /dev/video*?)")]
    NoCamera,
    #[error("camera {index} cannot be opened: it is busy (another program is using it)")]
    Busy { index: u32 },
    #[error("camera {index} cannot be opened: {reason}")]
    Open { index: u32, reason: String },
    #[error("camera {index} offers no YUYV or MJPEG mode: {reason}")]
    Format { index: u32, reason: String },
    #[error("the camera stopped sending frames (unplugged?): {reason}")]
    Lost { reason: String },
    #[error("a camera frame could not be decoded: {reason}")]
    Decode { reason: String },
}

/// Lists the cameras the system has. An empty list (not an error) when there
/// are none.
pub fn list_cameras() -> Result<Vec<CameraDevice>> {
    let backend = nokhwa::native_api_backend().unwrap_or(ApiBackend::Auto);
    let infos = nokhwa::query(backend)
        .map_err(|e| anyhow::anyhow!("cannot list cameras: {}", one_line(&e.to_string())))?;
    Ok(infos
        .iter()
        .filter_map(|i| {
            let index = i.index().as_index().ok()?;
            Some(CameraDevice {
                index,
                name: i.human_name(),
            })
        })
        .collect())
}

fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// Maps an open error to the user's words.
fn open_error(index: u32, e: &nokhwa::NokhwaError) -> CameraError {
    let text = one_line(&e.to_string());
    let lower = text.to_lowercase();
    if lower.contains("busy") || lower.contains("ebusy") || lower.contains("os error 16") {
        CameraError::Busy { index }
    } else if lower.contains("no such file") || lower.contains("no such device") {
        CameraError::Open {
            index,
            reason: "no such camera (unplugged?)".into(),
        }
    } else if lower.contains("permission denied") {
        CameraError::Open {
            index,
            reason: "permission denied (is this user in the `video` group?)".into(),
        }
    } else {
        CameraError::Open {
            index,
            reason: text,
        }
    }
}

/// A webcam stream. The camera lives on its own thread (nokhwa's camera
/// may not move between threads), which converts each frame into a
/// recycled [`Frame`] and hands it over a short channel.
pub struct CameraSource {
    info: SourceInfo,
    frames: Option<Receiver<Result<Frame, CameraError>>>,
    spare: Sender<Frame>,
    stop: Arc<AtomicBool>,
    /// Frames that could not be decoded and were skipped.
    skipped: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

/// Opens the camera on the calling thread.
fn open_camera(req: &CameraRequest) -> Result<(Camera, SourceInfo, FrameFormat), CameraError> {
    let wanted = CameraFormat::new(
        Resolution::new(req.width.max(1), req.height.max(1)),
        FrameFormat::YUYV,
        req.fps.max(1),
    );
    let formats = [FrameFormat::YUYV, FrameFormat::MJPEG];
    let request = RequestedFormat::with_formats(RequestedFormatType::Closest(wanted), &formats);
    let mut camera = Camera::new(CameraIndex::Index(req.index), request).map_err(|e| {
        let lower = e.to_string().to_lowercase();
        if lower.contains("format") || lower.contains("fourcc") {
            CameraError::Format {
                index: req.index,
                reason: one_line(&e.to_string()),
            }
        } else {
            open_error(req.index, &e)
        }
    })?;
    camera
        .open_stream()
        .map_err(|e| open_error(req.index, &e))?;
    let fmt = camera.camera_format();
    let name = camera.info().human_name();
    let info = SourceInfo {
        name: if name.is_empty() {
            format!("camera {}", req.index)
        } else {
            name
        },
        width: fmt.resolution().width() as usize,
        height: fmt.resolution().height() as usize,
        fps: fmt.frame_rate() as f64,
        frames: None,
        duration_s: None,
    };
    Ok((camera, info, fmt.format()))
}

/// What the camera thread does after a frame fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Recovery {
    /// Drop this frame (counted) and read the next.
    Skip,
    /// Close the camera and open it again.
    Reopen,
    /// Stop: the camera is gone.
    GiveUp,
}

/// When a failing camera is worth another try. Pure, so that tests can
/// drive it without a camera.
///
/// One frame that does not decode (a torn MJPEG frame on a busy USB bus)
/// is skipped: the session goes on without it. A second of such frames in
/// a row means the stream itself is broken, and a failed read means the
/// driver lost the device (a loose cable, a USB reset): both are worth
/// reopening the camera, a few times, before the session ends.
#[derive(Debug, Default)]
struct FaultPolicy {
    bad_in_a_row: u32,
    reopens_in_a_row: u32,
}

impl FaultPolicy {
    /// Undecodable frames in a row that are skipped before reopening.
    const MAX_BAD_IN_A_ROW: u32 = 30;
    /// Reopens without a good frame between them before giving up.
    const MAX_REOPENS: u32 = 3;

    fn frame_ok(&mut self) {
        *self = FaultPolicy::default();
    }

    fn bad_frame(&mut self) -> Recovery {
        self.bad_in_a_row += 1;
        if self.bad_in_a_row > Self::MAX_BAD_IN_A_ROW {
            self.read_failed()
        } else {
            Recovery::Skip
        }
    }

    /// A read failed, or a reopen did.
    fn read_failed(&mut self) -> Recovery {
        self.bad_in_a_row = 0;
        self.reopens_in_a_row += 1;
        if self.reopens_in_a_row > Self::MAX_REOPENS {
            Recovery::GiveUp
        } else {
            Recovery::Reopen
        }
    }

    /// Reopens tried since the last good frame.
    fn reopens(&self) -> u32 {
        self.reopens_in_a_row
    }
}

/// Closes `camera` and opens the one `req` asks for again, as long as
/// `policy` allows; it must come back in the same mode (`info`, `format`).
/// `None` when it cannot be, with the reason in `last_error`.
fn reopen(
    camera: Camera,
    req: &CameraRequest,
    info: &SourceInfo,
    format: FrameFormat,
    policy: &mut FaultPolicy,
    stop: &AtomicBool,
    last_error: &mut String,
) -> Option<Camera> {
    let mut camera = camera;
    let _ = camera.stop_stream();
    drop(camera);
    loop {
        // Give the device a moment to come back (longer each time).
        std::thread::sleep(std::time::Duration::from_millis(
            500 * u64::from(policy.reopens()),
        ));
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        match open_camera(req) {
            Ok((camera, again, again_format))
                if again.width == info.width
                    && again.height == info.height
                    && again_format == format =>
            {
                return Some(camera);
            }
            Ok((mut other, again, _)) => {
                let _ = other.stop_stream();
                *last_error = format!(
                    "it came back as {}x{} instead of {}x{}",
                    again.width, again.height, info.width, info.height
                );
                return None;
            }
            Err(e) => *last_error = e.to_string(),
        }
        if policy.read_failed() == Recovery::GiveUp {
            return None;
        }
    }
}

/// The camera thread's ends of what it shares with [`CameraSource`].
struct CameraLink {
    out: SyncSender<Result<Frame, CameraError>>,
    spare: Receiver<Frame>,
    stop: Arc<AtomicBool>,
    skipped: Arc<AtomicU64>,
}

/// The camera thread: reads, converts and sends frames until told to stop
/// or the receiver goes away. Undecodable frames are skipped and counted in
/// `skipped`; a lost camera is reopened where possible ([`FaultPolicy`]).
fn camera_loop(
    camera: Camera,
    req: &CameraRequest,
    info: SourceInfo,
    format: FrameFormat,
    link: CameraLink,
) {
    let CameraLink {
        out,
        spare,
        stop,
        skipped,
    } = link;
    let start = Instant::now();
    let y_full = video_to_full_range_table();
    let (w, h) = (info.width, info.height);
    let mut index = 0u64;
    let mut policy = FaultPolicy::default();
    let mut camera = Some(camera);
    let mut frame = Frame::default();
    while !stop.load(Ordering::Relaxed) {
        let Some(cam) = camera.as_mut() else { break };
        if frame.rgb.is_empty() {
            frame = spare.try_recv().unwrap_or_default();
        }
        let (recovery, reason) = match cam.frame_raw() {
            Err(e) => (policy.read_failed(), one_line(&e.to_string())),
            Ok(raw) => {
                let t = start.elapsed().as_secs_f64();
                frame.ensure_size(w, h);
                let converted = match format {
                    FrameFormat::YUYV => yuyv_into_frame(&raw, w, h, &y_full, &mut frame),
                    FrameFormat::MJPEG => mjpeg_into_frame(&raw, w, h, &mut frame),
                    other => Err(CameraError::Decode {
                        reason: format!("unsupported pixel format {other}"),
                    }),
                };
                match converted {
                    Ok(()) => {
                        policy.frame_ok();
                        frame.timestamp_s = t;
                        frame.index = index;
                        index += 1;
                        if out.send(Ok(std::mem::take(&mut frame))).is_err() {
                            break;
                        }
                        continue;
                    }
                    Err(e) => {
                        skipped.fetch_add(1, Ordering::Relaxed);
                        (policy.bad_frame(), e.to_string())
                    }
                }
            }
        };
        match recovery {
            Recovery::Skip => {}
            Recovery::Reopen => {
                let mut last_error = reason.clone();
                camera = camera.take().and_then(|c| {
                    reopen(c, req, &info, format, &mut policy, &stop, &mut last_error)
                });
                if camera.is_none() && !stop.load(Ordering::Relaxed) {
                    let _ = out.send(Err(CameraError::Lost {
                        reason: format!("{reason}; reopening it failed ({last_error})"),
                    }));
                }
            }
            Recovery::GiveUp => {
                let _ = out.send(Err(CameraError::Lost { reason }));
                break;
            }
        }
    }
    if let Some(mut camera) = camera {
        let _ = camera.stop_stream();
    }
}

impl CameraSource {
    /// Opens camera `req.index` in the mode closest to the request, YUYV or
    /// MJPEG, and starts streaming.
    pub fn open(req: &CameraRequest) -> Result<CameraSource, CameraError> {
        let (info_tx, info_rx) = sync_channel::<Result<SourceInfo, CameraError>>(1);
        let (frame_tx, frame_rx) = sync_channel(2);
        let (spare_tx, spare_rx) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let skipped = Arc::new(AtomicU64::new(0));
        let skipped2 = skipped.clone();
        let req2 = req.clone();
        let thread = std::thread::Builder::new()
            .name("camera".into())
            .spawn(move || match open_camera(&req2) {
                Ok((camera, info, format)) => {
                    if info_tx.send(Ok(info.clone())).is_ok() {
                        let link = CameraLink {
                            out: frame_tx,
                            spare: spare_rx,
                            stop: stop2,
                            skipped: skipped2,
                        };
                        camera_loop(camera, &req2, info, format, link);
                    }
                }
                Err(e) => {
                    let _ = info_tx.send(Err(e));
                }
            })
            .map_err(|e| CameraError::Open {
                index: req.index,
                reason: format!("cannot start the camera thread: {e}"),
            })?;
        let info = info_rx.recv().unwrap_or_else(|_| {
            Err(CameraError::Open {
                index: req.index,
                reason: "the camera thread stopped".into(),
            })
        })?;
        Ok(CameraSource {
            info,
            frames: Some(frame_rx),
            spare: spare_tx,
            stop,
            skipped,
            thread: Some(thread),
        })
    }
}

impl FrameSource for CameraSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool> {
        let rx = self.frames.as_ref().ok_or(CameraError::Lost {
            reason: "the camera was closed".into(),
        })?;
        let mut got = match rx.recv() {
            Ok(Ok(f)) => f,
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => {
                return Err(CameraError::Lost {
                    reason: "the camera thread stopped".into(),
                }
                .into());
            }
        };
        std::mem::swap(frame, &mut got);
        let _ = self.spare.send(got);
        Ok(true)
    }

    fn skipped_frames(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }
}

impl Drop for CameraSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Dropping the receiver unblocks a pending send.
        self.frames = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn video_to_full_range_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    for (y, v) in t.iter_mut().enumerate() {
        let full = ((y as f32 - 16.0) * 255.0 / 219.0).round();
        *v = full.clamp(0.0, 255.0) as u8;
    }
    t
}

/// Converts packed YUYV 4:2:2 (BT.601, video range) into `frame` (already
/// sized `w`×`h`): luma from Y directly, RGB by the integer BT.601 formulas.
pub fn yuyv_into_frame(
    data: &[u8],
    w: usize,
    h: usize,
    y_full: &[u8; 256],
    frame: &mut Frame,
) -> Result<(), CameraError> {
    if !w.is_multiple_of(2) || data.len() < w * h * 2 {
        return Err(CameraError::Decode {
            reason: format!(
                "YUYV frame of {} bytes is too short for {w}x{h}",
                data.len()
            ),
        });
    }
    let rgb = &mut frame.rgb[..w * h * 3];
    let luma = &mut frame.luma[..w * h];
    for ((src, dst), lum) in data[..w * h * 2]
        .chunks_exact(4)
        .zip(rgb.chunks_exact_mut(6))
        .zip(luma.chunks_exact_mut(2))
    {
        let (y0, u, y1, v) = (src[0], src[1], src[2], src[3]);
        lum[0] = y_full[y0 as usize];
        lum[1] = y_full[y1 as usize];
        let d = u as i32 - 128;
        let e = v as i32 - 128;
        for (k, y) in [y0, y1].into_iter().enumerate() {
            let c = 298 * (y as i32 - 16);
            let r = (c + 409 * e + 128) >> 8;
            let g = (c - 100 * d - 208 * e + 128) >> 8;
            let b = (c + 516 * d + 128) >> 8;
            dst[3 * k] = r.clamp(0, 255) as u8;
            dst[3 * k + 1] = g.clamp(0, 255) as u8;
            dst[3 * k + 2] = b.clamp(0, 255) as u8;
        }
    }
    Ok(())
}

/// Decodes one MJPEG frame into `frame` (already sized `w`×`h`).
pub fn mjpeg_into_frame(
    data: &[u8],
    w: usize,
    h: usize,
    frame: &mut Frame,
) -> Result<(), CameraError> {
    let img = image::load_from_memory_with_format(data, image::ImageFormat::Jpeg)
        .map_err(|e| CameraError::Decode {
            reason: e.to_string(),
        })?
        .into_rgb8();
    if img.width() as usize != w || img.height() as usize != h {
        return Err(CameraError::Decode {
            reason: format!(
                "MJPEG frame is {}x{}, expected {w}x{h}",
                img.width(),
                img.height()
            ),
        });
    }
    frame.rgb.copy_from_slice(img.as_raw());
    frame.update_luma_from_rgb();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuyv_gives_full_range_luma_and_grey_rgb() {
        // Two pixels of video black (16) and white (235), no chroma.
        let data = [16u8, 128, 235, 128];
        let mut f = Frame::default();
        f.ensure_size(2, 1);
        yuyv_into_frame(&data, 2, 1, &video_to_full_range_table(), &mut f).unwrap();
        assert_eq!(f.luma, vec![0, 255]);
        assert_eq!(&f.rgb[..3], &[0, 0, 0]);
        assert_eq!(&f.rgb[3..], &[255, 255, 255]);
    }

    #[test]
    fn short_yuyv_is_an_error_not_a_panic() {
        let mut f = Frame::default();
        f.ensure_size(4, 2);
        let err = yuyv_into_frame(&[0; 5], 4, 2, &video_to_full_range_table(), &mut f);
        assert!(err.unwrap_err().to_string().contains("too short"));
    }

    #[test]
    fn garbage_mjpeg_is_an_error() {
        let mut f = Frame::default();
        f.ensure_size(4, 2);
        assert!(mjpeg_into_frame(b"not a jpeg", 4, 2, &mut f).is_err());
    }

    #[test]
    fn a_bad_frame_is_skipped_and_a_broken_stream_reopened_a_few_times() {
        let mut p = FaultPolicy::default();
        // Torn frames are skipped, up to a second's worth in a row.
        for _ in 0..FaultPolicy::MAX_BAD_IN_A_ROW {
            assert_eq!(p.bad_frame(), Recovery::Skip);
        }
        assert_eq!(p.bad_frame(), Recovery::Reopen);
        // A good frame forgives everything before it.
        p.frame_ok();
        assert_eq!(p.bad_frame(), Recovery::Skip);
        p.frame_ok();
        // A lost device is reopened a few times, then given up.
        for _ in 0..FaultPolicy::MAX_REOPENS {
            assert_eq!(p.read_failed(), Recovery::Reopen);
        }
        assert_eq!(p.read_failed(), Recovery::GiveUp);
        // Reopened and working again: the next loss gets its tries anew.
        p.frame_ok();
        assert_eq!(p.read_failed(), Recovery::Reopen);
        assert_eq!(p.reopens(), 1);
    }

    #[test]
    fn no_camera_is_a_plain_message() {
        // No machine has a 64th camera: opening it must fail with words
        // that name it, not a panic.
        let result = CameraSource::open(&CameraRequest {
            index: 63,
            ..CameraRequest::default()
        });
        let Err(e) = result else {
            panic!("camera 63 opened");
        };
        assert!(e.to_string().starts_with("camera 63"), "{e}");
    }
}
