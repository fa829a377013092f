//! Required inter-pod affinity and anti-affinity (upstream's InterPodAffinity filter): the
//! incoming pod's own terms, and the anti-affinity of pods already bound (symmetry).

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{Node, Pod, PodAffinityTerm};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use crate::kinds::labels;
use crate::scheduler::snapshot::{self, Snapshot};

pub const REASON_AFFINITY: &str = "node(s) didn't match pod affinity rules";
pub const REASON_ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";
pub const REASON_EXISTING_ANTI_AFFINITY: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";

/// Every namespace carries this label with its own name (set by the API server), which is all
/// a namespaceSelector can be evaluated against here: kwb passes no Namespace objects.
const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// A term made ready for matching other pods against it.
pub struct Term {
    selector: Option<LabelSelector>,
    namespaces: Vec<String>,
    namespace_selector: Option<LabelSelector>,
    pub topology_key: String,
}

impl Term {
    /// `owner` is the pod the term belongs to: its namespace is the default, and its labels
    /// feed matchLabelKeys/mismatchLabelKeys (which the API server merges into the selector at
    /// creation; merging again here is harmless and covers objects that skipped that step).
    pub fn new(owner: &Pod, term: &PodAffinityTerm) -> Self {
        let mut namespaces = term.namespaces.clone().unwrap_or_default();
        if namespaces.is_empty() && term.namespace_selector.is_none() {
            namespaces.push(snapshot::namespace(owner).to_string());
        }
        let owner_labels = owner.metadata.labels.as_ref();
        let selector = term.label_selector.clone().map(|mut s| {
            let keys = [
                (term.match_label_keys.as_deref(), "In"),
                (term.mismatch_label_keys.as_deref(), "NotIn"),
            ];
            for (keys, operator) in keys {
                for key in keys.into_iter().flatten() {
                    if let Some(value) = owner_labels.and_then(|l| l.get(key)) {
                        s.match_expressions.get_or_insert_with(Vec::new).push(
                            LabelSelectorRequirement {
                                key: key.clone(),
                                operator: operator.to_string(),
                                values: Some(vec![value.clone()]),
                            },
                        );
                    }
                }
            }
            s
        });
        Term {
            selector,
            namespaces,
            namespace_selector: term.namespace_selector.clone(),
            topology_key: term.topology_key.clone(),
        }
    }

    /// Whether `pod` is one of the pods this term is about. A term without a labelSelector
    /// selects nothing (upstream turns a nil selector into "nothing").
    pub fn matches(&self, pod: &Pod) -> bool {
        let ns = snapshot::namespace(pod);
        let ns_ok = self.namespaces.iter().any(|n| n == ns)
            || self.namespace_selector.as_ref().is_some_and(|s| {
                let ns_labels =
                    BTreeMap::from([(NAMESPACE_NAME_LABEL.to_string(), ns.to_string())]);
                labels::matches(s, Some(&ns_labels))
            });
        ns_ok
            && self
                .selector
                .as_ref()
                .is_some_and(|s| labels::matches(s, pod.metadata.labels.as_ref()))
    }
}

fn required_affinity(pod: &Pod) -> &[PodAffinityTerm] {
    pod.spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.pod_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_deref()
        })
        .unwrap_or_default()
}

fn required_anti_affinity(pod: &Pod) -> &[PodAffinityTerm] {
    pod.spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_deref()
        })
        .unwrap_or_default()
}

type Counts = HashMap<(String, String), i64>;

fn bump(counts: &mut Counts, node: &Node, key: &str) {
    if let Some(value) = snapshot::topology_value(node, key) {
        *counts
            .entry((key.to_string(), value.to_string()))
            .or_insert(0) += 1;
    }
}

/// What the filter needs, computed once per scheduling attempt over all bound pods.
pub struct AffinityState {
    affinity: Vec<Term>,
    anti_affinity: Vec<Term>,
    /// Incoming pod matches all of its own affinity terms (lets the first pod of a
    /// self-affine group in).
    matches_own_affinity: bool,
    /// Per topology pair: bound pods matching all the incoming pod's affinity terms.
    affinity_counts: Counts,
    /// Per topology pair: bound pods matching one of the incoming pod's anti-affinity terms.
    anti_affinity_counts: Counts,
    /// Per topology pair: bound pods whose own anti-affinity terms match the incoming pod.
    existing_anti_affinity_counts: Counts,
}

impl AffinityState {
    pub fn new(pod: &Pod, snapshot: &Snapshot) -> Self {
        let affinity: Vec<Term> = required_affinity(pod)
            .iter()
            .map(|t| Term::new(pod, t))
            .collect();
        let anti_affinity: Vec<Term> = required_anti_affinity(pod)
            .iter()
            .map(|t| Term::new(pod, t))
            .collect();
        let all_match = |p: &Pod| !affinity.is_empty() && affinity.iter().all(|t| t.matches(p));
        let mut state = AffinityState {
            matches_own_affinity: all_match(pod),
            affinity_counts: Counts::new(),
            anti_affinity_counts: Counts::new(),
            existing_anti_affinity_counts: Counts::new(),
            affinity: Vec::new(),
            anti_affinity: Vec::new(),
        };
        for info in &snapshot.nodes {
            for existing in &info.pods {
                if all_match(existing) {
                    for t in &affinity {
                        bump(&mut state.affinity_counts, info.node, &t.topology_key);
                    }
                }
                for t in anti_affinity.iter().filter(|t| t.matches(existing)) {
                    bump(&mut state.anti_affinity_counts, info.node, &t.topology_key);
                }
                for term in required_anti_affinity(existing) {
                    let t = Term::new(existing, term);
                    if t.matches(pod) {
                        bump(
                            &mut state.existing_anti_affinity_counts,
                            info.node,
                            &t.topology_key,
                        );
                    }
                }
            }
        }
        state.affinity = affinity;
        state.anti_affinity = anti_affinity;
        state
    }

    /// The filter for one node; `Err` carries the reason and whether preemption could help.
    pub fn check(&self, node: &Node) -> Result<(), (&'static str, bool)> {
        if !self.satisfies_affinity(node) {
            return Err((REASON_AFFINITY, true));
        }
        if !self.satisfies_anti_affinity(node) {
            return Err((REASON_ANTI_AFFINITY, false));
        }
        if !self.satisfies_existing_anti_affinity(node) {
            return Err((REASON_EXISTING_ANTI_AFFINITY, false));
        }
        Ok(())
    }

    fn satisfies_affinity(&self, node: &Node) -> bool {
        let mut pods_exist = true;
        for t in &self.affinity {
            // The node must have every topology key the terms use.
            let Some(value) = snapshot::topology_value(node, &t.topology_key) else {
                return false;
            };
            let pair = (t.topology_key.clone(), value.to_string());
            if self.affinity_counts.get(&pair).copied().unwrap_or(0) <= 0 {
                pods_exist = false;
            }
        }
        // With no matching pod anywhere, a pod that matches its own terms may start the group;
        // otherwise it would wait forever for a peer that can never come first.
        pods_exist || (self.affinity_counts.is_empty() && self.matches_own_affinity)
    }

    fn satisfies_anti_affinity(&self, node: &Node) -> bool {
        self.anti_affinity.iter().all(|t| {
            snapshot::topology_value(node, &t.topology_key).is_none_or(|value| {
                let pair = (t.topology_key.clone(), value.to_string());
                self.anti_affinity_counts.get(&pair).copied().unwrap_or(0) <= 0
            })
        })
    }

    fn satisfies_existing_anti_affinity(&self, node: &Node) -> bool {
        self.existing_anti_affinity_counts
            .iter()
            .all(|((key, value), count)| {
                *count <= 0 || snapshot::topology_value(node, key) != Some(value.as_str())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::testutil::*;
    use serde_json::json;

    fn term_of(owner: &Pod, term: serde_json::Value) -> Term {
        let t: PodAffinityTerm = serde_json::from_value(term).expect("term");
        Term::new(owner, &t)
    }

    #[test]
    fn term_namespaces_and_selectors() {
        let owner = with(
            pending("o", "0", "0"),
            json!({"metadata": {"namespace": "shop", "labels": {"app": "web", "tier": "front"}}}),
        );
        let in_ns = |ns: &str, labels: serde_json::Value| {
            with(
                pending("x", "0", "0"),
                json!({"metadata": {"namespace": ns, "labels": labels}}),
            )
        };
        let cases = [
            (
                "defaults to the owner's namespace",
                json!({"topologyKey": "k", "labelSelector": {"matchLabels": {"app": "web"}}}),
                in_ns("shop", json!({"app": "web"})),
                true,
            ),
            (
                "other namespace not matched by default",
                json!({"topologyKey": "k", "labelSelector": {"matchLabels": {"app": "web"}}}),
                in_ns("other", json!({"app": "web"})),
                false,
            ),
            (
                "explicit namespaces",
                json!({"topologyKey": "k", "namespaces": ["other"], "labelSelector": {"matchLabels": {"app": "web"}}}),
                in_ns("other", json!({"app": "web"})),
                true,
            ),
            (
                "explicit namespaces exclude the owner's",
                json!({"topologyKey": "k", "namespaces": ["other"], "labelSelector": {"matchLabels": {"app": "web"}}}),
                in_ns("shop", json!({"app": "web"})),
                false,
            ),
            (
                "empty namespaceSelector means all namespaces",
                json!({"topologyKey": "k", "namespaceSelector": {}, "labelSelector": {"matchLabels": {"app": "web"}}}),
                in_ns("any", json!({"app": "web"})),
                true,
            ),
            (
                "namespaceSelector on the name label",
                json!({"topologyKey": "k", "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "any"}}, "labelSelector": {}}),
                in_ns("any", json!({})),
                true,
            ),
            (
                "no labelSelector selects nothing",
                json!({"topologyKey": "k"}),
                in_ns("shop", json!({"app": "web"})),
                false,
            ),
            (
                "empty labelSelector selects all",
                json!({"topologyKey": "k", "labelSelector": {}}),
                in_ns("shop", json!({})),
                true,
            ),
            (
                "matchLabelKeys narrows to the owner's value",
                json!({"topologyKey": "k", "labelSelector": {"matchLabels": {"app": "web"}}, "matchLabelKeys": ["tier"]}),
                in_ns("shop", json!({"app": "web", "tier": "back"})),
                false,
            ),
            (
                "mismatchLabelKeys excludes the owner's value",
                json!({"topologyKey": "k", "labelSelector": {"matchLabels": {"app": "web"}}, "mismatchLabelKeys": ["tier"]}),
                in_ns("shop", json!({"app": "web", "tier": "back"})),
                true,
            ),
        ];
        for (name, term, pod, want) in cases {
            assert_eq!(term_of(&owner, term).matches(&pod), want, "{name}");
        }
    }
}
