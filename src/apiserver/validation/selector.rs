//! Label selectors: validating them, matching template labels, and printing
//! them as upstream does.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::errs::Errs;
use super::formats::{label_value, qualified_name};
use super::json::{present, qarr, qmap, qstr, qstring_map, same_opt};
use super::meta::labels;
use super::path::Path;
use super::render::{go_string_map, go_string_slice, quote};

const SELECTOR_MISMATCH: &str = "`selector` does not match template `labels`";

/// Validates a `metav1.LabelSelector`. Returns true when upstream could turn
/// it into a selector (no errors found here).
pub(super) fn label_selector(e: &mut Errs, sel: &Value, p: &Path) -> bool {
    let before = e.len();
    labels(e, sel, p, "matchLabels");
    if let Some(exprs) = e.arr(sel, p, "matchExpressions") {
        let ep = p.child("matchExpressions");
        for (i, expr) in exprs.iter().enumerate() {
            let ip = ep.index(i);
            if e.as_obj(expr, &ip).is_none() {
                continue;
            }
            let op = e.string(expr, &ip, "operator").unwrap_or("");
            let values = e.string_list(expr, &ip, "values");
            match op {
                "In" | "NotIn" => {
                    if values.is_empty() {
                        e.required(
                            &ip.child("values"),
                            "must be specified when `operator` is 'In' or 'NotIn'",
                        );
                    }
                }
                "Exists" | "DoesNotExist" => {
                    if !values.is_empty() {
                        e.forbidden(
                            &ip.child("values"),
                            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                        );
                    }
                }
                _ => e.invalid_str(&ip.child("operator"), op, "not a valid selector operator"),
            }
            let key = e.string(expr, &ip, "key").unwrap_or("");
            for msg in qualified_name(key) {
                e.invalid_str(&ip.child("key"), key, &msg);
            }
            for (j, v) in values.iter().enumerate() {
                for msg in label_value(v) {
                    e.invalid_str(&ip.child("values").index(j), v, &msg);
                }
            }
        }
    }
    e.len() == before
}

/// A selector with neither matchLabels nor matchExpressions selects everything.
pub(super) fn selector_is_empty(sel: &Value) -> bool {
    qmap(sel, "matchLabels").is_none_or(Map::is_empty) && qarr(sel, "matchExpressions").is_empty()
}

/// Checks that the template's labels are selected. A missing selector
/// selects nothing (so never matches); an empty one selects everything.
pub(super) fn selector_matches_template(
    e: &mut Errs,
    sel: Option<&Value>,
    template: &Value,
    tp: &Path,
) {
    let labels = template_labels(template);
    let matched = match sel {
        None => false,
        Some(s) => {
            selector_is_empty(s)
                || crate::apiserver::selector::LabelSelector::from_object(s)
                    .is_some_and(|l| l.matches(&template["metadata"]["labels"]))
        }
    };
    if !matched {
        selector_mismatch(e, labels.as_ref(), tp);
    }
}

/// The template's `metadata.labels`, read quietly.
pub(super) fn template_labels(template: &Value) -> Option<BTreeMap<&str, &str>> {
    let meta = template.get("metadata").unwrap_or(&Value::Null);
    qstring_map(meta, "labels")
}

/// Reports that the selector does not select the template's `labels`.
pub(super) fn selector_mismatch(e: &mut Errs, labels: Option<&BTreeMap<&str, &str>>, tp: &Path) {
    e.invalid(
        &tp.child("metadata").child("labels"),
        &go_string_map(labels),
        SELECTOR_MISMATCH,
    );
}

/// spec.selector of the apps controllers: required, valid and not empty.
/// Returns whether the selector is usable for matching the template.
pub(super) fn required_selector(e: &mut Errs, spec: &Value, sp: &Path, kind: &str) -> bool {
    let p = sp.child("selector");
    let Some(v) = present(spec, "selector") else {
        e.required(&p, "");
        return true;
    };
    let Some(sel) = e.as_obj(v, &p) else {
        return false;
    };
    let ok = label_selector(e, sel, &p);
    if selector_is_empty(sel) {
        e.invalid(
            &p,
            &render_selector(Some(sel)),
            &format!("empty selector is invalid for {kind}"),
        );
    }
    ok
}

/// `spec.selector` may not change: the apps controllers (apps/v1) and Jobs.
pub(super) fn selector_immutable(e: &mut Errs, old: &Value, new: &Value) {
    let old_sel = old.get("spec").and_then(|s| present(s, "selector"));
    let new_sel = new.get("spec").and_then(|s| present(s, "selector"));
    if !same_opt(old_sel, new_sel) {
        e.immutable(&Path::new("spec.selector"), &render_selector(new_sel));
    }
}

/// `%#v` of a `metav1.LabelSelector` (what kubectl shows for selectors).
pub(super) fn render_selector(sel: Option<&Value>) -> String {
    let Some(sel) = sel else {
        return "null".to_string();
    };
    let labels = qstring_map(sel, "matchLabels");
    let exprs = match sel.get("matchExpressions") {
        Some(Value::Array(items)) => {
            let items: Vec<String> = items
                .iter()
                .map(|r| {
                    let values: Option<Vec<&str>> = r
                        .get("values")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().map(|v| v.as_str().unwrap_or("")).collect());
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                        quote(qstr(r, "key").unwrap_or("")),
                        quote(qstr(r, "operator").unwrap_or("")),
                        go_string_slice(values.as_deref()),
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
        }
        _ => "[]v1.LabelSelectorRequirement(nil)".to_string(),
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{exprs}}}",
        go_string_map(labels.as_ref())
    )
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::validate_create;
    use serde_json::json;

    #[test]
    fn selector_required_and_not_empty() {
        let mut d = deployment();
        remove(&mut d, "/spec/selector");
        let causes = validate_create("Deployment", &d);
        assert_cause(&causes, "spec.selector", "Required value");
        // A missing selector selects nothing, so the template never matches.
        assert_cause(
            &causes,
            "spec.template.metadata.labels",
            "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
        );
        assert_only(
            &deployment_causes("/spec/selector", json!({})),
            "spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment",
        );
        let mut s = stateful_set();
        set(&mut s, "/spec/selector", json!({"matchLabels": {}}));
        assert_only(
            &validate_create("StatefulSet", &s),
            "spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for statefulset",
        );
        let mut ds = daemon_set();
        set(&mut ds, "/spec/selector", json!({}));
        assert_only(
            &validate_create("DaemonSet", &ds),
            "spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for daemonset",
        );
    }

    #[test]
    fn selector_must_match_template() {
        let causes = deployment_causes("/spec/selector/matchLabels/app", json!("x"));
        assert_only(
            &causes,
            "spec.template.metadata.labels",
            "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
        );
        let causes = deployment_causes(
            "/spec/selector",
            json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}),
        );
        assert_eq!(causes, vec![]);
        let causes = deployment_causes(
            "/spec/selector",
            json!({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}),
        );
        assert_only(
            &causes,
            "spec.template.metadata.labels",
            "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
        );
        let causes = deployment_causes(
            "/spec/selector",
            json!({"matchExpressions": [{"key": "app", "operator": "In"}]}),
        );
        assert_cause(
            &causes,
            "spec.selector.matchExpressions[0].values",
            "Required value: must be specified when `operator` is 'In' or 'NotIn'",
        );
        assert_cause(
            &causes,
            "spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:\"app\", Operator:\"In\", Values:[]string(nil)}}}: invalid label selector",
        );
        let mut ds = daemon_set();
        set(
            &mut ds,
            "/spec/template/metadata/labels",
            json!({"app": "other"}),
        );
        assert_only(
            &validate_create("DaemonSet", &ds),
            "spec.template.metadata.labels",
            "Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`",
        );
        let mut s = stateful_set();
        remove(&mut s, "/spec/template/metadata/labels");
        assert_only(
            &validate_create("StatefulSet", &s),
            "spec.template.metadata.labels",
            "Invalid value: map[string]string(nil): `selector` does not match template `labels`",
        );
    }
}
