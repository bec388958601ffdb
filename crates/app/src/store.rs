//! The store every view reads: motion samples, the latest analysis and the
//! protocol steps of one session, live or replayed (rerun's habit: views are
//! queries over a time-indexed store and never care where it came from).

use std::path::PathBuf;
use std::sync::Arc;

use twitchscope_engine::analysis::Analysis;
use twitchscope_engine::motion::MotionSample;
use twitchscope_engine::regions::Region;
use twitchscope_session::{RecordedSession, SessionRegions, StepMark};

/// Where a store's data come from.
#[derive(Clone, Debug, PartialEq)]
pub enum StoreMode {
    Live,
    Replay {
        dir: PathBuf,
        title: String,
        /// The session's video and the analysis time of its first frame,
        /// when it kept one.
        video: Option<(PathBuf, f64)>,
    },
}

/// A session's data, as the views see it.
#[derive(Clone, Debug)]
pub struct Store {
    pub mode: StoreMode,
    /// Motion samples in time order.
    pub samples: Vec<MotionSample>,
    /// The latest analysis of the samples (re-run about once a second live).
    pub analysis: Option<Arc<Analysis>>,
    /// Protocol step boundaries, in sample time.
    pub steps: Vec<StepMark>,
    /// The time the views show (replay); `None` follows the newest sample.
    pub cursor: Option<f64>,
    /// Seconds of history the scrolling views show.
    pub span_s: f64,
    /// Samples older than this (behind the newest) are dropped (live only).
    pub keep_s: f64,
    /// Where the regions were in the face's canonical frame (a replay of a
    /// session that saved them; live, the pipeline's layout says it).
    pub regions: Option<SessionRegions>,
}

/// Seconds of recent motion averaged for a region's activity tint.
const ACTIVITY_RECENT_S: f64 = 0.3;
/// Seconds of history giving the resting level of a region's motion.
const ACTIVITY_BASELINE_S: f64 = 10.0;

impl Store {
    pub fn live() -> Store {
        Store {
            mode: StoreMode::Live,
            samples: Vec::new(),
            analysis: None,
            steps: Vec::new(),
            cursor: None,
            span_s: 20.0,
            keep_s: 600.0,
            regions: None,
        }
    }

    /// A recorded session, with its analysis, positioned at its start.
    pub fn replay(session: &RecordedSession, analysis: Analysis) -> Store {
        let title = format!("{} ({})", session.meta.started, session.meta.source);
        let cursor = session.samples.first().map(|s| s.t);
        Store {
            mode: StoreMode::Replay {
                dir: session.dir.clone(),
                title,
                video: session.saved_video(),
            },
            samples: session.samples.clone(),
            analysis: Some(Arc::new(analysis)),
            steps: session.steps.clone(),
            cursor,
            span_s: 20.0,
            keep_s: f64::INFINITY,
            regions: session.regions,
        }
    }

    pub fn is_replay(&self) -> bool {
        matches!(self.mode, StoreMode::Replay { .. })
    }

    /// Appends new live samples and forgets those older than `keep_s`.
    pub fn extend(&mut self, new: &[MotionSample]) {
        self.samples.extend_from_slice(new);
        if let Some(last) = self.samples.last() {
            let cut = last.t - self.keep_s;
            let n = self.samples.partition_point(|s| s.t < cut);
            // Trim in chunks so the common path does not shift memory.
            if n > 2048 {
                self.samples.drain(..n);
            }
        }
    }

    /// First and last sample times.
    pub fn t_bounds(&self) -> Option<(f64, f64)> {
        Some((self.samples.first()?.t, self.samples.last()?.t))
    }

    /// The time the views show: the cursor in a replay, else the newest sample.
    pub fn now(&self) -> f64 {
        match (self.cursor, self.samples.last()) {
            (Some(c), _) => c,
            (None, Some(s)) => s.t,
            (None, None) => 0.0,
        }
    }

    /// The scrolling window `[now - span, now]`, never before the first sample
    /// by more than the span (so a young session fills from the left).
    pub fn view_range(&self) -> (f64, f64) {
        let now = self.now();
        let first = self.samples.first().map(|s| s.t).unwrap_or(now);
        let t1 = now.max(first + self.span_s);
        (t1 - self.span_s, t1)
    }

    /// Samples with `t0 <= t <= t1`.
    pub fn samples_between(&self, t0: f64, t1: f64) -> &[MotionSample] {
        let a = self.samples.partition_point(|s| s.t < t0);
        let b = self.samples.partition_point(|s| s.t <= t1);
        &self.samples[a..b.max(a)]
    }

    /// The sample nearest to `t` (a frame's own sample, for its pose).
    pub fn sample_nearest(&self, t: f64) -> Option<&MotionSample> {
        let i = self.samples.partition_point(|s| s.t < t);
        let after = self.samples.get(i);
        let before = i.checked_sub(1).and_then(|k| self.samples.get(k));
        match (before, after) {
            (Some(b), Some(a)) => Some(if t - b.t <= a.t - t { b } else { a }),
            (b, a) => b.or(a),
        }
    }

    /// The replayed session's video and the analysis time of its first
    /// frame, when it kept one.
    pub fn video(&self) -> Option<&(PathBuf, f64)> {
        match &self.mode {
            StoreMode::Replay { video, .. } => video.as_ref(),
            StoreMode::Live => None,
        }
    }

    /// The newest sample at or before `t`.
    pub fn sample_at(&self, t: f64) -> Option<&MotionSample> {
        let i = self.samples.partition_point(|s| s.t <= t);
        if i == 0 {
            None
        } else {
            self.samples.get(i - 1)
        }
    }

    /// Activity of every region at `t`, `[side][region]`, 0 (resting) to 1:
    /// recent motion against the resting level of the same region on both
    /// sides, raised to the full tint while an analysed event covers it.
    pub fn activity_at(&self, t: f64) -> [[f32; Region::COUNT]; 2] {
        let mut out = [[0.0f32; Region::COUNT]; 2];
        let recent = self.samples_between(t - ACTIVITY_RECENT_S, t);
        let history = self.samples_between(t - ACTIVITY_BASELINE_S, t);
        if recent.is_empty() || history.len() < 10 {
            return out;
        }
        let mut scratch: Vec<f32> = Vec::with_capacity(history.len() * 2);
        for r in 0..Region::COUNT {
            scratch.clear();
            for s in history.iter().filter(|s| s.valid) {
                scratch.push(s.regions[0][r].speed);
                scratch.push(s.regions[1][r].speed);
            }
            if scratch.is_empty() {
                continue;
            }
            scratch.sort_by(|a, b| a.total_cmp(b));
            let base = scratch[scratch.len() / 2].max(1e-3);
            for (side, row) in out.iter_mut().enumerate() {
                let valid: Vec<f32> = recent
                    .iter()
                    .filter(|s| s.valid)
                    .map(|s| s.regions[side][r].speed)
                    .collect();
                if valid.is_empty() {
                    continue;
                }
                let mean = valid.iter().sum::<f32>() / valid.len() as f32;
                row[r] = ((mean / base - 1.5) / 4.0).clamp(0.0, 1.0);
            }
        }
        if let Some(a) = &self.analysis {
            for e in a
                .events
                .iter()
                .filter(|e| e.is_spasm() && e.start_s <= t && e.end_s >= t)
            {
                for side in twitchscope_engine::regions::Side::BOTH {
                    if e.side.involves(side) {
                        for region in &e.regions {
                            let v = &mut out[side.index()][region.index()];
                            *v = v.max(0.8);
                        }
                    }
                }
            }
        }
        out
    }

    /// The protocol step running at `t`, if any.
    pub fn step_at(&self, t: f64) -> Option<&str> {
        let mut current: Option<&str> = None;
        for m in self.steps.iter().filter(|m| m.t <= t) {
            current = match m.phase {
                twitchscope_session::StepPhase::Start => Some(m.step.as_str()),
                twitchscope_session::StepPhase::End => None,
            };
        }
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use twitchscope_engine::motion::RegionMotion;

    fn sample(t: f64, left_speed: f32) -> MotionSample {
        let mut s = MotionSample {
            t,
            valid: true,
            ..MotionSample::default()
        };
        for r in 0..Region::COUNT {
            s.regions[0][r] = RegionMotion {
                speed: left_speed,
                ..RegionMotion::default()
            };
            s.regions[1][r] = RegionMotion {
                speed: 1.0,
                ..RegionMotion::default()
            };
        }
        s
    }

    #[test]
    fn activity_follows_the_moving_side() {
        let mut store = Store::live();
        let samples: Vec<MotionSample> = (0..300)
            .map(|i| {
                let t = i as f64 / 30.0;
                sample(t, if t > 9.5 { 20.0 } else { 1.0 })
            })
            .collect();
        store.extend(&samples);
        let a = store.activity_at(store.now());
        assert!(a[0][Region::LowerLid.index()] > 0.5, "{a:?}");
        assert!(a[1][Region::LowerLid.index()] < 0.1, "{a:?}");
    }

    #[test]
    fn view_range_scrolls_with_the_newest_sample() {
        let mut store = Store::live();
        store.extend(&[sample(0.0, 1.0), sample(5.0, 1.0)]);
        assert_eq!(store.view_range(), (0.0, 20.0));
        store.extend(&[sample(30.0, 1.0)]);
        assert_eq!(store.view_range(), (10.0, 30.0));
        assert_eq!(store.samples_between(4.0, 31.0).len(), 2);
        store.cursor = Some(5.0);
        assert_eq!(store.sample_at(6.0).unwrap().t, 5.0);
    }
}
