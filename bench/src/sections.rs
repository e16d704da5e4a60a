//! The sections of BENCHMARKS.md that runs other than the timed one write: the counted
//! instructions (`--instructions`) and the memory (`--memory`), each between its markers at the
//! head of the file, each replaced in place by its own run and kept by the others.

/// Writes `section` (which opens with `begin` and closes with `end`) into BENCHMARKS.md in place
/// of the text between those markers (at its head when it has none), when `whole`: a run of every
/// case. A partial run writes it alone to `target/bench/<name>.md`.
pub fn write_section(name: &str, begin: &str, end: &str, section: &str, whole: bool) {
    let root = moonshift_envoy::paths::workspace_root();
    let path = match whole {
        false => root.join(format!("target/bench/{name}.md")),
        true => root.join("BENCHMARKS.md"),
    };
    let previous = std::fs::read_to_string(&path).unwrap_or_default();
    let text = match (previous.find(begin), previous.find(end)) {
        (Some(at), Some(to)) if whole && at < to => format!(
            "{}{}{}",
            &previous[..at],
            section.trim_end(),
            &previous[to + end.len()..]
        ),
        _ if whole => format!("{section}\n{previous}"),
        _ => section.to_string(),
    };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    eprintln!("wrote {}", path.display());
}

/// The sections other runs keep at the head of BENCHMARKS.md (`--instructions`, `--memory`),
/// as `text` holds them, in order: a timed run rewrites the rest of the file and keeps these.
pub fn kept_sections(text: &str) -> String {
    let markers = [
        (crate::instructions::BEGIN, crate::instructions::END),
        (crate::memory::BEGIN, crate::memory::END),
    ];
    let mut kept = String::new();
    for (begin, end) in markers {
        if let (Some(at), Some(to)) = (text.find(begin), text.find(end)) {
            if at < to {
                kept.push_str(&text[at..to + end.len()]);
                kept.push_str("\n\n");
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    /// A timed run keeps the counted and the memory sections, in their order, and nothing else.
    #[test]
    fn a_timed_run_keeps_the_other_runs_sections() {
        let (i, j) = (crate::instructions::BEGIN, crate::instructions::END);
        let (m, n) = (crate::memory::BEGIN, crate::memory::END);
        let cases = [
            (
                format!("{i}\ncounted\n{j}\n{m}\nmemory\n{n}\n# Benchmarks\nold"),
                format!("{i}\ncounted\n{j}\n\n{m}\nmemory\n{n}\n\n"),
            ),
            (
                format!("{m}\nmemory\n{n}\nold"),
                format!("{m}\nmemory\n{n}\n\n"),
            ),
            ("# Benchmarks\nold".to_string(), String::new()),
            (format!("{j}\n{i}\nmisplaced"), String::new()),
        ];
        for (text, kept) in cases {
            assert_eq!(super::kept_sections(&text), kept, "{text}");
        }
    }
}
