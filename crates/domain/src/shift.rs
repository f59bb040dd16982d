//! Moving a whole calendar in time, used to bring the demo plan to "now".

use crate::plan::*;
use crate::recurrence::Recurrence;
use crate::time::PlanTime;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

fn week_monday(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

fn shift_time(t: &PlanTime, by: Duration, zone: Tz) -> PlanTime {
    PlanTime::new(t.value.shifted(by), zone)
}

fn shift_recurrence(r: &mut Recurrence, by: Duration) {
    r.start = r.start.shifted(by);
    for e in &mut r.exdates {
        *e = e.shifted(by);
    }
}

impl Plan {
    /// Whole weeks that move the earliest release into the week of `now`
    /// (weeks start on Monday). Zero for a plan without releases.
    pub fn weeks_to_bring_to(&self, now: DateTime<Utc>) -> i64 {
        let Some(earliest) = self.releases.iter().map(|r| r.start.utc).min() else {
            return 0;
        };
        let days = week_monday(now.date_naive()) - week_monday(earliest.date_naive());
        days.num_days() / 7
    }

    /// The same calendar moved by whole weeks. Wall-clock times keep their
    /// weekday and time of day, so recurring rules still fit.
    pub fn shifted_by_weeks(&self, weeks: i64) -> Plan {
        let by = Duration::weeks(weeks);
        let mut plan = self.clone();
        let plan_zone = plan.timezone;
        for team in &mut plan.teams {
            for w in &mut team.allowed_windows {
                shift_recurrence(&mut w.recurrence, by);
            }
        }
        for freeze in &mut plan.freezes {
            let zone = freeze.zone(plan_zone);
            match &mut freeze.schedule {
                FreezeSchedule::Once { start, end } => {
                    *start = shift_time(start, by, zone);
                    *end = shift_time(end, by, zone);
                }
                FreezeSchedule::Recurring(r) => shift_recurrence(r, by),
            }
        }
        for release in &mut plan.releases {
            release.start = shift_time(&release.start, by, plan_zone);
            release.end = shift_time(&release.end, by, plan_zone);
            for a in &mut release.approvals {
                a.at = shift_time(&a.at, by, plan_zone);
            }
        }
        plan
    }
}
