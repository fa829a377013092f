//! Pod topology spreading (upstream's PodTopologySpread): the pod's DoNotSchedule constraints
//! as a filter, its ScheduleAnyway constraints (or the cluster defaults) as a score.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Pod, TopologySpreadConstraint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use crate::kinds::labels;
use crate::scheduler::node_affinity;
use crate::scheduler::snapshot::{self, HOSTNAME_LABEL, NodeInfo, Snapshot};
use crate::scheduler::taints;

pub const REASON_SPREAD: &str = "node(s) didn't match pod topology spread constraints";
pub const REASON_SPREAD_MISSING_LABEL: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// Which pods count as "the same workload" for a constraint.
#[derive(Clone)]
enum Selector {
    /// An explicit constraint's labelSelector (None selects nothing, like upstream's nil).
    Labels(Option<LabelSelector>),
    /// kwb's default: pods controlled by the same owner (ownerReference UID).
    Owner(String),
}

impl Selector {
    fn matches(&self, pod: &Pod) -> bool {
        match self {
            Selector::Labels(s) => s
                .as_ref()
                .is_some_and(|s| labels::matches(s, pod.metadata.labels.as_ref())),
            Selector::Owner(uid) => controller_uid(pod) == Some(uid.as_str()),
        }
    }
}

fn controller_uid(pod: &Pod) -> Option<&str> {
    let refs = pod.metadata.owner_references.as_deref()?;
    refs.iter()
        .find(|r| r.controller == Some(true))
        .map(|r| r.uid.as_str())
}

struct Constraint {
    max_skew: i64,
    key: String,
    min_domains: usize,
    selector: Selector,
    /// nodeAffinityPolicy Honor (the default): only nodes the pod could select count.
    honor_affinity: bool,
    /// nodeTaintsPolicy Honor: only nodes whose taints the pod tolerates count.
    honor_taints: bool,
}

impl Constraint {
    fn explicit(pod: &Pod, c: &TopologySpreadConstraint) -> Self {
        // matchLabelKeys adds "key in (the pod's value)" to the selector, as upstream merges it.
        let selector = c.label_selector.clone().map(|mut s| {
            let pod_labels = pod.metadata.labels.as_ref();
            for key in c.match_label_keys.iter().flatten() {
                if let Some(value) = pod_labels.and_then(|l| l.get(key)) {
                    s.match_expressions.get_or_insert_with(Vec::new).push(
                        LabelSelectorRequirement {
                            key: key.clone(),
                            operator: "In".into(),
                            values: Some(vec![value.clone()]),
                        },
                    );
                }
            }
            s
        });
        Constraint {
            max_skew: i64::from(c.max_skew),
            key: c.topology_key.clone(),
            min_domains: usize::try_from(c.min_domains.unwrap_or(1)).unwrap_or(1),
            selector: Selector::Labels(selector),
            honor_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
            honor_taints: c.node_taints_policy.as_deref() == Some("Honor"),
        }
    }

    /// Whether pods on this node take part in the count for this constraint.
    fn node_counts(&self, pod: &Pod, info: &NodeInfo) -> bool {
        let tolerations = pod
            .spec
            .as_ref()
            .and_then(|s| s.tolerations.as_deref())
            .unwrap_or_default();
        (!self.honor_affinity || node_affinity::matches_required(pod, info.node))
            && (!self.honor_taints
                || taints::first_untolerated(taints::node_taints(info.node), tolerations).is_none())
    }
}

fn explicit_constraints(pod: &Pod, when: &str) -> Vec<Constraint> {
    pod.spec
        .as_ref()
        .and_then(|s| s.topology_spread_constraints.as_deref())
        .unwrap_or_default()
        .iter()
        .filter(|c| c.when_unsatisfiable == when)
        .map(|c| Constraint::explicit(pod, c))
        .collect()
}

fn has_explicit_constraints(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.topology_spread_constraints.as_ref())
        .is_some_and(|c| !c.is_empty())
}

/// Upstream's cluster-wide defaults (hostname skew 3, zone skew 5, ScheduleAnyway) for pods
/// without constraints of their own. Upstream selects the workload through the Services and
/// controllers selecting the pod; kwb uses the controller's UID, or else the pod's own labels.
fn default_constraints(pod: &Pod) -> Vec<Constraint> {
    let selector = if let Some(uid) = controller_uid(pod) {
        Selector::Owner(uid.to_string())
    } else if let Some(l) = pod.metadata.labels.as_ref().filter(|l| !l.is_empty()) {
        Selector::Labels(Some(LabelSelector {
            match_labels: Some(l.clone()),
            match_expressions: None,
        }))
    } else {
        return Vec::new();
    };
    let make = |key: &str, max_skew: i64, selector: Selector| Constraint {
        max_skew,
        key: key.to_string(),
        min_domains: 1,
        selector,
        honor_affinity: true,
        honor_taints: false,
    };
    vec![
        make(HOSTNAME_LABEL, 3, selector.clone()),
        make(ZONE_LABEL, 5, selector),
    ]
}

/// Same-namespace pods on the node that the selector picks. Terminating pods are skipped: they
/// are about to leave, and upstream does not count them for spreading.
fn count_on(info: &NodeInfo, selector: &Selector, namespace: &str) -> i64 {
    let n = info
        .pods
        .iter()
        .filter(|p| !snapshot::is_terminating(p) && snapshot::namespace(p) == namespace)
        .filter(|p| selector.matches(p))
        .count();
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// State for the DoNotSchedule filter: matching pods per topology domain for each constraint.
pub struct SpreadFilter {
    constraints: Vec<Constraint>,
    counts: Vec<BTreeMap<String, i64>>,
    self_match: Vec<bool>,
}

impl SpreadFilter {
    pub fn new(pod: &Pod, snapshot: &Snapshot) -> Self {
        let constraints = explicit_constraints(pod, "DoNotSchedule");
        let ns = snapshot::namespace(pod);
        let mut counts = vec![BTreeMap::new(); constraints.len()];
        for info in &snapshot.nodes {
            // Only nodes carrying every constraint's key form domains.
            let has_all = constraints
                .iter()
                .all(|c| snapshot::topology_value(info.node, &c.key).is_some());
            if !has_all {
                continue;
            }
            for (c, count) in constraints.iter().zip(counts.iter_mut()) {
                if !c.node_counts(pod, info) {
                    continue;
                }
                if let Some(value) = snapshot::topology_value(info.node, &c.key) {
                    *count.entry(value.to_string()).or_insert(0) += count_on(info, &c.selector, ns);
                }
            }
        }
        let self_match = constraints
            .iter()
            .map(|c| c.selector.matches(pod))
            .collect();
        SpreadFilter {
            constraints,
            counts,
            self_match,
        }
    }

    /// `Err((reason, unresolvable))` when placing the pod here would break a constraint.
    pub fn check(&self, info: &NodeInfo) -> Result<(), (&'static str, bool)> {
        for ((c, counts), self_match) in self
            .constraints
            .iter()
            .zip(&self.counts)
            .zip(&self.self_match)
        {
            let Some(value) = snapshot::topology_value(info.node, &c.key) else {
                return Err((REASON_SPREAD_MISSING_LABEL, true));
            };
            // With fewer domains than minDomains, the global minimum is taken as zero.
            let min = if counts.len() < c.min_domains {
                0
            } else {
                counts.values().copied().min().unwrap_or(0)
            };
            let here = counts.get(value).copied().unwrap_or(0);
            let skew = here + i64::from(*self_match) - min;
            if skew > c.max_skew {
                return Err((REASON_SPREAD, false));
            }
        }
        Ok(())
    }
}

/// The spreading score (0..=100) for each feasible node, in the order given; `None` when the
/// pod has nothing to spread by (upstream skips the plugin then, which scores 0 everywhere).
pub fn scores(pod: &Pod, snapshot: &Snapshot, feasible: &[usize]) -> Option<Vec<i64>> {
    let system_default = !has_explicit_constraints(pod);
    let constraints = if system_default {
        default_constraints(pod)
    } else {
        explicit_constraints(pod, "ScheduleAnyway")
    };
    if constraints.is_empty() {
        return None;
    }
    let ns = snapshot::namespace(pod);
    // Defaults must also work on nodes without a zone label; explicit constraints need every
    // key on a node for it to be scored at all.
    let require_all = !system_default;
    let has_all = |info: &NodeInfo| {
        constraints
            .iter()
            .all(|c| snapshot::topology_value(info.node, &c.key).is_some())
    };
    let ignored: BTreeSet<usize> = feasible
        .iter()
        .copied()
        .filter(|i| require_all && snapshot.nodes.get(*i).is_some_and(|n| !has_all(n)))
        .collect();

    // Domains are those of the scored nodes; the weight favours constraints with fewer domains.
    let mut domain_counts: Vec<BTreeMap<String, i64>> = vec![BTreeMap::new(); constraints.len()];
    let mut weights = Vec::with_capacity(constraints.len());
    let scored = feasible.len().saturating_sub(ignored.len());
    for (c, domains) in constraints.iter().zip(domain_counts.iter_mut()) {
        if c.key == HOSTNAME_LABEL {
            weights.push(normalizing_weight(scored));
            continue;
        }
        for i in feasible.iter().filter(|i| !ignored.contains(i)) {
            if let Some(info) = snapshot.nodes.get(*i) {
                let value = snapshot::topology_value(info.node, &c.key).unwrap_or_default();
                domains.entry(value.to_string()).or_insert(0);
            }
        }
        weights.push(normalizing_weight(domains.len()));
    }
    // Domain counts come from every node, not only the feasible ones.
    for info in &snapshot.nodes {
        if require_all && !has_all(info) {
            continue;
        }
        for (c, domains) in constraints.iter().zip(domain_counts.iter_mut()) {
            if c.key == HOSTNAME_LABEL || !c.node_counts(pod, info) {
                continue;
            }
            let value = snapshot::topology_value(info.node, &c.key).unwrap_or_default();
            if let Some(count) = domains.get_mut(value) {
                *count += count_on(info, &c.selector, ns);
            }
        }
    }

    let raw: Vec<Option<i64>> = feasible
        .iter()
        .map(|i| {
            let info = snapshot.nodes.get(*i)?;
            if ignored.contains(i) {
                return None;
            }
            let mut score = 0.0;
            for ((c, domains), weight) in constraints.iter().zip(&domain_counts).zip(&weights) {
                let Some(value) = snapshot::topology_value(info.node, &c.key) else {
                    continue;
                };
                let count = if c.key == HOSTNAME_LABEL {
                    count_on(info, &c.selector, ns)
                } else {
                    domains.get(value).copied().unwrap_or(0)
                };
                score += count as f64 * weight + (c.max_skew - 1) as f64;
            }
            Some(score.round() as i64)
        })
        .collect();

    // Fewer matching pods is better: invert relative to the best and worst node.
    let present = raw.iter().flatten();
    let max = present.clone().copied().max().unwrap_or(0).max(0);
    let min = present.copied().min().unwrap_or(0);
    Some(
        raw.iter()
            .map(|s| match s {
                None => 0,
                Some(_) if max == 0 => 100,
                Some(s) => (100 * (max + min - s) / max).clamp(0, 100),
            })
            .collect(),
    )
}

/// ln(domains + 2): counts in a topology with few domains weigh more than in one with many.
fn normalizing_weight(domains: usize) -> f64 {
    (domains as f64 + 2.0).ln()
}
