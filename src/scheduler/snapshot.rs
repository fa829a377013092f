//! The view of the cluster one scheduling decision works on: each node with the pods bound to
//! it and what they use, like upstream's NodeInfo snapshot.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Node, Pod};

use crate::scheduler::resources::{self, Allocatable, Resources};

/// The label every kubelet sets to the node's hostname.
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// A host port in use or wanted: (host IP, protocol, port), with upstream's defaults applied
/// (empty IP = 0.0.0.0, empty protocol = TCP).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct HostPort {
    pub ip: String,
    pub protocol: String,
    pub port: i32,
}

pub struct NodeInfo<'a> {
    pub name: &'a str,
    pub node: &'a Node,
    /// Pods bound here that still hold their place: terminal pods are gone, terminating ones
    /// (deletionTimestamp set) still count, as in upstream's cache.
    pub pods: Vec<&'a Pod>,
    pub allocatable: Allocatable,
    /// Sum of the bound pods' requests.
    pub requested: Resources,
    /// Same, with request-less containers counted at the scoring defaults.
    pub non_zero_requested: Resources,
    pub used_ports: Vec<HostPort>,
}

pub struct Snapshot<'a> {
    /// Nodes in input order; nameless nodes and repeated names are dropped.
    pub nodes: Vec<NodeInfo<'a>>,
}

impl<'a> Snapshot<'a> {
    /// Builds the view for scheduling `incoming`. The incoming pod itself is never counted as
    /// bound, even if the caller's list holds a copy of it.
    pub fn new(incoming: &Pod, nodes: &'a [Node], pods: &'a [Pod]) -> Self {
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut infos: Vec<NodeInfo<'a>> = Vec::new();
        for node in nodes {
            let Some(name) = node.metadata.name.as_deref().filter(|n| !n.is_empty()) else {
                continue;
            };
            if index.contains_key(name) {
                continue;
            }
            index.insert(name, infos.len());
            infos.push(NodeInfo {
                name,
                node,
                pods: Vec::new(),
                allocatable: resources::node_allocatable(node),
                requested: Resources::default(),
                non_zero_requested: Resources::default(),
                used_ports: Vec::new(),
            });
        }
        for pod in pods {
            if is_terminal(pod) || same_pod(pod, incoming) {
                continue;
            }
            let Some(bound_to) = node_name(pod) else {
                continue;
            };
            let Some(info) = index.get(bound_to).and_then(|i| infos.get_mut(*i)) else {
                continue;
            };
            info.requested.add(&resources::pod_requests(pod, false));
            info.non_zero_requested
                .add(&resources::pod_requests(pod, true));
            info.used_ports.extend(host_ports(pod));
            info.pods.push(pod);
        }
        Snapshot { nodes: infos }
    }

    /// Counts `pod` as bound to `node` from now on (the scheduler's assumption after it
    /// chose, before the binding is seen), so one snapshot serves a whole pass of decisions.
    pub fn assume(&mut self, pod: &'a Pod, node: &str) {
        if let Some(info) = self.nodes.iter_mut().find(|i| i.name == node) {
            info.requested.add(&resources::pod_requests(pod, false));
            info.non_zero_requested
                .add(&resources::pod_requests(pod, true));
            info.used_ports.extend(host_ports(pod));
            info.pods.push(pod);
        }
    }
}

/// The node the pod is bound to, if any.
pub fn node_name(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

/// Succeeded and Failed pods no longer occupy their node.
pub fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded") | Some("Failed")
    )
}

pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

pub fn namespace(pod: &Pod) -> &str {
    pod.metadata.namespace.as_deref().unwrap_or("default")
}

/// Same object: by UID when both have one, else by namespace and name.
fn same_pod(a: &Pod, b: &Pod) -> bool {
    match (a.metadata.uid.as_deref(), b.metadata.uid.as_deref()) {
        (Some(x), Some(y)) if !x.is_empty() && !y.is_empty() => x == y,
        _ => {
            a.metadata.name.is_some()
                && a.metadata.name == b.metadata.name
                && namespace(a) == namespace(b)
        }
    }
}

/// Host ports the pod binds: those of its containers and of its sidecars (init containers with
/// restartPolicy Always), which run for the pod's whole life.
pub fn host_ports(pod: &Pod) -> Vec<HostPort> {
    let Some(spec) = pod.spec.as_ref() else {
        return Vec::new();
    };
    let sidecars = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() == Some("Always"));
    sidecars
        .chain(spec.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            let port = p.host_port.filter(|hp| *hp > 0)?;
            let ip = p
                .host_ip
                .as_deref()
                .filter(|s| !s.is_empty())
                .unwrap_or("0.0.0.0");
            let protocol = p
                .protocol
                .as_deref()
                .filter(|s| !s.is_empty())
                .unwrap_or("TCP");
            Some(HostPort {
                ip: ip.to_string(),
                protocol: protocol.to_string(),
                port,
            })
        })
        .collect()
}

/// The node's value for a topology key. Kubelets always label nodes with their hostname; kwb
/// may create nodes without that label, so for the hostname key the node's name stands in,
/// which is the value a kubelet would have set.
pub fn topology_value<'n>(node: &'n Node, key: &str) -> Option<&'n str> {
    let label = node.metadata.labels.as_ref().and_then(|l| l.get(key));
    match label {
        Some(v) => Some(v.as_str()),
        None if key == HOSTNAME_LABEL => node.metadata.name.as_deref(),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::testutil::*;
    use serde_json::json;

    #[test]
    fn bound_pods_are_accounted_on_their_node_only() {
        let nodes = vec![node("n1", "4", "8Gi", 110), node("n2", "4", "8Gi", 110)];
        let pods = vec![
            bound("a", "n1", "500m", "1Gi"),
            bound("b", "n1", "250m", "512Mi"),
            bound("c", "n2", "1", "1Gi"),
            bound("gone", "nowhere", "1", "1Gi"),
            with(
                bound("done", "n1", "2", "2Gi"),
                json!({"status": {"phase": "Succeeded"}}),
            ),
            with(
                bound("failed", "n1", "2", "2Gi"),
                json!({"status": {"phase": "Failed"}}),
            ),
            with(
                bound("leaving", "n1", "100m", "0"),
                json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}}),
            ),
            pending("unbound", "3", "3Gi"),
        ];
        let incoming = pending("incoming", "1", "1Gi");
        let snap = Snapshot::new(&incoming, &nodes, &pods);
        let n1 = &snap.nodes[0];
        assert_eq!(n1.pods.len(), 3);
        assert_eq!(n1.requested.milli_cpu, 850);
        assert_eq!(n1.requested.memory, 1536 * MI);
        // The terminating pod requests no memory: it counts at the default, for scoring only.
        assert_eq!(n1.non_zero_requested.memory, 1536 * MI + 200 * MI);
        let n2 = &snap.nodes[1];
        assert_eq!((n2.pods.len(), n2.requested.milli_cpu), (1, 1000));
    }

    #[test]
    fn nameless_and_duplicate_nodes_are_dropped() {
        let nodes = vec![
            node("n1", "1", "1Gi", 10),
            node_from(json!({"metadata": {}})),
            node("n1", "8", "8Gi", 10),
        ];
        let snap = Snapshot::new(&pending("p", "1", "1Gi"), &nodes, &[]);
        assert_eq!(snap.nodes.len(), 1);
        assert_eq!(snap.nodes[0].allocatable.resources.milli_cpu, 1000);
    }

    #[test]
    fn incoming_pod_is_not_counted_twice() {
        let nodes = vec![node("n1", "1", "1Gi", 10)];
        let mut copy = bound("incoming", "n1", "1", "1Gi");
        copy.metadata.uid = Some("uid-incoming".into());
        let mut incoming = pending("incoming", "1", "1Gi");
        incoming.metadata.uid = Some("uid-incoming".into());
        let pods = vec![copy];
        let snap = Snapshot::new(&incoming, &nodes, &pods);
        assert!(snap.nodes[0].pods.is_empty());
    }

    #[test]
    fn host_ports_defaults() {
        let p = pod_json(json!({
            "initContainers": [
                {"name": "side", "restartPolicy": "Always", "ports": [{"containerPort": 1, "hostPort": 9000}]},
                {"name": "init", "ports": [{"containerPort": 1, "hostPort": 9001}]}
            ],
            "containers": [{"name": "a", "ports": [
                {"containerPort": 80, "hostPort": 8080, "protocol": "UDP", "hostIP": "10.0.0.1"},
                {"containerPort": 81},
                {"containerPort": 82, "hostPort": 0}
            ]}]
        }));
        let got = host_ports(&p);
        assert_eq!(
            got,
            vec![
                HostPort {
                    ip: "0.0.0.0".into(),
                    protocol: "TCP".into(),
                    port: 9000
                },
                HostPort {
                    ip: "10.0.0.1".into(),
                    protocol: "UDP".into(),
                    port: 8080
                },
            ]
        );
    }

    #[test]
    fn hostname_topology_falls_back_to_node_name() {
        let labelled = node("n1", "1", "1Gi", 10);
        let bare = node_from(json!({"metadata": {"name": "n2"}}));
        assert_eq!(topology_value(&labelled, HOSTNAME_LABEL), Some("n1"));
        assert_eq!(topology_value(&bare, HOSTNAME_LABEL), Some("n2"));
        assert_eq!(topology_value(&bare, "topology.kubernetes.io/zone"), None);
    }
}
