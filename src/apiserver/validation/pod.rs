//! Pods: the pod spec (volumes and containers have their own modules),
//! tolerations, and what a running pod may change.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::checks::{one_of, supported};
use super::container::{containers, host_network_ports, init_containers};
use super::errs::Errs;
use super::formats::{dns1123_label, dns1123_subdomain, qualified_name};
use super::json::{normalize, qarr, qint, qstr, same, spec_of};
use super::meta::labels;
use super::node::{TAINT_EFFECTS, taint_value};
use super::path::Path;
use super::render::quote;
use super::volume::volumes;

const MAX_INT32: i64 = i32::MAX as i64;

const UPDATABLE_POD_FIELDS: &str = "pod updates may not change fields other than \
`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,\
`spec.tolerations` (only additions to existing tolerations),\
`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// `ValidatePodSpec` for pods (`is_pod`) and pod templates.
pub(super) fn pod_spec(e: &mut Errs, spec: &Value, sp: &Path, is_pod: bool) {
    e.int(spec, sp, "terminationGracePeriodSeconds");
    let volumes = volumes(e, spec, sp);
    containers(e, spec, sp, &volumes, is_pod);
    init_containers(e, spec, sp, &volumes, is_pod);
    host_network_ports(e, spec, sp, is_pod);
    if let Some(rp) = e.string(spec, sp, "restartPolicy") {
        one_of(
            e,
            &sp.child("restartPolicy"),
            rp,
            &["Always", "OnFailure", "Never"],
        );
    }
    if let Some(dp) = e.string(spec, sp, "dnsPolicy") {
        one_of(
            e,
            &sp.child("dnsPolicy"),
            dp,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        );
    }
    labels(e, spec, sp, "nodeSelector");
    for key in ["serviceAccountName", "nodeName", "priorityClassName"] {
        if let Some(name) = e.string(spec, sp, key)
            && !name.is_empty()
        {
            for msg in dns1123_subdomain(name) {
                e.invalid_str(&sp.child(key), name, &msg);
            }
        }
    }
    if let Some(n) = e.int(spec, sp, "activeDeadlineSeconds")
        && !(1..=MAX_INT32).contains(&n)
    {
        e.invalid_int(
            &sp.child("activeDeadlineSeconds"),
            n,
            &format!("must be between 1 and {MAX_INT32}, inclusive"),
        );
    }
    for key in ["hostname", "subdomain"] {
        if let Some(name) = e.string(spec, sp, key)
            && !name.is_empty()
        {
            for msg in dns1123_label(name) {
                e.invalid_str(&sp.child(key), name, &msg);
            }
        }
    }
    tolerations(e, spec, sp);
}

fn tolerations(e: &mut Errs, spec: &Value, sp: &Path) {
    let Some(list) = e.arr(spec, sp, "tolerations") else {
        return;
    };
    let tp = sp.child("tolerations");
    for (i, t) in list.iter().enumerate() {
        let ip = tp.index(i);
        if e.as_obj(t, &ip).is_none() {
            continue;
        }
        let key = e.string(t, &ip, "key").unwrap_or("");
        let operator = e.string(t, &ip, "operator").unwrap_or("");
        let value = e.string(t, &ip, "value").unwrap_or("");
        let effect = e.string(t, &ip, "effect").unwrap_or("");
        let seconds = e.int(t, &ip, "tolerationSeconds");
        if !key.is_empty() {
            for msg in qualified_name(key) {
                e.invalid_str(&ip.child("key"), key, &msg);
            }
        }
        if key.is_empty() && operator != "Exists" {
            e.invalid_str(
                &ip.child("operator"),
                operator,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            );
        }
        if seconds.is_some() && effect != "NoExecute" {
            e.invalid_str(
                &ip.child("effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            );
        }
        match operator {
            "Equal" | "" => taint_value(e, &ip.child("operator"), value),
            "Exists" => {
                if !value.is_empty() {
                    e.invalid_str(
                        &ip.child("operator"),
                        value,
                        "value must be empty when `operator` is 'Exists'",
                    );
                }
            }
            _ => e.not_supported(
                &ip.child("operator"),
                &quote(operator),
                &["Equal", "Exists"],
            ),
        }
        if !effect.is_empty() {
            supported(e, &ip.child("effect"), effect, &TAINT_EFFECTS);
        }
    }
}

/// A running pod may only change images, activeDeadlineSeconds (downwards),
/// tolerations (additions), and scheduling gates (removals).
pub(super) fn pod_update(e: &mut Errs, old: &Value, new: &Value) {
    let sp = Path::new("spec");
    let old_spec = spec_of(old);
    let new_spec = spec_of(new);
    for key in ["containers", "initContainers"] {
        if qarr(old_spec, key).len() != qarr(new_spec, key).len() {
            e.forbidden(
                &sp.child(key),
                "pod updates may not add or remove containers",
            );
            return;
        }
    }
    let deadline = sp.child("activeDeadlineSeconds");
    match (
        qint(old_spec, "activeDeadlineSeconds"),
        qint(new_spec, "activeDeadlineSeconds"),
    ) {
        (_, Some(n)) if !(0..=MAX_INT32).contains(&n) => {
            e.invalid_int(
                &deadline,
                n,
                &format!("must be between 0 and {MAX_INT32}, inclusive"),
            );
            return;
        }
        (Some(before), Some(n)) if before < n => {
            e.invalid_int(&deadline, n, "must be less than or equal to previous value");
            return;
        }
        (Some(_), None) => e.invalid(
            &deadline,
            "null",
            "must not update from a positive integer to nil value",
        ),
        _ => {}
    }
    only_added_tolerations(e, old_spec, new_spec, &sp.child("tolerations"));
    only_removed_scheduling_gates(e, old_spec, new_spec, &sp.child("schedulingGates"));

    // Compare everything else: copy the mutable fields over from the old spec.
    let mut munged = new_spec.clone();
    for key in ["containers", "initContainers"] {
        if let Some(Value::Array(items)) = munged.get_mut(key) {
            for (i, c) in items.iter_mut().enumerate() {
                let old_image = qarr(old_spec, key)
                    .get(i)
                    .and_then(|o| o.get("image"))
                    .cloned();
                if let Some(obj) = c.as_object_mut() {
                    set_or_remove(obj, "image", old_image);
                }
            }
        }
    }
    if let Some(obj) = munged.as_object_mut() {
        for key in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
            set_or_remove(obj, key, old_spec.get(key).cloned());
        }
        let old_grace = qint(old_spec, "terminationGracePeriodSeconds");
        if old_grace.is_some_and(|g| g < 0)
            && qint(new_spec, "terminationGracePeriodSeconds") == Some(1)
        {
            set_or_remove(
                obj,
                "terminationGracePeriodSeconds",
                old_spec.get("terminationGracePeriodSeconds").cloned(),
            );
        }
    }
    if !same(&munged, old_spec) {
        e.forbidden(&sp, UPDATABLE_POD_FIELDS);
    }
}

fn set_or_remove(obj: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(v) => {
            obj.insert(key.to_string(), v);
        }
        None => {
            obj.remove(key);
        }
    }
}

fn only_added_tolerations(e: &mut Errs, old_spec: &Value, new_spec: &Value, p: &Path) {
    let without_seconds = |t: &Value| {
        let mut t = normalize(t);
        if let Some(obj) = t.as_object_mut() {
            obj.remove("tolerationSeconds");
        }
        t
    };
    let new: Vec<Value> = qarr(new_spec, "tolerations")
        .iter()
        .map(without_seconds)
        .collect();
    for old in qarr(old_spec, "tolerations") {
        if !new.contains(&without_seconds(old)) {
            e.forbidden(
                p,
                "existing toleration can not be modified except its tolerationSeconds",
            );
            return;
        }
    }
}

fn only_removed_scheduling_gates(e: &mut Errs, old_spec: &Value, new_spec: &Value, p: &Path) {
    let old: BTreeSet<&str> = qarr(old_spec, "schedulingGates")
        .iter()
        .filter_map(|g| qstr(g, "name"))
        .collect();
    for (i, gate) in qarr(new_spec, "schedulingGates").iter().enumerate() {
        let name = qstr(gate, "name").unwrap_or("");
        if !old.contains(name) {
            e.forbidden(
                &p.index(i).child("name"),
                &format!("only deletion is allowed, but found new scheduling gate '{name}'"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::{validate_create, validate_update};
    use super::UPDATABLE_POD_FIELDS;
    use serde_json::json;

    #[test]
    fn pod_enumerations() {
        let mut p = pod();
        set(&mut p, "/spec/restartPolicy", json!("Sometimes"));
        assert_only(
            &validate_create("Pod", &p),
            "spec.restartPolicy",
            "Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
        );
        let mut p = pod();
        set(&mut p, "/spec/dnsPolicy", json!("Google"));
        assert_only(
            &validate_create("Pod", &p),
            "spec.dnsPolicy",
            "Unsupported value: \"Google\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"",
        );
        assert_only(
            &container_causes("imagePullPolicy", json!("Sometimes")),
            "spec.containers[0].imagePullPolicy",
            "Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
        );
        assert_only(
            &container_causes("imagePullPolicy", json!("")),
            "spec.containers[0].imagePullPolicy",
            "Required value",
        );
        assert_only(
            &container_causes("terminationMessagePolicy", json!("Log")),
            "spec.containers[0].terminationMessagePolicy",
            "Unsupported value: \"Log\": supported values: \"File\", \"FallbackToLogsOnError\"",
        );
        let mut p = pod();
        set(&mut p, "/spec/activeDeadlineSeconds", json!(0));
        assert_only(
            &validate_create("Pod", &p),
            "spec.activeDeadlineSeconds",
            "Invalid value: 0: must be between 1 and 2147483647, inclusive",
        );
        let mut p = pod();
        set(&mut p, "/spec/serviceAccountName", json!("Bad_SA"));
        assert_only(
            &validate_create("Pod", &p),
            "spec.serviceAccountName",
            &format!("Invalid value: \"Bad_SA\": {DNS_SUBDOMAIN_ERR}"),
        );
        let mut p = pod();
        set(&mut p, "/spec/nodeSelector", json!({"disk": "ssd!"}));
        assert_only(
            &validate_create("Pod", &p),
            "spec.nodeSelector",
            &format!("Invalid value: \"ssd!\": {LABEL_VALUE_ERR}"),
        );
    }

    #[test]
    fn tolerations() {
        let mut p = pod();
        set(
            &mut p,
            "/spec/tolerations",
            json!([{"operator": "Equal", "value": "x"}]),
        );
        let causes = validate_create("Pod", &p);
        assert_cause(
            &causes,
            "spec.tolerations[0].operator",
            "Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
        );
        set(
            &mut p,
            "/spec/tolerations",
            json!([{"key": "k", "operator": "Exists", "effect": "NoRun"}]),
        );
        assert_only(
            &validate_create("Pod", &p),
            "spec.tolerations[0].effect",
            "Unsupported value: \"NoRun\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
        );
    }

    #[test]
    fn pod_updates() {
        let old = pod();
        let mut new = pod();
        set(&mut new, "/spec/containers/0/image", json!("nginx:1.27"));
        set(&mut new, "/metadata/labels/extra", json!("x"));
        assert_eq!(validate_update("Pod", &old, &new), vec![]);
        let mut new = pod();
        set(
            &mut new,
            "/spec/containers/0/env",
            json!([{"name": "A", "value": "b"}]),
        );
        assert_only(
            &validate_update("Pod", &old, &new),
            "spec",
            &format!("Forbidden: {UPDATABLE_POD_FIELDS}"),
        );
        let mut new = pod();
        let c = new["spec"]["containers"][0].clone();
        let mut c2 = c.clone();
        c2["name"] = json!("sidecar");
        set(&mut new, "/spec/containers", json!([c, c2]));
        assert_only(
            &validate_update("Pod", &old, &new),
            "spec.containers",
            "Forbidden: pod updates may not add or remove containers",
        );
        let mut old = pod();
        set(&mut old, "/spec/activeDeadlineSeconds", json!(10));
        let mut new = old.clone();
        set(&mut new, "/spec/activeDeadlineSeconds", json!(20));
        assert_only(
            &validate_update("Pod", &old, &new),
            "spec.activeDeadlineSeconds",
            "Invalid value: 20: must be less than or equal to previous value",
        );
        let mut old = pod();
        set(
            &mut old,
            "/spec/tolerations",
            json!([{"key": "a", "operator": "Exists"}]),
        );
        let mut new = old.clone();
        set(
            &mut new,
            "/spec/tolerations",
            json!([{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}]),
        );
        assert_eq!(validate_update("Pod", &old, &new), vec![]);
        set(
            &mut new,
            "/spec/tolerations",
            json!([{"key": "b", "operator": "Exists"}]),
        );
        assert_only(
            &validate_update("Pod", &old, &new),
            "spec.tolerations",
            "Forbidden: existing toleration can not be modified except its tolerationSeconds",
        );
    }
}
