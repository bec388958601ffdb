//! twitchscope: measures facial twitching from video.
//!
//! Stages: source → face → regions → motion → spectral → events → session/report.

pub mod analysis;
pub mod app;
pub mod camera;
pub mod encode;
pub mod events;
pub mod export;
pub mod eyes;
pub mod face;
pub mod figures;
pub mod frame;
pub mod motion;
pub mod regions;
pub mod report;
pub mod sample;
pub mod session;
pub mod source;
pub mod spectral;
pub mod synth;
