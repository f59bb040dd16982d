//! A rule and a duration in words, for people.

use crate::duration::PlanDuration;

pub(super) fn is_weekdays_list(days: &[(i32, chrono::Weekday)]) -> bool {
    days.len() == 5
        && days
            .iter()
            .all(|(n, d)| *n == 0 && d.num_days_from_monday() < 5)
}

pub(super) fn day_name(d: chrono::Weekday) -> &'static str {
    [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ][d.num_days_from_monday() as usize]
}

pub(super) fn month_name(m: u32) -> &'static str {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    NAMES
        .get(m.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("?")
}

pub(super) fn ordinal(n: i32) -> String {
    match n {
        -1 => "last".into(),
        -2 => "second to last".into(),
        1 => "first".into(),
        2 => "second".into(),
        3 => "third".into(),
        4 => "fourth".into(),
        5 => "fifth".into(),
        n if n < 0 => format!("{}th to last", -n),
        n => format!("{n}th"),
    }
}

pub(super) fn day_of_month(d: i32) -> String {
    match d {
        -1 => "last day".into(),
        d if d < 0 => format!("{} day", ordinal(d)),
        d => {
            let suffix = match (d % 10, d % 100) {
                (1, 11) | (2, 12) | (3, 13) => "th",
                (1, _) => "st",
                (2, _) => "nd",
                (3, _) => "rd",
                _ => "th",
            };
            format!("{d}{suffix}")
        }
    }
}

pub(super) fn join_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

pub(super) fn duration_words(d: &PlanDuration) -> String {
    let mut parts = Vec::new();
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if d.days() > 0 {
        parts.push(if d.days().is_multiple_of(7) {
            plural(i64::from(d.days() / 7), "week")
        } else {
            plural(i64::from(d.days()), "day")
        });
    }
    let minutes = d.exact().num_minutes();
    if minutes >= 60 {
        parts.push(plural(minutes / 60, "hour"));
    }
    if minutes % 60 > 0 {
        parts.push(plural(minutes % 60, "minute"));
    }
    join_words(&parts)
}
