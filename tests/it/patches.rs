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

    // Another field manager applying a different image conflicts with kubectl's.
    let other = ["apply", "--server-side", "--field-manager=ci", "-f", "-"];
    let image = without_tier.replace("nginx:1.27", "nginx:1.28");
    let err = stderr(&api.apply_stdin(&other, &image));
    assert!(
        err.contains("conflict with \"kubectl\" using apps/v1: .spec.template.spec.containers[name=\"nginx\"].image"),
        "{err}"
    );
}
