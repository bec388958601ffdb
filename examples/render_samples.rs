//! Renders the bundled demo phantom `samples/demo_left_hfs.mp4` and its
//! `samples/demo_left_hfs.truth.json` (the video the app analyses when no
//! camera is available):
//!
//!     cargo run --release --example render_samples
//!
//! Any other phantom: `cargo run --release --example render_samples --
//! SCENARIO SEED SECONDS OUT.mp4 [FPS]` (the truth goes beside the video).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use twitchscope::synth::{Scenario, SynthSpec, render, write_truth};

/// Seed of the demo: its 20 s hold clonic bursts and tonic closures.
const DEMO_SEED: u64 = 2;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (spec, out) = if args.is_empty() {
        let spec = SynthSpec {
            scenario: Scenario::LeftTonicSynkinesis,
            seed: DEMO_SEED,
            fps: 30,
            seconds: 20.0,
            width: 640,
            height: 480,
            crf: 23,
            ..SynthSpec::default()
        };
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        (spec, root.join("samples/demo_left_hfs.mp4"))
    } else {
        let get = |i: usize| {
            args.get(i)
                .with_context(|| "usage: SCENARIO SEED SECONDS OUT.mp4 [FPS]")
        };
        let spec = SynthSpec {
            scenario: get(0)?.parse()?,
            seed: get(1)?.parse()?,
            seconds: get(2)?.parse()?,
            fps: args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(30),
            ..SynthSpec::default()
        };
        (spec, PathBuf::from(get(3)?))
    };
    let t0 = Instant::now();
    let truth = render(&spec, &out)?;
    let truth_path = out.with_extension("truth.json");
    write_truth(&truth, &truth_path)?;
    eprintln!(
        "{}: {} events, {} blinks, {:.1} s to render; truth in {}",
        out.display(),
        truth.events.len(),
        truth.blinks.len(),
        t0.elapsed().as_secs_f64(),
        truth_path.display()
    );
    for e in &truth.events {
        eprintln!(
            "  {:7.3}-{:7.3} {} {} {:?} {:?}",
            e.start_s, e.end_s, e.side, e.kind, e.rate_hz, e.regions
        );
    }
    Ok(())
}
