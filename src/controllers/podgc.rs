//! Pod garbage collection decisions (upstream pkg/controller/podgc): force-delete pods
//! bound to nodes that no longer exist, pods being deleted that never reached a node, and
//! the oldest finished pods beyond `--terminated-pod-gc-threshold`.

use std::collections::HashSet;

use k8s_openapi::api::core::v1::Pod;

/// A pod to force-delete (grace period 0), and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collect {
    pub namespace: String,
    pub name: String,
    pub why: String,
}

fn collect(pod: &Pod, why: String) -> Collect {
    Collect {
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        name: pod.metadata.name.clone().unwrap_or_default(),
        why,
    }
}

fn phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref().and_then(|s| s.phase.as_deref())
}

fn node_of(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

/// What to collect among `pods`. `gone` holds the nodes that have been missing long enough
/// (upstream waits out a quarantine so a node being re-created does not lose its pods);
/// `threshold` is the number of finished pods to keep (0 keeps all).
pub fn plan(pods: &[&Pod], gone: &HashSet<String>, threshold: usize) -> Vec<Collect> {
    let mut out = Vec::new();
    let mut finished: Vec<&Pod> = Vec::new();
    for pod in pods {
        match node_of(pod) {
            Some(node) if gone.contains(node) => {
                out.push(collect(pod, format!("its node {node} no longer exists")));
                continue;
            }
            None if pod.metadata.deletion_timestamp.is_some() => {
                out.push(collect(
                    pod,
                    "it is being deleted and was never scheduled".into(),
                ));
                continue;
            }
            _ => {}
        }
        if matches!(phase(pod), Some("Succeeded" | "Failed")) {
            finished.push(pod);
        }
    }
    if threshold > 0 && finished.len() > threshold {
        finished.sort_by_key(|p| p.metadata.creation_timestamp.clone());
        let excess = finished.len() - threshold;
        for pod in finished.into_iter().take(excess) {
            out.push(collect(
                pod,
                format!("more than {threshold} pods have terminated"),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::fixtures::{from, rfc};
    use serde_json::json;

    fn pod(name: &str, node: Option<&str>, phase: &str, created: i64) -> Pod {
        from(
            json!({"metadata": {"name": name, "namespace": "default", "creationTimestamp": rfc(created)},
            "spec": {"nodeName": node, "containers": []}, "status": {"phase": phase}}),
        )
    }

    #[test]
    fn orphans_unscheduled_terminating_and_old_finished_pods_go() {
        let mut stuck = pod("stuck", None, "Pending", 0);
        stuck.metadata.deletion_timestamp = Some(from(json!(rfc(5))));
        let pods = [
            pod("orphan", Some("gone"), "Running", 0),
            pod("fine", Some("here"), "Running", 0),
            pod("waiting", None, "Pending", 0),
            stuck,
            pod("done-old", Some("here"), "Succeeded", 1),
            pod("done-mid", Some("here"), "Failed", 2),
            pod("done-new", Some("here"), "Succeeded", 3),
        ];
        let refs: Vec<&Pod> = pods.iter().collect();
        let gone = HashSet::from(["gone".to_string()]);
        let names: Vec<String> = plan(&refs, &gone, 2).into_iter().map(|c| c.name).collect();
        assert_eq!(names, vec!["orphan", "stuck", "done-old"]);
        let names: Vec<String> = plan(&refs, &gone, 0).into_iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            vec!["orphan", "stuck"],
            "threshold 0 keeps finished pods"
        );
    }
}
