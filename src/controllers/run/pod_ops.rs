//! Pod writes every workload controller makes: adopting an orphan that its selector matches
//! and releasing a pod it no longer selects (upstream's ControllerRefManager patches).

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use crate::controllers::expectations::{Awaited, rv};

/// Adds `owner` as the controller of pod `name`; `uid` guards against a newer pod of the
/// same name.
pub async fn adopt(
    api: &Api<Pod>,
    name: &str,
    owner: &OwnerReference,
    uid: Option<String>,
) -> Result<Pod, kube::Error> {
    let patch = json!({"metadata": {"ownerReferences": [owner], "uid": uid}});
    api.patch(name, &PatchParams::default(), &Patch::Strategic(&patch))
        .await
}

/// Removes the reference to the owner with `owner_uid` from pod `name`.
pub async fn release(api: &Api<Pod>, name: &str, owner_uid: &str) -> Result<Pod, kube::Error> {
    let patch = json!({"metadata": {"ownerReferences": [{"$patch": "delete", "uid": owner_uid}]}});
    api.patch(name, &PatchParams::default(), &Patch::Strategic(&patch))
        .await
}

/// Adopts and releases the pods of namespace `ns` a controller's plan names (by name among
/// `pods`), logging
/// each as `<who>: adopted pod NAME`; returns the adopted pods' versions to await.
pub async fn claim<P: std::borrow::Borrow<Pod>>(
    api: &Api<Pod>,
    ns: &str,
    pods: &[P],
    adopt: &[String],
    release: &[String],
    owner: &OwnerReference,
    who: &str,
) -> Vec<Awaited> {
    let mut awaited = Vec::new();
    for name in adopt {
        let uid = pods
            .iter()
            .map(std::borrow::Borrow::borrow)
            .find(|p: &&Pod| p.metadata.name.as_deref() == Some(name))
            .and_then(|p| p.metadata.uid.clone());
        match self::adopt(api, name, owner, uid).await {
            Ok(p) => {
                tracing::info!("{who}: adopted pod {name}");
                awaited.push(Awaited::AtLeast(format!("{ns}/{name}"), rv(&p.metadata)));
            }
            Err(e) => tracing::warn!("{who}: adopting pod {name} failed: {e}"),
        }
    }
    for name in release {
        match self::release(api, name, &owner.uid).await {
            Ok(p) => {
                tracing::info!("{who}: released pod {name}");
                awaited.push(Awaited::AtLeast(format!("{ns}/{name}"), rv(&p.metadata)));
            }
            Err(e) => tracing::warn!("{who}: releasing pod {name} failed: {e}"),
        }
    }
    awaited
}
