//! Each stage of the engine, per frame, on a 640x480 30 fps phantom (the
//! face stage's own benchmarks are in benches/face.rs, the whole engine in
//! benches/analyze.rs):
//! decode (ffmpeg, RGB + luma), the two eye crops, the eye model on one
//! eye, motion (head motion, region warps, Lucas–Kanade per region), and the
//! offline part (spectra, events, laterality) on a whole recording's
//! samples.

use std::path::Path;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use twitchscope::analysis::{AnalysisConfig, Engine, analyze_samples};
use twitchscope::face::{EyeCrop, EyeLandmarker, FaceTracker};
use twitchscope::frame::{Frame, FrameSource};
use twitchscope::motion::{MotionAnalyzer, MotionSample};
use twitchscope::regions::{RegionLayout, Side, side_indices};
use twitchscope::source::VideoFileSource;
use twitchscope::synth::{self, Scenario, SynthSpec};

fn render(dir: &Path, seconds: f64) -> std::path::PathBuf {
    let video = dir.join(format!("stages_{seconds}s.mp4"));
    let spec = SynthSpec {
        scenario: Scenario::LeftClonicEye,
        seed: 7,
        seconds,
        ..SynthSpec::default()
    };
    synth::render(&spec, &video).expect("render the bench video");
    video
}

fn decode_all(video: &Path) -> Vec<Frame> {
    let mut source = VideoFileSource::open(video).expect("open");
    let mut frames = Vec::new();
    let mut frame = Frame::default();
    while source.next_frame(&mut frame).expect("decode") {
        frames.push(frame.clone());
    }
    frames
}

fn stages(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let short = render(dir.path(), 4.0);
    let frames = decode_all(&short);
    let mut group = c.benchmark_group("stage_per_frame");
    group.measurement_time(Duration::from_secs(10));

    // Decode: one frame through ffmpeg's pipe into RGB and luma, measured
    // over the whole clip and divided by its frame count.
    let n = frames.len() as u64;
    group.bench_function("decode_640x480", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut frame = Frame::default();
            for _ in 0..iters.div_ceil(n) {
                let start = std::time::Instant::now();
                let mut source = VideoFileSource::open(&short).expect("open");
                while source.next_frame(&mut frame).expect("decode") {}
                total += start.elapsed();
            }
            total * iters as u32 / (iters.div_ceil(n) * n) as u32
        })
    });

    // The face, its layout and pose from the first frame's landmarks.
    let mut tracker = FaceTracker::new().expect("models");
    let points = tracker
        .track(&frames[0])
        .expect("track")
        .expect("a face")
        .points
        .clone();
    let layout = RegionLayout::from_reference(&points).expect("layout");
    let pose = layout
        .fit_pose(&points, &mut Vec::new())
        .expect("pose from the landmarks");
    let corners = |side: Side| {
        let ix = side_indices(side);
        let p = |i: usize| [points[i][0], points[i][1]];
        [p(ix.eye_outer), p(ix.eye_inner)]
    };
    let f0 = &frames[0];

    let mut crop = EyeCrop::default();
    group.bench_function("eye_crops_both", |b| {
        b.iter(|| {
            for side in Side::BOTH {
                crop.sample(
                    &f0.luma,
                    f0.width,
                    f0.height,
                    corners(side),
                    side == Side::Right,
                )
                .expect("crop");
            }
            black_box(&crop);
        })
    });

    let mut eyes = EyeLandmarker::new().expect("eye model");
    crop.sample(&f0.luma, f0.width, f0.height, corners(Side::Left), false)
        .expect("crop");
    group.bench_function("eye_model_one_eye", |b| {
        b.iter(|| black_box(eyes.read(&crop).expect("eye model")))
    });

    let mut motion = MotionAnalyzer::new(layout);
    let mut k = 0usize;
    let mut t = 0.0;
    // The clip played forwards and backwards, so that every frame follows
    // a neighbour (a jump from the last frame to the first would be a
    // different workload).
    let period = 2 * (frames.len() - 1);
    group.bench_function("motion", |b| {
        b.iter(|| {
            let i = k % period;
            let f = &frames[if i < frames.len() { i } else { period - i }];
            k += 1;
            t += 1.0 / 30.0;
            black_box(motion.process(&f.luma, f.width, f.height, t, Some(&pose)))
        })
    });
    group.finish();

    // The offline part on 45 s of real engine samples.
    let long = render(dir.path(), 45.0);
    let mut engine = Engine::new(AnalysisConfig::default()).expect("engine");
    let mut source = VideoFileSource::open(&long).expect("open");
    let mut frame = Frame::default();
    let mut ready = Vec::new();
    while source.next_frame(&mut frame).expect("decode") {
        engine.push_frame(&frame, &mut ready).expect("engine");
    }
    engine.finish(&mut ready).expect("engine");
    let samples: Vec<MotionSample> = ready.iter().map(|r| r.sample).collect();
    let info = source.info().clone();
    let config = AnalysisConfig::default();
    let analysis = analyze_samples(&samples, &info, &config);
    assert!(
        samples.iter().filter(|s| s.valid).count() > samples.len() * 9 / 10
            && !analysis.events.is_empty(),
        "the bench must analyse a tracked face with events"
    );
    let mut group = c.benchmark_group("offline");
    group.sample_size(20);
    group.bench_function("spectra_events_45s", |b| {
        b.iter_batched(
            || samples.clone(),
            |s| black_box(analyze_samples(&s, &info, &config)),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
