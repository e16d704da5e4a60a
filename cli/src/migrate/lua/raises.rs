//! Where Lua raises: a string function or a concatenation of a header that is absent. Envoy
//! logs the error (`[string "<script>"]:LINE: <message>`, at `error`), keeps the header changes
//! made before it, and lets the request go on; the rest of the script does not run.
//!
//! The evaluation ends the path there, as a `return` would, and puts a log line at `error`
//! under the same condition. Its text is a mark here: the Lua's own message, which names the
//! script's first line and the line that raised, is learned from the Lua itself on a request
//! that gets there, before the compare (`migrate::raises`), so that the plugin logs what the
//! Lua logs, byte for byte.

use super::effects::Kind;
use super::eval::Eval;
use super::values::Cond;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a raise's log line says until the Lua's message is learned.
const MARK: &str = "moonshift-migrate: the Lua raises here #";

/// A new mark, unique in this process.
fn mark() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{MARK}{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Whether a log message is a raise's mark.
pub fn is_mark(message: &str) -> bool {
    message.starts_with(MARK)
}

impl Eval<'_> {
    /// The script raises here when `when` holds (`what` says what raises): a log line at
    /// `error` under that condition, and the path ends there.
    pub fn raise(&mut self, when: Cond, what: &str) {
        let raised = Cond::and(self.pc.clone(), when.clone());
        let (line, column, code) = self.anchor.clone().unwrap_or_default();
        self.effects.push(super::effects::Effect {
            phase: self.phase,
            guard: raised.clone(),
            kind: Kind::Log {
                level: "error",
                message: mark(),
            },
            reads: Vec::new(),
            line,
            column,
            code,
        });
        self.notes.push(format!(
            "line {line}: {what}, Lua raises: the script stops there, and the request goes on with Envoy's error line. The plugin stops its steps there too and logs the Lua's line (learned from the Lua on a request that gets there). Envoy's `lua.errors` counter counts it; the plugin has no such counter"
        ));
        // A path of its own: the compare derives requests on both sides of it, and counts it
        // among the branches it exercised.
        self.branches.push(raised.clone());
        self.ended.push(raised);
        self.pc = Cond::and(self.pc.clone(), Cond::not(when));
    }

    /// Where control is after something evaluated under a narrower condition, from `entry`:
    /// `entry`, less where the script ended in between (a reply, a raise).
    pub fn resume(&self, entry: Cond, since: usize) -> Cond {
        let ended = self
            .ended
            .get(since..)
            .unwrap_or_default()
            .iter()
            .cloned()
            .fold(Cond::Const(false), Cond::or);
        Cond::and(entry, Cond::not(ended))
    }
}
