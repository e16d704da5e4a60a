//! Where each command of a template's text starts and ends: `%NAME%`, `%NAME(argument)%`, and
//! an argument's `:` chain of transforms.

use super::{transform, Scanned};
use alloc::vec::Vec;

/// Where an argument closes: the `)`'s index, the command's end (exclusive), and the span of
/// its `:` chain of transforms.
struct Close {
    paren: usize,
    end: usize,
    chain: Option<(usize, usize)>,
}

/// Where the argument opened at `from` closes: the first `)` followed by `%` or by a chain of
/// transforms and `%` ([`transform::chain_end`]).
fn close(bytes: &[u8], from: usize) -> Option<Close> {
    let mut at = from;
    while let Some(offset) = bytes.get(at..)?.iter().position(|&b| b == b')') {
        let paren = at + offset;
        match bytes.get(paren + 1) {
            Some(b'%') => {
                return Some(Close {
                    paren,
                    end: paren + 2,
                    chain: None,
                })
            }
            Some(b':') => {
                if let Some(pct) = transform::chain_end(bytes, paren + 1) {
                    return Some(Close {
                        paren,
                        end: pct + 1,
                        chain: Some((paren + 1, pct)),
                    });
                }
            }
            _ => {}
        }
        at = paren + 1;
    }
    None
}

/// The commands of `text`, in order.
pub(super) fn commands(text: &str) -> Vec<Scanned<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(at) = bytes
        .get(pos..)
        .and_then(|rest| rest.iter().position(|&b| b == b'%'))
    {
        let at = pos + at;
        let name_len = bytes
            .get(at + 1..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_uppercase() || **b == b'_')
            .count();
        let name_end = at + 1 + name_len;
        let name = text.get(at + 1..name_end).unwrap_or_default();
        let found = match bytes.get(name_end) {
            _ if name_len == 0 => None,
            Some(b'%') => Some((name_end + 1, None, None)),
            Some(b'(') => close(bytes, name_end + 1).map(|c| {
                (
                    c.end,
                    text.get(name_end + 1..c.paren),
                    c.chain.and_then(|(from, to)| text.get(from..to)),
                )
            }),
            _ => None,
        };
        match found {
            Some((end, argument, chain)) => {
                out.push((at, end, name, argument, chain));
                pos = end;
            }
            None => pos = at + 1,
        }
    }
    out
}
