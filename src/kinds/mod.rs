//! What kwb knows about Kubernetes kinds, shared by the builtin apiserver (discovery, storage
//! paths, Table columns for `kubectl get`) and, later, the TUI's browsers. Pure data and pure
//! functions: no I/O.

pub mod crd;
pub mod cron;
pub mod custom;
pub mod go;
pub mod labels;
pub mod merge;
pub mod table;

/// A served resource: how discovery names it and where it lives.
#[derive(Debug, PartialEq, Eq)]
pub struct Kind {
    /// "" for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// The plural resource name in URLs.
    pub resource: &'static str,
    pub singular: &'static str,
    pub short_names: &'static [&'static str],
    pub namespaced: bool,
    pub categories: &'static [&'static str],
}

impl Kind {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `configmaps` or `deployments.apps`, as in upstream error messages.
    pub fn qualified_resource(&self) -> String {
        if self.group.is_empty() {
            self.resource.to_string()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }
}

/// The verbs of a stored resource.
pub const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// Kinds that are questions to the server, answered and never stored (the *Review kinds):
/// only `create`.
pub fn is_review(k: &Kind) -> bool {
    k.kind.ends_with("Review")
}

/// The verbs a kind's resource supports.
pub fn verbs(k: &Kind) -> &'static [&'static str] {
    if is_review(k) { &["create"] } else { VERBS }
}

/// A subresource: `pods/log`, `deployments/scale`, …
#[derive(Debug, PartialEq, Eq)]
pub struct Subresource {
    pub name: &'static str,
    /// The kind it takes and returns; None: the parent's kind.
    pub kind: Option<(&'static str, &'static str, &'static str)>,
    pub verbs: &'static [&'static str],
}

const GET_UPDATE: &[&str] = &["get", "patch", "update"];

/// The subresources of a kind, as discovery lists them and the server serves them.
pub fn subresources(k: &Kind) -> Vec<Subresource> {
    let mut out = Vec::new();
    if has_status(k) {
        out.push(Subresource {
            name: "status",
            kind: None,
            verbs: GET_UPDATE,
        });
    }
    if has_scale(k) {
        out.push(Subresource {
            name: "scale",
            kind: Some(("autoscaling", "v1", "Scale")),
            verbs: GET_UPDATE,
        });
    }
    match k.kind {
        "Pod" => {
            out.push(Subresource {
                name: "binding",
                kind: Some(("", "v1", "Binding")),
                verbs: &["create"],
            });
            out.push(Subresource {
                name: "eviction",
                kind: Some(("policy", "v1", "Eviction")),
                verbs: &["create"],
            });
            out.push(Subresource {
                name: "log",
                kind: Some(("", "v1", "Pod")),
                verbs: &["get"],
            });
            // Streams through the node's kubelet (SPDY or WebSocket upgrades).
            for (name, options) in [
                ("exec", "PodExecOptions"),
                ("attach", "PodAttachOptions"),
                ("portforward", "PodPortForwardOptions"),
            ] {
                out.push(Subresource {
                    name,
                    kind: Some(("", "v1", options)),
                    verbs: &["create", "get"],
                });
            }
        }
        "ServiceAccount" => out.push(Subresource {
            name: "token",
            kind: Some(("authentication.k8s.io", "v1", "TokenRequest")),
            verbs: &["create"],
        }),
        "Namespace" => out.push(Subresource {
            name: "finalize",
            kind: None,
            verbs: &["update"],
        }),
        _ => {}
    }
    out
}

/// A subresource of a kind, by name.
pub fn subresource(k: &Kind, name: &str) -> Option<Subresource> {
    subresources(k).into_iter().find(|s| s.name == name)
}

/// Kinds whose status is written through the `status` subresource only.
pub fn has_status(k: &Kind) -> bool {
    matches!(
        k.kind,
        "Namespace"
            | "Pod"
            | "Service"
            | "Node"
            | "Deployment"
            | "ReplicaSet"
            | "StatefulSet"
            | "DaemonSet"
            | "Job"
            | "CronJob"
            | "PodDisruptionBudget"
            | "CustomResourceDefinition"
    ) || custom::of(k).is_some_and(|s| s.version().subresources.status)
}

/// Kinds with the `scale` subresource (an autoscaling/v1 Scale of spec.replicas).
pub fn has_scale(k: &Kind) -> bool {
    matches!(k.kind, "Deployment" | "ReplicaSet" | "StatefulSet")
        || custom::of(k).is_some_and(|s| s.version().subresources.scale.is_some())
}

/// Kinds whose metadata.generation counts changes of their spec.
pub fn has_generation(k: &Kind) -> bool {
    matches!(
        k.kind,
        "Deployment"
            | "ReplicaSet"
            | "StatefulSet"
            | "DaemonSet"
            | "Job"
            | "CronJob"
            | "CustomResourceDefinition"
    ) || !is_builtin(k)
}

/// Every kind the builtin apiserver serves. Adding a kind starts here. A `static`, not a
/// `const`: [`is_builtin`] tells these apart by address, and a const has one per use.
pub static KINDS: &[Kind] = &[
    Kind {
        group: "",
        version: "v1",
        kind: "Namespace",
        resource: "namespaces",
        singular: "namespace",
        short_names: &["ns"],
        namespaced: false,
        categories: &[],
    },
    Kind {
        group: "",
        version: "v1",
        kind: "ConfigMap",
        resource: "configmaps",
        singular: "configmap",
        short_names: &["cm"],
        namespaced: true,
        categories: &[],
    },
    Kind {
        group: "",
        version: "v1",
        kind: "Secret",
        resource: "secrets",
        singular: "secret",
        short_names: &[],
        namespaced: true,
        categories: &[],
    },
    Kind {
        group: "",
        version: "v1",
        kind: "Pod",
        resource: "pods",
        singular: "pod",
        short_names: &["po"],
        namespaced: true,
        categories: &["all"],
    },
    Kind {
        group: "",
        version: "v1",
        kind: "Service",
        resource: "services",
        singular: "service",
        short_names: &["svc"],
        namespaced: true,
        categories: &["all"],
    },
    Kind {
        group: "",
        version: "v1",
        kind: "Endpoints",
        resource: "endpoints",
        singular: "endpoints",
        short_names: &["ep"],
        namespaced: true,
        categories: &[],
    },
    Kind {
        group: "",
        version: "v1",
        kind: "Node",
        resource: "nodes",
        singular: "node",
        short_names: &["no"],
        namespaced: false,
        categories: &[],
    },
    Kind {
        group: "",
        version: "v1",
        kind: "ServiceAccount",
        resource: "serviceaccounts",
        singular: "serviceaccount",
        short_names: &["sa"],
        namespaced: true,
        categories: &[],
    },
    Kind {
        group: "",
        version: "v1",
        kind: "Event",
        resource: "events",
        singular: "event",
        short_names: &["ev"],
        namespaced: true,
        categories: &[],
    },
    Kind {
        group: "apps",
        version: "v1",
        kind: "Deployment",
        resource: "deployments",
        singular: "deployment",
        short_names: &["deploy"],
        namespaced: true,
        categories: &["all"],
    },
    Kind {
        group: "apps",
        version: "v1",
        kind: "ReplicaSet",
        resource: "replicasets",
        singular: "replicaset",
        short_names: &["rs"],
        namespaced: true,
        categories: &["all"],
    },
    Kind {
        group: "apps",
        version: "v1",
        kind: "StatefulSet",
        resource: "statefulsets",
        singular: "statefulset",
        short_names: &["sts"],
        namespaced: true,
        categories: &["all"],
    },
    Kind {
        group: "apps",
        version: "v1",
        kind: "DaemonSet",
        resource: "daemonsets",
        singular: "daemonset",
        short_names: &["ds"],
        namespaced: true,
        categories: &["all"],
    },
    Kind {
        group: "apps",
        version: "v1",
        kind: "ControllerRevision",
        resource: "controllerrevisions",
        singular: "controllerrevision",
        short_names: &[],
        namespaced: true,
        categories: &[],
    },
    Kind {
        group: "batch",
        version: "v1",
        kind: "Job",
        resource: "jobs",
        singular: "job",
        short_names: &[],
        namespaced: true,
        categories: &["all"],
    },
    Kind {
        group: "batch",
        version: "v1",
        kind: "CronJob",
        resource: "cronjobs",
        singular: "cronjob",
        short_names: &["cj"],
        namespaced: true,
        categories: &["all"],
    },
    Kind {
        group: "coordination.k8s.io",
        version: "v1",
        kind: "Lease",
        resource: "leases",
        singular: "lease",
        short_names: &[],
        namespaced: true,
        categories: &[],
    },
    Kind {
        group: "discovery.k8s.io",
        version: "v1",
        kind: "EndpointSlice",
        resource: "endpointslices",
        singular: "endpointslice",
        short_names: &[],
        namespaced: true,
        categories: &[],
    },
    Kind {
        group: "policy",
        version: "v1",
        kind: "PodDisruptionBudget",
        resource: "poddisruptionbudgets",
        singular: "poddisruptionbudget",
        short_names: &["pdb"],
        namespaced: true,
        categories: &[],
    },
    Kind {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "Role",
        resource: "roles",
        singular: "role",
        short_names: &[],
        namespaced: true,
        categories: &[],
    },
    Kind {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "ClusterRole",
        resource: "clusterroles",
        singular: "clusterrole",
        short_names: &[],
        namespaced: false,
        categories: &[],
    },
    Kind {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "RoleBinding",
        resource: "rolebindings",
        singular: "rolebinding",
        short_names: &[],
        namespaced: true,
        categories: &[],
    },
    Kind {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "ClusterRoleBinding",
        resource: "clusterrolebindings",
        singular: "clusterrolebinding",
        short_names: &[],
        namespaced: false,
        categories: &[],
    },
    Kind {
        group: "events.k8s.io",
        version: "v1",
        kind: "Event",
        resource: "events",
        singular: "event",
        short_names: &["ev"],
        namespaced: true,
        categories: &[],
    },
    Kind {
        group: "apiextensions.k8s.io",
        version: "v1",
        kind: "CustomResourceDefinition",
        resource: "customresourcedefinitions",
        singular: "customresourcedefinition",
        short_names: &["crd", "crds"],
        namespaced: false,
        categories: &["api-extensions"],
    },
    Kind {
        group: "authentication.k8s.io",
        version: "v1",
        kind: "SelfSubjectReview",
        resource: "selfsubjectreviews",
        singular: "selfsubjectreview",
        short_names: &[],
        namespaced: false,
        categories: &[],
    },
    Kind {
        group: "authentication.k8s.io",
        version: "v1",
        kind: "TokenReview",
        resource: "tokenreviews",
        singular: "tokenreview",
        short_names: &[],
        namespaced: false,
        categories: &[],
    },
    Kind {
        group: "authorization.k8s.io",
        version: "v1",
        kind: "SelfSubjectAccessReview",
        resource: "selfsubjectaccessreviews",
        singular: "selfsubjectaccessreview",
        short_names: &[],
        namespaced: false,
        categories: &[],
    },
    Kind {
        group: "authorization.k8s.io",
        version: "v1",
        kind: "SelfSubjectRulesReview",
        resource: "selfsubjectrulesreviews",
        singular: "selfsubjectrulesreview",
        short_names: &[],
        namespaced: false,
        categories: &[],
    },
    Kind {
        group: "authorization.k8s.io",
        version: "v1",
        kind: "SubjectAccessReview",
        resource: "subjectaccessreviews",
        singular: "subjectaccessreview",
        short_names: &[],
        namespaced: false,
        categories: &[],
    },
];

/// A DNS-1123 label: lowercase letters, digits and '-', at most 63, alphanumeric at both ends
/// (namespace names, cluster names).
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A DNS-1123 subdomain: dot-separated labels, at most 253 (most object names).
pub fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// Whether a kind is one of [`KINDS`] (and not a CRD's).
pub fn is_builtin(k: &Kind) -> bool {
    KINDS.as_ptr_range().contains(&std::ptr::from_ref(k))
}

/// The kind served at `group`/`version`/`resource`: built-in, or a CRD's.
pub fn find(group: &str, version: &str, resource: &str) -> Option<&'static Kind> {
    KINDS
        .iter()
        .find(|k| k.group == group && k.version == version && k.resource == resource)
        .or_else(|| custom::find(group, version, resource))
}

/// Every kind served now: the built-in ones, then the CRDs'.
pub fn all() -> Vec<&'static Kind> {
    KINDS
        .iter()
        .chain(custom::all().into_iter().map(|s| s.kind))
        .collect()
}

/// How Kubernetes orders versions, highest first: GA, then beta, then alpha, each by number
/// (v2 > v1 > v1beta2 > v1beta1 > v1alpha1), then any other name (upstream's kube-aware
/// sort; those others it orders alphabetically, which this leaves to the caller's order).
pub fn version_priority(v: &str) -> (u8, u32, u32) {
    let num = |s: &str| {
        s.parse::<u32>()
            .ok()
            .filter(|_| s.bytes().all(|b| b.is_ascii_digit()))
    };
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let split = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (major, tail) = rest.split_at(split);
    let Some(major) = num(major) else {
        return (0, 0, 0);
    };
    let (stage, minor) = match tail {
        "" => (3, Some(0)),
        t if t.starts_with("beta") => (2, num(&t[4..])),
        t if t.starts_with("alpha") => (1, num(&t[5..])),
        _ => (0, None),
    };
    match minor {
        Some(minor) if stage > 0 => (stage, major, minor),
        _ => (0, 0, 0),
    }
}

/// The group-versions served, core first.
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for k in all() {
        if !out.contains(&(k.group, k.version)) {
            out.push((k.group, k.version));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_as_kubernetes_sorts_them() {
        let mut vs = ["v1alpha1", "foo", "v1beta2", "v2", "v1", "v1beta1", "v10"];
        vs.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        assert_eq!(
            vs,
            ["v10", "v2", "v1", "v1beta2", "v1beta1", "v1alpha1", "foo"]
        );
        assert_eq!(version_priority("v1beta"), (0, 0, 0));
        assert_eq!(version_priority("v"), (0, 0, 0));
    }

    #[test]
    fn builtin_kinds_are_told_from_others() {
        assert!(KINDS.iter().all(is_builtin));
        let copy = Kind {
            ..*find("", "v1", "pods").unwrap()
        };
        assert!(!is_builtin(&copy));
    }
}
