//! Charts as SVG strings (plotters' SVG backend). Every chart is readable
//! in black and white: lanes, fills from white through grey to black,
//! outlines, dash styles and marker shapes carry the meaning, never colour
//! alone. A chart with nothing to show is not drawn: each builder returns
//! `None` and the document says so in words.

use std::sync::OnceLock;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use twitchscope_engine::analysis::{Analysis, Laterality};
use twitchscope_engine::events::{EventKind, EventSide};
use twitchscope_engine::regions::{Region, Side};

use super::clinical::{StepFigures, region_name, step_name};
use super::trend::TrendPoint;

/// The chart font: embedded with typst's assets, so the same family is
/// found again when the SVG is laid into the PDF.
pub const FONT: &str = "DejaVu Sans Mono";
const TEXT: f64 = 15.0;
/// Chart width in SVG pixels (drawn at the text width of the page).
pub const WIDTH: u32 = 960;

const GREY: RGBColor = RGBColor(150, 150, 150);
const LIGHT: RGBColor = RGBColor(215, 215, 215);
const FAINT: RGBColor = RGBColor(236, 236, 236);

/// Registers the chart font with plotters once.
fn ensure_font() -> Result<()> {
    static OK: OnceLock<bool> = OnceLock::new();
    let ok = *OK.get_or_init(|| {
        let mut ok = false;
        for data in typst_assets::fonts() {
            let bytes = typst::foundations::Bytes::new(data);
            let Some(font) = typst::text::Font::new(bytes, 0) else {
                continue;
            };
            let info = font.info();
            if info.family != FONT {
                continue;
            }
            let style = match (
                info.variant.weight.to_number() >= 600,
                info.variant.style != typst::text::FontStyle::Normal,
            ) {
                (false, false) => FontStyle::Normal,
                (true, false) => FontStyle::Bold,
                (false, true) => FontStyle::Oblique,
                (true, true) => continue,
            };
            ok |= plotters::style::register_font(FONT, style, data).is_ok();
        }
        ok
    });
    if ok {
        Ok(())
    } else {
        Err(anyhow!(
            "the chart font {FONT} is missing from the embedded fonts"
        ))
    }
}

fn font(size: f64) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing a chart: {e:?}")
}

/// Draws into a fresh SVG of `height` pixels.
fn svg(
    height: u32,
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<()>,
) -> Result<String> {
    ensure_font()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)?;
    }
    Ok(out)
}

fn side_word(side: Side) -> &'static str {
    side.patient_label()
}

/// Activity (band power of each region's vertical motion) over time, one
/// lane per side and region, filled grey under a black outline.
pub fn activity(a: &Analysis) -> Result<Option<String>> {
    if a.windows.is_empty() {
        return Ok(None);
    }
    let lanes: Vec<(Side, Region)> = Side::BOTH
        .into_iter()
        .flat_map(|s| Region::ALL.into_iter().map(move |r| (s, r)))
        .collect();
    let value = |w: &twitchscope_engine::analysis::Window, (s, r): (Side, Region)| {
        w.band_power
            .get(s)
            .get(&r)
            .copied()
            .unwrap_or(0.0)
            .max(0.0)
            .sqrt()
    };
    let max = a
        .windows
        .iter()
        .flat_map(|w| lanes.iter().map(move |l| value(w, *l)))
        .fold(0.0f64, f64::max);
    if max <= 0.0 {
        return Ok(None);
    }
    let t_end = a.source.duration_s.max(1.0);
    let n = lanes.len();
    let svg = svg(420, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(8)
            .margin_right(36)
            .x_label_area_size(40)
            .y_label_area_size(270)
            .build_cartesian_2d(0.0..t_end, -0.6f64..(n as f64 - 0.4))
            .map_err(err)?;
        let label = |y: &f64| {
            let i = y.round() as i64;
            if (y - i as f64).abs() > 0.01 || i < 0 || i >= n as i64 {
                return String::new();
            }
            let (s, r) = lanes[n - 1 - i as usize];
            format!("{} {}", short_side(s), region_name(r))
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("time (s)")
            .y_labels(n * 2 + 1)
            .y_label_formatter(&label)
            .label_style(font(TEXT))
            .axis_desc_style(font(TEXT))
            .light_line_style(WHITE)
            .draw()
            .map_err(err)?;
        chart
            .draw_series(gap_bands(a, -0.6, n as f64 - 0.4))
            .map_err(err)?;
        for (i, lane) in lanes.iter().enumerate() {
            let base = (n - 1 - i) as f64 - 0.42;
            let mut pts = vec![(a.windows[0].start_s.max(0.0), base)];
            for w in &a.windows {
                pts.push((
                    (w.start_s + w.end_s) / 2.0,
                    base + 0.84 * value(w, *lane) / max,
                ));
            }
            pts.push((a.windows.last().map(|w| w.end_s).unwrap_or(t_end), base));
            chart
                .draw_series(std::iter::once(Polygon::new(pts.clone(), GREY.filled())))
                .map_err(err)?;
            chart
                .draw_series(LineSeries::new(pts, BLACK.stroke_width(1)))
                .map_err(err)?;
            if i == Region::COUNT {
                chart
                    .draw_series(LineSeries::new(
                        vec![(0.0, base + 0.92), (t_end, base + 0.92)],
                        BLACK.stroke_width(2),
                    ))
                    .map_err(err)?;
            }
        }
        Ok(())
    })?;
    Ok(Some(svg))
}

fn short_side(s: Side) -> &'static str {
    match s {
        Side::Left => "L",
        Side::Right => "R",
    }
}

/// The eye spectrogram of each side (white = quiet, black = strong) with
/// the dominant frequency of each window as open circles.
pub fn frequency(a: &Analysis) -> Result<Option<String>> {
    let sg = &a.spectrogram;
    let has_freq = a.windows.iter().any(|w| w.dominant_freq_hz.is_some());
    if sg.times_s.is_empty() || sg.freqs_hz.len() < 2 || !has_freq {
        return Ok(None);
    }
    let max = sg
        .left
        .iter()
        .chain(&sg.right)
        .flatten()
        .fold(0.0f32, |m, v| m.max(*v))
        .max(1e-12);
    let f_lo = sg.freqs_hz[0];
    let f_hi = *sg.freqs_hz.last().unwrap_or(&f_lo);
    let df = (f_hi - f_lo) / (sg.freqs_hz.len() - 1) as f64;
    let dt = if sg.times_s.len() > 1 {
        sg.times_s[1] - sg.times_s[0]
    } else {
        1.0
    };
    let t_end = a.source.duration_s.max(1.0);
    let svg = svg(520, |root| {
        let panels = root.split_evenly((2, 1));
        for (panel, side) in panels.iter().zip(Side::BOTH) {
            let power = match side {
                Side::Left => &sg.left,
                Side::Right => &sg.right,
            };
            let mut chart = ChartBuilder::on(panel)
                .margin(6)
                .margin_right(36)
                .caption(format!("{} eye", side_word(side)), font(TEXT + 1.0))
                .x_label_area_size(36)
                .y_label_area_size(70)
                .build_cartesian_2d(0.0..t_end, (f_lo - df / 2.0)..(f_hi + df / 2.0))
                .map_err(err)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc("time (s)")
                .y_desc("Hz")
                .label_style(font(TEXT))
                .axis_desc_style(font(TEXT))
                .draw()
                .map_err(err)?;
            let cells = sg.times_s.iter().zip(power).flat_map(|(t, row)| {
                row.iter().zip(&sg.freqs_hz).map(move |(p, f)| {
                    let g = 255.0 - 230.0 * (*p / max).max(0.0).sqrt();
                    let g = g.clamp(0.0, 255.0) as u8;
                    Rectangle::new(
                        [(t - dt / 2.0, f - df / 2.0), (t + dt / 2.0, f + df / 2.0)],
                        RGBColor(g, g, g).filled(),
                    )
                })
            });
            chart.draw_series(cells).map_err(err)?;
            let dots = a.windows.iter().filter_map(|w| {
                let f = w.dominant_freq_hz?;
                let here = matches!(
                    (w.laterality, side),
                    (Laterality::Bilateral, _)
                        | (Laterality::Left, Side::Left)
                        | (Laterality::Right, Side::Right)
                );
                here.then_some(((w.start_s + w.end_s) / 2.0, f))
            });
            let squares = a.events.iter().filter_map(|e| {
                let f = e.freq_hz?;
                let here = e.is_spasm() && e.side.involves(side);
                here.then_some(((e.start_s + e.end_s) / 2.0, f))
            });
            for (t, f) in squares {
                chart
                    .draw_series([Rectangle::new(
                        [
                            (t - t_end / 160.0, f - df * 0.9),
                            (t + t_end / 160.0, f + df * 0.9),
                        ],
                        BLACK.filled(),
                    )])
                    .map_err(err)?;
            }
            for (t, f) in dots {
                chart
                    .draw_series([
                        Circle::new((t, f), 5, WHITE.filled()),
                        Circle::new((t, f), 5, BLACK.stroke_width(2)),
                    ])
                    .map_err(err)?;
            }
        }
        Ok(())
    })?;
    Ok(Some(svg))
}

/// Laterality of each window (top) and every event as a bar on its row
/// (bottom): clonic solid black, tonic grey with outline, myokymia white
/// with outline, blinks thin ticks.
pub fn timeline(a: &Analysis) -> Result<Option<String>> {
    if a.events.is_empty() {
        return Ok(None);
    }
    let t_end = a.source.duration_s.max(1.0);
    let svg = svg(400, |root| {
        let (top, bottom) = root.split_vertically(150);
        let fmt = row_labels(&["right", "both", "left"]);
        let mut lat = ChartBuilder::on(&top)
            .margin(6)
            .margin_right(36)
            .caption("laterality of each analysis window", font(TEXT))
            .x_label_area_size(0)
            .y_label_area_size(90)
            .build_cartesian_2d(0.0..t_end, -0.6f64..2.6)
            .map_err(err)?;
        lat.configure_mesh()
            .disable_x_mesh()
            .y_labels(13)
            .y_label_formatter(&fmt)
            .label_style(font(TEXT))
            .light_line_style(WHITE)
            .bold_line_style(LIGHT)
            .draw()
            .map_err(err)?;
        lat.draw_series(gap_bands(a, -0.6, 2.6)).map_err(err)?;
        let blocks = a.windows.iter().filter_map(|w| {
            let row = match w.laterality {
                Laterality::None => return None,
                Laterality::Right => 0.0,
                Laterality::Bilateral => 1.0,
                Laterality::Left => 2.0,
            };
            let mid = (w.start_s + w.end_s) / 2.0;
            let half = a
                .windows
                .get(1)
                .map(|w1| (w1.start_s - a.windows[0].start_s) / 2.0)
                .unwrap_or(0.25);
            Some(Rectangle::new(
                [(mid - half, row - 0.35), (mid + half, row + 0.35)],
                BLACK.filled(),
            ))
        });
        lat.draw_series(blocks).map_err(err)?;
        if a.windows.iter().all(|w| w.laterality == Laterality::None) {
            lat.draw_series(std::iter::once(Text::new(
                "no spasm in any window",
                (t_end * 0.36, 1.3),
                font(TEXT),
            )))
            .map_err(err)?;
        }

        let fmt = row_labels(&["blinks", "right", "both", "left"]);
        let mut ras = ChartBuilder::on(&bottom)
            .margin(6)
            .margin_right(36)
            .caption(
                format!(
                    "events: clonic = black, tonic = grey, myokymia = white box, blink = tick{}{}",
                    if a.quality.face_gaps.is_empty() {
                        ""
                    } else {
                        "; light band = no face"
                    },
                    if a.quality.head_moving.is_empty() {
                        ""
                    } else {
                        "; faint band = head moving fast"
                    }
                ),
                font(TEXT),
            )
            .x_label_area_size(40)
            .y_label_area_size(90)
            .build_cartesian_2d(0.0..t_end, -0.6f64..3.6)
            .map_err(err)?;
        ras.configure_mesh()
            .disable_x_mesh()
            .x_desc("time (s)")
            .y_labels(17)
            .y_label_formatter(&fmt)
            .label_style(font(TEXT))
            .axis_desc_style(font(TEXT))
            .light_line_style(WHITE)
            .bold_line_style(LIGHT)
            .draw()
            .map_err(err)?;
        ras.draw_series(moving_bands(a, -0.6, 3.6)).map_err(err)?;
        ras.draw_series(gap_bands(a, -0.6, 3.6)).map_err(err)?;
        for e in &a.events {
            let row = match (e.kind, e.side) {
                (EventKind::Blink, _) => 0.0,
                (_, EventSide::Right) => 1.0,
                (_, EventSide::Bilateral) => 2.0,
                (_, EventSide::Left) => 3.0,
            };
            let (x0, x1) = (e.start_s, e.end_s.max(e.start_s + t_end / 400.0));
            let shapes: Vec<Rectangle<(f64, f64)>> = match e.kind {
                EventKind::Blink => vec![Rectangle::new(
                    [(x0, row - 0.3), (x0 + t_end / 600.0, row + 0.3)],
                    BLACK.filled(),
                )],
                EventKind::Clonic => vec![Rectangle::new(
                    [(x0, row - 0.35), (x1, row + 0.35)],
                    BLACK.filled(),
                )],
                EventKind::Tonic => vec![
                    Rectangle::new([(x0, row - 0.35), (x1, row + 0.35)], GREY.filled()),
                    Rectangle::new([(x0, row - 0.35), (x1, row + 0.35)], BLACK.stroke_width(2)),
                ],
                EventKind::Myokymia => vec![
                    Rectangle::new([(x0, row - 0.25), (x1, row + 0.25)], WHITE.filled()),
                    Rectangle::new([(x0, row - 0.25), (x1, row + 0.25)], BLACK.stroke_width(2)),
                ],
            };
            ras.draw_series(shapes).map_err(err)?;
        }
        Ok(())
    })?;
    Ok(Some(svg))
}

/// Light bands over the stretches without a face, from `y0` to `y1`:
/// nothing was measured there, which an empty row would not tell.
fn gap_bands(a: &Analysis, y0: f64, y1: f64) -> impl Iterator<Item = Rectangle<(f64, f64)>> + '_ {
    a.quality
        .face_gaps
        .iter()
        .map(move |g| Rectangle::new([(g.start_s, y0), (g.end_s, y1)], LIGHT.filled()))
}

/// Faint bands over the stretches where the head moved too fast for a
/// spasm to be judged (brief slower moments inside included), fainter than
/// the face gaps: the face was measured there.
fn moving_bands(
    a: &Analysis,
    y0: f64,
    y1: f64,
) -> impl Iterator<Item = Rectangle<(f64, f64)>> + '_ {
    a.quality
        .head_moving
        .iter()
        .map(move |g| Rectangle::new([(g.start_s, y0), (g.end_s, y1)], FAINT.filled()))
}

/// Spasm events per minute in each protocol step: rest steps white,
/// provocation steps grey, both outlined, the value written at the bar.
pub fn steps(steps: &[StepFigures]) -> Result<Option<String>> {
    if steps.is_empty() {
        return Ok(None);
    }
    let n = steps.len();
    let max = steps
        .iter()
        .map(|s| s.events_per_min)
        .fold(0.0f64, f64::max)
        .max(1.0)
        * 1.25;
    let height = 60 + 44 * n as u32;
    let svg = svg(height, |root| {
        let fmt = |y: &f64| {
            let i = y.round();
            if (y - i).abs() > 0.01 || i < 0.0 || i >= n as f64 {
                String::new()
            } else {
                let s = &steps[n - 1 - i as usize];
                format!(
                    "{} ({})",
                    step_name(&s.step),
                    if s.rest { "rest" } else { "provocation" }
                )
            }
        };
        let mut chart = ChartBuilder::on(root)
            .margin(8)
            .margin_right(36)
            .x_label_area_size(40)
            .y_label_area_size(330)
            .build_cartesian_2d(0.0..max, -0.6f64..(n as f64 - 0.4))
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("spasm events per minute")
            .y_labels(n * 2 + 1)
            .y_label_formatter(&fmt)
            .label_style(font(TEXT))
            .axis_desc_style(font(TEXT))
            .light_line_style(WHITE)
            .bold_line_style(LIGHT)
            .draw()
            .map_err(err)?;
        for (i, s) in steps.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let fill = if s.rest { WHITE } else { GREY };
            let v = s.events_per_min;
            chart
                .draw_series([
                    Rectangle::new([(0.0, y - 0.32), (v, y + 0.32)], fill.filled()),
                    Rectangle::new([(0.0, y - 0.32), (v, y + 0.32)], BLACK.stroke_width(2)),
                ])
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("{v:.1}"),
                    (v + max * 0.01, y + 0.2),
                    font(TEXT),
                )))
                .map_err(err)?;
        }
        Ok(())
    })?;
    Ok(Some(svg))
}

/// Events per minute (solid line, filled circles) and dominant frequency
/// (dashed line, open triangles) per session over dates, treatments as
/// dotted vertical lines with their label.
pub fn trend(points: &[TrendPoint], treatments: &[super::Treatment]) -> Result<Option<String>> {
    if points.len() < 2 {
        return Ok(None);
    }
    let day0 = points
        .iter()
        .map(|p| p.day)
        .chain(treatments.iter().map(|t| t.date))
        .min()
        .unwrap_or(points[0].day);
    let x = |d: chrono::NaiveDate| (d - day0).num_days() as f64;
    let last = points
        .iter()
        .map(|p| p.day)
        .chain(treatments.iter().map(|t| t.date))
        .max()
        .unwrap_or(day0);
    let span = x(last).max(1.0);
    let (x0, x1) = (-0.06 * span - 0.5, span * 1.06 + 0.5);
    let date_fmt = move |v: &f64| {
        (day0 + chrono::Days::new(v.round().max(0.0) as u64))
            .format("%Y-%m-%d")
            .to_string()
    };
    let svg = svg(560, |root| {
        let panels = root.split_evenly((2, 1));
        // Events per minute.
        let max_e = points
            .iter()
            .map(|p| p.events_per_min)
            .fold(0.0f64, f64::max)
            .max(1.0)
            * 1.2;
        let freqs: Vec<(f64, f64)> = points
            .iter()
            .filter_map(|p| p.dominant_freq_hz.map(|f| (x(p.day), f)))
            .collect();
        let max_f = freqs.iter().map(|p| p.1).fold(0.0f64, f64::max).max(1.0) * 1.25;
        for (k, panel) in panels.iter().enumerate() {
            let (ymax, desc, caption) = if k == 0 {
                (
                    max_e,
                    "events / min",
                    if points.iter().any(TrendPoint::head_moved_much) {
                        "spasm events per minute (solid line, filled circles; open circle: \
                         head moving fast, spasms may be missed)"
                    } else {
                        "spasm events per minute (solid line, filled circles)"
                    },
                )
            } else {
                (
                    max_f,
                    "Hz",
                    "dominant twitch frequency (dashed line, open triangles)",
                )
            };
            let mut chart = ChartBuilder::on(panel)
                .margin(8)
                .margin_right(36)
                .caption(caption, font(TEXT))
                .x_label_area_size(40)
                .y_label_area_size(80)
                .build_cartesian_2d(x0..x1, 0.0..ymax)
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_labels(5)
                .x_label_formatter(&date_fmt)
                .y_desc(desc)
                .label_style(font(TEXT))
                .axis_desc_style(font(TEXT))
                .light_line_style(WHITE)
                .bold_line_style(LIGHT)
                .draw()
                .map_err(err)?;
            for t in treatments {
                let tx = x(t.date);
                chart
                    .draw_series(DottedLineSeries::new(
                        vec![(tx, 0.0), (tx, ymax * 0.86)],
                        2,
                        6,
                        |c| Circle::new(c, 1, BLACK.filled()),
                    ))
                    .map_err(err)?;
                chart
                    .draw_series(std::iter::once(Text::new(
                        t.label.clone(),
                        (tx, ymax * 0.97),
                        font(TEXT - 1.0),
                    )))
                    .map_err(err)?;
            }
            if k == 0 {
                let pts: Vec<(f64, f64)> = points
                    .iter()
                    .map(|p| (x(p.day), p.events_per_min))
                    .collect();
                chart
                    .draw_series(LineSeries::new(pts.clone(), BLACK.stroke_width(2)))
                    .map_err(err)?;
                // A session whose head moved fast much of the time is drawn
                // open: its low count may be the head's doing.
                for (p, point) in pts.iter().zip(points) {
                    let fill = if point.head_moved_much() {
                        WHITE
                    } else {
                        BLACK
                    };
                    chart
                        .draw_series([
                            Circle::new(*p, 6, fill.filled()),
                            Circle::new(*p, 6, BLACK.stroke_width(2)),
                        ])
                        .map_err(err)?;
                }
            } else if freqs.is_empty() {
                chart
                    .draw_series(std::iter::once(Text::new(
                        "no dominant frequency in any session",
                        (x0 + (x1 - x0) * 0.3, ymax * 0.5),
                        font(TEXT),
                    )))
                    .map_err(err)?;
            } else {
                chart
                    .draw_series(DashedLineSeries::new(
                        freqs.clone(),
                        10,
                        6,
                        BLACK.stroke_width(2),
                    ))
                    .map_err(err)?;
                // Open triangles, as the caption says: plotters fills a
                // TriangleMarker whatever its style, so the outline is a path.
                let outline = [(0, -8), (7, 4), (-7, 4), (0, -8)];
                for p in &freqs {
                    chart
                        .draw_series([TriangleMarker::new(*p, 8, WHITE.filled())])
                        .map_err(err)?;
                    chart
                        .draw_series([EmptyElement::at(*p)
                            + PathElement::new(outline.to_vec(), BLACK.stroke_width(2))])
                        .map_err(err)?;
                }
            }
        }
        Ok(())
    })?;
    Ok(Some(svg))
}

/// A y-axis label formatter for charts whose rows sit at 0, 1, 2, …: the
/// row's name at whole numbers, nothing between them or outside.
fn row_labels<'a>(rows: &'a [&'a str]) -> impl Fn(&f64) -> String + 'a {
    move |y: &f64| {
        let i = y.round();
        if (y - i).abs() > 0.01 || i < 0.0 || i as usize >= rows.len() {
            String::new()
        } else {
            rows[i as usize].to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(d: u32, freq: Option<f64>) -> TrendPoint {
        TrendPoint {
            day: chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap(),
            events_per_min: 3.0,
            dominant_freq_hz: freq,
            head_moving_fraction: 0.0,
            current: false,
        }
    }

    #[test]
    fn trend_frequency_triangles_are_open_as_the_caption_says() {
        let points = [point(1, Some(5.0)), point(8, None), point(15, Some(4.0))];
        let svg = trend(&points, &[]).unwrap().expect("a chart");
        assert!(svg.contains("open triangles"), "caption");
        // Each triangle: a white-filled polygon and a black outline; no
        // polygon filled black.
        let polygons: Vec<&str> = svg.split("<polygon").skip(1).collect();
        assert_eq!(polygons.len(), 2, "{svg}");
        assert!(
            polygons
                .iter()
                .all(|p| !p[..p.find("/>").unwrap()].contains("fill=\"#000000\""))
        );
    }
}
