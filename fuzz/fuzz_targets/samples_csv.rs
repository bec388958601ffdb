//! samples.csv under a valid meta.json: every record the reader accepts
//! comes out in time order, and a session made of the samples read back
//! writes and reads back to the same samples.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twitchscope_engine::analysis::AnalysisConfig;
use twitchscope_session::{SAMPLES_FILE, SessionMeta, SessionWriter, read_session};

fuzz_target!(|data: &[u8]| {
    let root = tempfile::tempdir().expect("temp dir");
    let mut meta = SessionMeta::new("fuzz", 30.0, 640, 480, None);
    meta.id = "a".into();
    let writer = SessionWriter::create(root.path(), &meta).expect("session");
    let dir = writer.dir().to_path_buf();
    drop(writer);
    std::fs::write(dir.join(SAMPLES_FILE), data).expect("write");
    let Ok(read) = read_session(&dir) else {
        return;
    };
    assert!(
        read.samples.windows(2).all(|w| w[0].t < w[1].t),
        "samples out of time order"
    );
    let _ = read.analyze(&AnalysisConfig::default());

    // What was read writes and reads back the same.
    meta.id = "b".into();
    let mut again = SessionWriter::create(root.path(), &meta).expect("session");
    for s in &read.samples {
        again.append(s).expect("append");
    }
    let dir_b = again.close(None).expect("close");
    let back = read_session(&dir_b).expect("read back");
    assert_eq!(back.samples.len(), read.samples.len());
    for (a, b) in read.samples.iter().zip(&back.samples) {
        // Bit-exact, NaN included.
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }
});
