//! Object metadata: labels, annotations and finalizers.

use serde_json::Value;

use super::errs::Errs;
use super::formats::{label_value, qualified_name};
use super::json::qstr;
use super::path::Path;

const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;

pub(super) fn object_meta(e: &mut Errs, obj: &Value) {
    let Some(meta) = e.obj(obj, &Path::root(), "metadata") else {
        return;
    };
    let p = Path::new("metadata");
    labels(e, meta, &p, "labels");
    annotations(e, meta, &p, "annotations");
    for f in e.string_list(meta, &p, "finalizers") {
        for msg in qualified_name(f) {
            e.invalid_str(&p.child("finalizers"), f, &msg);
        }
    }
}

/// `metadata.name`, read quietly ("" when unset).
pub(super) fn object_name(obj: &Value) -> &str {
    obj.get("metadata")
        .and_then(|m| qstr(m, "name"))
        .unwrap_or("")
}

/// Label maps: every problem is reported at the map's path, as upstream does.
pub(super) fn labels(e: &mut Errs, parent: &Value, path: &Path, key: &str) {
    let Some(map) = e.string_map(parent, path, key) else {
        return;
    };
    let p = path.child(key);
    for (k, v) in map {
        for msg in qualified_name(k) {
            e.invalid_str(&p, k, &msg);
        }
        for msg in label_value(v) {
            e.invalid_str(&p, v, &msg);
        }
    }
}

pub(super) fn annotations(e: &mut Errs, parent: &Value, path: &Path, key: &str) {
    let Some(map) = e.string_map(parent, path, key) else {
        return;
    };
    let p = path.child(key);
    let mut total = 0;
    for (k, v) in map {
        // Annotation keys are qualified names compared without case.
        for msg in qualified_name(&k.to_lowercase()) {
            e.invalid_str(&p, k, &msg);
        }
        total += k.len() + v.len();
    }
    if total > ANNOTATIONS_MAX_BYTES {
        e.too_long(&p, ANNOTATIONS_MAX_BYTES);
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::validate_create;
    use serde_json::json;

    #[test]
    fn annotations() {
        let mut p = pod();
        set(
            &mut p,
            "/metadata/annotations",
            json!({"Example.COM/Key": "fine", "no good": "x"}),
        );
        assert_only(
            &validate_create("Pod", &p),
            "metadata.annotations",
            &format!("Invalid value: \"no good\": {NAME_PART_ERR}"),
        );
        set(
            &mut p,
            "/metadata/annotations",
            json!({"big": "x".repeat(256 * 1024)}),
        );
        assert_only(
            &validate_create("Pod", &p),
            "metadata.annotations",
            "Too long: may not be more than 262144 bytes",
        );
    }
}
