//! CustomResourceDefinitions on the builtin apiserver, driven by real kubectl: a CRD and its
//! objects applied from one file, printer columns, schema defaults and validation, unknown
//! fields, the status and scale subresources, explain, several versions, and deletion.

use serde_json::Value;

use crate::apiserver::Api;
use crate::util::{self, ok, stderr, stdout};

const WIDGETS: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wg]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas, labelSelectorPath: .status.selector}
    additionalPrinterColumns:
    - {name: Size, type: string, jsonPath: .spec.size}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: string, enum: [small, medium, large], description: How big the widget is.}
              replicas: {type: integer, minimum: 0, default: 1}
              color: {type: string, default: blue}
          status:
            type: object
            properties:
              replicas: {type: integer}
              selector: {type: string}
"#;

const W1: &str = r#"apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
spec:
  size: small
"#;

fn get_json(api: &Api, what: &[&str]) -> Value {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    args.extend_from_slice(&["-o", "json"]);
    serde_json::from_str(&stdout(&ok(api.kubectl(&args), "get -o json"))).unwrap()
}

#[test]
fn a_crd_serves_its_objects_with_schema_columns_and_subresources() {
    let test = "a_crd_serves_its_objects_with_schema_columns_and_subresources";
    if !util::require("kubectl", test) {
        return;
    }
    let api = Api::start();
    // An object can be created as soon as its definition's create is answered. (As upstream,
    // kubectl cannot do both from one file: it maps every document before sending any.)
    let out = ok(
        api.apply_stdin(&["apply", "-f", "-"], WIDGETS),
        "apply the CRD",
    );
    assert_eq!(
        stdout(&out).trim(),
        "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created"
    );
    let out = ok(api.apply_stdin(&["apply", "-f", "-"], W1), "apply a widget");
    assert_eq!(stdout(&out).trim(), "widget.example.com/w1 created");
    let crd = get_json(&api, &["crd", "widgets.example.com"]);
    let established = crd["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "Established" && c["status"] == "True");
    assert!(established, "{crd}");
    ok(
        api.kubectl(&[
            "wait",
            "--for=condition=established",
            "crd/widgets.example.com",
            "--timeout=10s",
        ]),
        "kubectl wait established",
    );

    // Defaults from the schema; the short name and the printer columns.
    let w = get_json(&api, &["wg", "w1"]);
    assert_eq!(w["spec"]["color"], "blue", "{w}");
    assert_eq!(w["spec"]["replicas"], 1, "{w}");
    assert_eq!(w["metadata"]["generation"], 1, "{w}");
    let table = stdout(&ok(api.kubectl(&["get", "widgets"]), "get widgets"));
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "SIZE", "REPLICAS", "AGE"], "{table}");
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(&row[..3], ["w1", "small", "1"], "{table}");
    assert!(
        row[3].ends_with('s'),
        "the date column reads as an age: {table}"
    );

    // Validation against the schema, worded as upstream.
    let bad = api.kubectl(&[
        "patch",
        "wg",
        "w1",
        "--type=merge",
        "-p",
        r#"{"spec":{"size":"huge"}}"#,
    ]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains(r#"The Widget "w1" is invalid: spec.size: Unsupported value: "huge": supported values: "small", "medium", "large""#),
        "{}",
        stderr(&bad)
    );
    // Unknown fields: a warning by default, refused under Strict (kubectl apply's default).
    let warned = ok(
        api.kubectl(&[
            "patch",
            "wg",
            "w1",
            "--type=merge",
            "-p",
            r#"{"spec":{"bogus":1}}"#,
        ]),
        "patch with an unknown field",
    );
    assert!(
        stderr(&warned).contains(r#"Warning: unknown field "spec.bogus""#),
        "{}",
        stderr(&warned)
    );
    assert!(get_json(&api, &["wg", "w1"])["spec"]["bogus"].is_null());
    let strict = api.apply_stdin(
        &["apply", "-f", "-"],
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: small, bogus: 2}\n",
    );
    assert!(!strict.status.success());
    assert!(
        stderr(&strict).contains(r#"strict decoding error: unknown field "spec.bogus""#),
        "{}",
        stderr(&strict)
    );
    // Custom objects take no strategic merge patch.
    let smp = api.kubectl(&[
        "patch",
        "wg",
        "w1",
        "--type=strategic",
        "-p",
        r#"{"spec":{"size":"large"}}"#,
    ]);
    assert!(!smp.status.success());
    assert!(
        stderr(&smp).contains("UnsupportedMediaType") || stderr(&smp).contains("is not supported"),
        "{}",
        stderr(&smp)
    );

    // Scale through the scale subresource; the status subresource owns status.
    ok(api.kubectl(&["scale", "wg", "w1", "--replicas=4"]), "scale");
    let w = get_json(&api, &["wg", "w1"]);
    assert_eq!(w["spec"]["replicas"], 4, "{w}");
    assert_eq!(w["metadata"]["generation"], 2, "a spec change counts: {w}");
    ok(
        api.kubectl(&[
            "patch",
            "wg",
            "w1",
            "--type=merge",
            "-p",
            r#"{"status":{"replicas":9}}"#,
        ]),
        "patch status through the main resource",
    );
    assert!(get_json(&api, &["wg", "w1"])["status"].is_null());
    ok(
        api.kubectl(&[
            "patch",
            "wg",
            "w1",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"replicas":4,"selector":"app=w"}}"#,
        ]),
        "patch status",
    );
    let scale: Value = serde_json::from_str(&stdout(&ok(
        api.kubectl(&[
            "get",
            "--raw",
            "/apis/example.com/v1/namespaces/default/widgets/w1/scale",
        ]),
        "get scale",
    )))
    .unwrap();
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["spec"]["replicas"], 4, "{scale}");
    assert_eq!(scale["status"]["selector"], "app=w", "{scale}");
    assert_eq!(get_json(&api, &["wg", "w1"])["metadata"]["generation"], 2);

    // Server-side apply works on custom objects too.
    ok(
        api.apply_stdin(
            &["apply", "--server-side", "--force-conflicts", "-f", "-"],
            "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2}\nspec: {size: medium}\n",
        ),
        "apply --server-side",
    );
    assert_eq!(get_json(&api, &["wg", "w2"])["spec"]["replicas"], 1);

    // The schema in OpenAPI: kubectl explain reads it.
    let explain = stdout(&ok(api.kubectl(&["explain", "widget.spec"]), "explain"));
    assert!(explain.contains("size\t<string> -required-"), "{explain}");
    assert!(explain.contains("How big the widget is."), "{explain}");

    // Deleting the definition deletes its objects and the resource.
    ok(
        api.kubectl(&["delete", "crd", "widgets.example.com"]),
        "delete crd",
    );
    let gone = api.kubectl(&[
        "get",
        "--raw",
        "/apis/example.com/v1/namespaces/default/widgets",
    ]);
    assert!(!gone.status.success(), "{}", stdout(&gone));
    ok(
        api.apply_stdin(&["apply", "-f", "-"], WIDGETS),
        "apply again",
    );
    ok(api.apply_stdin(&["apply", "-f", "-"], W1), "apply w1 again");
    let names = stdout(&ok(api.kubectl(&["get", "wg", "-o", "name"]), "get"));
    assert_eq!(
        names.trim(),
        "widget.example.com/w1",
        "w2 went with the CRD"
    );
}

#[test]
fn crds_are_validated_and_serve_every_version() {
    let test = "crds_are_validated_and_serve_every_version";
    if !util::require("kubectl", test) || !util::require("etcdctl", test) {
        return;
    }
    let api = Api::start();
    let bad = api.apply_stdin(
        &["apply", "-f", "-"],
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: gadgets.example.com}\nspec:\n  group: example.com\n  scope: Namespaced\n  names: {plural: gadgets, kind: Gadget}\n  versions:\n  - name: v1\n    served: true\n    storage: false\n    schema: {openAPIV3Schema: {type: object, properties: {spec: {type: objekt}}}}\n",
    );
    assert!(!bad.status.success());
    let err = stderr(&bad);
    assert!(
        err.contains(r#"The CustomResourceDefinition "gadgets.example.com" is invalid"#),
        "{err}"
    );
    assert!(
        err.contains(r#"spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Unsupported value: "objekt""#),
        "{err}"
    );
    assert!(
        err.contains("must have exactly one version marked as storage version"),
        "{err}"
    );

    // Two served versions of a cluster-scoped kind: one storage, both readable, each object
    // served with the version asked for (conversion None).
    ok(
        api.apply_stdin(
            &["apply", "-f", "-"],
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: clocks.time.example.org}\nspec:\n  group: time.example.org\n  scope: Cluster\n  names: {plural: clocks, kind: Clock}\n  versions:\n  - {name: v1beta1, served: true, storage: false, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}\n  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}\n",
        ),
        "apply the clocks CRD",
    );
    ok(
        api.apply_stdin(
            &["apply", "-f", "-"],
            "apiVersion: time.example.org/v1beta1\nkind: Clock\nmetadata: {name: big-ben}\nspec: {tz: Europe/London}\n",
        ),
        "apply a clock",
    );
    let v1 = get_json(&api, &["clocks.v1.time.example.org", "big-ben"]);
    assert_eq!(v1["apiVersion"], "time.example.org/v1", "{v1}");
    assert_eq!(v1["spec"]["tz"], "Europe/London", "{v1}");
    let list = get_json(&api, &["clocks.v1beta1.time.example.org"]);
    assert_eq!(
        list["items"][0]["apiVersion"], "time.example.org/v1beta1",
        "{list}"
    );
    let group: Value = serde_json::from_str(&stdout(&ok(
        api.kubectl(&["get", "--raw", "/apis/time.example.org"]),
        "get the APIGroup",
    )))
    .unwrap();
    assert_eq!(group["preferredVersion"]["version"], "v1", "{group}");
    let versions = stdout(&ok(api.kubectl(&["api-versions"]), "api-versions"));
    assert!(versions.contains("time.example.org/v1beta1"), "{versions}");
    let etcd_key = api.tc.etcdctl(&[
        "get",
        "--keys-only",
        "--prefix",
        "/registry/time.example.org/",
    ]);
    assert!(
        stdout(&etcd_key).contains("/registry/time.example.org/clocks/big-ben"),
        "custom objects are stored under their group: {}",
        stdout(&etcd_key)
    );
}
