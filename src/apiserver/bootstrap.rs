//! What every cluster has from its first start: the four namespaces, and the `kubernetes`
//! Service in default with Endpoints that point at this apiserver.

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
    Ok(())
}
