//! twitchscope: measures facial twitching from video.
//!
//! The workspace, by crate:
//! - `twitchscope-engine` (crates/engine): source → face → regions → motion →
//!   spectral → events → analysis; no GUI, camera, PDF or phantom.
//! - `twitchscope-phantom` (crates/phantom): phantom videos with known
//!   ground truth, for tests, benches and the `synth` command only.
//! - this crate: the session store ([`session`]), the report ([`report`],
//!   [`export`]), the desktop app ([`app`], [`camera`], the embedded
//!   [`sample`]) and the `twitchscope` command (src/main.rs).
//!
//! The engine's modules are re-exported here under their own names, so that
//! `twitchscope::analysis` is the engine's analysis wherever it is used.

pub use twitchscope_engine::{
    analysis, encode, events, eyes, face, figures, frame, motion, regions, source, spectral,
};
/// The phantom renderer (crates/phantom).
pub use twitchscope_phantom as synth;

pub mod app;
pub mod camera;
pub mod export;
pub mod report;
pub mod sample;
pub mod session;
