//! How Kubernetes lists merge, in one table for the apiserver (managedFields, server-side
//! apply, strategic merge patch) and the TUI's editor. Each list has two behaviours,
//! because upstream declares them separately and they differ:
//! - server-side apply and managedFields follow `x-kubernetes-list-type` ([`ListType`]):
//!   Service ports are keyed by port *and* protocol;
//! - strategic merge patch follows `patchStrategy`/`patchMergeKey` ([`PatchStrategy`]):
//!   Service ports merge by port alone, and finalizers are a union of scalars.
//!
//! Lists not in the table are atomic for both: replaced whole (tolerations, args, and —
//! as upstream declares them — a node's taints, which `kubectl taint` always sends whole).
//!
//! A list is named by its field and by the field that holds the object it is in: the
//! top-level field name for objects, the list's field name for its items (a container's
//! `ports` is held by `containers`, a Service's by `spec`).

/// How a list merges in server-side apply and managedFields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    /// Items are identified by these fields of theirs.
    Map(&'static [&'static str]),
    /// Scalars, each present or not.
    Set,
    /// Replaced as a whole.
    Atomic,
}

/// How a list merges in a strategic merge patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchStrategy {
    /// The patch's list replaces the live one.
    Replace,
    /// Items with equal values of this field are merged; others are added.
    MergeByKey(&'static str),
    /// A union of scalars (`$deleteFromPrimitiveList` removes some).
    MergePrimitives,
}

/// One list's behaviours. `parent: None` matches any holder.
struct Rule {
    parent: Option<&'static [&'static str]>,
    field: &'static str,
    apply: ListType,
    patch: PatchStrategy,
}

const fn rule(
    parent: Option<&'static [&'static str]>,
    field: &'static str,
    apply: ListType,
    patch: PatchStrategy,
) -> Rule {
    Rule {
        parent,
        field,
        apply,
        patch,
    }
}

use ListType::{Atomic, Map, Set};
use PatchStrategy::{MergeByKey, MergePrimitives, Replace};

/// First match wins, so the rules for one field name held by a specific parent come first.
const RULES: &[Rule] = &[
    // A Service's ports.
    rule(
        Some(&["spec"]),
        "ports",
        Map(&["port", "protocol"]),
        MergeByKey("port"),
    ),
    // An EndpointSlice's (top level), an EndpointSubset's, a NetworkPolicy rule's.
    rule(
        Some(&["", "subsets", "ingress", "egress"]),
        "ports",
        Atomic,
        Replace,
    ),
    // A container's ports.
    rule(
        None,
        "ports",
        Map(&["containerPort", "protocol"]),
        MergeByKey("containerPort"),
    ),
    rule(None, "containers", Map(&["name"]), MergeByKey("name")),
    rule(None, "initContainers", Map(&["name"]), MergeByKey("name")),
    rule(
        None,
        "ephemeralContainers",
        Map(&["name"]),
        MergeByKey("name"),
    ),
    rule(None, "env", Map(&["name"]), MergeByKey("name")),
    rule(None, "volumes", Map(&["name"]), MergeByKey("name")),
    rule(
        None,
        "volumeMounts",
        Map(&["mountPath"]),
        MergeByKey("mountPath"),
    ),
    rule(
        None,
        "volumeDevices",
        Map(&["devicePath"]),
        MergeByKey("devicePath"),
    ),
    rule(None, "imagePullSecrets", Map(&["name"]), MergeByKey("name")),
    rule(None, "conditions", Map(&["type"]), MergeByKey("type")),
    rule(None, "ownerReferences", Map(&["uid"]), MergeByKey("uid")),
    rule(None, "hostAliases", Map(&["ip"]), MergeByKey("ip")),
    rule(
        None,
        "topologySpreadConstraints",
        Map(&["topologyKey", "whenUnsatisfiable"]),
        MergeByKey("topologyKey"),
    ),
    rule(None, "resourceClaims", Map(&["name"]), MergeByKey("name")),
    rule(None, "schedulingGates", Map(&["name"]), MergeByKey("name")),
    // A ServiceAccount's secrets.
    rule(None, "secrets", Map(&["name"]), MergeByKey("name")),
    // A Node's status addresses, a Pod's status IPs.
    rule(
        Some(&["status"]),
        "addresses",
        Map(&["type"]),
        MergeByKey("type"),
    ),
    rule(None, "podIPs", Map(&["ip"]), MergeByKey("ip")),
    rule(None, "hostIPs", Map(&["ip"]), MergeByKey("ip")),
    rule(Some(&["spec"]), "podCIDRs", Set, MergePrimitives),
    // metadata.finalizers; a Namespace's spec.finalizers are atomic.
    rule(Some(&["spec"]), "finalizers", Atomic, Replace),
    rule(None, "finalizers", Set, MergePrimitives),
];

/// The value a list-map key has when an item leaves it out, as upstream's schema defaults
/// it: a port without a protocol is a TCP port (and is the same item as one saying TCP).
pub fn key_default(key: &str) -> Option<serde_json::Value> {
    (key == "protocol").then(|| "TCP".into())
}

fn find(parent: &str, field: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.field == field && r.parent.is_none_or(|ps| ps.contains(&parent)))
}

/// The server-side apply behaviour of the list at `field`, held by `parent`.
pub fn list_type(parent: &str, field: &str) -> ListType {
    find(parent, field).map_or(Atomic, |r| r.apply)
}

/// The strategic-merge-patch behaviour of the list at `field`, held by `parent`.
pub fn patch_strategy(parent: &str, field: &str) -> PatchStrategy {
    find(parent, field).map_or(Replace, |r| r.patch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_merge_by_the_key_of_what_holds_them() {
        assert_eq!(
            list_type("spec", "ports"),
            ListType::Map(&["port", "protocol"])
        );
        assert_eq!(patch_strategy("spec", "ports"), MergeByKey("port"));
        assert_eq!(
            list_type("containers", "ports"),
            ListType::Map(&["containerPort", "protocol"])
        );
        assert_eq!(
            patch_strategy("containers", "ports"),
            MergeByKey("containerPort")
        );
        assert_eq!(list_type("subsets", "ports"), Atomic);
        assert_eq!(list_type("", "ports"), Atomic);
        assert_eq!(list_type("spec", "containers"), ListType::Map(&["name"]));
        assert_eq!(list_type("metadata", "finalizers"), ListType::Set);
        assert_eq!(patch_strategy("metadata", "finalizers"), MergePrimitives);
        assert_eq!(list_type("", "command"), ListType::Atomic);
        assert_eq!(patch_strategy("containers", "args"), Replace);
    }

    #[test]
    fn taints_are_replaced_whole_as_upstream_declares() {
        assert_eq!(list_type("spec", "taints"), Atomic);
        assert_eq!(patch_strategy("spec", "taints"), Replace);
    }
}
