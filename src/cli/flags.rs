//! The library names a setting by its field name in backticks (`` `batch` ``,
//! `` `label_col` ``); the command line shows the flag that sets it instead. One table,
//! applied to every error message the CLI prints.

/// Library field name → command-line flag.
const FLAGS: [(&str, &str); 14] = [
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
    for (field, flag) in FLAGS.into_iter().chain(SCHEDULE_FLAGS) {
        out = out.replace(&format!("`{field}`"), flag);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_become_flags_and_other_words_stay() {
        assert_eq!(to_flags("`batch` must be at least 1"), "--batch must be at least 1");
        assert_eq!(
            to_flags("label 3 is out of range for `classes` 3 (`label_col` first)"),
            "label 3 is out of range for --classes 3 (--label-col first)"
        );
        assert_eq!(to_flags("`other` and shard"), "`other` and shard");
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
            let text = std::fs::read_to_string(&p).unwrap();
            // The messages, not the tests' expectations (serde's own words among them).
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                // Backticks inside string literals only.
                for (i, part) in line.split('"').enumerate() {
                    if i % 2 == 1 {
                        let quoted = part.split('`').skip(1).step_by(2);
                        // Field names only (not code or paths quoted in reports).
                        let field =
                            |w: &&str| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_');
                        names.extend(quoted.filter(field).map(str::to_string));
                    }
                }
            }
        }
        let known: Vec<&str> = FLAGS.iter().chain(&SCHEDULE_FLAGS).map(|(f, _)| *f).collect();
        let unknown: Vec<&String> = names.iter().filter(|n| !known.contains(&n.as_str())).collect();
        assert!(!names.is_empty());
        assert!(unknown.is_empty(), "library messages name fields without a flag: {unknown:?}");
    }
}
