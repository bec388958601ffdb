//! The shareable report: a PDF for the neurologist (typst lays it out,
//! plotters draws the charts as SVG), beside the CSV and JSON exporters.
//!
//! Pure: [`render_pdf`] takes a [`ReportInput`] and returns the PDF bytes;
//! reading sessions, decoding video and writing files is the caller's job.
//!
//! - [`document`] writes the typst markup,
//! - [`charts`] draws the charts,
//! - [`clinical`] computes the per-side table, estimates and protocol steps,
//! - [`trend`] builds the points of the trend across sessions,
//! - [`strips`] cuts event images from a video file (the one part that runs a
//!   program).
//!
//! Crate `twitchscope-report`: owns the PDF report and the JSON/CSV
//! exporters ([`export`]). It reads analyses and sessions (and cuts event
//! images from the video); it may not touch windows or cameras.

pub mod charts;
pub mod clinical;
pub mod document;
pub mod export;
pub mod strips;
pub mod trend;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::LazyLock;

use anyhow::{Result, anyhow, bail};
use chrono::NaiveDate;
use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

use crate::export::{EventsCsv, Exporter, JsonExporter, SessionSummaryCsv, WindowsCsv};
use twitchscope_engine::analysis::{Analysis, AnalysisConfig};
use twitchscope_session::{SessionMeta, StepMark};

pub use trend::TrendPoint;

/// Paper size of the PDF.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Paper {
    #[default]
    A4,
    Letter,
}

impl FromStr for Paper {
    type Err = String;

    fn from_str(s: &str) -> Result<Paper, String> {
        match s.to_ascii_lowercase().as_str() {
            "a4" => Ok(Paper::A4),
            "letter" | "us-letter" => Ok(Paper::Letter),
            _ => Err(format!("unknown paper size {s:?} (use a4 or letter)")),
        }
    }
}

impl Paper {
    /// Letter in the Americas' letter-paper locales (`LC_ALL`, `LC_PAPER`,
    /// `LANG`), A4 elsewhere.
    pub fn from_locale() -> Paper {
        let locale = ["LC_ALL", "LC_PAPER", "LANG"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
            .unwrap_or_default();
        let letter = ["_US", "_CA", "_MX", "_PH", "_CL", "_CO"];
        if letter.iter().any(|c| locale.contains(c)) {
            Paper::Letter
        } else {
            Paper::A4
        }
    }
}

/// A treatment the user entered, e.g. an injection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Treatment {
    pub date: NaiveDate,
    pub label: String,
}

impl FromStr for Treatment {
    type Err = String;

    /// `YYYY-MM-DD:label`, e.g. `2026-10-01:botulinum toxin`.
    fn from_str(s: &str) -> Result<Treatment, String> {
        let (date, label) = s
            .split_once(':')
            .ok_or_else(|| format!("treatment {s:?}: expected YYYY-MM-DD:label"))?;
        let date = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
            .map_err(|_| format!("treatment {s:?}: {date:?} is not a date like 2026-10-01"))?;
        let label = label.trim();
        if label.is_empty() {
            return Err(format!("treatment {s:?}: the label is empty"));
        }
        Ok(Treatment {
            date,
            label: label.to_string(),
        })
    }
}

/// The recorded session the analysis came from.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionInfo {
    pub meta: SessionMeta,
    /// Guided-protocol step marks (empty for a free recording).
    pub steps: Vec<StepMark>,
}

/// Three frames of one event: before, at the peak, after.
#[derive(Clone, Debug, PartialEq)]
pub struct EventStrip {
    /// e.g. "Clonic spasm, patient's left, at 12.3 s".
    pub label: String,
    pub times_s: [f64; 3],
    /// PNG or JPEG images.
    pub images: [Vec<u8>; 3],
    /// Both eyes up close, with the twitch magnified; `Err` says why there
    /// is none (no face in the clip, the video could not be read).
    pub closeup: Result<strips::CloseUp, String>,
}

/// Everything the PDF shows.
#[derive(Clone, Debug)]
pub struct ReportInput {
    pub analysis: Analysis,
    /// The recorded session (meta and protocol steps), when there is one.
    pub session: Option<SessionInfo>,
    /// When the recording was made, as shown in the header (RFC 3339 or
    /// free text); defaults to the session's start.
    pub recorded: Option<String>,
    /// Earlier sessions, one point each (this one is added from the
    /// analysis).
    pub history: Vec<TrendPoint>,
    pub treatments: Vec<Treatment>,
    /// The patient's name; a blank line to fill in when `None`.
    pub name: Option<String>,
    pub paper: Paper,
    /// Representative events as images, when the video was kept.
    pub strips: Vec<EventStrip>,
}

impl ReportInput {
    /// A report of `analysis` alone: no session, no history.
    pub fn new(analysis: Analysis) -> ReportInput {
        ReportInput {
            analysis,
            session: None,
            recorded: None,
            history: Vec::new(),
            treatments: Vec::new(),
            name: None,
            paper: Paper::A4,
            strips: Vec::new(),
        }
    }
}

/// The trend points of the sessions under `history_root` (default: the
/// app's data folder), leaving out `current` (the one being reported).
pub fn history_for(history_root: Option<&Path>, current: &Path) -> Result<Vec<TrendPoint>> {
    let root = history_root
        .map(Path::to_path_buf)
        .unwrap_or_else(twitchscope_session::default_data_dir);
    trend::history_from_dir(&root, current)
}

/// The report of a recorded session folder, as `twitchscope report DIR` and
/// the app's "Export report" make it: the session re-analysed with `config`,
/// its meta and protocol steps, the trend from the sessions under
/// `history_root` (default: the app's data folder) and the locale's paper.
/// The name and treatments are left for the caller.
pub fn report_input_for_session(
    dir: &Path,
    history_root: Option<&Path>,
    config: &AnalysisConfig,
) -> Result<ReportInput> {
    let session = twitchscope_session::read_session(dir)?;
    let mut input = ReportInput::new(session.analyze(config));
    // With the video kept, show representative events from it (the video
    // starts at the first recorded sample). Images are a bonus: a damaged
    // video leaves the report without them rather than failing it.
    if let Some((video, start)) = session.saved_video() {
        input.strips = strips::video_strips(&video, &input.analysis, start).unwrap_or_default();
    }
    input.session = Some(SessionInfo {
        meta: session.meta,
        steps: session.steps,
    });
    input.history = history_for(history_root, dir)?;
    input.paper = Paper::from_locale();
    Ok(input)
}

/// File name of the PDF that [`write_session_report`] writes.
pub const REPORT_PDF: &str = "report.pdf";

/// Writes the report of `input` into the session folder `dir`: `report.pdf`,
/// `analysis.json`, `events.csv`, `windows.csv` and `summary.csv`, each
/// atomically. Returns the PDF's path.
pub fn write_session_report(dir: &Path, input: &ReportInput) -> Result<PathBuf> {
    let pdf = render_pdf(input)?;
    for exporter in [
        &JsonExporter as &dyn Exporter,
        &EventsCsv,
        &WindowsCsv,
        &SessionSummaryCsv,
    ] {
        twitchscope_session::write_atomically(
            &dir.join(exporter.file_name()),
            &exporter.serialize(&input.analysis)?,
        )?;
    }
    let path = dir.join(REPORT_PDF);
    twitchscope_session::write_atomically(&path, &pdf)?;
    Ok(path)
}

/// Builds and writes the report of the session folder `dir` (see
/// [`report_input_for_session`] and [`write_session_report`]). Takes
/// 0.1–1 s: call it off the UI thread.
pub fn export_session_report(
    dir: &Path,
    history_root: Option<&Path>,
    config: &AnalysisConfig,
    details: &ReportDetails,
) -> Result<PathBuf> {
    let mut input = report_input_for_session(dir, history_root, config)?;
    input.name = details.name.clone();
    input.treatments = details.treatments.clone();
    write_session_report(dir, &input)
}

/// What the person adds to a report of a session: their name and the
/// dates of their treatments (the app's export fields, the CLI's
/// `--name` and `--treatment`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportDetails {
    /// `None` or blank: a line to fill in by hand.
    pub name: Option<String>,
    pub treatments: Vec<Treatment>,
}

impl ReportDetails {
    /// From the app's two fields: a name, and treatments one per line (or
    /// separated by `;`) as `YYYY-MM-DD:label`. The error names the entry
    /// that is not understood.
    pub fn parse(name: &str, treatments: &str) -> Result<ReportDetails, String> {
        let name = name.trim();
        let treatments = treatments
            .split(['\n', ';'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<Treatment>, String>>()?;
        Ok(ReportDetails {
            name: (!name.is_empty()).then(|| name.to_string()),
            treatments,
        })
    }
}

/// Renders the report to PDF bytes.
pub fn render_pdf(input: &ReportInput) -> Result<Vec<u8>> {
    let doc = document::build(input)?;
    render_typst(&doc.source, doc.files)
}

/// The typst markup of the report (for debugging the layout).
pub fn typst_source(input: &ReportInput) -> Result<String> {
    Ok(document::build(input)?.source)
}

/// The embedded fonts, parsed once.
static FONTS: LazyLock<(LazyHash<FontBook>, Vec<Font>)> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts()
        .flat_map(|data| Font::iter(Bytes::new(data)))
        .collect();
    (LazyHash::new(FontBook::from_fonts(&fonts)), fonts)
});

static LIBRARY: LazyLock<LazyHash<Library>> =
    LazyLock::new(|| LazyHash::new(Library::builder().build()));

/// An in-memory typst world: one main file, the charts and images, the
/// embedded fonts. Nothing is read from disk or the network.
struct ReportWorld {
    main: Source,
    files: HashMap<FileId, Bytes>,
}

fn file_id(path: &str) -> Result<FileId> {
    let vpath = VirtualPath::new(path).map_err(|e| anyhow!("bad report path {path}: {e:?}"))?;
    Ok(RootedPath::new(VirtualRoot::Project, vpath).intern())
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &FONTS.0
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::NotSource)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.main.id() {
            return Ok(Bytes::from_string(self.main.clone()));
        }
        self.files
            .get(&id)
            .cloned()
            .ok_or_else(|| FileError::NotFound(id.get().vpath().get_with_slash().into()))
    }

    fn font(&self, index: usize) -> Option<Font> {
        FONTS.1.get(index).cloned()
    }

    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        None
    }
}

fn render_typst(source: &str, files: Vec<(String, Vec<u8>)>) -> Result<Vec<u8>> {
    let main = Source::new(file_id("/report.typ")?, source.to_string());
    let mut map = HashMap::new();
    for (path, bytes) in files {
        map.insert(file_id(&path)?, Bytes::new(bytes));
    }
    let world = ReportWorld { main, files: map };
    let warned = typst::compile::<PagedDocument>(&world);
    let document = warned.output.map_err(|errors| {
        let msgs: Vec<String> = errors.iter().map(|e| e.message.to_string()).collect();
        anyhow!("laying out the report failed: {}", msgs.join("; "))
    })?;
    if document.pages().is_empty() {
        bail!("the report has no pages");
    }
    typst_pdf::pdf(&document, &typst_pdf::PdfOptions::default()).map_err(|errors| {
        let msgs: Vec<String> = errors.iter().map(|e| e.message.to_string()).collect();
        anyhow!("writing the PDF failed: {}", msgs.join("; "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_details_from_the_apps_fields() {
        let d = ReportDetails::parse(
            "  Ada Lovelace ",
            "2026-10-01:botulinum toxin\n\n 2026-11-02 : second dose ;",
        )
        .unwrap();
        assert_eq!(d.name.as_deref(), Some("Ada Lovelace"));
        let dates: Vec<String> = d.treatments.iter().map(|t| t.date.to_string()).collect();
        assert_eq!(dates, ["2026-10-01", "2026-11-02"]);
        assert_eq!(d.treatments[1].label, "second dose");
        // Blank fields: no name, no treatment.
        assert_eq!(
            ReportDetails::parse(" ", "\n").unwrap(),
            ReportDetails::default()
        );
        // A date that is not one is named in the message.
        let e = ReportDetails::parse("", "2026-13-01:dose").unwrap_err();
        assert!(e.contains("2026-13-01") && e.contains("not a date"), "{e}");
    }
}
