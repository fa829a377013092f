//! Name and value formats: each check returns upstream's messages for a
//! value, empty when it is valid.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::intstr::percent_value;

// Name formats and their explanations.
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', \
and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of \
alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case \
alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS_SUBDOMAIN_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case \
alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const CONFIG_KEY_FMT: &str = "[-._a-zA-Z0-9]+";
const CONFIG_KEY_MSG: &str =
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";
const ENV_NAME_MSG: &str = "a valid environment variable name must consist only of printable \
ASCII characters other than '='";
const PERCENT_FMT: &str = "[0-9]+%";
const PERCENT_MSG: &str =
    "a valid percent string must be a numeric string followed by an ending '%'";
const PORT_RANGE: &str = "must be between 1 and 65535, inclusive";

fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let mut s = format!("{msg} (e.g. ");
    for (i, example) in examples.iter().enumerate() {
        if i > 0 {
            s.push_str(" or ");
        }
        let _ = write!(s, "'{example}', ");
    }
    let _ = write!(s, "regex used for validation is '{fmt}')");
    s
}

pub(super) fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} characters")
}

fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn qualified_name_error() -> String {
    regex_error(
        QUALIFIED_NAME_MSG,
        QUALIFIED_NAME_FMT,
        &["MyName", "my.name", "123-abc"],
    )
}

/// Label keys, annotation keys, taint keys: `[prefix/]name`.
pub(super) fn qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                errs.extend(
                    dns1123_subdomain(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            return vec![format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                qualified_name_error()
            )];
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push(format!("name part {}", max_len_error(63)));
    }
    if !is_qualified_name_part(name) {
        errs.push(format!("name part {}", qualified_name_error()));
    }
    errs
}

pub(super) fn label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push(max_len_error(63));
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errs.push(regex_error(
            LABEL_VALUE_MSG,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    let ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty() && ok(&b[0]) && ok(&b[b.len() - 1]) && b.iter().all(|c| ok(c) || *c == b'-')
}

fn is_dns_subdomain(s: &str) -> bool {
    s.split('.').all(is_dns_label)
}

pub(super) fn dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push(max_len_error(63));
    }
    if !is_dns_label(value) {
        if is_dns_subdomain(value) {
            errs.push("must not contain dots".to_string());
        } else {
            errs.push(regex_error(
                DNS_LABEL_MSG,
                DNS_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errs
}

pub(super) fn dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 253 {
        errs.push(max_len_error(253));
    }
    if !is_dns_subdomain(value) {
        errs.push(regex_error(
            DNS_SUBDOMAIN_MSG,
            DNS_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// Object names checked as subdomains; a generated-name prefix may end in '-'.
pub(super) fn name_is_subdomain(value: &str, prefix: bool) -> Vec<String> {
    let value = if prefix {
        value.strip_suffix('-').unwrap_or(value)
    } else {
        value
    };
    dns1123_subdomain(value)
}

/// IANA_SVC_NAME, used for container port names and named target ports.
pub(super) fn port_name(port: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if port.len() > 15 {
        errs.push(max_len_error(15));
    }
    if port.is_empty()
        || !port
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        errs.push(
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_string(),
        );
    }
    if !port.bytes().any(|c| c.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".to_string());
    }
    if port.contains("--") {
        errs.push("must not contain consecutive hyphens".to_string());
    }
    if port.starts_with('-') || port.ends_with('-') {
        errs.push("must not begin or end with a hyphen".to_string());
    }
    errs
}

pub(super) fn port_number(n: i64) -> Vec<String> {
    if (1..=65535).contains(&n) {
        Vec::new()
    } else {
        vec![PORT_RANGE.to_string()]
    }
}

/// Keys of ConfigMap and Secret data.
pub(super) fn config_key(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 253 {
        errs.push(max_len_error(253));
    }
    if value.is_empty()
        || !value
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
    {
        errs.push(regex_error(
            CONFIG_KEY_MSG,
            CONFIG_KEY_FMT,
            &["key.name", "KEY_NAME", "key-name"],
        ));
    }
    if value == "." {
        errs.push("must not be '.'".to_string());
    } else if value == ".." {
        errs.push("must not be '..'".to_string());
    } else if value.starts_with("..") {
        errs.push("must not start with '..'".to_string());
    }
    errs
}

/// Environment variable names. 1.33 enables the relaxed rule by default:
/// any printable ASCII character except '='.
pub(super) fn env_var_name(value: &str) -> Vec<String> {
    if value
        .bytes()
        .all(|c| (0x20..0x7f).contains(&c) && c != b'=')
    {
        Vec::new()
    } else {
        vec![ENV_NAME_MSG.to_string()]
    }
}

pub(super) fn percent(value: &str) -> Vec<String> {
    if percent_value(value).is_some() {
        Vec::new()
    } else {
        vec![regex_error(PERCENT_MSG, PERCENT_FMT, &["1%", "93%"])]
    }
}

/// Go's `ParseIPSloppy`: IPv4 parts may carry leading zeros.
pub(super) fn parse_ip(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        return s.parse::<Ipv6Addr>().ok().map(Into::into);
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        octets[i] = p.parse().ok()?;
    }
    Some(Ipv4Addr::from(octets).into())
}

pub(super) fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    let Some(ip) = parse_ip(ip) else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    !bits.is_empty()
        && bits.len() <= 3
        && bits.bytes().all(|b| b.is_ascii_digit())
        && bits.parse::<u32>().is_ok_and(|n| n <= max)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::validate_create;
    use serde_json::json;

    #[test]
    fn label_keys_and_values() {
        let mut p = pod();
        set(
            &mut p,
            "/metadata/labels",
            json!({"bad key": "ok", "ok": "-bad"}),
        );
        let causes = validate_create("Pod", &p);
        assert_cause(
            &causes,
            "metadata.labels",
            &format!("Invalid value: \"bad key\": {NAME_PART_ERR}"),
        );
        assert_cause(
            &causes,
            "metadata.labels",
            &format!("Invalid value: \"-bad\": {LABEL_VALUE_ERR}"),
        );
        assert_eq!(causes.len(), 2);

        set(
            &mut p,
            "/metadata/labels",
            json!({"Example.com/x": "a", "a/b/c": "b", "x": "v".repeat(64)}),
        );
        let causes = validate_create("Pod", &p);
        assert_cause(
            &causes,
            "metadata.labels",
            &format!("Invalid value: \"Example.com/x\": prefix part {DNS_SUBDOMAIN_ERR}"),
        );
        assert_cause(
            &causes,
            "metadata.labels",
            "Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        );
        assert_cause(
            &causes,
            "metadata.labels",
            &format!(
                "Invalid value: \"{}\": must be no more than 63 characters",
                "v".repeat(64)
            ),
        );

        set(&mut p, "/metadata/labels", json!({"/x": "", "y/": ""}));
        let causes = validate_create("Pod", &p);
        assert_cause(
            &causes,
            "metadata.labels",
            "Invalid value: \"/x\": prefix part must be non-empty",
        );
        assert_cause(
            &causes,
            "metadata.labels",
            "Invalid value: \"y/\": name part must be non-empty",
        );
        assert_cause(
            &causes,
            "metadata.labels",
            &format!("Invalid value: \"y/\": {NAME_PART_ERR}"),
        );
        let long = "n".repeat(64);
        set(&mut p, "/metadata/labels", json!({long.clone(): "a"}));
        assert_only(
            &validate_create("Pod", &p),
            "metadata.labels",
            &format!("Invalid value: \"{long}\": name part must be no more than 63 characters"),
        );
    }
}
