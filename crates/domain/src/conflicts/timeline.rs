//! Occurrences of a recurring period expanded once over a horizon, for fast
//! "first occurrence overlapping this window" queries.

use crate::recurrence::Recurrence;
use crate::time::Interval;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

/// At most this many occurrences are kept per series (an hourly rule over
/// three years); beyond that, queries expand on demand.
const MAX_OCCURRENCES: usize = 30_000;

/// The periods of one freeze or window, sorted by start.
#[derive(Debug, Clone)]
pub(crate) struct Timeline {
    /// Covered span: queries inside it are answered from `periods`.
    horizon: Interval,
    periods: Vec<Interval>,
    /// `max_end[i]` = the latest end among `periods[..=i]`, so a binary
    /// search finds the first period that can reach a given instant.
    max_end: Vec<DateTime<Utc>>,
    /// For queries outside the horizon.
    source: Option<(Recurrence, Tz)>,
}

impl Timeline {
    /// A single one-off period.
    pub(crate) fn once(period: Interval) -> Self {
        Self {
            horizon: Interval {
                start: DateTime::<Utc>::MIN_UTC,
                end: DateTime::<Utc>::MAX_UTC,
            },
            periods: vec![period],
            max_end: vec![period.end],
            source: None,
        }
    }

    /// The occurrences of `recurrence` in `zone` that overlap `horizon`.
    pub(crate) fn recurring(recurrence: &Recurrence, zone: Tz, horizon: Interval) -> Self {
        let periods: Vec<Interval> = recurrence
            .occurrences_between(zone, horizon.start, horizon.end, MAX_OCCURRENCES)
            .into_iter()
            .map(|o| o.interval)
            .collect();
        let horizon = if periods.len() >= MAX_OCCURRENCES {
            // Truncated: only trust the part we have.
            Interval {
                start: horizon.start,
                end: periods.last().map_or(horizon.start, |p| p.start),
            }
        } else {
            horizon
        };
        let mut max_end = Vec::with_capacity(periods.len());
        let mut running = DateTime::<Utc>::MIN_UTC;
        for p in &periods {
            running = running.max(p.end);
            max_end.push(running);
        }
        Self {
            horizon,
            periods,
            max_end,
            source: Some((recurrence.clone(), zone)),
        }
    }

    /// The first occurrence overlapping `window`.
    pub(crate) fn first_overlapping(&self, window: Interval) -> Option<Interval> {
        match self.expanded(window) {
            Some(mut periods) => periods.next(),
            None => self.expand(window, 1).into_iter().next(),
        }
    }

    /// Whether one occurrence holds all of `window`.
    pub(crate) fn covers(&self, window: Interval) -> bool {
        let holds = |o: &Interval| o.start <= window.start && window.end <= o.end;
        match self.expanded(window) {
            Some(periods) => periods.take(64).any(|o| holds(&o)),
            None => self.expand(window, 64).iter().any(holds),
        }
    }

    /// The kept occurrences overlapping `window`, without copying them, or
    /// `None` when `window` lies outside the horizon (expand instead).
    fn expanded(&self, window: Interval) -> Option<impl Iterator<Item = Interval> + '_> {
        let inside = self.horizon.start <= window.start && window.end <= self.horizon.end;
        if self.source.is_some() && !inside {
            return None;
        }
        let first = self.max_end.partition_point(|end| *end <= window.start);
        Some(
            self.periods[first..]
                .iter()
                .take_while(move |p| p.start < window.end)
                .filter(move |p| p.overlaps(&window))
                .copied(),
        )
    }

    /// Occurrences overlapping `window` from the rule itself.
    fn expand(&self, window: Interval, limit: usize) -> Vec<Interval> {
        match &self.source {
            Some((recurrence, zone)) => recurrence
                .occurrences_between(*zone, window.start, window.end, limit)
                .into_iter()
                .map(|o| o.interval)
                .collect(),
            None => Vec::new(),
        }
    }
}

/// The horizon that covers `intervals`, with a day of margin on each side.
pub(crate) fn horizon_of(intervals: impl Iterator<Item = Interval>) -> Interval {
    let (mut start, mut end) = (DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC);
    for i in intervals {
        start = start.min(i.start);
        end = end.max(i.end);
    }
    if start > end {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        return Interval {
            start: now,
            end: now,
        };
    }
    Interval {
        start: start - Duration::days(1),
        end: end + Duration::days(1),
    }
}
