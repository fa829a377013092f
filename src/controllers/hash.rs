//! How the deployment controller names a template (`pod-template-hash`) and recognises a
//! ReplicaSet as running its template.

use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::Value;

/// Label that keeps the ReplicaSets of one Deployment from selecting each other's pods.
pub const HASH_LABEL: &str = "pod-template-hash";

/// Upstream's "safe encode" alphabet: no vowels, so hashes never spell words.
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const FNV32_OFFSET: u32 = 0x811c_9dc5;
const FNV32_PRIME: u32 = 0x0100_0193;

fn fnv32a(mut hash: u32, bytes: &[u8]) -> u32 {
    for b in bytes {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(FNV32_PRIME);
    }
    hash
}

/// The `pod-template-hash` of a template: FNV-32a, then the collision count (as upstream: four
/// little-endian bytes padded to eight), rendered as the decimal digits of the sum mapped
/// through the safe alphabet.
///
/// Upstream feeds the hash with a Go pretty-print of the struct; this feeds it the JSON form
/// (sorted maps, so stable across runs and versions of this code). Values therefore differ
/// from a real cluster's for the same template, which matters to nobody: the hash is only
/// compared with hashes this code made, and templates are matched by content, not by hash.
pub fn pod_template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    hash_json(template, collision_count)
}

/// The same hash over any serialisable value (a ControllerRevision's data).
pub fn hash_json(value: &impl serde::Serialize, collision_count: Option<i32>) -> String {
    let json = serde_json::to_vec(value).unwrap_or_default();
    let mut hash = fnv32a(FNV32_OFFSET, &json);
    if let Some(count) = collision_count {
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&count.to_le_bytes());
        hash = fnv32a(hash, &bytes);
    }
    safe_encode(&hash.to_string())
}

fn safe_encode(s: &str) -> String {
    s.bytes()
        .map(|b| char::from(SAFE_ALPHABET[usize::from(b) % SAFE_ALPHABET.len()]))
        .collect()
}

/// Whether two templates are the same apart from the hash label (upstream EqualIgnoreHash).
/// Like upstream's semantic equality, absent, null and empty lists or maps count as equal.
/// Not covered: quantities written differently with the same value ("1" vs "1000m").
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    comparable(a) == comparable(b)
}

fn comparable(template: &PodTemplateSpec) -> Value {
    let mut value = serde_json::to_value(template).unwrap_or(Value::Null);
    if let Some(labels) = value
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(HASH_LABEL);
    }
    prune(&mut value);
    value
}

/// Drops empty members; returns whether `value` itself is empty. List elements are kept in
/// place even when empty, since their position is meaningful.
fn prune(value: &mut Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => {
            map.retain(|_, v| !prune(v));
            map.is_empty()
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                prune(item);
            }
            items.is_empty()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(v: Value) -> PodTemplateSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn hash_is_stable_and_uses_the_safe_alphabet() {
        let t = template(json!({"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}));
        let h = pod_template_hash(&t, None);
        assert_eq!(h, pod_template_hash(&t.clone(), None));
        assert!(!h.is_empty() && h.len() <= 10);
        // Decimal digits only ever map onto these ten characters.
        assert!(h.chars().all(|c| "456789bcdf".contains(c)), "{h}");
    }

    #[test]
    fn collision_count_and_content_change_the_hash() {
        let t = template(json!({"spec": {"containers": [{"name": "c", "image": "a"}]}}));
        let u = template(json!({"spec": {"containers": [{"name": "c", "image": "b"}]}}));
        let base = pod_template_hash(&t, None);
        assert_ne!(base, pod_template_hash(&t, Some(1)));
        assert_ne!(
            pod_template_hash(&t, Some(1)),
            pod_template_hash(&t, Some(2))
        );
        assert_ne!(base, pod_template_hash(&u, None));
    }

    #[test]
    fn fnv_matches_reference_vectors() {
        assert_eq!(fnv32a(FNV32_OFFSET, b""), 0x811c_9dc5);
        assert_eq!(fnv32a(FNV32_OFFSET, b"a"), 0xe40c_292c);
        assert_eq!(fnv32a(FNV32_OFFSET, b"foobar"), 0xbf9c_f968);
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
    }

    #[test]
    fn equality_ignores_hash_label_and_empty_members() {
        let a = template(
            json!({"metadata": {"labels": {"app": "web", HASH_LABEL: "abc"}},
            "spec": {"containers": [{"name": "c", "image": "a", "env": []}]}}),
        );
        let b = template(
            json!({"metadata": {"labels": {"app": "web"}, "annotations": {}},
            "spec": {"containers": [{"name": "c", "image": "a"}]}}),
        );
        assert!(equal_ignore_hash(&a, &b));
        let c = template(json!({"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "b"}]}}));
        assert!(!equal_ignore_hash(&a, &c));
        let d = template(json!({"metadata": {"labels": {"app": "other"}},
            "spec": {"containers": [{"name": "c", "image": "a"}]}}));
        assert!(!equal_ignore_hash(&a, &d));
    }
}
