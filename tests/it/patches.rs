//! kubectl's writing commands on the builtin apiserver: server-side and client-side apply,
//! edit, patch of every type, set image, scale, taint, cordon, rollout undo — the requests
//! kubectl really sends (../shared/KUBECTL-CONTRACT.md §1, §5), outputs asserted.

use serde_json::Value;

use crate::apiserver::Api;
use crate::util::{self, ok, stderr, stdout};

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web, tier: fe}\nspec:\n  replicas: 3\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: nginx\n        image: nginx:1.27\n        ports:\n        - containerPort: 80\n";

fn get_json(api: &Api, what: &[&str]) -> Value {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    args.extend_from_slice(&["-o", "json", "--show-managed-fields"]);
    serde_json::from_str(&stdout(&ok(api.kubectl(&args), "get -o json"))).unwrap()
}

#[test]
fn server_side_apply_owns_fields_conflicts_and_forces() {
    if !util::require(
        "kubectl",
        "server_side_apply_owns_fields_conflicts_and_forces",
    ) {
        return;
    }
    let api = Api::start();
    let ssa = ["apply", "--server-side", "-f", "-"];
    let out = ok(api.apply_stdin(&ssa, DEPLOY), "first apply --server-side");
    assert_eq!(
        stdout(&out).trim(),
        "deployment.apps/web serverside-applied"
    );
    let d = get_json(&api, &["deploy", "web"]);
    let mf = &d["metadata"]["managedFields"][0];
    assert_eq!(mf["manager"], "kubectl", "{d}");
    assert_eq!(mf["operation"], "Apply", "{d}");

    // Another manager changes replicas: re-applying the old value conflicts on that field.
    ok(
        api.kubectl(&["scale", "deploy", "web", "--replicas=5"]),
        "scale",
    );
    let refused = api.apply_stdin(&ssa, DEPLOY);
    assert!(!refused.status.success());
    let err = stderr(&refused);
    assert!(
        err.contains(
            "Apply failed with 1 conflict: conflict with \"kubectl\" using apps/v1: .spec.replicas"
        ),
        "{err}"
    );
    assert!(err.contains("--force-conflicts"), "{err}");
    assert_eq!(get_json(&api, &["deploy", "web"])["spec"]["replicas"], 5);

    // Forcing takes the field back.
    let forced = ["apply", "--server-side", "--force-conflicts", "-f", "-"];
    ok(api.apply_stdin(&forced, DEPLOY), "apply --force-conflicts");
    assert_eq!(get_json(&api, &["deploy", "web"])["spec"]["replicas"], 3);

    // A label the manager no longer applies is removed; one it keeps stays.
    let without_tier = DEPLOY.replace("{app: web, tier: fe}", "{app: web}");
    ok(api.apply_stdin(&ssa, &without_tier), "apply without tier");
    let d = get_json(&api, &["deploy", "web"]);
    assert_eq!(
        d["metadata"]["labels"],
        serde_json::json!({"app": "web"}),
        "{d}"
    );

    // An unknown field: refused under Strict; under Warn dropped before the apply, so no
    // manager is recorded as owning a field the object cannot have.
    let typo = without_tier.replace("  replicas: 3", "  replicas: 3\n  replicass: 3");
    let refused = api.apply_stdin(&ssa, &typo);
    assert!(
        stderr(&refused).contains("strict decoding error: unknown field \"spec.replicass\""),
        "{}",
        stderr(&refused)
    );
    let warn = ["apply", "--server-side", "--validate=warn", "-f", "-"];
    let warned = ok(
        api.apply_stdin(&warn, &typo),
        "apply --server-side --validate=warn",
    );
    assert!(
        stderr(&warned).contains("unknown field \"spec.replicass\""),
        "{}",
        stderr(&warned)
    );
    let d = get_json(&api, &["deploy", "web"]);
    assert!(d["spec"].get("replicass").is_none(), "{d}");
    assert_ne!(d.get("status"), Some(&Value::Null), "{d}");
    assert!(
        !d["metadata"]["managedFields"]
            .to_string()
            .contains("replicass"),
        "{d}"
    );

    // Another field manager applying a different image conflicts with kubectl's.
    let other = ["apply", "--server-side", "--field-manager=ci", "-f", "-"];
    let image = without_tier.replace("nginx:1.27", "nginx:1.28");
    let err = stderr(&api.apply_stdin(&other, &image));
    assert!(
        err.contains("conflict with \"kubectl\" using apps/v1: .spec.template.spec.containers[name=\"nginx\"].image"),
        "{err}"
    );
}

#[test]
fn client_side_apply_diff_edit_replace_and_field_validation() {
    let test = "client_side_apply_diff_edit_replace_and_field_validation";
    if !util::require("kubectl", test) || !util::require("curl", test) {
        return;
    }
    let api = Api::start();
    let apply = ["apply", "-f", "-"];
    let out = ok(api.apply_stdin(&apply, DEPLOY), "apply (create)");
    assert_eq!(stdout(&out).trim(), "deployment.apps/web created");
    let d = get_json(&api, &["deploy", "web"]);
    assert!(
        d["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .is_string(),
        "{d}"
    );
    let out = ok(api.apply_stdin(&apply, DEPLOY), "apply (same)");
    assert_eq!(stdout(&out).trim(), "deployment.apps/web unchanged");

    // A second container, then a changed image: a 3-way strategic merge patch.
    let two = DEPLOY.replace(
        "        ports:\n        - containerPort: 80\n",
        "        ports:\n        - containerPort: 80\n      - name: side\n        image: busybox\n",
    );
    let out = ok(api.apply_stdin(&apply, &two), "apply (configured)");
    assert_eq!(stdout(&out).trim(), "deployment.apps/web configured");
    // kubectl diff: exit 1 with the change shown, nothing changed on the server.
    let newer = two.replace("nginx:1.27", "nginx:1.28");
    let diff = api.apply_stdin(&["diff", "-f", "-"], &newer);
    assert_eq!(diff.status.code(), Some(1), "{}", stderr(&diff));
    assert!(
        stdout(&diff).contains("+      - image: nginx:1.28"),
        "{}",
        stdout(&diff)
    );
    // Removing the side container through apply deletes it by its merge key.
    let out = ok(
        api.apply_stdin(
            &apply,
            &newer.replace("      - name: side\n        image: busybox\n", ""),
        ),
        "apply (remove)",
    );
    assert_eq!(stdout(&out).trim(), "deployment.apps/web configured");
    let d = get_json(&api, &["deploy", "web"]);
    let containers = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 1, "{d}");
    assert_eq!(containers[0]["image"], "nginx:1.28");
    assert_eq!(containers[0]["ports"][0]["containerPort"], 80);

    // Unknown fields: refused with upstream's words, nothing stored.
    let typo = DEPLOY.replace("  replicas: 3", "  replicass: 3");
    let refused = api.apply_stdin(&apply, &typo);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("strict decoding error: unknown field \"spec.replicass\""),
        "{}",
        stderr(&refused)
    );
    let warned = ok(
        api.apply_stdin(&["apply", "--validate=warn", "-f", "-"], &typo),
        "apply --validate=warn",
    );
    assert!(
        stderr(&warned).contains("unknown field \"spec.replicass\""),
        "{}",
        stderr(&warned)
    );

    // A field given twice: kubectl collapses them, so the raw request goes by curl.
    let dup = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup"},"data":{"a":"1","a":"2"}}"#;
    let path = "/api/v1/namespaces/default/configmaps";
    let refused = api.curl("POST", &format!("{path}?fieldValidation=Strict"), Some(dup));
    assert_eq!(refused["code"], 400, "{refused}");
    assert_eq!(
        refused["message"], "strict decoding error: duplicate field \"data.a\"",
        "{refused}"
    );
    let created = api.curl("POST", path, Some(dup));
    assert_eq!(created["data"]["a"], "2", "the last one counts: {created}");

    // kubectl edit with a non-interactive editor: only the changed field is patched.
    let dir = tempfile::tempdir().unwrap();
    let editor = dir.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/^  replicas: [0-9]*/  replicas: 4/' \"$1\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let edited = std::process::Command::new("kubectl")
        .env(
            "KUBECONFIG",
            api.tc.data.join("kubeconfig/admin.kubeconfig"),
        )
        .env("KUBE_EDITOR", &editor)
        .args(["edit", "deploy/web"])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&edited).trim(),
        "deployment.apps/web edited",
        "{}",
        stderr(&edited)
    );
    assert_eq!(get_json(&api, &["deploy", "web"])["spec"]["replicas"], 4);

    // kubectl replace: the whole object, with the resourceVersion it read.
    let mut d = get_json(&api, &["deploy", "web"]);
    d["spec"]["replicas"] = 2.into();
    d["metadata"]["managedFields"] = Value::Null;
    let out = ok(
        api.apply_stdin(&["replace", "-f", "-"], &d.to_string()),
        "replace",
    );
    assert_eq!(stdout(&out).trim(), "deployment.apps/web replaced");
    // The same, now stale, resourceVersion: 409, from a server dry run too.
    for args in [
        &["replace", "-f", "-"][..],
        &["replace", "--dry-run=server", "-f", "-"],
    ] {
        let stale = api.apply_stdin(args, &d.to_string());
        assert!(
            stderr(&stale).contains("Operation cannot be fulfilled"),
            "{args:?}: {}",
            stderr(&stale)
        );
    }
    // A current one passes the dry run, which writes nothing.
    let current = get_json(&api, &["deploy", "web"]);
    d["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
    d["spec"]["replicas"] = 7.into();
    ok(
        api.apply_stdin(&["replace", "--dry-run=server", "-f", "-"], &d.to_string()),
        "replace --dry-run=server",
    );
    let after = get_json(&api, &["deploy", "web"]);
    assert_eq!(after["spec"]["replicas"], 2);
    assert_eq!(
        after["metadata"]["resourceVersion"],
        current["metadata"]["resourceVersion"]
    );

    // kubectl explain reads /openapi/v3.
    let explain = stdout(&ok(
        api.kubectl(&["explain", "deployment.spec.replicas"]),
        "explain",
    ));
    assert!(explain.contains("FIELD: replicas <integer>"), "{explain}");
}

#[test]
fn patch_types_set_image_scale_and_rollout_commands() {
    if !util::require(
        "kubectl",
        "patch_types_set_image_scale_and_rollout_commands",
    ) {
        return;
    }
    let api = Api::start();
    ok(api.apply_stdin(&["apply", "-f", "-"], DEPLOY), "apply");
    let jp = |path: &str| -> String {
        stdout(&ok(
            api.kubectl(&["get", "deploy", "web", "-o", &format!("jsonpath={path}")]),
            "get jsonpath",
        ))
    };
    // All three --type values of kubectl patch.
    ok(
        api.kubectl(&["patch", "deploy", "web", "--type", "json", "-p", r#"[{"op":"test","path":"/spec/replicas","value":3},{"op":"replace","path":"/spec/replicas","value":1}]"#]),
        "patch --type json",
    );
    assert_eq!(jp("{.spec.replicas}"), "1");
    let failed_test = api.kubectl(&[
        "patch",
        "deploy",
        "web",
        "--type",
        "json",
        "-p",
        r#"[{"op":"test","path":"/spec/replicas","value":9}]"#,
    ]);
    assert!(!failed_test.status.success());
    ok(
        api.kubectl(&[
            "patch",
            "deploy",
            "web",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"minReadySeconds":5}}"#,
        ]),
        "patch --type merge",
    );
    assert_eq!(jp("{.spec.minReadySeconds}"), "5");
    ok(
        api.kubectl(&["patch", "deploy", "web", "--type", "strategic", "-p", r#"{"spec":{"template":{"spec":{"containers":[{"name":"nginx","env":[{"name":"MODE","value":"demo"}]}]}}}}"#]),
        "patch --type strategic",
    );
    assert_eq!(
        jp("{.spec.template.spec.containers[0].env[0].value}"),
        "demo"
    );
    assert_eq!(
        jp("{.spec.template.spec.containers[0].image}"),
        "nginx:1.27"
    );

    ok(
        api.kubectl(&["set", "image", "deploy/web", "nginx=nginx:1.28"]),
        "set image",
    );
    assert_eq!(
        jp("{.spec.template.spec.containers[0].image}"),
        "nginx:1.28"
    );
    ok(
        api.kubectl(&["scale", "deploy", "web", "--replicas=4"]),
        "scale",
    );
    assert_eq!(jp("{.spec.replicas}"), "4");

    ok(
        api.kubectl(&["rollout", "pause", "deploy/web"]),
        "rollout pause",
    );
    assert_eq!(jp("{.spec.paused}"), "true");
    ok(
        api.kubectl(&["rollout", "resume", "deploy/web"]),
        "rollout resume",
    );
    assert_eq!(jp("{.spec.paused}"), "");
    let restart = ok(
        api.kubectl(&["rollout", "restart", "deploy/web"]),
        "rollout restart",
    );
    assert_eq!(stdout(&restart).trim(), "deployment.apps/web restarted");
    assert!(
        !jp("{.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}")
            .is_empty()
    );

    // rollout undo reads the history from ReplicaSets the deployment controls. The
    // controller-manager writes them; here the test writes revision 1 as it would.
    let d = get_json(&api, &["deploy", "web"]);
    let rs = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {
            "name": "web-1111", "labels": {"app": "web", "pod-template-hash": "1111"},
            "annotations": {"deployment.kubernetes.io/revision": "1"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                "uid": d["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}],
        },
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "1111"}},
            "template": {"metadata": {"labels": {"app": "web", "pod-template-hash": "1111"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.26"}]}}},
    });
    ok(
        api.apply_stdin(&["create", "-f", "-"], &rs.to_string()),
        "create history",
    );
    let history = stdout(&ok(
        api.kubectl(&["rollout", "history", "deploy/web"]),
        "history",
    ));
    assert!(history.contains("REVISION"), "{history}");
    let undo = ok(
        api.kubectl(&["rollout", "undo", "deploy/web", "--to-revision=1"]),
        "rollout undo",
    );
    assert_eq!(stdout(&undo).trim(), "deployment.apps/web rolled back");
    assert_eq!(
        jp("{.spec.template.spec.containers[0].image}"),
        "nginx:1.26"
    );
    assert_eq!(jp("{.spec.template.metadata.labels}"), r#"{"app":"web"}"#);
}

#[test]
fn taint_cordon_and_drain_a_node() {
    if !util::require("kubectl", "taint_cordon_and_drain_a_node") {
        return;
    }
    let api = Api::start();
    // A node as a kubelet registers it (the kubelet is issue 7), and a pod bound to it.
    let node = r#"{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1","labels":{"kubernetes.io/hostname":"n1"}}}"#;
    ok(api.apply_stdin(&["create", "-f", "-"], node), "create node");
    let taints = || -> String {
        stdout(&ok(
            api.kubectl(&["get", "node", "n1", "-o", "jsonpath={.spec.taints}"]),
            "get taints",
        ))
    };
    ok(
        api.kubectl(&[
            "taint",
            "node",
            "n1",
            "node-role.kubernetes.io/control-plane:NoSchedule",
        ]),
        "taint",
    );
    ok(
        api.kubectl(&["taint", "node", "n1", "dedicated=demo:NoExecute"]),
        "taint 2",
    );
    let t = taints();
    assert!(
        t.contains("control-plane") && t.contains("dedicated"),
        "{t}"
    );
    ok(
        api.kubectl(&[
            "taint",
            "node",
            "n1",
            "node-role.kubernetes.io/control-plane:NoSchedule-",
        ]),
        "untaint",
    );
    let t = taints();
    assert!(
        !t.contains("control-plane") && t.contains("dedicated"),
        "{t}"
    );
    ok(
        api.kubectl(&["taint", "node", "n1", "dedicated-"]),
        "untaint last",
    );
    assert_eq!(taints(), "");

    let out = ok(api.kubectl(&["cordon", "n1"]), "cordon");
    assert_eq!(stdout(&out).trim(), "node/n1 cordoned");
    let out = ok(api.kubectl(&["uncordon", "n1"]), "uncordon");
    assert_eq!(stdout(&out).trim(), "node/n1 uncordoned");

    let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1"},"spec":{"nodeName":"n1","containers":[{"name":"c","image":"busybox"}]}}"#;
    ok(api.apply_stdin(&["create", "-f", "-"], pod), "create pod");
    let drained = ok(
        api.kubectl(&[
            "drain",
            "n1",
            "--force",
            "--grace-period=0",
            "--timeout=30s",
        ]),
        "drain",
    );
    let out = stdout(&drained);
    assert!(out.contains("node/n1 cordoned"), "{out}");
    assert!(out.contains("pod/p1 evicted"), "{out}");
    assert!(out.contains("node/n1 drained"), "{out}");
}
