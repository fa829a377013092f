//! One object of the cluster, for the browser's detail views: its YAML (managedFields folded
//! away, as they are noise to a reader), a describe in kubectl's generic layout with the
//! object's events, and those events as `kubectl events --for` lists them.

use std::collections::BTreeMap;

use serde_json::Value;

use super::resources::Resource;

/// Which object: its resource, namespace (empty when cluster-scoped) and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRef {
    pub resource: Resource,
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    /// The object's URL path.
    pub fn path(&self) -> String {
        let ns = (!self.namespace.is_empty()).then_some(self.namespace.as_str());
        format!("{}/{}", self.resource.path(ns), self.name)
    }

    /// `pods default/web-1`, `nodes kwb-control-plane`.
    pub fn label(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.resource.qualified(), self.name)
        } else {
            format!(
                "{} {}/{}",
                self.resource.qualified(),
                self.namespace,
                self.name
            )
        }
    }
}

/// `pods default/web-1` of the test catalog, for unit tests of the views.
#[cfg(test)]
pub fn test_pod() -> ObjectRef {
    ObjectRef {
        resource: super::resources::test_catalog()
            .resolve("po")
            .expect("the test catalog has pods")
            .clone(),
        namespace: "default".into(),
        name: "web-1".into(),
    }
}

pub async fn get(client: &kube::Client, object: &ObjectRef) -> Result<Value, String> {
    let request = http::Request::get(object.path())
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    client
        .request::<Value>(request)
        .await
        .map_err(|e| e.to_string())
}

/// The object as YAML, managedFields folded into a comment line.
pub fn yaml(object: &Value) -> String {
    let mut object = object.clone();
    let folded = object["metadata"]
        .as_object_mut()
        .and_then(|m| m.remove("managedFields"))
        .and_then(|f| f.as_array().map(Vec::len));
    let mut text = serde_saphyr::to_string(&object).unwrap_or_else(|e| format!("# {e}\n"));
    if let Some(n) = folded {
        text.push_str(&format!("# metadata.managedFields: {n} entries folded\n"));
    }
    text
}

/// The label selector of the pods a workload or Service selects, as kubectl writes it
/// (`app=web,tier in (a,b),!canary`); None when it selects none.
pub fn pod_selector(object: &Value) -> Option<String> {
    let selector = &object["spec"]["selector"];
    let pairs = |map: &Value| -> Vec<String> {
        map.as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect()
    };
    let mut parts = if object["kind"] == "Service" {
        pairs(selector)
    } else {
        pairs(&selector["matchLabels"])
    };
    for e in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = e["key"].as_str().unwrap_or("");
        let values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        parts.push(match e["operator"].as_str().unwrap_or("") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "DoesNotExist" => format!("!{key}"),
            _ => key.to_string(),
        });
    }
    (!parts.is_empty()).then(|| parts.join(","))
}

/// The events about the object (core events whose involvedObject is it), oldest first.
pub async fn events(client: &kube::Client, object: &Value) -> Vec<Value> {
    let Some(uid) = object["metadata"]["uid"].as_str() else {
        return Vec::new();
    };
    let ns = object["metadata"]["namespace"].as_str().unwrap_or("");
    let path = if ns.is_empty() {
        "/api/v1/events".to_string()
    } else {
        format!("/api/v1/namespaces/{ns}/events")
    };
    let uri = format!("{path}?fieldSelector=involvedObject.uid%3D{uid}");
    let Ok(request) = http::Request::get(uri).body(Vec::new()) else {
        return Vec::new();
    };
    let list = client.request::<Value>(request).await.unwrap_or_default();
    let mut items = list["items"].as_array().cloned().unwrap_or_default();
    items.sort_by_key(|e| last_seen(e).unwrap_or("").to_string());
    items
}

/// kubectl's generic describe: Name, Namespace, Labels, Annotations, then every other field
/// as an indented tree with Title Case keys, then the Events table.
pub fn describe(object: &Value, events: &[Value]) -> String {
    let m = &object["metadata"];
    let mut out = String::new();
    let line = |out: &mut String, key: &str, value: &str| {
        let key = if key.is_empty() {
            String::new()
        } else {
            format!("{key}:")
        };
        out.push_str(&format!("{key:<14}{value}\n"));
    };
    line(&mut out, "Name", m["name"].as_str().unwrap_or(""));
    if let Some(ns) = m["namespace"].as_str() {
        line(&mut out, "Namespace", ns);
    }
    for (key, field) in [("Labels", "labels"), ("Annotations", "annotations")] {
        let map: BTreeMap<String, String> = m[field]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.as_str() != "kubectl.kubernetes.io/last-applied-configuration")
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect();
        if map.is_empty() {
            line(&mut out, key, "<none>");
        }
        for (i, (k, v)) in map.iter().enumerate() {
            line(&mut out, if i == 0 { key } else { "" }, &format!("{k}={v}"));
        }
    }
    if let Some(t) = m["creationTimestamp"].as_str() {
        line(&mut out, "Created", t);
    }
    for (key, value) in object.as_object().into_iter().flatten() {
        if matches!(key.as_str(), "metadata" | "apiVersion" | "kind") {
            continue;
        }
        tree(&mut out, &title(key), value, 0);
    }
    out.push_str("Events:");
    if events.is_empty() {
        out.push_str("       <none>\n");
        return out;
    }
    out.push('\n');
    for line in events_table(events, now()).lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// When an event last happened: lastTimestamp, else eventTime (events.k8s.io writers).
fn last_seen(e: &Value) -> Option<&str> {
    e["lastTimestamp"].as_str().or(e["eventTime"].as_str())
}

/// Events as `kubectl events` lists them: LAST SEEN (an age, with `(xN)` when repeated),
/// TYPE, REASON, FROM, MESSAGE, in aligned columns; `now` in Unix seconds.
pub fn events_table(events: &[Value], now: i64) -> String {
    let mut rows = vec![[
        "LAST SEEN".to_string(),
        "TYPE".into(),
        "REASON".into(),
        "FROM".into(),
        "MESSAGE".into(),
    ]];
    for e in events {
        let count = e["count"].as_i64().unwrap_or(1);
        let mut seen = crate::kinds::table::age(last_seen(e), now);
        if count > 1 {
            seen.push_str(&format!(" (x{count})"));
        }
        let from = e["source"]["component"]
            .as_str()
            .or(e["reportingComponent"].as_str())
            .unwrap_or("");
        rows.push([
            seen,
            e["type"].as_str().unwrap_or("").into(),
            e["reason"].as_str().unwrap_or("").into(),
            from.into(),
            e["message"].as_str().unwrap_or("").trim_end().into(),
        ]);
    }
    columns(&rows)
}

/// Rows as aligned columns three spaces apart, as kubectl prints tables; the last column
/// is not padded (a message runs on).
pub fn columns<const N: usize>(rows: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N.saturating_sub(1))
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        for (cell, w) in r.iter().zip(&widths) {
            out.push_str(&format!("{cell:w$}   "));
        }
        if let Some(last) = r.last() {
            out.push_str(last);
        }
        out.push('\n');
    }
    out
}

/// `containerPort` → `Container Port`, `podIP` → `Pod IP`: a word starts at a capital after
/// a lower-case letter or digit.
fn title(key: &str) -> String {
    let mut out = String::new();
    let mut previous: Option<char> = None;
    for c in key.chars() {
        match previous {
            None => out.extend(c.to_uppercase()),
            Some(p) if c.is_uppercase() && (p.is_lowercase() || p.is_ascii_digit()) => {
                out.push(' ');
                out.push(c);
            }
            Some(_) => out.push(c),
        }
        previous = Some(c);
    }
    out
}

fn tree(out: &mut String, key: &str, value: &Value, depth: usize) {
    let pad = "  ".repeat(depth);
    match value {
        Value::Object(map) if map.is_empty() => out.push_str(&format!("{pad}{key}:  <none>\n")),
        Value::Object(map) => {
            out.push_str(&format!("{pad}{key}:\n"));
            for (k, v) in map {
                tree(out, &title(k), v, depth + 1);
            }
        }
        Value::Array(items) if items.is_empty() => out.push_str(&format!("{pad}{key}:  <none>\n")),
        Value::Array(items) => {
            out.push_str(&format!("{pad}{key}:\n"));
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::Object(_) | Value::Array(_) => {
                        // Each element headed by its name (containers), else its index.
                        let name = item["name"]
                            .as_str()
                            .map_or(format!("[{i}]"), str::to_string);
                        tree(out, &name, item, depth + 1);
                    }
                    v => out.push_str(&format!("{pad}  {}\n", scalar(v))),
                }
            }
        }
        v => out.push_str(&format!("{pad}{key}:  {}\n", scalar(v))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<none>".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "default", "uid": "u1",
                "labels": {"app": "web"},
                "creationTimestamp": "2026-12-07T10:00:00Z",
                "managedFields": [{"manager": "kubectl"}, {"manager": "kubelet"}]},
            "spec": {"nodeName": "kwb-control-plane",
                "containers": [{"name": "nginx", "image": "nginx",
                    "ports": [{"containerPort": 80}]}]},
            "status": {"phase": "Running", "podIP": "127.244.0.2"}})
    }

    #[test]
    fn selectors_of_workloads_and_services() {
        let deploy = json!({"kind": "Deployment", "spec": {"selector": {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["a", "b"]},
                {"key": "canary", "operator": "DoesNotExist"}]}}});
        assert_eq!(
            pod_selector(&deploy).as_deref(),
            Some("app=web,tier in (a,b),!canary")
        );
        let svc = json!({"kind": "Service", "spec": {"selector": {"app": "web"}}});
        assert_eq!(pod_selector(&svc).as_deref(), Some("app=web"));
        let headless = json!({"kind": "Service", "spec": {}});
        assert_eq!(pod_selector(&headless), None);
    }

    #[test]
    fn yaml_folds_managed_fields() {
        let text = yaml(&pod());
        assert!(text.contains("name: web-1"), "{text}");
        assert!(!text.contains("manager:"), "{text}");
        assert!(
            text.ends_with("# metadata.managedFields: 2 entries folded\n"),
            "{text}"
        );
    }

    #[test]
    fn describe_reads_like_kubectl_s_generic_describer() {
        let events = vec![json!({"type": "Normal", "reason": "Started", "count": 2,
            "lastTimestamp": "2026-12-07T10:00:01Z", "source": {"component": "kubelet"},
            "message": "Started container nginx"})];
        let text = describe(&pod(), &events);
        assert!(
            text.starts_with("Name:         web-1\nNamespace:    default\n"),
            "{text}"
        );
        assert!(text.contains("Labels:       app=web\n"), "{text}");
        let two = json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}});
        assert!(describe(&two, &[]).contains("Labels:       a=1\n              b=2\n"));
        assert!(text.contains("Annotations:  <none>\n"), "{text}");
        assert!(
            text.contains("Spec:\n  Containers:\n    nginx:\n"),
            "{text}"
        );
        assert!(
            text.contains("      Ports:\n        [0]:\n          Container Port:  80\n"),
            "{text}"
        );
        assert!(text.contains("  Pod IP:  127.244.0.2\n"), "{text}");
        assert!(text.contains("Events:\n  LAST SEEN"), "{text}");
        assert!(text.contains("Started container nginx\n"), "{text}");
        let at = time::OffsetDateTime::parse(
            "2026-12-07T10:00:31Z",
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
        .unix_timestamp();
        assert_eq!(
            events_table(&events, at),
            "LAST SEEN   TYPE     REASON    FROM      MESSAGE\n\
             30s (x2)    Normal   Started   kubelet   Started container nginx\n"
        );
        assert!(describe(&pod(), &[]).ends_with("Events:       <none>\n"));
        assert_eq!(title("containerPort"), "Container Port");
        assert_eq!(title("hostIPs"), "Host IPs");
    }
}
