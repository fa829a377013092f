//! nodeSelector and node affinity, evaluated the way upstream's component-helpers do.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Node, NodeSelectorRequirement, NodeSelectorTerm, Pod};

/// The only field node affinity can select on.
const NAME_FIELD: &str = "metadata.name";

/// Whether the node satisfies the pod's nodeSelector and its required node affinity.
pub fn matches_required(pod: &Pod, node: &Node) -> bool {
    let Some(spec) = pod.spec.as_ref() else {
        return true;
    };
    let labels = node.metadata.labels.as_ref();
    let selector_ok = spec
        .node_selector
        .iter()
        .flatten()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v));
    if !selector_ok {
        return false;
    }
    match required_terms(pod) {
        // Terms are ORed; an empty list matches no node.
        Some(terms) => terms.iter().any(|t| term_matches(t, node)),
        None => true,
    }
}

/// The required node selector terms, when the pod sets required node affinity at all.
fn required_terms(pod: &Pod) -> Option<&[NodeSelectorTerm]> {
    pod.spec
        .as_ref()?
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()
        .map(|s| s.node_selector_terms.as_slice())
}

/// One term: its expressions and fields are ANDed. An empty term matches nothing, and a term
/// with an invalid requirement matches nothing either (upstream skips terms it cannot parse).
pub fn term_matches(term: &NodeSelectorTerm, node: &Node) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    exprs
        .iter()
        .all(|r| label_requirement(r, node).unwrap_or(false))
        && fields
            .iter()
            .all(|r| field_requirement(r, node).unwrap_or(false))
}

/// A label requirement; `None` when it is invalid (wrong number of values, non-integer Gt/Lt).
fn label_requirement(r: &NodeSelectorRequirement, node: &Node) -> Option<bool> {
    let values = r.values.as_deref().unwrap_or_default();
    let got = node
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(&r.key))
        .map(String::as_str);
    match r.operator.as_str() {
        "In" if !values.is_empty() => Some(got.is_some_and(|v| values.iter().any(|x| x == v))),
        "NotIn" if !values.is_empty() => Some(got.is_none_or(|v| values.iter().all(|x| x != v))),
        "Exists" if values.is_empty() => Some(got.is_some()),
        "DoesNotExist" if values.is_empty() => Some(got.is_none()),
        op @ ("Gt" | "Lt") => {
            let [bound] = values else {
                return None;
            };
            let bound: i64 = bound.parse().ok()?;
            // A label that is absent or not an integer simply does not match.
            let Some(v) = got.and_then(|v| v.parse::<i64>().ok()) else {
                return Some(false);
            };
            Some(if op == "Gt" { v > bound } else { v < bound })
        }
        _ => None,
    }
}

/// A field requirement: only `metadata.name` with In/NotIn and exactly one value is valid.
fn field_requirement(r: &NodeSelectorRequirement, node: &Node) -> Option<bool> {
    let [value] = r.values.as_deref().unwrap_or_default() else {
        return None;
    };
    if r.key != NAME_FIELD {
        return None;
    }
    let name = node.metadata.name.as_deref().unwrap_or_default();
    match r.operator.as_str() {
        "In" => Some(name == value),
        "NotIn" => Some(name != value),
        _ => None,
    }
}

/// What upstream's NodeAffinity PreFilter concludes from `metadata.name` fields before any
/// node is looked at (this is how DaemonSet pods are pinned to their node).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamePins {
    /// Some term does not pin names: every node is a candidate.
    AllNodes,
    /// Only these node names can match.
    Only(BTreeSet<String>),
    /// Every term pins names and they contradict each other: no node can match.
    Conflict,
}

pub fn name_pins(pod: &Pod) -> NamePins {
    let Some(terms) = required_terms(pod) else {
        return NamePins::AllNodes;
    };
    let mut union: Option<BTreeSet<String>> = None;
    for term in terms {
        let mut in_term: Option<BTreeSet<String>> = None;
        for r in term.match_fields.iter().flatten() {
            if r.key != NAME_FIELD || r.operator != "In" {
                continue;
            }
            let names: BTreeSet<String> = r.values.iter().flatten().cloned().collect();
            // Requirements within a term are ANDed: intersect.
            in_term = Some(match in_term {
                Some(prev) => prev.intersection(&names).cloned().collect(),
                None => names,
            });
        }
        // Terms are ORed: one term without a name pin leaves every node possible.
        let Some(in_term) = in_term else {
            return NamePins::AllNodes;
        };
        union.get_or_insert_with(BTreeSet::new).extend(in_term);
    }
    match union {
        Some(names) if names.is_empty() => NamePins::Conflict,
        Some(names) => NamePins::Only(names),
        None => NamePins::AllNodes,
    }
}

/// Sum of the weights of the preferred terms the node matches (weight 0 terms are ignored).
pub fn preferred_weight(pod: &Pod, node: &Node) -> Option<i64> {
    let terms = pod
        .spec
        .as_ref()?
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .preferred_during_scheduling_ignored_during_execution
        .as_ref()?;
    Some(
        terms
            .iter()
            .filter(|t| t.weight != 0 && term_matches(&t.preference, node))
            .map(|t| i64::from(t.weight))
            .sum(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::testutil::*;
    use serde_json::json;

    fn labelled(name: &str, labels: serde_json::Value) -> Node {
        node_from(json!({"metadata": {"name": name, "labels": labels}}))
    }

    fn with_required(terms: serde_json::Value) -> Pod {
        pod_json(json!({
            "containers": [{"name": "c"}],
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}
        }))
    }

    #[test]
    fn node_selector() {
        let n = labelled("n1", json!({"disk": "ssd", "zone": "a"}));
        let ok = pod_json(json!({"containers": [{"name": "c"}], "nodeSelector": {"disk": "ssd"}}));
        let bad = pod_json(json!({"containers": [{"name": "c"}], "nodeSelector": {"disk": "hdd"}}));
        let missing =
            pod_json(json!({"containers": [{"name": "c"}], "nodeSelector": {"gpu": "yes"}}));
        assert!(matches_required(&ok, &n));
        assert!(!matches_required(&bad, &n));
        assert!(!matches_required(&missing, &n));
        assert!(matches_required(&pod_json(json!({"containers": []})), &n));
    }

    #[test]
    fn required_affinity_table() {
        let n = labelled("n1", json!({"zone": "a", "cores": "8", "disk": "ssd"}));
        let expr = |key: &str, op: &str, values: serde_json::Value| json!([{"matchExpressions": [{"key": key, "operator": op, "values": values}]}]);
        let cases = [
            ("In match", expr("zone", "In", json!(["a", "b"])), true),
            ("In miss", expr("zone", "In", json!(["b"])), false),
            ("In absent label", expr("gpu", "In", json!(["x"])), false),
            (
                "In without values is invalid",
                expr("zone", "In", json!([])),
                false,
            ),
            ("NotIn match", expr("zone", "NotIn", json!(["b"])), true),
            ("NotIn miss", expr("zone", "NotIn", json!(["a"])), false),
            (
                "NotIn absent label matches",
                expr("gpu", "NotIn", json!(["x"])),
                true,
            ),
            ("Exists", expr("disk", "Exists", json!(null)), true),
            ("Exists absent", expr("gpu", "Exists", json!(null)), false),
            (
                "Exists with values is invalid",
                expr("disk", "Exists", json!(["ssd"])),
                false,
            ),
            (
                "DoesNotExist",
                expr("gpu", "DoesNotExist", json!(null)),
                true,
            ),
            (
                "DoesNotExist present",
                expr("disk", "DoesNotExist", json!(null)),
                false,
            ),
            ("Gt", expr("cores", "Gt", json!(["4"])), true),
            (
                "Gt equal is not greater",
                expr("cores", "Gt", json!(["8"])),
                false,
            ),
            ("Lt", expr("cores", "Lt", json!(["16"])), true),
            (
                "Gt non-integer label",
                expr("zone", "Gt", json!(["1"])),
                false,
            ),
            (
                "Gt non-integer value is invalid",
                expr("cores", "Gt", json!(["x"])),
                false,
            ),
            (
                "Gt two values is invalid",
                expr("cores", "Gt", json!(["1", "2"])),
                false,
            ),
            (
                "unknown operator",
                expr("zone", "Like", json!(["a"])),
                false,
            ),
            (
                "expressions in a term are ANDed",
                json!([{"matchExpressions": [
                    {"key": "zone", "operator": "In", "values": ["a"]},
                    {"key": "disk", "operator": "In", "values": ["hdd"]}
                ]}]),
                false,
            ),
            (
                "terms are ORed",
                json!([
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]},
                    {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}
                ]),
                true,
            ),
            ("empty term matches nothing", json!([{}]), false),
            ("no terms matches nothing", json!([]), false),
            (
                "matchFields on the name",
                json!([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]),
                true,
            ),
            (
                "matchFields NotIn",
                json!([{"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["n1"]}]}]),
                false,
            ),
            (
                "matchFields other field is invalid",
                json!([{"matchFields": [{"key": "metadata.uid", "operator": "In", "values": ["n1"]}]}]),
                false,
            ),
            (
                "matchFields two values is invalid",
                json!([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1", "n2"]}]}]),
                false,
            ),
            (
                "an invalid term does not spoil a valid one",
                json!([
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": []}]},
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                ]),
                true,
            ),
        ];
        for (name, terms, want) in cases {
            assert_eq!(matches_required(&with_required(terms), &n), want, "{name}");
        }
    }

    #[test]
    fn name_pins_table() {
        let pin = |names: serde_json::Value| json!({"matchFields": [{"key": "metadata.name", "operator": "In", "values": names}]});
        let only = |names: &[&str]| NamePins::Only(names.iter().map(|s| s.to_string()).collect());
        let cases = [
            (
                "no affinity",
                pod_json(json!({"containers": []})),
                NamePins::AllNodes,
            ),
            (
                "daemonset pin",
                with_required(json!([pin(json!(["n2"]))])),
                only(&["n2"]),
            ),
            (
                "union over terms",
                with_required(json!([pin(json!(["n1"])), pin(json!(["n3"]))])),
                only(&["n1", "n3"]),
            ),
            (
                "a term without a pin frees all nodes",
                with_required(
                    json!([pin(json!(["n1"])), {"matchExpressions": [{"key": "a", "operator": "Exists"}]}]),
                ),
                NamePins::AllNodes,
            ),
            (
                "contradicting pins in one term",
                with_required(json!([{"matchFields": [
                    {"key": "metadata.name", "operator": "In", "values": ["n1"]},
                    {"key": "metadata.name", "operator": "In", "values": ["n2"]}
                ]}])),
                NamePins::Conflict,
            ),
        ];
        for (name, pod, want) in cases {
            assert_eq!(name_pins(&pod), want, "{name}");
        }
    }

    #[test]
    fn preferred_weights() {
        let pod = pod_json(json!({
            "containers": [],
            "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}},
                {"weight": 5, "preference": {"matchExpressions": [{"key": "disk", "operator": "Exists"}]}},
                {"weight": 0, "preference": {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}},
                {"weight": 7, "preference": {}}
            ]}}
        }));
        assert_eq!(
            preferred_weight(&pod, &labelled("n", json!({"zone": "a", "disk": "x"}))),
            Some(15)
        );
        assert_eq!(
            preferred_weight(&pod, &labelled("n", json!({"zone": "b"}))),
            Some(0)
        );
        assert_eq!(
            preferred_weight(
                &pod_json(json!({"containers": []})),
                &labelled("n", json!({}))
            ),
            None
        );
    }
}
