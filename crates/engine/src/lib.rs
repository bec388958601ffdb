//! twitchscope's engine: frames in, an analysis of facial twitching out.
//!
//! Stages, each a module with a narrow API that a test can drive without a
//! camera or a window:
//! [`source`] (video files through ffmpeg, [`frame::FrameSource`]) →
//! [`face`] (detector, face mesh, eye model; [`eyes`] runs the eye model on
//! a thread per eye) → [`regions`] (the person's resting face and its
//! regions) → [`motion`] (the skin's own motion per region) → [`spectral`]
//! → [`events`] (blinks, clonic, tonic, myokymia, bilateral) →
//! [`analysis`] (the streaming [`analysis::Engine`] and the offline
//! [`analysis::analyze_samples`]) and [`figures`] (per-side figures defined
//! once). [`encode`] writes H.264 through ffmpeg. [`magnify`] magnifies a
//! twitch in stabilised face crops for the report's close-ups.
//!
//! What this crate owns: everything from pixels to an [`analysis::Analysis`].
//! What it may not touch: windows, cameras, PDF, the session store, the
//! phantom renderer. `cargo tree -p twitchscope-engine` shows none of
//! eframe, nokhwa, typst or twitchscope-phantom.

pub mod analysis;
pub mod encode;
pub mod events;
pub mod eyes;
pub mod face;
pub mod figures;
pub mod frame;
pub mod magnify;
pub mod motion;
pub mod regions;
pub mod source;
pub mod spectral;
pub mod xnn;
