//! Exporters: an analysis in, bytes out. No file I/O here; the caller
//! decides where the bytes go.

use std::fmt::Write as _;

use anyhow::Result;

use twitchscope_engine::analysis::Analysis;
use twitchscope_engine::regions::{Region, Side};

/// One output format.
pub trait Exporter {
    /// File name the bytes are usually written to.
    fn file_name(&self) -> &'static str;
    fn serialize(&self, analysis: &Analysis) -> Result<Vec<u8>>;
}

/// The analysis JSON (schema `twitchscope.analysis/1`).
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn file_name(&self) -> &'static str {
        "analysis.json"
    }

    fn serialize(&self, analysis: &Analysis) -> Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(analysis)?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|f| format!("{f:.3}")).unwrap_or_default()
}

/// One row per event.
pub struct EventsCsv;

impl Exporter for EventsCsv {
    fn file_name(&self) -> &'static str {
        "events.csv"
    }

    fn serialize(&self, analysis: &Analysis) -> Result<Vec<u8>> {
        let mut s =
            String::from("start_s,end_s,duration_s,side,kind,regions,freq_hz,amplitude,closure\n");
        for e in &analysis.events {
            let regions: Vec<&str> = e.regions.iter().map(|r| r.name()).collect();
            writeln!(
                s,
                "{:.3},{:.3},{:.3},{},{},{},{},{:.3},{}",
                e.start_s,
                e.end_s,
                e.duration_s(),
                e.side.name(),
                e.kind.name(),
                regions.join(";"),
                opt(e.freq_hz),
                e.amplitude,
                opt(e.closure)
            )?;
        }
        Ok(s.into_bytes())
    }
}

/// One row per spectral window, with band power per side and region.
pub struct WindowsCsv;

impl Exporter for WindowsCsv {
    fn file_name(&self) -> &'static str {
        "windows.csv"
    }

    fn serialize(&self, analysis: &Analysis) -> Result<Vec<u8>> {
        let mut s = String::from("start_s,end_s,laterality,dominant_freq_hz");
        for side in Side::BOTH {
            for r in Region::ALL {
                write!(s, ",{}_{}", side.name(), r.name())?;
            }
        }
        s.push('\n');
        for w in &analysis.windows {
            write!(
                s,
                "{:.3},{:.3},{},{}",
                w.start_s,
                w.end_s,
                w.laterality.name(),
                opt(w.dominant_freq_hz)
            )?;
            for side in Side::BOTH {
                for r in Region::ALL {
                    let v = w.band_power.get(side).get(&r).copied().unwrap_or(0.0);
                    write!(s, ",{v:.4}")?;
                }
            }
            s.push('\n');
        }
        Ok(s.into_bytes())
    }
}

/// One row for the whole session: the summary and the per-side figures of
/// the report (columns `left_*`, `right_*`, `bilateral_*`).
pub struct SessionSummaryCsv;

impl Exporter for SessionSummaryCsv {
    fn file_name(&self) -> &'static str {
        "summary.csv"
    }

    fn serialize(&self, analysis: &Analysis) -> Result<Vec<u8>> {
        use crate::clinical::{COLUMNS, jankovic_frequency, side_figures, smc_grade};
        let s = &analysis.summary;
        let mut head = String::from(
            "source,duration_s,fps,frames,face_visible_fraction,laterality,events_per_min,\
             dominant_freq_hz,blinks_per_min",
        );
        let e = &s.events_per_min;
        let mut row = format!(
            "{},{:.3},{:.3},{},{:.4},{},{:.3},{},{:.3}",
            csv_field(&analysis.source.path),
            analysis.source.duration_s,
            analysis.source.fps,
            analysis.source.frames,
            analysis.quality.face_visible_fraction,
            s.laterality.name(),
            e.left + e.right + e.bilateral,
            opt(s.dominant_freq_hz),
            s.blinks_per_min
        );
        for col in COLUMNS {
            let f = side_figures(analysis, col);
            let p = col.name();
            write!(
                head,
                ",{p}_events,{p}_events_per_min,{p}_clonic_per_min,{p}_tonic_per_min,\
                 {p}_myokymia_per_min,{p}_longest_tonic_s,{p}_narrowed_fraction,\
                 {p}_freq_median_hz,{p}_freq_min_hz,{p}_freq_max_hz,{p}_regions,\
                 {p}_synkinesis_events,{p}_brow_with_closure_events"
            )?;
            let (fm, flo, fhi) = match f.freq_hz {
                Some((m, lo, hi)) => (Some(m), Some(lo), Some(hi)),
                None => (None, None, None),
            };
            let regions: Vec<&str> = f.regions.iter().map(|r| r.name()).collect();
            write!(
                row,
                ",{},{:.3},{:.3},{:.3},{:.3},{},{:.4},{},{},{},{},{},{}",
                f.events,
                f.events_per_min,
                f.per_min_by_kind[0],
                f.per_min_by_kind[1],
                f.per_min_by_kind[2],
                opt(f.longest_tonic_s),
                f.narrowed_fraction,
                opt(fm),
                opt(flo),
                opt(fhi),
                regions.join(";"),
                f.synkinesis_events,
                f.brow_with_closure_events
            )?;
        }
        head.push_str(",smc_grade_estimate,jankovic_frequency_estimate\n");
        writeln!(
            row,
            ",{},{}",
            csv_field(&smc_grade(analysis).value),
            csv_field(&jankovic_frequency(analysis).value)
        )?;
        Ok((head + &row).into_bytes())
    }
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Where the face was out of view, in words ("the face was out of view
/// twice, 7.0 s in all: 8.0–12.0 s, 20.0–23.0 s"); `None` without a gap. At
/// most five stretches are listed by time.
pub fn face_gaps_words(a: &Analysis) -> Option<String> {
    let gaps = &a.quality.face_gaps;
    if gaps.is_empty() {
        return None;
    }
    let total: f64 = gaps.iter().map(|g| g.duration_s()).sum();
    let times = match gaps.len() {
        1 => "once".to_string(),
        2 => "twice".to_string(),
        n => format!("{n} times"),
    };
    let mut list: Vec<String> = gaps
        .iter()
        .take(5)
        .map(|g| format!("{:.1}–{:.1} s", g.start_s, g.end_s))
        .collect();
    if gaps.len() > 5 {
        list.push("…".to_string());
    }
    Some(format!(
        "the face was out of view {times}, {total:.1} s in all: {}",
        list.join(", ")
    ))
}

/// Share of the measured time with the head moving too fast to judge from
/// which a reader is told so: a talking head moves that fast now and then
/// (under a sixth of the time on our still real-face clips), but when it
/// does for a quarter of the recording or more, "no spasm" says little.
pub const HEAD_MOVING_NOTE_FRACTION: f64 = 0.25;

/// Whether the head moved too fast to judge for so much of a recording
/// (`fraction` of it, [`Quality::head_moving_fraction`]) that a reader must
/// be told: from [`HEAD_MOVING_NOTE_FRACTION`] on.
///
/// [`Quality::head_moving_fraction`]: twitchscope_engine::analysis::Quality
pub fn head_moved_much(fraction: f64) -> bool {
    fraction >= HEAD_MOVING_NOTE_FRACTION
}

/// The short form for one session among others (the trend's table, the
/// app's library): "head moving fast 60% of the time: spasms may have been
/// missed"; `None` when [`head_moved_much`] is not.
pub fn head_moved_much_words(fraction: f64) -> Option<String> {
    head_moved_much(fraction).then(|| {
        format!(
            "head moving fast {:.0}% of the time: spasms may have been missed",
            100.0 * fraction
        )
    })
}

/// How much of the recording the head moved too fast to judge, in words
/// ("the head moved quickly for 66% of the time the face was in view, and
/// no spasm is judged while it does, …");
/// `None` below [`HEAD_MOVING_NOTE_FRACTION`].
pub fn head_moving_words(a: &Analysis) -> Option<String> {
    let f = a.quality.head_moving_fraction;
    head_moved_much(f).then(|| {
        format!(
            "the head moved quickly for {:.0}% of the time the face was in view, and no spasm is \
             judged while it does, so one may have been missed then. For a self-check, rest the \
             head and keep it still",
            100.0 * f
        )
    })
}

/// A short plain-words summary for the terminal.
pub fn plain_summary(a: &Analysis) -> String {
    use twitchscope_engine::analysis::Laterality;
    let s = &a.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {:.1} s, {} frames at {:.1} fps, face visible in {:.0}% of frames",
        a.source.path,
        a.source.duration_s,
        a.source.frames,
        a.source.fps,
        100.0 * a.quality.face_visible_fraction
    );
    if let Some(cut) = &a.quality.ended_early {
        let _ = writeln!(out, "Warning: {cut}.");
    }
    if let Some(faces @ 2..) = a.source.most_faces {
        let _ = writeln!(
            out,
            "Note: up to {faces} faces were in the picture; one was followed: the largest \
             (nearest) when found, kept while others came and went."
        );
    }
    if a.quality.face_too_dark_fraction >= 0.01 {
        let _ = writeln!(
            out,
            "Warning: the face was too dark to measure in {:.0}% of the frames; those frames \
             were skipped. Add light in front of the face.",
            100.0 * a.quality.face_too_dark_fraction
        );
    }
    if let Some(gaps) = face_gaps_words(a) {
        let _ = writeln!(
            out,
            "Note: {gaps}; nothing was measured there, and rates are per minute of face in view."
        );
    }
    if let Some(moving) = head_moving_words(a) {
        let _ = writeln!(out, "Note: {moving}.");
    }
    let side_words = match s.laterality {
        Laterality::None => "No spasm detected.".to_string(),
        Laterality::Left => "Twitching on the patient's LEFT side.".to_string(),
        Laterality::Right => "Twitching on the patient's RIGHT side.".to_string(),
        Laterality::Bilateral => "Twitching on BOTH sides (bilateral).".to_string(),
    };
    let _ = writeln!(out, "{side_words}");
    let _ = writeln!(
        out,
        "Events per minute: left {:.1}, right {:.1}, bilateral {:.1}. Blinks per minute: {:.1}.",
        s.events_per_min.left, s.events_per_min.right, s.events_per_min.bilateral, s.blinks_per_min
    );
    if let Some(f) = s.dominant_freq_hz {
        let _ = writeln!(out, "Dominant twitch frequency: {f:.1} Hz.");
    }
    for side in Side::BOTH {
        let regions = s.regions.get(side);
        if !regions.is_empty() {
            let names: Vec<&str> = regions.iter().map(|r| r.name()).collect();
            let syn = if *s.synkinesis.get(side) {
                " (eye and mouth together: synkinesis)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "Regions, patient's {}: {}{}",
                side.name(),
                names.join(", "),
                syn
            );
        }
    }
    let spasms = a.events.iter().filter(|e| e.is_spasm()).count();
    let blinks = a.events.len() - spasms;
    let count = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let _ = writeln!(
        out,
        "{}, {}.",
        count(spasms, "spasm event"),
        count(blinks, "blink")
    );
    let _ = writeln!(out, "A self-recorded measurement, not a diagnosis.");
    out
}
