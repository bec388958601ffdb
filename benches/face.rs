//! Face stage timings on the committed astronaut portrait (512x512):
//! detector alone, steady-state tracking (landmarks only), and a full
//! re-acquisition (detector + landmarks).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use twitchscope::face::FaceTracker;
use twitchscope::frame::Frame;

fn astronaut() -> Frame {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/astronaut.png");
    let img = image::open(path).expect("samples/astronaut.png").to_rgb8();
    let mut frame = Frame::default();
    frame.ensure_size(img.width() as usize, img.height() as usize);
    frame.rgb = img.into_raw();
    frame.update_luma_from_rgb();
    frame
}

fn face(c: &mut Criterion) {
    let frame = astronaut();
    let mut tracker = FaceTracker::new().expect("models load");
    c.bench_function("face/detect", |b| {
        b.iter(|| black_box(tracker.detect(black_box(&frame)).expect("detect")))
    });
    // Steady state: the crop comes from the previous landmarks.
    assert!(tracker.track(&frame).expect("track").is_some());
    c.bench_function("face/track", |b| {
        b.iter(|| black_box(tracker.track(black_box(&frame)).expect("track").is_some()))
    });
    // Worst case per frame: the face was lost, so detect then landmarks.
    c.bench_function("face/track_after_reset", |b| {
        b.iter(|| {
            tracker.reset();
            black_box(tracker.track(black_box(&frame)).expect("track").is_some())
        })
    });
    c.bench_function("face/load_models", |b| {
        b.iter(|| black_box(FaceTracker::new().expect("models load")))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = face
}
criterion_main!(benches);
