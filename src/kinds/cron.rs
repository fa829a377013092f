//! Cron schedules as Kubernetes reads them (the standard parser of the robfig/cron library
//! the apiserver and the CronJob controller use): five fields (minute, hour, day of month,
//! month, day of week) or a descriptor (`@hourly`, `@every 1h30m`, …), optionally behind a
//! `TZ=`/`CRON_TZ=` zone. Parse errors carry that parser's texts (and Go's, for the numbers
//! and durations inside), which the apiserver's validation reports as they are.
//!
//! Time zones are read from the host's zoneinfo files, as Go's `time.LoadLocation` does: the
//! jiff build here has no time zone database of its own (no `tzdb-*` features), so a host
//! without tzdata knows only UTC.

use crate::kinds::go::quote;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use k8s_openapi::jiff::civil::{Date, DateTime};
use k8s_openapi::jiff::tz::{AmbiguousOffset, TimeZone};
use k8s_openapi::jiff::{SignedDuration, Timestamp, ToSpan, Zoned};

/// A parsed schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    zone: Option<String>,
    when: When,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum When {
    Fields(Fields),
    /// `@every`: a fixed interval of whole seconds, at least one.
    Every(SignedDuration),
}

/// One bit per allowed value of each field.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Fields {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
    /// Day of month or day of week written as `*` or `?` (or a step of 1 over them): then
    /// the other field alone decides which days match, otherwise either may.
    day_star: bool,
}

/// A field's range and, for months and weekdays, its names.
struct Bounds {
    min: u64,
    max: u64,
    names: &'static [&'static str],
    first_name: u64,
}

const MINUTE: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
    first_name: 0,
};
const HOUR: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
    first_name: 0,
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
    first_name: 0,
};
const MONTH: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
    first_name: 1,
};
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    first_name: 0,
};

/// How far ahead a schedule is searched (the cron library gives up after five years too):
/// `0 0 30 2 *` never runs.
const YEARS_AHEAD: i16 = 5;

/// Parses a schedule, returning the cron parser's error text.
pub fn parse(spec: &str) -> Result<Schedule, String> {
    if spec.is_empty() {
        return Err("empty spec string".to_string());
    }
    let mut spec = spec;
    let mut zone = None;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        match spec.find(' ') {
            Some(i) => {
                let eq = spec.find('=').unwrap_or(0);
                zone = Some(spec[eq + 1..i].to_string());
                spec = spec[i..].trim();
            }
            None => return Err(format!("provided bad location {spec}")),
        }
    }
    let when = if spec.starts_with('@') {
        descriptor(spec)?
    } else {
        let fields: Vec<&str> = spec.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "expected exactly 5 fields, found {}: [{}]",
                fields.len(),
                fields.join(" ")
            ));
        }
        let (dom, dom_star) = field(fields[2], &DOM)?;
        let (dow, dow_star) = field(fields[4], &DOW)?;
        When::Fields(Fields {
            minute: field(fields[0], &MINUTE)?.0,
            hour: field(fields[1], &HOUR)?.0,
            dom,
            month: field(fields[3], &MONTH)?.0,
            dow,
            day_star: dom_star || dow_star,
        })
    };
    Ok(Schedule { zone, when })
}

fn descriptor(spec: &str) -> Result<When, String> {
    let fields = |minute: u64, hour: u64, dom: u64, month: u64, dow: u64, day_star| {
        When::Fields(Fields {
            minute,
            hour,
            dom,
            month,
            dow,
            day_star,
        })
    };
    let all = |b: &Bounds| bits(b.min, b.max, 1);
    let (dom, month, dow) = (all(&DOM), all(&MONTH), all(&DOW));
    Ok(match spec {
        "@yearly" | "@annually" => fields(1, 1, 1 << 1, 1 << 1, dow, true),
        "@monthly" => fields(1, 1, 1 << 1, month, dow, true),
        "@weekly" => fields(1, 1, dom, month, 1, true),
        "@daily" | "@midnight" => fields(1, 1, dom, month, dow, true),
        "@hourly" => fields(1, all(&HOUR), dom, month, dow, true),
        _ => match spec.strip_prefix("@every ") {
            Some(duration) => {
                let d = go_duration(duration)
                    .map_err(|err| format!("failed to parse duration {spec}: {err}"))?;
                // Whole seconds, and never below one.
                let secs = d.as_secs().max(1);
                When::Every(SignedDuration::from_secs(secs))
            }
            None => return Err(format!("unrecognized descriptor: {spec}")),
        },
    })
}

/// A comma-separated field: its bits, and whether it was written as "any".
fn field(text: &str, b: &Bounds) -> Result<(u64, bool), String> {
    let mut out = 0;
    let mut star = false;
    for expr in text.split(',').filter(|s| !s.is_empty()) {
        let (set, any) = range(expr, b)?;
        out |= set;
        star |= any;
    }
    Ok((out, star))
}

/// `*`, `?`, `N`, `N-M`, each optionally `/step`.
fn range(expr: &str, b: &Bounds) -> Result<(u64, bool), String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_high: Vec<&str> = range_and_step[0].split('-').collect();
    let mut star = low_high[0] == "*" || low_high[0] == "?";
    let (start, mut end) = if star {
        (b.min, b.max)
    } else {
        let start = int_or_name(low_high[0], b)?;
        let end = match low_high.len() {
            1 => start,
            2 => int_or_name(low_high[1], b)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        (start, end)
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = atoi_unsigned(range_and_step[1])?;
            // `N/step` runs from N to the end of the range.
            if low_high.len() == 1 {
                end = b.max;
            }
            // `*/2` is no longer "any day".
            if step > 1 {
                star = false;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < b.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            b.min
        ));
    }
    if end > b.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            b.max
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok((bits(start, end, step), star))
}

fn bits(start: u64, end: u64, step: u64) -> u64 {
    (start..=end)
        .step_by(step as usize)
        .fold(0, |acc, i| acc | 1 << i)
}

fn int_or_name(expr: &str, b: &Bounds) -> Result<u64, String> {
    let lower = expr.to_lowercase();
    if let Some(i) = b.names.iter().position(|n| *n == lower) {
        return Ok(b.first_name + i as u64);
    }
    atoi_unsigned(expr)
}

/// Go's `strconv.Atoi` as the cron parser reports it, refusing negatives.
fn atoi_unsigned(expr: &str) -> Result<u64, String> {
    let digits = expr.strip_prefix(['+', '-']).unwrap_or(expr);
    let syntax_ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let parsed = if syntax_ok {
        expr.parse::<i64>().map_err(|_| "value out of range")
    } else {
        Err("invalid syntax")
    };
    match parsed {
        Err(why) => Err(format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing {}: {why}",
            quote(expr)
        )),
        Ok(n) if n < 0 => Err(format!("negative number ({n}) not allowed: {expr}")),
        // Values past the field's bounds are refused by the range checks.
        Ok(n) => Ok(n as u64),
    }
}

/// Go's `time.ParseDuration`, with its error texts.
pub fn go_duration(orig: &str) -> Result<SignedDuration, String> {
    let invalid = || format!("time: invalid duration {}", quote(orig));
    const LIMIT: u128 = 1 << 63;
    let negative = orig.starts_with('-');
    let mut s = orig.strip_prefix(['+', '-']).unwrap_or(orig);
    if s == "0" {
        return Ok(SignedDuration::ZERO);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let mut rest = &s[int_len..];
        let mut frac = "";
        if let Some(r) = rest.strip_prefix('.') {
            let frac_len = r.bytes().take_while(u8::is_ascii_digit).count();
            frac = &r[..frac_len];
            rest = &r[frac_len..];
        }
        if int_len == 0 && frac.is_empty() {
            return Err(invalid());
        }
        let mut value: u128 = 0;
        for d in s[..int_len].bytes() {
            value = value * 10 + u128::from(d - b'0');
            if value >= LIMIT {
                return Err(invalid());
            }
        }
        let unit_len = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {}", quote(orig)));
        }
        let unit = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            unit => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    quote(unit),
                    quote(orig)
                ));
            }
        };
        value *= unit;
        if value > LIMIT {
            return Err(invalid());
        }
        // The fraction, to the digits that fit (Go ignores the rest).
        let (mut f, mut scale): (u128, u128) = (0, 1);
        for d in frac.bytes() {
            if f * 10 + 9 >= LIMIT {
                break;
            }
            f = f * 10 + u128::from(d - b'0');
            scale *= 10;
        }
        value += (f as f64 * (unit as f64 / scale as f64)) as u128;
        total += value;
        if value > LIMIT || total > LIMIT {
            return Err(invalid());
        }
        s = &rest[unit_len..];
    }
    let nanos = if negative {
        -(total as i128)
    } else if total > LIMIT - 1 {
        return Err(invalid());
    } else {
        total as i128
    };
    Ok(SignedDuration::from_nanos_i128(nanos))
}

impl Schedule {
    /// The zone a `TZ=` or `CRON_TZ=` prefix names (not looked up: see [`time_zone`]).
    pub fn zone(&self) -> Option<&str> {
        self.zone.as_deref()
    }

    /// The first activation strictly after `t`, in `t`'s time zone (the schedule's own zone
    /// is the caller's to apply); None when there is none within five years.
    ///
    /// Wall-clock times a daylight-saving jump skips do not run that day; those repeated
    /// when clocks go back run at both instants (as the cron library, walking real time,
    /// does).
    pub fn next_after(&self, t: &Zoned) -> Option<Zoned> {
        let tz = t.time_zone();
        let next = match &self.when {
            When::Every(every) => {
                let whole = Timestamp::from_second(t.timestamp().as_second()).ok()?;
                whole.checked_add(*every).ok()?
            }
            When::Fields(f) => f.next_after(t.timestamp(), tz)?,
        };
        Some(next.to_zoned(tz.clone()))
    }
}

impl Fields {
    fn day_matches(&self, d: Date) -> bool {
        let dom = self.dom & 1 << d.day() != 0;
        let dow = self.dow & 1 << d.weekday().to_sunday_zero_offset() != 0;
        if self.day_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// Walks the zone's calendar day by day, then the matching hours and minutes of each
    /// matching day in wall-clock order. An instant off a wall-clock time outside a repeated
    /// hour is the earliest still to come; inside one, a later wall-clock time can come
    /// first, so the earliest of them is kept until the walk leaves it.
    fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        // Repeated hours reach back a few wall-clock hours at most.
        let from = tz.to_datetime(after).checked_sub(3.hours()).ok()?;
        let last_year = from.year().checked_add(YEARS_AHEAD)?;
        let mut day = from.date();
        let mut best: Option<Timestamp> = None;
        while day.year() <= last_year {
            if self.month & 1 << day.month() == 0 {
                day = day.first_of_month().checked_add(1.month()).ok()?;
                continue;
            }
            if self.day_matches(day) {
                for hour in (0..24).filter(|h| self.hour & 1 << h != 0) {
                    for minute in (0..60).filter(|m| self.minute & 1 << m != 0) {
                        let dt: DateTime = day.at(hour, minute, 0, 0);
                        if dt < from {
                            continue;
                        }
                        let keep = |best: &mut Option<Timestamp>, t: Timestamp| {
                            if t > after && best.is_none_or(|b| t < b) {
                                *best = Some(t);
                            }
                        };
                        match tz.to_ambiguous_timestamp(dt).offset() {
                            AmbiguousOffset::Unambiguous { offset } => {
                                let t = offset.to_timestamp(dt).ok()?;
                                keep(&mut best, t);
                                if best.is_some() {
                                    return best;
                                }
                            }
                            AmbiguousOffset::Gap { .. } => {}
                            AmbiguousOffset::Fold {
                                before,
                                after: later,
                            } => {
                                keep(&mut best, before.to_timestamp(dt).ok()?);
                                keep(&mut best, later.to_timestamp(dt).ok()?);
                            }
                        }
                    }
                }
            }
            day = day.tomorrow().ok()?;
        }
        best
    }
}

/// Where Go's `time.LoadLocation` looks for zoneinfo files on Unix.
const ZONEINFO_DIRS: [&str; 4] = [
    "/usr/share/zoneinfo/",
    "/usr/share/lib/zoneinfo/",
    "/usr/lib/locale/TZ/",
    "/etc/zoneinfo/",
];

static ZONES: LazyLock<Mutex<HashMap<String, Result<TimeZone, String>>>> =
    LazyLock::new(Default::default);

/// The IANA time zone `name` as Go's `time.LoadLocation` finds it (`ZONEINFO`, then the
/// system's zoneinfo directories), with its error texts. "" and "UTC" are UTC; so is
/// "Local", which the apiserver refuses in `spec.timeZone` anyway. Lookups are remembered.
pub fn time_zone(name: &str) -> Result<TimeZone, String> {
    if name.is_empty() || name == "UTC" || name == "Local" {
        return Ok(TimeZone::UTC);
    }
    if name.contains("..") || name.starts_with(['/', '\\']) {
        return Err("time: invalid location name".to_string());
    }
    let mut zones = ZONES.lock().unwrap_or_else(|e| e.into_inner());
    zones
        .entry(name.to_string())
        .or_insert_with(|| load(name))
        .clone()
}

fn load(name: &str) -> Result<TimeZone, String> {
    let env = std::env::var("ZONEINFO").ok().map(|d| format!("{d}/"));
    for dir in env.iter().map(String::as_str).chain(ZONEINFO_DIRS) {
        if let Ok(data) = std::fs::read(format!("{dir}{name}")) {
            return TimeZone::tzif(name, &data)
                .map_err(|_| "malformed time zone information".to_string());
        }
    }
    Err(format!("unknown time zone {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::civil::date;

    /// The first `n` activations after `start` (a civil time in `tz`), as wall-clock text.
    fn runs(spec: &str, tz: TimeZone, start: DateTime, n: usize) -> Vec<String> {
        let s = parse(spec).unwrap();
        let mut t = start.to_zoned(tz).unwrap();
        let mut out = Vec::new();
        for _ in 0..n {
            t = s.next_after(&t).unwrap();
            out.push(t.strftime("%a %Y-%m-%d %H:%M:%S %:z").to_string());
        }
        out
    }

    #[test]
    fn fields_ranges_steps_and_names() {
        let start = date(2024, 1, 1).at(0, 0, 0, 0); // a Monday
        assert_eq!(
            runs("*/20 9-10 * * *", TimeZone::UTC, start, 4),
            [
                "Mon 2024-01-01 09:00:00 +00:00",
                "Mon 2024-01-01 09:20:00 +00:00",
                "Mon 2024-01-01 09:40:00 +00:00",
                "Mon 2024-01-01 10:00:00 +00:00"
            ]
        );
        assert_eq!(
            runs("30 8 * JAN-MAR mon-fri", TimeZone::UTC, start, 6)[4..],
            [
                "Fri 2024-01-05 08:30:00 +00:00",
                "Mon 2024-01-08 08:30:00 +00:00"
            ]
        );
        // `N/step` runs from N to the end of the range; names of months and days.
        assert_eq!(
            runs("0 20/2 * * *", TimeZone::UTC, start, 3),
            [
                "Mon 2024-01-01 20:00:00 +00:00",
                "Mon 2024-01-01 22:00:00 +00:00",
                "Tue 2024-01-02 20:00:00 +00:00"
            ]
        );
        assert_eq!(
            runs("0 0 29 feb *", TimeZone::UTC, start, 2),
            [
                "Thu 2024-02-29 00:00:00 +00:00",
                "Tue 2028-02-29 00:00:00 +00:00"
            ]
        );
    }

    #[test]
    fn strictly_after_and_never() {
        let s = parse("* * * * *").unwrap();
        let t = date(2024, 3, 1)
            .at(12, 0, 0, 0)
            .to_zoned(TimeZone::UTC)
            .unwrap();
        assert_eq!(
            s.next_after(&t).unwrap().datetime(),
            date(2024, 3, 1).at(12, 1, 0, 0)
        );
        let t = date(2024, 3, 1)
            .at(12, 0, 59, 999)
            .to_zoned(TimeZone::UTC)
            .unwrap();
        assert_eq!(
            s.next_after(&t).unwrap().datetime(),
            date(2024, 3, 1).at(12, 1, 0, 0)
        );
        assert_eq!(parse("0 0 30 2 *").unwrap().next_after(&t), None);
    }

    #[test]
    fn day_of_month_and_day_of_week() {
        let start = date(2024, 1, 1).at(0, 0, 0, 0);
        // Both restricted: either matches (the 13th, and every Friday).
        assert_eq!(
            runs("0 0 13 * 5", TimeZone::UTC, start, 4),
            [
                "Fri 2024-01-05 00:00:00 +00:00",
                "Fri 2024-01-12 00:00:00 +00:00",
                "Sat 2024-01-13 00:00:00 +00:00",
                "Fri 2024-01-19 00:00:00 +00:00"
            ]
        );
        // Day of month `*` or `?`: the weekday alone decides, and the other way round.
        assert_eq!(
            runs("0 0 ? * 5", TimeZone::UTC, start, 2),
            [
                "Fri 2024-01-05 00:00:00 +00:00",
                "Fri 2024-01-12 00:00:00 +00:00"
            ]
        );
        assert_eq!(
            runs("0 0 13 * *", TimeZone::UTC, start, 2),
            [
                "Sat 2024-01-13 00:00:00 +00:00",
                "Tue 2024-02-13 00:00:00 +00:00"
            ]
        );
        // A step over `*` is a restriction: either matches again.
        let new_years_eve = date(2023, 12, 31).at(12, 0, 0, 0);
        assert_eq!(
            runs("0 0 */10 * 0", TimeZone::UTC, new_years_eve, 4),
            [
                "Mon 2024-01-01 00:00:00 +00:00",
                "Sun 2024-01-07 00:00:00 +00:00",
                "Thu 2024-01-11 00:00:00 +00:00",
                "Sun 2024-01-14 00:00:00 +00:00"
            ]
        );
    }

    #[test]
    fn descriptors_and_every() {
        let start = date(2024, 5, 15).at(10, 30, 0, 0); // a Wednesday
        let first = |spec| runs(spec, TimeZone::UTC, start, 1).remove(0);
        assert_eq!(first("@hourly"), "Wed 2024-05-15 11:00:00 +00:00");
        assert_eq!(first("@daily"), "Thu 2024-05-16 00:00:00 +00:00");
        assert_eq!(first("@midnight"), "Thu 2024-05-16 00:00:00 +00:00");
        assert_eq!(first("@weekly"), "Sun 2024-05-19 00:00:00 +00:00");
        assert_eq!(first("@monthly"), "Sat 2024-06-01 00:00:00 +00:00");
        assert_eq!(first("@yearly"), "Wed 2025-01-01 00:00:00 +00:00");
        assert_eq!(first("@annually"), "Wed 2025-01-01 00:00:00 +00:00");
        // A fixed interval from the given instant, whole seconds, at least one.
        let t = date(2024, 5, 15)
            .at(10, 30, 5, 500_000_000)
            .to_zoned(TimeZone::UTC)
            .unwrap();
        let every = |spec| parse(spec).unwrap().next_after(&t).unwrap().datetime();
        assert_eq!(every("@every 1h30m"), date(2024, 5, 15).at(12, 0, 5, 0));
        assert_eq!(every("@every 90.9s"), date(2024, 5, 15).at(10, 31, 35, 0));
        assert_eq!(every("@every 10ms"), date(2024, 5, 15).at(10, 30, 6, 0));
    }

    #[test]
    fn zones() {
        // A fixed offset: wall-clock times in that zone.
        let tz = TimeZone::fixed(k8s_openapi::jiff::tz::offset(9));
        assert_eq!(
            runs("0 9 * * *", tz, date(2024, 1, 1).at(10, 0, 0, 0), 1),
            ["Tue 2024-01-02 09:00:00 +09:00"]
        );
        // Central European rules: 02:30 is skipped on the day clocks go forward and runs
        // twice on the day they go back; other times keep their wall-clock time.
        let cet = TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        assert_eq!(
            runs(
                "30 2 * * *",
                cet.clone(),
                date(2024, 3, 30).at(12, 0, 0, 0),
                2
            ),
            [
                "Mon 2024-04-01 02:30:00 +02:00",
                "Tue 2024-04-02 02:30:00 +02:00"
            ]
        );
        assert_eq!(
            runs(
                "30 2 * * *",
                cet.clone(),
                date(2024, 10, 26).at(12, 0, 0, 0),
                3
            ),
            [
                "Sun 2024-10-27 02:30:00 +02:00",
                "Sun 2024-10-27 02:30:00 +01:00",
                "Mon 2024-10-28 02:30:00 +01:00"
            ]
        );
        assert_eq!(
            runs("*/20 2 * * *", cet, date(2024, 10, 27).at(2, 30, 0, 0), 4),
            [
                "Sun 2024-10-27 02:40:00 +02:00",
                "Sun 2024-10-27 02:00:00 +01:00",
                "Sun 2024-10-27 02:20:00 +01:00",
                "Sun 2024-10-27 02:40:00 +01:00"
            ]
        );
    }

    #[test]
    fn zone_prefix_and_lookup() {
        let s = parse("CRON_TZ=Asia/Tokyo 0 9 * * *").unwrap();
        assert_eq!(s.zone(), Some("Asia/Tokyo"));
        assert_eq!(parse("0 9 * * *").unwrap().zone(), None);
        assert_eq!(time_zone("UTC"), Ok(TimeZone::UTC));
        assert_eq!(time_zone(""), Ok(TimeZone::UTC));
        assert_eq!(
            time_zone("../etc/passwd"),
            Err("time: invalid location name".into())
        );
        assert_eq!(
            time_zone("Mars/Olympus_Mons"),
            Err("unknown time zone Mars/Olympus_Mons".into())
        );
        // The host's tzdata, when it has one.
        if let Ok(berlin) = time_zone("Europe/Berlin") {
            assert_eq!(
                runs("0 9 * * *", berlin, date(2024, 7, 1).at(10, 0, 0, 0), 1),
                ["Tue 2024-07-02 09:00:00 +02:00"]
            );
        }
    }

    #[test]
    fn durations_as_go_parses_them() {
        let ok = |s| go_duration(s).unwrap();
        assert_eq!(ok("1h30m"), SignedDuration::from_secs(5400));
        assert_eq!(ok("1.5s"), SignedDuration::from_millis(1500));
        assert_eq!(ok("-2m"), SignedDuration::from_secs(-120));
        assert_eq!(ok("0"), SignedDuration::ZERO);
        assert_eq!(ok("300\u{b5}s"), SignedDuration::from_micros(300));
        assert_eq!(ok(".5h"), SignedDuration::from_secs(1800));
        let err = |s| go_duration(s).unwrap_err();
        assert_eq!(err(""), "time: invalid duration \"\"");
        assert_eq!(err("10"), "time: missing unit in duration \"10\"");
        assert_eq!(err("1x"), "time: unknown unit \"x\" in duration \"1x\"");
        assert_eq!(err("."), "time: invalid duration \".\"");
        assert_eq!(err("9999999999h"), "time: invalid duration \"9999999999h\"");
    }
}
