//! What is special about pods: the ServiceAccount admission on create (the account's token
//! projected into the pod), binding to a node (the scheduler's `pods/binding`), and eviction
//! (`pods/eviction`, which respects PodDisruptionBudgets).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::Server;
use super::rest::{json_response, rv_of};
use super::selector::LabelSelector;
use super::status::ApiError;
use crate::kinds::{self, Kind};

/// Where every container finds its service-account token, CA and namespace.
const TOKEN_MOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

fn pods() -> &'static Kind {
    kinds::find("", "v1", "pods").expect("pods are served")
}

/// Upstream's ServiceAccount admission: the pod runs as `default` unless it names an account;
/// a named account must exist; when the account exists and automounting is not turned off,
/// a projected volume with a bound token, the cluster CA and the namespace is mounted into
/// every container. Without the `default` account (no controller-manager yet) the pod is
/// admitted as it is.
pub async fn admit(server: &Server, ns: &str, pod: &mut Value) -> Result<(), ApiError> {
    let spec = &pod["spec"];
    let named = spec["serviceAccountName"]
        .as_str()
        .or(spec["serviceAccount"].as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let account_name = named.clone().unwrap_or_else(|| "default".into());
    let sa_kind = kinds::find("", "v1", "serviceaccounts").expect("serviceaccounts are served");
    let Some(account) = server.storage.get(sa_kind, Some(ns), &account_name).await? else {
        if named.is_some() {
            return Err(ApiError::forbidden(format!(
                "pods {:?} is forbidden: error looking up service account {ns}/{account_name}: serviceaccount {account_name:?} not found",
                pod["metadata"]["name"].as_str().unwrap_or("")
            )));
        }
        return Ok(());
    };
    pod["spec"]["serviceAccountName"] = account_name.clone().into();
    pod["spec"]["serviceAccount"] = account_name.into();
    let automount = pod["spec"]["automountServiceAccountToken"]
        .as_bool()
        .or(account["automountServiceAccountToken"].as_bool())
        .unwrap_or(true);
    if !automount {
        return Ok(());
    }
    let volume_name = format!("kube-api-access-{}", super::strategy::random_suffix());
    let volume = json!({
        "name": volume_name,
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}]}},
            ],
        },
    });
    let spec = &mut pod["spec"];
    if !spec["volumes"].is_array() {
        spec["volumes"] = json!([]);
    }
    if let Some(v) = spec["volumes"].as_array_mut() {
        v.push(volume);
    }
    for list in ["initContainers", "containers"] {
        let Some(containers) = spec[list].as_array_mut() else {
            continue;
        };
        for c in containers {
            let mounts = &mut c["volumeMounts"];
            if mounts
                .as_array()
                .is_some_and(|m| m.iter().any(|x| x["mountPath"] == TOKEN_MOUNT))
            {
                continue;
            }
            if !mounts.is_array() {
                *mounts = json!([]);
            }
            if let Some(m) = mounts.as_array_mut() {
                m.push(json!({"name": volume_name, "mountPath": TOKEN_MOUNT, "readOnly": true}));
            }
        }
    }
    Ok(())
}

fn success() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
}

/// `POST pods/NAME/binding`: assigns the pod to a node, once.
pub async fn bind(
    server: &Server,
    ns: &str,
    name: &str,
    binding: &Value,
) -> Result<Response, ApiError> {
    let node = binding["target"]["name"].as_str().unwrap_or("");
    if node.is_empty() {
        return Err(ApiError::invalid(
            pods(),
            name,
            vec![("target.name".into(), "Required value".into())],
        ));
    }
    for _attempt in 0..5 {
        let mut pod = server
            .storage
            .get(pods(), Some(ns), name)
            .await?
            .ok_or_else(|| ApiError::not_found(pods(), name))?;
        if let Some(uid) = binding["metadata"]["uid"].as_str()
            && pod["metadata"]["uid"].as_str() != Some(uid)
        {
            return Err(ApiError::conflict_with(
                pods(),
                name,
                "the UID in the binding does not match the pod".into(),
            ));
        }
        if !pod["metadata"]["deletionTimestamp"].is_null() {
            return Err(ApiError::conflict_with(
                pods(),
                name,
                "pod is being deleted, cannot be assigned to a host".into(),
            ));
        }
        if let Some(current) = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
            return Err(ApiError::conflict_with(
                pods(),
                name,
                format!("pod {name} is already assigned to node {current:?}"),
            ));
        }
        let rev = rv_of(&pod);
        pod["spec"]["nodeName"] = node.into();
        set_condition(&mut pod, "PodScheduled", "True");
        match server
            .storage
            .update(pods(), Some(ns), name, rev, pod)
            .await
        {
            Ok(_) => {
                tracing::info!(namespace = ns, pod = name, node, "bound");
                return Ok(json_response(StatusCode::CREATED, &success()));
            }
            Err(e) if e.reason == "Conflict" => continue,
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::conflict(pods(), name))
}

fn set_condition(pod: &mut Value, ty: &str, status: &str) {
    let conditions = &mut pod["status"]["conditions"];
    if !conditions.is_array() {
        *conditions = json!([]);
    }
    let list = conditions.as_array_mut().expect("just made an array");
    list.retain(|c| c["type"] != ty);
    list.push(json!({
        "type": ty, "status": status,
        "lastProbeTime": null,
        "lastTransitionTime": super::strategy::now_rfc3339(),
    }));
}

/// `POST pods/NAME/eviction`: deletes the pod unless a PodDisruptionBudget forbids it.
pub async fn evict(
    server: &Server,
    ns: &str,
    name: &str,
    eviction: &Value,
) -> Result<Response, ApiError> {
    let pod = server
        .storage
        .get(pods(), Some(ns), name)
        .await?
        .ok_or_else(|| ApiError::not_found(pods(), name))?;
    let finished = matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    );
    if !finished && pod["metadata"]["deletionTimestamp"].is_null() {
        let pdbs = kinds::find("policy", "v1", "poddisruptionbudgets");
        if let Some(pdb_kind) = pdbs {
            let (budgets, _) = server.storage.list(pdb_kind, Some(ns)).await?;
            for pdb in budgets {
                if selects(&pdb["spec"]["selector"], &pod["metadata"]["labels"])
                    && pdb["status"]["disruptionsAllowed"].as_i64().unwrap_or(0) < 1
                {
                    return Err(ApiError::too_many_requests(format!(
                        "Cannot evict pod as it would violate the pod's disruption budget. The disruption budget {} needs {} healthy pods and has {} currently",
                        pdb["metadata"]["name"].as_str().unwrap_or(""),
                        pdb["status"]["desiredHealthy"].as_i64().unwrap_or(0),
                        pdb["status"]["currentHealthy"].as_i64().unwrap_or(0),
                    )));
                }
            }
        }
    }
    let opts = super::delete::Options::from_value(&eviction["deleteOptions"]).checked()?;
    super::delete::delete(server, pods(), Some(ns), name, &opts).await?;
    Ok(json_response(StatusCode::CREATED, &success()))
}

/// Whether a metav1.LabelSelector selects these labels; an empty selector selects
/// everything, as for PodDisruptionBudgets.
fn selects(selector: &Value, labels: &Value) -> bool {
    LabelSelector::from_object(selector).is_some_and(|s| s.matches(labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_selectors_of_budgets_select_as_upstream() {
        let labels = json!({"app": "web", "tier": "fe"});
        assert!(selects(&json!({"matchLabels": {"app": "web"}}), &labels));
        assert!(!selects(&json!({"matchLabels": {"app": "db"}}), &labels));
        assert!(selects(
            &json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]}]}),
            &labels
        ));
        assert!(!selects(
            &json!({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}),
            &labels
        ));
        assert!(selects(&json!({}), &labels));
    }
}
