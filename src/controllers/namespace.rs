//! The namespace controller's deletion steps (upstream `pkg/controller/namespace/deletion`):
//! a namespace with a deletionTimestamp is marked Terminating, its content deleted
//! (pods first: `OrderedNamespaceDeletion` is on by default in 1.33, so nothing else is
//! deleted while a pod remains), its deletion conditions kept current, and once empty the
//! `kubernetes` finalizer is removed through the finalize subresource.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, NamespaceCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// The finalizer in `spec.finalizers` this controller owns.
pub const FINALIZER: &str = "kubernetes";

/// What is left of one namespaced resource in the namespace, as the caller listed it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Content {
    /// API group, "" for core.
    pub group: String,
    /// Plural resource name ("pods", "configmaps").
    pub resource: String,
    /// Objects of it still in the namespace.
    pub remaining: usize,
    /// How many of those carry each finalizer.
    pub finalizers: BTreeMap<String, usize>,
    /// Why the last delete-collection for it failed, if it did.
    pub delete_error: Option<String>,
}

impl Content {
    fn is_pods(&self) -> bool {
        self.group.is_empty() && self.resource == "pods"
    }
}

/// One pass of the namespace controller.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Set `status.phase: Terminating` first.
    pub set_terminating: bool,
    /// The whole new `status.conditions`, when they change.
    pub conditions: Option<Vec<NamespaceCondition>>,
    /// Delete-collection (propagation Background) of these (group, resource), in order.
    pub delete_collections: Vec<(String, String)>,
    /// Write these `spec.finalizers` through the finalize subresource (this controller's
    /// finalizer removed): the namespace is empty.
    pub finalize: Option<Vec<String>>,
}

const CONDITION_TYPES: [&str; 5] = [
    "NamespaceDeletionDiscoveryFailure",
    "NamespaceDeletionGroupVersionParsingFailure",
    "NamespaceDeletionContentFailure",
    "NamespaceContentRemaining",
    "NamespaceFinalizersRemaining",
];

/// Reason and message of each condition when all is well (status False).
fn ok(type_: &str) -> (&'static str, &'static str) {
    match type_ {
        "NamespaceDeletionDiscoveryFailure" => (
            "ResourcesDiscovered",
            "All resources successfully discovered",
        ),
        "NamespaceDeletionGroupVersionParsingFailure" => (
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed",
        ),
        "NamespaceDeletionContentFailure" => (
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization",
        ),
        "NamespaceContentRemaining" => ("ContentRemoved", "All content successfully removed"),
        _ => (
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished",
        ),
    }
}

fn stamp(now: Timestamp) -> Time {
    Time(Timestamp::from_second(now.as_second()).unwrap_or(now))
}

/// The next step for `ns` given what is left in it (`contents`: one entry per deletable
/// namespaced resource) and, if discovery of the API's resources failed, why (then the
/// contents may be incomplete and the namespace is not finalized).
pub fn plan(
    ns: &Namespace,
    contents: &[Content],
    discovery_error: Option<&str>,
    now: Timestamp,
) -> Plan {
    let mut out = Plan::default();
    if ns.metadata.deletion_timestamp.is_none() {
        return out;
    }
    let status = ns.status.as_ref();
    out.set_terminating = status.and_then(|s| s.phase.as_deref()) != Some("Terminating");
    let finalizers: Vec<String> = ns
        .spec
        .as_ref()
        .and_then(|s| s.finalizers.clone())
        .unwrap_or_default();
    if !finalizers.iter().any(|f| f == FINALIZER) {
        // Finalized already: what remains is other finalizers' business.
        return out;
    }

    // Pods go first; while any remains, the rest of the content is not touched (a
    // terminating pod may still read its ConfigMaps and Secrets, and its NetworkPolicies
    // must still apply).
    let pods_left = contents.iter().any(|c| c.is_pods() && c.remaining > 0);
    let considered: Vec<&Content> = contents
        .iter()
        .filter(|c| !pods_left || c.is_pods())
        .collect();
    out.delete_collections = considered
        .iter()
        .filter(|c| c.remaining > 0)
        .map(|c| (c.group.clone(), c.resource.clone()))
        .collect();

    let mut failures: BTreeMap<&str, (&str, String)> = BTreeMap::new();
    if let Some(e) = discovery_error {
        failures.insert(
            "NamespaceDeletionDiscoveryFailure",
            ("DiscoveryFailed", e.to_owned()),
        );
    }
    let mut errors: Vec<&str> = considered
        .iter()
        .filter_map(|c| c.delete_error.as_deref())
        .collect();
    if !errors.is_empty() {
        errors.sort_unstable();
        failures.insert(
            "NamespaceDeletionContentFailure",
            (
                "ContentDeletionFailed",
                format!(
                    "Failed to delete all resource types, {} remaining: {}",
                    errors.len(),
                    errors.join(", ")
                ),
            ),
        );
    }
    let mut remaining: Vec<String> = considered
        .iter()
        .filter(|c| c.remaining > 0)
        .map(|c| {
            format!(
                "{}.{} has {} resource instances",
                c.resource, c.group, c.remaining
            )
        })
        .collect();
    if !remaining.is_empty() {
        remaining.sort();
        failures.insert(
            "NamespaceContentRemaining",
            (
                "SomeResourcesRemain",
                format!("Some resources are remaining: {}", remaining.join(", ")),
            ),
        );
    }
    let mut by_finalizer: BTreeMap<&str, usize> = BTreeMap::new();
    for c in considered.iter().filter(|c| c.remaining > 0) {
        for (f, n) in &c.finalizers {
            *by_finalizer.entry(f).or_default() += n;
        }
    }
    let mut held: Vec<String> = by_finalizer
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(f, n)| format!("{f} in {n} resource instances"))
        .collect();
    if !held.is_empty() {
        held.sort();
        failures.insert(
            "NamespaceFinalizersRemaining",
            (
                "SomeFinalizersRemain",
                format!(
                    "Some content in the namespace has finalizers remaining: {}",
                    held.join(", ")
                ),
            ),
        );
    }

    let old: Vec<NamespaceCondition> = status
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let mut conds = old.clone();
    for type_ in CONDITION_TYPES {
        let (status, reason, message) = match failures.get(type_) {
            Some((reason, message)) => ("True", *reason, message.clone()),
            None => {
                let (reason, message) = ok(type_);
                ("False", reason, message.to_owned())
            }
        };
        match conds.iter_mut().find(|c| c.type_ == type_) {
            None => conds.push(NamespaceCondition {
                type_: type_.into(),
                status: status.into(),
                reason: Some(reason.into()),
                message: Some(message),
                last_transition_time: Some(stamp(now)),
            }),
            Some(c) => {
                if c.status != status {
                    c.last_transition_time = Some(stamp(now));
                }
                c.status = status.into();
                c.reason = Some(reason.into());
                c.message = Some(message);
            }
        }
    }
    if conds != old {
        out.conditions = Some(conds);
    }

    let empty = contents.iter().all(|c| c.remaining == 0);
    if empty && discovery_error.is_none() {
        let mut rest: Vec<String> = finalizers.into_iter().filter(|f| f != FINALIZER).collect();
        rest.sort();
        rest.dedup();
        out.finalize = Some(rest);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::controllers::fixtures::from;

    // These tests count time from the epoch itself.
    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).unwrap()
    }

    fn rfc(secs: i64) -> String {
        at(secs).to_string()
    }

    fn ns(extra: Value) -> Namespace {
        let mut v = json!({
            "metadata": {"name": "team", "deletionTimestamp": rfc(100)},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Terminating"},
        });
        if let (Some(dst), Some(src)) = (v.as_object_mut(), extra.as_object()) {
            for (k, val) in src {
                dst.insert(k.clone(), val.clone());
            }
        }
        from(v)
    }

    fn content(
        group: &str,
        resource: &str,
        remaining: usize,
        finalizers: &[(&str, usize)],
    ) -> Content {
        Content {
            group: group.into(),
            resource: resource.into(),
            remaining,
            finalizers: finalizers
                .iter()
                .map(|(f, n)| ((*f).to_owned(), *n))
                .collect(),
            delete_error: None,
        }
    }

    fn cond<'a>(p: &'a Plan, type_: &str) -> (&'a str, &'a str, &'a str) {
        let c = p
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == type_)
            .expect("condition present");
        (
            c.status.as_str(),
            c.reason.as_deref().unwrap_or_default(),
            c.message.as_deref().unwrap_or_default(),
        )
    }

    #[test]
    fn not_deleting_or_already_finalized() {
        let live: Namespace =
            from(json!({"metadata": {"name": "team"}, "spec": {"finalizers": ["kubernetes"]}}));
        assert_eq!(
            plan(&live, &[content("", "pods", 3, &[])], None, at(200)),
            Plan::default()
        );

        let done = ns(json!({"spec": {"finalizers": []}}));
        assert_eq!(
            plan(&done, &[content("", "pods", 3, &[])], None, at(200)),
            Plan::default()
        );

        let active = ns(json!({"status": {"phase": "Active"}, "spec": {}}));
        assert!(plan(&active, &[], None, at(200)).set_terminating);
    }

    #[test]
    fn pods_first() {
        let contents = [
            content("", "configmaps", 2, &[]),
            content("", "pods", 3, &[("example.com/hold", 1)]),
            content("apps", "deployments", 1, &[]),
        ];
        let p = plan(&ns(json!({})), &contents, None, at(200));
        assert!(!p.set_terminating);
        assert_eq!(p.delete_collections, [(String::new(), "pods".to_owned())]);
        assert_eq!(p.finalize, None);
        assert_eq!(
            cond(&p, "NamespaceContentRemaining"),
            (
                "True",
                "SomeResourcesRemain",
                "Some resources are remaining: pods. has 3 resource instances"
            )
        );
        assert_eq!(
            cond(&p, "NamespaceFinalizersRemaining"),
            (
                "True",
                "SomeFinalizersRemain",
                "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
            )
        );
        assert_eq!(
            cond(&p, "NamespaceDeletionDiscoveryFailure"),
            (
                "False",
                "ResourcesDiscovered",
                "All resources successfully discovered"
            )
        );
        assert_eq!(p.conditions.as_ref().map(Vec::len), Some(5));
    }

    #[test]
    fn then_everything_else_then_finalize() {
        let contents = [
            content("", "pods", 0, &[]),
            content("", "configmaps", 2, &[]),
            content("apps", "deployments", 1, &[("foregroundDeletion", 1)]),
        ];
        let p = plan(&ns(json!({})), &contents, None, at(200));
        assert_eq!(
            p.delete_collections,
            [
                ("".to_owned(), "configmaps".to_owned()),
                ("apps".to_owned(), "deployments".to_owned())
            ]
        );
        assert_eq!(
            cond(&p, "NamespaceContentRemaining").2,
            "Some resources are remaining: configmaps. has 2 resource instances, deployments.apps has 1 resource instances"
        );

        // Empty: conditions all False, finalizer removed, others kept.
        let with_other = ns(json!({"spec": {"finalizers": ["kubernetes", "example.com/x"]}}));
        let empty = [
            content("", "pods", 0, &[]),
            content("", "configmaps", 0, &[]),
        ];
        let p = plan(&with_other, &empty, None, at(300));
        assert!(p.delete_collections.is_empty());
        assert_eq!(p.finalize, Some(vec!["example.com/x".to_owned()]));
        for t in CONDITION_TYPES {
            assert_eq!(cond(&p, t).0, "False", "{t}");
        }
        assert_eq!(
            cond(&p, "NamespaceContentRemaining"),
            (
                "False",
                "ContentRemoved",
                "All content successfully removed"
            )
        );

        // Discovery failed: no finalizing on partial knowledge.
        let p = plan(
            &ns(json!({})),
            &empty,
            Some("Discovery failed for some groups, 1 failing: x"),
            at(300),
        );
        assert_eq!(p.finalize, None);
        assert_eq!(
            cond(&p, "NamespaceDeletionDiscoveryFailure"),
            (
                "True",
                "DiscoveryFailed",
                "Discovery failed for some groups, 1 failing: x"
            )
        );
    }

    #[test]
    fn conditions_written_only_on_change() {
        let contents = [
            content("", "configmaps", 1, &[]),
            Content {
                delete_error: Some("forbidden".into()),
                ..content("", "secrets", 1, &[])
            },
        ];
        let p = plan(&ns(json!({})), &contents, None, at(200));
        assert_eq!(
            cond(&p, "NamespaceDeletionContentFailure"),
            (
                "True",
                "ContentDeletionFailed",
                "Failed to delete all resource types, 1 remaining: forbidden"
            )
        );
        let conds = p.conditions.clone().unwrap_or_default();
        let written = ns(
            json!({"status": {"phase": "Terminating", "conditions": serde_json::to_value(&conds).unwrap_or_default()}}),
        );
        let again = plan(&written, &contents, None, at(260));
        assert_eq!(again.conditions, None);

        // A status flip moves that condition's transition time, and only its.
        let fixed = [
            content("", "configmaps", 1, &[]),
            content("", "secrets", 1, &[]),
        ];
        let p = plan(&written, &fixed, None, at(300));
        let new = p.conditions.unwrap_or_default();
        let time = |t: &str| {
            new.iter()
                .find(|c| c.type_ == t)
                .and_then(|c| c.last_transition_time.as_ref())
                .map(|t| t.0.as_second())
        };
        assert_eq!(time("NamespaceDeletionContentFailure"), Some(300));
        assert_eq!(time("NamespaceContentRemaining"), Some(200));
    }
}
