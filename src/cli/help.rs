//! The help screens: `-h` gives one line per option (the first phrase of its description),
//! `--help` the full text; `train`'s options are grouped under headings (data, model,
//! optimiser, stopping, run and output).

use clap::{Arg, Command};

/// `train`'s options by heading, in the order the headings are shown.
const TRAIN_HEADINGS: [(&str, &[&str]); 5] = [
    (
        "Data",
        &[
            "label_col",
            "delimiter",
            "missing",
            "one_hot",
            "labels",
            "skip_rows",
            "classes",
            "targets",
            "keep_cols",
            "train_rows",
            "test",
            "test_labels",
            "val_split",
            "image_shape",
            "normalize",
        ],
    ),
    ("Model", &["hidden", "activation", "loss", "output", "init_weights", "init"]),
    (
        "Optimiser",
        &[
            "optimizer",
            "lr",
            "momentum",
            "nesterov",
            "beta1",
            "beta2",
            "eps",
            "decoupled_decay",
            "l2",
            "clip_norm",
            "class_weight",
            "batch",
            "shard_size",
            "max_iter",
            "lbfgs_memory",
            "lr_schedule",
            "lr_step",
            "lr_gamma",
            "lr_power",
            "lr_min",
            "lr_patience",
            "lr_factor",
            "on_divergence",
        ],
    ),
    (
        "Stopping",
        &["epochs", "target_loss", "min_change", "early_stopping", "patience", "monitor", "restore_best"],
    ),
    (
        "Run and output",
        &[
            "seed",
            "no_shuffle",
            "checkpoint",
            "checkpoint_every",
            "resume",
            "save",
            "metrics",
            "threads",
            "quiet",
            "json",
        ],
    ),
];

/// The command with short and long help on every option of every subcommand, and `train`'s
/// options under their headings.
pub fn arranged(cmd: Command) -> Command {
    let names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
    let mut cmd = summarised(cmd);
    for name in names {
        cmd = cmd.mut_subcommand(&name, |sub| {
            let sub = arranged(sub);
            if name == "train" { headed(sub) } else { sub }
        });
    }
    cmd
}

/// Every option's `-h` text cut to its first phrase; `--help` keeps the whole.
fn summarised(cmd: Command) -> Command {
    let ids: Vec<String> = cmd.get_arguments().map(|a| a.get_id().to_string()).collect();
    ids.iter().fold(cmd, |c, id| c.mut_arg(id, short_help))
}

fn short_help(arg: Arg) -> Arg {
    let Some(full) = arg.get_help().map(ToString::to_string) else { return arg };
    if arg.get_long_help().is_some() {
        return arg;
    }
    let summary = first_phrase(&full);
    arg.help(summary).long_help(full)
}

/// The text up to its first `: `, `; `, `. `, ` (` or ` [default` outside parentheses and
/// brackets that ends a phrase of two words or more (`CSV: the last K columns…` reads on;
/// `e.g.` and an interval such as `(0, 1]` end none).
fn first_phrase(text: &str) -> String {
    let mut depth = 0i32;
    let phrase = |end: usize| text[..end].trim_end_matches(['.', ',']);
    for (i, c) in text.char_indices() {
        let rest = &text[i..];
        if depth == 0 {
            let interval = rest
                .strip_prefix(" (")
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '−'));
            let cut = [": ", "; ", ". ", " (", " [default"].iter().any(|p| rest.starts_with(p));
            let abbreviation = phrase(i).ends_with("e.g") || phrase(i).ends_with("i.e");
            if cut && !interval && !abbreviation && phrase(i).contains(' ') {
                return phrase(i).to_string();
            }
        }
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            _ => {}
        }
    }
    phrase(text.len()).to_string()
}

/// `train`'s options under their headings.
fn headed(cmd: Command) -> Command {
    TRAIN_HEADINGS.iter().fold(cmd, |c, (heading, ids)| {
        ids.iter().fold(c, |c, id| c.mut_arg(*id, |a| a.help_heading(*heading)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_train_option_has_a_heading() {
        let train = arranged(crate::cli::args::Cli::command()).find_subcommand("train").cloned().unwrap();
        let loose: Vec<String> = train
            .get_arguments()
            .filter(|a| !a.is_positional() && a.get_help_heading().is_none() && !a.is_hide_set())
            .map(|a| a.get_id().to_string())
            .filter(|id| id != "help")
            .collect();
        assert!(loose.is_empty(), "train options without a heading: {loose:?}");
    }

    #[test]
    fn the_first_phrase_is_the_summary() {
        assert_eq!(first_phrase("Training data: CSV, an MNIST IDX file"), "Training data");
        assert_eq!(first_phrase("Learning rate η [default: 0.1]"), "Learning rate η");
        assert_eq!(first_phrase("Adam's rate β1, in [0, 1) [default: 0.9]"), "Adam's rate β1, in [0, 1)");
        assert_eq!(first_phrase("Epochs"), "Epochs");
        assert_eq!(
            first_phrase("CSV: skip the first N lines, a summary"),
            "CSV: skip the first N lines, a summary"
        );
        assert_eq!(first_phrase("Sizes, e.g. 25 or 128,64 (input)"), "Sizes, e.g. 25 or 128,64");
    }
}
