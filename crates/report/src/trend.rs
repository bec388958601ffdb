//! The trend across sessions: one point per session (date, events per
//! minute, dominant frequency), from earlier sessions' summaries plus the
//! session being reported.

use chrono::NaiveDate;

use twitchscope_engine::analysis::Analysis;

/// Sessions needed (this one included) before the trend page appears.
pub const MIN_SESSIONS: usize = 3;

/// One session on the trend chart.
#[derive(Clone, Debug, PartialEq)]
pub struct TrendPoint {
    pub day: NaiveDate,
    /// Spasm events per minute, all sides together.
    pub events_per_min: f64,
    pub dominant_freq_hz: Option<f64>,
    /// Share of the session the head moved too fast to judge
    /// ([`Quality::head_moving_fraction`](twitchscope_engine::analysis::Quality)):
    /// a session with few events and a lively head is no remission.
    pub head_moving_fraction: f64,
    /// The session this report is about.
    pub current: bool,
}

impl TrendPoint {
    /// The point of a session started at `started` (RFC 3339 or
    /// YYYY-MM-DD...) with this analysis; `None` when the date is unreadable.
    pub fn from_analysis(started: &str, analysis: &Analysis) -> Option<TrendPoint> {
        let e = &analysis.summary.events_per_min;
        Some(TrendPoint {
            day: parse_day(started)?,
            events_per_min: e.left + e.right + e.bilateral,
            dominant_freq_hz: analysis.summary.dominant_freq_hz,
            head_moving_fraction: analysis.quality.head_moving_fraction,
            current: false,
        })
    }

    /// Whether the head moved too fast to judge for so much of the session
    /// that its count may be low for that reason
    /// ([`head_moved_much`](crate::export::head_moved_much)).
    pub fn head_moved_much(&self) -> bool {
        crate::export::head_moved_much(self.head_moving_fraction)
    }
}

/// The calendar day of an RFC 3339 time or a date (local date as written).
pub fn parse_day(s: &str) -> Option<NaiveDate> {
    let head = s.get(..10)?;
    NaiveDate::parse_from_str(head, "%Y-%m-%d").ok()
}

/// Earlier points and the current one, in date order.
pub fn series(history: &[TrendPoint], current: Option<TrendPoint>) -> Vec<TrendPoint> {
    let mut out: Vec<TrendPoint> = history.to_vec();
    if let Some(mut c) = current {
        c.current = true;
        out.push(c);
    }
    out.sort_by_key(|p| (p.day, p.current));
    out
}

/// Points of the sessions under `root` that have an analysed summary,
/// leaving out the session at `exclude` (the one being reported).
pub fn history_from_dir(
    root: &std::path::Path,
    exclude: &std::path::Path,
) -> anyhow::Result<Vec<TrendPoint>> {
    let exclude = exclude.canonicalize().ok();
    let mut out = Vec::new();
    for listing in twitchscope_session::list_sessions(root)? {
        if listing.dir.canonicalize().ok() == exclude && exclude.is_some() {
            continue;
        }
        let Ok(Some(summary)) = twitchscope_session::read_summary(&listing.dir) else {
            continue;
        };
        if let Some(p) = summary
            .analysis
            .as_ref()
            .and_then(|a| TrendPoint::from_analysis(&listing.meta.started, a))
        {
            out.push(p);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_from_rfc3339_and_dates() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        assert_eq!(parse_day("2026-11-26T08:15:30+01:00"), Some(d));
        assert_eq!(parse_day("2026-11-26"), Some(d));
        assert_eq!(parse_day("26.11.2026"), None);
        assert_eq!(parse_day(""), None);
    }
}
