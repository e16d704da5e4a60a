//! docs/migrating.md's `moonshift` commands, run as the guide shows them: each line of a ```sh
//! block that starts with `moonshift `, in order, from the repository root, must exit with the
//! status its block's `# exit N` comment gives (0 when it gives none).

// A test fails by panicking.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use support::{moonshift, root};

#[test]
fn every_command_in_the_migration_guide_runs() {
    let guide = std::fs::read_to_string(root().join("docs/migrating.md")).unwrap();
    let mut commands = Vec::new();
    let mut in_sh = false;
    let mut expected = 0;
    for line in guide.lines() {
        match line.trim() {
            "```sh" => {
                in_sh = true;
                expected = 0;
            }
            "```" => in_sh = false,
            text if in_sh => {
                if let Some(code) = text.strip_prefix("# exit ") {
                    expected = code.parse().unwrap();
                } else if let Some(args) = text.strip_prefix("moonshift ") {
                    commands.push((args.to_string(), expected));
                }
            }
            _ => {}
        }
    }
    assert!(
        commands.len() >= 3,
        "the guide has {} commands",
        commands.len()
    );
    let _ = std::fs::remove_dir_all(root().join("target/guide"));
    for (args, expected) in commands {
        let argv: Vec<&str> = args.split_whitespace().collect();
        let (code, output) = moonshift(&argv);
        assert_eq!(code, expected, "moonshift {args}\n{output}");
    }
}
