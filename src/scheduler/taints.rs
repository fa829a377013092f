//! Taints and tolerations, matched the way upstream's component-helpers do.

use k8s_openapi::api::core::v1::{Node, Taint, Toleration};

pub const NO_SCHEDULE: &str = "NoSchedule";
pub const NO_EXECUTE: &str = "NoExecute";
pub const PREFER_NO_SCHEDULE: &str = "PreferNoSchedule";

/// Whether one toleration tolerates one taint. An empty effect matches every effect, an empty
/// key matches every key (validation only allows that with `Exists`, but matching does not
/// care), and an empty or absent operator means `Equal`. Unknown operators tolerate nothing.
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect = toleration.effect.as_deref().unwrap_or_default();
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = toleration.key.as_deref().unwrap_or_default();
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or_default() {
        "" | "Equal" => {
            toleration.value.as_deref().unwrap_or_default()
                == taint.value.as_deref().unwrap_or_default()
        }
        "Exists" => true,
        _ => false,
    }
}

/// Whether any of `tolerations` tolerates `taint`.
pub fn tolerated_by(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| tolerates(t, taint))
}

/// The node's taints.
pub fn node_taints(node: &Node) -> &[Taint] {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default()
}

/// The first NoSchedule/NoExecute taint (in the node's order) that no toleration covers; the
/// filter reports only that one, as upstream does.
pub fn first_untolerated<'a>(taints: &'a [Taint], tolerations: &[Toleration]) -> Option<&'a Taint> {
    taints.iter().find(|t| {
        (t.effect == NO_SCHEDULE || t.effect == NO_EXECUTE) && !tolerated_by(tolerations, t)
    })
}

/// How many PreferNoSchedule taints the pod does not tolerate. Only tolerations whose effect is
/// empty or PreferNoSchedule count, because upstream's scorer pre-selects exactly those.
pub fn intolerable_prefer_no_schedule(taints: &[Taint], tolerations: &[Toleration]) -> i64 {
    let relevant: Vec<Toleration> = tolerations
        .iter()
        .filter(|t| {
            matches!(
                t.effect.as_deref(),
                None | Some("") | Some(PREFER_NO_SCHEDULE)
            )
        })
        .cloned()
        .collect();
    let count = taints
        .iter()
        .filter(|t| t.effect == PREFER_NO_SCHEDULE && !tolerated_by(&relevant, t))
        .count();
    i64::try_from(count).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn taint(v: serde_json::Value) -> Taint {
        serde_json::from_value(v).expect("test taint")
    }

    fn toleration(v: serde_json::Value) -> Toleration {
        serde_json::from_value(v).expect("test toleration")
    }

    #[test]
    fn toleration_matching_table() {
        let cp = json!({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"});
        let gpu = json!({"key": "gpu", "value": "a100", "effect": "NoSchedule"});
        let cases = [
            (
                "exists with key and effect",
                json!({"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}),
                cp.clone(),
                true,
            ),
            (
                "exists, empty effect matches all effects",
                json!({"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}),
                cp.clone(),
                true,
            ),
            (
                "empty key with Exists tolerates everything",
                json!({"operator": "Exists"}),
                gpu.clone(),
                true,
            ),
            (
                "empty key with Exists, effect must still match",
                json!({"operator": "Exists", "effect": "NoExecute"}),
                gpu.clone(),
                false,
            ),
            (
                "equal by default, same value",
                json!({"key": "gpu", "value": "a100"}),
                gpu.clone(),
                true,
            ),
            (
                "explicit Equal, other value",
                json!({"key": "gpu", "operator": "Equal", "value": "h100"}),
                gpu.clone(),
                false,
            ),
            (
                "equal with no value matches taint without value",
                json!({"key": "node-role.kubernetes.io/control-plane", "operator": "Equal"}),
                cp.clone(),
                true,
            ),
            (
                "equal with no value vs taint with value",
                json!({"key": "gpu"}),
                gpu.clone(),
                false,
            ),
            (
                "other key",
                json!({"key": "other", "operator": "Exists"}),
                gpu.clone(),
                false,
            ),
            (
                "other effect",
                json!({"key": "gpu", "operator": "Exists", "effect": "PreferNoSchedule"}),
                gpu.clone(),
                false,
            ),
            (
                "unknown operator tolerates nothing",
                json!({"key": "gpu", "operator": "Gt", "value": "a100"}),
                gpu.clone(),
                false,
            ),
            (
                "empty key with Equal compares values only",
                json!({"value": "a100"}),
                gpu.clone(),
                true,
            ),
        ];
        for (name, tol, t, want) in cases {
            assert_eq!(tolerates(&toleration(tol), &taint(t)), want, "{name}");
        }
    }

    #[test]
    fn first_untolerated_skips_prefer_and_tolerated() {
        let taints = vec![
            taint(json!({"key": "soft", "effect": "PreferNoSchedule"})),
            taint(json!({"key": "a", "effect": "NoSchedule"})),
            taint(json!({"key": "b", "value": "x", "effect": "NoExecute"})),
        ];
        let tols = vec![toleration(json!({"key": "a", "operator": "Exists"}))];
        assert_eq!(
            first_untolerated(&taints, &tols).map(|t| t.key.as_str()),
            Some("b")
        );
        let all = vec![toleration(json!({"operator": "Exists"}))];
        assert!(first_untolerated(&taints, &all).is_none());
        assert!(first_untolerated(&taints[..1], &[]).is_none());
    }

    #[test]
    fn prefer_no_schedule_counting() {
        let taints = vec![
            taint(json!({"key": "a", "effect": "PreferNoSchedule"})),
            taint(json!({"key": "b", "effect": "PreferNoSchedule"})),
            taint(json!({"key": "c", "effect": "NoSchedule"})),
        ];
        assert_eq!(intolerable_prefer_no_schedule(&taints, &[]), 2);
        let tols = vec![
            toleration(json!({"key": "a", "operator": "Exists", "effect": "PreferNoSchedule"})),
            // A NoSchedule-only toleration does not help with PreferNoSchedule taints.
            toleration(json!({"key": "b", "operator": "Exists", "effect": "NoSchedule"})),
        ];
        assert_eq!(intolerable_prefer_no_schedule(&taints, &tols), 1);
        let any = vec![toleration(json!({"operator": "Exists"}))];
        assert_eq!(intolerable_prefer_no_schedule(&taints, &any), 0);
    }
}
