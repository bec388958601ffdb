//! twitchscope: measures facial twitching from video.
//!
//! Stages: source → face → regions → motion → spectral → events → session/report.

pub mod face;
pub mod frame;
pub mod synth;
