//! `intstr.IntOrString` values (maxSurge, targetPort, …).

use super::render::quote;

/// An `intstr.IntOrString` value (maxSurge, targetPort, …).
#[derive(Clone, Debug)]
pub(super) enum IntStr {
    Int(i64),
    Str(String),
}

impl IntStr {
    /// `%#v` of the Go struct.
    pub(super) fn go(&self) -> String {
        match self {
            IntStr::Int(n) => format!("intstr.IntOrString{{Type:0, IntVal:{n}, StrVal:\"\"}}"),
            IntStr::Str(s) => {
                format!(
                    "intstr.IntOrString{{Type:1, IntVal:0, StrVal:{}}}",
                    quote(s)
                )
            }
        }
    }

    /// The number a percentage or integer stands for; other strings count as
    /// their integer parse, or 0.
    pub(super) fn value(&self) -> i64 {
        match self {
            IntStr::Int(n) => *n,
            IntStr::Str(s) => match percent_value(s) {
                Some(p) => p,
                None => s.parse().unwrap_or(0),
            },
        }
    }
}

pub(super) fn percent_value(s: &str) -> Option<i64> {
    let digits = s.strip_suffix('%')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(i64::MAX))
}
