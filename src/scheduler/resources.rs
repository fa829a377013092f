//! Resource requests of pods and allocatable of nodes, as the scheduler accounts them.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Node, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::scheduler::quantity;

/// What a pod with no cpu request counts as when scoring, so that many request-less pods do not
/// all pile onto one node (upstream's DefaultMilliCPURequest).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// What a pod with no memory request counts as when scoring (upstream's DefaultMemoryRequest).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// An amount of each resource the scheduler tracks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    /// Extended resources, hugepages and attachable volumes, keyed by resource name.
    pub scalar: BTreeMap<String, i64>,
}

impl Resources {
    /// Converts a resource list; `pods` and names the scheduler does not track are dropped,
    /// unparseable quantities count as zero and negative ones (rejected by the API) as zero.
    pub fn from_list(list: &BTreeMap<String, Quantity>) -> Self {
        let mut r = Resources::default();
        for (name, q) in list {
            let value = if name == "cpu" {
                quantity::millis(&q.0)
            } else {
                quantity::units(&q.0)
            };
            let value = value.unwrap_or(0).max(0);
            match name.as_str() {
                "cpu" => r.milli_cpu = r.milli_cpu.saturating_add(value),
                "memory" => r.memory = r.memory.saturating_add(value),
                "ephemeral-storage" => {
                    r.ephemeral_storage = r.ephemeral_storage.saturating_add(value)
                }
                n if is_scalar_resource(n) => {
                    let e = r.scalar.entry(n.to_string()).or_insert(0);
                    *e = e.saturating_add(value);
                }
                _ => {}
            }
        }
        r
    }

    pub fn add(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.saturating_add(other.milli_cpu);
        self.memory = self.memory.saturating_add(other.memory);
        self.ephemeral_storage = self
            .ephemeral_storage
            .saturating_add(other.ephemeral_storage);
        for (k, v) in &other.scalar {
            let e = self.scalar.entry(k.clone()).or_insert(0);
            *e = e.saturating_add(*v);
        }
    }

    /// Raises each resource to at least `other`'s amount.
    pub fn max_with(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
        for (k, v) in &other.scalar {
            let e = self.scalar.entry(k.clone()).or_insert(0);
            *e = (*e).max(*v);
        }
    }

    pub fn is_zero(&self) -> bool {
        self.milli_cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.scalar.values().all(|v| *v == 0)
    }
}

/// Resource names the scheduler tracks besides cpu, memory and ephemeral-storage: extended
/// resources (`example.com/gpu`), hugepages and attachable volumes.
fn is_scalar_resource(name: &str) -> bool {
    name.starts_with("hugepages-")
        || name.starts_with("attachable-volumes-")
        || (name.contains('/')
            && !name.contains("kubernetes.io/")
            && !name.starts_with("requests."))
}

/// A node's allocatable resources and how many pods it admits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allocatable {
    pub resources: Resources,
    pub pods: i64,
}

/// `status.allocatable` of the node. Like upstream, capacity is not a fallback: a node that
/// reports no allocatable admits nothing.
pub fn node_allocatable(node: &Node) -> Allocatable {
    let Some(list) = node.status.as_ref().and_then(|s| s.allocatable.as_ref()) else {
        return Allocatable::default();
    };
    let pods = list
        .get("pods")
        .and_then(|q| quantity::units(&q.0))
        .unwrap_or(0)
        .max(0);
    Allocatable {
        resources: Resources::from_list(list),
        pods,
    }
}

/// The requests of one container. A limit without a request counts as the request, which is
/// what API defaulting stores, so the result is right whether or not the objects were defaulted.
/// With `non_zero`, a missing cpu or memory request counts as the scoring default instead.
fn container_requests(c: &Container, non_zero: bool) -> Resources {
    let res = c.resources.as_ref();
    let mut list = res.and_then(|r| r.requests.clone()).unwrap_or_default();
    if let Some(limits) = res.and_then(|r| r.limits.as_ref()) {
        for (k, v) in limits {
            list.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    let mut r = Resources::from_list(&list);
    if non_zero {
        if !list.contains_key("cpu") {
            r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
        }
        if !list.contains_key("memory") {
            r.memory = DEFAULT_MEMORY_REQUEST;
        }
    }
    r
}

/// The pod's effective requests: the containers' sum (sidecars included, since they run all
/// along), or the largest need during init if that is bigger, plus the pod overhead. An init
/// container needs its own requests plus those of the sidecars started before it.
pub fn pod_requests(pod: &Pod, non_zero: bool) -> Resources {
    let Some(spec) = pod.spec.as_ref() else {
        return Resources::default();
    };
    let mut total = Resources::default();
    for c in &spec.containers {
        total.add(&container_requests(c, non_zero));
    }
    let mut sidecars = Resources::default();
    let mut init_peak = Resources::default();
    for c in spec.init_containers.iter().flatten() {
        let own = container_requests(c, non_zero);
        if c.restart_policy.as_deref() == Some("Always") {
            total.add(&own);
            sidecars.add(&own);
            init_peak.max_with(&sidecars);
        } else {
            let mut during = own;
            during.add(&sidecars);
            init_peak.max_with(&during);
        }
    }
    total.max_with(&init_peak);
    if let Some(overhead) = spec.overhead.as_ref() {
        total.add(&Resources::from_list(overhead));
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::testutil::*;
    use serde_json::json;

    #[test]
    fn requests_table() {
        let cases = [
            (
                "sum of containers",
                pod_json(json!({"containers": [
                    {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                    {"name": "b", "resources": {"requests": {"cpu": "0.5", "memory": "1Gi"}}}
                ]})),
                (600, 64 * MI + 1024 * MI),
            ),
            (
                "init container larger than the sum wins per resource",
                pod_json(json!({
                    "initContainers": [{"name": "init", "resources": {"requests": {"cpu": "2", "memory": "10Mi"}}}],
                    "containers": [{"name": "a", "resources": {"requests": {"cpu": "1", "memory": "100Mi"}}}]
                })),
                (2000, 100 * MI),
            ),
            (
                "init containers run one at a time: the max, not the sum",
                pod_json(json!({
                    "initContainers": [
                        {"name": "i1", "resources": {"requests": {"cpu": "1"}}},
                        {"name": "i2", "resources": {"requests": {"cpu": "1500m"}}}
                    ],
                    "containers": [{"name": "a", "resources": {"requests": {"cpu": "100m"}}}]
                })),
                (1500, 0),
            ),
            (
                "sidecar adds to the containers and to later init containers",
                pod_json(json!({
                    "initContainers": [
                        {"name": "side", "restartPolicy": "Always", "resources": {"requests": {"cpu": "500m"}}},
                        {"name": "init", "resources": {"requests": {"cpu": "1"}}}
                    ],
                    "containers": [{"name": "a", "resources": {"requests": {"cpu": "200m"}}}]
                })),
                (1500, 0),
            ),
            (
                "limits stand in for missing requests",
                pod_json(json!({"containers": [
                    {"name": "a", "resources": {"limits": {"cpu": "300m", "memory": "128Mi"}, "requests": {"cpu": "100m"}}}
                ]})),
                (100, 128 * MI),
            ),
            (
                "overhead is added",
                pod_json(json!({
                    "overhead": {"cpu": "250m", "memory": "120Mi"},
                    "containers": [{"name": "a", "resources": {"requests": {"cpu": "1"}}}]
                })),
                (1250, 120 * MI),
            ),
            (
                "garbage quantities count as zero",
                pod_json(json!({"containers": [
                    {"name": "a", "resources": {"requests": {"cpu": "lots", "memory": "-5Mi"}}}
                ]})),
                (0, 0),
            ),
            ("no spec", Pod::default(), (0, 0)),
        ];
        for (name, pod, (cpu, mem)) in cases {
            let r = pod_requests(&pod, false);
            assert_eq!((r.milli_cpu, r.memory), (cpu, mem), "{name}");
        }
    }

    #[test]
    fn non_zero_defaults_apply_per_missing_request() {
        let pod = pod_json(json!({"containers": [
            {"name": "a"},
            {"name": "b", "resources": {"requests": {"cpu": "0", "memory": "1Gi"}}}
        ]}));
        let r = pod_requests(&pod, true);
        // An explicit zero stays zero; only missing requests get the default.
        assert_eq!(r.milli_cpu, DEFAULT_MILLI_CPU_REQUEST);
        assert_eq!(r.memory, DEFAULT_MEMORY_REQUEST + 1024 * MI);
        assert_eq!(pod_requests(&pod, false).milli_cpu, 0);
    }

    #[test]
    fn scalar_and_ephemeral_resources() {
        let pod = pod_json(
            json!({"containers": [{"name": "a", "resources": {"requests": {
                "ephemeral-storage": "1Gi", "example.com/gpu": "2", "hugepages-2Mi": "4Mi",
                "kubernetes.io/not-extended": "1", "pods": "3"
            }}}]}),
        );
        let r = pod_requests(&pod, false);
        assert_eq!(r.ephemeral_storage, 1024 * MI);
        assert_eq!(r.scalar.get("example.com/gpu"), Some(&2));
        assert_eq!(r.scalar.get("hugepages-2Mi"), Some(&(4 * MI)));
        assert_eq!(r.scalar.len(), 2);
    }

    #[test]
    fn allocatable_of_nodes() {
        let n = node("n1", "4", "8Gi", 110);
        let a = node_allocatable(&n);
        assert_eq!(
            (a.resources.milli_cpu, a.resources.memory, a.pods),
            (4000, 8192 * MI, 110)
        );
        let bare: Node = serde_json::from_value(json!({"metadata": {"name": "x"}})).expect("node");
        assert_eq!(node_allocatable(&bare), Allocatable::default());
    }
}
