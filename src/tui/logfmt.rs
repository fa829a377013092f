//! Makes structured log lines readable in a narrow pane. etcd (zap) and Kubernetes components
//! with `--logging-format=json` print one JSON object per line, whose message sits past column
//! 80; shown as `I 02:53:02.387 serving client traffic securely address=127.0.0.1:2379` instead.
//! The log file keeps the raw line.

use serde_json::{Map, Value};

/// The readable form of `text`, or None when it is not a structured log line.
pub fn readable(text: &str) -> Option<String> {
    if !text.starts_with('{') {
        return None;
    }
    let Ok(Value::Object(mut obj)) = serde_json::from_str::<Value>(text) else {
        return None;
    };
    let msg = take_str(&mut obj, &["msg", "message"])?;
    let level = take_str(&mut obj, &["level", "severity", "lvl"]).unwrap_or_default();
    let ts = take_str(&mut obj, &["ts", "time", "timestamp"]).unwrap_or_default();
    for noise in ["caller", "logger", "v"] {
        obj.remove(noise);
    }
    let mut out = String::with_capacity(text.len() / 2);
    out.push(level_letter(&level));
    out.push(' ');
    if let Some(clock) = clock_of(&ts) {
        out.push_str(clock);
        out.push(' ');
    }
    out.push_str(&msg);
    for (k, v) in obj {
        out.push(' ');
        out.push_str(&k);
        out.push('=');
        match v {
            Value::String(s) => out.push_str(&s),
            other => out.push_str(&other.to_string()),
        }
    }
    Some(out)
}

fn take_str(obj: &mut Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match obj.remove(*k)? {
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

/// klog's letters: I W E F, D for debug.
fn level_letter(level: &str) -> char {
    match level.to_ascii_lowercase().as_str() {
        "warn" | "warning" => 'W',
        "error" | "dpanic" | "panic" => 'E',
        "fatal" => 'F',
        "debug" | "trace" => 'D',
        _ => 'I',
    }
}

/// `HH:MM:SS.mmm` out of an RFC 3339 timestamp; numeric (epoch) timestamps are dropped.
fn clock_of(ts: &str) -> Option<&str> {
    let t = ts.split_once('T')?.1;
    Some(&t[..t.len().min(12)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zap_lines_become_level_time_message_and_fields() {
        let line = r#"{"level":"info","ts":"2026-11-22T02:53:02.387Z","caller":"embed/etcd.go:719","msg":"serving client traffic securely","address":"127.0.0.1:2379"}"#;
        assert_eq!(
            readable(line).unwrap(),
            "I 02:53:02.387 serving client traffic securely address=127.0.0.1:2379"
        );
        let warn = r#"{"level":"warn","msg":"slow","took":1.5,"peers":["a"]}"#;
        assert_eq!(readable(warn).unwrap(), r#"W slow peers=["a"] took=1.5"#);
    }

    #[test]
    fn other_lines_are_left_alone() {
        assert_eq!(readable("plain text"), None);
        assert_eq!(readable("{not json"), None);
        assert_eq!(readable(r#"{"no":"message"}"#), None);
        assert_eq!(readable("[1,2]"), None);
    }
}
