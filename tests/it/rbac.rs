//! RBAC on the builtin apiserver, as ../shared/seeds/002 tells it: a new user made with
//! `kwb user create` is refused until a binding grants access, then may do exactly what
//! the role says; `kubectl auth can-i` and `--as` agree with what requests get.

use std::process::{Command, Output};

use crate::apiserver::Api;
use crate::util::{self, ok, stderr, stdout};

/// kubectl as the user whose kubeconfig is at `kubeconfig`, with a discovery cache of its own.
fn kubectl_as(kubeconfig: &std::path::Path, cache: &std::path::Path, args: &[&str]) -> Output {
    Command::new("kubectl")
        .env("KUBECONFIG", kubeconfig)
        .arg(format!("--cache-dir={}", cache.display()))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_new_user_is_refused_until_a_binding_grants_exactly_its_role() {
    if !util::require(
        "kubectl",
        "a_new_user_is_refused_until_a_binding_grants_exactly_its_role",
    ) {
        return;
    }
    let api = Api::start();
    let made = ok(
        api.tc
            .run(&["user", "create", "demo", "--groups", "workshop"]),
        "kwb user create",
    );
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("demo.kubeconfig");
    std::fs::write(&kubeconfig, &made.stdout).unwrap();
    let cache = dir.path().join("cache");
    let demo = |args: &[&str]| kubectl_as(&kubeconfig, &cache, args);

    let whoami = stdout(&ok(demo(&["auth", "whoami", "-o", "json"]), "whoami"));
    assert!(whoami.contains("\"username\": \"demo\""), "{whoami}");
    assert!(whoami.contains("workshop"), "{whoami}");

    // Nothing granted yet: refused, in upstream's words.
    let nodes = demo(&["get", "nodes"]);
    assert!(!nodes.status.success());
    assert_eq!(
        stderr(&nodes).trim(),
        "Error from server (Forbidden): nodes is forbidden: User \"demo\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"
    );
    let can = demo(&["auth", "can-i", "list", "pods"]);
    assert_eq!(stdout(&can).trim(), "no");
    assert_eq!(can.status.code(), Some(1));

    // view in default: reads there, nothing else.
    ok(
        api.kubectl(&[
            "create",
            "rolebinding",
            "demo-view",
            "--clusterrole=view",
            "--user=demo",
            "-n",
            "default",
        ]),
        "create rolebinding",
    );
    let pods = demo(&["get", "pods"]);
    assert!(pods.status.success(), "{}", stderr(&pods));
    let other_ns = demo(&["get", "pods", "-n", "kube-system"]);
    assert!(
        stderr(&other_ns).contains(
            "User \"demo\" cannot list resource \"pods\" in API group \"\" in the namespace \"kube-system\""
        ),
        "{}",
        stderr(&other_ns)
    );
    let create = demo(&["create", "configmap", "x"]);
    assert!(
        stderr(&create).contains("User \"demo\" cannot create resource \"configmaps\""),
        "{}",
        stderr(&create)
    );
    let secrets = demo(&["get", "secrets"]);
    assert!(!secrets.status.success(), "view does not read secrets");
    assert_eq!(
        stdout(&demo(&["auth", "can-i", "list", "pods"])).trim(),
        "yes"
    );
    assert_eq!(
        stdout(&demo(&["auth", "can-i", "create", "deployments"])).trim(),
        "no"
    );
    let list = stdout(&ok(demo(&["auth", "can-i", "--list"]), "can-i --list"));
    assert!(
        list.lines()
            .any(|l| l.starts_with("pods ") && l.contains("[get list watch]")),
        "{list}"
    );

    // A binding to the group works too: edit for group workshop.
    ok(
        api.kubectl(&[
            "create",
            "rolebinding",
            "workshop-edit",
            "--clusterrole=edit",
            "--group=workshop",
            "-n",
            "default",
        ]),
        "create rolebinding for the group",
    );
    ok(demo(&["create", "configmap", "x"]), "create as an editor");
    // Deleting the binding takes the right away again.
    ok(
        api.kubectl(&["delete", "rolebinding", "workshop-edit"]),
        "delete rolebinding",
    );
    // The policy follows the deletion through a watch: wait until it has (a bounded wait on
    // the condition itself, not a sleep), then a write is refused in upstream's words.
    let revoked = (0..50).any(|_| {
        let can = stdout(&demo(&["auth", "can-i", "create", "configmaps"]));
        can.trim() == "no" || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            false
        }
    });
    assert!(revoked, "the binding's deletion never reached the policy");
    let again = demo(&["create", "configmap", "y"]);
    assert!(
        stderr(&again).contains("User \"demo\" cannot create resource \"configmaps\""),
        "{}",
        stderr(&again)
    );

    // The admin (system:masters) may impersonate; demo may not.
    let as_demo = api.kubectl(&["auth", "can-i", "list", "nodes", "--as", "demo"]);
    assert_eq!(stdout(&as_demo).trim(), "no");
    let as_demo_pods = ok(
        api.kubectl(&["get", "cm", "x", "-o", "name", "--as", "demo"]),
        "get --as demo",
    );
    assert_eq!(stdout(&as_demo_pods).trim(), "configmap/x");
    let refused = demo(&["get", "pods", "--as", "bob"]);
    assert!(
        stderr(&refused).contains(
            "users \"bob\" is forbidden: User \"demo\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
        ),
        "{}",
        stderr(&refused)
    );

    // Aggregated roles carry the rules they aggregate, as upstream's controller writes them.
    let mut view_rules = String::new();
    for _ in 0..50 {
        view_rules =
            stdout(&api.kubectl(&["get", "clusterrole", "view", "-o", "jsonpath={.rules}"]));
        if view_rules.contains("pods") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(view_rules.contains("pods"), "{view_rules}");

    // The bindings list as kubectl shows them.
    let bindings = stdout(&ok(api.kubectl(&["get", "rolebindings", "-o", "wide"]), ""));
    assert!(
        bindings.contains("demo-view") && bindings.contains("ClusterRole/view"),
        "{bindings}"
    );
}
