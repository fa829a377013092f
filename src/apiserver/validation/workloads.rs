//! Workload controllers: Deployments, ReplicaSets, ReplicationControllers,
//! DaemonSets and StatefulSets.

use serde_json::Value;

use super::checks::{nonnegative, nonnegative_value, supported};
use super::errs::Errs;
use super::formats::percent;
use super::intstr::{IntStr, percent_value};
use super::json::{empty_object, present, qint, same};
use super::path::Path;
use super::render::{go_ptr, quote};
use super::selector::{
    label_selector, render_selector, required_selector, selector_immutable, selector_is_empty,
    selector_matches_template, selector_mismatch, template_labels,
};
use super::template::{
    always_restart, controller_pod_template, controller_template, no_active_deadline,
    template_metadata, template_or_empty,
};

const STATEFULSET_UPDATE: &str = "updates to statefulset spec for fields other than 'replicas', \
'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and \
'minReadySeconds' are forbidden";

pub(super) fn deployment_spec(e: &mut Errs, spec: &Value, sp: &Path) {
    nonnegative(e, spec, sp, "replicas");
    selector_and_template(e, spec, sp);
    deployment_strategy(e, spec, sp);
    let min_ready = e.int(spec, sp, "minReadySeconds");
    nonnegative_value(e, &sp.child("minReadySeconds"), min_ready);
    nonnegative(e, spec, sp, "revisionHistoryLimit");
    if let Some(deadline) = e.int(spec, sp, "progressDeadlineSeconds") {
        let p = sp.child("progressDeadlineSeconds");
        nonnegative_value(e, &p, Some(deadline));
        if deadline <= min_ready.unwrap_or(0) {
            e.invalid_int(&p, deadline, "must be greater than minReadySeconds");
        }
    }
}

pub(super) fn replica_set_spec(e: &mut Errs, spec: &Value, sp: &Path) {
    nonnegative(e, spec, sp, "replicas");
    nonnegative(e, spec, sp, "minReadySeconds");
    selector_and_template(e, spec, sp);
}

/// Deployments and ReplicaSets: the selector, and the template it must
/// select. Upstream uses the Deployment wording for both.
fn selector_and_template(e: &mut Errs, spec: &Value, sp: &Path) {
    let usable = required_selector(e, spec, sp, "deployment");
    let sel = present(spec, "selector");
    if usable {
        controller_template(e, spec, sp, sel, "ReplicaSet");
    } else {
        e.invalid(
            &sp.child("selector"),
            &render_selector(sel),
            "invalid label selector",
        );
    }
}

/// `spec.<key>` (the update strategy) and its type, RollingUpdate when
/// unset; `None` when either has the wrong JSON type.
fn update_strategy<'a>(
    e: &mut Errs,
    spec: &'a Value,
    sp: &Path,
    key: &str,
) -> Option<(&'a Value, Path, &'a str)> {
    let strategy = e.obj(spec, sp, key)?;
    let p = sp.child(key);
    let kind = match present(strategy, "type") {
        None => "RollingUpdate",
        Some(_) => e.string(strategy, &p, "type")?,
    };
    Some((strategy, p, kind))
}

/// `%#v` of an update strategy struct `go_type` of type `kind`, whose
/// rollingUpdate (of type `rolling_type`) is elided.
fn render_strategy(go_type: &str, kind: &str, rolling_type: &str, rolling: bool) -> String {
    format!(
        "{go_type}{{Type:{}, RollingUpdate:{}}}",
        quote(kind),
        go_ptr(rolling, rolling_type)
    )
}

fn deployment_strategy(e: &mut Errs, spec: &Value, sp: &Path) {
    let Some((strategy, p, kind)) = update_strategy(e, spec, sp, "strategy") else {
        return;
    };
    match kind {
        "Recreate" => {
            if present(strategy, "rollingUpdate").is_some() {
                e.forbidden(
                    &p.child("rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                );
            }
        }
        // An empty type is defaulted to RollingUpdate.
        "RollingUpdate" | "" => {
            if let Some(ru) = e.obj(strategy, &p, "rollingUpdate") {
                let rp = p.child("rollingUpdate");
                let unavailable = e
                    .int_or_string(ru, &rp, "maxUnavailable")
                    .unwrap_or(IntStr::Str("25%".into()));
                let surge = e
                    .int_or_string(ru, &rp, "maxSurge")
                    .unwrap_or(IntStr::Str("25%".into()));
                positive_int_or_percent(e, &unavailable, &rp.child("maxUnavailable"));
                positive_int_or_percent(e, &surge, &rp.child("maxSurge"));
                if unavailable.value() == 0 && surge.value() == 0 {
                    e.invalid(
                        &rp.child("maxUnavailable"),
                        &unavailable.go(),
                        "may not be 0 when `maxSurge` is 0",
                    );
                }
                not_more_than_100_percent(e, &unavailable, &rp.child("maxUnavailable"));
            }
        }
        _ => e.not_supported(
            &p,
            &render_strategy(
                "apps.DeploymentStrategy",
                kind,
                "apps.RollingUpdateDeployment",
                present(strategy, "rollingUpdate").is_some(),
            ),
            &["Recreate", "RollingUpdate"],
        ),
    }
}

fn positive_int_or_percent(e: &mut Errs, v: &IntStr, p: &Path) {
    match v {
        IntStr::Str(s) => {
            for msg in percent(s) {
                e.invalid(p, &v.go(), &msg);
            }
        }
        IntStr::Int(n) => nonnegative_value(e, p, Some(*n)),
    }
}

fn not_more_than_100_percent(e: &mut Errs, v: &IntStr, p: &Path) {
    if let IntStr::Str(s) = v
        && percent_value(s).is_some_and(|n| n > 100)
    {
        e.invalid(p, &v.go(), "must not be greater than 100%");
    }
}

pub(super) fn replication_controller_spec(e: &mut Errs, spec: &Value, sp: &Path) {
    nonnegative(e, spec, sp, "minReadySeconds");
    nonnegative(e, spec, sp, "replicas");
    let tp = sp.child("template");
    let template = e.obj(spec, sp, "template");
    // An empty selector is defaulted from the template's labels.
    let mut selector = e.string_map(spec, sp, "selector").unwrap_or_default();
    if selector.is_empty()
        && let Some(t) = template
    {
        selector = template_labels(t).unwrap_or_default().into_iter().collect();
    }
    if selector.is_empty() {
        e.required(&sp.child("selector"), "");
    }
    let Some(t) = template else {
        if present(spec, "template").is_none() {
            e.required(&tp, "");
        }
        return;
    };
    if !selector.is_empty() {
        let labels = template_labels(t);
        let have = labels.clone().unwrap_or_default();
        if !selector.iter().all(|(k, v)| have.get(k) == Some(v)) {
            selector_mismatch(e, labels.as_ref(), &tp);
        }
    }
    controller_pod_template(e, t, &tp, "ReplicationController");
}

pub(super) fn daemon_set_spec(e: &mut Errs, spec: &Value, sp: &Path) {
    let p = sp.child("selector");
    // Unlike the other controllers, a missing selector is only reported as a
    // template mismatch (it selects nothing).
    let sel = match present(spec, "selector") {
        None => Some(None),
        Some(v) => match e.as_obj(v, &p) {
            Some(s) if label_selector(e, s, &p) => Some(Some(s)),
            _ => None,
        },
    };
    let tp = sp.child("template");
    let template = template_or_empty(e, spec, &tp);
    if let (Some(sel), Some(t)) = (sel, template) {
        selector_matches_template(e, sel, t, &tp);
    }
    if let Some(Value::Object(_)) = present(spec, "selector")
        && selector_is_empty(&spec["selector"])
    {
        e.invalid(
            &p,
            &render_selector(present(spec, "selector")),
            "empty selector is invalid for daemonset",
        );
    }
    if let Some(t) = template {
        controller_pod_template(e, t, &tp, "DaemonSet");
    }
    nonnegative(e, spec, sp, "minReadySeconds");
    nonnegative(e, spec, sp, "templateGeneration");
    daemon_set_strategy(e, spec, sp);
    nonnegative(e, spec, sp, "revisionHistoryLimit");
}

fn daemon_set_strategy(e: &mut Errs, spec: &Value, sp: &Path) {
    let Some((strategy, p, kind)) = update_strategy(e, spec, sp, "updateStrategy") else {
        return;
    };
    match kind {
        "OnDelete" => {}
        "RollingUpdate" | "" => {
            let Some(ru) = e.obj(strategy, &p, "rollingUpdate") else {
                return;
            };
            let rp = p.child("rollingUpdate");
            let unavailable = e
                .int_or_string(ru, &rp, "maxUnavailable")
                .unwrap_or(IntStr::Int(1));
            let surge = e
                .int_or_string(ru, &rp, "maxSurge")
                .unwrap_or(IntStr::Int(0));
            positive_int_or_percent(e, &unavailable, &rp.child("maxUnavailable"));
            positive_int_or_percent(e, &surge, &rp.child("maxSurge"));
            not_more_than_100_percent(e, &unavailable, &rp.child("maxUnavailable"));
            not_more_than_100_percent(e, &surge, &rp.child("maxSurge"));
            match (unavailable.value() != 0, surge.value() != 0) {
                (true, true) => e.invalid(
                    &rp.child("maxSurge"),
                    &surge.go(),
                    "may not be set when maxUnavailable is non-zero",
                ),
                (false, false) => e.required(
                    &rp.child("maxUnavailable"),
                    "cannot be 0 when maxSurge is 0",
                ),
                _ => {}
            }
        }
        _ => e.not_supported(
            &p,
            &render_strategy(
                "apps.DaemonSetUpdateStrategy",
                kind,
                "apps.RollingUpdateDaemonSet",
                present(strategy, "rollingUpdate").is_some(),
            ),
            &["RollingUpdate", "OnDelete"],
        ),
    }
}

pub(super) fn stateful_set_spec(e: &mut Errs, spec: &Value, sp: &Path) {
    if let Some(policy) = e.string(spec, sp, "podManagementPolicy") {
        let p = sp.child("podManagementPolicy");
        match policy {
            "" => e.required(&p, ""),
            "OrderedReady" | "Parallel" => {}
            _ => e.invalid_str(&p, policy, "must be 'OrderedReady' or 'Parallel'"),
        }
    }
    stateful_set_strategy(e, spec, sp);
    if let Some(policy) = e.obj(spec, sp, "persistentVolumeClaimRetentionPolicy") {
        let pp = sp.child("persistentVolumeClaimRetentionPolicy");
        for key in ["whenDeleted", "whenScaled"] {
            if let Some(v) = e.string(policy, &pp, key) {
                supported(e, &pp.child(key), v, &["Retain", "Delete"]);
            }
        }
    }
    nonnegative(e, spec, sp, "replicas");
    nonnegative(e, spec, sp, "minReadySeconds");
    if let Some(ordinals) = e.obj(spec, sp, "ordinals") {
        // Upstream names this path with a single dotted child.
        nonnegative(e, ordinals, &sp.child("ordinals"), "start");
    }
    let usable = required_selector(e, spec, sp, "statefulset");
    let sel = present(spec, "selector");
    let tp = sp.child("template");
    let Some(t) = template_or_empty(e, spec, &tp) else {
        return;
    };
    if usable {
        // Upstream checks only the template's metadata here, not its pod spec.
        selector_matches_template(e, sel, t, &tp);
        template_metadata(e, t, &tp);
    } else {
        e.invalid(&sp.child("selector"), &render_selector(sel), "");
    }
    always_restart(e, t, &tp);
    no_active_deadline(e, t, &tp, "StatefulSet");
}

fn stateful_set_strategy(e: &mut Errs, spec: &Value, sp: &Path) {
    let Some((strategy, p, kind)) = update_strategy(e, spec, sp, "updateStrategy") else {
        return;
    };
    let rolling = e.obj(strategy, &p, "rollingUpdate");
    let rp = p.child("rollingUpdate");
    match kind {
        "" => e.required(&p, ""),
        "OnDelete" => {
            if let Some(ru) = rolling {
                let max = go_ptr(
                    present(ru, "maxUnavailable").is_some(),
                    "intstr.IntOrString",
                );
                e.invalid(
                    &rp,
                    &format!(
                        "apps.RollingUpdateStatefulSetStrategy{{Partition:{}, MaxUnavailable:{max}}}",
                        qint(ru, "partition").unwrap_or(0)
                    ),
                    "only allowed for updateStrategy 'RollingUpdate'",
                );
            }
        }
        "RollingUpdate" => {
            if let Some(ru) = rolling {
                nonnegative(e, ru, &rp, "partition");
                if let Some(max) = e.int_or_string(ru, &rp, "maxUnavailable") {
                    let mp = rp.child("maxUnavailable");
                    positive_int_or_percent(e, &max, &mp);
                    if max.value() == 0 {
                        e.invalid(&mp, &max.go(), "cannot be 0");
                    }
                    not_more_than_100_percent(e, &max, &mp);
                }
            }
        }
        _ => e.invalid(
            &p,
            &render_strategy(
                "apps.StatefulSetUpdateStrategy",
                kind,
                "apps.RollingUpdateStatefulSetStrategy",
                rolling.is_some(),
            ),
            "must be 'RollingUpdate' or 'OnDelete'",
        ),
    }
}

pub(super) fn stateful_set_update(e: &mut Errs, old: &Value, new: &Value) {
    const MUTABLE: &[&str] = &[
        "replicas",
        "ordinals",
        "template",
        "updateStrategy",
        "persistentVolumeClaimRetentionPolicy",
        "minReadySeconds",
    ];
    let strip = |obj: &Value| {
        let mut spec = obj.get("spec").unwrap_or(empty_object()).clone();
        if let Some(m) = spec.as_object_mut() {
            for key in MUTABLE {
                m.remove(*key);
            }
        }
        spec
    };
    if !same(&strip(old), &strip(new)) {
        e.forbidden(&Path::new("spec"), STATEFULSET_UPDATE);
    }
    selector_immutable(e, old, new);
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::{validate_create, validate_update};
    use serde_json::json;

    #[test]
    fn replicas_and_counts() {
        assert_only(
            &deployment_causes("/spec/replicas", json!(-1)),
            "spec.replicas",
            "Invalid value: -1: must be greater than or equal to 0",
        );
        assert_only(
            &deployment_causes("/spec/revisionHistoryLimit", json!(-2)),
            "spec.revisionHistoryLimit",
            "Invalid value: -2: must be greater than or equal to 0",
        );
        let mut d = deployment();
        set(&mut d, "/spec/minReadySeconds", json!(600));
        assert_only(
            &validate_create("Deployment", &d),
            "spec.progressDeadlineSeconds",
            "Invalid value: 600: must be greater than minReadySeconds",
        );
    }

    #[test]
    fn deployment_strategy() {
        let ru = "spec.strategy.rollingUpdate";
        assert_only(
            &deployment_causes(
                "/spec/strategy/rollingUpdate",
                json!({"maxUnavailable": 0, "maxSurge": "0%"}),
            ),
            &format!("{ru}.maxUnavailable"),
            "Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: may not be 0 when `maxSurge` is 0",
        );
        assert_only(
            &deployment_causes("/spec/strategy/rollingUpdate/maxUnavailable", json!("150%")),
            &format!("{ru}.maxUnavailable"),
            "Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"150%\"}: must not be greater than 100%",
        );
        assert_only(
            &deployment_causes("/spec/strategy/rollingUpdate/maxSurge", json!("lots")),
            &format!("{ru}.maxSurge"),
            "Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"lots\"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
        );
        assert_only(
            &deployment_causes("/spec/strategy/rollingUpdate/maxSurge", json!(-1)),
            &format!("{ru}.maxSurge"),
            "Invalid value: -1: must be greater than or equal to 0",
        );
        assert_only(
            &deployment_causes("/spec/strategy/type", json!("Recreate")),
            "spec.strategy.rollingUpdate",
            "Forbidden: may not be specified when strategy `type` is 'Recreate'",
        );
        let mut d = deployment();
        set(&mut d, "/spec/strategy", json!({"type": "BlueGreen"}));
        assert_only(
            &validate_create("Deployment", &d),
            "spec.strategy",
            "Unsupported value: apps.DeploymentStrategy{Type:\"BlueGreen\", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: \"Recreate\", \"RollingUpdate\"",
        );
    }

    #[test]
    fn daemon_set_strategy() {
        let mut ds = daemon_set();
        set(
            &mut ds,
            "/spec/updateStrategy/rollingUpdate",
            json!({"maxUnavailable": 0, "maxSurge": 0}),
        );
        assert_only(
            &validate_create("DaemonSet", &ds),
            "spec.updateStrategy.rollingUpdate.maxUnavailable",
            "Required value: cannot be 0 when maxSurge is 0",
        );
        set(
            &mut ds,
            "/spec/updateStrategy/rollingUpdate",
            json!({"maxUnavailable": 1, "maxSurge": "10%"}),
        );
        assert_only(
            &validate_create("DaemonSet", &ds),
            "spec.updateStrategy.rollingUpdate.maxSurge",
            "Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"10%\"}: may not be set when maxUnavailable is non-zero",
        );
    }

    #[test]
    fn stateful_set_rules() {
        let mut s = stateful_set();
        set(&mut s, "/spec/podManagementPolicy", json!("Random"));
        assert_only(
            &validate_create("StatefulSet", &s),
            "spec.podManagementPolicy",
            "Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'",
        );
        let mut s = stateful_set();
        set(
            &mut s,
            "/spec/updateStrategy",
            json!({"type": "OnDelete", "rollingUpdate": {"partition": 1}}),
        );
        assert_only(
            &validate_create("StatefulSet", &s),
            "spec.updateStrategy.rollingUpdate",
            "Invalid value: apps.RollingUpdateStatefulSetStrategy{Partition:1, MaxUnavailable:(*intstr.IntOrString)(nil)}: only allowed for updateStrategy 'RollingUpdate'",
        );
        let mut s = stateful_set();
        set(
            &mut s,
            "/spec/updateStrategy/rollingUpdate/maxUnavailable",
            json!(0),
        );
        assert_only(
            &validate_create("StatefulSet", &s),
            "spec.updateStrategy.rollingUpdate.maxUnavailable",
            "Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: cannot be 0",
        );
        let mut s = stateful_set();
        set(
            &mut s,
            "/spec/persistentVolumeClaimRetentionPolicy/whenDeleted",
            json!("Keep"),
        );
        assert_only(
            &validate_create("StatefulSet", &s),
            "spec.persistentVolumeClaimRetentionPolicy.whenDeleted",
            "Unsupported value: \"Keep\": supported values: \"Retain\", \"Delete\"",
        );
    }

    #[test]
    fn controller_updates() {
        let old = deployment();
        let mut new = deployment();
        set(&mut new, "/spec/selector/matchLabels/app", json!("api"));
        set(&mut new, "/spec/template/metadata/labels/app", json!("api"));
        assert_only(
            &validate_update("Deployment", &old, &new),
            "spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"api\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
        );
        let mut new = deployment();
        set(&mut new, "/spec/replicas", json!(5));
        set(
            &mut new,
            "/spec/template/spec/containers/0/image",
            json!("nginx:2"),
        );
        assert_eq!(validate_update("Deployment", &old, &new), vec![]);

        let old = stateful_set();
        let mut new = stateful_set();
        set(&mut new, "/spec/serviceName", json!("other"));
        assert_only(
            &validate_update("StatefulSet", &old, &new),
            "spec",
            "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        );
        let mut new = stateful_set();
        set(&mut new, "/spec/replicas", json!(5));
        set(&mut new, "/spec/minReadySeconds", json!(3));
        set(
            &mut new,
            "/spec/template/spec/containers/0/image",
            json!("db:2"),
        );
        assert_eq!(validate_update("StatefulSet", &old, &new), vec![]);

        let old = daemon_set();
        let mut new = daemon_set();
        set(&mut new, "/spec/selector/matchLabels/tier", json!("x"));
        set(&mut new, "/spec/template/metadata/labels/tier", json!("x"));
        assert_only(
            &validate_update("DaemonSet", &old, &new),
            "spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"agent\", \"tier\":\"x\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
        );
    }

    #[test]
    fn replica_sets_and_replication_controllers() {
        let mut rs = deployment();
        remove(&mut rs, "/spec/strategy");
        remove(&mut rs, "/spec/progressDeadlineSeconds");
        assert_eq!(validate_create("ReplicaSet", &rs), vec![]);
        set(&mut rs, "/spec/selector", json!({}));
        assert_only(
            &validate_create("ReplicaSet", &rs),
            "spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment",
        );
        let rc = json!({
            "metadata": {"name": "rc"},
            "spec": {"replicas": 1, "selector": {"app": "x"}, "template": {"metadata": {"labels": {"app": "y"}}, "spec": pod_spec_fixture()}}
        });
        assert_only(
            &validate_create("ReplicationController", &rc),
            "spec.template.metadata.labels",
            "Invalid value: map[string]string{\"app\":\"y\"}: `selector` does not match template `labels`",
        );
    }
}
