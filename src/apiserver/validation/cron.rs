//! Cron schedules, parsed like the standard cron parser the apiserver uses,
//! with that parser's error texts (and Go's, for the numbers and durations
//! inside).

use super::render::quote;

/// A cron field's range and, for months and weekdays, its names.
struct CronField {
    min: u64,
    max: u64,
    names: &'static [&'static str],
    first_name: u64,
}

const CRON_FIELDS: [CronField; 5] = [
    CronField {
        min: 0,
        max: 59,
        names: &[],
        first_name: 0,
    },
    CronField {
        min: 0,
        max: 23,
        names: &[],
        first_name: 0,
    },
    CronField {
        min: 1,
        max: 31,
        names: &[],
        first_name: 0,
    },
    CronField {
        min: 1,
        max: 12,
        names: &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
        first_name: 1,
    },
    CronField {
        min: 0,
        max: 6,
        names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
        first_name: 0,
    },
];

/// Parses a schedule like the standard cron parser the apiserver uses
/// (5 fields or a descriptor), returning that parser's error text.
pub(super) fn cron_schedule(spec: &str) -> Result<(), String> {
    if spec.is_empty() {
        return Err("empty spec string".to_string());
    }
    let mut spec = spec;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        match spec.find(' ') {
            Some(i) => spec = spec[i..].trim(),
            None => return Err(format!("provided bad location {spec}")),
        }
    }
    if spec.starts_with('@') {
        return cron_descriptor(spec);
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    for (field, bounds) in fields.iter().zip(CRON_FIELDS.iter()) {
        for expr in field.split(',').filter(|s| !s.is_empty()) {
            cron_range(expr, bounds)?;
        }
    }
    Ok(())
}

fn cron_descriptor(spec: &str) -> Result<(), String> {
    match spec {
        "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@midnight" | "@hourly" => {
            Ok(())
        }
        _ => match spec.strip_prefix("@every ") {
            Some(duration) => go_duration(duration)
                .map_err(|err| format!("failed to parse duration {spec}: {err}")),
            None => Err(format!("unrecognized descriptor: {spec}")),
        },
    }
}

fn cron_range(expr: &str, f: &CronField) -> Result<(), String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_high: Vec<&str> = range_and_step[0].split('-').collect();
    let (start, mut end) = if low_high[0] == "*" || low_high[0] == "?" {
        (f.min, f.max)
    } else {
        let start = cron_int_or_name(low_high[0], f)?;
        let end = match low_high.len() {
            1 => start,
            2 => cron_int_or_name(low_high[1], f)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        (start, end)
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = go_atoi_unsigned(range_and_step[1])?;
            if low_high.len() == 1 {
                end = f.max;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < f.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            f.min
        ));
    }
    if end > f.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            f.max
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
    Ok(())
}

fn cron_int_or_name(expr: &str, f: &CronField) -> Result<u64, String> {
    let lower = expr.to_lowercase();
    if let Some(i) = f.names.iter().position(|n| *n == lower) {
        return Ok(f.first_name + i as u64);
    }
    go_atoi_unsigned(expr)
}

/// Go's `strconv.Atoi` as the cron parser reports it, refusing negatives.
fn go_atoi_unsigned(expr: &str) -> Result<u64, String> {
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
        Ok(n) => Ok(n as u64),
    }
}

/// Go's `time.ParseDuration` acceptance, with its error texts.
fn go_duration(orig: &str) -> Result<(), String> {
    let invalid = || format!("time: invalid duration {}", quote(orig));
    let mut s = orig.strip_prefix(['+', '-']).unwrap_or(orig);
    if s == "0" {
        return Ok(());
    }
    if s.is_empty() {
        return Err(invalid());
    }
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let mut rest = &s[int_len..];
        let mut frac_len = 0;
        if let Some(r) = rest.strip_prefix('.') {
            frac_len = r.bytes().take_while(u8::is_ascii_digit).count();
            rest = &r[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            return Err(invalid());
        }
        let unit_len = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {}", quote(orig)));
        }
        let unit = &rest[..unit_len];
        if !["ns", "us", "\u{b5}s", "\u{3bc}s", "ms", "s", "m", "h"].contains(&unit) {
            return Err(format!(
                "time: unknown unit {} in duration {}",
                quote(unit),
                quote(orig)
            ));
        }
        s = &rest[unit_len..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::validate_create;
    use serde_json::json;

    #[test]
    fn cron_schedules() {
        let mut c = cron_job();
        let bad = [
            ("* * *", "expected exactly 5 fields, found 3: [* * *]"),
            ("60 * * * *", "end of range (60) above maximum (59): 60"),
            ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
            (
                "5-1 * * * *",
                "beginning of range (5) beyond end of range (1): 5-1",
            ),
            (
                "*/0 * * * *",
                "step of range should be a positive number: */0",
            ),
            (
                "* * * * funday",
                "failed to parse int from funday: strconv.Atoi: parsing \"funday\": invalid syntax",
            ),
            ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
            ("@reboot", "unrecognized descriptor: @reboot"),
            (
                "@every 1x",
                "failed to parse duration @every 1x: time: unknown unit \"x\" in duration \"1x\"",
            ),
            (
                "@every 10",
                "failed to parse duration @every 10: time: missing unit in duration \"10\"",
            ),
        ];
        for (schedule, msg) in bad {
            set(&mut c, "/spec/schedule", json!(schedule));
            assert_only(
                &validate_create("CronJob", &c),
                "spec.schedule",
                &format!("Invalid value: \"{schedule}\": {msg}"),
            );
        }
        for schedule in [
            "@hourly",
            "@daily",
            "@weekly",
            "@monthly",
            "@yearly",
            "@annually",
            "@midnight",
            "@every 1h30m",
            "0 9 * JAN-MAR MON-FRI",
            "*/15 0-6,18-23 ? * sun",
        ] {
            set(&mut c, "/spec/schedule", json!(schedule));
            assert_eq!(validate_create("CronJob", &c), vec![], "{schedule}");
        }
    }
}
