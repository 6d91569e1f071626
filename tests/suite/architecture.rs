//! The code's shape, checked: no import cycle between the library's top-level modules, no
//! source file over ~400 lines unless its opening comment says why it stays whole, every
//! source file opening with a comment that says what it is for, and the library free of the
//! CLI's crates.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(p) = todo.pop() {
        if p.is_dir() {
            todo.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The top-level module a file under src/ belongs to (`network` for src/network/forward.rs);
/// None for the crate roots and the CLI.
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.trim_end_matches(".rs").to_string();
    (!matches!(first.as_str(), "lib" | "main" | "cli")).then_some(first)
}

/// The top-level modules a file's code (not its comments) refers to as `crate::NAME` or in a
/// group `crate::{NAME, ...}`.
fn references(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines().map(str::trim_start).filter(|l| !l.starts_with("//")) {
        for part in line.split("crate::").skip(1) {
            // `crate::a::...`, or a group `crate::{a, b::c}` (on one line).
            let group = part.strip_prefix('{').map(|g| g.split('}').next().unwrap_or(g));
            let heads: Vec<&str> = match group {
                Some(g) => g.split(',').map(str::trim).collect(),
                None => vec![part],
            };
            for head in heads {
                let name: String =
                    head.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if modules.contains(&name) {
                    out.insert(name);
                }
            }
        }
    }
    out
}

#[test]
fn no_import_cycle_between_the_librarys_modules() {
    let files = rust_files(&src());
    let modules: BTreeSet<String> = files.iter().filter_map(|p| module_of(p)).collect();
    assert!(modules.contains("network") && modules.contains("train"), "{modules:?}");
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in &files {
        let Some(m) = module_of(p) else { continue };
        let refs = references(&std::fs::read_to_string(p).unwrap(), &modules);
        uses.entry(m.clone()).or_default().extend(refs.into_iter().filter(|r| *r != m));
    }
    // Depth-first search for a back edge; the path to it is the cycle.
    fn visit(
        m: &str,
        uses: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut cycle = path[i..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in uses.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, uses, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in uses.keys() {
        if let Some(cycle) = visit(m, &uses, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
    // The scan sees grouped imports.
    let two = references("use crate::{network::Arch, loss};", &modules);
    assert_eq!(two, BTreeSet::from(["loss".to_string(), "network".to_string()]));
    // The test can fail: a made-up cycle is found.
    let fake: BTreeMap<String, BTreeSet<String>> = [("a", "b"), ("b", "c"), ("c", "a")]
        .iter()
        .map(|(x, y)| (x.to_string(), BTreeSet::from([y.to_string()])))
        .collect();
    assert!(visit("a", &fake, &mut Vec::new(), &mut BTreeSet::new()).is_some());
}

#[test]
fn files_open_with_their_purpose_and_stay_short_or_say_why() {
    for p in rust_files(&src()) {
        let text = std::fs::read_to_string(&p).unwrap();
        let opening: String =
            text.lines().take_while(|l| l.starts_with("//!")).collect::<Vec<_>>().join("\n");
        assert!(opening.len() > 40, "{} does not open with a //! comment saying what it is for", p.display());
        let lines = text.lines().count();
        assert!(
            lines <= 420 || opening.contains("stays whole"),
            "{} has {lines} lines: split it, or say in its opening comment why it stays whole",
            p.display()
        );
    }
}

#[test]
fn the_library_does_not_name_the_clis_crates() {
    for p in rust_files(&src()).into_iter().filter(|p| module_of(p).is_some()) {
        let text = std::fs::read_to_string(&p).unwrap();
        for krate in ["clap::", "indicatif::", "signal_hook::", "png::", "font8x8::"] {
            assert!(!text.contains(krate), "{} uses {krate}, a CLI-only dependency", p.display());
        }
    }
}
