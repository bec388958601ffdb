//! The saved video of a replayed session, decoded on a thread of its own
//! and kept at the replay's cursor, so the replay shows the face as it was
//! filmed, frame by frame with the traces.
//!
//! Playing forward decodes the file in order (ffmpeg, as everywhere); a
//! jump back, or far ahead, starts ffmpeg again at the new time. The UI
//! thread only says which time it wants and takes the newest frame; it
//! never waits for the decoder.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use twitchscope_engine::frame::{Frame, FrameSource};
use twitchscope_engine::source::VideoFileSource;

use crate::pipeline::DisplayFrame;

/// Further ahead than this (s), a jump is a new start rather than decoding
/// through.
const MAX_DECODE_AHEAD_S: f64 = 2.0;

struct State {
    /// The analysis time wanted (s).
    want_t: f64,
    /// The newest frame decoded for it, its time in analysis time, and its
    /// version (0: none yet).
    frame: DisplayFrame,
    version: u64,
    error: Option<String>,
    stop: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.state.lock().unwrap_or_else(|e| e.into_inner())
}

/// A session's video, following the replay's cursor.
pub struct ReplayVideo {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    path: PathBuf,
}

impl ReplayVideo {
    /// Starts following `video`, whose first frame is at analysis time
    /// `start_s`; `repaint` is woken when a frame is ready.
    pub fn open(video: PathBuf, start_s: f64, repaint: Option<egui::Context>) -> ReplayVideo {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                want_t: start_s,
                frame: DisplayFrame::default(),
                version: 0,
                error: None,
                stop: false,
            }),
            wake: Condvar::new(),
        });
        let worker = Arc::clone(&shared);
        let path = video.clone();
        let thread = std::thread::Builder::new()
            .name("replay-video".into())
            .spawn(move || decode_thread(&worker, &path, start_s, repaint))
            .map_err(|e| lock(&shared).error = Some(format!("cannot play the video: {e}")))
            .ok();
        ReplayVideo {
            shared,
            thread,
            path: video,
        }
    }

    /// The video file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Asks for the frame at analysis time `t`.
    pub fn show_at(&self, t: f64) {
        let mut s = lock(&self.shared);
        if s.want_t != t {
            s.want_t = t;
            self.shared.wake.notify_one();
        }
    }

    /// Swaps the newest frame into `into` if it is newer than `seen`
    /// (updated); whether it was.
    pub fn take_frame(&self, into: &mut DisplayFrame, seen: &mut u64) -> bool {
        let s = lock(&self.shared);
        if s.version == 0 || s.version == *seen {
            return false;
        }
        *seen = s.version;
        // Reuses `into`'s buffer: nothing is allocated per frame.
        into.clone_from(&s.frame);
        true
    }

    /// Why the video cannot be shown, if it cannot.
    pub fn error(&self) -> Option<String> {
        lock(&self.shared).error.clone()
    }
}

impl Drop for ReplayVideo {
    fn drop(&mut self) {
        lock(&self.shared).stop = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn decode_thread(
    shared: &Shared,
    path: &std::path::Path,
    start_s: f64,
    repaint: Option<egui::Context>,
) {
    let mut source: Option<VideoFileSource> = None;
    let mut frame = Frame::default();
    // File time of the frame in `frame`, and whether it has been shown.
    let mut have: Option<f64> = None;
    let mut served = f64::NAN;
    loop {
        let want = {
            let mut s = lock(shared);
            while !s.stop && s.want_t == served {
                s = shared.wake.wait(s).unwrap_or_else(|e| e.into_inner());
            }
            if s.stop {
                return;
            }
            s.want_t
        };
        served = want;
        let file_t = (want - start_s).max(0.0);
        let dt = source
            .as_ref()
            .map_or(1.0 / 30.0, |s| 1.0 / s.info().fps.max(1.0));
        let reopen = match (have, &source) {
            (Some(h), Some(_)) => file_t < h - 0.5 * dt || file_t > h + MAX_DECODE_AHEAD_S,
            _ => true,
        };
        if reopen {
            match VideoFileSource::open_at(path, file_t) {
                Ok(s) => source = Some(s),
                Err(e) => {
                    lock(shared).error = Some(format!("cannot play the saved video: {e:#}"));
                    return;
                }
            }
            have = None;
        }
        // Decode up to the frame shown at `file_t` (the last one starting
        // before it, within half a frame).
        let mut advanced = false;
        while have.is_none_or(|h| h + 0.5 * dt < file_t) {
            let Some(src) = source.as_mut() else { break };
            match src.next_frame(&mut frame) {
                Ok(true) => {
                    have = Some(frame.timestamp_s);
                    advanced = true;
                }
                // The end: the last frame stays.
                Ok(false) => break,
                Err(e) => {
                    lock(shared).error = Some(format!("cannot play the saved video: {e:#}"));
                    return;
                }
            }
            if lock(shared).stop {
                return;
            }
        }
        if advanced && let Some(h) = have {
            let mut s = lock(shared);
            let d = &mut s.frame;
            d.width = frame.width;
            d.height = frame.height;
            d.rgb.clear();
            d.rgb.extend_from_slice(&frame.rgb);
            d.t = h + start_s;
            d.index = frame.index;
            d.pose = None;
            s.version += 1;
            drop(s);
            if let Some(ctx) = &repaint {
                ctx.request_repaint();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Waits for a frame newer than `seen` (the decoder is asynchronous).
    fn next(v: &ReplayVideo, seen: &mut u64) -> DisplayFrame {
        let mut f = DisplayFrame::default();
        let until = Instant::now() + Duration::from_secs(20);
        while !v.take_frame(&mut f, seen) {
            assert!(v.error().is_none(), "{:?}", v.error());
            assert!(Instant::now() < until, "no frame came");
            std::thread::sleep(Duration::from_millis(5));
        }
        f
    }

    /// The frame shown follows the cursor, forwards and back, in the
    /// session's time (the video's first frame at the session's first
    /// sample), and a missing file says so.
    #[test]
    fn the_video_follows_the_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("video.mp4");
        // testsrc's picture moves every frame: frames at different times
        // differ.
        twitchscope_engine::source::testing::test_pattern(&path, (96, 64), 25, 4.0).unwrap();
        let start = 100.0;
        let v = ReplayVideo::open(path.clone(), start, None);
        let mut seen = 0;
        let first = next(&v, &mut seen);
        assert_eq!((first.width, first.height), (96, 64));
        assert!((first.t - start).abs() < 1e-3, "{}", first.t);
        let mut times = Vec::new();
        for want in [101.0, 101.5, 103.2, 100.4, 102.0] {
            v.show_at(want);
            let f = next(&v, &mut seen);
            assert!((f.t - want).abs() <= 0.5 / 25.0 + 1e-3, "{want}: {}", f.t);
            times.push((want, f.rgb));
        }
        // The same time gives the same picture, whichever way it was reached.
        v.show_at(101.0);
        let again = next(&v, &mut seen);
        assert_eq!(again.rgb, times[0].1);
        assert_ne!(times[0].1, times[1].1);
        drop(v);

        let missing = ReplayVideo::open(dir.path().join("gone.mp4"), 0.0, None);
        let until = Instant::now() + Duration::from_secs(20);
        while missing.error().is_none() {
            assert!(Instant::now() < until, "no error came");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(missing.error().unwrap().contains("saved video"));
    }
}
