//! Table columns per kind: what `kubectl get` prints, as upstream's printers define them. The
//! builtin apiserver serves them as meta.k8s.io/v1 Table; the TUI will show the same cells.

use serde_json::Value;

use super::Kind;

pub struct Column {
    pub name: &'static str,
    pub r#type: &'static str,
    pub format: &'static str,
    pub description: &'static str,
    /// 0: always shown; 1: only with `-o wide`.
    pub priority: u8,
}

const NAME: Column = Column {
    name: "Name",
    r#type: "string",
    format: "name",
    description: "Name must be unique within a namespace.",
    priority: 0,
};
const AGE: Column = Column {
    name: "Age",
    r#type: "string",
    format: "",
    description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
    priority: 0,
};

pub fn columns(kind: &Kind) -> Vec<Column> {
    match kind.kind {
        "Namespace" => vec![
            NAME,
            Column {
                name: "Status",
                r#type: "string",
                format: "",
                description: "The status of the namespace",
                priority: 0,
            },
            AGE,
        ],
        "ConfigMap" => vec![
            NAME,
            Column {
                name: "Data",
                r#type: "integer",
                format: "",
                description: "Number of data entries, binary data included",
                priority: 0,
            },
            AGE,
        ],
        "Secret" => vec![
            NAME,
            Column {
                name: "Type",
                r#type: "string",
                format: "",
                description: "The type of the secret",
                priority: 0,
            },
            Column {
                name: "Data",
                r#type: "integer",
                format: "",
                description: "Number of data entries",
                priority: 0,
            },
            AGE,
        ],
        _ => vec![NAME, AGE],
    }
}

/// The row cells of `obj` for its kind's columns; `now` in seconds since the epoch.
pub fn cells(kind: &Kind, obj: &Value, now: i64) -> Vec<Value> {
    let name = obj["metadata"]["name"].clone();
    let age = Value::String(age(obj["metadata"]["creationTimestamp"].as_str(), now));
    let count = |v: &Value| v.as_object().map_or(0, |m| m.len());
    match kind.kind {
        "Namespace" => vec![
            name,
            obj["status"]["phase"].as_str().unwrap_or("Active").into(),
            age,
        ],
        "ConfigMap" => vec![
            name,
            (count(&obj["data"]) + count(&obj["binaryData"])).into(),
            age,
        ],
        "Secret" => vec![
            name,
            obj["type"].as_str().unwrap_or("Opaque").into(),
            count(&obj["data"]).into(),
            age,
        ],
        _ => vec![name, age],
    }
}

/// kubectl's short age: `45s`, `3m12s`, `5h`, `12d` (upstream's HumanDuration, shortened).
pub fn age(created: Option<&str>, now: i64) -> String {
    let Some(t) = created.and_then(parse_rfc3339) else {
        return "<unknown>".into();
    };
    let s = (now - t).max(0);
    match s {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 3 * 3600 => format!("{}m", s / 60),
        s if s < 8 * 3600 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s if s < 8 * 86400 => format!("{}d{}h", s / 86400, (s % 86400) / 3600),
        s => format!("{}d", s / 86400),
    }
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        let now = 1_000_000;
        let at = |ago: i64| {
            time::OffsetDateTime::from_unix_timestamp(now - ago)
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        assert_eq!(age(Some(&at(5)), now), "5s");
        assert_eq!(age(Some(&at(200)), now), "3m20s");
        assert_eq!(age(Some(&at(3600)), now), "60m");
        assert_eq!(age(Some(&at(5 * 3600 + 120)), now), "5h2m");
        assert_eq!(age(Some(&at(30 * 3600)), now), "30h");
        assert_eq!(age(Some(&at(3 * 86400)), now), "3d0h");
        assert_eq!(age(Some(&at(20 * 86400)), now), "20d");
        assert_eq!(age(None, now), "<unknown>");
    }

    #[test]
    fn every_kind_has_as_many_cells_as_columns() {
        for k in super::super::KINDS {
            let obj = serde_json::json!({"metadata": {"name": "x"}});
            assert_eq!(columns(k).len(), cells(k, &obj, 0).len(), "{}", k.kind);
        }
    }
}
