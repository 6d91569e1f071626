//! The library names a setting by its field name in backticks (`` `batch` ``,
//! `` `label_col` ``); the command line shows the flag that sets it instead. One table,
//! applied to every error message the CLI prints.

/// Library field name → command-line flag.
const FLAGS: &[(&str, &str)] = &[
    ("epochs", "--epochs"),
    ("batch", "--batch"),
    ("shard", "--shard-size"),
    ("lr", "--lr"),
    ("momentum", "--momentum"),
    ("l2", "--l2"),
    ("seed", "--seed"),
    ("label_col", "--label-col"),
    ("labels", "--labels"),
    ("targets", "--targets"),
    ("classes", "--classes"),
    ("val_split", "--val-split"),
    ("normalize", "--normalize"),
    ("on_divergence", "--on-divergence"),
    ("checkpoint_every", "--checkpoint-every"),
    ("max_iter", "--max-iter"),
    ("lbfgs_memory", "--lbfgs-memory"),
    ("clip_norm", "--clip-norm"),
    ("beta1", "--beta1"),
    ("beta2", "--beta2"),
    ("eps", "--eps"),
    ("class_weight", "--class-weight"),
    ("loss", "--loss"),
    ("output", "--output"),
    ("delimiter", "--delimiter"),
    ("skip_rows", "--skip-rows"),
    ("keep_cols", "--keep-cols"),
    ("missing", "--missing"),
    ("one_hot", "--one-hot"),
    ("hidden", "--hidden"),
    ("train_rows", "--train-rows"),
    ("threads", "--threads"),
];

/// The schedule's and stopping rules' fields (issue 10).
const SCHEDULE_FLAGS: [(&str, &str); 11] = [
    ("lr_step", "--lr-step"),
    ("lr_gamma", "--lr-gamma"),
    ("lr_power", "--lr-power"),
    ("lr_min", "--lr-min"),
    ("lr_patience", "--lr-patience"),
    ("lr_factor", "--lr-factor"),
    ("target_loss", "--target-loss"),
    ("min_change", "--min-change"),
    ("early_stopping", "--early-stopping"),
    ("patience", "--patience"),
    ("monitor", "--monitor"),
];

/// `message` with every `` `field` `` of [`FLAGS`] and [`SCHEDULE_FLAGS`] replaced by its flag; other backticked
/// words stay as they are.
pub fn to_flags(message: &str) -> String {
    let mut out = message.to_string();
    for &(field, flag) in FLAGS.iter().chain(SCHEDULE_FLAGS.iter()) {
        out = out.replace(&format!("`{field}`"), flag);
    }
    out
}

/// What a field is called by a command that has no flag for it: `eval`, `predict` and `show`
/// take the class and target counts from the model.
const FROM_THE_MODEL: [(&str, &str); 2] =
    [("classes", "the model's class count"), ("targets", "the model's target count")];

/// [`to_flags`] in the words of `command` (the subcommand that ran, e.g. `eval`): a field
/// whose flag `command` has becomes that flag; one it lacks becomes what the model fixes
/// ([`FROM_THE_MODEL`]) or, for the rest, train's flag named as such ("train's --batch").
pub fn to_flags_for(message: &str, command: &clap::Command) -> String {
    let has = |flag: &str| command.get_arguments().any(|a| a.get_long() == flag.strip_prefix("--"));
    let mut out = message.to_string();
    for &(field, flag) in FLAGS.iter().chain(SCHEDULE_FLAGS.iter()) {
        let quoted = format!("`{field}`");
        if !out.contains(&quoted) {
            continue;
        }
        let words = match FROM_THE_MODEL.iter().find(|(f, _)| *f == field) {
            _ if has(flag) => flag.to_string(),
            Some((_, words)) => (*words).to_string(),
            None => format!("train's {flag}"),
        };
        out = out.replace(&quoted, &words);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The clap command of `bp-par NAME...` (a subcommand path such as `show confusion`).
    fn subcommand(path: &[&str]) -> clap::Command {
        use clap::CommandFactory;
        path.iter().fold(crate::cli::args::Cli::command(), |c, name| {
            c.find_subcommand(name).cloned().unwrap_or_else(|| panic!("no subcommand {name}"))
        })
    }

    #[test]
    fn each_command_gets_its_own_words() {
        let msg = "label 12 is out of range for `classes` 10 (expected 0..9)";
        assert_eq!(to_flags_for(msg, &subcommand(&["train"])), to_flags(msg));
        for cmd in [&["eval"][..], &["predict"], &["show", "confusion"], &["show", "digits"]] {
            let said = to_flags_for(msg, &subcommand(cmd));
            assert_eq!(said, "label 12 is out of range for the model's class count 10 (expected 0..9)");
        }
        let msg = "`targets` 3 needs a feature column; `label_col` 7; `batch` 0";
        assert_eq!(
            to_flags_for(msg, &subcommand(&["eval"])),
            "the model's target count 3 needs a feature column; --label-col 7; train's --batch 0"
        );
        assert_eq!(
            to_flags_for("`batch` must be at least 1", &subcommand(&["bench"])),
            "--batch must be at least 1"
        );
    }

    /// Every library field the commands that read a model can name gets words that command
    /// understands: its own flag, what the model fixes, or train's flag said to be train's.
    #[test]
    fn no_model_command_is_told_of_a_flag_it_lacks() {
        for cmd in [&["eval"][..], &["predict"], &["show", "confusion"], &["show", "digits"]] {
            let command = subcommand(cmd);
            for &(field, flag) in FLAGS.iter().chain(SCHEDULE_FLAGS.iter()) {
                let said = to_flags_for(&format!("`{field}`"), &command);
                let own = command.get_arguments().any(|a| a.get_long() == flag.strip_prefix("--"));
                assert!(
                    own || !said.starts_with("--"),
                    "{cmd:?} would be told of {flag}, which it lacks: {said}"
                );
            }
        }
    }

    #[test]
    fn fields_become_flags_and_other_words_stay() {
        assert_eq!(to_flags("`batch` must be at least 1"), "--batch must be at least 1");
        assert_eq!(
            to_flags("label 3 is out of range for `classes` 3 (`label_col` first)"),
            "label 3 is out of range for --classes 3 (--label-col first)"
        );
        assert_eq!(to_flags("`other` and shard"), "`other` and shard");
    }

    /// The string literals of Rust source `text` (escapes kept), outside comments, char
    /// literals and inline `mod tests { ... }` blocks.
    fn string_literals(text: &str) -> Vec<String> {
        let b = text.as_bytes();
        let (mut out, mut i, mut depth, mut skip_depth) = (Vec::new(), 0, 0usize, None::<usize>);
        while i < b.len() {
            if text[i..].starts_with("//") {
                i += text[i..].find('\n').unwrap_or(text.len() - i);
            } else if text[i..].starts_with("#[cfg(test)]") {
                let rest = text[i..].split_once('\n').map_or("", |(_, r)| r).trim_start();
                if rest.starts_with("mod ") && rest.split('\n').next().is_some_and(|l| l.ends_with('{')) {
                    skip_depth = Some(depth);
                }
                i += "#[cfg(test)]".len();
            } else if b[i] == b'\'' {
                // A char literal ('x', '\n', '"') or a lifetime ('a).
                i += match (b.get(i + 1), b.get(i + 2)) {
                    (Some(b'\\'), _) => 2 + text[i + 2..].find('\'').unwrap_or(0) + 1,
                    (Some(_), Some(b'\'')) => 3,
                    _ => 1,
                };
            } else if b[i] == b'"' {
                let start = i + 1;
                i = start;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if skip_depth.is_none() {
                    out.push(text[start..i.min(b.len())].to_string());
                }
                i += 1;
            } else {
                match b[i] {
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if skip_depth == Some(depth) {
                            skip_depth = None;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        out
    }

    #[test]
    fn string_literals_are_found_across_lines_and_outside_tests() {
        let src = "fn f() { g(\"`a` x \\\n  `b`\", '\"', 'c', \"`c`\"); } // \"`d`\"\n\
                   #[cfg(test)]\nmod tests {\n fn t() { h(\"`e`\") }\n}\nfn k() { m(\"`f`\") }";
        let lits = string_literals(src);
        assert_eq!(lits, ["`a` x \\\n  `b`", "`c`", "`f`"]);
    }

    #[test]
    fn every_field_the_library_names_has_a_flag() {
        // Every backticked name in the library's string literals (src/ outside the CLI and the
        // tests).
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![root.clone()];
        let mut names = std::collections::BTreeSet::new();
        while let Some(p) = files.pop() {
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n == "cli") {
                    continue;
                }
                files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            if p.file_name().is_some_and(|n| n == "tests.rs") {
                continue;
            }
            for lit in string_literals(&std::fs::read_to_string(&p).unwrap()) {
                let quoted = lit.split('`').skip(1).step_by(2);
                // Field names only (not code or paths quoted in reports).
                let field = |w: &&str| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_');
                names.extend(quoted.filter(field).map(str::to_string));
            }
        }
        let known: Vec<&str> = FLAGS.iter().chain(&SCHEDULE_FLAGS).map(|(f, _)| *f).collect();
        let unknown: Vec<&String> = names.iter().filter(|n| !known.contains(&n.as_str())).collect();
        for must in ["batch", "label_col", "labels", "on_divergence", "normalize", "classes"] {
            assert!(names.contains(must), "the scan missed `{must}`: {names:?}");
        }
        assert!(unknown.is_empty(), "library messages name fields without a flag: {unknown:?}");
    }
}
