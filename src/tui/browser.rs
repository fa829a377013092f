//! The resource browser's state: the `:` prompt (`:po`, `:deploy kube-system`, `:ns demo`,
//! `:nodes`), the resource and namespace shown, its live Table and the selected row. Pure:
//! what needs the cluster comes out as [`Want`]s for the event loop.

use crate::cluster::resources::{Catalog, Resource};
use crate::cluster::table::{Table, Update};

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
    },
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
    pub table: Table,
    pub selected: usize,
    pub generation: u64,
}

impl Default for Browser {
    fn default() -> Browser {
        Browser {
            catalog: None,
            input: None,
            pending: None,
            resource: None,
            namespace: Some("default".into()),
            table: Table::default(),
            selected: 0,
            generation: 0,
        }
    }
}

/// What a command did, for the bottom line.
pub type Said = Result<String, String>;

impl Browser {
    /// Runs a `:` command: `RESOURCE [NAMESPACE|all]`, or `ns NAME|all` to switch namespace.
    pub fn command(&mut self, text: &str) -> (Vec<Want>, Option<Said>) {
        let words: Vec<&str> = text.split_whitespace().collect();
        let Some(first) = words.first() else {
            return (vec![], None);
        };
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
        if let Some(ns) = words.get(1) {
            self.namespace = (*ns != "all").then(|| ns.to_string());
        }
        (self.watch(resource), None)
    }

    fn watch(&mut self, resource: Resource) -> Vec<Want> {
        self.generation += 1;
        self.table = Table::default();
        self.selected = 0;
        self.resource = Some(resource.clone());
        vec![Want::Watch {
            generation: self.generation,
            resource,
            namespace: self.namespace.clone(),
        }]
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
        self.selected = self.selected.min(self.table.rows().len().saturating_sub(1));
    }

    /// Tab: the first completion of the word being typed.
    pub fn complete(&mut self) {
        let (Some(input), Some(catalog)) = (self.input.as_mut(), &self.catalog) else {
            return;
        };
        if input.contains(' ') {
            return;
        }
        if let Some(first) = catalog.complete(input).into_iter().next() {
            *input = first;
        }
    }

    pub fn move_selection(&mut self, delta: i64) {
        let last = self.table.rows().len().saturating_sub(1);
        self.selected = self
            .selected
            .saturating_add_signed(delta as isize)
            .min(last);
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
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
    use serde_json::json;

    fn catalog() -> Catalog {
        let lists: Vec<APIResourceList> = serde_json::from_value(json!([
            {"groupVersion": "v1", "resources": [
                {"name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod",
                 "shortNames": ["po"], "verbs": ["list", "watch"]},
                {"name": "nodes", "singularName": "node", "namespaced": false, "kind": "Node",
                 "shortNames": ["no"], "verbs": ["list", "watch"]}]}
        ]))
        .unwrap();
        Catalog::new(&lists)
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
        let (wants, said) = b.command("widgets");
        assert!(wants.is_empty());
        assert_eq!(
            said,
            Some(Err(
                "the server doesn't have a resource type \"widgets\"".into()
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
        b.input = Some("p".into());
        b.complete();
        assert_eq!(b.input.as_deref(), Some("po"));
    }
}
