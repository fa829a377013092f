//! A resource's live list as the server's Table — the columns and cells `kubectl get` prints
//! (upstream's printers on a real cluster, `kinds::table` on the builtin one, a CRD's
//! additionalPrinterColumns) — kept current by a watch, never by polling.
//!
//! [`watch`] lists once, then watches from that list's resourceVersion, and sends [`Update`]s;
//! [`Table::apply`] folds them into rows kept sorted by namespace and name.

use std::time::Duration;

use futures::TryStreamExt;
use kube::core::WatchEvent;
use serde::Deserialize;
use serde_json::Value;

use super::resources::Resource;

/// Which objects of the resource: `-l` and `--field-selector` as kubectl passes them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    pub labels: Option<String>,
    pub fields: Option<String>,
}

impl Query {
    /// The query parameters, `extra` after the selectors.
    fn params(&self, extra: &[String]) -> String {
        let mut params = Vec::new();
        if let Some(l) = &self.labels {
            params.push(format!("labelSelector={}", encode(l)));
        }
        if let Some(f) = &self.fields {
            params.push(format!("fieldSelector={}", encode(f)));
        }
        params.extend_from_slice(extra);
        params.join("&")
    }

    /// `path` with these selectors and `extra` parameters.
    fn uri(&self, path: &str, extra: &[String]) -> String {
        match self.params(extra) {
            p if p.is_empty() => path.to_string(),
            p => format!("{path}?{p}"),
        }
    }

    /// ` -l app=web`, as the browser's title shows it.
    pub fn label(&self) -> String {
        let mut out = String::new();
        if let Some(l) = &self.labels {
            out.push_str(&format!(" -l {l}"));
        }
        if let Some(f) = &self.fields {
            out.push_str(&format!(" --field-selector {f}"));
        }
        out
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What kubectl asks for: a Table, or the plain list from a server that cannot make one.
const ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// 0: shown by `kubectl get`; more: only with `-o wide`.
    pub priority: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
    pub cells: Vec<String>,
}

impl Row {
    fn key(&self) -> (&str, &str) {
        (&self.namespace, &self.name)
    }
}

/// What the watch reports.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    /// A (re)list: everything there is now.
    Reset {
        columns: Vec<Column>,
        rows: Vec<Row>,
    },
    Upsert(Row),
    Delete {
        namespace: String,
        name: String,
    },
    /// The list or watch failed; it is retried.
    Error(String),
}

/// The rows of one resource, sorted by namespace and name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
    rows: Vec<Row>,
    /// The last error, until the next successful list.
    pub error: Option<String>,
    /// A first list has arrived.
    pub loaded: bool,
}

impl Table {
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    pub fn apply(&mut self, update: Update) {
        match update {
            Update::Reset { columns, mut rows } => {
                rows.sort_by(|a, b| a.key().cmp(&b.key()));
                self.columns = columns;
                self.rows = rows;
                self.error = None;
                self.loaded = true;
            }
            Update::Upsert(row) => match self.find(&row.namespace, &row.name) {
                Ok(i) => self.rows[i] = row,
                Err(i) => self.rows.insert(i, row),
            },
            Update::Delete { namespace, name } => {
                if let Ok(i) = self.find(&namespace, &name) {
                    self.rows.remove(i);
                }
            }
            Update::Error(e) => self.error = Some(e),
        }
    }

    fn find(&self, namespace: &str, name: &str) -> Result<usize, usize> {
        self.rows
            .binary_search_by(|r| r.key().cmp(&(namespace, name)))
    }
}

/// A cell as kubectl prints it.
fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<none>".into(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// A Table, a plain list, or one plain object, as the server sends them; serde skips every
/// other field (labels, managedFields…) without keeping it, so a list of 10k rows costs what
/// its cells do.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wire {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    metadata: WireMeta,
    #[serde(default)]
    column_definitions: Vec<WireColumn>,
    #[serde(default)]
    rows: Vec<WireRow>,
    #[serde(default)]
    items: Vec<WireObject>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireMeta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    resource_version: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct WireColumn {
    #[serde(default)]
    name: String,
    #[serde(default)]
    priority: i32,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct WireRow {
    #[serde(default)]
    cells: Vec<Value>,
    #[serde(default)]
    object: WireObject,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct WireObject {
    #[serde(default)]
    metadata: WireMeta,
}

impl Wire {
    /// The resourceVersion it carries (a list's, or a watch event's newest row object's).
    fn version(&self) -> Option<String> {
        let from_rows = self
            .rows
            .last()
            .map(|r| &r.object.metadata.resource_version);
        from_rows
            .filter(|v| !v.is_empty())
            .or(Some(&self.metadata.resource_version))
            .filter(|v| !v.is_empty())
            .cloned()
    }
}

/// Columns and rows of a Table; from a server without Tables, of a plain list or object:
/// names only.
pub fn parse(wire: Wire) -> (Vec<Column>, Vec<Row>) {
    let name_only = |m: WireMeta| Row {
        cells: vec![m.name.clone()],
        namespace: m.namespace,
        name: m.name,
    };
    if wire.kind != "Table" {
        let columns = vec![Column {
            name: "Name".into(),
            priority: 0,
        }];
        let rows = if wire.items.is_empty() && !wire.metadata.name.is_empty() {
            vec![name_only(wire.metadata)]
        } else {
            wire.items
                .into_iter()
                .map(|o| name_only(o.metadata))
                .collect()
        };
        return (columns, rows);
    }
    let columns = wire
        .column_definitions
        .into_iter()
        .map(|c| Column {
            name: c.name,
            priority: c.priority,
        })
        .collect();
    let rows = wire
        .rows
        .into_iter()
        .map(|r| Row {
            namespace: r.object.metadata.namespace,
            name: r.object.metadata.name,
            cells: r.cells.iter().map(cell).collect(),
        })
        .collect();
    (columns, rows)
}

fn request(uri: String) -> Result<http::Request<Vec<u8>>, String> {
    http::Request::get(uri)
        .header(http::header::ACCEPT, ACCEPT)
        .body(Vec::new())
        .map_err(|e| e.to_string())
}

/// Lists `resource` in `namespace` (None: all) and keeps watching it, sending what changes
/// to `send` until that returns false (nobody looks any more). Failures are sent as
/// [`Update::Error`] and retried with a growing pause; a watch that expired (410) relists.
pub async fn watch(
    client: kube::Client,
    resource: Resource,
    namespace: Option<String>,
    query: Query,
    send: impl Fn(Update) -> bool,
) {
    let path = resource.path(namespace.as_deref());
    let mut pause = Duration::from_millis(500);
    loop {
        let listed = match request(query.uri(&path, &[])) {
            Ok(req) => client.request::<Wire>(req).await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let version = match listed {
            Ok(list) => {
                let version = list.metadata.resource_version.clone();
                let (columns, rows) = parse(list);
                if !send(Update::Reset { columns, rows }) {
                    return;
                }
                pause = Duration::from_millis(500);
                version
            }
            Err(e) => {
                let what = format!("listing {}: {e}", resource.qualified());
                if !failed(&send, what, &mut pause).await {
                    return;
                }
                continue;
            }
        };
        match follow(&client, &path, &query, version, &send).await {
            Ok(Followed::Gone) => {}
            Ok(Followed::Closed) => return,
            Err(e) => {
                let what = format!("watching {}: {e}", resource.qualified());
                if !failed(&send, what, &mut pause).await {
                    return;
                }
            }
        }
    }
}

/// Reports a failure and waits before the next try, pausing twice as long each time up to
/// 30 s; false when nobody looks any more.
async fn failed(send: &impl Fn(Update) -> bool, what: String, pause: &mut Duration) -> bool {
    if !send(Update::Error(what)) {
        return false;
    }
    tokio::time::sleep(*pause).await;
    *pause = (*pause * 2).min(Duration::from_secs(30));
    true
}

enum Followed {
    /// The watch ended or expired: list again.
    Gone,
    /// Nobody looks any more.
    Closed,
}

/// Watches from `version`, re-watching from the newest version seen when the server ends the
/// stream (as it does after a timeout), until the version has expired.
async fn follow(
    client: &kube::Client,
    path: &str,
    query: &Query,
    mut version: String,
    send: &impl Fn(Update) -> bool,
) -> Result<Followed, String> {
    loop {
        let extra = ["watch=1".to_string(), format!("resourceVersion={version}")];
        let uri = query.uri(path, &extra);
        let events = client
            .request_events::<Wire>(request(uri)?)
            .await
            .map_err(|e| e.to_string())?;
        futures::pin_mut!(events);
        while let Some(event) = events.try_next().await.map_err(|e| e.to_string())? {
            let (object, deleted) = match event {
                WatchEvent::Added(o) | WatchEvent::Modified(o) => (o, false),
                WatchEvent::Deleted(o) => (o, true),
                WatchEvent::Bookmark(b) => {
                    version = b.metadata.resource_version;
                    continue;
                }
                WatchEvent::Error(status) if status.code == 410 => return Ok(Followed::Gone),
                WatchEvent::Error(status) => return Err(status.message.clone()),
            };
            if let Some(v) = object.version() {
                version = v;
            }
            let (_, rows) = parse(object);
            for row in rows {
                let update = if deleted {
                    Update::Delete {
                        namespace: row.namespace,
                        name: row.name,
                    }
                } else {
                    Update::Upsert(row)
                };
                if !send(update) {
                    return Ok(Followed::Closed);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wire(v: Value) -> Wire {
        serde_json::from_value(v).unwrap()
    }

    fn table(rows: Value) -> Value {
        json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": "7"},
            "columnDefinitions": [
                {"name": "Name", "type": "string", "priority": 0},
                {"name": "Ready", "type": "string", "priority": 0},
                {"name": "Restarts", "type": "integer", "priority": 0},
                {"name": "IP", "type": "string", "priority": 1}],
            "rows": rows})
    }

    fn row(ns: &str, name: &str, restarts: i64) -> Value {
        json!({"cells": [name, "1/1", restarts, null],
            "object": {"kind": "PartialObjectMetadata",
                       "metadata": {"name": name, "namespace": ns, "resourceVersion": "9"}}})
    }

    #[test]
    fn a_table_parses_into_columns_and_cells_as_kubectl_prints_them() {
        let (columns, rows) = parse(wire(table(json!([row("default", "web-1", 2)]))));
        assert_eq!(columns.len(), 4);
        assert_eq!((columns[3].name.as_str(), columns[3].priority), ("IP", 1));
        assert_eq!(rows[0].cells, ["web-1", "1/1", "2", "<none>"]);
        assert_eq!(
            (rows[0].namespace.as_str(), rows[0].name.as_str()),
            ("default", "web-1")
        );
        let plain = json!({"kind": "PodList", "items": [{"metadata": {"name": "a"}}]});
        let (columns, rows) = parse(wire(plain));
        assert_eq!(columns[0].name, "Name");
        assert_eq!(rows[0].cells, ["a"]);
        assert_eq!(
            wire(table(json!([row("d", "x", 0)]))).version().as_deref(),
            Some("9")
        );
        assert_eq!(wire(table(json!([]))).version().as_deref(), Some("7"));
        let one = json!({"kind": "Pod", "metadata": {"name": "p", "namespace": "n"}});
        let (_, rows) = parse(wire(one));
        assert_eq!(
            (rows[0].namespace.as_str(), rows[0].cells[0].as_str()),
            ("n", "p")
        );
    }

    #[test]
    fn selectors_become_encoded_query_parameters() {
        let q = Query {
            labels: Some("app=web,tier in (a,b)".into()),
            fields: Some("spec.nodeName=kwb-worker".into()),
        };
        assert_eq!(
            q.uri("/api/v1/pods", &["watch=1".into()]),
            "/api/v1/pods?labelSelector=app%3Dweb%2Ctier%20in%20%28a%2Cb%29&fieldSelector=spec.nodeName%3Dkwb-worker&watch=1"
        );
        assert_eq!(
            q.label(),
            " -l app=web,tier in (a,b) --field-selector spec.nodeName=kwb-worker"
        );
        assert_eq!(Query::default().uri("/api/v1/pods", &[]), "/api/v1/pods");
    }

    #[test]
    fn updates_keep_rows_sorted_and_current() {
        let mut t = Table::default();
        let (columns, rows) = parse(wire(table(json!([row("b", "z", 0), row("a", "y", 0)]))));
        t.apply(Update::Reset { columns, rows });
        let names = |t: &Table| t.rows().iter().map(|r| r.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&t), ["y", "z"]);
        let (_, new) = parse(wire(table(json!([row("a", "x", 0)]))));
        t.apply(Update::Upsert(new[0].clone()));
        assert_eq!(names(&t), ["x", "y", "z"]);
        let (_, changed) = parse(wire(table(json!([row("a", "y", 5)]))));
        t.apply(Update::Upsert(changed[0].clone()));
        assert_eq!(t.rows()[1].cells[2], "5");
        t.apply(Update::Delete {
            namespace: "b".into(),
            name: "z".into(),
        });
        assert_eq!(names(&t), ["x", "y"]);
        t.apply(Update::Error("boom".into()));
        assert_eq!(t.error.as_deref(), Some("boom"));
        assert_eq!(t.rows().len(), 2, "an error keeps what was shown");
    }
}
