//! The commands of the README and of the reference it links (docs/DATA.md, ...) work from the
//! checkout: every `bp-par` line in their `sh` blocks names files that are shipped or written
//! by an earlier line, and flags its command has; every `cargo run --example NAME` names an
//! example that exists.

use super::harness::repo_file;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Options whose value is a file the command writes.
const OUTPUTS: [&str; 6] = ["-o", "--save", "--metrics", "--out", "--checkpoint", "--plot"];

/// The lines of the README's ```sh blocks, comments removed.
fn shell_lines(readme: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_sh = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh = line.trim() == "```sh";
            continue;
        }
        if in_sh {
            lines.push(line.split(" #").next().unwrap_or("").trim().to_string());
        }
    }
    lines
}

/// Whether a word of a command is a file name rather than a value or a placeholder.
fn is_file(word: &str) -> bool {
    let ext = ["csv", "gz", "safetensors", "png", "svg", "json", "jsonl", "npy", "npz"];
    !word.starts_with('-')
        && !word.contains(['[', '<'])
        && (word.contains('/')
            || Path::new(word).extension().is_some_and(|e| ext.contains(&e.to_str().unwrap_or(""))))
}

/// The README and the reference it links to in docs/, read in this order: a file written by a
/// command in an earlier one counts as written.
const DOCUMENTS: [&str; 8] = [
    "README.md",
    "docs/PYTHON.md",
    "docs/DATA.md",
    "docs/TRAINING.md",
    "docs/RUNS.md",
    "docs/MPI.md",
    "docs/MODELS.md",
    "docs/LIBRARY.md",
];

#[test]
fn every_readme_command_names_files_that_exist_and_flags_its_command_has() {
    let lines: Vec<String> = DOCUMENTS
        .iter()
        .flat_map(|d| {
            shell_lines(&std::fs::read_to_string(repo_file(d)).unwrap_or_else(|e| panic!("{d}: {e}")))
        })
        .collect();
    let mut written = BTreeSet::new();
    let mut checked = 0;
    for line in &lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["cargo", .., "--example", name] = words.as_slice() {
            assert!(Path::new(&repo_file(&format!("examples/{name}.rs"))).exists(), "README: {line}");
        }
        if words.first() != Some(&"bp-par") {
            continue;
        }
        checked += 1;
        // The subcommand (and show's picture) whose --help lists the flags.
        let sub: Vec<&str> =
            words[1..].iter().take_while(|w| !w.starts_with('-') && !is_file(w)).take(2).copied().collect();
        let sub = if sub.first() == Some(&"show") { sub } else { sub[..1].to_vec() };
        let help = Command::new(env!("CARGO_BIN_EXE_bp-par")).args(&sub).arg("--help").output().unwrap();
        let help = String::from_utf8_lossy(&help.stdout).into_owned();
        assert!(help.contains("Usage:"), "README: {line}: no help for {sub:?}");
        for (i, w) in words.iter().enumerate() {
            if w.starts_with("--") {
                assert!(
                    help.contains(&format!("{w} ")) || help.contains(&format!("{w}\n")),
                    "README: {line}: {sub:?} has no {w}"
                );
            }
            if !is_file(w) || written.contains(*w) {
                continue;
            }
            if i > 0 && OUTPUTS.contains(&words[i - 1]) {
                written.insert(w.to_string());
            } else {
                assert!(
                    Path::new(&repo_file(w)).exists(),
                    "README: {line}: {w} is neither shipped nor written above"
                );
            }
        }
    }
    assert!(checked >= 10, "the README's command list was not found: {lines:?}");
}
