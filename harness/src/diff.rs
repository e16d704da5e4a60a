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

/// Aligns two line lists on their longest common subsequence: `(left, right)` rows, where a row
/// missing on one side is an insertion or a deletion.
fn align<'a>(a: &'a [String], b: &'a [String]) -> Vec<(Option<&'a str>, Option<&'a str>)> {
    // lcs[i * width + j]: the longest common subsequence of a[i..] and b[j..].
    let width = b.len() + 1;
    let mut lcs = vec![0usize; (a.len() + 1) * width];
    let at = |lcs: &[usize], i: usize, j: usize| lcs.get(i * width + j).copied().unwrap_or(0);
    for (i, x) in a.iter().enumerate().rev() {
        for (j, y) in b.iter().enumerate().rev() {
            let length = match x == y {
                true => at(&lcs, i + 1, j + 1) + 1,
                false => at(&lcs, i + 1, j).max(at(&lcs, i, j + 1)),
            };
            if let Some(cell) = lcs.get_mut(i * width + j) {
                *cell = length;
            }
        }
    }
    let (mut i, mut j, mut rows) = (0, 0, Vec::new());
    loop {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                rows.push((Some(x.as_str()), Some(y.as_str())));
                i += 1;
                j += 1;
            }
            (x, Some(y)) if x.is_none() || at(&lcs, i, j + 1) >= at(&lcs, i + 1, j) => {
                rows.push((None, Some(y.as_str())));
                j += 1;
            }
            (Some(x), _) => {
                rows.push((Some(x.as_str()), None));
                i += 1;
            }
            _ => return rows,
        }
    }
}

/// Two outcomes side by side, aligned; rows that differ are marked with `≠`. `None` when equal.
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
    for (l, r) in align(&a, &b) {
        let mark = if l.is_some() && l == r { ' ' } else { '≠' };
        out.push_str(&format!(
            "{mark} {} │ {}\n",
            clip(l.unwrap_or(""), width),
            r.unwrap_or("")
        ));
    }
    Some(out)
}
