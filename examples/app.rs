//! Opens the desktop app, as `twitchscope` with no subcommand will.
//!
//! `cargo run --release --example app -- [--demo] [--file PATH] [--quit-after SECONDS] [--no-mirror]`

use std::path::PathBuf;

use twitchscope::app::{AppOptions, pipeline::SourceChoice};

fn main() -> anyhow::Result<()> {
    let mut options = AppOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--demo" => options.source = Some(SourceChoice::Demo),
            "--file" => {
                let p = args
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("--file needs a path"))?;
                options.source = Some(SourceChoice::File(PathBuf::from(p)));
            }
            "--quit-after" => {
                let s = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| anyhow::anyhow!("--quit-after needs seconds"))?;
                options.quit_after_s = Some(s);
            }
            "--no-mirror" => options.mirror = false,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    twitchscope::app::run(options)
}
