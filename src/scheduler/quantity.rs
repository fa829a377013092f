//! Resource quantities ("100m", "0.5", "128Mi", "1G", "1e3") turned into integers the way
//! upstream's resource.Quantity does: `MilliValue()` for cpu (millicores) and `Value()` for
//! everything else (bytes, counts), both rounded up, away from zero.
//!
//! Stored objects can carry any string here (k8s-openapi's `Quantity` is a bare `String`), so
//! the parser returns `None` instead of failing loudly, and absurdly large values saturate at
//! `i64::MAX` rather than overflow.

/// Significant digits kept from the number; later digits only matter for rounding, and any
/// quantity with this many significant digits is far past `i64` once scaled to whole units.
const MAX_DIGITS: u32 = 30;

/// A quantity as `sign * mantissa * 10^exp10 * 2^exp2`. `inexact` records that non-zero digits
/// were dropped past `MAX_DIGITS`, so the true magnitude is slightly larger than the mantissa.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parsed {
    negative: bool,
    mantissa: u128,
    exp10: i64,
    exp2: u32,
    inexact: bool,
}

/// Millicores of a cpu quantity ("100m" → 100, "1" → 1000, "0.5" → 500), or `None` when the
/// string is not a quantity.
pub fn millis(s: &str) -> Option<i64> {
    parse(s).map(|p| p.scaled(3))
}

/// Whole units of a quantity (bytes for memory: "128Mi" → 134217728, "1G" → 10^9), rounded up
/// as upstream's `Value()` does ("100m" of memory is 1 byte), or `None` when unparseable.
pub fn units(s: &str) -> Option<i64> {
    parse(s).map(|p| p.scaled(0))
}

fn parse(s: &str) -> Option<Parsed> {
    let bytes = s.as_bytes();
    let mut pos = 0;
    let mut negative = false;
    match bytes.first() {
        Some(b'+') => pos = 1,
        Some(b'-') => {
            negative = true;
            pos = 1;
        }
        _ => {}
    }

    let mut mantissa: u128 = 0;
    let mut kept: u32 = 0;
    let mut exp10: i64 = 0;
    let mut inexact = false;
    let mut seen_digit = false;
    let mut seen_dot = false;
    while let Some(&c) = bytes.get(pos) {
        match c {
            b'0'..=b'9' => {
                seen_digit = true;
                let d = u128::from(c - b'0');
                if mantissa == 0 && d == 0 {
                    // Leading zeros are not significant; after the dot they still shift the scale.
                    if seen_dot {
                        exp10 -= 1;
                    }
                } else if kept < MAX_DIGITS {
                    mantissa = mantissa * 10 + d;
                    kept += 1;
                    if seen_dot {
                        exp10 -= 1;
                    }
                } else {
                    inexact |= d != 0;
                    if !seen_dot {
                        exp10 += 1;
                    }
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => break,
        }
        pos += 1;
    }
    if !seen_digit {
        return None;
    }
    // `pos` stopped on an ASCII byte or at the end, so it is a char boundary; `get` keeps that
    // an invariant rather than a panic risk.
    let (suffix10, exp2) = suffix(s.get(pos..)?)?;
    Some(Parsed {
        negative,
        mantissa,
        exp10: exp10.saturating_add(suffix10),
        exp2,
        inexact,
    })
}

/// The scale a suffix stands for: decimal SI, binary (Ki..Ei), or a decimal exponent (e3, E-2).
fn suffix(s: &str) -> Option<(i64, u32)> {
    let scale = match s {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        _ => {
            let rest = s.strip_prefix(['e', 'E'])?;
            let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
            // Only a plain signed integer may follow the 'e' ("1e3", "1E-2").
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (i64::from(rest.parse::<i32>().ok()?), 0)
        }
    };
    Some(scale)
}

impl Parsed {
    /// The value multiplied by `10^scale`, rounded up away from zero, saturating at i64 range.
    fn scaled(&self, scale: i64) -> i64 {
        let magnitude = self.magnitude(self.exp10.saturating_add(scale));
        let magnitude = i64::try_from(magnitude).unwrap_or(i64::MAX);
        if self.negative { -magnitude } else { magnitude }
    }

    /// `ceil(mantissa * 2^exp2 * 10^exp)`, capped just above `i64::MAX`.
    fn magnitude(&self, exp: i64) -> u128 {
        const CAP: u128 = i64::MAX as u128 + 1;
        if self.mantissa == 0 {
            return 0;
        }
        let binary = 1u128 << self.exp2;
        if exp >= 0 {
            let mut n = match self.mantissa.checked_mul(binary) {
                Some(n) => n,
                None => return CAP,
            };
            for _ in 0..exp {
                n = n.saturating_mul(10);
                if n >= CAP {
                    return CAP;
                }
            }
            return n.min(CAP);
        }
        // Multiply before dividing so "0.5Ki" stays exactly 512; only a mantissa so large that
        // the binary factor overflows u128 divides first (approximate, and only for absurd input).
        let mut sticky = self.inexact;
        let mut n = self.mantissa;
        let mut remaining = exp.unsigned_abs();
        let mut multiplied = false;
        if let Some(m) = n.checked_mul(binary) {
            n = m;
            multiplied = true;
        }
        while remaining > 0 && n > 0 {
            sticky |= !n.is_multiple_of(10);
            n /= 10;
            remaining -= 1;
            if !multiplied && let Some(m) = n.checked_mul(binary) {
                n = m;
                multiplied = true;
            }
        }
        if !multiplied {
            n = n.saturating_mul(binary);
        }
        if sticky {
            n.saturating_add(1).min(CAP)
        } else {
            n.min(CAP)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_millicores() {
        let cases: &[(&str, Option<i64>)] = &[
            ("100m", Some(100)),
            ("1", Some(1000)),
            ("0.5", Some(500)),
            (".5", Some(500)),
            ("5.", Some(5000)),
            ("1.5", Some(1500)),
            ("0.1", Some(100)),
            ("250m", Some(250)),
            ("2000m", Some(2000)),
            ("0", Some(0)),
            ("0m", Some(0)),
            ("+1", Some(1000)),
            ("-1", Some(-1000)),
            // Below a millicore rounds up, as MilliValue() does.
            ("1u", Some(1)),
            ("1n", Some(1)),
            ("0.0001", Some(1)),
            ("1500u", Some(2)),
            ("1e3", Some(1_000_000)),
            ("1E-3", Some(1)),
            ("1k", Some(1_000_000)),
            ("1Ki", Some(1_024_000)),
            // Leading zeros are not significant and must not eat precision.
            ("000000000000000000000000000000000000000001", Some(1000)),
            ("0.000000000000000000000000000000000000000001", Some(1)),
        ];
        for (input, want) in cases {
            assert_eq!(millis(input), *want, "millis({input:?})");
        }
    }

    #[test]
    fn memory_bytes() {
        let cases: &[(&str, Option<i64>)] = &[
            ("128Mi", Some(134_217_728)),
            ("1Gi", Some(1_073_741_824)),
            ("1.5Gi", Some(1_610_612_736)),
            ("0.5Ki", Some(512)),
            ("1G", Some(1_000_000_000)),
            ("1M", Some(1_000_000)),
            ("1k", Some(1000)),
            ("1e3", Some(1000)),
            ("1E3", Some(1000)),
            ("1e+3", Some(1000)),
            ("12e-1", Some(2)),
            ("1000", Some(1000)),
            ("1E", Some(1_000_000_000_000_000_000)),
            ("7Ei", Some(8_070_450_532_247_928_832)),
            // Fractions of a byte round up, as Value() does.
            ("100m", Some(1)),
            ("1.1", Some(2)),
            ("-1.1", Some(-2)),
            // Past i64 saturates instead of wrapping.
            ("8Ei", Some(i64::MAX)),
            ("1e19", Some(i64::MAX)),
            ("-1e30", Some(-i64::MAX)),
            (
                "99999999999999999999999999999999999999999999999999",
                Some(i64::MAX),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(units(input), *want, "units({input:?})");
        }
    }

    #[test]
    fn digits_past_the_kept_precision_still_round_up() {
        // 31 significant digits: the dropped trailing 1 must still make the result round up.
        let s = "0.0000000000000000000000000000001";
        assert_eq!(millis(s), Some(1));
        let s = "1.000000000000000000000000000001";
        assert_eq!(units(s), Some(2));
        assert_eq!(units("1.000000000000000000000000000000000000000"), Some(1));
    }

    #[test]
    fn garbage_is_none() {
        let cases = [
            "",
            " ",
            " 1",
            "1 ",
            "abc",
            "m",
            "Mi",
            "1KiB",
            "1ki",
            "1mi",
            "1K",
            "1i",
            "1.2.3",
            "--1",
            "+-1",
            "+",
            "-",
            ".",
            "1e",
            "1e+",
            "1e-",
            "1ee3",
            "1e3.5",
            "1e3m",
            "1Mi1",
            "1m1",
            "1e99999999999",
            "١",
            "1\u{e9}",
            "1µ",
            "0x10",
            "1_000",
            "1,5",
            "NaN",
            "inf",
        ];
        for input in cases {
            assert_eq!(millis(input), None, "millis({input:?})");
            assert_eq!(units(input), None, "units({input:?})");
        }
    }

    #[test]
    fn hostile_input_never_panics() {
        let long_nines = "9".repeat(10_000);
        let long_fraction = format!("0.{}1", "0".repeat(10_000));
        let inputs = [
            long_nines.as_str(),
            long_fraction.as_str(),
            "1e2147483647",
            "1e-2147483648",
            "999999999999999999999999999999Ei",
            "0.000000000000000000000000000000999999999999999999999999999999Ei",
            "9999999999999999999999999999999999999999e-2147483648",
            "\u{0}",
            "1\u{0}",
            "💥",
            "1💥",
        ];
        for input in inputs {
            let _ = millis(input);
            let _ = units(input);
        }
        assert_eq!(units(&long_nines), Some(i64::MAX));
        assert_eq!(units(&long_fraction), Some(1));
        assert_eq!(units("1e-2147483648"), Some(1));
        assert_eq!(units("1e2147483647"), Some(i64::MAX));
        // A mantissa too large for the binary factor divides first and stays bounded.
        assert_eq!(
            units("0.000000000000000000000000000000999999999999999999999999999999Ei"),
            Some(1)
        );
    }
}
