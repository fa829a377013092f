//! Pod templates, as embedded in controllers and Jobs.

use serde_json::Value;

use super::checks::supported;
use super::errs::Errs;
use super::json::{empty_object, present, qarr};
use super::meta::{annotations, labels};
use super::path::Path;
use super::pod::pod_spec;
use super::selector::selector_matches_template;

/// `ValidatePodTemplateSpec`. Upstream reports template labels and
/// annotations at `<template>.labels`, without `.metadata`.
pub(super) fn pod_template(e: &mut Errs, template: &Value, tp: &Path) {
    template_metadata(e, template, tp);
    let spec = e.obj_or_empty(template, tp, "spec");
    let sp = tp.child("spec");
    pod_spec(e, spec, &sp, false);
    if !qarr(spec, "ephemeralContainers").is_empty() {
        e.forbidden(
            &sp.child("ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        );
    }
}

pub(super) fn template_metadata(e: &mut Errs, template: &Value, tp: &Path) {
    if let Some(meta) = e.obj(template, tp, "metadata") {
        labels(e, meta, tp, "labels");
        annotations(e, meta, tp, "annotations");
    }
}

/// The template's restart policy, "Always" when unset (the default).
pub(super) fn template_restart_policy(template: &Value) -> Option<&str> {
    match template.get("spec").and_then(|s| s.get("restartPolicy")) {
        None | Some(Value::Null) => Some("Always"),
        Some(v) => v.as_str(),
    }
}

/// The controllers' template: selector match, pod template, restartPolicy
/// Always, no activeDeadlineSeconds. `owner` names the kind in the message.
pub(super) fn controller_template(
    e: &mut Errs,
    spec: &Value,
    sp: &Path,
    sel: Option<&Value>,
    owner: &str,
) {
    let tp = sp.child("template");
    let Some(t) = template_or_empty(e, spec, &tp) else {
        return;
    };
    selector_matches_template(e, sel, t, &tp);
    controller_pod_template(e, t, &tp, owner);
}

/// A controller's pod template: valid, restartPolicy Always, and no
/// activeDeadlineSeconds.
pub(super) fn controller_pod_template(e: &mut Errs, t: &Value, tp: &Path, owner: &str) {
    pod_template(e, t, tp);
    always_restart(e, t, tp);
    no_active_deadline(e, t, tp, owner);
}

pub(super) fn no_active_deadline(e: &mut Errs, t: &Value, tp: &Path, owner: &str) {
    let spec = t.get("spec").unwrap_or(&Value::Null);
    if present(spec, "activeDeadlineSeconds").is_some() {
        e.forbidden(
            &tp.child("spec").child("activeDeadlineSeconds"),
            &format!("activeDeadlineSeconds in {owner} is not Supported"),
        );
    }
}

/// spec.template, or an empty one when unset (upstream's template is a
/// struct); `None` when it is not an object (reported).
pub(super) fn template_or_empty<'a>(e: &mut Errs, spec: &'a Value, tp: &Path) -> Option<&'a Value> {
    match present(spec, "template") {
        None => Some(empty_object()),
        Some(v) => e.as_obj(v, tp),
    }
}

pub(super) fn always_restart(e: &mut Errs, t: &Value, tp: &Path) {
    if let Some(rp) = template_restart_policy(t) {
        supported(e, &tp.child("spec").child("restartPolicy"), rp, &["Always"]);
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::validate_create;
    use serde_json::json;

    #[test]
    fn template_metadata_is_reported_without_metadata_segment() {
        let causes = deployment_causes("/spec/template/metadata/annotations", json!({"a b": "x"}));
        assert_only(
            &causes,
            "spec.template.annotations",
            &format!("Invalid value: \"a b\": {NAME_PART_ERR}"),
        );
        let causes = deployment_causes(
            "/spec/template/metadata/labels",
            json!({"app": "web", "tier": "-x"}),
        );
        assert_only(
            &causes,
            "spec.template.labels",
            &format!("Invalid value: \"-x\": {LABEL_VALUE_ERR}"),
        );
    }

    #[test]
    fn template_restart_policy_must_be_always() {
        assert_only(
            &deployment_causes("/spec/template/spec/restartPolicy", json!("Never")),
            "spec.template.spec.restartPolicy",
            "Unsupported value: \"Never\": supported values: \"Always\"",
        );
        assert_only(
            &deployment_causes("/spec/template/spec/activeDeadlineSeconds", json!(10)),
            "spec.template.spec.activeDeadlineSeconds",
            "Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported",
        );
        let mut s = stateful_set();
        set(
            &mut s,
            "/spec/template/spec/restartPolicy",
            json!("OnFailure"),
        );
        assert_only(
            &validate_create("StatefulSet", &s),
            "spec.template.spec.restartPolicy",
            "Unsupported value: \"OnFailure\": supported values: \"Always\"",
        );
    }
}
