//! Video files decoded by the `ffmpeg` program.
//!
//! ffmpeg reads every format a phone or camera writes, honours rotation
//! metadata (it auto-rotates while decoding) and reports each frame's real
//! presentation time through its `showinfo` filter, so variable-frame-rate
//! videos keep correct timing. Frames arrive as raw RGB over a pipe; the
//! reader fills the caller's reused buffers.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::thread::JoinHandle;

use anyhow::{Context, Result, anyhow, bail, ensure};

use crate::frame::{EndedEarly, Frame, FrameSource, SourceInfo};

/// Errors a user can cause by pointing the program at the wrong file.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}: no such file")]
    Missing(PathBuf),
    #[error("{path}: cannot be read ({reason})")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{0}: is a directory, not a video file")]
    Directory(PathBuf),
    #[error("{0}: the file is empty")]
    Empty(PathBuf),
    #[error("{path}: not a readable video ({reason})")]
    NotVideo { path: PathBuf, reason: String },
    #[error("ffmpeg/ffprobe not found: install ffmpeg (e.g. `apt-get install ffmpeg`)")]
    NoFfmpeg,
}

/// Stream facts read by ffprobe.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    pub width: usize,
    pub height: usize,
    pub fps: f64,
    pub frames: Option<u64>,
    pub duration_s: Option<f64>,
    /// Display rotation in degrees (0, 90, 180, 270).
    pub rotation: i32,
}

/// Why `path` cannot be opened, in the user's terms.
fn unreadable(path: &Path, e: &std::io::Error) -> SourceError {
    let path = path.to_path_buf();
    match e.kind() {
        std::io::ErrorKind::NotFound => SourceError::Missing(path),
        std::io::ErrorKind::PermissionDenied => SourceError::Unreadable {
            path,
            reason: "no permission to read it".to_string(),
        },
        _ => SourceError::Unreadable {
            path,
            reason: e.to_string(),
        },
    }
}

fn check_file(path: &Path) -> Result<(), SourceError> {
    let meta = std::fs::metadata(path).map_err(|e| unreadable(path, &e))?;
    if meta.is_dir() {
        return Err(SourceError::Directory(path.to_path_buf()));
    }
    if meta.len() == 0 {
        return Err(SourceError::Empty(path.to_path_buf()));
    }
    // Reading the metadata needs only the folder's permission; the file's
    // own is checked by opening it (else ffprobe's words would be the
    // message).
    std::fs::File::open(path).map_err(|e| unreadable(path, &e))?;
    Ok(())
}

/// A timestamp further than this after the previous frame's is broken
/// (a wrapped or corrupt presentation time), not a pause in a face video:
/// the frame is placed one nominal frame after the last instead.
const MAX_FRAME_GAP_S: f64 = 10.0;

/// How long to wait for a frame's timestamp line once the frame's pixels
/// have arrived (ffmpeg writes the line first; stderr can lag a little).
/// After a timestamp fails to come, the next frames wait only briefly, so
/// a log without them costs milliseconds, not seconds, per frame.
const TIMESTAMP_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
const TIMESTAMP_WAIT_AFTER_MISS: std::time::Duration = std::time::Duration::from_millis(20);

/// The stream is cut short when it ends this much (seconds, or this
/// fraction of its declared length, whichever is more) before it said.
/// Containers round their durations and drop a last frame or two.
const CUT_MIN_S: f64 = 1.0;
const CUT_MIN_FRACTION: f64 = 0.05;

/// Bytes the pipe from ffmpeg holds (Linux's limit for an unprivileged
/// process, `/proc/sys/fs/pipe-max-size`). Through the default 64 KiB a
/// 720p frame (2.6 MiB) passes in some forty turns, each side waking the
/// other: piping the 20 s 720p60 phantom's decoded frames took 2.1 s and
/// 1.2 s of system time, against 1.6 s and 0.9 s through 1 MiB
/// (BENCHMARKS.md).
#[cfg(target_os = "linux")]
const PIPE_BYTES: usize = 1 << 20;

/// Widens the pipe from ffmpeg to [`PIPE_BYTES`] where the system allows
/// it; where it does not, the default pipe works, only more slowly.
fn widen_pipe(stdout: &ChildStdout) {
    #[cfg(target_os = "linux")]
    {
        let _ = rustix::pipe::fcntl_setpipe_size(stdout, PIPE_BYTES);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stdout;
}

/// The `showinfo` filter as this machine's ffmpeg best runs it. By default
/// showinfo also checksums every plane of every frame, which doubled the
/// decoder's CPU time on a 640×480 video (0.39 s → 0.78 s for 40 s); only
/// the frame times are read, so the checksums are turned off where ffmpeg
/// has the option (4.4 and later). Asked once per process.
fn showinfo_filter() -> &'static str {
    static FILTER: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    FILTER.get_or_init(|| {
        let help = Command::new("ffmpeg")
            .args(["-hide_banner", "-nostdin", "-h", "filter=showinfo"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output();
        showinfo_for_help(&help.map(|o| o.stdout).unwrap_or_default())
    })
}

/// The filter to use given the output of `ffmpeg -h filter=showinfo`.
fn showinfo_for_help(help: &[u8]) -> &'static str {
    let has_checksum_option = String::from_utf8_lossy(help)
        .lines()
        .any(|l| l.trim_start().starts_with("checksum "));
    if has_checksum_option {
        "showinfo=checksum=0"
    } else {
        "showinfo"
    }
}

/// `(frame number, pts_time)` from one line of ffmpeg's `showinfo` log.
fn parse_showinfo(line: &str) -> Option<(u64, f64)> {
    let after = |key: &str| {
        let pos = line.find(key)? + key.len();
        line[pos..].split_whitespace().next()
    };
    let n = after(" n:")?.parse().ok()?;
    let t = after("pts_time:")?.parse::<f64>().ok()?;
    t.is_finite().then_some((n, t))
}

/// A line of ffmpeg's log that says the input is damaged.
fn is_damage(line: &str) -> bool {
    [
        "partial file",
        "corrupt",
        "Invalid data",
        "Truncat",
        "error while decoding",
    ]
    .iter()
    .any(|k| line.to_lowercase().contains(&k.to_lowercase()))
}

fn parse_rate(s: &str) -> Option<f64> {
    let mut it = s.split('/');
    let num: f64 = it.next()?.trim().parse().ok()?;
    let den: f64 = it
        .next()
        .map(|d| d.trim().parse().ok())
        .unwrap_or(Some(1.0))?;
    (den > 0.0 && num > 0.0).then_some(num / den)
}

/// Reads the first video stream's size, rate, length and rotation.
pub fn probe(path: &Path) -> Result<Probe> {
    check_file(path)?;
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-print_format",
            "json",
        ])
        .args(["-show_streams", "-show_format"])
        .arg(path)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => anyhow!(SourceError::NoFfmpeg),
            _ => anyhow!(e).context("running ffprobe"),
        })?;
    let not_video = |reason: &str| SourceError::NotVideo {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        let line = msg
            .lines()
            .last()
            .unwrap_or("ffprobe failed")
            .trim()
            .to_string();
        return Err(not_video(&line).into());
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|_| not_video("ffprobe output unreadable"))?;
    let stream = v["streams"]
        .as_array()
        .and_then(|a| a.first())
        .ok_or_else(|| not_video("no video stream"))?;
    let width = stream["width"].as_u64().unwrap_or(0) as usize;
    let height = stream["height"].as_u64().unwrap_or(0) as usize;
    if width == 0 || height == 0 {
        return Err(not_video("video stream has no picture size").into());
    }
    let fps = stream["avg_frame_rate"]
        .as_str()
        .and_then(parse_rate)
        .or_else(|| stream["r_frame_rate"].as_str().and_then(parse_rate))
        .unwrap_or(30.0);
    let frames = stream["nb_frames"].as_str().and_then(|s| s.parse().ok());
    let duration_s = stream["duration"]
        .as_str()
        .or_else(|| v["format"]["duration"].as_str())
        .and_then(|s| s.parse().ok());
    let mut rotation = stream["tags"]["rotate"]
        .as_str()
        .and_then(|s| s.parse::<i32>().ok())
        .unwrap_or(0);
    if let Some(list) = stream["side_data_list"].as_array() {
        for sd in list {
            if let Some(r) = sd["rotation"].as_i64() {
                rotation = r as i32;
            }
        }
    }
    Ok(Probe {
        width,
        height,
        fps,
        frames,
        duration_s,
        rotation: rotation.rem_euclid(360),
    })
}

/// A video file, decoded frame by frame.
pub struct VideoFileSource {
    info: SourceInfo,
    child: Child,
    stdout: ChildStdout,
    /// `(frame number, pts_time)` per frame, from ffmpeg's log.
    times: Receiver<(u64, f64)>,
    /// A timestamp that arrived for a later frame than the one asked for
    /// (the current frame's line was lost).
    early_time: Option<(u64, f64)>,
    wait: std::time::Duration,
    stderr_thread: Option<JoinHandle<String>>,
    next_index: u64,
    fallback_dt: f64,
    last_t: f64,
    ended_early: Option<EndedEarly>,
    /// Where decoding started in the file (s): ffmpeg's times after a seek
    /// count from there.
    start_s: f64,
}

impl VideoFileSource {
    pub fn open(path: &Path) -> Result<VideoFileSource> {
        Self::open_at(path, 0.0)
    }

    /// The file from `start_s` seconds on (a replay seeking in a recorded
    /// video); frame times stay the file's own.
    pub fn open_at(path: &Path, start_s: f64) -> Result<VideoFileSource> {
        let start_s = if start_s.is_finite() {
            start_s.max(0.0)
        } else {
            0.0
        };
        let probe = probe(path)?;
        // ffmpeg auto-rotates, so a 90°/270° video comes out transposed.
        let (width, height) = if probe.rotation % 180 == 90 {
            (probe.height, probe.width)
        } else {
            (probe.width, probe.height)
        };
        // Two decoder threads: the decoder shares the machine with the face
        // and eye models. On a 2-core machine ffmpeg's automatic count took
        // 4.6 s of CPU and 100 MB to decode a 20 s 720p60 video, two threads
        // 3.5 s and 82 MB, and the engine is no slower for it.
        // A seek only when asked for: reading a whole file stays exactly
        // what it was.
        let seek = if start_s > 0.0 {
            vec!["-ss".to_string(), format!("{start_s:.3}")]
        } else {
            Vec::new()
        };
        let mut child = Command::new("ffmpeg")
            .args([
                "-hide_banner",
                "-nostdin",
                "-loglevel",
                "info",
                "-threads",
                "2",
            ])
            .args(&seek)
            .arg("-i")
            .arg(path)
            .args(["-map", "0:v:0", "-an", "-sn", "-fps_mode", "passthrough"])
            .args([
                "-vf",
                showinfo_filter(),
                "-f",
                "rawvideo",
                "-pix_fmt",
                "rgb24",
                "pipe:1",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => anyhow!(SourceError::NoFfmpeg),
                _ => anyhow!(e).context("starting ffmpeg"),
            })?;
        let stdout = child.stdout.take().context("ffmpeg stdout")?;
        widen_pipe(&stdout);
        let stderr = child.stderr.take().context("ffmpeg stderr")?;
        let (tx, rx) = channel();
        // showinfo prints one line per frame with its pts_time; the rest of
        // the log is kept for error messages.
        let stderr_thread = std::thread::spawn(move || {
            let mut tail = String::new();
            for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
                if line.contains("pts_time:") {
                    if let Some(time) = parse_showinfo(&line) {
                        let _ = tx.send(time);
                    }
                } else if !line.contains("showinfo") {
                    if tail.len() > 4000 {
                        tail.clear();
                    }
                    tail.push_str(&line);
                    tail.push('\n');
                }
            }
            tail
        });
        let info = SourceInfo {
            name: path.display().to_string(),
            width,
            height,
            fps: probe.fps,
            frames: probe.frames,
            duration_s: probe.duration_s,
        };
        Ok(VideoFileSource {
            info,
            child,
            stdout,
            times: rx,
            early_time: None,
            wait: TIMESTAMP_WAIT,
            stderr_thread: Some(stderr_thread),
            next_index: 0,
            fallback_dt: 1.0 / probe.fps.max(1.0),
            last_t: f64::NAN,
            ended_early: None,
            start_s,
        })
    }

    /// The presentation time ffmpeg gave frame `index`, if its line came.
    /// Lines are matched by frame number, so a lost line costs one frame
    /// its time instead of shifting every later one.
    fn timestamp_of(&mut self, index: u64) -> Option<f64> {
        loop {
            let (n, t) = match self.early_time.take() {
                Some(pending) => pending,
                None => match self.times.recv_timeout(self.wait) {
                    Ok(time) => time,
                    Err(_) => {
                        self.wait = TIMESTAMP_WAIT_AFTER_MISS;
                        return None;
                    }
                },
            };
            if n == index {
                self.wait = TIMESTAMP_WAIT;
                return Some(self.start_s + t);
            }
            if n > index {
                self.early_time = Some((n, t));
                return None;
            }
            // A line for a frame already placed: skip it.
        }
    }

    fn finish(&mut self) -> Result<()> {
        let status = self.child.wait().context("waiting for ffmpeg")?;
        let log = self
            .stderr_thread
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if !status.success() && self.next_index == 0 {
            let line = log
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("ffmpeg failed")
                .trim()
                .to_string();
            bail!(SourceError::NotVideo {
                path: PathBuf::from(&self.info.name),
                reason: line,
            });
        }
        if let Some(declared_s) = self.info.duration_s.filter(|d| d.is_finite())
            && self.next_index > 0
        {
            let read_s = self.last_t + self.fallback_dt;
            if declared_s - read_s > CUT_MIN_S.max(CUT_MIN_FRACTION * declared_s) {
                let reason = log.lines().find(|l| is_damage(l)).map(|l| {
                    // "[mov,mp4,... @ 0x55...] stream 0, ...: partial file"
                    l.rsplit("] ")
                        .next()
                        .unwrap_or(l)
                        .trim()
                        .trim_end_matches('.')
                        .to_string()
                });
                self.ended_early = Some(EndedEarly {
                    read_s,
                    declared_s,
                    reason,
                });
            }
        }
        Ok(())
    }
}

impl FrameSource for VideoFileSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn ended_early(&self) -> Option<EndedEarly> {
        self.ended_early.clone()
    }

    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool> {
        frame.ensure_size(self.info.width, self.info.height);
        let mut filled = 0;
        while filled < frame.rgb.len() {
            let n = self
                .stdout
                .read(&mut frame.rgb[filled..])
                .context("reading decoded frames from ffmpeg")?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled < frame.rgb.len() {
            self.finish()?;
            return Ok(false);
        }
        frame.update_luma_from_rgb();
        let t = self.timestamp_of(self.next_index);
        let t = match t {
            Some(t)
                if self.last_t.is_nan()
                    || (t > self.last_t && t - self.last_t <= MAX_FRAME_GAP_S) =>
            {
                t
            }
            // Missing, non-increasing or implausibly far timestamps: step
            // by the nominal rate.
            _ if self.last_t.is_finite() => self.last_t + self.fallback_dt,
            _ => self.start_s,
        };
        self.last_t = t;
        frame.timestamp_s = t;
        frame.index = self.next_index;
        self.next_index += 1;
        Ok(true)
    }
}

impl Drop for VideoFileSource {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Videos for tests, made by ffmpeg.
pub mod testing {
    use super::*;

    /// Writes ffmpeg's moving test pattern, `size` pixels at `fps` for
    /// `seconds`, losslessly (H.264, 4:4:4, qp 0): every frame differs from
    /// the others and decodes to exactly what was encoded.
    pub fn test_pattern(path: &Path, size: (usize, usize), fps: u32, seconds: f64) -> Result<()> {
        let pattern = format!(
            "testsrc=size={}x{}:rate={fps}:duration={seconds}",
            size.0, size.1
        );
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", &pattern])
            .args(["-c:v", "libx264", "-pix_fmt", "yuv444p", "-qp", "0"])
            .arg(path)
            .status()
            .context("running ffmpeg")?;
        ensure!(
            status.success(),
            "ffmpeg could not write {}",
            path.display()
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_strings() {
        assert_eq!(parse_rate("30/1"), Some(30.0));
        assert!((parse_rate("30000/1001").unwrap() - 29.97).abs() < 0.01);
        assert_eq!(parse_rate("0/0"), None);
    }

    #[test]
    fn user_errors_are_clear() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.mp4");
        let e = VideoFileSource::open(&missing).err().unwrap().to_string();
        assert!(e.contains("no such file"), "{e}");
        let e = VideoFileSource::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("directory"), "{e}");
        let empty = dir.path().join("empty.mp4");
        std::fs::write(&empty, b"").unwrap();
        let e = VideoFileSource::open(&empty).err().unwrap().to_string();
        assert!(e.contains("empty"), "{e}");
        let text = dir.path().join("notes.mp4");
        std::fs::write(&text, b"this is not a video at all").unwrap();
        let e = VideoFileSource::open(&text).err().unwrap().to_string();
        assert!(e.contains("not a readable video"), "{e}");
    }

    #[test]
    fn showinfo_checksums_are_off_where_ffmpeg_can_turn_them_off() {
        let with = b"Filter showinfo\nshowinfo AVOptions:\n   checksum          <boolean>    ..FV....... calculate checksums (default true)\n";
        assert_eq!(showinfo_for_help(with), "showinfo=checksum=0");
        assert_eq!(showinfo_for_help(b"Filter showinfo\n"), "showinfo");
        assert_eq!(showinfo_for_help(b""), "showinfo");
        // This machine's ffmpeg: whichever it is, frames still come with
        // their times (the other tests decode through it).
        assert!(showinfo_filter().starts_with("showinfo"));
    }

    #[test]
    fn showinfo_lines_give_frame_number_and_time() {
        let line = "[Parsed_showinfo_0 @ 0x55adfa2e9680] n:   3 pts:   9000 pts_time:0.1     \
                    pos:    36974 fmt:yuv420p sar:15/16 s:512x480 i:P iskey:0 type:B";
        assert_eq!(parse_showinfo(line), Some((3, 0.1)));
        assert_eq!(
            parse_showinfo("[Parsed_showinfo_0] config in time_base: 1/90000"),
            None
        );
        assert_eq!(
            parse_showinfo("[showinfo] n:   4 pts: 1 pts_time:nan"),
            None
        );
    }

    #[test]
    fn an_unreadable_file_says_so() {
        // The message, whoever runs the test.
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let e = unreadable(Path::new("clip.mp4"), &denied).to_string();
        assert_eq!(e, "clip.mp4: cannot be read (no permission to read it)");
        let gone = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert!(
            unreadable(Path::new("clip.mp4"), &gone)
                .to_string()
                .contains("no such file")
        );
        // And from a real file, where permissions apply to this user.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locked.mp4");
        std::fs::write(&path, b"not empty").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
        if std::fs::File::open(&path).is_ok() {
            // Running as root: permissions do not stop reading.
            eprintln!("skipped: this user can read a file with mode 000");
            return;
        }
        let e = VideoFileSource::open(&path).err().unwrap().to_string();
        assert!(
            e.contains("locked.mp4") && e.contains("no permission"),
            "{e}"
        );
    }

    /// A file cut in the middle (an interrupted copy, a full disk) is read
    /// up to the cut and says it ended early; the whole file does not.
    #[test]
    fn a_cut_file_is_read_to_the_cut_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let whole = dir.path().join("whole.mp4");
        let ok = Command::new("ffmpeg")
            .args(["-v", "error", "-f", "lavfi", "-i"])
            .arg("testsrc=size=160x120:rate=30:duration=6")
            .args(["-c:v", "libx264", "-pix_fmt", "yuv420p"])
            .args(["-movflags", "+faststart"])
            .arg(&whole)
            .status()
            .expect("ffmpeg runs")
            .success();
        assert!(ok);
        let bytes = std::fs::read(&whole).unwrap();
        let cut = dir.path().join("cut.mp4");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();

        let read_all = |path: &Path| {
            let mut src = VideoFileSource::open(path).unwrap();
            let mut f = Frame::default();
            let mut n = 0;
            while src.next_frame(&mut f).unwrap() {
                n += 1;
            }
            (n, src.ended_early())
        };
        let (n_whole, note) = read_all(&whole);
        assert_eq!(n_whole, 180);
        assert_eq!(note, None);
        let (n_cut, note) = read_all(&cut);
        let note = note.expect("the cut is reported");
        assert!(n_cut > 30 && n_cut < 170, "{n_cut} frames");
        assert!((note.declared_s - 6.0).abs() < 0.2, "{note:?}");
        assert!((note.read_s - n_cut as f64 / 30.0).abs() < 0.1, "{note:?}");
        let text = note.to_string();
        assert!(
            text.contains("cut short") && text.contains("analysed"),
            "{text}"
        );
    }

    /// A phone video stored landscape with a 90° display rotation comes out
    /// upright (portrait), and every frame is whole.
    #[test]
    fn rotation_metadata_is_honoured() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.mp4");
        let rotated = dir.path().join("rotated.mp4");
        let ok = Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=64x48:rate=30:duration=1",
            ])
            .args(["-c:v", "libx264", "-pix_fmt", "yuv420p"])
            .arg(&plain)
            .status()
            .expect("ffmpeg runs")
            .success();
        assert!(ok);
        let ok = Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(&plain)
            .args(["-c", "copy", "-metadata:s:v:0", "rotate=90"])
            .arg(&rotated)
            .status()
            .expect("ffmpeg runs")
            .success();
        assert!(ok);
        assert_eq!(probe(&rotated).unwrap().rotation % 180, 90);
        let mut src = VideoFileSource::open(&rotated).unwrap();
        assert_eq!((src.info().width, src.info().height), (48, 64));
        let mut f = Frame::default();
        let mut n = 0;
        while src.next_frame(&mut f).unwrap() {
            n += 1;
        }
        assert_eq!(n, 30);
    }

    /// The pipe from ffmpeg holds a mebibyte, and frames larger than it
    /// (a 720p frame is 2.6 MiB) still arrive whole and in order.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_pipe_from_ffmpeg_is_widened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clip.mp4");
        testing::test_pattern(&path, (1280, 720), 30, 0.5).unwrap();
        let mut src = VideoFileSource::open(&path).unwrap();
        assert_eq!(
            rustix::pipe::fcntl_getpipe_size(&src.stdout).unwrap(),
            PIPE_BYTES
        );
        let mut f = Frame::default();
        let mut times = Vec::new();
        while src.next_frame(&mut f).unwrap() {
            assert_eq!(f.rgb.len(), 1280 * 720 * 3);
            times.push(f.timestamp_s);
        }
        assert_eq!(times.len(), 15, "{times:?}");
        assert!(times.windows(2).all(|w| w[1] > w[0]), "{times:?}");
    }

    /// Opened part-way (a replay seeking), the file gives the frame at that
    /// time, stamped with the file's own time, not the seek's.
    #[test]
    fn opened_at_a_time_the_frames_are_the_files_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clip.mp4");
        testing::test_pattern(&path, (64, 48), 30, 2.0).unwrap();
        let mut whole = VideoFileSource::open(&path).unwrap();
        let mut frames = Vec::new();
        let mut f = Frame::default();
        while whole.next_frame(&mut f).unwrap() {
            frames.push((f.timestamp_s, f.rgb.clone()));
        }
        assert_eq!(frames.len(), 60);
        let mut part = VideoFileSource::open_at(&path, 1.2).unwrap();
        let mut times = Vec::new();
        let mut first = None;
        while part.next_frame(&mut f).unwrap() {
            times.push(f.timestamp_s);
            first.get_or_insert_with(|| f.rgb.clone());
        }
        assert_eq!(times.len(), 24, "{times:?}");
        assert!((times[0] - 1.2).abs() < 1e-3, "{times:?}");
        assert_eq!(first.as_ref(), Some(&frames[36].1));
        assert!((frames[36].0 - times[0]).abs() < 1e-3);
    }

    /// Decodes a variable-frame-rate clip made by ffmpeg itself and checks
    /// that real timestamps come through.
    #[test]
    fn variable_frame_rate_timestamps_survive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vfr.mkv");
        // testsrc at 30 fps, then keep frames with uneven spacing.
        let status = Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=64x48:rate=30:duration=2",
            ])
            .args([
                "-vf",
                "select='not(mod(n\\,3))+eq(mod(n\\,3)\\,1)'",
                "-fps_mode",
                "vfr",
            ])
            .args(["-c:v", "ffv1"])
            .arg(&path)
            .status()
            .expect("ffmpeg runs");
        assert!(status.success());
        let mut src = VideoFileSource::open(&path).unwrap();
        assert_eq!((src.info().width, src.info().height), (64, 48));
        let mut f = Frame::default();
        let mut times = Vec::new();
        while src.next_frame(&mut f).unwrap() {
            times.push(f.timestamp_s);
        }
        // Frames 0,1,3,4,6,7,...: gaps of 1/30 and 2/30 s alternate.
        assert!(times.len() >= 38 && times.len() <= 42, "{}", times.len());
        let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(
            gaps.iter().any(|g| (g - 2.0 / 30.0).abs() < 0.005),
            "{gaps:?}"
        );
        assert!(
            gaps.iter().any(|g| (g - 1.0 / 30.0).abs() < 0.005),
            "{gaps:?}"
        );
    }
}
