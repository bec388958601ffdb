//! A disk that fills up while recording, on a real (small) file system: the
//! writer says so in plain words, and what reached the disk before reads
//! back.
//!
//! The file system is a 256 KiB tmpfs mounted for the test, which needs
//! root (CI runs as root). Without root the test says it was not run and
//! passes; as root it always runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use twitchscope_engine::motion::MotionSample;
use twitchscope_session::{SessionMeta, SessionWriter, read_session, write_atomically};

/// A tmpfs of `kib` KiB mounted on a temporary folder, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(kib: usize) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if mounted {
            return Some(SmallDisk { dir });
        }
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        assert!(!root, "running as root, yet a tmpfs could not be mounted");
        eprintln!("not run: mounting a small tmpfs needs root");
        None
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn sample(i: usize) -> MotionSample {
    let mut s = MotionSample::empty(i as f64 / 30.0);
    s.valid = true;
    s.face = true;
    s.aperture = [0.3, 0.31];
    for side in &mut s.regions {
        for m in side {
            // Digits that make each record long, as real ones are.
            m.speed = 1.0 + (i as f32 * 0.37).sin() / 3.0;
            m.vy = (i as f32 * 0.11).cos() / 7.0;
            m.deform = (i as f32 * 0.05).sin() / 11.0;
        }
    }
    s
}

#[test]
fn a_full_disk_stops_the_recording_in_plain_words_and_keeps_what_was_written() {
    let Some(disk) = SmallDisk::mount(256) else {
        return;
    };
    // A settings file written while there was room.
    let settings = disk.path().join("settings.json");
    write_atomically(&settings, b"{\"mirror\": true}").unwrap();
    let root: PathBuf = disk.path().join("sessions");
    let meta = SessionMeta::new("test camera", 30.0, 640, 480, None);
    let mut writer = SessionWriter::create(&root, &meta).unwrap();
    let dir = writer.dir().to_path_buf();

    // Record until the disk is full (256 KiB hold well under an hour).
    let mut error = None;
    let mut flushed = 0;
    for i in 0..200_000 {
        match writer.append(&sample(i)) {
            Ok(()) => {
                if (i + 1) % 30 == 0 {
                    // append hands a second's samples to the OS each second.
                    flushed = i + 1 - 30;
                }
            }
            Err(e) => {
                error = Some(format!("{e:#}"));
                break;
            }
        }
    }
    let error = error.expect("a 256 KiB disk never filled up");
    assert!(error.contains("the disk is full"), "{error}");
    assert!(error.contains("samples.csv"), "{error}");
    // The app drops the writer of a failed recording: it is kept, not closed.
    drop(writer);

    let back = read_session(&dir).unwrap();
    assert!(!back.closed_cleanly);
    assert!(
        back.samples.len() >= flushed && flushed > 100,
        "{} samples read back, {flushed} were handed to the disk",
        back.samples.len()
    );
    for (i, s) in back.samples.iter().enumerate() {
        assert_eq!(s.t, sample(i).t, "sample {i} read back out of order");
    }
    assert!(back.dropped_records <= 1, "{}", back.dropped_records);

    // A replaced file on the full disk: the old one stays whole.
    let err = write_atomically(&settings, &vec![b' '; 512 * 1024]).unwrap_err();
    assert!(format!("{err:#}").contains("the disk is full"), "{err:#}");
    assert_eq!(std::fs::read(&settings).unwrap(), b"{\"mirror\": true}");
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(disk.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
