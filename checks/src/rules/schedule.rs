//! Secrets Manager rotation schedules: `AutomaticallyAfterDays`, `rate()`,
//! the six-field AWS `cron()` form, and the window `Duration`. Pure: the
//! caller passes the times.
//!
//! The cron reader handles `*`, `?`, numbers, month and weekday names,
//! lists, ranges and `/` steps. `L`, `W` and `#` are recognised and reported
//! as not evaluated rather than guessed.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

use crate::facts::RotationRules;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Schedule {
    Days(i64),
    Hours(i64),
    Cron(Cron),
}

/// Why a schedule is not evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NotEvaluated(pub String);

impl Schedule {
    /// The schedule of the rules; `Ok(None)` when there is none.
    pub fn from_rules(rules: &RotationRules) -> Result<Option<Schedule>, NotEvaluated> {
        if let Some(expression) = rules
            .schedule_expression
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            return Schedule::parse(expression).map(Some);
        }
        // moto answers 0 for a schedule it ignored (docs/moto-notes.md,
        // "Secrets Manager").
        Ok(rules
            .automatically_after_days
            .filter(|days| *days > 0)
            .map(Schedule::Days))
    }

    pub fn parse(expression: &str) -> Result<Schedule, NotEvaluated> {
        let inner = |prefix: &str| {
            expression
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(')'))
                .map(str::trim)
        };
        if let Some(rate) = inner("rate(") {
            let mut parts = rate.split_whitespace();
            let n: i64 = parts
                .next()
                .and_then(|n| n.parse().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| NotEvaluated(format!("{expression}: no positive count")))?;
            return match parts.next() {
                Some("day" | "days") => Ok(Schedule::Days(n)),
                Some("hour" | "hours") => Ok(Schedule::Hours(n)),
                _ => Err(NotEvaluated(format!(
                    "{expression}: the unit must be hours or days"
                ))),
            };
        }
        if let Some(cron) = inner("cron(") {
            return Cron::parse(cron).map(Schedule::Cron);
        }
        Err(NotEvaluated(format!(
            "{expression} is neither rate() nor cron()"
        )))
    }

    /// The first rotation the schedule asks for after `last`.
    pub fn next_after(&self, last: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            // A count past what a TimeDelta holds (a hand-edited snapshot)
            // has no run, rather than a panic.
            Schedule::Days(n) => last.checked_add_signed(Duration::try_days(*n)?),
            Schedule::Hours(n) => last.checked_add_signed(Duration::try_hours(*n)?),
            Schedule::Cron(cron) => cron.next_after(last),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Schedule::Days(n) => format!("every {n} day{}", if *n == 1 { "" } else { "s" }),
            Schedule::Hours(n) => format!("every {n} hour{}", if *n == 1 { "" } else { "s" }),
            Schedule::Cron(cron) => format!("cron({})", cron.text),
        }
    }
}

/// The window length: `Duration` such as `3h` (hours; `1d` is read as a day).
pub(crate) fn window(duration: Option<&str>) -> Option<Duration> {
    let text = duration?.trim();
    let (number, unit) = text.split_at(text.len().checked_sub(1)?);
    let n: i64 = number.parse().ok().filter(|n| *n > 0)?;
    match unit {
        "h" | "H" => Duration::try_hours(n),
        "d" | "D" => Duration::try_days(n),
        _ => None,
    }
}

/// An AWS cron expression: minutes hours day-of-month month day-of-week year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cron {
    text: String,
    minutes: Vec<bool>,
    hours: Vec<bool>,
    /// `None` for `?` (any day of the month).
    days_of_month: Option<Vec<bool>>,
    months: Vec<bool>,
    /// 1 = Sunday … 7 = Saturday, as AWS counts; `None` for `?`.
    days_of_week: Option<Vec<bool>>,
    /// `None` for `*`.
    years: Option<Vec<(i32, i32, i32)>>,
}

/// How far ahead `next_after` searches (five years of days).
const SEARCH_DAYS: i64 = 5 * 366;

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Cron {
    pub fn parse(text: &str) -> Result<Cron, NotEvaluated> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [minutes, hours, dom, month, dow, year] = fields.as_slice() else {
            return Err(NotEvaluated(format!(
                "cron({text}) does not have the six fields of an AWS cron expression"
            )));
        };
        for field in [dom, dow] {
            if field.contains(['L', 'W', '#']) {
                return Err(NotEvaluated(format!(
                    "cron({text}) uses L, W or #, which this tool does not evaluate"
                )));
            }
        }
        let bad = |what: &str| NotEvaluated(format!("cron({text}): cannot read the {what} field"));
        let any = |field: &str| field == "?";
        Ok(Cron {
            text: text.to_string(),
            minutes: set(minutes, 0, 59, &[]).ok_or_else(|| bad("minutes"))?,
            hours: set(hours, 0, 23, &[]).ok_or_else(|| bad("hours"))?,
            days_of_month: if any(dom) {
                None
            } else {
                Some(set(dom, 1, 31, &[]).ok_or_else(|| bad("day-of-month"))?)
            },
            months: set(month, 1, 12, &MONTHS).ok_or_else(|| bad("month"))?,
            days_of_week: if any(dow) {
                None
            } else {
                Some(set(dow, 1, 7, &WEEKDAYS).ok_or_else(|| bad("day-of-week"))?)
            },
            years: if *year == "*" {
                None
            } else {
                Some(year_ranges(year).ok_or_else(|| bad("year"))?)
            },
        })
    }

    fn day_matches(&self, date: NaiveDate) -> bool {
        let in_set = |set: &[bool], value: u32| set.get(value as usize).copied().unwrap_or(false);
        let year_ok = self.years.as_ref().is_none_or(|ranges| {
            ranges.iter().any(|(from, to, step)| {
                (*from..=*to).contains(&date.year()) && (date.year() - from) % step == 0
            })
        });
        year_ok
            && in_set(&self.months, date.month())
            && self
                .days_of_month
                .as_ref()
                .is_none_or(|set| in_set(set, date.day()))
            && self
                .days_of_week
                .as_ref()
                .is_none_or(|set| in_set(set, date.weekday().num_days_from_sunday() + 1))
    }

    /// The first matching minute strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = after.date_naive();
        for offset in 0..SEARCH_DAYS {
            let date = start.checked_add_signed(Duration::days(offset))?;
            if !self.day_matches(date) {
                continue;
            }
            for hour in (0..24u32).filter(|h| self.hours[*h as usize]) {
                for minute in (0..60u32).filter(|m| self.minutes[*m as usize]) {
                    let time = Utc.from_utc_datetime(&date.and_hms_opt(hour, minute, 0)?);
                    if time > after {
                        return Some(time);
                    }
                }
            }
        }
        None
    }
}

/// The values one cron field selects, as a table indexed by value.
fn set(field: &str, min: u32, max: u32, names: &[&str]) -> Option<Vec<bool>> {
    let mut table = vec![false; max as usize + 1];
    let value = |text: &str| -> Option<u32> {
        let upper = text.to_ascii_uppercase();
        names
            .iter()
            .position(|n| *n == upper)
            .map(|i| i as u32 + min)
            .or_else(|| text.parse().ok())
            .filter(|v| (min..=max).contains(v))
    };
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, step.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (item, 1),
        };
        let (from, to) = match range {
            "*" | "?" => (min, max),
            _ => match range.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                None => {
                    let v = value(range)?;
                    // `5/10` runs from 5 to the end, `5` alone is one value.
                    (v, if item.contains('/') { max } else { v })
                }
            },
        };
        if from > to {
            return None;
        }
        for v in (from..=to).step_by(step as usize) {
            table[v as usize] = true;
        }
    }
    Some(table)
}

fn year_ranges(field: &str) -> Option<Vec<(i32, i32, i32)>> {
    field
        .split(',')
        .map(|item| {
            let (range, step) = match item.split_once('/') {
                Some((range, step)) => (range, step.parse::<i32>().ok().filter(|s| *s > 0)?),
                None => (item, 1),
            };
            let (from, to) = match range.split_once('-') {
                Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
                None if range == "*" => (1970, 2199),
                None => {
                    let y: i32 = range.parse().ok()?;
                    (y, if item.contains('/') { 2199 } else { y })
                }
            };
            (from <= to).then_some((from, to, step))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn next(expression: &str, after: DateTime<Utc>) -> DateTime<Utc> {
        Schedule::parse(expression)
            .expect("parses")
            .next_after(after)
            .expect("a next run")
    }

    #[test]
    fn rates_and_days() {
        assert_eq!(Schedule::parse("rate(10 days)"), Ok(Schedule::Days(10)));
        assert_eq!(Schedule::parse("rate(1 day)"), Ok(Schedule::Days(1)));
        assert_eq!(Schedule::parse("rate(4 hours)"), Ok(Schedule::Hours(4)));
        assert!(Schedule::parse("rate(5 minutes)").is_err());
        assert_eq!(
            next("rate(4 hours)", at(2026, 1, 1, 10, 0)),
            at(2026, 1, 1, 14, 0)
        );
    }

    #[test]
    fn cron_first_of_the_month_at_eight() {
        assert_eq!(
            next("cron(0 8 1 * ? *)", at(2026, 1, 1, 9, 0)),
            at(2026, 2, 1, 8, 0)
        );
        assert_eq!(
            next("cron(0 8 1 * ? *)", at(2026, 1, 1, 7, 59)),
            at(2026, 1, 1, 8, 0)
        );
    }

    #[test]
    fn cron_weekdays_lists_ranges_and_steps() {
        // 2026-11-28 is a Saturday.
        assert_eq!(
            next("cron(30 2 ? * SUN *)", at(2026, 11, 28, 12, 0)),
            at(2026, 11, 29, 2, 30)
        );
        assert_eq!(
            next("cron(0 0/6 ? * MON-FRI *)", at(2026, 11, 28, 12, 0)),
            at(2026, 11, 30, 0, 0)
        );
        assert_eq!(
            next("cron(0 10,22 * * ? *)", at(2026, 11, 28, 12, 0)),
            at(2026, 11, 28, 22, 0)
        );
        assert_eq!(
            next("cron(0 4 ? JAN,JUL 2 2027)", at(2026, 11, 28, 12, 0)),
            at(2027, 1, 4, 4, 0)
        );
        assert_eq!(
            next("cron(15 */8 15 * ? *)", at(2026, 11, 15, 8, 15)),
            at(2026, 11, 15, 16, 15)
        );
    }

    #[test]
    fn l_w_and_hash_are_not_evaluated() {
        for expression in [
            "cron(0 0 L * ? *)",
            "cron(0 0 15W * ? *)",
            "cron(0 0 ? * 6#3 *)",
        ] {
            assert!(Schedule::parse(expression).is_err(), "{expression}");
        }
        assert!(Schedule::parse("cron(0 0 * *)").is_err());
        assert!(Schedule::parse("cron(0 25 * * ? *)").is_err());
    }

    #[test]
    fn a_year_in_the_past_never_runs_again() {
        let cron = Schedule::parse("cron(0 0 1 1 ? 2020)").expect("parses");
        assert_eq!(cron.next_after(at(2026, 1, 1, 0, 0)), None);
    }

    #[test]
    fn counts_past_a_time_delta_have_no_run() {
        let last = at(2026, 1, 1, 0, 0);
        for expression in [
            "rate(9223372036854775807 days)",
            "rate(9223372036854775807 hours)",
        ] {
            let schedule = Schedule::parse(expression).expect("parses");
            assert_eq!(schedule.next_after(last), None, "{expression}");
        }
        assert_eq!(Schedule::Days(106_751_991_167).next_after(last), None);
    }

    #[test]
    fn windows() {
        assert_eq!(window(Some("3h")), Some(Duration::hours(3)));
        assert_eq!(window(Some("1d")), Some(Duration::days(1)));
        assert_eq!(window(Some("soon")), None);
        // More hours or days than a TimeDelta holds: no window, no panic.
        assert_eq!(window(Some("9223372036854775807h")), None);
        assert_eq!(window(Some("9223372036854775807d")), None);
        assert_eq!(window(None), None);
    }

    #[test]
    fn rules_prefer_the_expression_and_ignore_zero_days() {
        let rules = RotationRules {
            automatically_after_days: Some(0),
            schedule_expression: None,
            duration: None,
        };
        assert_eq!(Schedule::from_rules(&rules), Ok(None));
        let rules = RotationRules {
            automatically_after_days: Some(30),
            schedule_expression: Some("rate(7 days)".into()),
            duration: None,
        };
        assert_eq!(Schedule::from_rules(&rules), Ok(Some(Schedule::Days(7))));
    }
}
