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

    /// Occurrences overlapping `window`, in start order, at most `limit`.
    pub(crate) fn overlapping(&self, window: Interval, limit: usize) -> Vec<Interval> {
        let inside = self.horizon.start <= window.start && window.end <= self.horizon.end;
        match (&self.source, inside) {
            (Some((recurrence, zone)), false) => recurrence
                .occurrences_between(*zone, window.start, window.end, limit)
                .into_iter()
                .map(|o| o.interval)
                .collect(),
            _ => {
                let first = self.max_end.partition_point(|end| *end <= window.start);
                self.periods[first..]
                    .iter()
                    .take_while(|p| p.start < window.end)
                    .filter(|p| p.overlaps(&window))
                    .take(limit)
                    .copied()
                    .collect()
            }
        }
    }

    /// The first occurrence overlapping `window`.
    pub(crate) fn first_overlapping(&self, window: Interval) -> Option<Interval> {
        self.overlapping(window, 1).into_iter().next()
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
