//! Failure rules of the simulated runtime: the cluster config's `simulate:` list says which
//! images fail to pull, crash, start slowly or never become ready, so a broken rollout can be
//! shown on purpose (`kubectl set image deploy/web nginx=nginx:doesnotexist`).
//!
//! The supervisor writes the list to a file the builtin kubelet reads at start
//! (`--simulate-rules`); the first rule whose image pattern matches a container decides.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One rule, as written in kwb.yaml.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    /// The container image, with `*` matching any run of characters (`*:doesnotexist`).
    pub image: String,
    /// Pulling the image fails: ErrImagePull, then ImagePullBackOff.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pull_error: bool,
    /// Pulling takes this long (ContainerCreating), e.g. `20s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_delay: Option<String>,
    /// The container exits this long after it starts (CrashLoopBackOff when it restarts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash_after: Option<String>,
    /// The exit code of a crash (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Readiness never passes: probes are answered 503, and a container without a readiness
    /// probe stays not ready as if it had a failing one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unready: bool,
}

/// The rules kwb applies when the config has no `simulate:` list: image tags that name
/// what they do, so a failure can be shown without editing any config.
pub fn defaults() -> Vec<Rule> {
    vec![
        Rule {
            image: "*:doesnotexist".into(),
            pull_error: true,
            ..Rule::default()
        },
        Rule {
            image: "*:crash".into(),
            crash_after: Some("5s".into()),
            ..Rule::default()
        },
        Rule {
            image: "*:slow".into(),
            start_delay: Some("20s".into()),
            ..Rule::default()
        },
        Rule {
            image: "*:unready".into(),
            unready: true,
            ..Rule::default()
        },
    ]
}

/// What the rules make of one container's image.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Effect {
    pub pull_error: bool,
    pub start_delay: Duration,
    pub crash_after: Option<Duration>,
    pub exit_code: i32,
    pub unready: bool,
}

/// The rules, checked: durations parsed once.
#[derive(Clone, Debug, Default)]
pub struct Rules(Vec<(Rule, Effect)>);

impl Rules {
    /// Checks every rule; an error names the rule by its position and image.
    pub fn new(rules: Vec<Rule>) -> Result<Rules, String> {
        let mut out = Vec::new();
        for (i, r) in rules.into_iter().enumerate() {
            let at = |field: &str, e: String| {
                format!(
                    "simulate[{i}] (image {:?}): {field}: {e}; write durations as 5s, 1m30s",
                    r.image
                )
            };
            let duration = |field: &str, v: &Option<String>| -> Result<Option<Duration>, String> {
                v.as_deref()
                    .map(|s| {
                        crate::kinds::cron::go_duration(s)
                            .ok()
                            .and_then(|d| Duration::try_from(d).ok())
                            .ok_or_else(|| at(field, format!("{s:?} is not a duration")))
                    })
                    .transpose()
            };
            if r.image.is_empty() {
                return Err(format!(
                    "simulate[{i}]: image is empty; give a pattern such as \"*:doesnotexist\""
                ));
            }
            let effect = Effect {
                pull_error: r.pull_error,
                start_delay: duration("startDelay", &r.start_delay)?.unwrap_or_default(),
                crash_after: duration("crashAfter", &r.crash_after)?,
                exit_code: r.exit_code.unwrap_or(1),
                unready: r.unready,
            };
            out.push((r, effect));
        }
        Ok(Rules(out))
    }

    /// The effect of the first rule matching `image`; none: a healthy container.
    pub fn effect(&self, image: &str) -> Effect {
        self.0
            .iter()
            .find(|(r, _)| glob(&r.image, image))
            .map(|(_, e)| e.clone())
            .unwrap_or(Effect {
                exit_code: 1,
                ..Effect::default()
            })
    }
}

/// `*` matches any run of characters (`/` included); everything else literally.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_shells_do_with_one_wildcard() {
        assert!(glob("*:doesnotexist", "nginx:doesnotexist"));
        assert!(glob(
            "*:doesnotexist",
            "registry.local/team/app:doesnotexist"
        ));
        assert!(!glob("*:doesnotexist", "nginx:1.27"));
        assert!(glob("nginx", "nginx"));
        assert!(!glob("nginx", "nginx:1.27"));
        assert!(glob("*/slow*", "me/slow-app:1"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(!glob("a*b*c", "aXcYb"));
        assert!(!glob("ab*ba", "aba"), "the ends may not overlap");
    }

    #[test]
    fn the_first_matching_rule_decides_and_durations_are_checked() {
        let rules = Rules::new(defaults()).unwrap();
        assert!(rules.effect("nginx:doesnotexist").pull_error);
        let crash = rules.effect("busybox:crash");
        assert_eq!(crash.crash_after, Some(Duration::from_secs(5)));
        assert_eq!(crash.exit_code, 1);
        assert_eq!(
            rules.effect("nginx:slow").start_delay,
            Duration::from_secs(20)
        );
        assert!(rules.effect("nginx:unready").unready);
        let healthy = rules.effect("nginx:1.27");
        assert!(!healthy.pull_error && !healthy.unready && healthy.crash_after.is_none());
        let bad = Rules::new(vec![Rule {
            image: "x".into(),
            crash_after: Some("soon".into()),
            ..Rule::default()
        }])
        .unwrap_err();
        assert!(
            bad.contains("simulate[0]") && bad.contains("crashAfter"),
            "{bad}"
        );
    }
}
