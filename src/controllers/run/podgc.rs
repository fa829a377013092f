//! The pod garbage collector at work (see [`crate::controllers::podgc`]).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::DeleteParams;
use kube::runtime::reflector::Store;

use crate::controllers::podgc as logic;

/// How long a node must be missing before its pods are collected (upstream's quarantine).
const QUARANTINE: Duration = Duration::from_secs(40);

pub struct Controller {
    client: kube::Client,
    pods: Store<Pod>,
    nodes: Store<Node>,
    threshold: usize,
    /// Nodes pods are bound to that are not in the store, and since when.
    missing: HashMap<String, Instant>,
}

impl Controller {
    pub fn new(
        client: kube::Client,
        pods: Store<Pod>,
        nodes: Store<Node>,
        threshold: usize,
    ) -> Controller {
        Controller {
            client,
            pods,
            nodes,
            threshold,
            missing: HashMap::new(),
        }
    }

    pub async fn pass_all(&mut self) -> Option<i64> {
        let pods = self.pods.state();
        let nodes: HashSet<String> = self
            .nodes
            .state()
            .iter()
            .filter_map(|n| n.metadata.name.clone())
            .collect();
        let bound: HashSet<&str> = pods
            .iter()
            .filter_map(|p| p.spec.as_ref()?.node_name.as_deref())
            .filter(|n| !n.is_empty() && !nodes.contains(*n))
            .collect();
        self.missing.retain(|n, _| bound.contains(n.as_str()));
        for n in &bound {
            self.missing
                .entry(n.to_string())
                .or_insert_with(Instant::now);
        }
        let gone: HashSet<String> = self
            .missing
            .iter()
            .filter(|(_, since)| since.elapsed() >= QUARANTINE)
            .map(|(n, _)| n.clone())
            .collect();
        let refs: Vec<&Pod> = pods.iter().map(|p| &**p).collect();
        for c in logic::plan(&refs, &gone, self.threshold) {
            let api: Api<Pod> = Api::namespaced(self.client.clone(), &c.namespace);
            match api
                .delete(&c.name, &DeleteParams::default().grace_period(0))
                .await
            {
                Ok(_) => tracing::info!("force deleting pod {}/{}: {}", c.namespace, c.name, c.why),
                Err(e) if super::code(&e) == Some(404) => {}
                Err(e) => {
                    tracing::warn!("force deleting pod {}/{} failed: {e}", c.namespace, c.name)
                }
            }
        }
        // Come back when a quarantine ends.
        (gone.len() < self.missing.len()).then_some(QUARANTINE.as_secs() as i64)
    }
}

impl super::Pass for Controller {
    async fn pass(&mut self) -> Option<i64> {
        self.pass_all().await
    }
}
