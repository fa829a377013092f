//! Nodes, and the taint rules node taints share with pod tolerations.

use std::collections::BTreeSet;

use serde_json::Value;

use super::checks::one_of;
use super::errs::Errs;
use super::formats::{label_value, qualified_name};
use super::json::present;
use super::path::Path;
use super::render::{go_ptr, quote};

pub(super) fn node(e: &mut Errs, obj: &Value) {
    let Some(spec) = e.obj(obj, &Path::root(), "spec") else {
        return;
    };
    let sp = Path::new("spec");
    let Some(taints) = e.arr(spec, &sp, "taints") else {
        return;
    };
    // Upstream reports taints under `metadata.taints`.
    let tp = Path::new("metadata.taints");
    let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
    for (i, taint) in taints.iter().enumerate() {
        let ip = tp.index(i);
        if e.as_obj(taint, &sp.child("taints").index(i)).is_none() {
            continue;
        }
        let key = e.string(taint, &ip, "key").unwrap_or("");
        let value = e.string(taint, &ip, "value").unwrap_or("");
        let effect = e.string(taint, &ip, "effect").unwrap_or("");
        for msg in qualified_name(key) {
            e.invalid_str(&ip.child("key"), key, &msg);
        }
        taint_value(e, &ip.child("value"), value);
        one_of(e, &ip.child("effect"), effect, &TAINT_EFFECTS);
        if !seen.insert((effect, key)) {
            let added = go_ptr(present(taint, "timeAdded").is_some(), "v1.Time");
            e.duplicate(
                &ip,
                &format!(
                    "core.Taint{{Key:{}, Value:{}, Effect:{}, TimeAdded:{added}}}: taints must be unique by key and effect pair",
                    quote(key),
                    quote(value),
                    quote(effect)
                ),
            );
        }
    }
}

/// Taint effects, in upstream's order.
pub(super) const TAINT_EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// Taint values are label values, with all problems in one message.
pub(super) fn taint_value(e: &mut Errs, p: &Path, value: &str) {
    let errs = label_value(value);
    if !errs.is_empty() {
        e.invalid_str(p, value, &errs.join(";"));
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::validate_create;
    use serde_json::json;

    #[test]
    fn node_taints() {
        let n = json!({"metadata": {"name": "n"}, "spec": {"taints": [{"key": "k", "effect": "Sometimes"}]}});
        assert_only(
            &validate_create("Node", &n),
            "metadata.taints[0].effect",
            "Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
        );
        let n = json!({"metadata": {"name": "n"}, "spec": {"taints": [{"key": "k"}]}});
        assert_only(
            &validate_create("Node", &n),
            "metadata.taints[0].effect",
            "Required value",
        );
        let n = json!({"metadata": {"name": "n"}, "spec": {"taints": [
            {"key": "k", "value": "a", "effect": "NoSchedule"},
            {"key": "k", "value": "b", "effect": "NoSchedule"}
        ]}});
        assert_only(
            &validate_create("Node", &n),
            "metadata.taints[1]",
            "Duplicate value: core.Taint{Key:\"k\", Value:\"b\", Effect:\"NoSchedule\", TimeAdded:(*v1.Time)(nil)}: taints must be unique by key and effect pair",
        );
        let n = json!({"metadata": {"name": "n"}, "spec": {"taints": [{"key": "bad key", "effect": "NoExecute"}]}});
        assert_only(
            &validate_create("Node", &n),
            "metadata.taints[0].key",
            &format!("Invalid value: \"bad key\": {NAME_PART_ERR}"),
        );
    }
}
