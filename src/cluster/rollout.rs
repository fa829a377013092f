//! `kubectl rollout undo` of a Deployment, with kubectl's semantics so that an undo from kwb
//! and one from kubectl leave the same Deployment: the chosen ReplicaSet's pod template
//! without its pod-template-hash label replaces the Deployment's, its annotations (but
//! the revision bookkeeping ones) replace the Deployment's, in one JSON patch; a paused
//! Deployment is refused; a template that already matches is skipped.

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

/// What an undo sends: the JSON patch, the revision it goes back to, and the images before
/// and after (for the log).
#[derive(Debug, PartialEq)]
pub struct Undo {
    pub revision: i64,
    pub patch: Value,
    pub images_before: Vec<String>,
    pub images_after: Vec<String>,
}

fn revision(rs: &Value) -> Option<i64> {
    rs["metadata"]["annotations"][REVISION]
        .as_str()?
        .parse()
        .ok()
}

/// The template without the hash label, for comparing and for patching back.
fn without_hash(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(labels) = t["metadata"]["labels"].as_object_mut() {
        labels.remove(HASH_LABEL);
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

/// Whether `rs` is controlled by the Deployment with `uid`.
fn owned_by(rs: &Value, uid: &str) -> bool {
    rs["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|o| o["uid"] == uid && o["controller"] == true)
}

/// The Deployment's revisions, oldest first: its ReplicaSets (by controller uid) with
/// their revision annotation.
fn history<'a>(deployment: &Value, replicasets: &'a [Value]) -> Vec<(i64, &'a Value)> {
    let uid = deployment["metadata"]["uid"].as_str().unwrap_or("");
    let mut history: Vec<(i64, &Value)> = replicasets
        .iter()
        .filter(|rs| owned_by(rs, uid))
        .filter_map(|rs| Some((revision(rs)?, rs)))
        .collect();
    history.sort_by_key(|(r, _)| *r);
    history
}

/// Plans the undo of `deployment` to `to` (None: the revision before the newest) from its
/// namespace's ReplicaSets, with kubectl's errors.
pub fn plan_undo(
    deployment: &Value,
    replicasets: &[Value],
    to: Option<i64>,
) -> Result<Undo, String> {
    let name = deployment["metadata"]["name"].as_str().unwrap_or("");
    if deployment["spec"]["paused"] == true {
        return Err(format!(
            "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume deployment/{name}' and try again"
        ));
    }
    let history = history(deployment, replicasets);
    let (revision, rs) = match to {
        None => {
            if history.len() < 2 {
                return Err(format!("no rollout history found for deployment {name:?}"));
            }
            history[history.len() - 2]
        }
        Some(n) => *history
            .iter()
            .find(|(r, _)| *r == n)
            .ok_or_else(|| format!("unable to find specified revision {n} in history"))?,
    };
    let current = &deployment["spec"]["template"];
    let template = without_hash(&rs["spec"]["template"]);
    if template == without_hash(current) {
        return Err(format!(
            "skipped rollback (current template already matches revision {revision})"
        ));
    }
    let mut annotations = Map::new();
    for key in KEPT_FROM_DEPLOYMENT {
        if let Some(v) = deployment["metadata"]["annotations"].get(*key) {
            annotations.insert(key.to_string(), v.clone());
        }
    }
    for (k, v) in rs["metadata"]["annotations"]
        .as_object()
        .into_iter()
        .flatten()
    {
        if !KEPT_FROM_DEPLOYMENT.contains(&k.as_str()) {
            annotations.insert(k.clone(), v.clone());
        }
    }
    Ok(Undo {
        revision,
        images_before: images(current),
        images_after: images(&template),
        patch: json!([
            {"op": "replace", "path": "/spec/template", "value": template},
            {"op": "replace", "path": "/metadata/annotations", "value": annotations},
        ]),
    })
}

/// Where the rollout is, in `kubectl rollout status`'s words, then its replicas by state and
/// its conditions.
pub fn status_lines(deployment: &Value) -> Vec<String> {
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
    let conditions: Vec<&Value> = st["conditions"].as_array().into_iter().flatten().collect();
    let deadline_exceeded = conditions
        .iter()
        .any(|c| c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded");
    let observed = n(&st["observedGeneration"]) >= n(&deployment["metadata"]["generation"]);
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
    let mut lines = vec![
        said,
        format!(
            "replicas: {desired} desired · {updated} updated · {ready} ready · {available} available · {total} in all"
        ),
    ];
    for c in conditions {
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

/// What undoing to revision `to` (None: the previous one) would change in the pod template:
/// a diff of the current template (`-`) into that revision's (`+`).
pub fn revision_diff(
    deployment: &Value,
    replicasets: &[Value],
    to: Option<i64>,
) -> Result<String, String> {
    let name = deployment["metadata"]["name"].as_str().unwrap_or("");
    let history = history(deployment, replicasets);
    let (revision, rs) = match to {
        None if history.len() < 2 => {
            return Err(format!("no rollout history found for deployment {name:?}"));
        }
        None => history[history.len() - 2],
        Some(n) => *history
            .iter()
            .find(|(r, _)| *r == n)
            .ok_or_else(|| format!("unable to find specified revision {n} in history"))?,
    };
    let yaml = |t: &Value| serde_saphyr::to_string(&without_hash(t)).unwrap_or_default();
    let current = yaml(&deployment["spec"]["template"]);
    let then = yaml(&rs["spec"]["template"]);
    let diff = super::diff::lines(&current, &then, 3);
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

/// A Deployment's history as `kubectl rollout history` lists it, with more: each revision's
/// change-cause, images, pods (ready/desired) and age, the current one marked; above it,
/// where the rollout is.
pub fn history_table(deployment: &Value, replicasets: &[Value], now: i64) -> String {
    let status = status_lines(deployment).join("\n") + "\n\n";
    let current = deployment["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|r| r.parse::<i64>().ok());
    let history = history(deployment, replicasets);
    if history.is_empty() {
        return status + "No rollout history yet.";
    }
    let mut rows = vec![[
        "REVISION".to_string(),
        "CHANGE-CAUSE".into(),
        "IMAGES".into(),
        "PODS".into(),
        "AGE".into(),
    ]];
    for (revision, rs) in &history {
        let cause = rs["metadata"]["annotations"]["kubernetes.io/change-cause"]
            .as_str()
            .unwrap_or("<none>");
        let mark = if Some(*revision) == current {
            " ← current"
        } else {
            ""
        };
        rows.push([
            format!("{revision}{mark}"),
            cause.to_string(),
            images(&rs["spec"]["template"]).join(","),
            format!(
                "{}/{}",
                rs["status"]["readyReplicas"].as_i64().unwrap_or(0),
                rs["spec"]["replicas"].as_i64().unwrap_or(0)
            ),
            crate::kinds::table::age(rs["metadata"]["creationTimestamp"].as_str(), now),
        ]);
    }
    let mut out = status + &super::object::columns(&rows);
    out.push_str(
        "\nu undoes to the previous revision, :undo N to revision N; :diff N shows what that changes.\n",
    );
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
