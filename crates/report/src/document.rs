//! The report as typst markup. Every value from outside (file names, the
//! name, treatment labels) enters as a typst string literal, never as
//! markup, so no input can break the layout.

use std::fmt::Write as _;

use twitchscope_engine::analysis::Laterality;
use twitchscope_engine::events::{EventKind, EventSide};
use twitchscope_engine::regions::Side;

use super::clinical::{
    self, COLUMNS, KINDS, SideFigures, jankovic_frequency, region_list, side_figures, smc_grade,
    step_figures, step_name,
};
use super::trend::{self, TrendPoint};
use super::{EventStrip, Paper, ReportInput, charts};

/// The treatments entered, "2026-10-01 botulinum toxin; …"; `None`
/// without any.
fn treatments_list(input: &ReportInput) -> Option<String> {
    let list: Vec<String> = input
        .treatments
        .iter()
        .map(|t| format!("{} {}", t.date.format("%Y-%m-%d"), t.label))
        .collect();
    (!list.is_empty()).then(|| list.join("; "))
}

/// A typst string literal in markup: `#"text"`.
fn lit(s: &str) -> String {
    let mut out = String::from("#\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The typst source and the files it refers to (path, bytes).
pub struct Document {
    pub source: String,
    pub files: Vec<(String, Vec<u8>)>,
}

fn per_min(v: f64) -> String {
    format!("{v:.1}")
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn duration(s: f64) -> String {
    if s >= 60.0 {
        format!("{} min {:02.0} s", (s / 60.0).floor(), s % 60.0)
    } else {
        format!("{s:.1} s")
    }
}

/// "2026-11-26 08:15" from an RFC 3339 time; other text as it is.
fn short_time(s: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.format("%Y-%m-%d %H:%M").to_string(),
        Err(_) => s.to_string(),
    }
}

/// Builds the document.
pub fn build(input: &ReportInput) -> anyhow::Result<Document> {
    let a = &input.analysis;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut d = String::new();
    let paper = match input.paper {
        Paper::A4 => "a4",
        Paper::Letter => "us-letter",
    };
    let version = env!("CARGO_PKG_VERSION");
    writeln!(
        d,
        r#"#set document(title: "Facial twitching report")
#set page(paper: "{paper}", margin: (x: 1.8cm, top: 1.6cm, bottom: 2.0cm),
  footer: context [#set text(size: 8pt); twitchscope {version} #sym.dash.em self-recorded measurement, not a diagnosis #h(1fr) page #counter(page).display("1 of 1", both: true)])
#set text(font: "Libertinus Serif", size: 10pt, lang: "en", hyphenate: false)
#set par(justify: false)
#show heading.where(level: 1): set text(size: 16pt)
#show heading.where(level: 2): set text(size: 12pt)
#show figure.caption: set text(size: 9pt)
#set table(stroke: 0.5pt, inset: 4pt)

= Facial twitching report
#block(stroke: 1.5pt, inset: 8pt, width: 100%)[*A self-recorded measurement, not a diagnosis.* The numbers come from video of the face, measured automatically by twitchscope. Clinical scale values below are *estimates* from that video and are marked as such; a neurologist makes the assessment. Sides are the patient's own: "patient's left" is the left side of the patient's face.]
"#
    )?;

    // 1. Header.
    let (recorded, source, steps_done) = match &input.session {
        Some(s) => {
            let started = short_time(&s.meta.started);
            let mut done: Vec<String> = Vec::new();
            for m in &s.steps {
                let name = step_name(&m.step);
                if !done.contains(&name) {
                    done.push(name);
                }
            }
            let steps = if done.is_empty() {
                match &s.meta.protocol {
                    Some(p) => format!("{p} protocol, no steps marked"),
                    None => "free recording (no guided protocol)".to_string(),
                }
            } else {
                done.join(", ")
            };
            (started, s.meta.source.clone(), steps)
        }
        None => (
            input.recorded.clone().unwrap_or_else(|| "unknown".into()),
            a.source.path.clone(),
            "video file (no guided protocol)".to_string(),
        ),
    };
    let recorded = input
        .recorded
        .as_deref()
        .map(short_time)
        .unwrap_or(recorded);
    let name = match &input.name {
        Some(n) if !n.trim().is_empty() => lit(n.trim()),
        _ => "#box(width: 6cm, stroke: (bottom: 0.5pt))[#v(0.9em)]".to_string(),
    };
    writeln!(
        d,
        "#table(columns: (auto, 1fr, auto, 1fr), stroke: none, inset: (x: 3pt, y: 2.5pt),
  [*Name*], [{name}], [*Recorded*], [{}],
  [*Duration*], [{}], [*Camera / file*], [{}],
  [*Frame rate*], [{:.1} frames/s], [*Resolution*], [{} × {}],
  [*Face visible*], [{:.0}% of frames], [*Protocol steps*], [{}],
)",
        lit(&recorded),
        duration(a.source.duration_s),
        lit(&source),
        a.source.fps,
        a.source.width,
        a.source.height,
        100.0 * a.quality.face_visible_fraction,
        lit(&steps_done),
    )?;
    if let Some(cut) = &a.quality.ended_early {
        writeln!(d, "\n*Warning:* {}.\n", lit(&cut.to_string()))?;
    }
    if let Some(list) = treatments_list(input) {
        writeln!(d, "\n*Treatments:* {}\n", lit(&list))?;
    }
    if let Some(gaps) = crate::export::face_gaps_words(a) {
        // The semicolon inside the literal: after `#"…"` Typst would take
        // it as the end of the expression.
        let text = format!(
            "{gaps}; nothing was measured there, and rates are per minute of face in view."
        );
        writeln!(d, "\n*Note:* {}\n", lit(&text))?;
    }
    if let Some(moving) = crate::export::head_moving_words(a) {
        writeln!(d, "\n*Note:* {}\n", lit(&format!("{moving}.")))?;
    }

    // 2. Summary.
    let s = &a.summary;
    let spasms: Vec<_> = a.events.iter().filter(|e| e.is_spasm()).collect();
    let total_per_min = s.events_per_min.left + s.events_per_min.right + s.events_per_min.bilateral;
    writeln!(d, "== Summary")?;
    let headline = match s.laterality {
        Laterality::None => {
            "*No spasm detected.* No twitching of either side was found in this recording."
                .to_string()
        }
        Laterality::Left => "Twitching on the *patient's left* side (one-sided).".to_string(),
        Laterality::Right => "Twitching on the *patient's right* side (one-sided).".to_string(),
        Laterality::Bilateral => "Twitching on *both sides (bilateral)*.".to_string(),
    };
    writeln!(d, "- {headline}")?;
    if !spasms.is_empty() {
        for side in Side::BOTH {
            let regions = s.regions.get(side);
            if !regions.is_empty() {
                let syn = if *s.synkinesis.get(side) {
                    "; eye and mouth corner contract together (synkinesis)"
                } else {
                    ""
                };
                writeln!(
                    d,
                    "- Regions, patient's {}: {}{syn}.",
                    side.name(),
                    region_list(regions)
                )?;
            }
        }
        writeln!(
            d,
            "- {} spasm events per minute ({} in {}): patient's left {}, patient's right {}, both sides together {}.",
            per_min(total_per_min),
            plural(spasms.len(), "event"),
            if a.quality.face_gaps.is_empty() {
                duration(a.source.duration_s)
            } else {
                format!("{} with the face in view", duration(a.observed_s()))
            },
            per_min(s.events_per_min.left),
            per_min(s.events_per_min.right),
            per_min(s.events_per_min.bilateral),
        )?;
        let share = |k: EventKind| {
            100.0 * spasms.iter().filter(|e| e.kind == k).count() as f64 / spasms.len() as f64
        };
        writeln!(
            d,
            "- Kind of events: clonic (brief twitches) {:.0}%, tonic (sustained) {:.0}%, myokymia (fine ripple) {:.0}%.",
            share(EventKind::Clonic),
            share(EventKind::Tonic),
            share(EventKind::Myokymia)
        )?;
        match s.dominant_freq_hz {
            Some(f) => writeln!(d, "- Dominant twitch frequency: {f:.1} Hz.")?,
            None => writeln!(
                d,
                "- Dominant twitch frequency: no repetitive rhythm measured."
            )?,
        }
    }
    let blink_note = if s.blinks_per_min > clinical::HIGH_BLINK_RATE {
        " (above 27 per minute, more than a usual resting rate)"
    } else {
        ""
    };
    writeln!(
        d,
        "- Blink rate: {} blinks per minute{blink_note}. Blinks are counted separately and are never counted as spasms.",
        per_min(s.blinks_per_min)
    )?;

    // 3. Per-side table.
    let figs: Vec<SideFigures> = COLUMNS.iter().map(|c| side_figures(a, *c)).collect();
    writeln!(d, "\n== Per side")?;
    writeln!(
        d,
        "#table(columns: (2.2fr, 1fr, 1fr, 1fr), align: (left, right, right, right),
  table.header([*Measure*], [*Patient's left*], [*Patient's right*], [*Both sides together*]),"
    )?;
    let row = |d: &mut String, label: &str, cells: Vec<String>| -> std::fmt::Result {
        write!(d, "  [{label}]")?;
        for c in cells {
            write!(d, ", [{c}]")?;
        }
        writeln!(d, ",")
    };
    row(
        &mut d,
        "Spasm events",
        figs.iter().map(|f| f.events.to_string()).collect(),
    )?;
    row(
        &mut d,
        "Spasm events per minute",
        figs.iter().map(|f| per_min(f.events_per_min)).collect(),
    )?;
    for (i, k) in KINDS.iter().enumerate() {
        row(
            &mut d,
            &format!("#h(1em) {} per minute", k.name()),
            figs.iter().map(|f| per_min(f.per_min_by_kind[i])).collect(),
        )?;
    }
    row(
        &mut d,
        "Longest tonic spasm",
        figs.iter()
            .map(|f| {
                f.longest_tonic_s
                    .map(|v| format!("{v:.1} s"))
                    .unwrap_or("none".into())
            })
            .collect(),
    )?;
    row(
        &mut d,
        "Time with the eye narrowed (estimate)",
        figs.iter()
            .map(|f| format!("{:.0}%", 100.0 * f.narrowed_fraction))
            .collect(),
    )?;
    row(
        &mut d,
        "Dominant frequency, median (range)",
        figs.iter()
            .map(|f| match f.freq_hz {
                Some((m, lo, hi)) if hi - lo >= 0.05 => format!("{m:.1} Hz ({lo:.1}–{hi:.1})"),
                Some((m, _, _)) => format!("{m:.1} Hz"),
                None => "none".into(),
            })
            .collect(),
    )?;
    row(
        &mut d,
        "Regions involved",
        figs.iter()
            .map(|f| {
                if f.events == 0 {
                    "none".into()
                } else {
                    region_list(&f.regions)
                }
            })
            .collect(),
    )?;
    let of = |n: usize, f: &SideFigures| {
        if f.events == 0 {
            "none".to_string()
        } else {
            format!("{n} of {}", f.events)
        }
    };
    row(
        &mut d,
        "Eye and mouth together (synkinesis), events",
        figs.iter().map(|f| of(f.synkinesis_events, f)).collect(),
    )?;
    row(
        &mut d,
        "Brow lift with eye closure, events",
        figs.iter()
            .map(|f| of(f.brow_with_closure_events, f))
            .collect(),
    )?;
    writeln!(d, ")")?;
    writeln!(
        d,
        "#text(size: 8.5pt)[\"Both sides together\" counts events in which both sides twitched at once (not blinks). Time with the eye narrowed is an estimate: the time inside tonic spasms and inside events whose eye closure reached at least {:.0}% of the resting opening.]",
        100.0 * clinical::NARROWED_CLOSURE
    )?;

    // 7. Estimates (kept near the table).
    let smc = smc_grade(a);
    let jrs = jankovic_frequency(a);
    writeln!(
        d,
        "\n== Estimates (not a diagnosis)
#table(columns: (auto, auto, 1fr), align: left,
  table.header([*Scale item*], [*Estimate*], [*Why*]),
  [SMC grade (hemifacial spasm)], [*{}* (estimate)], [{}],
  [Jankovic frequency item (0–4)], [*{}* (estimate)], [{}],
)
#text(size: 8.5pt)[*Rules used.* {} {}]",
        lit(&smc.value),
        lit(&smc.reason),
        lit(&jrs.value),
        lit(&jrs.reason),
        lit(smc.rule),
        lit(jrs.rule)
    )?;

    // 4. Charts.
    writeln!(d, "\n== Over time")?;
    let mut chart = |d: &mut String,
                     name: &str,
                     svg: Option<String>,
                     caption: &str,
                     empty: &str|
     -> std::fmt::Result {
        match svg {
            Some(svg) => {
                let path = format!("/charts/{name}.svg");
                writeln!(
                    d,
                    "#figure(image({}, width: 100%), caption: [{}])",
                    &lit(&path)[1..],
                    caption
                )?;
                files.push((path, svg.into_bytes()));
            }
            None => writeln!(d, "#block(stroke: 0.5pt, inset: 8pt, width: 100%)[{empty}]")?,
        }
        Ok(())
    };
    chart(
        &mut d,
        "timeline",
        charts::timeline(a)?,
        "Laterality over time (top: which side was active in each analysis window) and every event (bottom).",
        "*No events*: no spasm and no blink was detected, so there is no event timeline.",
    )?;
    chart(
        &mut d,
        "activity",
        charts::activity(a)?,
        if a.quality.face_gaps.is_empty() {
            "Activity over time per side and region (L = patient's left, R = patient's right): height is the strength of motion in the twitch band."
        } else {
            "Activity over time per side and region (L = patient's left, R = patient's right): height is the strength of motion in the twitch band; light bands: no face in view, nothing measured."
        },
        "*No activity to chart*: no motion was measured.",
    )?;
    chart(
        &mut d,
        "frequency",
        charts::frequency(a)?,
        "Twitch frequency over time over the spectrogram of each eye (darker = stronger rhythm): black squares = frequency of each spasm event (these give the summary's dominant frequency); open circles = strongest rhythm of each analysis window.",
        "*No events with a rhythm*: no dominant twitch frequency was measured, so no frequency chart is drawn.",
    )?;

    // Rest versus provocation.
    writeln!(d, "\n== Rest versus provocation")?;
    let steps = input
        .session
        .as_ref()
        .map(|s| step_figures(a, &s.steps))
        .unwrap_or_default();
    if steps.is_empty() {
        writeln!(
            d,
            "The guided protocol was not used in this recording, so rest and provocation (mouth pursing, smiling, forceful closure) cannot be compared."
        )?;
    } else {
        writeln!(
            d,
            "#table(columns: (2fr, 1fr, 1fr, 1fr, 1fr), align: (left, left, right, right, right),
  table.header([*Step*], [*Type*], [*Length*], [*Spasm events per minute*], [*Blinks per minute*]),"
        )?;
        for st in &steps {
            writeln!(
                d,
                "  [{}], [{}], [{:.0} s], [{}], [{}],",
                lit(&step_name(&st.step)),
                if st.rest { "rest" } else { "provocation" },
                st.end_s - st.start_s,
                per_min(st.events_per_min),
                per_min(st.blinks_per_min)
            )?;
        }
        writeln!(d, ")")?;
        chart(
            &mut d,
            "steps",
            charts::steps(&steps)?,
            "Spasm events per minute in each protocol step (white bars = rest, grey bars = provocation).",
            "*No steps to chart.*",
        )?;
    }

    // 5. Trend.
    let current = input
        .session
        .as_ref()
        .map(|s| s.meta.started.clone())
        .or_else(|| input.recorded.clone())
        .and_then(|d| TrendPoint::from_analysis(&d, a));
    let points = trend::series(&input.history, current);
    if points.len() >= trend::MIN_SESSIONS {
        writeln!(d, "\n#pagebreak()\n== Trend across sessions")?;
        let caption = format!(
            "Spasm events per minute and dominant frequency per session; dotted vertical lines \
             mark treatments; an open circle marks a session in which the head moved fast for \
             {:.0}% of the time or more.",
            100.0 * crate::export::HEAD_MOVING_NOTE_FRACTION
        );
        chart(
            &mut d,
            "trend",
            charts::trend(&points, &input.treatments)?,
            &caption,
            "*No sessions to chart.*",
        )?;
        writeln!(
            d,
            "#table(columns: (auto, auto, auto, 1fr), align: (left, right, right, left),
  table.header([*Date*], [*Spasm events per minute*], [*Dominant frequency*], [*Note*]),"
        )?;
        for p in &points {
            let notes: Vec<String> = input
                .treatments
                .iter()
                .filter(|t| t.date == p.day)
                .map(|t| format!("treatment: {}", t.label))
                .chain(p.current.then(|| "this recording".to_string()))
                .chain(crate::export::head_moved_much_words(p.head_moving_fraction))
                .collect();
            writeln!(
                d,
                "  [{}], [{}], [{}], [{}],",
                p.day.format("%Y-%m-%d"),
                per_min(p.events_per_min),
                p.dominant_freq_hz
                    .map(|f| format!("{f:.1} Hz"))
                    .unwrap_or("none".into()),
                lit(&notes.join("; "))
            )?;
        }
        writeln!(d, ")")?;
        if let Some(list) = treatments_list(input) {
            writeln!(d, "Treatments entered by the user: {}.", lit(&list))?;
        }
    } else {
        writeln!(
            d,
            "\n== Trend across sessions\n{} with a summary so far (this one included); the trend chart appears from {} sessions on.",
            plural(points.len(), "session"),
            trend::MIN_SESSIONS
        )?;
    }

    // 6. Representative events.
    writeln!(d, "\n== Representative events")?;
    if input.strips.is_empty() {
        let why = match &input.session {
            Some(s) if !s.meta.video_saved => {
                "Video was not saved with this recording (only the measurements were kept), so no images of events can be shown."
            }
            _ if spasms.is_empty() => "No spasm events, so no event images.",
            _ => "No event images are available for this recording.",
        };
        writeln!(d, "{why}")?;
    } else {
        for (i, strip) in input.strips.iter().enumerate() {
            let mut cells = Vec::new();
            for (k, (img, t)) in strip.images.iter().zip(strip.times_s).enumerate() {
                let path = format!("/strips/{i}-{k}.png");
                let word = ["before", "at the peak", "after"][k];
                cells.push(format!(
                    "figure(image({}, width: 100%), caption: [{word}, {t:.1} s], supplement: none, numbering: none)",
                    &lit(&path)[1..]
                ));
                files.push((path, img.clone()));
            }
            writeln!(
                d,
                "#block(breakable: false)[*{}*\n#grid(columns: (1fr, 1fr, 1fr), gutter: 6pt, {})]",
                lit(&strip.label),
                cells.join(", ")
            )?;
            closeup_block(&mut d, &mut files, i, strip)?;
        }
    }
    Ok(Document { source: d, files })
}

/// The close-up of both eyes under an event's face strip: before and after
/// on the first row, the peak and the magnified peak side by side on the
/// second, each picture with the patient's sides written on it; or a note
/// saying why there is no close-up.
fn closeup_block(
    d: &mut String,
    files: &mut Vec<(String, Vec<u8>)>,
    i: usize,
    strip: &EventStrip,
) -> anyhow::Result<()> {
    let c = match &strip.closeup {
        Ok(c) => c,
        Err(why) => {
            writeln!(d, "_No close-up of the eyes for this event: {}._", lit(why))?;
            return Ok(());
        }
    };
    // Image-left is the patient's right (the pictures are not mirrored).
    let (right_mark, left_mark) = match c.side {
        EventSide::Left => ("", ", twitching"),
        EventSide::Right => (", twitching", ""),
        _ => ("", ""),
    };
    let mut cell = |name: &str, png: &[u8], caption: String| -> String {
        let path = format!("/closeups/{i}-{name}.png");
        files.push((path.clone(), png.to_vec()));
        format!(
            "figure([#image({}, width: 100%)\
             #v(-8pt)#grid(columns: (1fr, 1fr), align(left, text(size: 7pt)[{}]), align(right, text(size: 7pt)[{}]))], \
             caption: [{caption}], supplement: none, numbering: none)",
            &lit(&path)[1..],
            lit(&format!("patient's right{right_mark}")),
            lit(&format!("patient's left{left_mark}")),
        )
    };
    let cells = [
        cell(
            "before",
            &c.images[0],
            format!("before, {:.2} s", c.times_s[0]),
        ),
        cell(
            "after",
            &c.images[2],
            format!("after, {:.2} s", c.times_s[2]),
        ),
        cell(
            "peak",
            &c.images[1],
            format!("at the peak, {:.2} s", c.times_s[1]),
        ),
        cell(
            "magnified",
            &c.magnified,
            format!(
                "*magnified ×{:.0}*: the same peak frame, motion at {:.0}–{:.0} Hz shown {:.0} times larger (a picture, not a measurement)",
                c.magnification, c.band_hz.0, c.band_hz.1, c.magnification
            ),
        ),
    ];
    writeln!(
        d,
        "#block(breakable: false)[_Both eyes up close, following the face._\n#grid(columns: (1fr, 1fr), gutter: 6pt, {})]",
        cells.join(", ")
    )?;
    Ok(())
}
