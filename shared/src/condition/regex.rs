//! `regex` string tests: the `regex` crate's syntax in byte mode, compiled by its own engine
//! crate, `regex-automata`, with only its parser and its PikeVM (no Unicode tables, no meta
//! engine). Built only with the `regex` feature: in a module it adds about 195 KB, twice
//! the rest of a decorator (98 KB; docs/templates-and-conditions.md has the figures).

use crate::config::ConfigError;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::ToString;
use core::cell::RefCell;
use regex_automata::nfa::thompson::{self, pikevm};
use regex_automata::util::syntax;

/// What one compiled pattern may cost in memory (the `regex` crate's `size_limit`).
const REGEX_SIZE_LIMIT: usize = 1 << 18;

/// A compiled pattern and its matching scratch space, reused across requests (a plugin's
/// conditions live on one worker's VM, which runs one callback at a time).
#[derive(Debug, Clone)]
pub struct Compiled {
    vm: pikevm::PikeVM,
    cache: RefCell<pikevm::Cache>,
}

impl Compiled {
    pub(crate) fn is_match(&self, value: &[u8]) -> bool {
        match self.cache.try_borrow_mut() {
            Ok(mut cache) => self.vm.is_match(&mut cache, value),
            Err(_) => self.vm.is_match(&mut self.vm.create_cache(), value),
        }
    }
}

/// Compiles `source` in byte mode: `.` is any byte (`\n` too), classes are ASCII.
pub(crate) fn compile(field: &str, source: &str) -> Result<Box<Compiled>, ConfigError> {
    let syntax = syntax::Config::new()
        .unicode(false)
        .utf8(false)
        .dot_matches_new_line(true);
    let refuse = |why: &str| {
        ConfigError::new(format!(
            "{field} does not compile: {}",
            why.lines().last().unwrap_or_default().trim()
        ))
    };
    // Parsed first for the syntax error's own text, whose last line says what is wrong
    // (`error: unclosed group`): without `std`, the build error below does not expose it.
    syntax::parse_with(source, &syntax).map_err(|e| refuse(&e.to_string()))?;
    let vm = pikevm::PikeVM::builder()
        .syntax(syntax)
        .thompson(
            thompson::Config::new()
                .utf8(false)
                .nfa_size_limit(Some(REGEX_SIZE_LIMIT)),
        )
        .build(source)
        .map_err(|e| refuse(&e.to_string()))?;
    let cache = RefCell::new(vm.create_cache());
    Ok(Box::new(Compiled { vm, cache }))
}
