//! Pod writes every workload controller makes: adopting an orphan that its selector matches
//! and releasing a pod it no longer selects (upstream's ControllerRefManager patches).

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;

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
