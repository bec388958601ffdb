//! A decoded video frame and the trait every frame source implements.
//!
//! Frames are owned by the caller and refilled in place by the source, so the
//! per-frame path allocates nothing once the first frame has sized the buffers.

use anyhow::Result;

/// One decoded frame, un-mirrored (image-left is the patient's right).
#[derive(Clone, Debug, Default)]
pub struct Frame {
    pub width: usize,
    pub height: usize,
    /// Presentation time in seconds from the start of the stream.
    pub timestamp_s: f64,
    /// Index of the frame in decoding order, from 0.
    pub index: u64,
    /// Packed RGB, 3 bytes a pixel, row-major, `width * height * 3` bytes.
    pub rgb: Vec<u8>,
    /// Full-range luma (BT.601 weights), `width * height` bytes.
    pub luma: Vec<u8>,
}

impl Frame {
    /// Resizes the buffers for a frame of this size (no-op when unchanged).
    pub fn ensure_size(&mut self, width: usize, height: usize) {
        self.width = width;
        self.height = height;
        self.rgb.resize(width * height * 3, 0);
        self.luma.resize(width * height, 0);
    }

    /// Recomputes `luma` from `rgb`.
    pub fn update_luma_from_rgb(&mut self) {
        for (y, px) in self.luma.iter_mut().zip(self.rgb.chunks_exact(3)) {
            // Integer BT.601: 0.299 R + 0.587 G + 0.114 B, rounded.
            let v = 77 * px[0] as u32 + 150 * px[1] as u32 + 29 * px[2] as u32;
            *y = ((v + 128) >> 8) as u8;
        }
    }

    /// Luma at integer coordinates, clamped to the frame.
    #[inline]
    pub fn luma_at(&self, x: isize, y: isize) -> u8 {
        let xc = x.clamp(0, self.width as isize - 1) as usize;
        let yc = y.clamp(0, self.height as isize - 1) as usize;
        self.luma[yc * self.width + xc]
    }
}

/// What a source knows about its stream before the first frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceInfo {
    /// A human-readable name: the file path, the camera name, "synthetic".
    pub name: String,
    pub width: usize,
    pub height: usize,
    /// Nominal frame rate (the real timing comes from each frame's timestamp).
    pub fps: f64,
    /// Frame count if known in advance (files), else `None` (cameras).
    pub frames: Option<u64>,
    /// Duration in seconds if known in advance.
    pub duration_s: Option<f64>,
}

/// A stream that ended before its own header said it would: a file cut
/// short by a full disk, an interrupted copy or a crashed recorder. What
/// could be read is analysed; the user is told what was missing.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EndedEarly {
    /// Seconds of video that could be read.
    pub read_s: f64,
    /// Seconds the file says it holds.
    pub declared_s: f64,
    /// The decoder's own words about the damage, when it gave any.
    pub reason: Option<String>,
}

impl std::fmt::Display for EndedEarly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the video ends at {:.1} s but says it is {:.1} s long: the file looks cut short",
            self.read_s, self.declared_s
        )?;
        if let Some(reason) = &self.reason {
            write!(f, " ({reason})")?;
        }
        write!(f, "; only the first {:.1} s were analysed", self.read_s)
    }
}

/// Anything that yields frames: a video file, a camera, a synthetic phantom.
pub trait FrameSource: Send {
    fn info(&self) -> &SourceInfo;
    /// Fills `frame` with the next frame. Returns `Ok(false)` at the end of
    /// the stream.
    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool>;
    /// After the end of the stream: whether it ended before it said it
    /// would. Sources that cannot tell (cameras) say `None`.
    fn ended_early(&self) -> Option<EndedEarly> {
        None
    }
    /// Frames the source could not decode and skipped (a camera's torn
    /// frames); the stream went on without them.
    fn skipped_frames(&self) -> u64 {
        0
    }
}
