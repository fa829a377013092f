//! The endpoints and endpointslice controllers at work: every Service with a selector gets
//! an Endpoints object and EndpointSlices listing the addresses of the pods it selects, kept
//! current as pods become ready, move or terminate; Endpoints of deleted Services go.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{DeleteParams, PostParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, ResourceExt};

use super::key;
use crate::controllers::endpoints as logic;
use crate::controllers::expectations::{Awaited, Expectations, rv};

pub struct Controller {
    /// Writes as the endpoint controller.
    pub endpoints_client: kube::Client,
    /// Writes as the endpointslice controller.
    pub slices_client: kube::Client,
    pub services: Store<Service>,
    pub pods: Store<Pod>,
    pub nodes: Store<Node>,
    pub endpoints: Store<Endpoints>,
    pub slices: Store<EndpointSlice>,
    /// Slice writes per service not yet seen in the slice store: acting before they are
    /// would create a second set of slices.
    expectations: Expectations,
}

impl Controller {
    pub fn new(
        endpoints_client: kube::Client,
        slices_client: kube::Client,
        services: Store<Service>,
        pods: Store<Pod>,
        nodes: Store<Node>,
        endpoints: Store<Endpoints>,
        slices: Store<EndpointSlice>,
    ) -> Controller {
        Controller {
            endpoints_client,
            slices_client,
            services,
            pods,
            nodes,
            endpoints,
            slices,
            expectations: Expectations::default(),
        }
    }

    pub async fn pass_all(&mut self) -> Option<i64> {
        let services: Vec<Service> = self
            .services
            .state()
            .iter()
            .map(|s| (**s).clone())
            .collect();
        let mut pods_by_ns = super::ByNamespace::of(&self.pods);
        let nodes: Vec<Node> = self.nodes.state().iter().map(|n| (**n).clone()).collect();
        let mut slices_by_service: HashMap<String, Vec<EndpointSlice>> = HashMap::new();
        for s in self.slices.state() {
            let managed = s
                .labels()
                .get(logic::LABEL_SLICE_MANAGED_BY)
                .map(String::as_str)
                == Some(logic::SLICE_CONTROLLER);
            if let Some(svc) = s
                .labels()
                .get(logic::LABEL_SERVICE_NAME)
                .filter(|_| managed)
            {
                let k = format!("{}/{svc}", s.namespace().unwrap_or_default());
                slices_by_service.entry(k).or_default().push((*s).clone());
            }
        }
        self.expectations
            .retain(|k| services.iter().any(|s| key(&s.metadata) == k));
        for svc in &services {
            let ns = svc.namespace().unwrap_or_default();
            // Pods are copied only for services that select some (not for `kubernetes`).
            let selects = svc
                .spec
                .as_ref()
                .and_then(|s| s.selector.as_ref())
                .is_some_and(|m| !m.is_empty());
            let pods = if selects { pods_by_ns.owned(&ns) } else { &[] };
            self.sync_endpoints(svc, pods).await;
            let k = key(&svc.metadata);
            let store = &self.slices;
            if self
                .expectations
                .satisfied(&k, |sk| super::version_in(store, sk))
            {
                let existing = slices_by_service.remove(&k).unwrap_or_default();
                self.sync_slices(svc, pods, &nodes, &existing).await;
            }
        }
        let all: Vec<Endpoints> = self
            .endpoints
            .state()
            .iter()
            .map(|e| (**e).clone())
            .collect();
        for (ns, name) in logic::orphaned_endpoints(&all, &services) {
            let api: Api<Endpoints> = Api::namespaced(self.endpoints_client.clone(), &ns);
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => tracing::info!("service {ns}/{name} is gone: deleted its endpoints"),
                Err(e) if super::code(&e) == Some(404) => {}
                Err(e) => tracing::warn!("deleting endpoints {ns}/{name} failed: {e}"),
            }
        }
        None
    }

    async fn sync_endpoints(&self, svc: &Service, pods: &[Pod]) {
        let Some(desired) = logic::endpoints(svc, pods) else {
            return;
        };
        let ns = svc.namespace().unwrap_or_default();
        let name = svc.name_any();
        let existing = self.endpoints.get(&ObjectRef::new(&name).within(&ns));
        let Some(write) = logic::endpoints_to_write(&desired, existing.as_deref()) else {
            return;
        };
        let api: Api<Endpoints> = Api::namespaced(self.endpoints_client.clone(), &ns);
        let result = match existing {
            None => api.create(&PostParams::default(), &write).await,
            Some(_) => api.replace(&name, &PostParams::default(), &write).await,
        };
        match result {
            Ok(_) => tracing::info!("endpoints {ns}/{name}: {}", describe_addresses(&write)),
            // The store is behind our own last write; the next pass sees it.
            Err(e) if super::code(&e) == Some(409) => {}
            Err(e) => tracing::warn!("writing endpoints {ns}/{name} failed: {e}"),
        }
    }

    async fn sync_slices(
        &mut self,
        svc: &Service,
        pods: &[Pod],
        nodes: &[Node],
        existing: &[EndpointSlice],
    ) {
        let desired = logic::endpoint_slices(svc, pods, nodes);
        let diff = logic::slices_to_write(&desired, existing);
        if diff.is_empty() {
            return;
        }
        let ns = svc.namespace().unwrap_or_default();
        let k = key(&svc.metadata);
        let api: Api<EndpointSlice> = Api::namespaced(self.slices_client.clone(), &ns);
        let pp = PostParams::default();
        let mut awaited = Vec::new();
        for slice in &diff.create {
            match api.create(&pp, slice).await {
                Ok(s) => {
                    tracing::info!(
                        "service {k}: created endpointslice {} ({})",
                        s.name_any(),
                        describe_slice(&s)
                    );
                    awaited.push(Awaited::AtLeast(
                        format!("{ns}/{}", s.name_any()),
                        rv(&s.metadata),
                    ));
                }
                Err(e) => tracing::warn!("service {k}: creating an endpointslice failed: {e}"),
            }
        }
        for slice in &diff.update {
            match api.replace(&slice.name_any(), &pp, slice).await {
                Ok(s) => {
                    tracing::info!(
                        "service {k}: updated endpointslice {} ({})",
                        s.name_any(),
                        describe_slice(&s)
                    );
                    awaited.push(Awaited::AtLeast(
                        format!("{ns}/{}", s.name_any()),
                        rv(&s.metadata),
                    ));
                }
                Err(e) if super::code(&e) == Some(409) => {}
                Err(e) => tracing::warn!(
                    "service {k}: updating endpointslice {} failed: {e}",
                    slice.name_any()
                ),
            }
        }
        for slice in &diff.delete {
            match api
                .delete(&slice.name_any(), &DeleteParams::default())
                .await
            {
                Ok(_) => {
                    tracing::info!("service {k}: deleted endpointslice {}", slice.name_any());
                    awaited.push(Awaited::Gone(format!("{ns}/{}", slice.name_any())));
                }
                Err(e) if super::code(&e) == Some(404) => {}
                Err(e) => tracing::warn!(
                    "service {k}: deleting endpointslice {} failed: {e}",
                    slice.name_any()
                ),
            }
        }
        self.expectations.expect(&k, awaited);
    }
}

/// `10.0.0.1:80, 10.0.0.2:80 (1 not ready)`, as a log line names an Endpoints' content.
fn describe_addresses(e: &Endpoints) -> String {
    let mut ready = Vec::new();
    let mut not_ready = 0;
    for s in e.subsets.iter().flatten() {
        let ports: Vec<String> = s
            .ports
            .iter()
            .flatten()
            .map(|p| p.port.to_string())
            .collect();
        for a in s.addresses.iter().flatten() {
            ready.push(format!("{}:{}", a.ip, ports.join(",")));
        }
        not_ready += s.not_ready_addresses.as_ref().map_or(0, Vec::len);
    }
    let mut out = match ready.is_empty() {
        true => "no ready addresses".to_string(),
        false => ready.join(" "),
    };
    if not_ready > 0 {
        out.push_str(&format!(" ({not_ready} not ready)"));
    }
    out
}

/// `2 endpoints, 1 ready`.
fn describe_slice(s: &EndpointSlice) -> String {
    let ready = s
        .endpoints
        .iter()
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) == Some(true))
        .count();
    format!("{} endpoints, {ready} ready", s.endpoints.len())
}

impl super::Pass for Controller {
    async fn pass(&mut self) -> Option<i64> {
        self.pass_all().await
    }
}
