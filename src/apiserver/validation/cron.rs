//! Cron schedules as the apiserver validates them: parsed by the same parser the CronJob
//! controller schedules with ([`crate::kinds::cron`]), whose error texts are reported as they
//! are.

/// Parses a schedule like the standard cron parser the apiserver uses
/// (5 fields or a descriptor), returning that parser's error text.
pub(super) fn cron_schedule(spec: &str) -> Result<(), String> {
    crate::kinds::cron::parse(spec).map(|_| ())
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
