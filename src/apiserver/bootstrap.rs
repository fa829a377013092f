//! What every cluster has from its first start: the four namespaces, the `kubernetes`
//! Service in default with Endpoints that point at this apiserver, and the default RBAC
//! roles and bindings.

use serde_json::json;

use super::Server;
use super::rest::rv_of;
use super::status::ApiError;
use super::strategy::prepare_new;
use crate::kinds;

/// The namespaces every cluster has.
const BOOTSTRAP_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// What the bootstrap objects need to know about this apiserver.
pub struct Bootstrap {
    /// The first address of the service range: the `kubernetes` Service's ClusterIP.
    pub kubernetes_ip: Option<std::net::Ipv4Addr>,
    /// Where the apiserver listens, for the `kubernetes` Endpoints.
    pub address: String,
    pub port: u16,
}

pub async fn bootstrap(server: &Server, b: &Bootstrap) -> Result<(), ApiError> {
    let ns = kinds::find("", "v1", "namespaces").expect("namespaces are a served kind");
    for name in BOOTSTRAP_NAMESPACES {
        if server.storage.get(ns, None, name).await?.is_none() {
            let obj = prepare_new(ns, None, json!({"metadata": {"name": name}}))?;
            match server.storage.create(ns, None, name, obj).await {
                Ok(_) => tracing::info!(namespace = name, "created bootstrap namespace"),
                Err(e) if e.reason == "AlreadyExists" => {}
                Err(e) => return Err(e),
            }
        }
    }
    // The `kubernetes` Service in default, and Endpoints that point at this apiserver, as
    // upstream keeps them (clients inside the cluster find the API through them).
    let svc = kinds::find("", "v1", "services").expect("services are a served kind");
    let ep = kinds::find("", "v1", "endpoints").expect("endpoints are a served kind");
    let labels = json!({"component": "apiserver", "provider": "kubernetes"});
    if let Some(ip) = b.kubernetes_ip
        && server
            .storage
            .get(svc, Some("default"), "kubernetes")
            .await?
            .is_none()
    {
        let obj = prepare_new(
            svc,
            Some("default"),
            json!({
                "metadata": {"name": "kubernetes", "labels": labels},
                "spec": {
                    "type": "ClusterIP", "clusterIP": ip.to_string(), "clusterIPs": [ip.to_string()],
                    "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
                    "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                    "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": b.port}],
                },
                "status": {"loadBalancer": {}},
            }),
        )?;
        if let Err(e) =
            super::allocator::create(server, svc, "default", "kubernetes", obj, false).await
            && e.reason != "AlreadyExists"
        {
            return Err(e);
        }
    }
    let subsets = json!([{
        "addresses": [{"ip": b.address}],
        "ports": [{"name": "https", "port": b.port, "protocol": "TCP"}],
    }]);
    match server
        .storage
        .get(ep, Some("default"), "kubernetes")
        .await?
    {
        Some(current) if current["subsets"] == subsets => {}
        Some(current) => {
            // The apiserver's port may have changed since the last start.
            let mut obj = current.clone();
            obj["subsets"] = subsets;
            server
                .storage
                .update(ep, Some("default"), "kubernetes", rv_of(&current), obj)
                .await?;
        }
        None => {
            let obj = prepare_new(
                ep,
                Some("default"),
                json!({"metadata": {"name": "kubernetes", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}}, "subsets": subsets}),
            )?;
            if let Err(e) = server
                .storage
                .create(ep, Some("default"), "kubernetes", obj)
                .await
                && e.reason != "AlreadyExists"
            {
                return Err(e);
            }
        }
    }
    bootstrap_policy(server).await?;
    Ok(())
}

/// The default ClusterRoles and ClusterRoleBindings ([`super::rbac::bootstrap_policy`]):
/// created when missing, and (as upstream reconciles those annotated autoupdate) put back
/// when their rules were changed; anything else a user made is left alone.
async fn bootstrap_policy(server: &Server) -> Result<(), ApiError> {
    for obj in super::rbac::bootstrap_policy() {
        let kind = kinds::KINDS
            .iter()
            .find(|k| obj["kind"] == k.kind && obj["apiVersion"] == k.api_version())
            .expect("the bootstrap policy holds served kinds");
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        match server.storage.get(kind, None, &name).await? {
            None => {
                let new = prepare_new(kind, None, obj)?;
                match server.storage.create(kind, None, &name, new).await {
                    Ok(_) => tracing::info!(kind = kind.kind, name, "created default RBAC object"),
                    Err(e) if e.reason == "AlreadyExists" => {}
                    Err(e) => return Err(e),
                }
            }
            Some(current) => {
                let autoupdate = current["metadata"]["annotations"]["rbac.authorization.kubernetes.io/autoupdate"]
                    != "false";
                // An aggregated role's rules are written by the aggregation (authz.rs), not here.
                let fields: &[&str] = if obj["aggregationRule"].is_object() {
                    &["roleRef", "subjects", "aggregationRule"]
                } else {
                    &["rules", "roleRef", "subjects", "aggregationRule"]
                };
                let drifted = fields.iter().any(|f| current[f] != obj[f]);
                if autoupdate && drifted {
                    let mut new = current.clone();
                    if let (Some(n), Some(o)) = (new.as_object_mut(), obj.as_object()) {
                        for f in fields {
                            match o.get(*f) {
                                Some(v) => n.insert((*f).into(), v.clone()),
                                None => n.remove(*f),
                            };
                        }
                    }
                    server
                        .storage
                        .update(kind, None, &name, rv_of(&current), new)
                        .await?;
                    tracing::info!(kind = kind.kind, name, "reconciled default RBAC object");
                }
            }
        }
    }
    Ok(())
}
