//! Whole-engine throughput: `analyze` on a 45 s 640x480 30 fps phantom
//! video (decode + face model + motion + spectra + events). Issue 9's target
//! is at least 20x real time on a 2-core machine, i.e. under 2.25 s; where it
//! stands is in BENCHMARKS.md.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use twitchscope::analysis::{AnalysisConfig, analyze_source};
use twitchscope::source::VideoFileSource;
use twitchscope::synth::{self, Scenario, SynthSpec};

fn analyze_45s(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let video = dir.path().join("bench_45s.mp4");
    let spec = SynthSpec {
        scenario: Scenario::RightTonicSynkinesis,
        seed: 45,
        seconds: 45.0,
        ..SynthSpec::default()
    };
    synth::render(&spec, &video).expect("render the bench video");
    let config = AnalysisConfig::default();
    let mut group = c.benchmark_group("analyze");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(90));
    group.bench_function("45s_640x480_30fps", |b| {
        b.iter(|| {
            let mut source = VideoFileSource::open(&video).expect("open");
            analyze_source(&mut source, &config, |_| {}).expect("analyze")
        })
    });
    group.finish();
}

criterion_group!(benches, analyze_45s);
criterion_main!(benches);
