//! What the editor sends: the YAML split into documents (syntax errors at their line and
//! column, before anything is sent), each document turned into one request — an update
//! carrying the resourceVersion it was opened at, a server-side apply with field manager
//! `kwb`, or the editor's own change as a merge patch onto the newest version — and those
//! requests tried with a server dry run (for the diff shown before sending) or sent.

use http::Request;
use http_body_util::BodyExt;
use serde_json::{Map, Value};

use super::object::ObjectRef;
use super::resources::Catalog;

/// The field manager of every write from the editor, as managedFields records it.
pub const FIELD_MANAGER: &str = "kwb";

/// One YAML document of the editor's text.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// Its first line in the editor (0-based).
    pub first_line: usize,
    pub text: String,
    pub value: Value,
}

/// A mistake at a place in the editor's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    /// 0-based line and column.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Mark {
    /// `line 7, column 12: …`, counted from 1 as editors and the YAML parser count.
    pub fn say(&self) -> String {
        format!(
            "line {}, column {}: {}",
            self.line + 1,
            self.column + 1,
            self.message
        )
    }
}

/// Splits the text at `---` lines and parses each document; empty documents are skipped.
pub fn documents(text: &str) -> Result<Vec<Document>, Mark> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut chunk = String::new();
    for (i, line) in text.lines().enumerate() {
        let separator = line == "---" || line.starts_with("--- ") || line == "...";
        if separator {
            parse_into(&mut docs, start, std::mem::take(&mut chunk))?;
            start = i + 1;
        } else {
            chunk.push_str(line);
            chunk.push('\n');
        }
    }
    parse_into(&mut docs, start, chunk)?;
    Ok(docs)
}

fn parse_into(docs: &mut Vec<Document>, first_line: usize, text: String) -> Result<(), Mark> {
    let value: Value = serde_saphyr::from_str(&text).map_err(|e| {
        let (line, column) = e
            .location()
            .map_or((0, 0), |l| (l.line().max(1) - 1, l.column().max(1) - 1));
        let message = e.without_snippet().to_string();
        // The parser's message repeats the place; the mark carries it already.
        let mut message = message.lines().next().unwrap_or("").to_string();
        if let Some(at) = message.rfind(" at line ") {
            message.truncate(at);
        }
        Mark {
            line: first_line + line as usize,
            column: column as usize,
            message,
        }
    })?;
    if value.is_null() {
        return Ok(());
    }
    let at_start = |message: &str| Mark {
        line: first_line,
        column: 0,
        message: message.to_string(),
    };
    if !value.is_object() {
        return Err(at_start(
            "a document must be a mapping with apiVersion, kind and metadata.name",
        ));
    }
    for (field, what) in [
        ("apiVersion", "apiVersion (e.g. apps/v1)"),
        ("kind", "kind (e.g. Deployment)"),
    ] {
        if !value[field].is_string() {
            return Err(at_start(&format!("this document has no {what}")));
        }
    }
    if !value["metadata"]["name"].is_string() {
        let line =
            super::yamlpath::line_of(&text, "metadata").map_or(first_line, |l| first_line + l);
        return Err(Mark {
            line,
            column: 0,
            message: match &value["metadata"]["name"] {
                Value::Null => "this document has no metadata.name".into(),
                // `name: no` is a boolean to YAML; the server wants a string.
                other => format!("metadata.name must be a string: quote it (\"{other}\")"),
            },
        });
    }
    docs.push(Document {
        first_line,
        text,
        value,
    });
    Ok(())
}

/// How a document reaches the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Way {
    /// PUT of the whole object, its resourceVersion a precondition (as `kubectl edit`).
    Update,
    /// Server-side apply; `force` takes over fields other managers own.
    Apply { force: bool },
    /// The editor's change (the body: a JSON merge patch) onto whatever version the server
    /// has now.
    Reapply,
}

/// One document as a request to the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub object: ObjectRef,
    pub way: Way,
    /// The document, or the merge patch for [`Way::Reapply`].
    pub body: Value,
    /// The document's first line in the editor, for marks.
    pub first_line: usize,
    pub text: String,
}

impl Planned {
    /// A document sent `way`: its resource from the catalog, its namespace its own or
    /// `namespace` (the browser's) when it names none.
    pub fn new(
        doc: &Document,
        catalog: &Catalog,
        namespace: &str,
        way: Way,
    ) -> Result<Planned, Mark> {
        let value = &doc.value;
        let (api_version, kind) = (
            value["apiVersion"].as_str().unwrap_or(""),
            value["kind"].as_str().unwrap_or(""),
        );
        let resource = catalog.by_kind(api_version, kind).ok_or_else(|| Mark {
            line: doc.first_line + super::yamlpath::line_of(&doc.text, "kind").unwrap_or(0),
            column: 0,
            message: format!("the cluster serves no kind {kind:?} in {api_version:?}"),
        })?;
        let namespace = if resource.namespaced {
            value["metadata"]["namespace"]
                .as_str()
                .unwrap_or(namespace)
                .to_string()
        } else {
            String::new()
        };
        Ok(Planned {
            object: ObjectRef {
                resource,
                namespace,
                name: value["metadata"]["name"].as_str().unwrap_or("").to_string(),
            },
            way,
            body: value.clone(),
            first_line: doc.first_line,
            text: doc.text.clone(),
        })
    }

    /// The request, as a dry run or for real.
    fn request(&self, dry_run: bool) -> Result<Request<Vec<u8>>, String> {
        let mut query = format!("fieldManager={FIELD_MANAGER}");
        if dry_run {
            query.push_str("&dryRun=All");
        }
        let (method, content_type) = match &self.way {
            Way::Update => ("PUT", "application/json"),
            Way::Apply { force } => {
                if *force {
                    query.push_str("&force=true");
                }
                ("PATCH", "application/apply-patch+yaml")
            }
            Way::Reapply => ("PATCH", "application/merge-patch+json"),
        };
        Request::builder()
            .method(method)
            .uri(format!("{}?{query}", self.object.path()))
            .header(http::header::CONTENT_TYPE, content_type)
            .body(self.body.to_string().into_bytes())
            .map_err(|e| e.to_string())
    }

    /// As the action log shows it: `PUT /apis/apps/v1/namespaces/default/deployments/web`.
    pub fn describe(&self) -> String {
        let method = match &self.way {
            Way::Update => "PUT",
            Way::Apply { force: true } => "PATCH (apply, force)",
            Way::Apply { force: false } => "PATCH (apply)",
            Way::Reapply => "PATCH (merge)",
        };
        format!(
            "{method} {}?fieldManager={FIELD_MANAGER}",
            self.object.path()
        )
    }
}

/// Why the server refused a document: its Status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub code: u16,
    pub reason: String,
    pub message: String,
    /// `(field, message)` of a 422's details.causes.
    pub causes: Vec<(String, String)>,
}

impl Failure {
    fn of_status(code: u16, status: &Value) -> Failure {
        let causes = status["details"]["causes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["field"].as_str().unwrap_or("").to_string(),
                    c["message"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        Failure {
            code,
            reason: status["reason"].as_str().unwrap_or("").to_string(),
            message: status["message"]
                .as_str()
                .map_or_else(|| status.to_string(), str::to_string),
            causes,
        }
    }

    pub fn unanswered(message: String) -> Failure {
        Failure {
            code: 0,
            reason: String::new(),
            message,
            causes: Vec::new(),
        }
    }

    pub fn say(&self) -> String {
        if self.code == 0 {
            return self.message.clone();
        }
        format!("{} ({} {})", self.message, self.code, self.reason)
    }

    /// The causes at the lines of the fields they name in the document.
    pub fn marks(&self, planned: &Planned) -> Vec<Mark> {
        self.causes
            .iter()
            .map(|(field, message)| Mark {
                line: planned.first_line
                    + super::yamlpath::line_of(&planned.text, field).unwrap_or(0),
                column: 0,
                message: if field.is_empty() {
                    message.clone()
                } else {
                    format!("{field}: {message}")
                },
            })
            .collect()
    }
}

/// A document tried with a dry run: the object as it is now (None: it does not exist yet)
/// and what the server would make of it.
#[derive(Clone, Debug)]
pub struct Reviewed {
    pub planned: Planned,
    pub live: Option<Value>,
    pub outcome: Result<Value, Failure>,
}

/// Each document with a server dry run, next to the live object.
pub async fn dry_run(client: &kube::Client, planned: &[Planned]) -> Vec<Reviewed> {
    let mut out = Vec::new();
    for p in planned {
        let live = match get(client, &p.object).await {
            Ok(v) => Some(v),
            Err(f) if f.code == 404 => None,
            Err(f) => {
                out.push(Reviewed {
                    planned: p.clone(),
                    live: None,
                    outcome: Err(f),
                });
                continue;
            }
        };
        let outcome = call(client, p.request(true)).await;
        out.push(Reviewed {
            planned: p.clone(),
            live,
            outcome,
        });
    }
    out
}

/// Sends each document in order; one refused does not stop the rest (as `kubectl apply`).
pub async fn send(client: &kube::Client, planned: &[Planned]) -> Vec<Result<Value, Failure>> {
    let mut out = Vec::new();
    for p in planned {
        out.push(call(client, p.request(false)).await);
    }
    out
}

pub async fn get(client: &kube::Client, object: &ObjectRef) -> Result<Value, Failure> {
    call(
        client,
        Request::get(object.path())
            .body(Vec::new())
            .map_err(|e| e.to_string()),
    )
    .await
}

async fn call(
    client: &kube::Client,
    request: Result<Request<Vec<u8>>, String>,
) -> Result<Value, Failure> {
    let request = request.map_err(Failure::unanswered)?;
    let response = client
        .send(request.map(kube::client::Body::from))
        .await
        .map_err(|e| Failure::unanswered(e.to_string()))?;
    let code = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| Failure::unanswered(e.to_string()))?
        .to_bytes();
    let value: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    if code.is_success() {
        Ok(value)
    } else {
        Err(Failure::of_status(code.as_u16(), &value))
    }
}

/// The object as the editor shows it: what the server keeps to itself (managedFields,
/// status) left out.
pub fn editable(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(m) = object["metadata"].as_object_mut() {
        m.remove("managedFields");
    }
    if let Some(o) = object.as_object_mut() {
        o.remove("status");
    }
    object
}

/// The YAML of [`editable`].
pub fn editable_yaml(object: &Value) -> String {
    serde_saphyr::to_string(&editable(object)).unwrap_or_else(|e| format!("# {e}\n"))
}

/// The JSON merge patch (RFC 7386) that turns `from` into `to`: changed fields, removed ones
/// as null, lists whole.
pub fn merge_patch(from: &Value, to: &Value) -> Value {
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            let mut patch = Map::new();
            for (k, v) in b {
                match a.get(k) {
                    Some(old) if old == v => {}
                    Some(old) => {
                        patch.insert(k.clone(), merge_patch(old, v));
                    }
                    None => {
                        patch.insert(k.clone(), v.clone());
                    }
                }
            }
            for k in a.keys().filter(|k| !b.contains_key(*k)) {
                patch.insert(k.clone(), Value::Null);
            }
            Value::Object(patch)
        }
        _ => to.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_are_split_and_parsed_with_their_lines() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n";
        let docs = documents(text).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].first_line, 0);
        assert_eq!(docs[1].first_line, 7);
        assert_eq!(docs[1].value["metadata"]["name"], "b");
    }

    #[test]
    fn a_syntax_error_is_marked_at_its_line_and_column() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n   bad: [\n";
        let mark = documents(text).unwrap_err();
        assert!(mark.line >= 8, "{mark:?}");
        assert!(!mark.message.is_empty());
        assert!(mark.say().starts_with(&format!("line {}", mark.line + 1)));
        let tab = documents("kind: ConfigMap\nmetadata:\n\tname: x\n").unwrap_err();
        assert_eq!(tab.line, 2, "{tab:?}");
    }

    #[test]
    fn a_document_without_its_identity_is_refused_where_it_lacks_it() {
        let no_kind = documents("apiVersion: v1\nmetadata:\n  name: a\n").unwrap_err();
        assert!(no_kind.message.contains("kind"), "{no_kind:?}");
        let no_name = documents("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {}\n")
            .unwrap_err();
        assert_eq!(
            (no_name.line, no_name.message.as_str()),
            (3, "this document has no metadata.name")
        );
        assert!(documents("- a\n- b\n").is_err());
    }

    #[test]
    fn documents_become_requests_at_their_resources() {
        let catalog = super::super::resources::test_catalog();
        let docs = documents("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n---\napiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n").unwrap();
        let web = Planned::new(&docs[0], &catalog, "team", Way::Apply { force: false }).unwrap();
        assert_eq!(
            web.object.path(),
            "/apis/apps/v1/namespaces/team/deployments/web"
        );
        let request = web.request(true).unwrap();
        assert_eq!(request.method(), "PATCH");
        assert_eq!(request.uri().query(), Some("fieldManager=kwb&dryRun=All"));
        assert_eq!(
            request.headers()[http::header::CONTENT_TYPE],
            "application/apply-patch+yaml"
        );
        let node = Planned::new(&docs[1], &catalog, "team", Way::Update).unwrap();
        assert_eq!(node.object.path(), "/api/v1/nodes/n1");
        assert_eq!(node.request(false).unwrap().method(), "PUT");
        let unknown = documents("apiVersion: x/v1\nkind: Nope\nmetadata:\n  name: a\n").unwrap();
        let mark = Planned::new(&unknown[0], &catalog, "d", Way::Update).unwrap_err();
        assert_eq!(mark.line, 1);
    }

    #[test]
    fn causes_are_marked_on_the_lines_of_their_fields() {
        let catalog = super::super::resources::test_catalog();
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: -1\n";
        let docs = documents(&format!(
            "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n---\n{text}"
        ))
        .unwrap();
        let planned = Planned::new(&docs[1], &catalog, "d", Way::Update).unwrap();
        let failure = Failure::of_status(
            422,
            &json!({"reason": "Invalid", "message": "invalid", "details": {"causes": [
                {"field": "spec.replicas", "message": "must be greater than or equal to 0"}
            ]}}),
        );
        let marks = failure.marks(&planned);
        assert_eq!(marks[0].line, 10);
        assert!(marks[0].message.starts_with("spec.replicas: must be"));
    }

    #[test]
    fn the_merge_patch_carries_only_the_change() {
        let from = json!({"spec": {"replicas": 1, "template": {"image": "a"}}, "x": 1});
        let to = json!({"spec": {"replicas": 1, "template": {"image": "b"}}, "y": 2});
        assert_eq!(
            merge_patch(&from, &to),
            json!({"spec": {"template": {"image": "b"}}, "x": null, "y": 2})
        );
    }

    #[test]
    fn the_editor_leaves_out_what_the_server_keeps() {
        let o =
            json!({"metadata": {"name": "a", "managedFields": []}, "spec": {}, "status": {"x": 1}});
        assert_eq!(editable(&o), json!({"metadata": {"name": "a"}, "spec": {}}));
    }
}
