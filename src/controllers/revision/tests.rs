use std::collections::HashSet;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::json;

use super::*;
use crate::controllers::fixtures::from;

fn template(image: &str) -> PodTemplateSpec {
    from(json!({"metadata": {"labels": {"app": "agent"}},
        "spec": {"containers": [{"name": "c", "image": image}]}}))
}

fn meta() -> ObjectMeta {
    from(json!({"name": "agent", "namespace": "default", "uid": "ds-uid"}))
}

fn owner<'a>(meta: &'a ObjectMeta, template: &'a PodTemplateSpec) -> Owner<'a> {
    Owner {
        api_version: "apps/v1",
        kind: "DaemonSet",
        meta,
        template,
        hash_label: POD_REVISION_LABEL,
        annotations: None,
        collision_count: None,
    }
}

fn stored(current: &Current) -> ControllerRevision {
    current.revision.clone()
}

#[test]
fn a_new_template_gets_a_new_revision_holding_a_replace_patch() {
    let (m, t) = (meta(), template("agent:1"));
    let first = current(&owner(&m, &t), &[]);
    assert_eq!(first.write, Some(Write::Create));
    assert_eq!(first.revision.revision, 1);
    let hash = hash_of(&first.revision, POD_REVISION_LABEL);
    assert_eq!(
        first.revision.metadata.name.as_deref(),
        Some(format!("agent-{hash}").as_str())
    );
    let data = &first.revision.data.as_ref().unwrap().0;
    assert_eq!(data["spec"]["template"]["$patch"], "replace");
    assert_eq!(
        data["spec"]["template"]["spec"]["containers"][0]["image"],
        "agent:1"
    );
    assert_eq!(template_of(&first.revision), Some(t.clone()));
    let refs = first.revision.metadata.owner_references.as_ref().unwrap();
    assert_eq!(refs[0].uid, "ds-uid");
    assert_eq!(refs[0].controller, Some(true));
    // Seen again: nothing to write.
    let one = stored(&first);
    let again = current(&owner(&m, &t), &[&one]);
    assert_eq!(again.write, None);
    assert_eq!(again.revision, one);
}

#[test]
fn going_back_to_an_old_template_renumbers_its_revision() {
    let m = meta();
    let (t1, t2) = (template("agent:1"), template("agent:2"));
    let r1 = stored(&current(&owner(&m, &t1), &[]));
    let r2 = stored(&current(&owner(&m, &t2), &[&r1]));
    assert_eq!(r2.revision, 2);
    assert_ne!(r1.metadata.name, r2.metadata.name);
    let back = current(&owner(&m, &t1), &[&r1, &r2]);
    assert_eq!(back.write, Some(Write::Renumber));
    assert_eq!(back.revision.revision, 3);
    assert_eq!(back.revision.metadata.name, r1.metadata.name);
}

#[test]
fn a_name_clash_with_another_template_counts_a_collision() {
    let m = meta();
    let (t1, t2) = (template("agent:1"), template("agent:2"));
    let mut squatter = stored(&current(&owner(&m, &t1), &[]));
    // Another template under the name t2 would get.
    squatter.metadata.name = current(&owner(&m, &t2), &[]).revision.metadata.name;
    let c = current(&owner(&m, &t2), &[&squatter]);
    assert_eq!(c.write, Some(Write::Create));
    assert_eq!(c.collision_count, Some(1));
    assert_ne!(c.revision.metadata.name, squatter.metadata.name);
}

#[test]
fn pruning_keeps_the_limit_and_every_live_revision() {
    let m = meta();
    let mut revisions = Vec::new();
    for i in 1..=5 {
        let t = template(&format!("agent:{i}"));
        let refs: Vec<&ControllerRevision> = revisions.iter().collect();
        let r = stored(&current(&owner(&m, &t), &refs));
        revisions.push(r);
    }
    let refs: Vec<&ControllerRevision> = revisions.iter().collect();
    let name = |i: usize| revisions[i].metadata.name.clone().unwrap();
    let live = HashSet::from([name(0)]);
    let keep = [name(4)];
    let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
    let pruned: Vec<i64> = to_prune(&refs, &live, &keep, 2)
        .iter()
        .map(|r| r.revision)
        .collect();
    // Dead: 2, 3, 4 (1 is live, 5 current); two may stay, so the oldest goes.
    assert_eq!(pruned, vec![2]);
    assert!(to_prune(&refs, &live, &keep, 10).is_empty());
}
