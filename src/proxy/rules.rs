//! What the proxy forwards: for each Service port, the addresses it listens on (the
//! ClusterIP, and 127.0.0.1 plus the node IP for a NodePort) and the ready endpoints behind
//! it from the Service's EndpointSlices — upstream kube-proxy's service and endpoints maps.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

/// One forwarding rule: connections to `listen` go round-robin (or by client IP) to
/// `backends`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// `namespace/name:port` for the log.
    pub service: String,
    pub backends: Vec<String>,
    /// sessionAffinity ClientIP.
    pub sticky: bool,
}

const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The rules for `services` and `slices`, by listen address (`ip:port`). Ports other than
/// TCP and headless services get none; a port without ready endpoints is left out, so its
/// address refuses connections at once (upstream REJECTs them).
pub fn rules(
    services: &[&Service],
    slices: &[&EndpointSlice],
    node_ip: &str,
) -> BTreeMap<String, Rule> {
    let mut out = BTreeMap::new();
    for svc in services {
        let ns = svc.metadata.namespace.clone().unwrap_or_default();
        let name = svc.metadata.name.clone().unwrap_or_default();
        let Some(spec) = &svc.spec else { continue };
        if spec.type_.as_deref() == Some("ExternalName") {
            continue;
        }
        let cluster_ip = spec
            .cluster_ip
            .clone()
            .filter(|ip| !ip.is_empty() && ip != "None");
        let sticky = spec.session_affinity.as_deref() == Some("ClientIP");
        let mine: Vec<&&EndpointSlice> = slices
            .iter()
            .filter(|s| {
                s.metadata.namespace.as_deref() == Some(ns.as_str())
                    && s.metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(SERVICE_NAME_LABEL))
                        == Some(&name)
            })
            .collect();
        for port in spec.ports.iter().flatten() {
            if port.protocol.as_deref().is_some_and(|p| p != "TCP") {
                continue;
            }
            let port_name = port.name.clone().unwrap_or_default();
            let mut backends: Vec<String> = Vec::new();
            for slice in &mine {
                let Some(target) = slice
                    .ports
                    .iter()
                    .flatten()
                    .find(|p| p.name.clone().unwrap_or_default() == port_name)
                    .and_then(|p| p.port)
                else {
                    continue;
                };
                for e in &slice.endpoints {
                    let ready = e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
                    if !ready {
                        continue;
                    }
                    backends.extend(e.addresses.iter().map(|a| format!("{a}:{target}")));
                }
            }
            backends.sort();
            backends.dedup();
            if backends.is_empty() {
                continue;
            }
            let rule = Rule {
                service: format!(
                    "{ns}/{name}:{}",
                    if port_name.is_empty() {
                        port.port.to_string()
                    } else {
                        port_name.clone()
                    }
                ),
                backends,
                sticky,
            };
            if let Some(ip) = &cluster_ip {
                out.insert(format!("{ip}:{}", port.port), rule.clone());
            }
            if let Some(node_port) = port
                .node_port
                .filter(|_| matches!(spec.type_.as_deref(), Some("NodePort" | "LoadBalancer")))
            {
                out.insert(format!("127.0.0.1:{node_port}"), rule.clone());
                if node_ip != "127.0.0.1" {
                    out.insert(format!("{node_ip}:{node_port}"), rule.clone());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(v: serde_json::Value) -> Service {
        serde_json::from_value(v).unwrap()
    }

    fn slice(v: serde_json::Value) -> EndpointSlice {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn service_ports_forward_to_ready_endpoints() {
        let web = service(json!({"metadata": {"name": "web", "namespace": "default"},
            "spec": {"type": "NodePort", "clusterIP": "127.96.0.10", "sessionAffinity": "ClientIP",
                "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"},
                          {"name": "dns", "port": 53, "protocol": "UDP"}]}}));
        let empty = service(
            json!({"metadata": {"name": "empty", "namespace": "default"},
            "spec": {"clusterIP": "127.96.0.11", "ports": [{"port": 80}]}}),
        );
        let headless = service(json!({"metadata": {"name": "db", "namespace": "default"},
            "spec": {"clusterIP": "None", "ports": [{"port": 5432}]}}));
        let s = slice(
            json!({"metadata": {"name": "web-abc", "namespace": "default",
                "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [
                {"addresses": ["127.244.0.3"], "conditions": {"ready": true}},
                {"addresses": ["127.244.0.2"], "conditions": {"ready": true}},
                {"addresses": ["127.244.0.4"], "conditions": {"ready": false}}]}),
        );
        let other_ns = slice(json!({"metadata": {"name": "web-x", "namespace": "other",
                "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": 1}],
            "endpoints": [{"addresses": ["127.244.9.9"]}]}));
        let r = rules(&[&web, &empty, &headless], &[&s, &other_ns], "127.0.0.1");
        let keys: Vec<&str> = r.keys().map(String::as_str).collect();
        assert_eq!(keys, ["127.0.0.1:30080", "127.96.0.10:80"]);
        let rule = &r["127.96.0.10:80"];
        assert_eq!(rule.backends, ["127.244.0.2:8080", "127.244.0.3:8080"]);
        assert!(rule.sticky);
        assert_eq!(rule.service, "default/web:http");
    }
}
