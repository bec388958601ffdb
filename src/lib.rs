//! twitchscope: measures facial twitching from video.
//!
//! The workspace, by crate (each crate's own docs say what it owns and what
//! it may not touch):
//! - `twitchscope-engine` (crates/engine): source → face → regions → motion →
//!   spectral → events → analysis; no GUI, camera, PDF or phantom.
//! - `twitchscope-session` (crates/session): recorded sessions on disk.
//! - `twitchscope-report` (crates/report): the PDF report and the JSON/CSV
//!   exporters.
//! - `twitchscope-app` (crates/app): the desktop window, the camera, the
//!   embedded demo video.
//! - `twitchscope-phantom` (crates/phantom): phantom videos with known
//!   ground truth, for tests, benches and the `synth` command only.
//! - this crate: the `twitchscope` command (src/main.rs).
//!
//! This library re-exports them under the names the command, the tests and
//! the benches use (`twitchscope::analysis`, `twitchscope::session`, ...).

pub use twitchscope_app as app;
pub use twitchscope_app::{camera, sample};
pub use twitchscope_engine::{
    analysis, encode, events, eyes, face, figures, frame, motion, regions, source, spectral,
};
pub use twitchscope_phantom as synth;
pub use twitchscope_report as report;
pub use twitchscope_report::export;
pub use twitchscope_session as session;
