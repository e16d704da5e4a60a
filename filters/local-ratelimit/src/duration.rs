//! Durations as Envoy's JSON spells them: `"60s"`, `"1.5s"`, `"0.05s"`; `"50ms"` is accepted too.

/// Milliseconds in `text`, or `None` when it is not a duration with at most millisecond precision.
pub fn parse_millis(text: &str) -> Option<u64> {
    if let Some(ms) = text.strip_suffix("ms") {
        return digits(ms);
    }
    let secs = text.strip_suffix('s')?;
    let (whole, fraction) = secs.split_once('.').unwrap_or((secs, ""));
    if whole.is_empty() || fraction.len() > 3 || (secs.contains('.') && fraction.is_empty()) {
        return None;
    }
    let mut millis = digits(whole)?.checked_mul(1000)?;
    let mut scale = 100;
    for b in fraction.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        millis = millis.checked_add(u64::from(b - b'0') * scale)?;
        scale /= 10;
    }
    Some(millis)
}

fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let cases = [
            ("60s", Some(60_000)),
            ("1s", Some(1_000)),
            ("1.5s", Some(1_500)),
            ("0.05s", Some(50)),
            ("0.001s", Some(1)),
            ("50ms", Some(50)),
            ("0s", Some(0)),
            ("0.0001s", None),
            ("1.s", None),
            (".5s", None),
            ("-1s", None),
            ("1m", None),
            ("ms", None),
            ("s", None),
            ("60", None),
            (" 60s", None),
            ("99999999999999999999s", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_millis(text), want, "{text:?}");
        }
    }
}
