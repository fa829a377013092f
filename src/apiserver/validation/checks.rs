//! Value checks shared by several kinds: enumerations, counts, ports.

use serde_json::Value;

use super::errs::Errs;
use super::formats::{dns1123_label, port_name, port_number};
use super::intstr::IntStr;
use super::json::present;
use super::path::Path;
use super::render::quote;

const NEGATIVE: &str = "must be greater than or equal to 0";

/// An enumerated value: "" is `Required value`, anything unknown is
/// `Unsupported value` listing `valid` in the given order.
pub(super) fn one_of(e: &mut Errs, p: &Path, value: &str, valid: &[&str]) {
    if value.is_empty() {
        e.required(p, "");
    } else {
        supported(e, p, value, valid);
    }
}

/// `Unsupported value` unless `value` is one of `valid` (listed in the given
/// order); unlike [`one_of`], "" is just another unsupported value.
pub(super) fn supported(e: &mut Errs, p: &Path, value: &str, valid: &[&str]) {
    if !valid.contains(&value) {
        e.not_supported(p, &quote(value), valid);
    }
}

pub(super) fn protocol(e: &mut Errs, p: &Path, value: &str) {
    one_of(e, p, value, &["SCTP", "TCP", "UDP"]);
}

pub(super) fn nonnegative(e: &mut Errs, parent: &Value, path: &Path, key: &str) {
    let value = e.int(parent, path, key);
    nonnegative_value(e, &path.child(key), value);
}

pub(super) fn nonnegative_value(e: &mut Errs, p: &Path, value: Option<i64>) {
    if let Some(n) = value
        && n < 0
    {
        e.invalid_int(p, n, NEGATIVE);
    }
}

/// A required name that must be a DNS label (containers, volumes).
pub(super) fn required_dns_label<'a>(
    e: &mut Errs,
    parent: &'a Value,
    path: &Path,
    key: &str,
) -> Option<&'a str> {
    let name = e.required_string(parent, path, key)?;
    for msg in dns1123_label(name) {
        e.invalid_str(&path.child(key), name, &msg);
    }
    Some(name)
}

/// A port given as a number or an IANA_SVC_NAME; unset counts as 0.
pub(super) fn port_num_or_name(e: &mut Errs, parent: &Value, path: &Path, key: &str) {
    let p = path.child(key);
    match e.int_or_string(parent, path, key) {
        Some(IntStr::Str(name)) => {
            for msg in port_name(&name) {
                e.invalid_str(&p, &name, &msg);
            }
        }
        Some(IntStr::Int(n)) => {
            for msg in port_number(n) {
                e.invalid_int(&p, n, &msg);
            }
        }
        None if present(parent, key).is_none() => {
            for msg in port_number(0) {
                e.invalid_int(&p, 0, &msg);
            }
        }
        None => {}
    }
}
