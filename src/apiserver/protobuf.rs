//! Request bodies in Kubernetes protobuf (`application/vnd.kubernetes.protobuf`), which
//! kubectl's typed commands send (`create deployment|namespace|configmap|secret|service|job|
//! cronjob`, `create token`, `auth whoami`, `auth can-i`): decoded against the wire layouts
//! in `src/apiserver/proto` and turned into the JSON the rest of the server works with.
//!
//! A body is the magic `k8s\0` followed by a `runtime.Unknown` envelope naming the apiVersion
//! and kind, whose `raw` field holds the object's own message. The conventions of our .proto
//! files (see their headers) carry what JSON needs: field names are the JSON keys, `inline_`
//! fields merge into their parent, `optional` scalars are kept when zero. A field the layouts
//! don't know is refused rather than dropped, so nothing a client sent is silently lost.

use std::sync::LazyLock;

use base64::Engine;
use prost_reflect::{
    DescriptorPool, DynamicMessage, MapKey, MessageDescriptor, ReflectMessage, Value as Pb,
};
use serde_json::{Map, Value};

/// The compiled wire layouts (build.rs).
static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(&include_bytes!(concat!(env!("OUT_DIR"), "/k8s_descriptors.bin"))[..])
        .expect("build.rs wrote a valid descriptor set")
});

const MAGIC: &[u8] = b"k8s\0";
const META: &str = "k8s.io.apimachinery.pkg.apis.meta.v1";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    #[error("the body does not start with the protobuf magic k8s\\0")]
    NoMagic,
    #[error("the protobuf body cannot be decoded: {0}")]
    Decode(String),
    #[error("the protobuf body names no apiVersion and kind")]
    NoType,
    #[error(
        "{0} objects are not accepted as protobuf by this apiserver; send JSON (kubectl create -f or apply)"
    )]
    UnknownKind(String),
    #[error("protobuf content encoding {0:?} is not supported; send it unencoded or as JSON")]
    Encoding(String),
    #[error(
        "field {number} of {message} is unknown to this apiserver's protobuf layouts; send the object as JSON (kubectl create -f or apply)"
    )]
    UnknownField { message: String, number: u32 },
}

/// The protobuf package of an apiVersion: `apps/v1` → `k8s.io.api.apps.v1`, `v1` →
/// `k8s.io.api.core.v1`, `rbac.authorization.k8s.io/v1` → `k8s.io.api.rbac.v1`.
fn package(api_version: &str) -> String {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let short = group
        .split('.')
        .next()
        .filter(|g| !g.is_empty())
        .unwrap_or("core");
    format!("k8s.io.api.{short}.{version}")
}

fn message(name: &str) -> Option<MessageDescriptor> {
    POOL.get_message_by_name(name)
}

/// Decodes a protobuf request body into the JSON object it stands for, with apiVersion and
/// kind set from the envelope.
pub fn decode(body: &[u8]) -> Result<Value, Error> {
    let rest = body.strip_prefix(MAGIC).ok_or(Error::NoMagic)?;
    let unknown = message("k8s.io.apimachinery.pkg.runtime.Unknown")
        .expect("the runtime.Unknown layout is compiled in");
    let envelope =
        DynamicMessage::decode(unknown, rest).map_err(|e| Error::Decode(e.to_string()))?;
    fn field<'a>(msg: &'a DynamicMessage, name: &str) -> Option<std::borrow::Cow<'a, Pb>> {
        msg.get_field_by_name(name)
    }
    let type_meta = match field(&envelope, "typeMeta").as_deref() {
        Some(Pb::Message(m)) => m.clone(),
        _ => return Err(Error::NoType),
    };
    let text = |msg: &DynamicMessage, name: &str| match field(msg, name).as_deref() {
        Some(Pb::String(s)) => s.clone(),
        _ => String::new(),
    };
    let (api_version, kind) = (text(&type_meta, "apiVersion"), text(&type_meta, "kind"));
    if api_version.is_empty() || kind.is_empty() {
        return Err(Error::NoType);
    }
    let encoding = text(&envelope, "contentEncoding");
    if !encoding.is_empty() {
        return Err(Error::Encoding(encoding));
    }
    let raw = match field(&envelope, "raw").as_deref() {
        Some(Pb::Bytes(b)) => b.clone(),
        _ => Default::default(),
    };
    let desc = message(&format!("{}.{kind}", package(&api_version)))
        .ok_or_else(|| Error::UnknownKind(format!("{api_version} {kind}")))?;
    let msg = DynamicMessage::decode(desc, raw).map_err(|e| Error::Decode(e.to_string()))?;
    let mut obj = to_json(&msg)?;
    if !obj.is_object() {
        obj = Value::Object(Map::new());
    }
    obj["apiVersion"] = api_version.into();
    obj["kind"] = kind.into();
    Ok(obj)
}

/// A message as its JSON: an object, or for apimachinery's special types their own form.
fn to_json(msg: &DynamicMessage) -> Result<Value, Error> {
    let desc = msg.descriptor();
    if let Some(unknown) = msg.unknown_fields().next() {
        return Err(Error::UnknownField {
            message: desc.full_name().to_string(),
            number: unknown.number(),
        });
    }
    let int = |name: &str| match msg.get_field_by_name(name).as_deref() {
        Some(Pb::I64(n)) => *n,
        Some(Pb::I32(n)) => i64::from(*n),
        _ => 0,
    };
    let bytes = |name: &str| match msg.get_field_by_name(name).as_deref() {
        Some(Pb::Bytes(b)) => b.to_vec(),
        _ => Vec::new(),
    };
    let text = |name: &str| match msg.get_field_by_name(name).as_deref() {
        Some(Pb::String(s)) => s.clone(),
        _ => String::new(),
    };
    let full = desc.full_name();
    match full.strip_prefix(META).unwrap_or(full) {
        ".Time" => return Ok(timestamp(int("seconds"), int("nanos"), false)),
        ".MicroTime" => return Ok(timestamp(int("seconds"), int("nanos"), true)),
        ".Duration" => return Ok(go_duration(int("duration")).into()),
        ".FieldsV1" => return Ok(raw_json(&bytes("Raw"))),
        "k8s.io.apimachinery.pkg.runtime.RawExtension" => return Ok(raw_json(&bytes("raw"))),
        "k8s.io.apimachinery.pkg.util.intstr.IntOrString" => {
            return Ok(if int("type") == 1 {
                text("strVal").into()
            } else {
                int("intVal").into()
            });
        }
        "k8s.io.apimachinery.pkg.api.resource.Quantity" => return Ok(text("string").into()),
        _ if desc.name() == "ExtraValue" => {
            return match msg.get_field_by_name("items").as_deref() {
                Some(v) => scalar_or_list(v),
                None => Ok(Value::Array(vec![])),
            };
        }
        _ => {}
    }
    let mut out = Map::new();
    for (field, value) in msg.fields() {
        let json = scalar_or_list(value)?;
        if json.is_null() {
            continue;
        }
        match field.name().strip_prefix("inline_") {
            Some(_) => {
                if let Value::Object(inner) = json {
                    out.extend(inner);
                }
            }
            None => {
                out.insert(field.name().to_string(), json);
            }
        }
    }
    Ok(Value::Object(out))
}

fn scalar_or_list(v: &Pb) -> Result<Value, Error> {
    Ok(match v {
        Pb::Bool(b) => (*b).into(),
        Pb::I32(n) => (*n).into(),
        Pb::I64(n) => (*n).into(),
        Pb::U32(n) => (*n).into(),
        Pb::U64(n) => (*n).into(),
        Pb::F32(n) => {
            serde_json::Number::from_f64(f64::from(*n)).map_or(Value::Null, Value::Number)
        }
        Pb::F64(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
        Pb::String(s) => s.clone().into(),
        // JSON carries bytes (Secret data, ConfigMap binaryData) as base64.
        Pb::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b).into(),
        Pb::EnumNumber(n) => (*n).into(),
        Pb::Message(m) => to_json(m)?,
        Pb::List(items) => {
            Value::Array(items.iter().map(scalar_or_list).collect::<Result<_, _>>()?)
        }
        Pb::Map(entries) => {
            let mut out = Map::new();
            for (k, v) in entries {
                let key = match k {
                    MapKey::String(s) => s.clone(),
                    other => format!("{other:?}"),
                };
                out.insert(key, scalar_or_list(v)?);
            }
            Value::Object(out)
        }
    })
}

/// Embedded JSON (FieldsV1, RawExtension); empty means absent.
fn raw_json(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes).unwrap_or_else(|_| String::from_utf8_lossy(bytes).into())
}

/// metav1.Time as JSON: RFC 3339 in UTC, whole seconds (MicroTime: microseconds); the zero
/// time is null, as Go writes it.
fn timestamp(seconds: i64, nanos: i64, micro: bool) -> Value {
    if seconds == 0 && nanos == 0 {
        return Value::Null;
    }
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(seconds) else {
        return Value::Null;
    };
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if micro {
        format!("{base}.{:06}Z", nanos / 1000).into()
    } else {
        format!("{base}Z").into()
    }
}

/// A duration in nanoseconds as Go prints it: `1h0m0s`, `1m30s`, `1.5s`, `300ms`, `0s`.
fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    let frac = |value: u64, unit: u64| {
        let whole = value / unit;
        let rest = value % unit;
        if rest == 0 {
            whole.to_string()
        } else {
            let digits = unit.to_string().len() - 1;
            let f = format!("{rest:0digits$}");
            format!("{whole}.{}", f.trim_end_matches('0'))
        }
    };
    if n < 1_000 {
        return format!("{sign}{n}ns");
    }
    if n < 1_000_000 {
        return format!("{sign}{}µs", frac(n, 1_000));
    }
    if n < 1_000_000_000 {
        return format!("{sign}{}ms", frac(n, 1_000_000));
    }
    let secs = n / 1_000_000_000;
    let sub = n % 1_000_000_000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let s = frac(s * 1_000_000_000 + sub, 1_000_000_000);
    match (h, m) {
        (0, 0) => format!("{sign}{s}s"),
        (0, m) => format!("{sign}{m}m{s}s"),
        (h, m) => format!("{sign}{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Hand-encodes protobuf the way Go's generated marshallers do, so the tests don't depend
    // on the decoder they test.
    fn tag(field: u32, wire: u8) -> Vec<u8> {
        varint(u64::from(field << 3 | u32::from(wire)))
    }
    fn varint(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }
    fn bytes(field: u32, b: &[u8]) -> Vec<u8> {
        let mut out = tag(field, 2);
        out.extend(varint(b.len() as u64));
        out.extend_from_slice(b);
        out
    }
    fn int(field: u32, v: u64) -> Vec<u8> {
        let mut out = tag(field, 0);
        out.extend(varint(v));
        out
    }
    fn map_entry(field: u32, k: &str, v: &[u8]) -> Vec<u8> {
        bytes(field, &[bytes(1, k.as_bytes()), bytes(2, v)].concat())
    }
    fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let type_meta = [bytes(1, api_version.as_bytes()), bytes(2, kind.as_bytes())].concat();
        let unknown = [
            bytes(1, &type_meta),
            bytes(2, raw),
            bytes(3, b""),
            bytes(4, b""),
        ]
        .concat();
        [MAGIC.to_vec(), unknown].concat()
    }
    /// ObjectMeta: name (1), generateName "" (2, always written by Go), labels (11),
    /// creationTimestamp zero (8).
    fn meta(name: &str, labels: &[(&str, &str)]) -> Vec<u8> {
        let mut m = [bytes(1, name.as_bytes()), bytes(2, b""), bytes(8, &[])].concat();
        for (k, v) in labels {
            m.extend(map_entry(11, k, v.as_bytes()));
        }
        m
    }

    #[test]
    fn a_deployment_as_kubectl_create_sends_it() {
        // kubectl create deployment web --image=nginx --replicas=0 --port=80
        let container = [
            bytes(1, b"nginx"),
            bytes(2, b"nginx"),
            bytes(6, &int(3, 80)),
            bytes(8, &[]),
        ]
        .concat();
        let pod_spec = bytes(2, &container);
        let template = [bytes(1, &meta("", &[("app", "web")])), bytes(2, &pod_spec)].concat();
        let selector = map_entry(1, "app", b"web");
        let spec = [
            int(1, 0),
            bytes(2, &selector),
            bytes(3, &template),
            bytes(4, &[]),
        ]
        .concat();
        let dep = [
            bytes(1, &meta("web", &[("app", "web")])),
            bytes(2, &spec),
            bytes(3, &[]),
        ]
        .concat();
        let obj = decode(&envelope("apps/v1", "Deployment", &dep)).unwrap();
        assert_eq!(
            obj,
            serde_json::json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "labels": {"app": "web"}},
                "spec": {
                    "replicas": 0,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80}], "resources": {}}]},
                    },
                    "strategy": {},
                },
                "status": {},
            })
        );
    }

    #[test]
    fn secrets_keep_their_bytes_and_inline_fields_merge() {
        let secret = [
            bytes(1, &meta("s", &[])),
            map_entry(2, "k", b"\x00\xff"),
            bytes(3, b"Opaque"),
        ]
        .concat();
        let obj = decode(&envelope("v1", "Secret", &secret)).unwrap();
        assert_eq!(obj["data"]["k"], "AP8=");
        assert_eq!(obj["type"], "Opaque");

        // A configMap volume: Volume{name, VolumeSource{configMap{LocalObjectReference{name}}}}.
        let cm_source = bytes(1, &bytes(1, b"web-config"));
        let volume = [bytes(1, b"cfg"), bytes(2, &bytes(19, &cm_source))].concat();
        let pod_spec = [bytes(1, &volume)].concat();
        let pod = [bytes(1, &meta("p", &[])), bytes(2, &pod_spec)].concat();
        let obj = decode(&envelope("v1", "Pod", &pod)).unwrap();
        assert_eq!(
            obj["spec"]["volumes"][0],
            serde_json::json!({"name": "cfg", "configMap": {"name": "web-config"}})
        );
    }

    #[test]
    fn special_types_take_their_json_forms() {
        // A service port whose targetPort is a string, and a creation time.
        let target = [int(1, 1), bytes(3, b"http")].concat();
        let port = [bytes(1, b"web"), int(3, 80), bytes(4, &target)].concat();
        let spec = bytes(1, &port);
        let created = [int(1, 1_795_000_000)].concat();
        let m = [bytes(1, b"svc"), bytes(8, &created)].concat();
        let svc = [bytes(1, &m), bytes(2, &spec)].concat();
        let obj = decode(&envelope("v1", "Service", &svc)).unwrap();
        assert_eq!(obj["spec"]["ports"][0]["targetPort"], "http");
        assert_eq!(obj["spec"]["ports"][0]["port"], 80);
        assert_eq!(obj["metadata"]["creationTimestamp"], "2026-11-18T11:06:40Z");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(300_000_000), "300ms");
    }

    #[test]
    fn what_cannot_be_read_is_refused_not_dropped() {
        assert_eq!(decode(b"{}"), Err(Error::NoMagic));
        let cm = [bytes(1, &meta("c", &[])), int(99, 1)].concat();
        assert_eq!(
            decode(&envelope("v1", "ConfigMap", &cm)),
            Err(Error::UnknownField {
                message: "k8s.io.api.core.v1.ConfigMap".into(),
                number: 99
            })
        );
        assert!(matches!(
            decode(&envelope("example.com/v1", "Widget", &[])),
            Err(Error::UnknownKind(_))
        ));
        assert!(matches!(decode(b"k8s\0\xff\xff"), Err(Error::Decode(_))));
        assert_eq!(
            package("rbac.authorization.k8s.io/v1"),
            "k8s.io.api.rbac.v1"
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// Any body — with kubectl's `k8s\0` envelope or not — decodes or is refused.
        #[test]
        fn any_body_decodes_or_is_refused(tail in prop::collection::vec(any::<u8>(), 0..256), enveloped in any::<bool>()) {
            let mut body = if enveloped { b"k8s\0".to_vec() } else { Vec::new() };
            body.extend(tail);
            let _ = super::decode(&body);
        }
    }
}
