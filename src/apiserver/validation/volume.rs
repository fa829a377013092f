//! Pod volumes and the containers' volume mounts.

use std::collections::BTreeSet;

use serde_json::Value;

use super::checks::required_dns_label;
use super::errs::Errs;
use super::json::present;
use super::path::Path;
use super::render::quote;

const VOLUME_TYPE_MISSING: &str = "must specify a volume type";
const VOLUME_TYPE_MULTI: &str = "may not specify more than 1 volume type";
const FILE_MODE: &str = "must be a number between 0 and 0777 (octal), both inclusive";

/// Volume sources in upstream's order: the JSON key and the name upstream
/// uses in the "more than 1" path (two differ from the JSON key).
const VOLUME_SOURCES: &[(&str, &str)] = &[
    ("emptyDir", "emptyDir"),
    ("hostPath", "hostPath"),
    ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"),
    ("nfs", "nfs"),
    ("iscsi", "iscsi"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd"),
    ("cinder", "cinder"),
    ("cephfs", "cephFS"),
    ("quobyte", "quobyte"),
    ("downwardAPI", "downwarAPI"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("configMap", "configMap"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("storageos", "storageos"),
    ("projected", "projected"),
    ("scaleIO", "scaleIO"),
    ("csi", "csi"),
    ("ephemeral", "ephemeral"),
    ("image", "image"),
];

/// Validates spec.volumes; returns the names of the volumes without errors
/// (only those can be mounted).
pub(super) fn volumes(e: &mut Errs, spec: &Value, sp: &Path) -> BTreeSet<String> {
    let mut valid = BTreeSet::new();
    let Some(list) = e.arr(spec, sp, "volumes") else {
        return valid;
    };
    let vp = sp.child("volumes");
    let mut names = BTreeSet::new();
    for (i, vol) in list.iter().enumerate() {
        let ip = vp.index(i);
        if e.as_obj(vol, &ip).is_none() {
            continue;
        }
        let before = e.len();
        volume_source(e, vol, &ip);
        let name = required_dns_label(e, vol, &ip, "name").unwrap_or("");
        if names.contains(name) {
            e.duplicate(&ip.child("name"), &quote(name));
        }
        if e.len() == before {
            names.insert(name);
            valid.insert(name.to_string());
        }
    }
    valid
}

fn volume_source(e: &mut Errs, vol: &Value, ip: &Path) {
    let mut count = 0;
    for (key, path_name) in VOLUME_SOURCES {
        let Some(src) = present(vol, key) else {
            continue;
        };
        if count > 0 {
            e.forbidden(&ip.child(path_name), VOLUME_TYPE_MULTI);
            continue;
        }
        count += 1;
        let sp = ip.child(key);
        let Some(src) = e.as_obj(src, &sp) else {
            continue;
        };
        match *key {
            "hostPath" => {
                e.required_string(src, &sp, "path");
            }
            "secret" => {
                e.required_string(src, &sp, "secretName");
                file_mode(e, src, &sp);
            }
            "configMap" => {
                e.required_string(src, &sp, "name");
                file_mode(e, src, &sp);
            }
            "persistentVolumeClaim" => {
                e.required_string(src, &sp, "claimName");
            }
            _ => {}
        }
    }
    if count == 0 {
        e.required(ip, VOLUME_TYPE_MISSING);
    }
}

fn file_mode(e: &mut Errs, src: &Value, sp: &Path) {
    if let Some(mode) = e.int(src, sp, "defaultMode")
        && !(0..=0o777).contains(&mode)
    {
        e.invalid_int(&sp.child("defaultMode"), mode, FILE_MODE);
    }
    if let Some(items) = e.arr(src, sp, "items") {
        let ip = sp.child("items");
        for (i, item) in items.iter().enumerate() {
            let p = ip.index(i);
            if e.as_obj(item, &p).is_some() {
                e.required_string(item, &p, "key");
                e.required_string(item, &p, "path");
            }
        }
    }
}

pub(super) fn volume_mounts(e: &mut Errs, c: &Value, p: &Path, volumes: &BTreeSet<String>) {
    let Some(list) = e.arr(c, p, "volumeMounts") else {
        return;
    };
    let mp = p.child("volumeMounts");
    let mut mount_points = BTreeSet::new();
    for (i, m) in list.iter().enumerate() {
        let ip = mp.index(i);
        if e.as_obj(m, &ip).is_none() {
            continue;
        }
        let name = e.string(m, &ip, "name").unwrap_or("");
        if name.is_empty() {
            e.required(&ip.child("name"), "");
        }
        if !volumes.contains(name) {
            e.not_found(&ip.child("name"), &quote(name));
        }
        let mount_path = e.string(m, &ip, "mountPath").unwrap_or("");
        if mount_path.is_empty() {
            e.required(&ip.child("mountPath"), "");
        }
        if !mount_points.insert(mount_path) {
            e.invalid_str(&ip.child("mountPath"), mount_path, "must be unique");
        }
        // Upstream reports subPath problems at the list path.
        let sub_path = e.string(m, &ip, "subPath").unwrap_or("");
        if !sub_path.is_empty() {
            local_descending_path(e, sub_path, &mp.child("subPath"));
        }
        if let Some(expr) = e.string(m, &ip, "subPathExpr")
            && !expr.is_empty()
        {
            if !sub_path.is_empty() {
                e.invalid_str(
                    &ip.child("subPathExpr"),
                    expr,
                    "subPathExpr and subPath are mutually exclusive",
                );
            }
            local_descending_path(e, expr, &mp.child("subPathExpr"));
        }
    }
}

fn local_descending_path(e: &mut Errs, target: &str, p: &Path) {
    if target.starts_with('/') {
        e.invalid_str(p, target, "must be a relative path");
    }
    if target.split('/').any(|part| part == "..") {
        e.invalid_str(p, target, "must not contain '..'");
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::validate_create;
    use serde_json::json;

    #[test]
    fn volumes_and_mounts() {
        let mut p = pod();
        set(&mut p, "/spec/volumes", json!([{"name": "data"}]));
        assert_only(
            &validate_create("Pod", &p),
            "spec.volumes[0]",
            "Required value: must specify a volume type",
        );
        set(
            &mut p,
            "/spec/volumes",
            json!([{"name": "data", "emptyDir": {}, "hostPath": {"path": "/x"}}]),
        );
        assert_only(
            &validate_create("Pod", &p),
            "spec.volumes[0].hostPath",
            "Forbidden: may not specify more than 1 volume type",
        );
        set(
            &mut p,
            "/spec/volumes",
            json!([{"name": "Data", "emptyDir": {}}]),
        );
        assert_only(
            &validate_create("Pod", &p),
            "spec.volumes[0].name",
            &format!("Invalid value: \"Data\": {DNS_LABEL_ERR}"),
        );
        set(
            &mut p,
            "/spec/volumes",
            json!([{"name": "d", "emptyDir": {}}, {"name": "d", "emptyDir": {}}]),
        );
        assert_only(
            &validate_create("Pod", &p),
            "spec.volumes[1].name",
            "Duplicate value: \"d\"",
        );
        set(
            &mut p,
            "/spec/volumes",
            json!([{"name": "s", "secret": {"defaultMode": 1000}}]),
        );
        let causes = validate_create("Pod", &p);
        assert_cause(
            &causes,
            "spec.volumes[0].secret.secretName",
            "Required value",
        );
        assert_cause(
            &causes,
            "spec.volumes[0].secret.defaultMode",
            "Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive",
        );

        let mut p = pod();
        set(
            &mut p,
            "/spec/volumes",
            json!([{"name": "data", "emptyDir": {}}]),
        );
        set(
            &mut p,
            "/spec/containers/0/volumeMounts",
            json!([{"name": "cache", "mountPath": "/c"}]),
        );
        assert_only(
            &validate_create("Pod", &p),
            "spec.containers[0].volumeMounts[0].name",
            "Not found: \"cache\"",
        );
        set(
            &mut p,
            "/spec/containers/0/volumeMounts",
            json!([{"name": "data"}]),
        );
        assert_only(
            &validate_create("Pod", &p),
            "spec.containers[0].volumeMounts[0].mountPath",
            "Required value",
        );
        set(
            &mut p,
            "/spec/containers/0/volumeMounts",
            json!([{"name": "data", "mountPath": "/d"}, {"name": "data", "mountPath": "/d"}]),
        );
        assert_only(
            &validate_create("Pod", &p),
            "spec.containers[0].volumeMounts[1].mountPath",
            "Invalid value: \"/d\": must be unique",
        );
        set(
            &mut p,
            "/spec/containers/0/volumeMounts",
            json!([{"name": "data", "mountPath": "/d", "subPath": "../x"}]),
        );
        assert_only(
            &validate_create("Pod", &p),
            "spec.containers[0].volumeMounts.subPath",
            "Invalid value: \"../x\": must not contain '..'",
        );
        // A volume with errors cannot be mounted either.
        set(&mut p, "/spec/volumes", json!([{"name": "data"}]));
        set(
            &mut p,
            "/spec/containers/0/volumeMounts",
            json!([{"name": "data", "mountPath": "/d"}]),
        );
        assert_cause(
            &validate_create("Pod", &p),
            "spec.containers[0].volumeMounts[0].name",
            "Not found: \"data\"",
        );
    }
}
