//! Label and field selectors, as `?labelSelector=` and `?fieldSelector=` carry them.

use serde_json::Value;

use super::status::ApiError;
use crate::kinds::Kind;

/// Label selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)`.
pub struct LabelSelector(Vec<Requirement>);

enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<LabelSelector, ApiError> {
        let mut reqs = Vec::new();
        // Split on commas outside parentheses.
        let mut parts = Vec::new();
        let (mut depth, mut start) = (0, 0);
        for (i, c) in s.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&s[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&s[start..]);
        let bad =
            |p: &str| ApiError::bad_request(format!("unable to parse requirement: found {p:?}"));
        for p in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
            let set = |rest: &str| -> Option<Vec<String>> {
                let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
                Some(inner.split(',').map(|v| v.trim().to_string()).collect())
            };
            let req = if let Some((k, v)) = p.split_once("!=") {
                Requirement::NotEq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
                Requirement::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, rest)) = p.split_once(" notin ") {
                Requirement::NotIn(k.trim().into(), set(rest).ok_or_else(|| bad(p))?)
            } else if let Some((k, rest)) = p.split_once(" in ") {
                Requirement::In(k.trim().into(), set(rest).ok_or_else(|| bad(p))?)
            } else if let Some(k) = p.strip_prefix('!') {
                Requirement::NotExists(k.trim().into())
            } else if !p.contains(' ') {
                Requirement::Exists(p.into())
            } else {
                return Err(bad(p));
            };
            reqs.push(req);
        }
        Ok(LabelSelector(reqs))
    }

    pub fn matches(&self, labels: &Value) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Eq(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEq(k, v) => get(k) != Some(v.as_str()),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| vs.iter().all(|v| v != x)),
        })
    }

    /// A metav1.LabelSelector object (matchLabels, matchExpressions), as workloads and
    /// disruption budgets hold them; None when an operator is unknown (it selects nothing).
    pub fn from_object(sel: &Value) -> Option<LabelSelector> {
        let mut reqs = Vec::new();
        if let Some(m) = sel["matchLabels"].as_object() {
            for (k, v) in m {
                reqs.push(Requirement::Eq(k.clone(), v.as_str().unwrap_or("").into()));
            }
        }
        for e in sel["matchExpressions"].as_array().into_iter().flatten() {
            let key = e["key"].as_str().unwrap_or("").to_string();
            let values: Vec<String> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            reqs.push(match e["operator"].as_str().unwrap_or("") {
                "In" => Requirement::In(key, values),
                "NotIn" => Requirement::NotIn(key, values),
                "Exists" => Requirement::Exists(key),
                "DoesNotExist" => Requirement::NotExists(key),
                _ => return None,
            });
        }
        Some(LabelSelector(reqs))
    }

    /// Whether the selector selects everything (no requirement).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The `labelSelector` and `fieldSelector` of a request, together.
pub struct Selectors {
    pub labels: Option<LabelSelector>,
    pub fields: Option<FieldSelector>,
}

impl Selectors {
    /// From a request's query (percent-encoded values).
    pub fn from_query(kind: &Kind, query: &str) -> Result<Selectors, ApiError> {
        use super::rest::{percent_decode, query_param};
        Ok(Selectors {
            labels: query_param(query, "labelSelector")
                .map(|s| LabelSelector::parse(&percent_decode(s)))
                .transpose()?,
            fields: query_param(query, "fieldSelector")
                .map(|s| FieldSelector::parse(kind, &percent_decode(s)))
                .transpose()?,
        })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.labels
            .as_ref()
            .is_none_or(|l| l.matches(&obj["metadata"]["labels"]))
            && self.fields.as_ref().is_none_or(|f| f.matches(obj))
    }

    /// Whether they select everything.
    pub fn is_empty(&self) -> bool {
        self.labels.as_ref().is_none_or(LabelSelector::is_empty) && self.fields.is_none()
    }
}

/// The fields each kind can be selected by, beyond metadata.name and metadata.namespace
/// (upstream's field label conversions), with the JSON path each reads.
fn kind_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        "Node" => &["spec.unschedulable"],
        "Event" => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        "Secret" => &["type"],
        "Namespace" => &["status.phase"],
        "ReplicaSet" | "ReplicationController" => &["status.replicas"],
        "Job" => &["status.successful"],
        _ => &[],
    }
}

/// Field selectors: `field=value`, `field==value`, `field!=value`, comma-separated; the
/// fields a kind supports (see `kind_fields`).
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn parse(kind: &Kind, s: &str) -> Result<FieldSelector, ApiError> {
        let mut out = Vec::new();
        for p in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, eq, v) = if let Some((k, v)) = p.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
                (k, true, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{p}'"
                )));
            };
            let k = k.trim();
            if k != "metadata.name"
                && k != "metadata.namespace"
                && !kind_fields(kind.kind).contains(&k)
            {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {k}"
                )));
            }
            out.push((k.to_string(), eq, v.trim().to_string()));
        }
        Ok(FieldSelector(out))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0
            .iter()
            .all(|(path, eq, want)| (field_value(obj, path) == *want) == *eq)
    }

    /// The name this selector pins (`metadata.name=x`), which lets a watch skip other objects.
    pub fn name(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, eq, _)| *eq && k == "metadata.name")
            .map(|(_, _, v)| v.as_str())
    }
}

/// A field as a selector compares it: strings as they are, booleans and numbers in their JSON
/// text, absent fields as "" (upstream compares with the field's zero value, so
/// `spec.unschedulable=false` matches a node without the field).
fn field_value(obj: &Value, path: &str) -> String {
    let mut v = obj;
    for part in path.split('.') {
        v = &v[part];
    }
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => match path {
            "spec.unschedulable" | "spec.hostNetwork" => "false".into(),
            "status.replicas" | "status.successful" => "0".into(),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors_match_as_kubectl_means_them() {
        let labels = json!({"app": "web", "tier": "fe"});
        let m = |s: &str| LabelSelector::parse(s).unwrap().matches(&labels);
        assert!(m("app=web"));
        assert!(m("app==web,tier"));
        assert!(!m("app!=web"));
        assert!(m("!missing"));
        assert!(m("app in (web,db)"));
        assert!(!m("tier notin (fe)"));
        assert!(m(""));
        assert!(LabelSelector::parse("app in web").is_err());
    }

    #[test]
    fn field_selectors_know_each_kinds_fields() {
        let pods = crate::kinds::find("", "v1", "pods").unwrap();
        let cms = crate::kinds::find("", "v1", "configmaps").unwrap();
        let pod = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
        let m = |s: &str| FieldSelector::parse(pods, s).unwrap().matches(&pod);
        assert!(m(
            "spec.nodeName=n1,status.phase!=Succeeded,status.phase!=Failed"
        ));
        assert!(!m("status.phase=Pending"));
        assert!(m("metadata.name==p"));
        assert_eq!(
            FieldSelector::parse(pods, "metadata.name=p")
                .unwrap()
                .name(),
            Some("p")
        );
        let e = FieldSelector::parse(cms, "spec.nodeName=n1").err().unwrap();
        assert_eq!(e.message, "field label not supported: spec.nodeName");
        let nodes = crate::kinds::find("", "v1", "nodes").unwrap();
        let node = json!({"metadata": {"name": "n"}});
        assert!(
            FieldSelector::parse(nodes, "spec.unschedulable=false")
                .unwrap()
                .matches(&node)
        );
    }
}
