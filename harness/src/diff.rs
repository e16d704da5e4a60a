//! Side-by-side rendering of two outcomes, differing rows marked.

use crate::exchange::{show_bytes, Header, Outcome};

fn header_lines(prefix: &str, headers: &[Header]) -> Vec<String> {
    headers
        .iter()
        .map(|(k, v)| format!("{prefix} {k}: {}", show_bytes(v)))
        .collect()
}

/// An outcome as lines, one observable per line, in a fixed order.
pub fn lines(outcome: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    match &outcome.upstream_request {
        Some(headers) => out.extend(header_lines("upstream", headers)),
        None => out.push("upstream (not reached: local reply)".into()),
    }
    out.push(format!("status {}", outcome.response.status));
    out.extend(header_lines("response", &outcome.response.headers));
    match &outcome.response.body {
        Some(body) => out.push(format!("body {:?}", show_bytes(body))),
        None => out.push("body (upstream's)".into()),
    }
    out.extend(outcome.logs.iter().map(|l| format!("log {l}")));
    out
}

fn clip(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        format!("{text:<width$}")
    } else {
        let head: String = text.chars().take(width - 1).collect();
        format!("{head}…")
    }
}

/// Two outcomes side by side; rows that differ are marked with `≠`. `None` when equal.
pub fn side_by_side(
    left_title: &str,
    left: &Outcome,
    right_title: &str,
    right: &Outcome,
) -> Option<String> {
    if left == right {
        return None;
    }
    let (a, b) = (lines(left), lines(right));
    let width = 58;
    let mut out = format!("  {}   {}\n", clip(left_title, width), right_title);
    for i in 0..a.len().max(b.len()) {
        let l = a.get(i).map_or("", String::as_str);
        let r = b.get(i).map_or("", String::as_str);
        let mark = if l == r { ' ' } else { '≠' };
        out.push_str(&format!("{mark} {} │ {r}\n", clip(l, width)));
    }
    Some(out)
}
