//! `kubectl rollout undo|history|status` of a Deployment, DaemonSet or StatefulSet, with
//! kubectl's semantics so that an undo from kwb and one from kubectl leave the same object.
//! A Deployment's revisions are its ReplicaSets: the chosen one's pod template without its
//! pod-template-hash label replaces the Deployment's, its annotations (but the revision
//! bookkeeping ones) replace the Deployment's, in one JSON patch; a paused Deployment is
//! refused. A DaemonSet's or StatefulSet's revisions are its ControllerRevisions: the chosen
//! one's data (a strategic merge patch replacing the template) is sent as it is. A template
//! that already matches is skipped.

use serde_json::{Map, Value, json};

/// The label the Deployment controller adds to tell its ReplicaSets apart.
const HASH_LABEL: &str = "pod-template-hash";
const REVISION: &str = "deployment.kubernetes.io/revision";

/// Annotations kubectl keeps from the Deployment rather than taking from the ReplicaSet.
const KEPT_FROM_DEPLOYMENT: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

/// What an undo sends: the patch (a JSON patch for a Deployment, a strategic merge patch
/// otherwise), the revision it goes back to, and the images before and after (for the log).
#[derive(Debug, PartialEq)]
pub struct Undo {
    pub revision: i64,
    pub patch: Value,
    pub strategic: bool,
    pub images_before: Vec<String>,
    pub images_after: Vec<String>,
}

/// One revision of a workload: its number, its pod template (without the bookkeeping the
/// controllers add) and the object that keeps it (a ReplicaSet or a ControllerRevision).
struct Revision<'a> {
    number: i64,
    template: Value,
    keeper: &'a Value,
}

/// Whether the workload is a Deployment (objects without a kind are taken as one).
fn is_deployment(owner: &Value) -> bool {
    owner["kind"].as_str().is_none_or(|k| k == "Deployment")
}

fn kind_words(owner: &Value) -> &'static str {
    match owner["kind"].as_str() {
        Some("DaemonSet") => "daemon set",
        Some("StatefulSet") => "statefulset",
        _ => "deployment",
    }
}

/// The template without the hash label (Deployments) or the `$patch` directive
/// (ControllerRevisions), for comparing and for patching back.
fn plain_template(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(labels) = t["metadata"]["labels"].as_object_mut() {
        labels.remove(HASH_LABEL);
    }
    if let Some(m) = t.as_object_mut() {
        m.remove("$patch");
    }
    t
}

fn images(template: &Value) -> Vec<String> {
    template["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["image"].as_str().map(str::to_string))
        .collect()
}

/// Whether `item` is controlled by the object with `uid`.
fn owned_by(item: &Value, uid: &str) -> bool {
    item["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|o| o["uid"] == uid && o["controller"] == true)
}

/// The workload's revisions, oldest first, from its namespace's ReplicaSets (Deployment) or
/// ControllerRevisions (DaemonSet, StatefulSet), by controller uid.
fn history<'a>(owner: &Value, keepers: &'a [Value]) -> Vec<Revision<'a>> {
    let uid = owner["metadata"]["uid"].as_str().unwrap_or("");
    let deployment = is_deployment(owner);
    let mut history: Vec<Revision> = keepers
        .iter()
        .filter(|k| owned_by(k, uid))
        .filter_map(|k| {
            let (number, template) = if deployment {
                let number = k["metadata"]["annotations"][REVISION]
                    .as_str()?
                    .parse()
                    .ok()?;
                (number, &k["spec"]["template"])
            } else {
                (k["revision"].as_i64()?, &k["data"]["spec"]["template"])
            };
            Some(Revision {
                number,
                template: plain_template(template),
                keeper: k,
            })
        })
        .collect();
    history.sort_by_key(|r| r.number);
    history
}

/// The revision `to` names (None: the one before the newest), with kubectl's errors.
fn target<'h, 'a>(
    owner: &Value,
    history: &'h [Revision<'a>],
    to: Option<i64>,
) -> Result<&'h Revision<'a>, String> {
    match to {
        None if history.len() < 2 => Err(if is_deployment(owner) {
            format!(
                "no rollout history found for deployment {:?}",
                owner["metadata"]["name"].as_str().unwrap_or("")
            )
        } else {
            "no last revision to roll back to".into()
        }),
        None => Ok(&history[history.len() - 2]),
        Some(n) => history
            .iter()
            .find(|r| r.number == n)
            .ok_or_else(|| format!("unable to find specified revision {n} in history")),
    }
}

/// Plans the undo of `owner` to `to` (None: the revision before the newest) from its
/// namespace's ReplicaSets or ControllerRevisions, with kubectl's errors.
pub fn plan_undo(owner: &Value, keepers: &[Value], to: Option<i64>) -> Result<Undo, String> {
    let name = owner["metadata"]["name"].as_str().unwrap_or("");
    if owner["spec"]["paused"] == true {
        return Err(format!(
            "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume deployment/{name}' and try again"
        ));
    }
    let history = history(owner, keepers);
    let target = target(owner, &history, to)?;
    let current = &owner["spec"]["template"];
    if target.template == plain_template(current) {
        return Err(format!(
            "skipped rollback (current template already matches revision {})",
            target.number
        ));
    }
    let (patch, strategic) = if is_deployment(owner) {
        let mut annotations = Map::new();
        for key in KEPT_FROM_DEPLOYMENT {
            if let Some(v) = owner["metadata"]["annotations"].get(*key) {
                annotations.insert(key.to_string(), v.clone());
            }
        }
        for (k, v) in target.keeper["metadata"]["annotations"]
            .as_object()
            .into_iter()
            .flatten()
        {
            if !KEPT_FROM_DEPLOYMENT.contains(&k.as_str()) {
                annotations.insert(k.clone(), v.clone());
            }
        }
        let patch = json!([
            {"op": "replace", "path": "/spec/template", "value": target.template},
            {"op": "replace", "path": "/metadata/annotations", "value": annotations},
        ]);
        (patch, false)
    } else {
        (target.keeper["data"].clone(), true)
    };
    Ok(Undo {
        revision: target.number,
        images_before: images(current),
        images_after: images(&target.template),
        patch,
        strategic,
    })
}

/// Where the rollout is, in `kubectl rollout status`'s words, then its replicas by state and
/// its conditions.
pub fn status_lines(owner: &Value) -> Vec<String> {
    let name = owner["metadata"]["name"].as_str().unwrap_or("");
    let spec = &owner["spec"];
    let st = &owner["status"];
    let n = |v: &Value| v.as_i64().unwrap_or(0);
    let observed = n(&st["observedGeneration"]) >= n(&owner["metadata"]["generation"]);
    let (said, replicas) = match owner["kind"].as_str() {
        Some("DaemonSet") => {
            let (desired, updated, ready, available) = (
                n(&st["desiredNumberScheduled"]),
                n(&st["updatedNumberScheduled"]),
                n(&st["numberReady"]),
                n(&st["numberAvailable"]),
            );
            let said = if !observed {
                "Waiting for daemon set spec update to be observed...".to_string()
            } else if updated < desired {
                format!(
                    "Waiting for daemon set {name:?} rollout to finish: {updated} out of {desired} new pods have been updated..."
                )
            } else if available < desired {
                format!(
                    "Waiting for daemon set {name:?} rollout to finish: {available} of {updated} updated pods are available..."
                )
            } else {
                format!("daemon set {name:?} successfully rolled out")
            };
            let replicas = format!(
                "pods: {desired} desired · {updated} updated · {ready} ready · {available} available"
            );
            (said, replicas)
        }
        Some("StatefulSet") => {
            let desired = spec["replicas"].as_i64().unwrap_or(1);
            let (ready, updated) = (n(&st["readyReplicas"]), n(&st["updatedReplicas"]));
            let (current, update) = (
                st["currentRevision"].as_str().unwrap_or(""),
                st["updateRevision"].as_str().unwrap_or(""),
            );
            let said = if !observed {
                "Waiting for statefulset spec update to be observed...".to_string()
            } else if ready < desired {
                format!("Waiting for {} pods to be ready...", desired - ready)
            } else if current != update {
                format!(
                    "waiting for statefulset rolling update to complete {updated} pods at revision {update}..."
                )
            } else {
                format!("statefulset rolling update complete {ready} pods at revision {current}...")
            };
            let replicas = format!(
                "replicas: {desired} desired · {updated} updated · {ready} ready · {} in all",
                n(&st["replicas"])
            );
            (said, replicas)
        }
        _ => deployment_status(owner, observed),
    };
    let mut lines = vec![said, replicas];
    for c in st["conditions"].as_array().into_iter().flatten() {
        lines.push(format!(
            "{}={} ({}) {}",
            c["type"].as_str().unwrap_or(""),
            c["status"].as_str().unwrap_or(""),
            c["reason"].as_str().unwrap_or(""),
            c["message"].as_str().unwrap_or("")
        ));
    }
    lines
}

fn deployment_status(deployment: &Value, observed: bool) -> (String, String) {
    let name = deployment["metadata"]["name"].as_str().unwrap_or("");
    let spec = &deployment["spec"];
    let st = &deployment["status"];
    let n = |v: &Value| v.as_i64().unwrap_or(0);
    let desired = spec["replicas"].as_i64().unwrap_or(1);
    let (updated, ready, available, total) = (
        n(&st["updatedReplicas"]),
        n(&st["readyReplicas"]),
        n(&st["availableReplicas"]),
        n(&st["replicas"]),
    );
    let deadline_exceeded = st["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded");
    let said = if spec["paused"] == true {
        format!(
            "deployment {name:?} is paused: template changes start no rollout until it is resumed (:resume)"
        )
    } else if !observed {
        "Waiting for deployment spec update to be observed...".into()
    } else if deadline_exceeded {
        format!("deployment {name:?} exceeded its progress deadline")
    } else if updated < desired {
        format!(
            "Waiting for deployment {name:?} rollout to finish: {updated} out of {desired} new replicas have been updated..."
        )
    } else if total > updated {
        format!(
            "Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...",
            total - updated
        )
    } else if available < updated {
        format!(
            "Waiting for deployment {name:?} rollout to finish: {available} of {updated} updated replicas are available..."
        )
    } else {
        format!("deployment {name:?} successfully rolled out")
    };
    let replicas = format!(
        "replicas: {desired} desired · {updated} updated · {ready} ready · {available} available · {total} in all"
    );
    (said, replicas)
}

/// What undoing to revision `to` (None: the previous one) would change in the pod template:
/// a diff of the current template (`-`) into that revision's (`+`).
pub fn revision_diff(owner: &Value, keepers: &[Value], to: Option<i64>) -> Result<String, String> {
    let history = history(owner, keepers);
    let target = target(owner, &history, to)?;
    let yaml = |t: &Value| serde_saphyr::to_string(&plain_template(t)).unwrap_or_default();
    let current = yaml(&owner["spec"]["template"]);
    let then = yaml(&target.template);
    let diff = super::diff::lines(&current, &then, 3);
    let revision = target.number;
    if super::diff::counts(&diff) == (0, 0) {
        return Ok(format!(
            "revision {revision}'s pod template is the current one: an undo to it changes nothing.\n"
        ));
    }
    Ok(format!(
        "pod template: the current one (-) against revision {revision}'s (+), what an undo to it changes\n\n{}",
        super::diff::text(&diff)
    ))
}

/// A workload's history as `kubectl rollout history` lists it, with more: each revision's
/// change-cause, images, pods (a Deployment's ReplicaSets: ready/desired) and age, the
/// current one marked; above it, where the rollout is.
pub fn history_table(owner: &Value, keepers: &[Value], now: i64) -> String {
    let status = status_lines(owner).join("\n") + "\n\n";
    let history = history(owner, keepers);
    if history.is_empty() {
        return status + "No rollout history yet.";
    }
    let deployment = is_deployment(owner);
    let current_template = plain_template(&owner["spec"]["template"]);
    let current_number = owner["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|r| r.parse::<i64>().ok());
    let mut rows = vec![[
        "REVISION".to_string(),
        "CHANGE-CAUSE".into(),
        "IMAGES".into(),
        "PODS".into(),
        "AGE".into(),
    ]];
    for r in &history {
        let keeper = r.keeper;
        let cause = keeper["metadata"]["annotations"]["kubernetes.io/change-cause"]
            .as_str()
            .unwrap_or("<none>");
        // A Deployment says which revision it is at; a ControllerRevision is current when
        // it holds the workload's template.
        let current = if deployment {
            Some(r.number) == current_number
        } else {
            r.template == current_template
        };
        let pods = if deployment {
            format!(
                "{}/{}",
                keeper["status"]["readyReplicas"].as_i64().unwrap_or(0),
                keeper["spec"]["replicas"].as_i64().unwrap_or(0)
            )
        } else {
            "-".into()
        };
        rows.push([
            format!("{}{}", r.number, if current { " ← current" } else { "" }),
            cause.to_string(),
            images(&r.template).join(","),
            pods,
            crate::kinds::table::age(keeper["metadata"]["creationTimestamp"].as_str(), now),
        ]);
    }
    let mut out = status + &super::object::columns(&rows);
    out.push_str(&format!(
        "\nu undoes the {} to the previous revision, :undo N to revision N; :diff N shows what that changes.\n",
        kind_words(owner)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(revision: &str, image: &str, uid: &str) -> Value {
        json!({"metadata": {
                "name": format!("web-{revision}"),
                "annotations": {REVISION: revision, "kubernetes.io/change-cause": format!("image {image}"),
                    "deployment.kubernetes.io/desired-replicas": "3"},
                "ownerReferences": [{"uid": uid, "controller": true}]},
            "spec": {"template": {
                "metadata": {"labels": {"app": "web", HASH_LABEL: format!("h{revision}")}},
                "spec": {"containers": [{"name": "nginx", "image": image}]}}}})
    }

    fn deployment(image: &str, paused: bool) -> Value {
        json!({"metadata": {"name": "web", "uid": "d1",
                "annotations": {REVISION: "3", "deployment.kubernetes.io/desired-replicas": "3",
                    "kubernetes.io/change-cause": format!("image {image}")}},
            "spec": {"paused": paused, "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": image}]}}}})
    }

    #[test]
    fn undo_goes_to_the_previous_revision_as_kubectl_patches_it() {
        let history = [
            rs("1", "nginx:1.0", "d1"),
            rs("2", "nginx:1.1", "d1"),
            rs("3", "nginx:bad", "d1"),
            rs("9", "other", "someone-else"),
        ];
        let undo = plan_undo(&deployment("nginx:bad", false), &history, None).unwrap();
        assert_eq!(undo.revision, 2);
        assert_eq!(undo.images_before, ["nginx:bad"]);
        assert_eq!(undo.images_after, ["nginx:1.1"]);
        assert_eq!(
            undo.patch[0]["value"]["metadata"]["labels"],
            json!({"app": "web"}),
            "without the hash label"
        );
        assert_eq!(
            undo.patch[1]["value"],
            json!({REVISION: "3", "deployment.kubernetes.io/desired-replicas": "3",
                "kubernetes.io/change-cause": "image nginx:1.1"}),
            "bookkeeping kept from the Deployment, the rest from the ReplicaSet"
        );
        let to_one = plan_undo(&deployment("nginx:bad", false), &history, Some(1)).unwrap();
        assert_eq!(to_one.images_after, ["nginx:1.0"]);
    }

    fn controller_revision(revision: i64, image: &str) -> Value {
        json!({"metadata": {"name": format!("agent-{revision}"),
                "ownerReferences": [{"uid": "ds1", "controller": true}]},
            "revision": revision,
            "data": {"spec": {"template": {"$patch": "replace",
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "agent", "image": image}]}}}}})
    }

    #[test]
    fn a_daemon_set_goes_back_through_its_controller_revisions() {
        let ds = json!({"kind": "DaemonSet", "metadata": {"name": "agent", "uid": "ds1"},
            "spec": {"template": {"metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "agent", "image": "agent:2"}]}}},
            "status": {"desiredNumberScheduled": 2, "updatedNumberScheduled": 1, "numberAvailable": 1}});
        let revisions = [
            controller_revision(2, "agent:2"),
            controller_revision(1, "agent:1"),
        ];
        let undo = plan_undo(&ds, &revisions, None).unwrap();
        assert_eq!((undo.revision, undo.strategic), (1, true));
        assert_eq!(
            undo.patch, revisions[1]["data"],
            "the revision's data, sent as it is"
        );
        assert_eq!(undo.images_after, ["agent:1"]);
        assert_eq!(
            plan_undo(&ds, &revisions[..1], None).unwrap_err(),
            "no last revision to roll back to"
        );
        assert!(
            plan_undo(&ds, &revisions, Some(2))
                .unwrap_err()
                .starts_with("skipped rollback")
        );
        let table = history_table(&ds, &revisions, 0);
        assert!(
            table.starts_with(
                "Waiting for daemon set \"agent\" rollout to finish: 1 out of 2 new pods"
            ),
            "{table}"
        );
        assert!(
            table
                .lines()
                .any(|l| l.starts_with("2 ← current") && l.contains("agent:2")),
            "{table}"
        );
        assert!(
            table
                .lines()
                .any(|l| l.starts_with("1 ") && l.contains("agent:1")),
            "{table}"
        );
        let diff = revision_diff(&ds, &revisions, None).unwrap();
        assert!(!diff.contains("$patch"), "{diff}");
    }

    #[test]
    fn undo_refuses_as_kubectl_does() {
        let history = [rs("1", "nginx:1.0", "d1"), rs("2", "nginx:1.1", "d1")];
        assert!(
            plan_undo(&deployment("nginx:1.1", true), &history, None)
                .unwrap_err()
                .starts_with("you cannot rollback a paused deployment")
        );
        assert_eq!(
            plan_undo(&deployment("nginx:1.1", false), &history[..1], None).unwrap_err(),
            "no rollout history found for deployment \"web\""
        );
        assert_eq!(
            plan_undo(&deployment("nginx:1.1", false), &history, Some(7)).unwrap_err(),
            "unable to find specified revision 7 in history"
        );
        assert_eq!(
            plan_undo(&deployment("nginx:1.0", false), &history, None).unwrap_err(),
            "skipped rollback (current template already matches revision 1)"
        );
    }

    #[test]
    fn the_rollout_status_reads_as_kubectl_says_it() {
        let mut d = deployment("nginx:1.1", false);
        d["metadata"]["generation"] = json!(2);
        d["spec"]["replicas"] = json!(3);
        d["status"] = json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3,
            "readyReplicas": 3, "availableReplicas": 3, "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "ok"}]});
        let lines = status_lines(&d);
        assert_eq!(
            lines[0],
            "Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination..."
        );
        assert_eq!(
            lines[1],
            "replicas: 3 desired · 3 updated · 3 ready · 3 available · 4 in all"
        );
        assert_eq!(lines[2], "Available=True (MinimumReplicasAvailable) ok");
        d["status"]["replicas"] = json!(3);
        assert_eq!(
            status_lines(&d)[0],
            "deployment \"web\" successfully rolled out"
        );
        d["spec"]["paused"] = json!(true);
        assert!(status_lines(&d)[0].contains("is paused"));
    }

    #[test]
    fn a_revision_is_compared_with_the_current_template() {
        let history = [rs("1", "nginx:1.0", "d1"), rs("3", "nginx:1.1", "d1")];
        let d = deployment("nginx:1.1", false);
        let text = revision_diff(&d, &history, None).unwrap();
        assert!(
            text.contains("- ") && text.contains("image: nginx:1.1"),
            "{text}"
        );
        assert!(
            text.contains("+ ") && text.contains("image: nginx:1.0"),
            "{text}"
        );
        assert!(!text.contains(HASH_LABEL), "{text}");
        assert!(
            revision_diff(&d, &history, Some(3))
                .unwrap()
                .contains("changes nothing")
        );
        assert_eq!(
            revision_diff(&d, &history, Some(8)).unwrap_err(),
            "unable to find specified revision 8 in history"
        );
    }

    #[test]
    fn history_lists_revisions_with_the_current_one_marked() {
        let history = [
            rs("3", "nginx:1.1", "d1"),
            rs("1", "nginx:1.0", "d1"),
            rs("9", "x", "other"),
        ];
        let text = history_table(&deployment("nginx:1.1", false), &history, 0);
        assert!(
            text.starts_with("Waiting for deployment \"web\" rollout to finish: 0 out of 1"),
            "the rollout's state comes first: {text}"
        );
        let lines: Vec<Vec<&str>> = text
            .lines()
            .skip_while(|l| !l.starts_with("REVISION"))
            .map(|l| {
                l.split("   ")
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .collect()
            })
            .collect();
        assert_eq!(
            lines[0],
            ["REVISION", "CHANGE-CAUSE", "IMAGES", "PODS", "AGE"],
            "{text}"
        );
        assert_eq!(
            lines[1][..3],
            ["1", "image nginx:1.0", "nginx:1.0"],
            "{text}"
        );
        assert_eq!(
            lines[2][..3],
            ["3 ← current", "image nginx:1.1", "nginx:1.1"],
            "{text}"
        );
        assert!(
            !text.contains(" x "),
            "another Deployment's ReplicaSet: {text}"
        );
    }
}
