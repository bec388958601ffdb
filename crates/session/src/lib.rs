//! Recorded self-check sessions on disk: crash-safe, append-only.
//!
//! # Layout
//!
//! Every session is one directory under a root (see [`default_data_dir`]),
//! named after its id (`20261126-081530`; `-2`, `-3`, … is appended when two
//! sessions start within the same second):
//!
//! ```text
//! <root>/<id>/
//!   meta.json     SessionMeta plus "schema": "twitchscope.session/1";
//!                 written once, atomically (temp file + fsync + rename),
//!                 after the other files exist: a directory without a
//!                 readable meta.json is not a session.
//!   samples.csv   one MotionSample per line, appended while recording
//!   steps.jsonl   one StepMark per line (JSON), appended as they happen
//!   summary.json  written atomically by SessionWriter::close; its presence
//!                 means the session was closed cleanly
//!   regions.json  the regions' rectangles in the face's canonical frame
//!                 (SessionRegions), written atomically once the face's
//!                 layout is learned; optional
//!   video.mp4     the camera's picture, when "Also save the video" was on
//! ```
//!
//! ## samples.csv
//!
//! Plain CSV with a header line, so it opens in a spreadsheet or pandas:
//!
//! ```text
//! t,valid,face,head_speed,lips_speed,aperture_left,aperture_right,upper_lid_left,…,lower_lid_right,face_contrast,faces_in_view,pose_a,pose_b,pose_tx,pose_ty,left_brow_speed,left_brow_vx,…,right_mouth_corner_tilt
//! ```
//!
//! `t` is seconds (f64), `valid` (motion measured) and `face` (a face
//! tracked) are `0`/`1`, then the head and lips speeds, the eyelid
//! apertures and lid positions, the contrast across the eyes, the faces
//! counted in the picture (an integer, 0 where not counted), where the face
//! was (the image → canonical similarity `a,b,tx,ty`; empty without a face)
//! and, per side (left, right) and region (brow, upper_lid, lower_lid,
//! cheek, mouth_corner), `speed,vx,vy,dx,dy,deform,ripple,tilt` — 97 fields in
//! all. Numbers use Rust's shortest round-trip formatting, so
//! values read back bit-exactly; **an empty field is NaN** (an unknown
//! aperture), infinities are `inf`/`-inf`. The reader finds columns by their
//! header names: a file written before a column existed reads with that
//! quantity unknown (0, or NaN for an aperture), and columns it does not
//! know are skipped.
//!
//! ## Durability
//!
//! Samples go through a `BufWriter` whose line buffer is reused (no
//! allocation per sample). [`SessionWriter::append`] hands the buffer to the
//! operating system at least once per second of *sample* time (and whenever
//! the buffer fills), so a killed process (`kill -9`, a crash) loses at most
//! the last second of samples. Step marks are written to the OS immediately.
//! [`SessionWriter::close`] fsyncs the data files before writing
//! `summary.json`; there is no fsync while recording, so that a slow disk
//! never stalls the capture loop (after a power cut, what the kernel had not
//! yet written back is lost).
//!
//! A record is only trusted when its line is complete (ends in `\n`), so the
//! torn last line of a killed writer is ignored; lines that do not parse
//! (garbage after a power cut), and samples out of time order or over
//! [`MAX_SAMPLE_STEP_S`] after the one before, are skipped and counted in
//! [`RecordedSession::dropped_records`].
//!
//! ## summary.json
//!
//! ```text
//! { "schema": "twitchscope.session/1", "closed": "<RFC 3339>", "samples": N,
//!   "duration_s": …, "face_visible_fraction": …, "analysis": Analysis | null }
//! ```
//!
//! `analysis` is the `twitchscope.analysis/1` document of the live analysis
//! (null when the caller had none, e.g. a recording too short to analyse).
//! [`list_sessions`] reads only its summary fields; [`read_summary`] reads it
//! whole; [`RecordedSession::analyze`] recomputes it from the samples.
//!
//! Crate `twitchscope-session`: owns the session format, its writer
//! ([`Recorder`]), reader and library listing. It builds on the engine's
//! samples and analysis and may not touch windows, cameras or the report.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use twitchscope_engine::analysis::{
    Analysis, AnalysisConfig, Coverage, Laterality, analyze_samples, span_duration_s,
};
use twitchscope_engine::frame::SourceInfo;
use twitchscope_engine::motion::MotionSample;
use twitchscope_engine::regions::{Rect, Region, Side, Similarity};

/// Schema name written into `meta.json` and `summary.json`.
pub const SESSION_SCHEMA: &str = "twitchscope.session/1";
pub const META_FILE: &str = "meta.json";
pub const SAMPLES_FILE: &str = "samples.csv";
pub const STEPS_FILE: &str = "steps.jsonl";
pub const SUMMARY_FILE: &str = "summary.json";
/// The optional session video (kept only when the user asked for it).
pub const VIDEO_FILE: &str = "video.mp4";
/// Where the regions were measured, in the face's canonical frame
/// ([`SessionRegions`]); with each sample's pose, a replay draws them on
/// the video.
pub const REGIONS_FILE: &str = "regions.json";

/// Samples are handed to the OS at least this often, in sample time.
pub const FLUSH_INTERVAL_S: f64 = 1.0;

/// Identity and recording conditions of a session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionMeta {
    /// Directory name, e.g. `20261126-081530`.
    pub id: String,
    /// RFC 3339 local time, e.g. `2026-11-26T08:15:30+01:00`.
    pub started: String,
    /// Camera name, file path or "sample".
    pub source: String,
    pub fps: f64,
    pub width: usize,
    pub height: usize,
    pub program_version: String,
    /// "guided" for the guided protocol, `None` for a free recording.
    pub protocol: Option<String>,
    pub video_saved: bool,
}

impl SessionMeta {
    /// The recording's source, as the analysis describes it.
    pub fn source_info(&self) -> SourceInfo {
        SourceInfo {
            name: self.source.clone(),
            width: self.width,
            height: self.height,
            fps: self.fps,
            frames: None,
            duration_s: None,
        }
    }

    /// Meta for a session starting now: id and start time from the local
    /// clock, this program's version, no video.
    pub fn new(
        source: impl Into<String>,
        fps: f64,
        width: usize,
        height: usize,
        protocol: Option<String>,
    ) -> SessionMeta {
        let now = chrono::Local::now();
        SessionMeta {
            id: now.format("%Y%m%d-%H%M%S").to_string(),
            started: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            source: source.into(),
            fps,
            width,
            height,
            program_version: env!("CARGO_PKG_VERSION").to_string(),
            protocol,
            video_saved: false,
        }
    }
}

/// Start or end of a protocol step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepPhase {
    Start,
    End,
}

/// A protocol step boundary, at sample time `t`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepMark {
    pub t: f64,
    /// e.g. "rest_open", "gentle_closure", "forceful_blinks", "mouth_purse",
    /// "smile", "rest_again".
    pub step: String,
    pub phase: StepPhase,
}

/// meta.json: the meta with the schema name in front.
#[derive(Serialize, Deserialize)]
struct MetaFile {
    schema: String,
    #[serde(flatten)]
    meta: SessionMeta,
}

/// summary.json as written.
#[derive(Serialize)]
struct SummaryOut<'a> {
    schema: &'static str,
    closed: String,
    samples: usize,
    duration_s: f64,
    face_visible_fraction: f64,
    analysis: Option<&'a Analysis>,
}

/// summary.json read in full.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub schema: String,
    /// When the session was closed (RFC 3339 local time).
    pub closed: String,
    pub samples: usize,
    pub duration_s: f64,
    pub face_visible_fraction: f64,
    pub analysis: Option<Analysis>,
}

/// The parts of summary.json a listing needs; tolerant of nulls.
#[derive(Deserialize)]
struct SummaryHead {
    duration_s: Option<f64>,
    analysis: Option<AnalysisHead>,
}

#[derive(Deserialize)]
struct AnalysisHead {
    summary: SummaryHeadInner,
    quality: Option<QualityHead>,
}

#[derive(Deserialize)]
struct QualityHead {
    head_moving_fraction: Option<f64>,
}

#[derive(Deserialize)]
struct SummaryHeadInner {
    laterality: Laterality,
    events_per_min: EventsPerMinHead,
}

#[derive(Deserialize)]
struct EventsPerMinHead {
    left: Option<f64>,
    right: Option<f64>,
    bilateral: Option<f64>,
}

/// An I/O error with what was being done, where, and a plain-words hint.
fn io_error(err: io::Error, what: &str, path: &Path) -> anyhow::Error {
    let hint = match err.kind() {
        io::ErrorKind::StorageFull => " — the disk is full",
        io::ErrorKind::QuotaExceeded => " — the disk quota is exhausted",
        io::ErrorKind::PermissionDenied => " — no permission to write there",
        io::ErrorKind::ReadOnlyFilesystem => " — the disk is read-only",
        io::ErrorKind::NotADirectory => " — part of the path is a file, not a folder",
        _ => "",
    };
    anyhow::anyhow!("{what} {}: {err}{hint}", path.display())
}

/// Options for a new file only its owner can read: recordings and reports
/// are health data, and other accounts on the machine have no business
/// with them.
fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Creates `dir` (and missing parents) so that only its owner can open it.
fn create_private_dir(dir: &Path, recursive: bool) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(recursive);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// fsyncs a directory so a rename in it is durable (best effort; not
/// possible on every platform).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Writes `bytes` to `path` so that a reader sees either the old file or the
/// complete new one, never a partial file: a temporary file in the same
/// folder is written, fsynced and renamed over `path`. The file is readable
/// by its owner only.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .with_context(|| format!("cannot write {}: not a file path", path.display()))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| -> io::Result<()> {
        let mut f = private_file().create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_error(e, "cannot write", path));
    }
    sync_dir(dir);
    Ok(())
}

/// One column of samples.csv.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Column {
    T,
    Valid,
    Face,
    HeadSpeed,
    LipsSpeed,
    FaceContrast,
    FacesInView,
    /// `0..4`: the face pose's `a`, `b`, `tx`, `ty` ([`Similarity`]).
    Pose(usize),
    Aperture(usize),
    UpperLid(usize),
    LowerLid(usize),
    /// `(side, region, quantity)`: the quantity indexes [`REGION_QUANTITIES`].
    Region(usize, usize, usize),
    /// A column this version does not know (written by a newer one).
    Unknown,
}

const REGION_QUANTITIES: [&str; 8] = ["speed", "vx", "vy", "dx", "dy", "deform", "ripple", "tilt"];

/// The columns this version writes, in order.
fn columns() -> impl Iterator<Item = (Column, String)> {
    let fixed = [
        (Column::T, "t".to_string()),
        (Column::Valid, "valid".to_string()),
        (Column::Face, "face".to_string()),
        (Column::HeadSpeed, "head_speed".to_string()),
        (Column::LipsSpeed, "lips_speed".to_string()),
        (Column::Aperture(0), "aperture_left".to_string()),
        (Column::Aperture(1), "aperture_right".to_string()),
        (Column::UpperLid(0), "upper_lid_left".to_string()),
        (Column::UpperLid(1), "upper_lid_right".to_string()),
        (Column::LowerLid(0), "lower_lid_left".to_string()),
        (Column::LowerLid(1), "lower_lid_right".to_string()),
        (Column::FaceContrast, "face_contrast".to_string()),
        (Column::FacesInView, "faces_in_view".to_string()),
        (Column::Pose(0), "pose_a".to_string()),
        (Column::Pose(1), "pose_b".to_string()),
        (Column::Pose(2), "pose_tx".to_string()),
        (Column::Pose(3), "pose_ty".to_string()),
    ];
    let regions = Side::BOTH.into_iter().flat_map(|side| {
        Region::ALL.into_iter().flat_map(move |region| {
            REGION_QUANTITIES.iter().enumerate().map(move |(q, name)| {
                (
                    Column::Region(side.index(), region.index(), q),
                    format!("{}_{}_{}", side.name(), region.name(), name),
                )
            })
        })
    });
    fixed.into_iter().chain(regions)
}

/// The samples.csv header line (without the newline).
pub fn samples_header() -> String {
    columns()
        .map(|(_, name)| name)
        .collect::<Vec<_>>()
        .join(",")
}

/// How to read the records of a samples.csv, from its header: columns are
/// found by name, so files written before a column existed still read (the
/// missing quantity is unknown), and a newer file's extra columns are
/// skipped.
#[derive(Clone, Debug)]
struct SampleLayout {
    columns: Vec<Column>,
}

impl SampleLayout {
    #[cfg(test)]
    fn current() -> SampleLayout {
        SampleLayout {
            columns: columns().map(|(c, _)| c).collect(),
        }
    }

    /// The layout of a header line; `None` when it lacks `t` or `valid`.
    fn from_header(header: &str) -> Option<SampleLayout> {
        let known: Vec<(Column, String)> = columns().collect();
        let columns: Vec<Column> = header
            .split(',')
            .map(|name| {
                known
                    .iter()
                    .find(|(_, n)| n == name)
                    .map(|(c, _)| *c)
                    .unwrap_or(Column::Unknown)
            })
            .collect();
        (columns.contains(&Column::T) && columns.contains(&Column::Valid))
            .then_some(SampleLayout { columns })
    }

    /// Parses one record (without its newline).
    fn parse(&self, line: &str) -> Option<MotionSample> {
        fn flag(field: &str) -> Option<bool> {
            match field {
                "1" => Some(true),
                "0" => Some(false),
                _ => None,
            }
        }
        fn num(field: &str) -> Option<f32> {
            match field {
                "" => Some(f32::NAN),
                f => f.parse().ok(),
            }
        }
        let mut s = MotionSample::empty(0.0);
        let (mut has_t, mut has_valid, mut has_face) = (false, false, false);
        let mut pose = [f32::NAN; 4];
        let mut fields = line.split(',');
        for &column in &self.columns {
            let field = fields.next()?;
            match column {
                Column::T => {
                    s.t = field.parse().ok()?;
                    has_t = true;
                }
                Column::Valid => {
                    s.valid = flag(field)?;
                    has_valid = true;
                }
                Column::Face => {
                    s.face = flag(field)?;
                    has_face = true;
                }
                Column::HeadSpeed => s.head_speed = num(field)?,
                Column::LipsSpeed => s.lips_speed = num(field)?,
                Column::FaceContrast => s.face_contrast = num(field)?,
                Column::FacesInView => s.faces_in_view = field.parse().ok()?,
                Column::Pose(k) => pose[k] = num(field)?,
                Column::Aperture(side) => s.aperture[side] = num(field)?,
                Column::UpperLid(side) => s.upper_lid[side] = num(field)?,
                Column::LowerLid(side) => s.lower_lid[side] = num(field)?,
                Column::Region(side, region, q) => {
                    let m = &mut s.regions[side][region];
                    let v = num(field)?;
                    match q {
                        0 => m.speed = v,
                        1 => m.vx = v,
                        2 => m.vy = v,
                        3 => m.dx = v,
                        4 => m.dy = v,
                        5 => m.deform = v,
                        6 => m.ripple = v,
                        _ => m.tilt = v,
                    }
                }
                Column::Unknown => {}
            }
        }
        if fields.next().is_some() || !(has_t && has_valid) {
            return None;
        }
        if !has_face {
            // Written before the column existed: the measured frames are
            // the ones known to have had a face.
            s.face = s.valid;
        }
        // No pose (no face, or a file from before the columns) reads as none.
        s.pose = pose.iter().all(|v| v.is_finite()).then_some(Similarity {
            a: pose[0],
            b: pose[1],
            tx: pose[2],
            ty: pose[3],
        });
        Some(s)
    }
}

fn put_f32(buf: &mut Vec<u8>, v: f32) {
    buf.push(b',');
    if !v.is_nan() {
        // Writing into a Vec cannot fail.
        let _ = write!(buf, "{v}");
    }
}

/// Appends one samples.csv record (with its newline) to `buf`, in the
/// order of [`samples_header`].
fn encode_sample(s: &MotionSample, buf: &mut Vec<u8>) {
    if !s.t.is_nan() {
        let _ = write!(buf, "{}", s.t);
    }
    buf.extend_from_slice(if s.valid { b",1" } else { b",0" });
    buf.extend_from_slice(if s.face { b",1" } else { b",0" });
    put_f32(buf, s.head_speed);
    put_f32(buf, s.lips_speed);
    put_f32(buf, s.aperture[0]);
    put_f32(buf, s.aperture[1]);
    put_f32(buf, s.upper_lid[0]);
    put_f32(buf, s.upper_lid[1]);
    put_f32(buf, s.lower_lid[0]);
    put_f32(buf, s.lower_lid[1]);
    put_f32(buf, s.face_contrast);
    let _ = write!(buf, ",{}", s.faces_in_view);
    let pose = s.pose.map_or([f32::NAN; 4], |p| [p.a, p.b, p.tx, p.ty]);
    for v in pose {
        put_f32(buf, v);
    }
    for side in &s.regions {
        for m in side {
            put_f32(buf, m.speed);
            put_f32(buf, m.vx);
            put_f32(buf, m.vy);
            put_f32(buf, m.dx);
            put_f32(buf, m.dy);
            put_f32(buf, m.deform);
            put_f32(buf, m.ripple);
            put_f32(buf, m.tilt);
        }
    }
    buf.push(b'\n');
}

/// Parses one record of the current layout (without its newline).
#[cfg(test)]
fn parse_sample(line: &str) -> Option<MotionSample> {
    SampleLayout::current().parse(line)
}

fn now_rfc3339() -> String {
    chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// Checks that an id is a plain directory name.
fn check_id(id: &str) -> Result<()> {
    let bad = id.is_empty()
        || id.starts_with('.')
        || id.contains(['/', '\\', ':'])
        || id.chars().any(|c| c.is_control());
    if bad {
        bail!("invalid session id {id:?}: it must be a plain folder name");
    }
    Ok(())
}

/// Records one session: create, append samples and step marks, close.
///
/// Dropping a writer without [`close`](SessionWriter::close) keeps what was
/// written (the buffer is flushed on drop) but leaves the session marked as
/// not closed cleanly, like a crash does.
pub struct SessionWriter {
    dir: PathBuf,
    meta: SessionMeta,
    samples_path: PathBuf,
    samples: BufWriter<File>,
    steps_path: PathBuf,
    steps: File,
    /// Reused for every record: the per-sample path does not allocate.
    line: Vec<u8>,
    /// Sample time of the last flush to the OS.
    last_flush_t: f64,
    coverage: Coverage,
    last_t: f64,
}

impl SessionWriter {
    /// Creates `root/<id>/` (with a `-2`, `-3`, … suffix if that exists
    /// already; [`meta`](SessionWriter::meta) has the id actually used) and
    /// its files. Fails with a plain message when the root cannot be created
    /// or written (permissions, read-only or full disk).
    pub fn create(root: &Path, meta: &SessionMeta) -> Result<SessionWriter> {
        check_id(&meta.id)?;
        create_private_dir(root, true)
            .map_err(|e| io_error(e, "cannot create the sessions folder", root))?;
        let mut meta = meta.clone();
        if !meta.fps.is_finite() {
            // JSON has no NaN: keep meta.json readable.
            meta.fps = 0.0;
        }
        let base = meta.id.clone();
        let mut n = 1;
        let dir = loop {
            let id = if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            let dir = root.join(&id);
            match create_private_dir(&dir, false) {
                Ok(()) => {
                    meta.id = id;
                    break dir;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(e) => return Err(io_error(e, "cannot create the session folder", &dir)),
            }
        };
        match Self::create_files(dir.clone(), meta) {
            Ok(w) => Ok(w),
            Err(e) => {
                // Ours and incomplete: don't leave a half-made session.
                let _ = fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    fn create_files(dir: PathBuf, meta: SessionMeta) -> Result<SessionWriter> {
        let samples_path = dir.join(SAMPLES_FILE);
        let file = private_file()
            .open(&samples_path)
            .map_err(|e| io_error(e, "cannot create", &samples_path))?;
        let mut samples = BufWriter::with_capacity(64 * 1024, file);
        let mut header = samples_header();
        header.push('\n');
        samples
            .write_all(header.as_bytes())
            .and_then(|()| samples.flush())
            .map_err(|e| io_error(e, "cannot write", &samples_path))?;
        let steps_path = dir.join(STEPS_FILE);
        let steps = private_file()
            .open(&steps_path)
            .map_err(|e| io_error(e, "cannot create", &steps_path))?;
        let meta_file = MetaFile {
            schema: SESSION_SCHEMA.to_string(),
            meta,
        };
        let mut bytes = serde_json::to_vec_pretty(&meta_file)?;
        bytes.push(b'\n');
        write_atomically(&dir.join(META_FILE), &bytes)?;
        Ok(SessionWriter {
            dir,
            meta: meta_file.meta,
            samples_path,
            samples,
            steps_path,
            steps,
            line: Vec::with_capacity(1024),
            last_flush_t: f64::NEG_INFINITY,
            coverage: Coverage::default(),
            last_t: f64::NAN,
        })
    }

    /// The session's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The meta as written (with the id actually used).
    pub fn meta(&self) -> &SessionMeta {
        &self.meta
    }

    /// Samples appended so far.
    pub fn samples_written(&self) -> usize {
        self.coverage.frames as usize
    }

    /// Appends one sample. Hands the buffered samples to the OS at least
    /// once per [`FLUSH_INTERVAL_S`] of sample time (and if time jumps
    /// backwards). Does not allocate.
    pub fn append(&mut self, sample: &MotionSample) -> Result<()> {
        self.line.clear();
        encode_sample(sample, &mut self.line);
        self.samples
            .write_all(&self.line)
            .map_err(|e| io_error(e, "cannot record to", &self.samples_path))?;
        self.coverage.push(sample);
        self.last_t = sample.t;
        let since = sample.t - self.last_flush_t;
        if !(0.0..FLUSH_INTERVAL_S).contains(&since) {
            self.flush()?;
        }
        Ok(())
    }

    /// Appends a step mark; it reaches the OS at once.
    pub fn mark_step(&mut self, mark: &StepMark) -> Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, mark)?;
        self.line.push(b'\n');
        self.steps
            .write_all(&self.line)
            .map_err(|e| io_error(e, "cannot record to", &self.steps_path))
    }

    /// Hands everything buffered to the OS.
    pub fn flush(&mut self) -> Result<()> {
        self.samples
            .flush()
            .map_err(|e| io_error(e, "cannot record to", &self.samples_path))?;
        if self.coverage.frames > 0 {
            self.last_flush_t = self.last_t;
        }
        Ok(())
    }

    /// Finishes the session: flushes and fsyncs the data, then writes
    /// `summary.json` (with `analysis`, if any) atomically, which marks the
    /// session as closed cleanly. Returns the session's directory.
    pub fn close(mut self, analysis: Option<&Analysis>) -> Result<PathBuf> {
        self.flush()?;
        self.samples
            .get_ref()
            .sync_all()
            .map_err(|e| io_error(e, "cannot save", &self.samples_path))?;
        self.steps
            .sync_all()
            .map_err(|e| io_error(e, "cannot save", &self.steps_path))?;
        let summary = SummaryOut {
            schema: SESSION_SCHEMA,
            closed: now_rfc3339(),
            samples: self.coverage.frames as usize,
            duration_s: self.coverage.duration_s(self.meta.fps),
            face_visible_fraction: self.coverage.face_visible_fraction(),
            analysis,
        };
        let mut bytes = serde_json::to_vec_pretty(&summary)?;
        bytes.push(b'\n');
        write_atomically(&self.dir.join(SUMMARY_FILE), &bytes)?;
        Ok(self.dir.clone())
    }
}

/// The measured regions' rectangles in the face's canonical frame,
/// `[side][region]` (sides in [`Side::index`] order, regions in
/// [`Region::index`] order), as the live view drew them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionRegions {
    pub regions: [[Rect; Region::COUNT]; 2],
}

impl SessionWriter {
    /// Saves where the regions are (`regions.json`, atomically); called
    /// again when the face's layout is learned anew, it replaces them.
    pub fn write_regions(&self, regions: &SessionRegions) -> Result<()> {
        let mut bytes = serde_json::to_vec(regions)?;
        bytes.push(b'\n');
        write_atomically(&self.dir.join(REGIONS_FILE), &bytes)
    }
}

/// A session read back from disk.
#[derive(Clone, Debug)]
pub struct RecordedSession {
    pub dir: PathBuf,
    pub meta: SessionMeta,
    pub samples: Vec<MotionSample>,
    pub steps: Vec<StepMark>,
    /// `summary.json` exists: the writer was closed, not killed.
    pub closed_cleanly: bool,
    /// Records that could not be read: a torn last line after a crash, or
    /// damaged lines (samples and steps together).
    pub dropped_records: usize,
    /// Where the regions were, when the session saved them (older
    /// sessions did not; an unreadable file counts as not saved: the
    /// measurements do not depend on it).
    pub regions: Option<SessionRegions>,
}

impl RecordedSession {
    /// The session's video and the analysis time of its first frame (the
    /// video starts with the first recorded sample), when the session kept
    /// one.
    pub fn saved_video(&self) -> Option<(PathBuf, f64)> {
        let video = self.dir.join(VIDEO_FILE);
        (self.meta.video_saved && video.is_file())
            .then(|| (video, self.samples.first().map_or(0.0, |s| s.t)))
    }

    /// Recomputes the analysis from the recorded samples.
    pub fn analyze(&self, config: &AnalysisConfig) -> Analysis {
        analyze_samples(&self.samples, &self.meta.source_info(), config)
    }

    /// How much was recorded (see [`Coverage`]).
    pub fn coverage(&self) -> Coverage {
        Coverage::of(&self.samples)
    }

    /// Recorded duration, as [`Coverage::duration_s`] counts it.
    pub fn duration_s(&self) -> f64 {
        self.coverage().duration_s(self.meta.fps)
    }

    /// Fraction of samples with a tracked face.
    pub fn face_visible_fraction(&self) -> f64 {
        self.coverage().face_visible_fraction()
    }
}

/// Deletes the session in `dir` from the disk: its measurements, steps,
/// summary, exports and video, and the folder. Not a move to a trash
/// folder: a user who deletes health data expects it gone. Refuses a
/// folder without a readable session `meta.json`, so a wrong path cannot
/// delete anything else.
pub fn delete_session(dir: &Path) -> Result<()> {
    read_meta(dir).with_context(|| format!("not deleting {}", dir.display()))?;
    fs::remove_dir_all(dir).map_err(|e| io_error(e, "cannot delete", dir))?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent);
    }
    Ok(())
}

/// Reads `dir/meta.json`.
pub fn read_meta(dir: &Path) -> Result<SessionMeta> {
    let path = dir.join(META_FILE);
    let bytes = fs::read(&path).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a twitchscope session: cannot read {META_FILE}: {e}",
            dir.display()
        )
    })?;
    let file: MetaFile =
        serde_json::from_slice(&bytes).with_context(|| format!("{} is damaged", path.display()))?;
    if file.schema != SESSION_SCHEMA {
        bail!(
            "{}: unsupported session format {:?} (this version reads {SESSION_SCHEMA})",
            dir.display(),
            file.schema
        );
    }
    Ok(file.meta)
}

/// Reads `dir/summary.json` in full; `Ok(None)` when the session was not
/// closed cleanly.
pub fn read_summary(dir: &Path) -> Result<Option<SessionSummary>> {
    let path = dir.join(SUMMARY_FILE);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .with_context(|| format!("{} is damaged", path.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

/// Calls `record` with every complete line (without its newline) of a
/// record file; returns whether the last line was torn (no newline).
fn for_each_line(path: &Path, mut record: impl FnMut(&[u8])) -> Result<bool> {
    let file =
        File::open(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            return Ok(false);
        }
        if line.last() != Some(&b'\n') {
            return Ok(true);
        }
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        record(&line);
    }
}

/// Longest step in time between two samples of a recording, seconds. The
/// recorder writes samples a frame apart (a camera being reopened pauses
/// them for a few seconds); a record further on, or out of order, is
/// damage, and read as such: it would otherwise stretch the analysis over
/// a span the recording never had (and its buffers with it).
pub const MAX_SAMPLE_STEP_S: f64 = 60.0;

/// Whether a record at `t` may follow one at `after` (`None` for the first).
fn in_time_order(after: Option<f64>, t: f64) -> bool {
    t.is_finite()
        && match after {
            None => true,
            Some(prev) => t > prev && t - prev <= MAX_SAMPLE_STEP_S,
        }
}

/// Reads a whole session. A session that was not closed (a crash, a kill)
/// reads up to its last complete record.
/// Records out of time order ([`MAX_SAMPLE_STEP_S`]) count as damaged.
pub fn read_session(dir: &Path) -> Result<RecordedSession> {
    let meta = read_meta(dir)?;
    let samples_path = dir.join(SAMPLES_FILE);
    let mut samples = Vec::new();
    let mut dropped = 0;
    let mut layout: Option<SampleLayout> = None;
    let mut header_seen = false;
    let mut header_error = None;
    let torn = for_each_line(&samples_path, |line| {
        if !header_seen {
            header_seen = true;
            layout = std::str::from_utf8(line)
                .ok()
                .and_then(SampleLayout::from_header);
            if layout.is_none() {
                header_error = Some(String::from_utf8_lossy(line).into_owned());
            }
            return;
        }
        let Some(layout) = &layout else {
            return;
        };
        let after = samples.last().map(|s: &MotionSample| s.t);
        match std::str::from_utf8(line).ok().and_then(|l| layout.parse(l)) {
            Some(s) if in_time_order(after, s.t) => samples.push(s),
            _ => dropped += 1,
        }
    })?;
    if let Some(found) = header_error {
        let shown: String = found.chars().take(80).collect();
        bail!(
            "{}: not a samples table (no t and valid columns); header starts {shown:?}",
            samples_path.display()
        );
    }
    // A torn header (killed right at the start) is not a dropped record.
    dropped += (torn && header_seen) as usize;

    let mut steps = Vec::new();
    let steps_path = dir.join(STEPS_FILE);
    if steps_path.exists() {
        let torn = for_each_line(&steps_path, |line| {
            if line.iter().all(u8::is_ascii_whitespace) {
                return;
            }
            match serde_json::from_slice::<StepMark>(line) {
                Ok(m) => steps.push(m),
                Err(_) => dropped += 1,
            }
        })?;
        dropped += torn as usize;
    }

    Ok(RecordedSession {
        dir: dir.to_path_buf(),
        meta,
        samples,
        steps,
        closed_cleanly: dir.join(SUMMARY_FILE).is_file(),
        dropped_records: dropped,
        regions: fs::read(dir.join(REGIONS_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok()),
    })
}

/// One line of the session library.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionListing {
    pub dir: PathBuf,
    pub meta: SessionMeta,
    pub duration_s: f64,
    /// From the closing analysis; `None` when there was none.
    pub laterality: Option<Laterality>,
    /// Spasm events per minute, all sides together, from the closing
    /// analysis.
    pub events_per_min: Option<f64>,
    /// Share of the session the head moved too fast to judge, from the
    /// closing analysis (`None` before it was recorded there).
    pub head_moving_fraction: Option<f64>,
    pub closed_cleanly: bool,
}

/// Time of the first and the last complete sample, reading only the head
/// and the tail of samples.csv.
fn sample_span(path: &Path) -> Option<(f64, f64)> {
    const TAIL: u64 = 64 * 1024;
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let mut head = Vec::new();
    (&mut file).take(TAIL).read_to_end(&mut head).ok()?;
    let header = head.split(|&b| b == b'\n').next()?;
    let layout = SampleLayout::from_header(std::str::from_utf8(header).ok()?)?;
    let parse = |line: &[u8]| std::str::from_utf8(line).ok().and_then(|l| layout.parse(l));
    let first = head
        .split_inclusive(|&b| b == b'\n')
        .skip(1)
        .take_while(|l| l.ends_with(b"\n"))
        .find_map(|l| parse(&l[..l.len() - 1]))?;
    let start = len.saturating_sub(TAIL);
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).ok()?;
    let complete = match tail.iter().rposition(|&b| b == b'\n') {
        Some(i) => &tail[..i],
        None => return Some((first.t, first.t)),
    };
    let mut lines = complete.split(|&b| b == b'\n').rev();
    let last = lines.find_map(parse).map(|s| s.t).unwrap_or(first.t);
    Some((first.t, last))
}

fn listing(dir: PathBuf) -> Option<SessionListing> {
    let meta = read_meta(&dir).ok()?;
    let summary_path = dir.join(SUMMARY_FILE);
    let closed_cleanly = summary_path.is_file();
    let head = if closed_cleanly {
        fs::read(&summary_path)
            .ok()
            .and_then(|b| serde_json::from_slice::<SummaryHead>(&b).ok())
    } else {
        None
    };
    let (mut duration_s, mut laterality, mut events_per_min) = (None, None, None);
    let mut head_moving_fraction = None;
    if let Some(head) = head {
        duration_s = head.duration_s;
        if let Some(a) = head.analysis {
            laterality = Some(a.summary.laterality);
            head_moving_fraction = a.quality.and_then(|q| q.head_moving_fraction);
            let e = a.summary.events_per_min;
            events_per_min = match (e.left, e.right, e.bilateral) {
                (Some(l), Some(r), Some(b)) => Some(l + r + b),
                _ => None,
            };
        }
    }
    // A session that was not closed: its first and last samples' span (the
    // frame count is not needed: the meta has the frame rate).
    let duration_s = duration_s.unwrap_or_else(|| {
        sample_span(&dir.join(SAMPLES_FILE))
            .map(|(a, b)| span_duration_s(a, b, if a < b { 2 } else { 1 }, meta.fps))
            .unwrap_or(0.0)
    });
    Some(SessionListing {
        dir,
        meta,
        duration_s,
        laterality,
        events_per_min,
        head_moving_fraction,
        closed_cleanly,
    })
}

/// Lists the sessions under `root`, newest first. Directories that are not
/// readable sessions (no or damaged meta.json) and stray files are skipped;
/// a missing root is an empty library.
pub fn list_sessions(root: &Path) -> Result<Vec<SessionListing>> {
    let entries = match fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => bail!("cannot read the sessions folder {}: {e}", root.display()),
    };
    let mut out: Vec<SessionListing> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                return None;
            }
            let path = entry.path();
            if !path.is_dir() {
                return None;
            }
            listing(path)
        })
        .collect();
    let key = |l: &SessionListing| {
        (
            chrono::DateTime::parse_from_rfc3339(&l.meta.started).ok(),
            l.meta.id.clone(),
        )
    };
    out.sort_by_cached_key(|l| std::cmp::Reverse(key(l)));
    Ok(out)
}

/// Where sessions are kept: `$TWITCHSCOPE_DATA_DIR`, else the platform's
/// folder for an application's data (the `directories` crate): on Linux
/// `$XDG_DATA_HOME/twitchscope/sessions` or
/// `~/.local/share/twitchscope/sessions`, on macOS
/// `~/Library/Application Support/twitchscope/sessions`, on Windows
/// `%APPDATA%\twitchscope\data\sessions`. Health data stays in the user's
/// own profile, where backups and the system's privacy settings expect it.
pub fn default_data_dir() -> PathBuf {
    let platform = directories::ProjectDirs::from("", "", "twitchscope")
        .map(|dirs| dirs.data_dir().join("sessions"));
    data_dir_from(|name| std::env::var_os(name), platform)
}

fn data_dir_from(
    var: impl Fn(&str) -> Option<std::ffi::OsString>,
    platform: Option<PathBuf>,
) -> PathBuf {
    if let Some(dir) = var("TWITCHSCOPE_DATA_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    // No home folder at all (a bare service account): beside the program's
    // working folder, where the user will at least find it.
    platform.unwrap_or_else(|| PathBuf::from("twitchscope-sessions"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use twitchscope_engine::motion::RegionMotion;

    const FPS: f64 = 30.0;
    /// Fields of one samples.csv record.
    const SAMPLE_FIELDS: usize = 17 + 2 * Region::COUNT * 8;

    /// A deterministic sample; some invalid, some with unknown aperture.
    fn sample(i: usize) -> MotionSample {
        let t = i as f64 / FPS;
        let x = i as f32;
        let mut regions = [[RegionMotion::default(); Region::COUNT]; 2];
        for (s, side) in regions.iter_mut().enumerate() {
            for (r, m) in side.iter_mut().enumerate() {
                let phase = (s * 7 + r) as f32;
                m.speed = (x * 0.37 + phase).sin().abs() * 3.0;
                m.vy = (x * 2.0 * std::f32::consts::PI * 8.0 / FPS as f32 + phase).sin()
                    * if s == 0 && r < 3 { 5.0 } else { 0.2 };
                m.deform = x * 1e-3 + phase * 0.1;
                m.vx = (x * 0.11 + phase).cos();
                m.dx = (x * 0.07 + phase).sin() * 0.5;
                m.dy = (x * 0.03 - phase).cos() * 2.0;
                m.ripple = (x * 0.19 + phase).sin().abs() * 1.5;
                m.tilt = (x * 0.23 - phase).sin() * 4.0;
            }
        }
        MotionSample {
            t,
            valid: i % 17 != 5,
            face: i % 17 != 5 || i.is_multiple_of(2),
            regions,
            aperture: if i % 10 == 3 {
                [f32::NAN, 0.31]
            } else {
                [0.3 + 0.01 * (x * 0.1).sin(), 0.29]
            },
            upper_lid: [0.15 + 0.01 * (x * 0.2).cos(), f32::NAN],
            lower_lid: [0.12, 0.1 + 0.001 * x],
            head_speed: (x * 0.01).cos() * 0.5,
            lips_speed: (x * 0.05).sin().abs() * 4.0,
            face_contrast: if i % 5 == 1 { f32::NAN } else { 40.0 + x * 0.5 },
            faces_in_view: (i % 3) as u8,
            pose: (i % 17 != 5).then(|| Similarity {
                a: 0.25 + 1e-4 * x,
                b: -0.01 * (x * 0.3).sin(),
                tx: -30.5 + 0.1 * x,
                ty: 12.25,
            }),
        }
    }

    fn meta(id: &str, started: &str) -> SessionMeta {
        SessionMeta {
            id: id.to_string(),
            started: started.to_string(),
            source: "sample".to_string(),
            fps: FPS,
            width: 640,
            height: 480,
            program_version: "0.1.0".to_string(),
            protocol: Some("guided".to_string()),
            video_saved: false,
        }
    }

    fn same_f32(a: f32, b: f32) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    fn same_sample(a: &MotionSample, b: &MotionSample) -> bool {
        let regions = a
            .regions
            .iter()
            .flatten()
            .zip(b.regions.iter().flatten())
            .all(|(x, y)| {
                same_f32(x.speed, y.speed)
                    && same_f32(x.vx, y.vx)
                    && same_f32(x.vy, y.vy)
                    && same_f32(x.dx, y.dx)
                    && same_f32(x.dy, y.dy)
                    && same_f32(x.deform, y.deform)
                    && same_f32(x.ripple, y.ripple)
                    && same_f32(x.tilt, y.tilt)
            });
        a.t.to_bits() == b.t.to_bits()
            && a.valid == b.valid
            && a.face == b.face
            && same_f32(a.lips_speed, b.lips_speed)
            && same_f32(a.aperture[0], b.aperture[0])
            && same_f32(a.aperture[1], b.aperture[1])
            && (0..2).all(|k| {
                same_f32(a.upper_lid[k], b.upper_lid[k]) && same_f32(a.lower_lid[k], b.lower_lid[k])
            })
            && same_f32(a.head_speed, b.head_speed)
            && same_f32(a.face_contrast, b.face_contrast)
            && a.faces_in_view == b.faces_in_view
            && a.pose.map(|p| [p.a, p.b, p.tx, p.ty].map(f32::to_bits))
                == b.pose.map(|p| [p.a, p.b, p.tx, p.ty].map(f32::to_bits))
            && regions
    }

    fn assert_samples(got: &[MotionSample], want: &[MotionSample]) {
        assert_eq!(got.len(), want.len(), "sample count");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(same_sample(g, w), "sample {i}: {g:?} != {w:?}");
        }
    }

    #[test]
    fn header_has_every_field() {
        assert_eq!(samples_header().split(',').count(), SAMPLE_FIELDS);
        let mut buf = Vec::new();
        encode_sample(&sample(3), &mut buf);
        let line = std::str::from_utf8(&buf).unwrap();
        assert_eq!(line.trim_end().split(',').count(), SAMPLE_FIELDS);
        assert!(same_sample(
            &parse_sample(line.trim_end()).unwrap(),
            &sample(3)
        ));
    }

    #[test]
    fn odd_values_round_trip() {
        let mut s = sample(1);
        s.head_speed = -0.0;
        s.aperture = [f32::NAN, f32::INFINITY];
        s.regions[1][4] = RegionMotion {
            speed: f32::MAX,
            vx: -1e-30,
            vy: f32::NEG_INFINITY,
            dx: 3.5,
            dy: f32::MIN_POSITIVE,
            deform: 1e-42,
            ripple: 0.0,
            tilt: -f32::MAX,
        };
        s.lips_speed = 7.25;
        s.t = 1_234.567_890_123_456_7;
        let mut buf = Vec::new();
        encode_sample(&s, &mut buf);
        let back = parse_sample(std::str::from_utf8(&buf).unwrap().trim_end()).unwrap();
        assert!(same_sample(&back, &s), "{back:?}");
        assert!(parse_sample("1,2,3").is_none());
        assert!(parse_sample("").is_none());
    }

    #[test]
    fn columns_are_read_by_name() {
        // The first layout had no lips speed and no vx; a newer one may add
        // columns this version does not know.
        let old = SampleLayout::from_header(
            "t,valid,head_speed,aperture_left,aperture_right,left_brow_speed,left_brow_vy,left_brow_deform",
        )
        .unwrap();
        let s = old.parse("1.5,1,2,0.3,,4,5,6").unwrap();
        assert_eq!((s.t, s.valid, s.head_speed), (1.5, true, 2.0));
        // Before the face column, a measured frame is a frame with a face.
        assert!(s.face);
        assert!(!old.parse("1.6,0,2,0.3,,4,5,6").unwrap().face);
        assert!(s.aperture[1].is_nan() && s.aperture[0] == 0.3);
        let brow = s.regions[Side::Left.index()][Region::Brow.index()];
        assert_eq!(
            (brow.speed, brow.vy, brow.deform, brow.vx),
            (4.0, 5.0, 6.0, 0.0)
        );
        assert!(old.parse("1.5,1,2,0.3,,4,5").is_none(), "short record");
        let newer = SampleLayout::from_header("t,valid,future_thing,head_speed").unwrap();
        let s = newer.parse("2,0,99,3").unwrap();
        assert_eq!((s.t, s.valid, s.head_speed), (2.0, false, 3.0));
        assert!(SampleLayout::from_header("a,b,c").is_none());
    }

    #[test]
    fn round_trip() {
        let root = tempfile::tempdir().unwrap();
        let m = meta("20261126-081530", "2026-11-26T08:15:30+01:00");
        let samples: Vec<MotionSample> = (0..300).map(sample).collect();
        let steps = vec![
            StepMark {
                t: 0.0,
                step: "rest_open".into(),
                phase: StepPhase::Start,
            },
            StepMark {
                t: 5.0,
                step: "rest_open".into(),
                phase: StepPhase::End,
            },
            StepMark {
                t: 5.0,
                step: "gentle_closure".into(),
                phase: StepPhase::Start,
            },
        ];
        let config = AnalysisConfig::default();
        let analysis = analyze_samples(&samples, &m.source_info(), &config);

        let mut w = SessionWriter::create(root.path(), &m).unwrap();
        assert_eq!(w.dir(), root.path().join(&m.id));
        let rect = |k: usize| Rect {
            x0: 10.5 * k as f32,
            y0: -2.25,
            w: 8 + k,
            h: 6,
        };
        let regions = SessionRegions {
            regions: [0, 1].map(|s| std::array::from_fn(|r| rect(s * Region::COUNT + r))),
        };
        // The layout may be learned anew: the newest is kept.
        w.write_regions(&SessionRegions {
            regions: [[rect(99); Region::COUNT]; 2],
        })
        .unwrap();
        w.write_regions(&regions).unwrap();
        for (i, s) in samples.iter().enumerate() {
            if i == 0 {
                w.mark_step(&steps[0]).unwrap();
            }
            if i == 150 {
                w.mark_step(&steps[1]).unwrap();
                w.mark_step(&steps[2]).unwrap();
            }
            w.append(s).unwrap();
        }
        assert_eq!(w.samples_written(), samples.len());
        let dir = w.close(Some(&analysis)).unwrap();
        assert_eq!(dir, root.path().join(&m.id));

        let r = read_session(&dir).unwrap();
        assert_eq!(r.meta, m);
        assert_eq!(r.dir, dir);
        assert_samples(&r.samples, &samples);
        assert_eq!(r.steps, steps);
        assert!(r.closed_cleanly);
        assert_eq!(r.dropped_records, 0);
        assert_eq!(r.regions, Some(regions));
        let faces = samples.iter().filter(|s| s.face).count() as f64 / samples.len() as f64;
        assert!((r.face_visible_fraction() - faces).abs() < 1e-12);
        assert!((r.duration_s() - 10.0).abs() < 1e-9, "{}", r.duration_s());

        // Replaying gives the same analysis as the live samples, the
        // faces counted in the picture included.
        let replay = r.analyze(&config);
        assert_eq!(replay.source.most_faces, Some(2));
        let live = analyze_samples(&samples, &m.source_info(), &config);
        assert_eq!(
            serde_json::to_string(&replay).unwrap(),
            serde_json::to_string(&live).unwrap()
        );

        let summary = read_summary(&dir).unwrap().unwrap();
        assert_eq!(summary.schema, SESSION_SCHEMA);
        assert_eq!(summary.samples, samples.len());
        assert!((summary.duration_s - 10.0).abs() < 1e-9);
        let stored = summary.analysis.unwrap();
        assert_eq!(stored.summary.laterality, analysis.summary.laterality);
        assert_eq!(stored.events.len(), analysis.events.len());

        // meta.json carries the schema; no temporary files are left over.
        let meta_text = fs::read_to_string(dir.join(META_FILE)).unwrap();
        assert!(meta_text.contains(SESSION_SCHEMA));
        let names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 5, "{names:?}");

        // The same id again gets a suffix instead of mixing two sessions.
        let w2 = SessionWriter::create(root.path(), &m).unwrap();
        assert_eq!(w2.meta().id, "20261126-081530-2");
        assert_eq!(read_meta(w2.dir()).unwrap().id, "20261126-081530-2");
    }

    /// Recordings are health data: the folders and files are the user's
    /// alone (other accounts on the machine cannot list or read them).
    #[cfg(unix)]
    #[test]
    fn sessions_and_written_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let root = tempfile::tempdir().unwrap();
        let sessions = root.path().join("data").join("sessions");
        let mut w =
            SessionWriter::create(&sessions, &meta("20261127-101010", "2026-11-27T10:10:10Z"))
                .unwrap();
        w.append(&MotionSample::default()).unwrap();
        let dir = w.close(None).unwrap();
        assert_eq!(mode(&sessions), 0o700);
        assert_eq!(mode(&dir), 0o700);
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
        let report = root.path().join("report.pdf");
        write_atomically(&report, b"%PDF").unwrap();
        assert_eq!(mode(&report), 0o600);
    }

    #[test]
    fn a_deleted_session_is_gone_and_nothing_else_is_deleted() {
        let root = tempfile::tempdir().unwrap();
        let mut w = SessionWriter::create(
            root.path(),
            &meta("20261127-111111", "2026-11-27T11:11:11Z"),
        )
        .unwrap();
        w.append(&MotionSample::default()).unwrap();
        let dir = w.close(None).unwrap();
        fs::write(dir.join("video.mp4"), b"frames").unwrap();
        delete_session(&dir).unwrap();
        assert!(!dir.exists());
        assert!(list_sessions(root.path()).unwrap().is_empty());

        // A folder that is not a session stays, whatever it holds.
        let other = root.path().join("photos");
        fs::create_dir(&other).unwrap();
        fs::write(other.join("holiday.jpg"), b"jpeg").unwrap();
        let e = delete_session(&other).unwrap_err();
        assert!(
            format!("{e:#}").contains("not a twitchscope session"),
            "{e:#}"
        );
        assert!(other.join("holiday.jpg").is_file());
    }

    #[test]
    fn torn_last_line_is_ignored() {
        let root = tempfile::tempdir().unwrap();
        let m = meta("torn", "2026-11-26T08:15:30+01:00");
        let samples: Vec<MotionSample> = (0..50).map(sample).collect();
        let mut w = SessionWriter::create(root.path(), &m).unwrap();
        for s in &samples {
            w.append(s).unwrap();
        }
        let mark = StepMark {
            t: 0.5,
            step: "smile".into(),
            phase: StepPhase::Start,
        };
        w.mark_step(&mark).unwrap();
        let dir = w.dir().to_path_buf();
        drop(w); // like a crash after the last flush: no summary

        // A half-written record at the end of each file.
        let mut line = Vec::new();
        encode_sample(&sample(50), &mut line);
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.join(SAMPLES_FILE))
            .unwrap();
        f.write_all(&line[..line.len() / 2]).unwrap();
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.join(STEPS_FILE))
            .unwrap();
        f.write_all(br#"{"t":1.0,"step":"sm"#).unwrap();

        let r = read_session(&dir).unwrap();
        assert!(!r.closed_cleanly);
        assert_samples(&r.samples, &samples);
        assert_eq!(r.steps, vec![mark]);
        assert_eq!(r.dropped_records, 2);
        assert!(read_summary(&dir).unwrap().is_none());

        // A damaged line in the middle is skipped, the rest still read.
        let path = dir.join(SAMPLES_FILE);
        let text = fs::read_to_string(&path).unwrap();
        let mut lines: Vec<&str> = text.split('\n').collect();
        lines[10] = "\0\0\0garbage";
        fs::write(&path, lines.join("\n")).unwrap();
        let r = read_session(&dir).unwrap();
        assert_eq!(r.samples.len(), samples.len() - 1);
        assert_eq!(r.dropped_records, 3);

        // A header without time and validity is an error, not misread.
        fs::write(&path, "time,something_else\n0,1\n").unwrap();
        let err = read_session(&dir).unwrap_err().to_string();
        assert!(err.contains("not a samples table"), "{err}");
    }

    #[test]
    fn samples_out_of_time_order_are_damage() {
        let root = tempfile::tempdir().unwrap();
        let m = meta("order", "2026-11-26T08:15:30+01:00");
        let mut samples: Vec<MotionSample> = (0..40).map(sample).collect();
        // A record from the far future (a damaged time), one going back,
        // one with no time: each is skipped, the rest read on.
        samples[10].t = 1e12;
        samples[20].t = samples[5].t;
        samples[30].t = f64::INFINITY;
        let mut w = SessionWriter::create(root.path(), &m).unwrap();
        for s in &samples {
            w.append(s).unwrap();
        }
        let dir = w.close(None).unwrap();
        let r = read_session(&dir).unwrap();
        assert_eq!(r.dropped_records, 3);
        let expected: Vec<MotionSample> = samples
            .iter()
            .enumerate()
            .filter(|(i, _)| ![10, 20, 30].contains(i))
            .map(|(_, s)| *s)
            .collect();
        assert_samples(&r.samples, &expected);
        // And the analysis spans the recording, not the damaged time.
        let a = r.analyze(&AnalysisConfig::default());
        assert!(a.source.duration_s < 2.0, "{}", a.source.duration_s);
    }

    /// A session file cut at any byte (a copy interrupted, a disk failing)
    /// opens with what precedes the cut, or gives an error naming the file;
    /// it never panics.
    #[test]
    fn a_session_cut_at_any_byte_reads_what_precedes_the_cut() {
        let root = tempfile::tempdir().unwrap();
        let samples: Vec<MotionSample> = (0..12).map(sample).collect();
        let marks: Vec<StepMark> = (0..3)
            .map(|i| StepMark {
                t: 0.1 * i as f64,
                step: "smile".into(),
                phase: if i % 2 == 0 {
                    StepPhase::Start
                } else {
                    StepPhase::End
                },
            })
            .collect();
        let mut w = SessionWriter::create(root.path(), &meta("whole", "2026-11-26T08:15:30+01:00"))
            .unwrap();
        for s in &samples {
            w.append(s).unwrap();
        }
        for m in &marks {
            w.mark_step(m).unwrap();
        }
        let whole = w.close(None).unwrap();
        let files = [META_FILE, SAMPLES_FILE, STEPS_FILE, SUMMARY_FILE];
        let cut_dir = root.path().join("cut");
        for file in files {
            let bytes = fs::read(whole.join(file)).unwrap();
            for cut in 0..bytes.len() {
                let _ = fs::remove_dir_all(&cut_dir);
                fs::create_dir(&cut_dir).unwrap();
                for other in files {
                    fs::copy(whole.join(other), cut_dir.join(other)).unwrap();
                }
                fs::write(cut_dir.join(file), &bytes[..cut]).unwrap();
                // Complete lines before the cut (the header is one).
                let lines = bytes[..cut].iter().filter(|&&b| b == b'\n').count();
                let read = read_session(&cut_dir);
                // Only its trailing newline cut: a JSON file is still whole.
                let json_whole = bytes[..cut].trim_ascii_end() == bytes.trim_ascii_end();
                match file {
                    META_FILE if json_whole => assert!(read.is_ok(), "cut at {cut}"),
                    META_FILE => {
                        let e = format!("{:#}", read.unwrap_err());
                        assert!(e.contains(META_FILE), "cut at {cut}: {e}");
                    }
                    SAMPLES_FILE => {
                        let r = read.unwrap();
                        assert_samples(&r.samples, &samples[..lines.saturating_sub(1)]);
                    }
                    STEPS_FILE => assert_eq!(read.unwrap().steps, marks[..lines]),
                    _ => {
                        assert!(read.is_ok(), "cut at {cut}");
                        let summary = read_summary(&cut_dir);
                        if json_whole {
                            assert!(summary.is_ok_and(|s| s.is_some()), "cut at {cut}");
                        } else {
                            let e = format!("{:#}", summary.unwrap_err());
                            assert!(e.contains(SUMMARY_FILE), "cut at {cut}: {e}");
                        }
                    }
                }
                assert!(list_sessions(root.path()).is_ok());
            }
        }
    }

    #[test]
    fn listing_is_newest_first_and_skips_junk() {
        let root = tempfile::tempdir().unwrap();
        assert!(
            list_sessions(&root.path().join("missing"))
                .unwrap()
                .is_empty()
        );
        let samples: Vec<MotionSample> = (0..91).map(sample).collect();
        // Ids out of time order: the order must come from `started`, which
        // is compared as an instant (08:00+01:00 is 07:00 UTC).
        let sessions = [
            ("b-middle", "2026-11-26T08:00:00+01:00", true),
            ("a-newest", "2026-11-26T07:30:00+00:00", false),
            ("c-oldest", "2026-11-25T23:00:00+00:00", true),
        ];
        // The analysed session's head moves fast over its first half.
        let moving: Vec<MotionSample> = samples
            .iter()
            .map(|s| MotionSample {
                head_speed: if s.t < 1.5 { 500.0 } else { s.head_speed },
                ..*s
            })
            .collect();
        let mut moving_fraction = None;
        for (id, started, close) in sessions {
            let m = meta(id, started);
            let mut w = SessionWriter::create(root.path(), &m).unwrap();
            let samples = if id == "b-middle" { &moving } else { &samples };
            for s in samples {
                w.append(s).unwrap();
            }
            if close {
                let analysis = if id == "b-middle" {
                    Some(analyze_samples(
                        samples,
                        &m.source_info(),
                        &AnalysisConfig::default(),
                    ))
                } else {
                    None
                };
                moving_fraction = moving_fraction
                    .or_else(|| analysis.as_ref().map(|a| a.quality.head_moving_fraction));
                w.close(analysis.as_ref()).unwrap();
            }
        }
        // Junk: an empty folder, a damaged meta, a stray file, a temp folder.
        fs::create_dir(root.path().join("empty")).unwrap();
        fs::create_dir(root.path().join("damaged")).unwrap();
        fs::write(root.path().join("damaged").join(META_FILE), "{not json").unwrap();
        fs::write(root.path().join("notes.txt"), "hello").unwrap();
        fs::create_dir(root.path().join(".trash")).unwrap();

        let list = list_sessions(root.path()).unwrap();
        let ids: Vec<&str> = list.iter().map(|l| l.meta.id.as_str()).collect();
        assert_eq!(ids, ["a-newest", "b-middle", "c-oldest"]);
        let (newest, middle, oldest) = (&list[0], &list[1], &list[2]);
        assert!(!newest.closed_cleanly && middle.closed_cleanly && oldest.closed_cleanly);
        for l in &list {
            assert!((l.duration_s - (3.0 + 1.0 / FPS)).abs() < 1e-9, "{l:?}");
            assert_eq!(l.dir, root.path().join(&l.meta.id));
        }
        assert!(middle.laterality.is_some() && middle.events_per_min.is_some());
        assert!(newest.laterality.is_none() && oldest.laterality.is_none());
        assert!(oldest.events_per_min.is_none());
        // The share of it the head moved too fast comes with the listing.
        let fraction = moving_fraction.unwrap();
        assert!((0.4..0.6).contains(&fraction), "{fraction}");
        assert_eq!(middle.head_moving_fraction, Some(fraction));
        assert!(newest.head_moving_fraction.is_none() && oldest.head_moving_fraction.is_none());
    }

    #[test]
    fn unwritable_root_is_a_clear_error() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("a-file");
        fs::write(&file, "x").unwrap();
        let m = meta("20261126-081530", "2026-11-26T08:15:30+01:00");
        for root in [file.clone(), file.join("sessions")] {
            let err = SessionWriter::create(&root, &m).err().unwrap().to_string();
            assert!(err.contains("cannot create"), "{err}");
            assert!(err.contains(&*root.to_string_lossy()), "{err}");
        }
        let err = SessionWriter::create(tmp.path(), &meta("../escape", "x"))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("invalid session id"), "{err}");

        // A read-only folder (only meaningful when not running as root,
        // which ignores permissions).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let ro = tmp.path().join("read-only");
            fs::create_dir(&ro).unwrap();
            fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
            if File::create(ro.join("probe")).is_err() {
                let err = SessionWriter::create(&ro, &m).err().unwrap().to_string();
                assert!(err.contains("no permission"), "{err}");
                assert!(err.contains(&*ro.to_string_lossy()), "{err}");
            }
            fs::set_permissions(&ro, fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    #[test]
    fn write_atomically_replaces() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("out.json");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
        let err = write_atomically(&tmp.path().join("no/such/dir/x"), b"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot write"), "{err}");
    }

    #[test]
    fn data_dir_precedence() {
        use std::ffi::OsString;
        fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(v))
            }
        }
        let platform = Some(PathBuf::from("/home/u/.local/share/twitchscope/sessions"));
        assert_eq!(
            data_dir_from(
                env(&[("TWITCHSCOPE_DATA_DIR", "/data/ts")]),
                platform.clone()
            ),
            PathBuf::from("/data/ts")
        );
        assert_eq!(
            data_dir_from(env(&[("TWITCHSCOPE_DATA_DIR", "")]), platform.clone()),
            platform.clone().unwrap()
        );
        assert_eq!(
            data_dir_from(env(&[]), None),
            PathBuf::from("twitchscope-sessions")
        );
        // This machine's own: the platform's data folder, ours inside it.
        if std::env::var_os("TWITCHSCOPE_DATA_DIR").is_none() {
            let dir = default_data_dir();
            assert!(dir.is_absolute(), "{}", dir.display());
            assert!(dir.ends_with("twitchscope/sessions"), "{}", dir.display());
        }
        let now = SessionMeta::new("cam", 30.0, 640, 480, None);
        assert_eq!(now.id.len(), "20261126-081530".len());
        assert!(chrono::DateTime::parse_from_rfc3339(&now.started).is_ok());
    }

    /// Set in the child process of [`killed_writer_loses_at_most_a_second`]:
    /// the root to record into.
    const CHILD_ENV: &str = "TWITCHSCOPE_SESSION_TEST_CHILD_ROOT";
    const CHILD_ID: &str = "killed";

    /// Helper run in a child process: records forever (well, up to a safety
    /// limit), printing the index of every sample appended. Ignored in a
    /// normal run: it is a helper, not a test of its own.
    #[test]
    #[ignore = "helper: run as a child process by killed_writer_loses_at_most_a_second"]
    fn killed_writer_child() {
        let root = std::env::var_os(CHILD_ENV)
            .expect("run only by killed_writer_loses_at_most_a_second, which sets the root");
        let m = meta(CHILD_ID, "2026-11-26T08:15:30+01:00");
        let mut w = SessionWriter::create(Path::new(&root), &m).unwrap();
        w.mark_step(&StepMark {
            t: 0.0,
            step: "rest_open".into(),
            phase: StepPhase::Start,
        })
        .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let mut out = io::stdout().lock();
        for i in 0.. {
            w.append(&sample(i)).unwrap();
            writeln!(out, "written {i}").unwrap();
            out.flush().unwrap();
            // About 15 s of sample time per second of wall time.
            std::thread::sleep(std::time::Duration::from_millis(2));
            if std::time::Instant::now() > deadline {
                break;
            }
        }
    }

    #[test]
    fn killed_writer_loses_at_most_a_second() {
        use std::process::{Command, Stdio};
        use std::sync::mpsc;
        use std::time::Duration;

        let root = tempfile::tempdir().unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "tests::killed_writer_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, root.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<usize>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(i) = line.strip_prefix("written ").and_then(|s| s.parse().ok())
                    && tx.send(i).is_err()
                {
                    break;
                }
            }
        });
        let first = rx.recv_timeout(Duration::from_secs(120));
        if first.is_ok() {
            std::thread::sleep(Duration::from_millis(1500));
        }
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        reader.join().unwrap();
        let first = first.expect("the child process never started writing");
        assert!(!status.success());
        let last_written = rx.try_iter().last().unwrap_or(first);
        assert!(last_written > 60, "child wrote only {last_written} samples");

        let r = read_session(&root.path().join(CHILD_ID)).unwrap();
        assert!(!r.closed_cleanly);
        assert_eq!(r.steps.len(), 1);
        // Whatever was recorded is exactly what was written, in order…
        let want: Vec<MotionSample> = (0..r.samples.len()).map(sample).collect();
        assert_samples(&r.samples, &want);
        // …and reaches within one second (of sample time) of the last one.
        let last_read = r.samples.last().map(|s| s.t).unwrap_or(f64::NEG_INFINITY);
        let last_t = sample(last_written).t;
        assert!(
            last_read >= last_t - FLUSH_INTERVAL_S - 1e-9,
            "read up to t={last_read}, wrote up to t={last_t}"
        );
        eprintln!(
            "killed writer: wrote {} samples (t={last_t:.3}), read {} (t={last_read:.3}), {} dropped",
            last_written + 1,
            r.samples.len(),
            r.dropped_records
        );
        assert!(r.dropped_records <= 1);
        // The listing shows it as not closed, with the recorded duration.
        let list = list_sessions(root.path()).unwrap();
        assert_eq!(list.len(), 1);
        assert!(!list[0].closed_cleanly);
        assert!((list[0].duration_s - r.duration_s()).abs() < 1e-9);
    }
}
