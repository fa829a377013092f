//! RBAC (rbac.authorization.k8s.io/v1) as kube-apiserver's authorizer applies it, over Roles,
//! ClusterRoles, RoleBindings and ClusterRoleBindings held as JSON.
//!
//! - [`Policy`]: a snapshot of the four kinds, with ClusterRole aggregation already resolved
//!   (upstream's aggregation controller writes the rules into the object; we compute them on read)
//! - [`authorize`]: allow or deny one request ([`Attributes`]); [`rules_for`]: what a user may
//!   do in a namespace, for SelfSubjectRulesReview (`kubectl auth can-i --list`)
//! - [`forbidden_message`], [`forbidden_status_message`]: upstream's 403 wording
//! - [`bootstrap_policy`]: the default ClusterRoles and ClusterRoleBindings of a new cluster
//!
//! Pure: no storage, no caching, no HTTP. Malformed objects are skipped, never a panic: RBAC
//! only ever grants, so a rule we cannot read is a permission not given.

use crate::kinds::go::quote;
use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value, json};

use super::authn::User;

/// Members may do anything, whatever the bindings say: upstream checks this group in an
/// authorizer of its own, ahead of RBAC.
pub const PRIVILEGED_GROUP: &str = "system:masters";

/// Who asks to do what: upstream's authorizer attributes.
#[derive(Clone, Copy, Debug)]
pub struct Attributes<'a> {
    pub user: &'a User,
    /// get, list, watch, create, update, patch, delete, deletecollection, or a special verb
    /// (impersonate, bind, escalate, use, approve…); for paths, the lowercased HTTP method.
    pub verb: &'a str,
    pub target: Target<'a>,
}

/// What a request is about: an API resource, or a path outside the resource API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    Resource(Resource<'a>),
    /// `/healthz`, `/version`, `/api`, `/apis/apps`, `/openapi/v3`…
    Path(&'a str),
}

/// A resource request; empty strings mean none (no subresource, no name).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resource<'a> {
    /// The API group, "" for the core group.
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub name: &'a str,
    /// None at the cluster scope (cluster-scoped kinds, and lists across all namespaces).
    pub namespace: Option<&'a str>,
}

impl<'a> Attributes<'a> {
    /// A request on `resource` in `group`, with no name or subresource yet.
    pub fn resource(
        user: &'a User,
        verb: &'a str,
        group: &'a str,
        resource: &'a str,
        namespace: Option<&'a str>,
    ) -> Self {
        let r = Resource {
            group,
            resource,
            namespace,
            ..Default::default()
        };
        Attributes {
            user,
            verb,
            target: Target::Resource(r),
        }
    }

    /// A request for a path outside the resource API.
    pub fn path(user: &'a User, verb: &'a str, path: &'a str) -> Self {
        Attributes {
            user,
            verb,
            target: Target::Path(path),
        }
    }

    /// The same request naming one object; no effect on a path request.
    pub fn with_name(mut self, name: &'a str) -> Self {
        if let Target::Resource(r) = &mut self.target {
            r.name = name;
        }
        self
    }

    /// The same request on a subresource (`log` of pods); no effect on a path request.
    pub fn with_subresource(mut self, subresource: &'a str) -> Self {
        if let Target::Resource(r) = &mut self.target {
            r.subresource = subresource;
        }
        self
    }

    /// The namespace RoleBindings are looked up in; "" counts as the cluster scope, as upstream.
    fn namespace(&self) -> Option<&'a str> {
        match self.target {
            Target::Resource(r) => r.namespace.filter(|ns| !ns.is_empty()),
            Target::Path(_) => None,
        }
    }
}

/// The authorizer's answer. `reason` names what allowed it, upstream's way; empty on a deny.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub reason: String,
}

impl Decision {
    fn allow(reason: String) -> Decision {
        Decision {
            allowed: true,
            reason,
        }
    }

    fn deny() -> Decision {
        Decision {
            allowed: false,
            reason: String::new(),
        }
    }
}

/// One PolicyRule; lists keep the object's order (rules reviews echo them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Rule {
    verbs: Vec<String>,
    api_groups: Vec<String>,
    resources: Vec<String>,
    resource_names: Vec<String>,
    urls: Vec<String>,
}

/// The strings of `v[key]`; anything not a string array counts as empty.
fn strings(v: &Value, key: &str) -> Vec<String> {
    let items = v
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    items
        .iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// True when `list` holds `s` or the wildcard "*" (verbs, API groups).
fn has(list: &[String], s: &str) -> bool {
    list.iter().any(|x| x == "*" || x == s)
}

impl Rule {
    fn parse(v: &Value) -> Option<Rule> {
        v.as_object()?;
        Some(Rule {
            verbs: strings(v, "verbs"),
            api_groups: strings(v, "apiGroups"),
            resources: strings(v, "resources"),
            resource_names: strings(v, "resourceNames"),
            urls: strings(v, "nonResourceURLs"),
        })
    }

    /// The rules of a Role or ClusterRole object.
    fn all_of(object: &Value) -> Vec<Rule> {
        let items = object["rules"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        items.iter().filter_map(Rule::parse).collect()
    }

    fn allows(&self, verb: &str, target: &Target) -> bool {
        if !has(&self.verbs, verb) {
            return false;
        }
        match target {
            Target::Resource(r) => {
                has(&self.api_groups, r.group)
                    && self.covers_resource(r.resource, r.subresource)
                    && self.names(r.name)
            }
            Target::Path(path) => self.urls.iter().any(|u| url_matches(u, path)),
        }
    }

    /// No names listed covers every object; listed names never cover a request without one
    /// (create, list, watch, deletecollection), which may reach objects of any name.
    fn names(&self, name: &str) -> bool {
        self.resource_names.is_empty() || self.resource_names.iter().any(|n| n == name)
    }

    /// "*" covers everything; "pods" only pods itself, never pods/log; "pods/log" and
    /// "*/log" cover the log subresource.
    fn covers_resource(&self, resource: &str, subresource: &str) -> bool {
        self.resources.iter().any(|rr| {
            if subresource.is_empty() {
                return rr == "*" || rr == resource;
            }
            let split = rr.split_once('/');
            rr == "*" || split.is_some_and(|(r, s)| s == subresource && (r == resource || r == "*"))
        })
    }

    /// The JSON of a PolicyRule (and of a rules review's ResourceRule): verbs always, other
    /// lists only when not empty, as upstream's omitempty fields.
    fn to_json(&self) -> Value {
        let mut m = Map::from_iter([("verbs".to_string(), json!(self.verbs))]);
        for (key, list) in [
            ("apiGroups", &self.api_groups),
            ("resources", &self.resources),
            ("resourceNames", &self.resource_names),
            ("nonResourceURLs", &self.urls),
        ] {
            if !list.is_empty() {
                m.insert(key.into(), json!(list));
            }
        }
        Value::Object(m)
    }
}

/// "*" matches every path; a trailing "*" matches by prefix ("/apis/*" has "/apis/apps" but
/// not "/apis"); anything else must be equal.
fn url_matches(rule: &str, path: &str) -> bool {
    rule == "*"
        || rule == path
        || (rule.ends_with('*') && path.starts_with(rule.trim_end_matches('*')))
}

/// One subject of a binding.
#[derive(Clone, Debug)]
struct Subject {
    kind: String,
    name: String,
    /// ServiceAccounts only; empty means the binding's own namespace.
    namespace: String,
}

impl Subject {
    fn parse(v: &Value) -> Option<Subject> {
        let text = |key: &str| v[key].as_str().unwrap_or_default().to_string();
        let s = Subject {
            kind: text("kind"),
            name: text("name"),
            namespace: text("namespace"),
        };
        (!s.kind.is_empty() && !s.name.is_empty()).then_some(s)
    }

    fn sa_namespace<'s>(&'s self, binding_ns: &'s str) -> &'s str {
        if self.namespace.is_empty() {
            binding_ns
        } else {
            &self.namespace
        }
    }

    fn applies_to(&self, user: &User, binding_ns: &str) -> bool {
        match self.kind.as_str() {
            "User" => user.name == self.name,
            "Group" => user.groups.contains(&self.name),
            "ServiceAccount" => {
                let ns = self.sa_namespace(binding_ns);
                let rest = user.name.strip_prefix("system:serviceaccount:");
                let name = rest.and_then(|r| r.strip_prefix(ns)?.strip_prefix(':'));
                !ns.is_empty() && name == Some(self.name.as_str())
            }
            _ => false,
        }
    }

    /// `Group "system:masters"`, `ServiceAccount "NAME/NAMESPACE"`, as upstream's reasons say.
    fn describe(&self, binding_ns: &str) -> String {
        match self.kind.as_str() {
            "ServiceAccount" => {
                let who = format!("{}/{}", self.name, self.sa_namespace(binding_ns));
                format!("ServiceAccount {}", quote(&who))
            }
            kind => format!("{kind} {}", quote(&self.name)),
        }
    }
}

/// A RoleBinding (namespace set) or ClusterRoleBinding (namespace empty).
#[derive(Clone, Debug)]
struct Binding {
    name: String,
    namespace: String,
    role_kind: String,
    role_name: String,
    subjects: Vec<Subject>,
}

impl Binding {
    fn parse(v: &Value, namespaced: bool) -> Option<Binding> {
        let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
        let namespace = if namespaced {
            text(&v["metadata"]["namespace"])?
        } else {
            String::new()
        };
        let subjects = v["subjects"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        Some(Binding {
            name: text(&v["metadata"]["name"])?,
            namespace,
            role_kind: text(&v["roleRef"]["kind"])?,
            role_name: text(&v["roleRef"]["name"])?,
            subjects: subjects.iter().filter_map(Subject::parse).collect(),
        })
    }

    /// The first subject that is `user`: the one a reason names.
    fn subject_for(&self, user: &User) -> Option<&Subject> {
        self.subjects
            .iter()
            .find(|s| s.applies_to(user, &self.namespace))
    }

    /// Upstream's reason: `ClusterRoleBinding "b" of ClusterRole "r" to Group "g"`, and
    /// `RoleBinding "b/ns" of …` for a RoleBinding.
    fn describe(&self, subject: &Subject) -> String {
        let (kind, name) = if self.namespace.is_empty() {
            ("ClusterRoleBinding", self.name.clone())
        } else {
            ("RoleBinding", format!("{}/{}", self.name, self.namespace))
        };
        format!(
            "{kind} {} of {} {} to {}",
            quote(&name),
            self.role_kind,
            quote(&self.role_name),
            subject.describe(&self.namespace)
        )
    }
}

/// A metav1.LabelSelector: every requirement must hold. matchLabels are In requirements.
struct Selector(Vec<(String, String, Vec<String>)>);

impl Selector {
    /// None when malformed; upstream then aggregates nothing through it.
    fn parse(v: &Value) -> Option<Selector> {
        let mut reqs = Vec::new();
        let labels = v.as_object()?.get("matchLabels").and_then(Value::as_object);
        for (key, value) in labels.into_iter().flatten() {
            reqs.push((key.clone(), "In".into(), vec![value.as_str()?.into()]));
        }
        let exprs = v.get("matchExpressions").and_then(Value::as_array);
        for e in exprs.map(Vec::as_slice).unwrap_or_default() {
            let (key, op) = (e["key"].as_str()?, e["operator"].as_str()?);
            let values = strings(e, "values");
            let needs_values = matches!(op, "In" | "NotIn");
            if !matches!(op, "In" | "NotIn" | "Exists" | "DoesNotExist")
                || needs_values == values.is_empty()
            {
                return None;
            }
            reqs.push((key.to_string(), op.to_string(), values));
        }
        Some(Selector(reqs))
    }

    fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        self.0.iter().all(|(key, op, values)| {
            let value = labels.and_then(|l| l.get(key)).and_then(Value::as_str);
            let listed = value.is_some_and(|v| values.iter().any(|x| x == v));
            match op.as_str() {
                "In" => listed,
                "NotIn" => !listed,
                "Exists" => value.is_some(),
                _ => value.is_none(),
            }
        })
    }
}

/// Everything authorization needs from the four kinds, read once. Build it again when any of
/// them changes.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// namespace → name → rules.
    roles: HashMap<String, HashMap<String, Vec<Rule>>>,
    /// name → rules, aggregated ones already resolved.
    cluster_roles: HashMap<String, Vec<Rule>>,
    /// namespace → its RoleBindings, by name.
    role_bindings: HashMap<String, Vec<Binding>>,
    /// By name.
    cluster_role_bindings: Vec<Binding>,
}

/// A ClusterRole as stored, before aggregation.
struct StoredClusterRole<'v> {
    labels: Option<&'v Map<String, Value>>,
    rules: Vec<Rule>,
    /// Some for aggregated roles; a malformed selector is None inside.
    selectors: Option<Vec<Option<Selector>>>,
}

impl Policy {
    /// The policy the given objects make; objects that are not of their kind's shape are skipped.
    pub fn new(
        roles: &[Value],
        role_bindings: &[Value],
        cluster_roles: &[Value],
        cluster_role_bindings: &[Value],
    ) -> Policy {
        let mut policy = Policy::default();
        for role in roles {
            let (ns, name) = (&role["metadata"]["namespace"], &role["metadata"]["name"]);
            // A Role outside any namespace could only be reached by a ClusterRoleBinding,
            // which never references Roles.
            if let (Some(ns), Some(name)) = (ns.as_str().filter(|ns| !ns.is_empty()), name.as_str())
            {
                let in_ns = policy.roles.entry(ns.into()).or_default();
                in_ns.insert(name.into(), Rule::all_of(role));
            }
        }
        for b in parse_bindings(role_bindings, true) {
            policy
                .role_bindings
                .entry(b.namespace.clone())
                .or_default()
                .push(b);
        }
        policy.cluster_role_bindings = parse_bindings(cluster_role_bindings, false);
        policy.cluster_roles = aggregate(cluster_roles);
        policy
    }

    /// A ClusterRole's rules as this policy sees them (aggregated ones resolved), in the
    /// shape of the object's `rules`, for serving what upstream's controller would have written.
    pub fn cluster_role_rules(&self, name: &str) -> Option<Value> {
        let rules = self.cluster_roles.get(name)?;
        Some(rules.iter().map(Rule::to_json).collect())
    }

    /// The rules a binding grants: a ClusterRole anywhere, a Role only from its own namespace.
    fn rules_of(&self, b: &Binding) -> &[Rule] {
        let rules = match b.role_kind.as_str() {
            "ClusterRole" => self.cluster_roles.get(&b.role_name),
            "Role" => self
                .roles
                .get(&b.namespace)
                .and_then(|in_ns| in_ns.get(&b.role_name)),
            _ => None,
        };
        rules.map(Vec::as_slice).unwrap_or_default()
    }

    /// Every (binding, subject, rule) granted to `user` in `namespace`: ClusterRoleBindings
    /// first, then that namespace's RoleBindings, in upstream's order.
    fn grants<'p>(
        &'p self,
        user: &'p User,
        namespace: Option<&str>,
    ) -> impl Iterator<Item = (&'p Binding, &'p Subject, &'p Rule)> + 'p {
        let local = namespace
            .and_then(|ns| self.role_bindings.get(ns))
            .into_iter()
            .flatten();
        self.cluster_role_bindings
            .iter()
            .chain(local)
            .filter_map(move |b| Some((b, b.subject_for(user)?)))
            .flat_map(move |(b, s)| self.rules_of(b).iter().map(move |r| (b, s, r)))
    }
}

/// The bindings among `objects`, by name, so that reasons do not depend on storage order.
fn parse_bindings(objects: &[Value], namespaced: bool) -> Vec<Binding> {
    let mut list: Vec<Binding> = objects
        .iter()
        .filter_map(|b| Binding::parse(b, namespaced))
        .collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    list
}

/// Every ClusterRole's effective rules: its own, or for one with an aggregationRule the
/// union of the rules of the roles its selectors match (resolved in turn, so admin gets
/// edit's, which gets view's), in name order without repeats, as upstream's controller writes.
fn aggregate(objects: &[Value]) -> HashMap<String, Vec<Rule>> {
    let mut stored = BTreeMap::new();
    for o in objects {
        let Some(name) = o["metadata"]["name"].as_str() else {
            continue;
        };
        let selectors = o["aggregationRule"].as_object().map(|rule| {
            let list = rule.get("clusterRoleSelectors").and_then(Value::as_array);
            list.map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(Selector::parse)
                .collect()
        });
        let labels = o["metadata"]["labels"].as_object();
        stored.insert(
            name.to_string(),
            StoredClusterRole {
                labels,
                rules: Rule::all_of(o),
                selectors,
            },
        );
    }
    let mut done = HashMap::new();
    for name in stored.keys() {
        resolve(name, &stored, &mut done, &mut HashSet::new());
    }
    done
}

fn resolve(
    name: &str,
    stored: &BTreeMap<String, StoredClusterRole>,
    done: &mut HashMap<String, Vec<Rule>>,
    active: &mut HashSet<String>,
) -> Vec<Rule> {
    if let Some(rules) = done.get(name) {
        return rules.clone();
    }
    let role = &stored[name];
    let Some(selectors) = &role.selectors else {
        done.insert(name.into(), role.rules.clone());
        return role.rules.clone();
    };
    // In a cycle, a role being resolved contributes what is stored in it, as the controller
    // would read it.
    if !active.insert(name.to_string()) {
        return role.rules.clone();
    }
    let mut rules: Vec<Rule> = Vec::new();
    for selector in selectors.iter().flatten() {
        for (other, o) in stored {
            if other == name || !selector.matches(o.labels) {
                continue;
            }
            for r in resolve(other, stored, done, active) {
                if !rules.contains(&r) {
                    rules.push(r);
                }
            }
        }
    }
    active.remove(name);
    done.insert(name.into(), rules.clone());
    rules
}

/// Allow or deny one request. Members of [`PRIVILEGED_GROUP`] are allowed with an empty reason,
/// as upstream's privileged-group authorizer answers before RBAC; everyone else needs a rule
/// from a binding that names them (a RoleBinding only in its namespace).
pub fn authorize(policy: &Policy, attrs: &Attributes) -> Decision {
    if attrs.user.groups.iter().any(|g| g == PRIVILEGED_GROUP) {
        return Decision::allow(String::new());
    }
    let granted = policy
        .grants(attrs.user, attrs.namespace())
        .find(|(_, _, rule)| rule.allows(attrs.verb, &attrs.target));
    match granted {
        Some((b, s, _)) => Decision::allow(format!("RBAC: allowed by {}", b.describe(s))),
        None => Decision::deny(),
    }
}

/// What `user` may do in `namespace` (None: the cluster scope), as a SelfSubjectRulesReview's
/// status lists it: (resourceRules, nonResourceRules), one entry per granted rule.
pub fn rules_for(
    policy: &Policy,
    user: &User,
    namespace: Option<&str>,
) -> (Vec<Value>, Vec<Value>) {
    let namespace = namespace.filter(|ns| !ns.is_empty());
    let (mut resource, mut non_resource) = (Vec::new(), Vec::new());
    for (_, _, rule) in policy.grants(user, namespace) {
        // A rule with both kinds of target (invalid, but storable) shows in both lists.
        if !rule.resources.is_empty() {
            let mut only_resources = rule.clone();
            only_resources.urls.clear();
            resource.push(only_resources.to_json());
        }
        if !rule.urls.is_empty() {
            non_resource.push(json!({"verbs": rule.verbs, "nonResourceURLs": rule.urls}));
        }
    }
    (resource, non_resource)
}

/// Upstream's account of a denial: `User "demo" cannot list resource "nodes" in API group ""
/// at the cluster scope`, `… in the namespace "default"`, `User "demo" cannot get path
/// "/healthz"`. Names of objects are not part of it.
pub fn forbidden_message(attrs: &Attributes) -> String {
    let (user, verb) = (quote(&attrs.user.name), attrs.verb);
    let r = match attrs.target {
        Target::Path(path) => return format!("User {user} cannot {verb} path {}", quote(path)),
        Target::Resource(r) => r,
    };
    let mut resource = r.resource.to_string();
    if !r.subresource.is_empty() {
        resource = format!("{resource}/{}", r.subresource);
    }
    let what = format!(
        "User {user} cannot {verb} resource {} in API group {}",
        quote(&resource),
        quote(r.group)
    );
    match attrs.namespace() {
        Some(ns) => format!("{what} in the namespace {}", quote(ns)),
        None => format!("{what} at the cluster scope"),
    }
}

/// The whole message of upstream's 403 Status: `pods "web" is forbidden: User …`,
/// `deployments.apps is forbidden: User …` without a name, `forbidden: User … path …` for
/// paths; a non-empty `reason` follows after ": ". (Its details: group, kind = the resource
/// without subresource, name.)
pub fn forbidden_status_message(attrs: &Attributes, reason: &str) -> String {
    // Upstream escapes what could pass for HTML in the part it writes itself.
    let mut msg = forbidden_message(attrs)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    if !reason.is_empty() {
        msg = format!("{msg}: {reason}");
    }
    let r = match attrs.target {
        Target::Resource(r) if !r.resource.is_empty() || !r.group.is_empty() => r,
        _ => return format!("forbidden: {msg}"),
    };
    let qualified = if r.group.is_empty() {
        r.resource.to_string()
    } else {
        format!("{}.{}", r.resource, r.group)
    };
    if r.name.is_empty() {
        format!("{qualified} is forbidden: {msg}")
    } else {
        format!("{qualified} {} is forbidden: {msg}", quote(r.name))
    }
}

// ---- Bootstrap policy: upstream's defaults (plugin/pkg/auth/authorizer/rbac/bootstrappolicy),
// restated as a table, one rule a line: `verbs | API groups | resources [| resourceNames]`, or
// `verbs | nonResourceURLs`. Lists are split on spaces; `core` is the core group (""); READ and
// WRITE stand for the usual verb sets; an indented line with no `|` continues the last list.
// `role NAME [aggregate=X] [label=X]…` starts a ClusterRole (aggregate-to-X selector, labels);
// `bind NAME Kind:subject…` binds the ClusterRole NAME (`ServiceAccount:namespace/name`).
//
// One difference: system:node is bound to the group system:nodes, since kwb has no Node
// authorizer to grant kubelets what upstream's does. Upstream's extensions-group entries and
// its per-controller roles (system:controller:*) are not here.
const BOOTSTRAP: &str = "
role cluster-admin
    * | * | *
    * | *
role admin aggregate=admin
role edit aggregate=edit label=admin
role view aggregate=view label=edit
role system:aggregate-to-admin label=admin
    create | authorization.k8s.io | localsubjectaccessreviews
    READ WRITE | rbac.authorization.k8s.io | rolebindings roles
role system:aggregate-to-edit label=edit
    READ | core | pods/attach pods/exec pods/portforward pods/proxy secrets services/proxy
    impersonate | core | serviceaccounts
    WRITE | core | pods pods/attach pods/exec pods/portforward pods/proxy
    create | core | pods/eviction
    WRITE | core | configmaps events persistentvolumeclaims replicationcontrollers
        replicationcontrollers/scale secrets serviceaccounts services services/proxy
    create | core | serviceaccounts/token
    WRITE | apps | daemonsets deployments deployments/rollback deployments/scale replicasets
        replicasets/scale statefulsets statefulsets/scale
    WRITE | autoscaling | horizontalpodautoscalers
    WRITE | batch | cronjobs jobs
    WRITE | policy | poddisruptionbudgets
    WRITE | networking.k8s.io | ingresses networkpolicies
    READ WRITE | coordination.k8s.io | leases
role system:aggregate-to-view label=view
    READ | core | configmaps endpoints persistentvolumeclaims persistentvolumeclaims/status pods
        replicationcontrollers replicationcontrollers/scale serviceaccounts services services/status
    READ | core | bindings events limitranges namespaces/status pods/log pods/status
        replicationcontrollers/status resourcequotas resourcequotas/status
    READ | core | namespaces
    READ | discovery.k8s.io | endpointslices
    READ | apps | controllerrevisions daemonsets daemonsets/status deployments deployments/scale
        deployments/status replicasets replicasets/scale replicasets/status statefulsets
        statefulsets/scale statefulsets/status
    READ | autoscaling | horizontalpodautoscalers horizontalpodautoscalers/status
    READ | batch | cronjobs cronjobs/status jobs jobs/status
    READ | policy | poddisruptionbudgets poddisruptionbudgets/status
    READ | networking.k8s.io | ingresses ingresses/status networkpolicies
role system:basic-user
    create | authorization.k8s.io | selfsubjectaccessreviews selfsubjectrulesreviews
    create | authentication.k8s.io | selfsubjectreviews
role system:discovery
    get | /api /api/* /apis /apis/* /healthz /livez /openapi /openapi/* /readyz /version /version/
role system:public-info-viewer
    get | /healthz /livez /readyz /version /version/
role system:monitoring
    get | /healthz /healthz/* /livez /livez/* /metrics /metrics/slis /readyz /readyz/*
role system:service-account-issuer-discovery
    get | /.well-known/openid-configuration /openid/v1/jwks
role system:auth-delegator
    create | authentication.k8s.io | tokenreviews
    create | authorization.k8s.io | subjectaccessreviews
role system:kube-scheduler
    create patch update | core events.k8s.io | events
    create | coordination.k8s.io | leases
    get update | coordination.k8s.io | leases | kube-scheduler
    READ | core | nodes
    delete get list watch | core | pods
    create | core | bindings pods/binding
    patch update | core | pods/status
    READ | core | replicationcontrollers services
    READ | apps | replicasets statefulsets
    READ | policy | poddisruptionbudgets
    READ | core | persistentvolumeclaims persistentvolumes
    create | authentication.k8s.io | tokenreviews
    create | authorization.k8s.io | subjectaccessreviews
    READ | storage.k8s.io | csinodes csidrivers csistoragecapacities
    READ | core | namespaces
role system:volume-scheduler
    READ patch update | core | persistentvolumes persistentvolumeclaims
    READ | storage.k8s.io | storageclasses
role system:kube-controller-manager
    create patch update | core events.k8s.io | events
    create | coordination.k8s.io | leases
    get update | coordination.k8s.io | leases | kube-controller-manager
    create | core | secrets serviceaccounts
    delete | core | secrets
    get | core | configmaps namespaces secrets serviceaccounts
    update | core | secrets serviceaccounts
    create | authentication.k8s.io | tokenreviews
    create | authorization.k8s.io | subjectaccessreviews
    list watch | * | *
    create | core | serviceaccounts/token
role system:controller:deployment-controller
    get list watch update | apps | deployments
    update | apps | deployments/status
    create delete get list patch update watch | apps | replicasets
    get list update watch | core | pods
    create patch update | core events.k8s.io | events
role system:controller:job-controller
    get list patch update watch | batch | jobs
    patch update | batch | jobs/status
    update | batch | jobs/finalizers
    create delete list patch watch | core | pods
    create patch update | core events.k8s.io | events
role system:controller:cronjob-controller
    get list update watch | batch | cronjobs
    create delete get list patch update watch | batch | jobs
    update | batch | cronjobs/status
    update | batch | cronjobs/finalizers
    delete list | core | pods
    create patch update | core events.k8s.io | events
role system:controller:daemon-set-controller
    get list watch | apps | daemonsets
    update | apps | daemonsets/status
    update | apps | daemonsets/finalizers
    list watch | core | nodes
    create delete list patch watch | core | pods
    create | core | pods/binding
    create delete get list patch update watch | apps | controllerrevisions
    create patch update | core events.k8s.io | events
role system:controller:statefulset-controller
    list watch | core | pods
    get list watch | apps | statefulsets
    update | apps | statefulsets/status
    update | apps | statefulsets/finalizers
    create delete get patch update | core | pods
    create delete get list patch update watch | apps | controllerrevisions
    create get | core | persistentvolumeclaims
    create patch update | core events.k8s.io | events
role system:controller:pod-garbage-collector
    delete list watch | core | pods
    get list | core | nodes
    patch | core | pods/status
role system:controller:replicaset-controller
    get list update watch | apps | replicasets
    update | apps | replicasets/status
    update | apps | replicasets/finalizers
    create delete list patch watch | core | pods
    create patch update | core events.k8s.io | events
role system:controller:endpoint-controller
    get list watch | core | services pods
    create delete get list update | core | endpoints
    create | core | endpoints/restricted
    create patch update | core events.k8s.io | events
role system:controller:endpointslice-controller
    get list watch | core | services pods nodes
    create delete get list update | discovery.k8s.io | endpointslices
    create patch update | core events.k8s.io | events
role system:controller:service-account-controller
    create | core | serviceaccounts
    create patch update | core events.k8s.io | events
role system:controller:root-ca-cert-publisher
    create update | core | configmaps
    create patch update | core events.k8s.io | events
role system:controller:namespace-controller
    delete get list watch | core | namespaces
    update | core | namespaces/finalize namespaces/status
    delete deletecollection get list | * | *
role system:controller:generic-garbage-collector
    delete get list patch update watch | * | *
role system:controller:node-controller
    delete get list patch update | core | nodes
    patch update | core | nodes/status
    patch update | core | pods/status
    delete list | core | pods
    create patch update | core events.k8s.io | events
role system:node
    create | authentication.k8s.io | tokenreviews
    create | authorization.k8s.io | localsubjectaccessreviews subjectaccessreviews
    READ | core | services
    create get list watch | core | nodes
    patch update | core | nodes nodes/status
    create patch update | core | events
    READ | core | pods
    create delete | core | pods
    patch update | core | pods/status
    create | core | pods/eviction
    READ | core | configmaps secrets
    get | core | endpoints persistentvolumeclaims persistentvolumes
    create get list watch | certificates.k8s.io | certificatesigningrequests
    create delete get patch update | coordination.k8s.io | leases
    get | storage.k8s.io | volumeattachments
    create | core | serviceaccounts/token
    get patch update | core | persistentvolumeclaims/status
    READ | storage.k8s.io | csidrivers
    create delete get patch update | storage.k8s.io | csinodes
    READ | node.k8s.io | runtimeclasses
role system:node-proxier
    list watch | core | endpoints services
    READ | core | nodes
    create patch update | core events.k8s.io | events
    list watch | discovery.k8s.io | endpointslices
role system:kube-dns
    list watch | core | endpoints services
bind cluster-admin Group:system:masters
bind system:basic-user Group:system:authenticated
bind system:discovery Group:system:authenticated
bind system:public-info-viewer Group:system:authenticated Group:system:unauthenticated
bind system:monitoring Group:system:monitoring
bind system:service-account-issuer-discovery Group:system:serviceaccounts
bind system:kube-scheduler User:system:kube-scheduler
bind system:volume-scheduler User:system:kube-scheduler
bind system:kube-controller-manager User:system:kube-controller-manager
bind system:controller:deployment-controller ServiceAccount:kube-system/deployment-controller
bind system:controller:replicaset-controller ServiceAccount:kube-system/replicaset-controller
bind system:controller:job-controller ServiceAccount:kube-system/job-controller
bind system:controller:endpoint-controller ServiceAccount:kube-system/endpoint-controller
bind system:controller:endpointslice-controller ServiceAccount:kube-system/endpointslice-controller
bind system:controller:service-account-controller ServiceAccount:kube-system/service-account-controller
bind system:controller:root-ca-cert-publisher ServiceAccount:kube-system/root-ca-cert-publisher
bind system:controller:namespace-controller ServiceAccount:kube-system/namespace-controller
bind system:controller:generic-garbage-collector ServiceAccount:kube-system/generic-garbage-collector
bind system:controller:node-controller ServiceAccount:kube-system/node-controller
bind system:controller:cronjob-controller ServiceAccount:kube-system/cronjob-controller
bind system:controller:daemon-set-controller ServiceAccount:kube-system/daemon-set-controller
bind system:controller:statefulset-controller ServiceAccount:kube-system/statefulset-controller
bind system:controller:pod-garbage-collector ServiceAccount:kube-system/pod-garbage-collector
bind system:node Group:system:nodes
bind system:node-proxier User:system:kube-proxy
bind system:kube-dns ServiceAccount:kube-system/kube-dns
";

const AGGREGATE_TO: &str = "rbac.authorization.k8s.io/aggregate-to-";

fn bootstrap_meta(name: &str) -> Value {
    json!({
        "name": name,
        "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
    })
}

/// `role NAME [aggregate=X] [label=X]…` as a ClusterRole with no rules yet.
fn bootstrap_role<'a>(name: &str, options: impl Iterator<Item = &'a str>) -> Value {
    let mut role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": bootstrap_meta(name), "rules": [],
    });
    for option in options {
        match option.split_once('=') {
            Some(("aggregate", to)) => {
                let selector = json!({"matchLabels": {format!("{AGGREGATE_TO}{to}"): "true"}});
                role["aggregationRule"] = json!({"clusterRoleSelectors": [selector]});
            }
            Some(("label", to)) => {
                role["metadata"]["labels"][format!("{AGGREGATE_TO}{to}")] = json!("true")
            }
            _ => {}
        }
    }
    role
}

/// `Kind:name` as a binding's subject; `ServiceAccount:namespace/name` names its namespace.
fn subject_json(s: &str) -> Option<Value> {
    let (kind, who) = s.split_once(':')?;
    Some(match (kind, who.split_once('/')) {
        ("ServiceAccount", Some((ns, name))) => {
            json!({"kind": kind, "name": name, "namespace": ns})
        }
        ("ServiceAccount", None) => json!({"kind": kind, "name": who}),
        _ => json!({"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": who}),
    })
}

/// `bind NAME Kind:subject…` as a ClusterRoleBinding of the ClusterRole NAME.
fn bootstrap_binding<'a>(name: &str, subjects: impl Iterator<Item = &'a str>) -> Value {
    let subjects: Vec<Value> = subjects.filter_map(subject_json).collect();
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": bootstrap_meta(name),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": subjects,
    })
}

/// One table rule line as a PolicyRule; also the key a continuation line extends.
fn bootstrap_rule(line: &str) -> (Value, &'static str) {
    let fields: Vec<Vec<&str>> = line
        .split('|')
        .map(|f| f.split_whitespace().collect())
        .collect();
    let verbs: Vec<&str> = fields[0]
        .iter()
        .flat_map(|v| match *v {
            "READ" => vec!["get", "list", "watch"],
            "WRITE" => vec!["create", "delete", "deletecollection", "patch", "update"],
            v => vec![v],
        })
        .collect();
    if fields.len() == 2 {
        return (
            json!({"verbs": verbs, "nonResourceURLs": fields[1]}),
            "nonResourceURLs",
        );
    }
    let groups: Vec<&str> = fields[1]
        .iter()
        .map(|g| if *g == "core" { "" } else { g })
        .collect();
    let mut rule = json!({"verbs": verbs, "apiGroups": groups, "resources": fields[2]});
    match fields.get(3) {
        Some(names) => {
            rule["resourceNames"] = json!(names);
            (rule, "resourceNames")
        }
        None => (rule, "resources"),
    }
}

/// The ClusterRoles and ClusterRoleBindings an apiserver creates at start (see the table
/// above), labelled `kubernetes.io/bootstrapping: rbac-defaults` and annotated
/// `rbac.authorization.kubernetes.io/autoupdate: "true"` as upstream's are.
pub fn bootstrap_policy() -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut extends = "resources";
    for line in BOOTSTRAP.lines().filter(|l| !l.trim().is_empty()) {
        let last_rules = out.last_mut().and_then(|o| o["rules"].as_array_mut());
        // Rule lines are told apart by their `|`: "bind" is a verb too.
        if line.contains('|') {
            let (rule, key) = bootstrap_rule(line);
            if let Some(rules) = last_rules {
                rules.push(rule);
            }
            extends = key;
            continue;
        }
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), last_rules) {
            (Some("role"), Some(name), _) => out.push(bootstrap_role(name, words)),
            (Some("bind"), Some(name), _) => out.push(bootstrap_binding(name, words)),
            (_, _, Some(rules)) => {
                if let Some(list) = rules.last_mut().and_then(|r| r[extends].as_array_mut()) {
                    list.extend(line.split_whitespace().map(|w| json!(w)));
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, groups: &[&str]) -> User {
        let groups = groups.iter().map(|g| g.to_string()).collect();
        User {
            name: name.into(),
            groups,
            ..Default::default()
        }
    }

    fn demo() -> User {
        user("demo", &["system:authenticated"])
    }

    /// A request written `VERB RESOURCE[.GROUP][/SUBRESOURCE] [NAME] [@NAMESPACE]`, or
    /// `VERB /PATH`.
    fn ask<'a>(u: &'a User, req: &'a str) -> Attributes<'a> {
        let mut words = req.split_whitespace();
        let (verb, what) = (words.next().unwrap(), words.next().unwrap());
        if what.starts_with('/') {
            return Attributes::path(u, verb, what);
        }
        let (what, sub) = what.split_once('/').unwrap_or((what, ""));
        let (resource, group) = what.split_once('.').unwrap_or((what, ""));
        let mut attrs = Attributes::resource(u, verb, group, resource, None);
        for w in words {
            match (w.strip_prefix('@'), &mut attrs.target) {
                (Some(ns), Target::Resource(r)) => r.namespace = Some(ns),
                _ => attrs = attrs.with_name(w),
            }
        }
        attrs.with_subresource(sub)
    }

    fn can(p: &Policy, u: &User, req: &str) -> bool {
        authorize(p, &ask(u, req)).allowed
    }

    fn reason(p: &Policy, u: &User, req: &str) -> String {
        authorize(p, &ask(u, req)).reason
    }

    /// A ClusterRole, or a Role in `ns`, with rules written as lines of the bootstrap table.
    fn role(name: &str, ns: Option<&str>, rules: &[&str]) -> Value {
        let kind = if ns.is_some() { "Role" } else { "ClusterRole" };
        let rules: Vec<Value> = rules.iter().map(|l| bootstrap_rule(l).0).collect();
        json!({"kind": kind, "metadata": {"name": name, "namespace": ns}, "rules": rules})
    }

    /// A ClusterRoleBinding, or a RoleBinding in `ns`, of `role_ref` (`Kind/name`).
    fn binding(name: &str, ns: Option<&str>, role_ref: &str, subjects: &[&str]) -> Value {
        let kind = if ns.is_some() {
            "RoleBinding"
        } else {
            "ClusterRoleBinding"
        };
        let (ref_kind, ref_name) = role_ref.split_once('/').unwrap();
        let subjects: Vec<Value> = subjects.iter().filter_map(|s| subject_json(s)).collect();
        let role_ref = json!({"kind": ref_kind, "name": ref_name});
        let meta = json!({"name": name, "namespace": ns});
        json!({"kind": kind, "metadata": meta, "roleRef": role_ref, "subjects": subjects})
    }

    /// The given objects, each passed as its kind.
    fn policy(objects: &[Value]) -> Policy {
        let of = |k: &str| -> Vec<Value> {
            objects.iter().filter(|o| o["kind"] == k).cloned().collect()
        };
        let (roles, bindings) = (of("Role"), of("RoleBinding"));
        Policy::new(
            &roles,
            &bindings,
            &of("ClusterRole"),
            &of("ClusterRoleBinding"),
        )
    }

    /// The bootstrap policy and the given objects.
    fn cluster(extra: &[Value]) -> Policy {
        policy(&[bootstrap_policy(), extra.to_vec()].concat())
    }

    #[test]
    fn masters_may_do_anything_even_without_bindings() {
        let admin = user("kubernetes-admin", &["system:masters"]);
        for req in [
            "delete nodes n1",
            "escalate clusterroles.rbac.authorization.k8s.io admin",
            "get pods/exec web @x",
            "get /metrics",
        ] {
            let d = authorize(&Policy::default(), &ask(&admin, req));
            assert_eq!(d, Decision::allow(String::new()), "{req}");
        }
    }

    #[test]
    fn a_new_user_is_denied_with_upstreams_message() {
        let (p, u) = (cluster(&[]), demo());
        let attrs = ask(&u, "list nodes");
        assert_eq!(authorize(&p, &attrs), Decision::deny());
        let want =
            r#"User "demo" cannot list resource "nodes" in API group "" at the cluster scope"#;
        assert_eq!(forbidden_message(&attrs), want);
    }

    #[test]
    fn view_has_no_nodes_but_a_role_that_lists_them_does() {
        let view = binding("demo-view", None, "ClusterRole/view", &["User:demo"]);
        let (p, u) = (cluster(std::slice::from_ref(&view)), demo());
        assert!(!can(&p, &u, "list nodes"));
        assert!(can(&p, &u, "list pods @default"));
        assert!(
            can(&p, &u, "list pods"),
            "a ClusterRoleBinding reaches every namespace"
        );
        assert!(
            !can(&p, &u, "get secrets @default"),
            "view never reads secrets"
        );

        let nodes = role("node-reader", None, &["list | core | nodes"]);
        let bind = binding(
            "demo-nodes",
            None,
            "ClusterRole/node-reader",
            &["User:demo"],
        );
        let p = cluster(&[view, nodes, bind]);
        assert_eq!(
            reason(&p, &u, "list nodes"),
            r#"RBAC: allowed by ClusterRoleBinding "demo-nodes" of ClusterRole "node-reader" to User "demo""#
        );
    }

    #[test]
    fn a_rolebinding_grants_only_in_its_namespace() {
        let (p, u) = (
            cluster(&[binding("e", Some("a"), "ClusterRole/edit", &["User:demo"])]),
            demo(),
        );
        assert_eq!(
            reason(&p, &u, "create deployments.apps @a"),
            r#"RBAC: allowed by RoleBinding "e/a" of ClusterRole "edit" to User "demo""#
        );
        assert!(!can(&p, &u, "create deployments.apps @b"));
        assert!(
            !can(&p, &u, "list deployments.apps"),
            "not across namespaces"
        );
        assert!(can(&p, &u, "create pods/exec web @a"));
        assert!(
            !can(&p, &u, "create roles.rbac.authorization.k8s.io @a"),
            "admin's, not edit's"
        );

        // A Role serves RoleBindings of its own namespace, and never ClusterRoleBindings.
        let p = policy(&[
            role("reader", Some("a"), &["get | core | configmaps"]),
            binding("r", Some("a"), "Role/reader", &["User:demo"]),
            binding("r", Some("b"), "Role/reader", &["User:demo"]),
            binding("c", None, "Role/reader", &["User:demo"]),
        ]);
        assert!(can(&p, &u, "get configmaps @a"));
        assert!(!can(&p, &u, "get configmaps @b"));
        assert!(!can(&p, &u, "get configmaps"));
    }

    #[test]
    fn rule_matching() {
        let names = "get update list create | core | configmaps | cfg";
        let cases = [
            (names, "get configmaps cfg @ns", true),
            (names, "update configmaps cfg @ns", true),
            (names, "get configmaps other @ns", false),
            (names, "list configmaps @ns", false),
            (names, "create configmaps @ns", false),
            (names, "delete configmaps cfg @ns", false),
            ("get | core | pods/log", "get pods/log web @ns", true),
            ("get | core | pods/log", "get pods web @ns", false),
            ("get | core | pods", "get pods/log web @ns", false),
            ("get | core | pods", "get pods.apps web @ns", false),
            (
                "update | * | */scale",
                "update deployments.apps/scale web @ns",
                true,
            ),
            (
                "update | * | */scale",
                "update deployments.apps web @ns",
                false,
            ),
            (
                "* | * | *",
                "escalate clusterroles.rbac.authorization.k8s.io x",
                true,
            ),
            ("* | * | *", "get pods/exec @ns", true),
            ("* | * | *", "get /healthz", false),
            ("get | /healthz /apis/*", "get /healthz", true),
            ("get | /healthz /apis/*", "get /healthz/etcd", false),
            ("get | /healthz /apis/*", "get /apis/apps/v1", true),
            ("get | /healthz /apis/*", "get /apis", false),
            ("get | /healthz /apis/*", "post /healthz", false),
            ("* | *", "get /openapi/v3", true),
            ("* | *", "get pods @ns", false),
        ];
        let u = demo();
        for (rule, req, allowed) in cases {
            let r = role("r", None, &[rule]);
            let p = policy(&[r, binding("b", None, "ClusterRole/r", &["User:demo"])]);
            assert_eq!(can(&p, &u, req), allowed, "{rule} / {req}");
        }
    }

    #[test]
    fn service_account_subjects() {
        let sa = user(
            "system:serviceaccount:ci:builder",
            &["system:serviceaccounts"],
        );
        let p = policy(&[
            role("r", None, &["list | core | pods"]),
            binding(
                "local",
                Some("ci"),
                "ClusterRole/r",
                &["ServiceAccount:builder"],
            ),
            binding(
                "unqualified",
                None,
                "ClusterRole/r",
                &["ServiceAccount:builder"],
            ),
        ]);
        assert_eq!(
            reason(&p, &sa, "list pods @ci"),
            r#"RBAC: allowed by RoleBinding "local/ci" of ClusterRole "r" to ServiceAccount "builder/ci""#
        );
        assert!(
            !can(&p, &sa, "list pods @prod"),
            "no namespace to default to cluster-wide"
        );

        let everywhere = binding("g", None, "ClusterRole/r", &["ServiceAccount:ci/builder"]);
        let p = policy(&[role("r", None, &["list | core | pods"]), everywhere]);
        assert!(can(&p, &sa, "list pods @prod"));
        assert!(!can(
            &p,
            &user("system:serviceaccount:dev:builder", &[]),
            "list pods @dev"
        ));
        assert!(!can(&p, &user("builder", &[]), "list pods @ci"));
    }

    #[test]
    fn aggregation_reaches_view_edit_and_admin() {
        let mut widgets = role("widget-viewer", None, &["get | example.com | widgets"]);
        widgets["metadata"]["labels"] =
            json!({"rbac.authorization.k8s.io/aggregate-to-view": "true"});
        let p = cluster(&[widgets]);
        let rule =
            json!({"verbs": ["get"], "apiGroups": ["example.com"], "resources": ["widgets"]});
        let has = |role: &str, r: &Value| {
            p.cluster_role_rules(role)
                .unwrap()
                .as_array()
                .unwrap()
                .contains(r)
        };
        for name in ["view", "edit", "admin"] {
            assert!(has(name, &rule), "{name}");
        }
        let roles = json!({"verbs": ["get", "list", "watch", "create", "delete", "deletecollection", "patch", "update"],
            "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings", "roles"]});
        assert!(has("admin", &roles) && !has("edit", &roles));

        // matchExpressions; a malformed selector and the role itself never add anything.
        let labelled = |name: &str, labels: Value, verb: &str| {
            let mut r = role(name, None, &[&format!("{verb} | core | pods")]);
            r["metadata"]["labels"] = labels;
            r
        };
        let mut agg = labelled("agg", json!({"tier": "a", "team": "t"}), "own");
        agg["aggregationRule"] = json!({"clusterRoleSelectors": [{"matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["a", "b"]},
            {"key": "team", "operator": "Exists"},
            {"key": "skip", "operator": "DoesNotExist"},
            {"key": "env", "operator": "NotIn", "values": ["prod"]},
        ]}, {"matchExpressions": [{"key": "x", "operator": "Bogus"}]}]});
        let p = policy(&[
            agg,
            labelled(
                "yes",
                json!({"tier": "b", "team": "t", "env": "dev"}),
                "get",
            ),
            labelled(
                "prod",
                json!({"tier": "b", "team": "t", "env": "prod"}),
                "list",
            ),
            labelled(
                "skipped",
                json!({"tier": "a", "team": "t", "skip": ""}),
                "watch",
            ),
            labelled("no-team", json!({"tier": "a"}), "delete"),
            labelled("x", json!({"x": "1"}), "patch"),
        ]);
        let rules = p.cluster_role_rules("agg").unwrap();
        assert_eq!(
            rules,
            json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}])
        );
    }

    #[test]
    fn bootstrap_policy_serves_every_user_and_the_components() {
        for o in bootstrap_policy() {
            let meta = &o["metadata"];
            assert_eq!(
                meta["labels"]["kubernetes.io/bootstrapping"],
                "rbac-defaults"
            );
            assert_eq!(
                meta["annotations"]["rbac.authorization.kubernetes.io/autoupdate"],
                "true"
            );
            for r in o["rules"].as_array().into_iter().flatten() {
                assert!(r["verbs"].as_array().is_some_and(|v| !v.is_empty()), "{r}");
            }
        }
        let (p, u) = (cluster(&[]), demo());
        assert_eq!(
            reason(
                &p,
                &u,
                "create selfsubjectaccessreviews.authorization.k8s.io"
            ),
            r#"RBAC: allowed by ClusterRoleBinding "system:basic-user" of ClusterRole "system:basic-user" to Group "system:authenticated""#
        );
        for path in ["/version", "/apis/apps", "/api", "/openapi/v3", "/healthz"] {
            assert!(can(&p, &u, &format!("get {path}")), "{path}");
        }
        assert!(!can(&p, &u, "get /metrics"));
        assert!(!can(&p, &u, "list pods @default"));

        let kubelet = user("system:node:n1", &["system:nodes", "system:authenticated"]);
        assert!(can(&p, &kubelet, "patch nodes/status n1"));
        assert!(can(
            &p,
            &kubelet,
            "update leases.coordination.k8s.io n1 @kube-node-lease"
        ));
        assert!(can(&p, &kubelet, "create pods @kube-system"));
        assert!(!can(&p, &kubelet, "delete nodes n1"));
        let proxy = user("system:kube-proxy", &[]);
        assert!(can(&p, &proxy, "watch endpointslices.discovery.k8s.io"));
        let scheduler = user("system:kube-scheduler", &[]);
        assert!(can(&p, &scheduler, "create pods/binding web @a"));
        let lease = "leases.coordination.k8s.io";
        assert!(can(
            &p,
            &scheduler,
            &format!("update {lease} kube-scheduler @kube-system")
        ));
        assert!(!can(
            &p,
            &scheduler,
            &format!("update {lease} kube-controller-manager @kube-system")
        ));
        assert!(can(
            &p,
            &user("system:kube-controller-manager", &[]),
            "watch deployments.apps"
        ));
        let all = json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]});
        assert!(
            rules_for(&p, &user("admin", &["system:masters"]), None)
                .0
                .contains(&all)
        );
    }

    #[test]
    fn rules_for_lists_what_the_bindings_grant() {
        let p = policy(&[
            role(
                "r",
                None,
                &["get | core | configmaps | cfg", "get | /healthz"],
            ),
            role("local", Some("a"), &["list | apps | deployments"]),
            binding("b", None, "ClusterRole/r", &["User:demo"]),
            binding("l", Some("a"), "Role/local", &["User:demo"]),
        ]);
        let u = demo();
        let cfg = json!({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cfg"]});
        let deploys =
            json!({"verbs": ["list"], "apiGroups": ["apps"], "resources": ["deployments"]});
        let healthz = json!({"verbs": ["get"], "nonResourceURLs": ["/healthz"]});
        let in_a = (vec![cfg.clone(), deploys], vec![healthz.clone()]);
        assert_eq!(rules_for(&p, &u, Some("a")), in_a);
        assert_eq!(rules_for(&p, &u, None), (vec![cfg], vec![healthz]));
        assert_eq!(
            rules_for(&p, &user("nobody", &[]), Some("a")),
            (vec![], vec![])
        );
    }

    #[test]
    fn malformed_objects_are_skipped() {
        let bind = json!({"kind": "ClusterRole", "name": "r"});
        let junk = [
            json!(null),
            json!(42),
            json!("role"),
            json!({}),
            json!({"metadata": {"name": 7}}),
            json!({"metadata": {"name": "r"}, "rules": "all"}),
            json!({"metadata": {"name": "r2"}, "rules": [null, 1, {"verbs": "get", "resources": [1]}]}),
            json!({"metadata": {"name": "b"}, "roleRef": "r"}),
            json!({"metadata": {"name": "b2"}, "roleRef": bind, "subjects": {"kind": "User"}}),
            json!({"metadata": {"name": "b3"}, "roleRef": bind, "subjects": [null, {"kind": 1}]}),
            json!({"metadata": {"name": "agg", "labels": "x"},
                   "aggregationRule": {"clusterRoleSelectors": [null, {"matchLabels": {"a": 1}}]}}),
            json!({"metadata": {"name": "agg2"}, "aggregationRule": {"clusterRoleSelectors": "all"}}),
        ];
        let good = [
            role("ok", None, &["get | core | pods"]),
            binding("ok-binding", None, "ClusterRole/ok", &["User:demo"]),
        ];
        // Every object offered as every kind.
        let all: Vec<Value> = junk.iter().chain(&good).cloned().collect();
        let (p, u) = (Policy::new(&all, &all, &all, &all), demo());
        assert!(can(&p, &u, "get pods @a"));
        assert!(!can(&p, &u, "list pods @a"));
        assert_eq!(p.cluster_role_rules("agg"), Some(json!([])));
    }

    #[test]
    fn forbidden_messages() {
        let u = demo();
        let cases = [
            (
                "get pods web @default",
                r#"User "demo" cannot get resource "pods" in API group "" in the namespace "default""#,
            ),
            (
                "get pods/log web @default",
                r#"User "demo" cannot get resource "pods/log" in API group "" in the namespace "default""#,
            ),
            (
                "list deployments.apps @",
                r#"User "demo" cannot list resource "deployments" in API group "apps" at the cluster scope"#,
            ),
            ("get /healthz", r#"User "demo" cannot get path "/healthz""#),
        ];
        for (req, want) in cases {
            assert_eq!(forbidden_message(&ask(&u, req)), want);
        }
        let cases = [
            (
                "get pods/log web @default",
                "",
                r#"pods "web" is forbidden: User "demo" cannot get resource "pods/log" in API group "" in the namespace "default""#,
            ),
            (
                "list deployments.apps @a",
                "RBAC: x",
                r#"deployments.apps is forbidden: User "demo" cannot list resource "deployments" in API group "apps" in the namespace "a": RBAC: x"#,
            ),
            (
                "get /version",
                "",
                r#"forbidden: User "demo" cannot get path "/version""#,
            ),
        ];
        for (req, reason, want) in cases {
            assert_eq!(forbidden_status_message(&ask(&u, req), reason), want);
        }
        let odd = user("a\"<b>\n", &[]);
        let want = r#"forbidden: User "a\"&lt;b&gt;\n" cannot get path "/x""#;
        assert_eq!(forbidden_status_message(&ask(&odd, "get /x"), ""), want);
    }
}
