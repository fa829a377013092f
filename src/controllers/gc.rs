//! The garbage collector's decisions, over every watched object's metadata: dependents of
//! owners that are gone are deleted (background propagation); an owner deleted with
//! `propagationPolicy: Foreground` has its blocking dependents deleted first, then loses its
//! `foregroundDeletion` finalizer; one deleted with `Orphan` has its dependents' references
//! to it removed, then loses its `orphan` finalizer. Owners are matched by uid, never by
//! name: a recreated owner of the same name does not own the old dependents.

use std::collections::HashMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

pub const FOREGROUND: &str = "foregroundDeletion";
pub const ORPHAN: &str = "orphan";

/// An object as the collector sees it: which kind (an index into the caller's table of
/// kinds) and its metadata.
#[derive(Clone, Debug)]
pub struct Item<'a> {
    pub kind: usize,
    pub namespaced: bool,
    pub meta: &'a ObjectMeta,
}

/// One write; objects named by (kind index, namespace, name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Delete a dependent whose owners are all gone, or whose owner is being deleted in the
    /// foreground (the dependent's own dependents go with it in the background).
    Delete {
        kind: usize,
        namespace: Option<String>,
        name: String,
        uid: String,
        why: String,
    },
    /// Remove the owner references with `owner_uid` from a dependent (orphaning it).
    Unown {
        kind: usize,
        namespace: Option<String>,
        name: String,
        owner_uid: String,
    },
    /// Remove a finalizer from an owner whose dependents are dealt with.
    Finalize {
        kind: usize,
        namespace: Option<String>,
        name: String,
        finalizer: &'static str,
        remaining: Vec<String>,
    },
}

fn uid(m: &ObjectMeta) -> &str {
    m.uid.as_deref().unwrap_or("")
}

fn has_finalizer(m: &ObjectMeta, f: &str) -> bool {
    m.finalizers.iter().flatten().any(|x| x == f)
}

/// What to write now for these objects (all of them, of every kind watched). `watched` says
/// whether an owner reference names a kind among them: an owner of a kind not watched is
/// taken to exist, since its absence cannot be seen.
pub fn plan(items: &[Item<'_>], watched: impl Fn(&OwnerReference) -> bool) -> Vec<Action> {
    let by_uid: HashMap<&str, &Item<'_>> = items.iter().map(|i| (uid(i.meta), i)).collect();
    // Dependents of each owner uid.
    let mut dependents: HashMap<&str, Vec<&Item<'_>>> = HashMap::new();
    for i in items {
        for r in i.meta.owner_references.iter().flatten() {
            dependents.entry(r.uid.as_str()).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    let name = |i: &Item<'_>| i.meta.name.clone().unwrap_or_default();
    for i in items {
        let refs = i.meta.owner_references.as_deref().unwrap_or_default();
        if refs.is_empty() || i.meta.deletion_timestamp.is_some() {
            continue;
        }
        // An owner exists if an object with its uid exists where it could be seen: a
        // namespaced owner in the dependent's own namespace.
        let alive = |r: &OwnerReference| {
            !watched(r)
                || by_uid
                    .get(r.uid.as_str())
                    .is_some_and(|o| !o.namespaced || o.meta.namespace == i.meta.namespace)
        };
        if !refs.iter().any(alive) {
            let owners: Vec<String> = refs
                .iter()
                .map(|r| format!("{} {}", r.kind, r.name))
                .collect();
            out.push(Action::Delete {
                kind: i.kind,
                namespace: i.meta.namespace.clone(),
                name: name(i),
                uid: uid(i.meta).to_string(),
                why: format!("its owner {} is gone", owners.join(", ")),
            });
        }
    }
    for owner in items.iter().filter(|o| o.meta.deletion_timestamp.is_some()) {
        let deps = dependents.get(uid(owner.meta)).cloned().unwrap_or_default();
        let remaining = |f: &str| -> Vec<String> {
            owner
                .meta
                .finalizers
                .iter()
                .flatten()
                .filter(|x| *x != f)
                .cloned()
                .collect()
        };
        if has_finalizer(owner.meta, ORPHAN) {
            for d in &deps {
                out.push(Action::Unown {
                    kind: d.kind,
                    namespace: d.meta.namespace.clone(),
                    name: name(d),
                    owner_uid: uid(owner.meta).to_string(),
                });
            }
            if deps.is_empty() {
                out.push(Action::Finalize {
                    kind: owner.kind,
                    namespace: owner.meta.namespace.clone(),
                    name: name(owner),
                    finalizer: ORPHAN,
                    remaining: remaining(ORPHAN),
                });
            }
        } else if has_finalizer(owner.meta, FOREGROUND) {
            let blocking: Vec<&&Item<'_>> =
                deps.iter()
                    .filter(|d| {
                        d.meta.owner_references.iter().flatten().any(|r| {
                            r.uid == uid(owner.meta) && r.block_owner_deletion == Some(true)
                        })
                    })
                    .collect();
            for d in &blocking {
                if d.meta.deletion_timestamp.is_none() {
                    out.push(Action::Delete {
                        kind: d.kind,
                        namespace: d.meta.namespace.clone(),
                        name: name(d),
                        uid: uid(d.meta).to_string(),
                        why: format!(
                            "its owner {} is being deleted in the foreground",
                            name(owner)
                        ),
                    });
                }
            }
            if blocking.is_empty() {
                out.push(Action::Finalize {
                    kind: owner.kind,
                    namespace: owner.meta.namespace.clone(),
                    name: name(owner),
                    finalizer: FOREGROUND,
                    remaining: remaining(FOREGROUND),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(v: serde_json::Value) -> ObjectMeta {
        serde_json::from_value(v).unwrap()
    }

    fn owned(name: &str, uid: &str, owner: &str, owner_uid: &str) -> ObjectMeta {
        meta(json!({"name": name, "namespace": "ns", "uid": uid,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "X", "name": owner, "uid": owner_uid,
                                 "controller": true, "blockOwnerDeletion": true}]}))
    }

    #[test]
    fn orphans_go_one_generation_at_a_time() {
        // The deployment is gone: its ReplicaSet goes; the pod waits for the ReplicaSet.
        let rs = owned("web-1", "rs1", "web", "d1");
        let pod = owned("web-1-a", "p1", "web-1", "rs1");
        let items = [
            Item {
                kind: 1,
                namespaced: true,
                meta: &rs,
            },
            Item {
                kind: 2,
                namespaced: true,
                meta: &pod,
            },
        ];
        let actions = plan(&items, |_| true);
        assert_eq!(actions.len(), 1, "{actions:?}");
        assert!(matches!(&actions[0], Action::Delete { name, .. } if name == "web-1"));
        // Once the ReplicaSet is gone, the pod goes.
        let actions = plan(&items[1..], |_| true);
        assert!(matches!(&actions[0], Action::Delete { name, .. } if name == "web-1-a"));
    }

    #[test]
    fn owners_are_matched_by_uid_and_namespace() {
        let recreated = meta(json!({"name": "web", "namespace": "ns", "uid": "d2"}));
        let rs = owned("web-1", "rs1", "web", "d1");
        let items = [
            Item {
                kind: 0,
                namespaced: true,
                meta: &recreated,
            },
            Item {
                kind: 1,
                namespaced: true,
                meta: &rs,
            },
        ];
        assert_eq!(
            plan(&items, |_| true).len(),
            1,
            "same name, new uid: not the owner"
        );
        let elsewhere = meta(json!({"name": "web", "namespace": "other", "uid": "d1"}));
        let items = [
            Item {
                kind: 0,
                namespaced: true,
                meta: &elsewhere,
            },
            Item {
                kind: 1,
                namespaced: true,
                meta: &rs,
            },
        ];
        assert_eq!(
            plan(&items, |_| true).len(),
            1,
            "an owner in another namespace does not count"
        );
        let live = meta(json!({"name": "web", "namespace": "ns", "uid": "d1"}));
        let items = [
            Item {
                kind: 0,
                namespaced: true,
                meta: &live,
            },
            Item {
                kind: 1,
                namespaced: true,
                meta: &rs,
            },
        ];
        assert!(plan(&items, |_| true).is_empty());
        let items = [Item {
            kind: 1,
            namespaced: true,
            meta: &rs,
        }];
        assert!(
            plan(&items, |_| false).is_empty(),
            "an owner of a kind not watched is never presumed gone"
        );
    }

    #[test]
    fn foreground_deletes_dependents_first_and_orphan_unowns_them() {
        let d = meta(json!({"name": "web", "namespace": "ns", "uid": "d1",
            "deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": ["foregroundDeletion", "other"]}));
        let rs = owned("web-1", "rs1", "web", "d1");
        let items = [
            Item {
                kind: 0,
                namespaced: true,
                meta: &d,
            },
            Item {
                kind: 1,
                namespaced: true,
                meta: &rs,
            },
        ];
        let actions = plan(&items, |_| true);
        assert_eq!(actions.len(), 1);
        assert!(matches!(&actions[0], Action::Delete { name, .. } if name == "web-1"));
        let actions = plan(&items[..1], |_| true);
        assert_eq!(
            actions,
            [Action::Finalize {
                kind: 0,
                namespace: Some("ns".into()),
                name: "web".into(),
                finalizer: FOREGROUND,
                remaining: vec!["other".into()],
            }]
        );
        let o = meta(json!({"name": "web", "namespace": "ns", "uid": "d1",
            "deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": ["orphan"]}));
        let items = [
            Item {
                kind: 0,
                namespaced: true,
                meta: &o,
            },
            Item {
                kind: 1,
                namespaced: true,
                meta: &rs,
            },
        ];
        let actions = plan(&items, |_| true);
        assert!(
            matches!(&actions[0], Action::Unown { name, owner_uid, .. } if name == "web-1" && owner_uid == "d1")
        );
        assert!(matches!(
            &plan(&items[..1], |_| true)[0],
            Action::Finalize {
                finalizer: ORPHAN,
                ..
            }
        ));
    }
}
