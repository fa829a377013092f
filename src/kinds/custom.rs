//! The kinds CustomResourceDefinitions add: one [`Kind`] per served version of each
//! established CRD, found by [`super::find`] beside the built-in ones.
//!
//! The registry is process-wide because a `Kind` is `&'static` everywhere (routing, storage,
//! watch caches). A CRD's kinds are leaked once and interned: re-registering an unchanged CRD
//! (every CRD write re-reads them all) reuses them, so memory grows only with the distinct
//! names and versions a process ever serves.

use std::sync::{Arc, Mutex, RwLock};

use super::Kind;
use super::crd::{Crd, Scope, Version};

/// A custom kind and the definition it comes from.
#[derive(Clone)]
pub struct Served {
    pub kind: &'static Kind,
    pub crd: Arc<Crd>,
    /// Index of the served version in `crd.versions`.
    version: usize,
}

impl Served {
    pub fn version(&self) -> &Version {
        // `version` indexes a version of `crd` by construction.
        &self.crd.versions[self.version]
    }

    /// Whether objects read through this kind may carry another apiVersion (stored through a
    /// sibling version): they are then served with this one's, as conversion "None" does.
    pub fn has_siblings(&self) -> bool {
        self.crd.versions.iter().filter(|v| v.served).count() > 1
    }
}

static SERVED: RwLock<Vec<Served>> = RwLock::new(Vec::new());
static INTERNED: Mutex<Vec<&'static Kind>> = Mutex::new(Vec::new());

/// Serves exactly these CRDs from now on (the established ones; each parsed already).
pub fn replace(crds: Vec<Crd>) {
    let mut served = Vec::new();
    for crd in crds.into_iter().map(Arc::new) {
        for (i, v) in crd.versions.iter().enumerate().filter(|(_, v)| v.served) {
            served.push(Served {
                kind: intern(&crd, &v.name),
                crd: crd.clone(),
                version: i,
            });
        }
    }
    *SERVED.write().unwrap_or_else(|e| e.into_inner()) = served;
}

/// Every custom kind served now.
pub fn all() -> Vec<Served> {
    SERVED.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The custom kind at `group`/`version`/`resource`.
pub fn find(group: &str, version: &str, resource: &str) -> Option<&'static Kind> {
    let served = SERVED.read().unwrap_or_else(|e| e.into_inner());
    served
        .iter()
        .map(|s| s.kind)
        .find(|k| k.group == group && k.version == version && k.resource == resource)
}

/// What a custom kind is served from; None for a built-in kind.
pub fn of(kind: &Kind) -> Option<Served> {
    if super::is_builtin(kind) {
        return None;
    }
    let served = SERVED.read().unwrap_or_else(|e| e.into_inner());
    served.iter().find(|s| std::ptr::eq(s.kind, kind)).cloned()
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn leak_all(v: &[String]) -> &'static [&'static str] {
    Box::leak(
        v.iter()
            .map(|s| leak(s))
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    )
}

/// The `Kind` of one version of a CRD, the same `&'static` each time it is asked for.
fn intern(crd: &Crd, version: &str) -> &'static Kind {
    let n = &crd.names;
    let wanted = |k: &Kind| {
        k.group == crd.group
            && k.version == version
            && k.kind == n.kind
            && k.resource == n.plural
            && k.singular == n.singular
            && k.short_names.iter().eq(n.short_names.iter())
            && k.categories.iter().eq(n.categories.iter())
            && k.namespaced == (crd.scope == Scope::Namespaced)
    };
    let mut interned = INTERNED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(k) = interned.iter().find(|k| wanted(k)) {
        return k;
    }
    let kind: &'static Kind = Box::leak(Box::new(Kind {
        group: leak(&crd.group),
        version: leak(version),
        kind: leak(&n.kind),
        resource: leak(&n.plural),
        singular: leak(&n.singular),
        short_names: leak_all(&n.short_names),
        namespaced: crd.scope == Scope::Namespaced,
        categories: leak_all(&n.categories),
    }));
    interned.push(kind);
    kind
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub fn widgets(group: &str) -> Crd {
        Crd::parse(&json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("widgets.{group}")},
            "spec": {"group": group, "scope": "Namespaced",
                "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wg"]},
                "versions": [
                    {"name": "v1", "served": true, "storage": true,
                     "schema": {"openAPIV3Schema": {"type": "object"}}},
                    {"name": "v1beta1", "served": true, "storage": false,
                     "schema": {"openAPIV3Schema": {"type": "object"}}},
                ]}
        }))
        .unwrap()
    }

    #[test]
    fn served_versions_become_kinds_and_stay_the_same_kinds() {
        // One test owns the process-wide registry's group: tests run in parallel.
        let group = "custom-registry.kwb.test";
        replace(vec![widgets(group)]);
        let v1 = find(group, "v1", "widgets").expect("v1 is served");
        assert!(find(group, "v1beta1", "widgets").is_some());
        assert_eq!(v1.short_names, ["wg"]);
        let s = of(v1).unwrap();
        assert_eq!(s.version().name, "v1");
        assert!(s.has_siblings());
        replace(vec![widgets(group)]);
        assert!(std::ptr::eq(v1, find(group, "v1", "widgets").unwrap()));
        assert!(of(super::super::KINDS.first().unwrap()).is_none());
        replace(vec![]);
        assert!(find(group, "v1", "widgets").is_none());
    }
}
