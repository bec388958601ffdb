//! The demo video embedded in the binary, so the program runs with no
//! camera and no files: a 20 s phantom of patient-left hemifacial spasm
//! (see samples/README.md).

use std::path::PathBuf;

use anyhow::{Context, Result};

/// The embedded demo video (H.264 in MP4).
pub const DEMO_MP4: &[u8] = include_bytes!("../../../samples/demo_left_hfs.mp4");

/// Human-readable name of the demo source.
pub const DEMO_NAME: &str = "embedded sample (patient-left hemifacial spasm phantom)";

/// Writes the demo video to the temporary directory (once; ffmpeg reads
/// files) and returns its path.
pub fn demo_video_path() -> Result<PathBuf> {
    let path = std::env::temp_dir().join(format!(
        "twitchscope-demo-{}-{}.mp4",
        env!("CARGO_PKG_VERSION"),
        DEMO_MP4.len()
    ));
    let current = std::fs::metadata(&path).map(|m| m.len() as usize).ok();
    if current != Some(DEMO_MP4.len()) {
        // Write beside it and rename, so a second instance never reads a
        // half-written file.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, DEMO_MP4)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .with_context(|| format!("writing the demo video to {}", path.display()))?;
    }
    Ok(path)
}
