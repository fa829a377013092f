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
    /// Deleted (by default with the object's grace period, dependents in the background).
    Delete(ObjectRef, DeleteOptions),
    /// A taint added or removed, written as `kubectl taint` takes it.
    Taint(ObjectRef, TaintEdit),
    /// A container's image changed, as `kubectl set image`.
    SetImage {
        object: ObjectRef,
        container: String,
        image: String,
    },
    /// Cordon the node, then evict its pods (DaemonSet pods stay), as `kubectl drain`.
    Drain(ObjectRef),
    /// A Deployment's rollout paused (true: template changes wait) or resumed, as
    /// `kubectl rollout pause|resume`.
    Pause(ObjectRef, bool),
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
            Change::Delete(o, options) => format!("delete {}{}", o.label(), options.describe()),
            Change::Taint(o, edit) => format!("taint {} {}", o.label(), edit.text),
            Change::SetImage {
                object,
                container,
                image,
            } => format!("set image {} {container}={image}", object.label()),
            Change::Drain(o) => format!("drain {}", o.label()),
            Change::Pause(o, true) => format!("pause {}", o.label()),
            Change::Pause(o, false) => format!("resume {}", o.label()),
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
            Change::Delete(..) | Change::Restart(_) | Change::Undo { .. } | Change::Drain(_)
        )
    }

    /// Sends it; the answer in a line (what the server now says), or why it failed.
    pub async fn perform(&self, client: &kube::Client) -> Result<Done, String> {
        self.perform_reporting(client, &|_| {}).await
    }

    /// As [`Change::perform`], saying how a long change goes (a drain waits for its evicted
    /// pods to be gone) through `progress`.
    pub async fn perform_reporting(
        &self,
        client: &kube::Client,
        progress: &(dyn Fn(String) + Send + Sync),
    ) -> Result<Done, String> {
        match self {
            Change::ToggleTaint(node) => {
                let mut added = false;
                let sent = write_taints(client, node, |current| {
                    let (taints, was_added) = toggled_taints(current);
                    added = was_added;
                    Ok(taints)
                })
                .await?;
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
            Change::Taint(node, edit) => {
                let sent = write_taints(client, node, |current| edit.apply(current)).await?;
                Ok(Done {
                    sent,
                    answer: format!("{} tainted: {}", node.name, edit.text),
                })
            }
            Change::SetImage {
                object,
                container,
                image,
            } => {
                let current = get(client, object).await?;
                let names: Vec<&str> = current["spec"]["template"]["spec"]["containers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c["name"].as_str())
                    .collect();
                if !names.contains(&container.as_str()) {
                    return Err(format!(
                        "unable to find container named {container:?} (it has: {})",
                        names.join(", ")
                    ));
                }
                // Containers merge by name: only this one's image changes.
                let body = json!({"spec": {"template": {"spec": {"containers": [
                    {"name": container, "image": image}
                ]}}}});
                let sent = send(client, "PATCH", &object.path(), STRATEGIC, &body).await?;
                Ok(Done {
                    sent,
                    answer: format!("{} image updated: {container}={image}", object.name),
                })
            }
            Change::Drain(node) => drain(client, node, progress).await,
            Change::Pause(object, paused) => {
                let body = json!({"spec": {"paused": paused}});
                let sent = send(client, "PATCH", &object.path(), MERGE, &body).await?;
                Ok(Done {
                    sent,
                    answer: if *paused {
                        format!(
                            "{} paused: template changes start no rollout until resumed",
                            object.name
                        )
                    } else {
                        format!("{} resumed: its rollout goes on", object.name)
                    },
                })
            }
            Change::Undo {
                object, revision, ..
            } => {
                let undo = plan_undo(client, object, Some(*revision)).await?;
                let content_type = if undo.strategic {
                    STRATEGIC
                } else {
                    JSON_PATCH
                };
                let sent = send(client, "PATCH", &object.path(), content_type, &undo.patch).await?;
                Ok(Done {
                    sent,
                    answer: format!(
                        "{} rolled back to revision {revision}: a new rollout of {}",
                        object.name,
                        undo.images_after.join(", ")
                    ),
                })
            }
            Change::Delete(object, options) => {
                let body = options.body();
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

/// How a delete goes, in `kubectl delete`'s flags: `--grace-period=N`, `--now` (1 s),
/// `--force` (0: gone at once, without waiting for the kubelet), `--cascade=background|
/// foreground|orphan` (what happens to the dependents).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    pub grace_seconds: Option<i64>,
    /// The propagation policy; None is kwb's default, Background, as kubectl's.
    pub cascade: Option<&'static str>,
}

impl DeleteOptions {
    pub fn parse(words: &[&str]) -> Result<DeleteOptions, String> {
        let mut o = DeleteOptions::default();
        for word in words {
            match *word {
                "--now" => o.grace_seconds = Some(1),
                "--force" => o.grace_seconds = Some(0),
                w if w.starts_with("--grace-period=") => {
                    let n = &w["--grace-period=".len()..];
                    o.grace_seconds = Some(
                        n.parse()
                            .map_err(|_| format!("delete: {n:?} is not a number of seconds"))?,
                    );
                }
                "--cascade=background" | "--cascade=true" => o.cascade = Some("Background"),
                "--cascade=foreground" => o.cascade = Some("Foreground"),
                "--cascade=orphan" | "--cascade=false" => o.cascade = Some("Orphan"),
                other => {
                    return Err(format!(
                        "delete: {other:?} is not one of --grace-period=N, --now, --force, --cascade=background|foreground|orphan"
                    ));
                }
            }
        }
        Ok(o)
    }

    /// ` (grace period 0, cascade Orphan)`, or nothing for the defaults.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(g) = self.grace_seconds {
            parts.push(format!("grace period {g}s"));
        }
        if let Some(c) = self.cascade {
            parts.push(format!("cascade {}", c.to_lowercase()));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        }
    }

    fn body(&self) -> Value {
        let mut body = json!({"kind": "DeleteOptions", "apiVersion": "v1",
            "propagationPolicy": self.cascade.unwrap_or("Background")});
        if let Some(g) = self.grace_seconds {
            body["gracePeriodSeconds"] = g.into();
        }
        body
    }
}

/// A taint edit in `kubectl taint` words: `key=value:Effect` or `key:Effect` adds (or
/// replaces the one with that key and effect), `key:Effect-` removes that one, `key-`
/// removes every taint with that key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaintEdit {
    pub text: String,
    key: String,
    value: Option<String>,
    /// None only when removing every effect of the key.
    effect: Option<String>,
    remove: bool,
}

const EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];

impl TaintEdit {
    pub fn parse(text: &str) -> Result<TaintEdit, String> {
        let usage = || {
            format!(
                "taint {text:?}: write key=value:Effect, key:Effect, key:Effect- or key- (Effect: {})",
                EFFECTS.join(", ")
            )
        };
        let (body, remove) = match text.strip_suffix('-') {
            Some(b) => (b, true),
            None => (text, false),
        };
        let (key_value, effect) = match body.rsplit_once(':') {
            Some((kv, e)) => (kv, Some(e.to_string())),
            None if remove => (body, None),
            None => return Err(usage()),
        };
        if effect.as_deref().is_some_and(|e| !EFFECTS.contains(&e)) {
            return Err(usage());
        }
        let (key, value) = match key_value.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (key_value, None),
        };
        if key.is_empty() || (remove && value.is_some()) {
            return Err(usage());
        }
        Ok(TaintEdit {
            text: text.to_string(),
            key: key.to_string(),
            value,
            effect,
            remove,
        })
    }

    /// The node's taints after the edit; removing one that is not there is an error.
    pub fn apply(&self, node: &Value) -> Result<Vec<Value>, String> {
        let taints: Vec<Value> = node["spec"]["taints"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let matches = |t: &Value| {
            t["key"] == self.key.as_str()
                && self
                    .effect
                    .as_ref()
                    .is_none_or(|e| t["effect"] == e.as_str())
        };
        let kept: Vec<Value> = taints.iter().filter(|t| !matches(t)).cloned().collect();
        if self.remove {
            if kept.len() == taints.len() {
                return Err(format!(
                    "taint {:?} not found",
                    self.text.trim_end_matches('-')
                ));
            }
            return Ok(kept);
        }
        let mut taint = json!({"key": self.key, "effect": self.effect});
        if let Some(v) = &self.value {
            taint["value"] = json!(v);
        }
        let mut taints = kept;
        taints.push(taint);
        Ok(taints)
    }
}

/// Cordons the node and evicts its pods but DaemonSet ones (and mirror pods of static
/// ones), as `kubectl drain --ignore-daemonsets`; the pods go as their grace periods end.
/// The list of the pods bound to `node`, in every namespace.
fn pods_on(node: &ObjectRef) -> String {
    format!("/api/v1/pods?fieldSelector=spec.nodeName%3D{}", node.name)
}

/// How long a drain waits for its evicted pods to be gone (their grace periods included).
const DRAIN_WAIT: std::time::Duration = std::time::Duration::from_secs(300);

async fn drain(
    client: &kube::Client,
    node: &ObjectRef,
    progress: &(dyn Fn(String) + Send + Sync),
) -> Result<Done, String> {
    let started = std::time::Instant::now();
    let cordon = json!({"spec": {"unschedulable": true}});
    let mut sent = vec![send(client, "PATCH", &node.path(), MERGE, &cordon).await?];
    let request = Request::get(pods_on(node))
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    let pods: Value = client.request(request).await.map_err(|e| e.to_string())?;
    let (mut evicted, mut left, mut refused) = (Vec::new(), 0, Vec::new());
    for pod in pods["items"].as_array().into_iter().flatten() {
        let by_daemonset = pod["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|o| o["kind"] == "DaemonSet" && o["controller"] == true);
        let mirror = !pod["metadata"]["annotations"]["kubernetes.io/config.mirror"].is_null();
        let done = matches!(
            pod["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed")
        );
        if by_daemonset || mirror {
            left += 1;
            continue;
        }
        if done {
            continue;
        }
        let (ns, name) = (
            pod["metadata"]["namespace"].as_str().unwrap_or(""),
            pod["metadata"]["name"].as_str().unwrap_or(""),
        );
        let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": name, "namespace": ns}});
        let path = format!("/api/v1/namespaces/{ns}/pods/{name}/eviction");
        match send(client, "POST", &path, "application/json", &eviction).await {
            Ok(s) => {
                sent.push(s);
                evicted.push((
                    format!("{ns}/{name}"),
                    pod["metadata"]["uid"].as_str().unwrap_or("").to_string(),
                ));
            }
            Err(e) => refused.push(format!("{ns}/{name}: {e}")),
        }
    }
    // As kubectl drain: done when the evicted pods are gone, not when they were asked to go.
    let still = wait_gone(client, node, &evicted, progress).await;
    let gone = if still.is_empty() {
        format!(" and gone in {:.1} s", started.elapsed().as_secs_f64())
    } else {
        format!(
            "; still terminating after {} s: {}",
            DRAIN_WAIT.as_secs(),
            still.join(", ")
        )
    };
    let mut answer = format!(
        "{} cordoned; evicted {} pods{gone}{}",
        node.name,
        evicted.len(),
        if left > 0 {
            format!(", {left} DaemonSet or static pods left")
        } else {
            String::new()
        }
    );
    if !refused.is_empty() {
        answer.push_str(&format!("; not evicted: {}", refused.join("; ")));
    }
    Ok(Done {
        sent: sent.join(" · "),
        answer,
    })
}

/// Waits until the evicted pods (namespace/name, uid) are no longer on the node, saying how
/// many are gone each second; returns the ones still there after [`DRAIN_WAIT`].
async fn wait_gone(
    client: &kube::Client,
    node: &ObjectRef,
    evicted: &[(String, String)],
    progress: &(dyn Fn(String) + Send + Sync),
) -> Vec<String> {
    let deadline = std::time::Instant::now() + DRAIN_WAIT;
    let list = pods_on(node);
    loop {
        let on_node: Vec<String> = match Request::get(list.as_str()).body(Vec::new()) {
            Ok(request) => client
                .request::<Value>(request)
                .await
                .map(|pods| {
                    pods["items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p["metadata"]["uid"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        let still: Vec<String> = evicted
            .iter()
            .filter(|(_, uid)| on_node.contains(uid))
            .map(|(name, _)| name.clone())
            .collect();
        if still.is_empty() || std::time::Instant::now() >= deadline {
            return still;
        }
        progress(format!(
            "draining {}: {} of {} evicted pods gone, waiting for {}",
            node.name,
            evicted.len() - still.len(),
            evicted.len(),
            still.join(", ")
        ));
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
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

/// The workload and what keeps its revisions in its namespace, as they are now: the
/// ReplicaSets of a Deployment, the ControllerRevisions of a DaemonSet or StatefulSet.
pub async fn with_history(
    client: &kube::Client,
    workload: &ObjectRef,
) -> Result<(Value, Vec<Value>), String> {
    let current = get(client, workload).await?;
    let keepers = if workload.resource.is("apps", &["deployments"]) {
        "replicasets"
    } else {
        "controllerrevisions"
    };
    let path = format!("/apis/apps/v1/namespaces/{}/{keepers}", workload.namespace);
    let request = Request::get(path)
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    let list: Value = client.request(request).await.map_err(|e| e.to_string())?;
    Ok((
        current,
        list["items"].as_array().cloned().unwrap_or_default(),
    ))
}

/// The undo of a Deployment to `to` (None: its previous revision), planned from what the
/// cluster has now.
pub async fn plan_undo(
    client: &kube::Client,
    deployment: &ObjectRef,
    to: Option<i64>,
) -> Result<super::rollout::Undo, String> {
    let (current, replicasets) = with_history(client, deployment).await?;
    super::rollout::plan_undo(&current, &replicasets, to)
}

/// The undo `u` (or `:undo N`) asks about: to the previous revision (or N), what changes
/// said in the question.
pub async fn undo_question(
    client: &kube::Client,
    deployment: ObjectRef,
    to: Option<i64>,
) -> Result<Change, String> {
    let undo = plan_undo(client, &deployment, to).await?;
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

/// Reads the node, and writes the taints `edit` makes of it with the resourceVersion read:
/// a change made meanwhile is a 409, not overwritten. Returns the request as sent.
async fn write_taints(
    client: &kube::Client,
    node: &ObjectRef,
    edit: impl FnOnce(&Value) -> Result<Vec<Value>, String>,
) -> Result<String, String> {
    let current = get(client, node).await?;
    let taints = edit(&current)?;
    let body = json!({
        "metadata": {"resourceVersion": current["metadata"]["resourceVersion"]},
        "spec": {"taints": taints},
    });
    send(client, "PATCH", &node.path(), MERGE, &body).await
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
    fn delete_options_take_kubectls_flags() {
        let o = DeleteOptions::parse(&["--grace-period=5", "--cascade=foreground"]).unwrap();
        assert_eq!(
            o.body(),
            json!({"kind": "DeleteOptions", "apiVersion": "v1",
                "propagationPolicy": "Foreground", "gracePeriodSeconds": 5})
        );
        assert_eq!(o.describe(), " (grace period 5s, cascade foreground)");
        assert_eq!(
            DeleteOptions::parse(&["--force"]).unwrap().grace_seconds,
            Some(0)
        );
        assert_eq!(DeleteOptions::parse(&[]).unwrap().describe(), "");
        assert_eq!(
            DeleteOptions::parse(&[]).unwrap().body()["propagationPolicy"],
            "Background"
        );
        assert!(DeleteOptions::parse(&["--grace-period=x"]).is_err());
        assert!(DeleteOptions::parse(&["--all"]).is_err());
    }

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

    #[test]
    fn taints_are_edited_in_kubectl_taint_words() {
        let node = json!({"spec": {"taints": [
            {"key": "gpu", "value": "yes", "effect": "NoSchedule"},
            {"key": "gpu", "effect": "NoExecute"}]}});
        let add = TaintEdit::parse("dedicated=ops:PreferNoSchedule").unwrap();
        assert_eq!(
            add.apply(&node).unwrap()[2],
            json!({"key": "dedicated", "value": "ops", "effect": "PreferNoSchedule"})
        );
        let replace = TaintEdit::parse("gpu=no:NoSchedule").unwrap();
        let t = replace.apply(&node).unwrap();
        assert_eq!(t.len(), 2, "the same key and effect is replaced: {t:?}");
        assert_eq!(t[1]["value"], "no");
        let one = TaintEdit::parse("gpu:NoExecute-").unwrap();
        assert_eq!(one.apply(&node).unwrap().len(), 1);
        let all = TaintEdit::parse("gpu-").unwrap();
        assert!(all.apply(&node).unwrap().is_empty());
        assert_eq!(
            TaintEdit::parse("none-").unwrap().apply(&node),
            Err("taint \"none\" not found".into())
        );
        for bad in ["gpu", "gpu:Sometimes", ":NoSchedule", "gpu=x-"] {
            assert!(TaintEdit::parse(bad).is_err(), "{bad}");
        }
    }
}
