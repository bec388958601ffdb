//! A session folder whose four files (meta.json, samples.csv, steps.jsonl,
//! summary.json) are the fuzzer's bytes, split at 0xFF bytes: reading it,
//! listing it and analysing it must give data or an error, never a panic,
//! a hang or a huge allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twitchscope_engine::analysis::AnalysisConfig;
use twitchscope_session::{
    META_FILE, SAMPLES_FILE, STEPS_FILE, SUMMARY_FILE, list_sessions, read_session, read_summary,
};

fuzz_target!(|data: &[u8]| {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("20261129-010203");
    std::fs::create_dir(&dir).expect("session dir");
    let mut parts = data.split(|&b| b == 0xFF);
    for name in [META_FILE, SAMPLES_FILE, STEPS_FILE, SUMMARY_FILE] {
        if let Some(bytes) = parts.next() {
            std::fs::write(dir.join(name), bytes).expect("write");
        }
    }
    let _ = list_sessions(root.path());
    let _ = read_summary(&dir);
    if let Ok(session) = read_session(&dir) {
        let _ = session.duration_s();
        let _ = session.analyze(&AnalysisConfig::default());
    }
});
