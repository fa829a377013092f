//! The resource browser's state: the `:` prompt (`:po`, `:deploy kube-system`, `:ns demo`,
//! `:nodes`), the resource and namespace shown, its live Table and the selected row. Pure:
//! what needs the cluster comes out as [`Want`]s for the event loop.

pub use super::detail::{Detail, DetailKind};
use crate::cluster::logs::LogOptions;
use crate::cluster::object::ObjectRef;
use crate::cluster::resources::{Catalog, Resource};
use crate::cluster::table::{Query, Row, Table, Update};

/// What the browser needs from the cluster.
#[derive(Debug, PartialEq, Eq)]
pub enum Want {
    /// Discovery, to resolve what was typed.
    Catalog,
    /// A watch of `resource` in `namespace` (None: all); `generation` tells its updates from
    /// those of watches it replaces.
    Watch {
        generation: u64,
        resource: Resource,
        namespace: Option<String>,
        query: Query,
    },
    /// The label selector of `object`'s pods, for the list of that generation (Enter on a
    /// workload or Service).
    PodSelector { generation: u64, object: ObjectRef },
    /// The kubeconfig's contexts, to list them.
    Contexts,
    /// Another context of the kubeconfig: the browser starts over on its cluster.
    Context(String),
    /// One object's YAML, describe, events or logs, for the detail of that generation.
    Detail {
        generation: u64,
        kind: DetailKind,
        object: ObjectRef,
        log: LogOptions,
    },
}

/// Whether the resource selects pods: Enter lists them, and its logs are theirs.
fn selects_pods(resource: &Resource) -> bool {
    matches!(
        (resource.group.as_str(), resource.plural.as_str()),
        (
            "apps",
            "deployments" | "replicasets" | "statefulsets" | "daemonsets"
        ) | ("batch", "jobs")
            | ("", "services" | "replicationcontrollers")
    )
}

fn is_pods(resource: &Resource) -> bool {
    resource.is("", &["pods"])
}

/// A list shown before Enter went to a related one; Esc comes back to it.
#[derive(Debug)]
struct Visited {
    resource: Resource,
    namespace: Option<String>,
    query: Query,
    filter: Option<String>,
    /// The row that was selected, found again by name when the list is back.
    selected: Option<(String, String)>,
}

#[derive(Debug)]
pub struct Browser {
    pub catalog: Option<Catalog>,
    /// Text typed after `:`.
    pub input: Option<String>,
    /// A command typed before discovery answered.
    pending: Option<String>,
    pub resource: Option<Resource>,
    /// None: all namespaces.
    pub namespace: Option<String>,
    /// `-l`, and the field selector of a node's pods.
    pub query: Query,
    pub table: Table,
    pub selected: usize,
    pub generation: u64,
    /// Open over the list; Esc goes back to it.
    pub detail: Option<Detail>,
    detail_generation: u64,
    /// `/`: only rows matching it are shown.
    pub filter: Option<Filter>,
    /// `o`/`O`: the rows in a column's order.
    pub sort: Option<Sort>,
    /// The table's row indices in `sort`'s order, made again when `sorted` is false.
    order: Vec<usize>,
    sorted: bool,
    /// `:` commands run, oldest first; up/down in the prompt walk them.
    history: Vec<String>,
    history_at: Option<usize>,
    /// Tab pressed on this prefix, showing its n-th completion.
    completing: Option<(String, usize)>,
    /// The lists Enter came from, the latest last.
    visited: Vec<Visited>,
    /// A row to select again once the list has loaded (back from a related list).
    reselect: Option<(String, String)>,
}

/// Rows ordered by a column of the table (numbers and ages by value, the rest as text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    /// An index into the table's columns.
    pub column: usize,
    pub descending: bool,
}

/// A cell's value for ordering: a number, or an age as kubectl prints it (`3d4h`, `45s`).
fn magnitude(cell: &str) -> Option<f64> {
    if let Ok(n) = cell.parse::<f64>() {
        return Some(n);
    }
    let mut total = 0.0;
    let mut digits = String::new();
    for c in cell.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            'd' => 86_400.0,
            'y' => 31_536_000.0,
            _ => return None,
        };
        total += digits.parse::<f64>().ok()? * unit;
        digits.clear();
    }
    digits.is_empty().then_some(total)
}

fn compare_cells(a: &str, b: &str) -> std::cmp::Ordering {
    match (magnitude(a), magnitude(b)) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    }
}

/// A row filter: a case-insensitive regex over the row's namespace and cells, or the plain
/// text when it is not a valid regex.
#[derive(Debug)]
pub struct Filter {
    pub text: String,
    regex: Option<regex::Regex>,
}

impl Filter {
    pub fn new(text: &str) -> Filter {
        Filter {
            text: text.to_string(),
            regex: regex::RegexBuilder::new(text)
                .case_insensitive(true)
                .build()
                .ok(),
        }
    }

    fn matches(&self, row: &Row) -> bool {
        let fields = std::iter::once(&row.namespace).chain(&row.cells);
        match &self.regex {
            Some(re) => fields.into_iter().any(|c| re.is_match(c)),
            None => {
                let needle = self.text.to_lowercase();
                fields
                    .into_iter()
                    .any(|c| c.to_lowercase().contains(&needle))
            }
        }
    }
}

impl Default for Browser {
    fn default() -> Browser {
        Browser {
            catalog: None,
            input: None,
            pending: None,
            resource: None,
            namespace: Some("default".into()),
            query: Query::default(),
            table: Table::default(),
            selected: 0,
            generation: 0,
            detail: None,
            detail_generation: 0,
            filter: None,
            sort: None,
            order: Vec::new(),
            sorted: false,
            history: Vec::new(),
            history_at: None,
            completing: None,
            visited: Vec::new(),
            reselect: None,
        }
    }
}

/// What a command did, for the bottom line.
pub type Said = Result<String, String>;

/// What c, p and t change in a log view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogChange {
    NextContainer,
    Previous,
    Timestamps,
}

impl Browser {
    /// Runs a `:` command: `RESOURCE [NAMESPACE|all] [-l SELECTOR]`, `ns NAME|all` to
    /// switch namespace, `ctx [NAME]` to list contexts or switch to one.
    pub fn command(&mut self, text: &str) -> (Vec<Want>, Option<Said>) {
        let words: Vec<&str> = text.split_whitespace().collect();
        let Some(first) = words.first() else {
            return (vec![], None);
        };
        if matches!(*first, "ctx" | "context" | "contexts") {
            return match words.get(1) {
                None => (vec![Want::Contexts], None),
                Some(name) => (
                    vec![Want::Context(name.to_string())],
                    Some(Ok(format!("switching to context {name}…"))),
                ),
            };
        }
        if matches!(*first, "ns" | "namespace") && words.len() == 2 {
            self.namespace = (words[1] != "all").then(|| words[1].to_string());
            let said = format!("namespace {}", self.namespace_label());
            return match self.resource.clone() {
                Some(r) => (self.watch(r), Some(Ok(said))),
                None => (vec![], Some(Ok(said))),
            };
        }
        let Some(catalog) = &self.catalog else {
            self.pending = Some(text.to_string());
            return (
                vec![Want::Catalog],
                Some(Ok("asking the cluster what it serves…".into())),
            );
        };
        let Some(resource) = catalog.resolve(first).cloned() else {
            return (
                vec![],
                Some(Err(format!(
                    "the server doesn't have a resource type \"{first}\""
                ))),
            );
        };
        let mut query = Query::default();
        let mut rest = words[1..].iter();
        while let Some(word) = rest.next() {
            match *word {
                "-l" | "--selector" => query.labels = rest.next().map(|s| s.to_string()),
                "--field-selector" => query.fields = rest.next().map(|s| s.to_string()),
                "-A" | "all" => self.namespace = None,
                ns => self.namespace = Some(ns.to_string()),
            }
        }
        self.query = query;
        (self.watch(resource), None)
    }

    /// Enter on a row: a node's pods, a Deployment's ReplicaSets, the pods a workload or
    /// Service selects (its selector fetched first); anything else is described. Esc comes
    /// back to this list.
    pub fn related(&mut self) -> (Vec<Want>, Option<Said>) {
        let Some((object, _)) = self.selected_object() else {
            return (vec![], Some(Err("no row selected".into())));
        };
        if object.resource.is("", &["nodes"]) {
            self.remember();
            let text = format!("pods all --field-selector spec.nodeName={}", object.name);
            return self.command(&text);
        }
        if !selects_pods(&object.resource) {
            return self.open(DetailKind::Describe);
        }
        let want = Want::PodSelector {
            generation: self.generation,
            object,
        };
        (vec![want], None)
    }

    /// The selected row's object and cells.
    pub fn selected_object(&mut self) -> Option<(ObjectRef, Vec<String>)> {
        self.prepare();
        let resource = self.resource.clone()?;
        let row = self.rows().nth(self.selected)?;
        Some((
            ObjectRef {
                resource,
                namespace: row.namespace.clone(),
                name: row.name.clone(),
            },
            row.cells.clone(),
        ))
    }

    /// Keeps the list shown, for Esc to come back to.
    fn remember(&mut self) {
        let Some(resource) = self.resource.clone() else {
            return;
        };
        let selected = self
            .rows()
            .nth(self.selected)
            .map(|r| (r.namespace.clone(), r.name.clone()));
        self.visited.push(Visited {
            resource,
            namespace: self.namespace.clone(),
            query: self.query.clone(),
            filter: self.filter.as_ref().map(|f| f.text.clone()),
            selected,
        });
    }

    /// The list before the one Enter led to, its row selected again.
    fn go_back(&mut self) -> Option<Vec<Want>> {
        let v = self.visited.pop()?;
        self.namespace = v.namespace;
        self.query = v.query;
        let wants = self.watch(v.resource);
        self.filter = v.filter.map(|f| Filter::new(&f));
        self.reselect = v.selected;
        Some(wants)
    }

    /// The selector of the object Enter was pressed on: its pods, in its namespace.
    pub fn selected_pods(
        &mut self,
        generation: u64,
        namespace: &str,
        selector: Result<Option<String>, String>,
    ) -> (Vec<Want>, Option<Said>) {
        if generation != self.generation {
            return (vec![], None);
        }
        // A Deployment's ReplicaSets carry its selector's labels (and their pod-template-hash).
        let deployment = self
            .resource
            .as_ref()
            .is_some_and(|r| r.is("apps", &["deployments"]));
        let target = if deployment { "replicasets" } else { "pods" };
        match selector {
            Ok(Some(selector)) => {
                self.remember();
                self.command(&format!("{target} {namespace} -l {selector}"))
            }
            Ok(None) => (vec![], Some(Err("it selects no pods".into()))),
            Err(e) => (vec![], Some(Err(e))),
        }
    }

    fn watch(&mut self, resource: Resource) -> Vec<Want> {
        self.detail = None;
        self.filter = None;
        self.reselect = None;
        // Another resource has other columns.
        self.sort = None;
        self.generation += 1;
        self.table = Table::default();
        self.selected = 0;
        self.resource = Some(resource.clone());
        vec![Want::Watch {
            generation: self.generation,
            resource,
            namespace: self.namespace.clone(),
            query: self.query.clone(),
        }]
    }

    /// Another context is in use: what the old cluster served is forgotten, and the same
    /// resource is shown in the new context's namespace (else default).
    pub fn switched(&mut self, namespace: Option<String>) -> (Vec<Want>, Option<Said>) {
        let resource = self
            .resource
            .as_ref()
            .map_or("pods".to_string(), |r| r.qualified());
        self.catalog = None;
        self.visited.clear();
        self.query = Query::default();
        self.namespace = Some(namespace.unwrap_or_else(|| "default".into()));
        self.command(&resource)
    }

    /// Discovery answered: a command waiting for it runs now.
    pub fn catalog(&mut self, catalog: Catalog) -> (Vec<Want>, Option<Said>) {
        self.catalog = Some(catalog);
        match self.pending.take() {
            Some(text) => self.command(&text),
            None => (vec![], None),
        }
    }

    /// An update of the watch `generation`; those of replaced watches are dropped.
    pub fn update(&mut self, generation: u64, update: Update) {
        if generation != self.generation {
            return;
        }
        self.table.apply(update);
        self.sorted = false;
        if self.table.loaded
            && let Some((namespace, name)) = self.reselect.take()
        {
            self.prepare();
            let at = self
                .rows()
                .position(|r| r.namespace == namespace && r.name == name);
            self.selected = at.unwrap_or(0);
        }
        self.selected = self.selected.min(self.row_count().saturating_sub(1));
    }

    /// Orders the rows by the sort column if they changed since; called before they are
    /// shown or picked, so a burst of updates costs one sort.
    pub fn prepare(&mut self) {
        let Some(sort) = self.sort.filter(|_| !self.sorted) else {
            return;
        };
        let rows = self.table.rows();
        let cell = |i: usize| rows[i].cells.get(sort.column).map_or("", String::as_str);
        self.order = (0..rows.len()).collect();
        self.order.sort_by(|&a, &b| {
            let o = compare_cells(cell(a), cell(b));
            if sort.descending { o.reverse() } else { o }
        });
        self.sorted = true;
    }

    /// `o`: sort by the next column kubectl shows (after the last: back to name order).
    pub fn sort_next(&mut self) {
        let shown: Vec<usize> = (0..self.table.columns.len())
            .filter(|&i| self.table.columns[i].priority == 0)
            .collect();
        let next = match self.sort {
            None => shown.first().copied(),
            Some(s) => shown.iter().copied().find(|&i| i > s.column),
        };
        self.sort = next.map(|column| Sort {
            column,
            descending: false,
        });
        self.sorted = false;
        self.prepare();
    }

    /// `O`: the other way round.
    pub fn sort_reverse(&mut self) {
        if let Some(s) = self.sort.as_mut() {
            s.descending = !s.descending;
            self.sorted = false;
            self.prepare();
        }
    }

    /// The rows shown: the table's, in the sort order, through the filter.
    pub fn rows(&self) -> impl Iterator<Item = &Row> {
        let rows = self.table.rows();
        let ordered: Box<dyn Iterator<Item = &Row>> =
            if self.sort.is_some() && self.sorted && self.order.len() == rows.len() {
                Box::new(self.order.iter().filter_map(|&i| rows.get(i)))
            } else {
                Box::new(rows.iter())
            };
        ordered.filter(|r| self.filter.as_ref().is_none_or(|f| f.matches(r)))
    }

    pub fn row_count(&self) -> usize {
        match &self.filter {
            None => self.table.rows().len(),
            Some(_) => self.rows().count(),
        }
    }

    /// `/` then Enter: show only matching rows (empty text: all again); `-l SELECTOR` asks
    /// the server for the objects with those labels instead.
    pub fn set_filter(&mut self, text: &str) -> Vec<Want> {
        if let Some(selector) = text.trim().strip_prefix("-l ") {
            self.filter = None;
            self.query.labels = Some(selector.trim().to_string());
            return self.rewatch();
        }
        self.filter = (!text.is_empty()).then(|| Filter::new(text));
        self.selected = 0;
        Vec::new()
    }

    /// Esc in the list: the filter goes, else back to the list Enter came from, else the
    /// selectors go; None when there was nothing to undo.
    pub fn back(&mut self) -> Option<Vec<Want>> {
        if self.filter.is_some() {
            self.filter = None;
            self.selected = 0;
            return Some(Vec::new());
        }
        if let Some(wants) = self.go_back() {
            return Some(wants);
        }
        if self.query != Query::default() {
            self.query = Query::default();
            return Some(self.rewatch());
        }
        None
    }

    /// The same resource again, with the current namespace and selectors.
    fn rewatch(&mut self) -> Vec<Want> {
        match self.resource.clone() {
            Some(r) => {
                let sort = self.sort;
                let wants = self.watch(r);
                self.sort = sort;
                wants
            }
            None => Vec::new(),
        }
    }

    /// Opens the `:` prompt.
    pub fn prompt(&mut self) {
        self.input = Some(String::new());
        self.history_at = None;
        self.completing = None;
    }

    /// Closes the prompt; returns the command typed, remembered in the history. A list
    /// chosen with `:` starts a new trail: Esc no longer goes back past it.
    pub fn take_input(&mut self) -> String {
        let text = self.input.take().unwrap_or_default();
        self.visited.clear();
        if !text.trim().is_empty() && self.history.last() != Some(&text) {
            self.history.push(text.clone());
        }
        text
    }

    /// Up (`back`) or down through the commands run before.
    pub fn recall(&mut self, back: bool) {
        let Some(input) = self.input.as_mut() else {
            return;
        };
        let at = match (self.history_at, back) {
            (None, true) => self.history.len().checked_sub(1),
            (None, false) => None,
            (Some(i), true) => Some(i.saturating_sub(1)),
            (Some(i), false) => Some(i + 1).filter(|&n| n < self.history.len()),
        };
        self.history_at = at;
        *input = at.map(|i| self.history[i].clone()).unwrap_or_default();
    }

    /// The resource names the word being typed may complete to (for the bottom line).
    pub fn completions(&self) -> Vec<String> {
        let (Some(input), Some(catalog)) = (&self.input, &self.catalog) else {
            return Vec::new();
        };
        let prefix = match &self.completing {
            Some((p, _)) => p.as_str(),
            None => input.as_str(),
        };
        if prefix.is_empty() || prefix.contains(' ') {
            return Vec::new();
        }
        catalog.complete(prefix)
    }

    /// Tab: the next completion of the word being typed (again: the one after).
    pub fn complete(&mut self) {
        let Some(input) = self.input.clone() else {
            return;
        };
        let (prefix, n) = match self.completing.take() {
            Some((p, i)) => (p, i + 1),
            None => (input, 0),
        };
        let all = match &self.catalog {
            Some(c) if !prefix.is_empty() && !prefix.contains(' ') => c.complete(&prefix),
            _ => Vec::new(),
        };
        if all.is_empty() {
            return;
        }
        let n = n % all.len();
        self.input = Some(all[n].clone());
        self.completing = Some((prefix, n));
    }

    /// A key typed in the prompt other than tab: the completion starts over.
    pub fn edited(&mut self) {
        self.completing = None;
    }

    pub fn move_selection(&mut self, delta: i64) {
        self.prepare();
        let last = self.row_count().saturating_sub(1);
        self.selected = self
            .selected
            .saturating_add_signed(delta as isize)
            .min(last);
    }

    /// Opens `kind` for the selected row (logs: pods, and the workloads and Services that
    /// select pods).
    pub fn open(&mut self, kind: DetailKind) -> (Vec<Want>, Option<Said>) {
        let Some((object, _)) = self.selected_object() else {
            return (vec![], Some(Err("no row selected".into())));
        };
        let resource = &object.resource;
        if matches!(kind, DetailKind::History | DetailKind::RevisionDiff(_))
            && !resource.is("apps", super::changes::ROLLED_OUT)
        {
            return (
                vec![],
                Some(Err(format!(
                    "{}: select a Deployment, DaemonSet or StatefulSet",
                    kind.label()
                ))),
            );
        }
        if kind == DetailKind::Logs && !is_pods(resource) && !selects_pods(resource) {
            return (
                vec![],
                Some(Err(format!(
                    "logs: {} have none; select a pod, a workload or a Service",
                    resource.plural
                ))),
            );
        }
        (self.show_detail(kind, object, LogOptions::default()), None)
    }

    /// Opens (or opens again) a detail view, with a generation of its own.
    fn show_detail(&mut self, kind: DetailKind, object: ObjectRef, log: LogOptions) -> Vec<Want> {
        self.detail_generation += 1;
        let generation = self.detail_generation;
        let mut detail = Detail::new(kind, object.clone(), log.clone(), generation);
        if let Some(old) = self.detail.take().filter(|d| d.kind == kind) {
            // The same view asked again (other log options): it keeps how it is looked at.
            detail.containers = old.containers;
            detail.wrap = old.wrap;
            detail.search = old.search;
        }
        self.detail = Some(detail);
        vec![Want::Detail {
            generation,
            kind,
            object,
            log,
        }]
    }

    /// c, p, t in a log: another container (all, then each in turn), the previous instance
    /// or not, timestamps or not; the log is read again with them.
    pub fn change_log(&mut self, change: LogChange) -> (Vec<Want>, Option<Said>) {
        let Some(d) = self.detail.as_ref().filter(|d| d.kind == DetailKind::Logs) else {
            return (vec![], None);
        };
        let mut log = d.log.clone();
        match change {
            LogChange::NextContainer => {
                if d.containers.len() < 2 && log.container.is_none() {
                    return (vec![], Some(Err("there is only one container".into())));
                }
                let at = log
                    .container
                    .as_ref()
                    .and_then(|c| d.containers.iter().position(|x| x == c));
                log.container = match at {
                    None => d.containers.first().cloned(),
                    Some(i) => d.containers.get(i + 1).cloned(),
                };
            }
            LogChange::Previous => log.previous = !log.previous,
            LogChange::Timestamps => log.timestamps = !log.timestamps,
        }
        let said = log.label();
        let object = d.object.clone();
        (
            self.show_detail(DetailKind::Logs, object, log),
            Some(Ok(said)),
        )
    }

    /// The log view's streams opened: the containers to choose from, and a note.
    pub fn log_plan(&mut self, generation: u64, containers: Vec<String>, note: Option<String>) {
        if let Some(d) = self.detail.as_mut().filter(|d| d.generation == generation) {
            d.containers = containers;
            d.note = note;
        }
    }

    /// The whole text of the detail of `generation` (YAML, describe, events), or why there is
    /// none.
    pub fn detail_text(&mut self, generation: u64, text: Result<String, String>) {
        if let Some(d) = self.detail.as_mut().filter(|d| d.generation == generation) {
            d.set_text(text);
        }
    }

    /// A new line of a followed log.
    pub fn detail_line(&mut self, generation: u64, line: String) {
        if let Some(d) = self.detail.as_mut().filter(|d| d.generation == generation) {
            d.push_line(line);
        }
    }

    /// Scrolls the detail by `delta` lines (`rows` on screen).
    pub fn scroll_detail(&mut self, delta: i64, rows: usize) {
        if let Some(d) = self.detail.as_mut() {
            d.scroll_by(delta, rows);
        }
    }

    pub fn namespace_label(&self) -> String {
        self.namespace
            .clone()
            .unwrap_or_else(|| "all namespaces".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::table::{Column, Row};

    fn catalog() -> Catalog {
        crate::cluster::resources::test_catalog()
    }

    /// The current watch's list is `rows` (columns: none).
    fn load(b: &mut Browser, rows: Vec<Row>) {
        let generation = b.generation;
        b.update(
            generation,
            Update::Reset {
                columns: vec![],
                rows,
            },
        );
    }

    fn row(name: &str) -> Row {
        Row {
            namespace: "default".into(),
            name: name.into(),
            cells: vec![name.into()],
        }
    }

    #[test]
    fn a_command_before_discovery_waits_for_it_then_watches() {
        let mut b = Browser::default();
        let (wants, _) = b.command("po");
        assert_eq!(wants, [Want::Catalog]);
        let (wants, said) = b.catalog(catalog());
        assert_eq!(said, None);
        let [
            Want::Watch {
                generation,
                resource,
                namespace,
                ..
            },
        ] = &wants[..]
        else {
            panic!("{wants:?}");
        };
        assert_eq!((*generation, resource.plural.as_str()), (1, "pods"));
        assert_eq!(namespace.as_deref(), Some("default"));

        let (wants, _) = b.command("po kube-system");
        assert!(
            matches!(&wants[..], [Want::Watch { generation: 2, namespace: Some(ns), .. }] if ns == "kube-system")
        );
        let (wants, said) = b.command("ns all");
        assert!(matches!(
            &wants[..],
            [Want::Watch {
                generation: 3,
                namespace: None,
                ..
            }]
        ));
        assert_eq!(said, Some(Ok("namespace all namespaces".into())));
        let (wants, said) = b.command("gadgets");
        assert!(wants.is_empty());
        assert_eq!(
            said,
            Some(Err(
                "the server doesn't have a resource type \"gadgets\"".into()
            ))
        );
    }

    #[test]
    fn updates_of_replaced_watches_are_dropped_and_selection_stays_in_range() {
        let mut b = Browser::default();
        b.catalog(catalog());
        b.command("po");
        let reset = |rows: Vec<Row>| Update::Reset {
            columns: vec![Column {
                name: "Name".into(),
                priority: 0,
            }],
            rows,
        };
        b.update(1, reset(vec![row("a"), row("b"), row("c")]));
        b.move_selection(5);
        assert_eq!(b.selected, 2);
        b.update(
            1,
            Update::Delete {
                namespace: "default".into(),
                name: "c".into(),
            },
        );
        assert_eq!(b.selected, 1);
        b.command("no");
        b.update(1, Update::Upsert(row("stale")));
        assert!(b.table.rows().is_empty(), "from the pods watch: dropped");
        b.prompt();
        b.input = Some("p".into());
        b.complete();
        assert_eq!(b.input.as_deref(), Some("po"));
        b.complete();
        assert_eq!(b.input.as_deref(), Some("pods"), "tab again: the next one");
        b.complete();
        assert_eq!(b.input.as_deref(), Some("po"), "and round");
        assert_eq!(b.completions(), ["po", "pods"]);
        // The history: up recalls, down goes forward, past the newest is empty again.
        b.input = Some("po".into());
        b.take_input();
        b.prompt();
        b.input = Some("no".into());
        b.take_input();
        b.prompt();
        b.recall(true);
        assert_eq!(b.input.as_deref(), Some("no"));
        b.recall(true);
        assert_eq!(b.input.as_deref(), Some("po"));
        b.recall(false);
        assert_eq!(b.input.as_deref(), Some("no"));
        b.recall(false);
        assert_eq!(b.input.as_deref(), Some(""));
    }

    #[test]
    fn the_filter_matches_text_or_regex_and_the_selection_follows_it() {
        let mut b = Browser::default();
        b.catalog(catalog());
        b.command("po");
        load(&mut b, vec![row("web-1"), row("web-2"), row("db-1")]);
        b.move_selection(2);
        assert!(
            b.set_filter("WEB").is_empty(),
            "a row filter asks the server nothing"
        );
        assert_eq!(b.selected, 0);
        assert_eq!(b.row_count(), 2);
        b.set_filter("^db|-2$");
        let names: Vec<&str> = b.rows().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["db-1", "web-2"], "sorted by name");
        b.set_filter("web-(");
        assert_eq!(b.row_count(), 0, "not a regex: matched as text");
        b.set_filter("");
        assert_eq!(b.row_count(), 3);
    }

    #[test]
    fn sorting_orders_numbers_and_ages_by_value_and_follows_updates() {
        assert_eq!(magnitude("3d4h"), Some(273_600.0));
        assert_eq!(magnitude("45s"), Some(45.0));
        assert_eq!(magnitude("12"), Some(12.0));
        assert_eq!(magnitude("1/1"), None);
        let mut b = Browser::default();
        b.catalog(catalog());
        b.command("po");
        let aged = |name: &str, age: &str| Row {
            namespace: "default".into(),
            name: name.into(),
            cells: vec![name.into(), age.into()],
        };
        let column = |name: &str| Column {
            name: name.into(),
            priority: 0,
        };
        b.update(
            1,
            Update::Reset {
                columns: vec![column("Name"), column("Age")],
                rows: vec![aged("a", "2d"), aged("b", "90s"), aged("c", "5m")],
            },
        );
        let names = |b: &Browser| b.rows().map(|r| r.name.clone()).collect::<Vec<_>>();
        b.sort_next();
        assert_eq!(b.sort.unwrap().column, 0);
        b.sort_next();
        assert_eq!(names(&b), ["b", "c", "a"], "by age: 90s, 5m, 2d");
        b.sort_reverse();
        assert_eq!(names(&b), ["a", "c", "b"]);
        b.update(1, Update::Upsert(aged("d", "1y")));
        b.prepare();
        assert_eq!(names(&b)[0], "d");
        b.sort_next();
        assert_eq!(b.sort, None, "past the last column: name order");
        assert_eq!(names(&b), ["a", "b", "c", "d"]);
    }

    #[test]
    fn enter_goes_to_related_pods_and_label_selectors_ask_the_server() {
        let mut b = Browser::default();
        b.catalog(catalog());
        let one = |b: &mut Browser, namespace: &str, name: &str| {
            let row = Row {
                namespace: namespace.into(),
                name: name.into(),
                cells: vec![],
            };
            load(b, vec![row]);
        };
        b.command("nodes");
        one(&mut b, "", "kwb-worker");
        let (wants, _) = b.related();
        let [
            Want::Watch {
                resource,
                namespace: None,
                query,
                ..
            },
        ] = &wants[..]
        else {
            panic!("{wants:?}");
        };
        assert_eq!(resource.plural, "pods");
        assert_eq!(query.fields.as_deref(), Some("spec.nodeName=kwb-worker"));

        b.command("deploy default");
        one(&mut b, "default", "web");
        let (wants, _) = b.related();
        let [Want::PodSelector { generation, object }] = &wants[..] else {
            panic!("{wants:?}");
        };
        assert_eq!(object.label(), "deployments.apps default/web");
        let generation = *generation;
        let stale = b.selected_pods(generation - 1, "default", Ok(Some("app=web".into())));
        assert!(stale.0.is_empty());
        let (wants, _) = b.selected_pods(generation, "default", Ok(Some("app=web".into())));
        let [
            Want::Watch {
                query,
                namespace: Some(ns),
                resource,
                ..
            },
        ] = &wants[..]
        else {
            panic!("{wants:?}");
        };
        assert_eq!(
            (
                resource.plural.as_str(),
                ns.as_str(),
                query.labels.as_deref()
            ),
            ("replicasets", "default", Some("app=web"))
        );

        // Esc goes back through the lists Enter went to, the row selected there again.
        let wants = b.back().unwrap();
        assert!(
            matches!(&wants[..], [Want::Watch { resource, .. }] if resource.plural == "deployments")
        );
        load(&mut b, vec![row("api"), row("web")]);
        assert_eq!(b.selected, 1, "web again");
        let wants = b.back().unwrap();
        assert!(
            matches!(&wants[..], [Want::Watch { resource, query, .. }] if resource.plural == "nodes" && *query == Query::default())
        );
        assert!(b.back().is_none(), "the first list: nothing to go back to");

        // `/-l` re-watches with a label selector; Esc drops it.
        b.command("po");
        let wants = b.set_filter("-l tier=db");
        assert!(
            matches!(&wants[..], [Want::Watch { query, .. }] if query.labels.as_deref() == Some("tier=db"))
        );
        let wants = b.back().unwrap();
        assert!(matches!(&wants[..], [Want::Watch { query, .. }] if *query == Query::default()));
        assert!(b.back().is_none(), "nothing left to clear");
    }

    #[test]
    fn details_open_on_the_selected_row_and_drop_stale_answers() {
        let mut b = Browser::default();
        b.catalog(catalog());
        assert!(
            b.open(DetailKind::Yaml).1.unwrap().is_err(),
            "nothing listed yet"
        );
        b.command("no");
        load(
            &mut b,
            vec![Row {
                namespace: String::new(),
                name: "kwb-control-plane".into(),
                cells: vec![],
            }],
        );
        let (_, said) = b.open(DetailKind::Logs);
        assert_eq!(
            said,
            Some(Err(
                "logs: nodes have none; select a pod, a workload or a Service".into()
            ))
        );
        let (wants, _) = b.open(DetailKind::Yaml);
        let [
            Want::Detail {
                generation, object, ..
            },
        ] = &wants[..]
        else {
            panic!("{wants:?}");
        };
        assert_eq!(object.label(), "nodes kwb-control-plane");
        b.detail_text(generation - 1, Ok("stale".into()));
        assert!(b.detail.as_ref().unwrap().lines.is_empty());
        b.detail_text(*generation, Ok("a: 1\nb: 2".into()));
        assert_eq!(b.detail.as_ref().unwrap().lines, ["a: 1", "b: 2"]);
        assert_eq!(
            b.detail.as_ref().unwrap().title(),
            "yaml nodes kwb-control-plane"
        );
    }

    #[test]
    fn a_followed_log_stays_at_its_end_until_scrolled_up() {
        let mut b = Browser::default();
        b.catalog(catalog());
        b.command("po");
        load(&mut b, vec![row("web-1")]);
        let (wants, _) = b.open(DetailKind::Logs);
        let [Want::Detail { generation, .. }] = &wants[..] else {
            panic!("{wants:?}");
        };
        for i in 0..30 {
            b.detail_line(*generation, format!("line {i}"));
        }
        assert!(b.detail.as_ref().unwrap().follow);
        b.scroll_detail(-5, 10);
        let d = b.detail.as_ref().unwrap();
        assert_eq!((d.scroll, d.follow), (15, false));
        b.scroll_detail(100, 10);
        assert!(b.detail.as_ref().unwrap().follow, "the end follows again");
    }

    #[test]
    fn c_p_and_t_read_the_log_again_with_other_options() {
        let mut b = Browser::default();
        b.catalog(catalog());
        b.command("po");
        load(&mut b, vec![row("web-1")]);
        let (wants, _) = b.open(DetailKind::Logs);
        let [
            Want::Detail {
                generation, log, ..
            },
        ] = &wants[..]
        else {
            panic!("{wants:?}");
        };
        assert_eq!(*log, LogOptions::default());
        b.log_plan(*generation, vec!["nginx".into(), "proxy".into()], None);
        b.detail.as_mut().unwrap().wrap = true;
        let next = |b: &mut Browser, change| {
            let (wants, _) = b.change_log(change);
            match &wants[..] {
                [Want::Detail { log, .. }] => log.clone(),
                _ => panic!("{wants:?}"),
            }
        };
        let log = next(&mut b, LogChange::NextContainer);
        assert_eq!(log.container.as_deref(), Some("nginx"));
        let d = b.detail.as_ref().unwrap();
        assert!(
            d.wrap && d.containers.len() == 2,
            "the view keeps its looks"
        );
        assert_eq!(
            next(&mut b, LogChange::NextContainer).container.as_deref(),
            Some("proxy")
        );
        assert_eq!(next(&mut b, LogChange::NextContainer).container, None);
        assert!(next(&mut b, LogChange::Previous).previous);
        let log = next(&mut b, LogChange::Timestamps);
        assert!(log.previous && log.timestamps);
        assert!(
            b.detail
                .as_ref()
                .unwrap()
                .looks()
                .contains("all containers · previous · timestamps")
        );
    }

    #[test]
    fn ctx_lists_or_switches_and_a_switch_starts_over_on_the_new_cluster() {
        let mut b = Browser::default();
        b.catalog(catalog());
        b.command("deploy kube-system");
        assert_eq!(b.command("ctx").0, [Want::Contexts]);
        assert_eq!(b.command("ctx prod").0, [Want::Context("prod".into())]);
        let (wants, _) = b.switched(Some("team-a".into()));
        assert_eq!(wants, [Want::Catalog], "the new cluster's resources first");
        let (wants, _) = b.catalog(catalog());
        assert!(
            matches!(&wants[..], [Want::Watch { resource, namespace: Some(ns), .. }]
                if resource.plural == "deployments" && ns == "team-a"),
            "{wants:?}"
        );
        b.switched(None);
        assert_eq!(b.namespace.as_deref(), Some("default"));
    }
}
