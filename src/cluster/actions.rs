//! What the browser changes in the cluster: the control-plane taint toggled, a node cordoned,
//! a workload scaled or restarted, an object deleted. Each is one request, described as it
//! is sent (for the action log the audience reads) and answered in one line.

use http::Request;
use serde_json::{Value, json};

use super::object::{ObjectRef, get};

/// The taint the workshop toggles: what kubeadm puts on control-plane nodes.
pub const CONTROL_PLANE_TAINT: &str = "node-role.kubernetes.io/control-plane";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Adds `node-role.kubernetes.io/control-plane:NoSchedule` to the node, or removes it.
    ToggleTaint(ObjectRef),
    /// Marks the node unschedulable (true) or schedulable again.
    Cordon(ObjectRef, bool),
    /// Sets the replicas through the scale subresource, as `kubectl scale`.
    Scale(ObjectRef, u32),
    /// A new rollout of the same template, as `kubectl rollout restart`.
    Restart(ObjectRef),
    /// Deleted with the default grace period, dependents in the background.
    Delete(ObjectRef),
    /// A Deployment back to a revision of its history, as `kubectl rollout undo
    /// --to-revision`; `what` says what changes (the images before and after).
    Undo {
        object: ObjectRef,
        revision: i64,
        what: String,
    },
}

impl Change {
    /// What is about to happen, in the words of the confirmation and the log.
    pub fn summary(&self) -> String {
        match self {
            Change::ToggleTaint(o) => {
                format!("toggle {CONTROL_PLANE_TAINT}:NoSchedule on {}", o.label())
            }
            Change::Cordon(o, true) => format!("cordon {}", o.label()),
            Change::Cordon(o, false) => format!("uncordon {}", o.label()),
            Change::Scale(o, n) => format!("scale {} to {n}", o.label()),
            Change::Restart(o) => format!("restart {}", o.label()),
            Change::Delete(o) => format!("delete {}", o.label()),
            Change::Undo {
                object,
                revision,
                what,
            } => format!("undo {} to revision {revision} ({what})", object.label()),
        }
    }

    /// Whether it needs a yes first (it cannot be taken back with the same key).
    pub fn needs_confirmation(&self) -> bool {
        matches!(
            self,
            Change::Delete(_) | Change::Restart(_) | Change::Undo { .. }
        )
    }

    /// Sends it; the answer in a line (what the server now says), or why it failed.
    pub async fn perform(&self, client: &kube::Client) -> Result<Done, String> {
        match self {
            Change::ToggleTaint(node) => {
                let current = get(client, node).await?;
                let (taints, added) = toggled_taints(&current);
                let body = json!({
                    // The version read: a change made meanwhile is a 409, not overwritten.
                    "metadata": {"resourceVersion": current["metadata"]["resourceVersion"]},
                    "spec": {"taints": taints},
                });
                let sent = send(client, "PATCH", &node.path(), MERGE, &body).await?;
                Ok(Done {
                    sent,
                    answer: if added {
                        format!(
                            "{} now has the taint {CONTROL_PLANE_TAINT}:NoSchedule: new pods without a toleration stay off it",
                            node.name
                        )
                    } else {
                        format!(
                            "{} no longer has the taint {CONTROL_PLANE_TAINT}:NoSchedule",
                            node.name
                        )
                    },
                })
            }
            Change::Cordon(node, on) => {
                let body = json!({"spec": {"unschedulable": on}});
                let sent = send(client, "PATCH", &node.path(), MERGE, &body).await?;
                Ok(Done {
                    sent,
                    answer: format!(
                        "{} {}",
                        node.name,
                        if *on {
                            "cordoned: SchedulingDisabled"
                        } else {
                            "uncordoned"
                        }
                    ),
                })
            }
            Change::Scale(object, replicas) => {
                let body = json!({"spec": {"replicas": replicas}});
                let path = format!("{}/scale", object.path());
                let sent = send(client, "PATCH", &path, MERGE, &body).await?;
                Ok(Done {
                    sent,
                    answer: format!("{} scaled to {replicas}", object.name),
                })
            }
            Change::Restart(object) => {
                let now = time::OffsetDateTime::now_utc()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                let body = json!({"spec": {"template": {"metadata": {"annotations": {
                    "kubectl.kubernetes.io/restartedAt": now
                }}}}});
                let sent = send(client, "PATCH", &object.path(), STRATEGIC, &body).await?;
                Ok(Done {
                    sent,
                    answer: format!("{} restarted: a new rollout begins", object.name),
                })
            }
            Change::Undo {
                object, revision, ..
            } => {
                let undo = plan_undo(client, object, Some(*revision)).await?;
                let sent = send(client, "PATCH", &object.path(), JSON_PATCH, &undo.patch).await?;
                Ok(Done {
                    sent,
                    answer: format!(
                        "{} rolled back to revision {revision}: a new rollout of {}",
                        object.name,
                        undo.images_after.join(", ")
                    ),
                })
            }
            Change::Delete(object) => {
                let body = json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"});
                let sent =
                    send(client, "DELETE", &object.path(), "application/json", &body).await?;
                Ok(Done {
                    sent,
                    answer: format!("{} deleted", object.name),
                })
            }
        }
    }
}

/// A change the server took: the request as sent, and what it means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Done {
    pub sent: String,
    pub answer: String,
}

const MERGE: &str = "application/merge-patch+json";
const STRATEGIC: &str = "application/strategic-merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";

/// The undo of a Deployment to `to` (None: its previous revision), planned from what the
/// cluster has now.
pub async fn plan_undo(
    client: &kube::Client,
    deployment: &ObjectRef,
    to: Option<i64>,
) -> Result<super::rollout::Undo, String> {
    let current = get(client, deployment).await?;
    let path = format!(
        "/apis/apps/v1/namespaces/{}/replicasets",
        deployment.namespace
    );
    let request = Request::get(path)
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    let list: Value = client.request(request).await.map_err(|e| e.to_string())?;
    let replicasets = list["items"].as_array().cloned().unwrap_or_default();
    super::rollout::plan_undo(&current, &replicasets, to)
}

/// The undo `u` asks about: to the previous revision, what changes said in the question.
pub async fn undo_question(client: &kube::Client, deployment: ObjectRef) -> Result<Change, String> {
    let undo = plan_undo(client, &deployment, None).await?;
    Ok(Change::Undo {
        object: deployment,
        revision: undo.revision,
        what: format!(
            "{} → {}",
            undo.images_before.join(", "),
            undo.images_after.join(", ")
        ),
    })
}

/// The node's taints with the control-plane NoSchedule taint removed if it is there, else
/// added; and whether it was added.
pub fn toggled_taints(node: &Value) -> (Vec<Value>, bool) {
    let taints: Vec<Value> = node["spec"]["taints"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let is_it = |t: &Value| t["key"] == CONTROL_PLANE_TAINT && t["effect"] == "NoSchedule";
    if taints.iter().any(is_it) {
        (taints.into_iter().filter(|t| !is_it(t)).collect(), false)
    } else {
        let mut taints = taints;
        taints.push(json!({"key": CONTROL_PLANE_TAINT, "effect": "NoSchedule"}));
        (taints, true)
    }
}

/// Sends one request; returns it as the log shows it (`PATCH /api/v1/nodes/x {…}`), or the
/// server's message (a Status's, with its code).
async fn send(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: &Value,
) -> Result<String, String> {
    let text = body.to_string();
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(text.clone().into_bytes())
        .map_err(|e| e.to_string())?;
    client
        .request::<Value>(request)
        .await
        .map_err(|e| match e {
            kube::Error::Api(s) => format!("{} ({} {})", s.message, s.code, s.reason),
            e => e.to_string(),
        })?;
    Ok(format!("{method} {path} {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_taint_toggles_and_other_taints_stay() {
        let other = json!({"key": "gpu", "value": "yes", "effect": "NoSchedule"});
        let plain = json!({"spec": {"taints": [other.clone()]}});
        let (taints, added) = toggled_taints(&plain);
        assert!(added);
        assert_eq!(
            taints,
            [
                other.clone(),
                json!({"key": CONTROL_PLANE_TAINT, "effect": "NoSchedule"})
            ]
        );
        let tainted = json!({"spec": {"taints": taints}});
        let (taints, added) = toggled_taints(&tainted);
        assert!(!added);
        assert_eq!(taints, [other]);
        let (taints, added) = toggled_taints(&json!({"spec": {}}));
        assert!(added && taints.len() == 1, "a node without taints gets it");
    }
}
