//! Go's padded standard base64 decoding, with the error offsets Go reports.

pub(super) fn base64_error(at: usize) -> String {
    format!("illegal base64 data at input byte {at}")
}

fn base64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Go's padded standard base64 decoding (how []byte fields arrive in JSON):
/// line breaks are skipped; the error is the offset Go reports.
pub(super) fn go_base64_decode(s: &str) -> Result<Vec<u8>, usize> {
    let src = s.as_bytes();
    let skip_breaks = |mut i: usize| {
        while i < src.len() && (src[i] == b'\n' || src[i] == b'\r') {
            i += 1;
        }
        i
    };
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    loop {
        let mut buf = [0u8; 4];
        let mut len = 4;
        let mut last = false;
        let mut j = 0;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                return Err(si - j);
            }
            let c = src[si];
            si += 1;
            if let Some(v) = base64_value(c) {
                buf[j] = v;
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' || j < 2 {
                return Err(si - 1);
            }
            if j == 2 {
                si = skip_breaks(si);
                if si == src.len() {
                    return Err(src.len());
                }
                if src[si] != b'=' {
                    return Err(si - 1);
                }
                si += 1;
            }
            si = skip_breaks(si);
            if si < src.len() {
                return Err(si);
            }
            len = j;
            last = true;
            break;
        }
        let v = (u32::from(buf[0]) << 18)
            | (u32::from(buf[1]) << 12)
            | (u32::from(buf[2]) << 6)
            | u32::from(buf[3]);
        let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        out.extend_from_slice(&bytes[..len - 1]);
        if last {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::go_base64_decode;

    #[test]
    fn go_base64_offsets() {
        assert_eq!(go_base64_decode("aGVsbG8="), Ok(b"hello".to_vec()));
        assert_eq!(go_base64_decode(""), Ok(vec![]));
        assert_eq!(go_base64_decode("abc"), Err(0));
        assert_eq!(go_base64_decode("abcde"), Err(4));
        assert_eq!(go_base64_decode("ab=c"), Err(2));
        assert_eq!(go_base64_decode("ab="), Err(3));
        assert_eq!(go_base64_decode("YQ==x"), Err(4));
    }
}
