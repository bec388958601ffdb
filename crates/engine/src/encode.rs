//! Video out through the `ffmpeg` program: the one encoder, used by the
//! phantom renderer, the app's optional session video and the magnified
//! event clips (H.264, or an animated GIF).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, anyhow, bail};

/// The encoding for `out`: an animated GIF (a palette made from the clip
/// itself) when it ends in `.gif`, else H.264 in an MP4-family container.
fn output_args<'a>(out: &Path, crf: &'a str) -> Vec<&'a str> {
    let gif = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gif"));
    if gif {
        vec![
            "-vf",
            "split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse",
            "-loop",
            "0",
        ]
    } else {
        vec![
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            crf,
            // yuv420p needs even sizes: an odd camera frame gets a
            // one-pixel edge.
            "-pix_fmt",
            "yuv420p",
            "-vf",
            "pad=ceil(iw/2)*2:ceil(ih/2)*2",
            "-movflags",
            "+faststart",
        ]
    }
}

/// An `ffmpeg` encoder (H.264, or GIF by the file's name) fed raw RGB
/// frames through a pipe.
pub struct Encoder {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    write_err: Option<std::io::Error>,
}

impl Encoder {
    /// Starts `ffmpeg` writing `out` at `rate` frames per second (a number
    /// ffmpeg parses, e.g. `30` or `29.97`), from `width` × `height` RGB
    /// frames, with quality `crf` (lower is better; 23 is ffmpeg's default).
    pub fn spawn(width: usize, height: usize, rate: &str, crf: u32, out: &Path) -> Result<Encoder> {
        let size = format!("{width}x{height}");
        let crf = crf.to_string();
        // The file is made first, readable by its owner only, and ffmpeg
        // overwrites it in place (keeping that): a recording's video and a
        // clip of it are health data, like the session they belong to.
        let mut private = std::fs::OpenOptions::new();
        private.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut private, 0o600);
        private
            .open(out)
            .with_context(|| format!("cannot write {}", out.display()))?;
        let mut child = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y"])
            .args([
                "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", &size, "-r", rate,
            ])
            .args(["-i", "-"])
            .args(output_args(out, &crf))
            .arg(out)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    anyhow!(
                        "ffmpeg not found on PATH: install ffmpeg (with libx264) to render videos"
                    )
                } else {
                    anyhow!("starting ffmpeg: {e}")
                }
            })?;
        let stdin = child.stdin.take();
        Ok(Encoder {
            child,
            stdin,
            write_err: None,
        })
    }

    /// Sends one frame. `false` when ffmpeg stopped reading (the reason is
    /// reported by [`Encoder::finish`]); stop sending then.
    pub fn write(&mut self, rgb: &[u8]) -> bool {
        let Some(stdin) = self.stdin.as_mut() else {
            return false;
        };
        match stdin.write_all(rgb) {
            Ok(()) => true,
            Err(e) => {
                self.write_err = Some(e);
                self.stdin = None;
                false
            }
        }
    }

    /// Closes the pipe and waits for ffmpeg; its error output on failure.
    pub fn finish(mut self) -> Result<()> {
        drop(self.stdin.take());
        let out = self
            .child
            .wait_with_output()
            .context("waiting for ffmpeg")?;
        if !out.status.success() || self.write_err.is_some() {
            bail!(
                "ffmpeg failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim(),
                self.write_err
                    .map(|e| format!(" (pipe: {e})"))
                    .unwrap_or_default()
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the encoder writes (a recording's video, a clip of an event)
    /// is its owner's alone, as the session's other files are.
    #[cfg(unix)]
    #[test]
    fn the_video_written_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        for name in ["clip.mp4", "clip.gif"] {
            let out = dir.path().join(name);
            let mut e = Encoder::spawn(32, 24, "10", 23, &out).unwrap();
            for k in 0..5u8 {
                assert!(e.write(&vec![k * 40; 32 * 24 * 3]));
            }
            e.finish().unwrap();
            let meta = std::fs::metadata(&out).unwrap();
            assert!(meta.len() > 0, "{name} is empty");
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{name}");
        }
    }
}
