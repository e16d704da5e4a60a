//! Reading a callgrind dump: where Envoy's instructions went, its own code or code compiled while
//! it ran.
//!
//! A Wasm module's code is compiled by V8 into anonymous memory, and a Lua script's hot loops by
//! LuaJIT into its machine-code area; callgrind names neither (object `???`, function `0x<addr>`).
//! Envoy's own code is named by its binary, except where callgrind loses the mapping of part of
//! its text: that part is `???` too, at addresses inside the binary's span. So a `???` function is
//! compiled code when its address lies above every function of a named object that is given by
//! address (the stripped Envoy binary), with a margin for the binary's data segments.
//!
//! What is not compiled code is the platform's side of a filter: Envoy's filter chain, the Wasm
//! or Lua filter's glue, V8's builtins and the host calls. A filter whose own code cost nothing
//! would still cost that.

use std::collections::HashMap;

/// Past the highest addressed function of a named object, how far its data may reach.
const DATA_MARGIN: u64 = 64 << 20;

/// A dump's instructions, and how many of them ran in compiled code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Split {
    pub total: u64,
    pub compiled: u64,
}

/// The address a function is named by (`0x000000000628d840`, with a recursion suffix `'2`).
fn address(name: &str) -> Option<u64> {
    let hex = name.strip_prefix("0x")?;
    let hex = hex.split('\'').next()?;
    u64::from_str_radix(hex, 16).ok()
}

/// `(12) name` or `(12)`: the id, and the name where it is given.
fn compressed(value: &str) -> (Option<&str>, Option<&str>) {
    match value.strip_prefix('(').and_then(|v| v.split_once(')')) {
        Some((id, rest)) => (Some(id), Some(rest.trim()).filter(|r| !r.is_empty())),
        None => (None, Some(value.trim())),
    }
}

/// Resolves a compressed name against `names`, recording it when given.
fn resolve(names: &mut HashMap<String, String>, value: &str) -> String {
    match compressed(value) {
        (Some(id), Some(name)) => {
            names.insert(id.to_string(), name.to_string());
            name.to_string()
        }
        (Some(id), None) => names.get(id).cloned().unwrap_or_default(),
        (None, name) => name.unwrap_or_default().to_string(),
    }
}

/// Self cost of every `(object, function)` in a dump with one event (`Ir`).
fn self_costs(text: &str) -> HashMap<(String, String), u64> {
    let (mut objects, mut functions) = (HashMap::new(), HashMap::new());
    let (mut object, mut function) = (String::new(), String::new());
    let mut next_is_call = false;
    let mut costs: HashMap<(String, String), u64> = HashMap::new();
    for line in text.lines() {
        if let Some((key, value)) = line.split_once('=') {
            match key {
                "ob" => object = resolve(&mut objects, value),
                "cob" => {
                    resolve(&mut objects, value);
                }
                "fn" => function = resolve(&mut functions, value),
                "cfn" => {
                    resolve(&mut functions, value);
                }
                // The line after `calls=` is the call's inclusive cost, not the caller's own.
                "calls" => next_is_call = true,
                _ => {}
            }
            continue;
        }
        let starts_cost = line
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'+' || b == b'-' || b == b'*');
        let cost = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse::<u64>().ok());
        let Some(cost) = cost.filter(|_| starts_cost) else {
            continue;
        };
        if std::mem::take(&mut next_is_call) {
            continue;
        }
        *costs.entry((object.clone(), function.clone())).or_default() += cost;
    }
    costs
}

/// Where the instructions of a dump went.
pub fn split(text: &str) -> Split {
    let costs = self_costs(text);
    let named_top = costs
        .keys()
        .filter(|(object, _)| object != "???" && !object.is_empty())
        .filter_map(|(_, function)| address(function))
        .max()
        .unwrap_or(0);
    let mut split = Split::default();
    for ((object, function), cost) in &costs {
        split.total += cost;
        let compiled = object == "???"
            && address(function).is_some_and(|a| a > named_top.saturating_add(DATA_MARGIN));
        if compiled {
            split.compiled += cost;
        }
    }
    split
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dump in callgrind's format: Envoy's binary (functions by address), libc (by name), a
    /// part of Envoy's text callgrind lost (`???` inside its span) and compiled code far above.
    const DUMP: &str = "\
# callgrind format
version: 1
positions: line
events: Ir
summary: 0

ob=(2) /envoy/_bin/envoy
fl=(1) ???
fn=(10) 0x0000000006118000
0 100
cob=(1) ???
cfn=(20) 0x000002fbed6f3c00
calls=1 0
0 5000
fn=(11) 0x0000000002000000
+1 40
ob=(3) /usr/lib/libc.so.6
fn=(12) memset
0 7
ob=(1)
fn=(13) 0x000000000628d840
0 30
fn=(20)
0 900
-1 100
fn=(21) 0x000002fbed6f9000'2
* 3
fn=(10)
0 1
";

    #[test]
    fn compiled_code_is_unnamed_code_far_above_the_binary() {
        assert_eq!(
            split(DUMP),
            Split {
                // 100 + 40 + 7 + 30 + 900 + 100 + 3 + 1; the call's 5000 is inclusive, not counted.
                total: 1_181,
                compiled: 1_003,
            }
        );
    }

    #[test]
    fn names_and_addresses() {
        let table: &[(&str, Option<u64>)] = &[
            ("0x10", Some(16)),
            ("0x000002fbed6f9000'2", Some(0x2fb_ed6f_9000)),
            ("memset", None),
            ("0xzz", None),
        ];
        for (name, want) in table {
            assert_eq!(address(name), *want, "{name}");
        }
        assert_eq!(compressed("(4) /lib/x.so"), (Some("4"), Some("/lib/x.so")));
        assert_eq!(compressed("(4)"), (Some("4"), None));
    }

    #[test]
    fn a_dump_without_compiled_code_has_none() {
        let plain = "ob=(2) /envoy\nfn=(1) 0x1000\n0 10\nob=(1) ???\nfn=(2) 0x1800\n0 5\n";
        assert_eq!(
            split(plain),
            Split {
                total: 15,
                compiled: 0
            }
        );
    }
}
