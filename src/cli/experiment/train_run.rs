//! One seed of an experiment's run, as `bp-par train` sees it: the library's [`TrainConfig`]
//! plus the data and model options the train command reads from its flags (DATA, `--test`,
//! `--train-rows`, `--val-split`, `--normalize`, `--hidden`, `--activation`, `--loss`,
//! `--init-weights`).
//!
//! [`TrainRun::args`] is the one place that turns a run into a command line: the runner
//! trains what it describes, the report prints it, and the tests below parse it back with
//! the CLI's own parser to check that it asks `bp-par train` for the same run.

use bp_par::activation::Activation;
use bp_par::data::NormalizeMode;
use bp_par::loss::Loss;
use bp_par::network::Init;
use bp_par::train::{DEFAULT_SHARD, FullBatchConfig, FullBatchMethod, TrainConfig};
use std::path::PathBuf;

/// What `bp-par train` trains: data, model and hyperparameters.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainRun {
    /// The training file (DATA).
    pub data: PathBuf,
    /// The held-out file measured after every epoch (`--test`), if any.
    pub test: Option<PathBuf>,
    /// Train on the first N rows of DATA only (`--train-rows`), before any split.
    pub train_rows: Option<usize>,
    /// The stratified fraction of DATA held out (`--val-split`); 0 trains on every row.
    pub val_split: f64,
    /// Feature normalisation, fitted on the training rows (`--normalize`).
    pub normalize: NormalizeMode,
    /// Hidden layer sizes (`--hidden`); input and output sizes come from the data.
    pub hidden: Vec<usize>,
    /// Hidden-unit activation (`--activation`).
    pub activation: Activation,
    /// Loss (`--loss`).
    pub loss: Loss,
    /// Weight initialisation (`--init-weights`); `None`: the activation's default, and the
    /// flag is left out of the command.
    pub init: Option<Init>,
    /// Epochs, batch, shard, learning rate, momentum, L2, seed and shuffling.
    pub config: TrainConfig,
    /// A full-batch optimiser (`--optimizer cg|lbfgs|rprop`) instead of mini-batch SGD: then
    /// only `config`'s L2 and seed are given as flags (the others keep their defaults).
    pub full_batch: Option<FullBatchConfig>,
}

/// The `--normalize` value that asks for `mode`.
fn normalize_flag(mode: NormalizeMode) -> &'static str {
    match mode {
        NormalizeMode::Auto => "auto",
        NormalizeMode::None => "none",
        NormalizeMode::Scale => "scale",
        NormalizeMode::Zscore => "zscore",
    }
}

impl TrainRun {
    /// The arguments of `bp-par` that train this run, from `train` on. `--val-split` is
    /// given whenever there is no test file (its default would then be 0.2), `--shard-size`
    /// only when it is not the default, the rest always.
    pub fn args(&self) -> Vec<String> {
        let c = &self.config;
        let mut a = vec!["train".to_string(), self.data.display().to_string()];
        let mut flag = |name: &str, value: String| {
            a.push(format!("--{name}"));
            a.push(value);
        };
        if self.test.is_none() || self.val_split != 0.0 {
            flag("val-split", self.val_split.to_string());
        }
        if let Some(test) = &self.test {
            flag("test", test.display().to_string());
        }
        if let Some(n) = self.train_rows {
            flag("train-rows", n.to_string());
        }
        let hidden: Vec<String> = self.hidden.iter().map(ToString::to_string).collect();
        flag("hidden", hidden.join(","));
        flag("activation", self.activation.to_string());
        flag("loss", self.loss.to_string());
        if let Some(init) = self.init {
            flag("init-weights", init.to_string());
        }
        flag("l2", c.l2.to_string());
        match &self.full_batch {
            Some(fb) => {
                let (name, iterations) = match fb.method {
                    FullBatchMethod::Cg => ("cg", "max-iter"),
                    FullBatchMethod::Lbfgs { .. } => ("lbfgs", "max-iter"),
                    FullBatchMethod::Rprop => ("rprop", "epochs"),
                };
                flag("optimizer", name.to_string());
                flag(iterations, fb.max_iter.to_string());
                if let FullBatchMethod::Lbfgs { memory } = fb.method {
                    flag("lbfgs-memory", memory.to_string());
                }
            }
            None => {
                flag("lr", c.lr.to_string());
                // Experiments keep their rate all along (the default decays it along a cosine).
                flag("lr-schedule", "constant".to_string());
                flag("momentum", c.momentum.to_string());
                flag("batch", c.batch.to_string());
                if c.shard != DEFAULT_SHARD {
                    flag("shard-size", c.shard.to_string());
                }
                flag("epochs", c.epochs.to_string());
            }
        }
        flag("normalize", normalize_flag(self.normalize).to_string());
        flag("seed", c.seed.to_string());
        if !c.shuffle {
            a.push("--no-shuffle".to_string());
        }
        a
    }

    /// `bp-par train ...` as one line for a POSIX shell (arguments quoted where needed).
    pub fn command_line(&self) -> String {
        let mut line = String::from("bp-par");
        for a in self.args() {
            line.push(' ');
            line += &crate::cli::common::shell_quote(&a);
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::super::catalogue::{self, NAMES};
    use super::*;
    use crate::cli::args::{Cli, Command, TrainArgs};
    use crate::cli::train::{full_batch_config, train_config, val_split};
    use clap::Parser;
    use std::path::Path;

    /// The train arguments clap makes of `bp-par ARGS`.
    fn parse(args: &[String]) -> TrainArgs {
        let line = std::iter::once("bp-par".to_string()).chain(args.iter().cloned());
        match Cli::try_parse_from(line) {
            Ok(Cli { command: Command::Train(a) }) => *a,
            Ok(other) => panic!("{args:?} is not a train command: {other:?}"),
            Err(e) => panic!("{args:?} does not parse: {e}"),
        }
    }

    /// The run the train command makes of `a`, through its own conversions for the
    /// configuration and the held-out fraction. Options the train command would default
    /// must have been given, and options an experiment never uses must be absent.
    fn run_of(a: &TrainArgs) -> TrainRun {
        assert!(a.labels.label_col.is_none() && a.labels.labels.is_none() && a.test_labels.is_none());
        assert!(a.classes.is_none() && a.targets.is_none() && a.init.is_none() && a.resume.is_none());
        assert!(a.save.is_none() && a.metrics.is_none() && a.checkpoint.is_none());
        assert!(a.common.threads.is_none() && !a.common.quiet && !a.common.json);
        TrainRun {
            data: a.data.clone().expect("DATA given"),
            test: a.test.clone(),
            train_rows: a.train_rows,
            val_split: val_split(a),
            normalize: a.normalize.expect("--normalize given"),
            hidden: a.hidden.clone().expect("--hidden given"),
            activation: a.activation.expect("--activation given"),
            loss: a.loss.expect("--loss given"),
            init: a.init_weights,
            config: train_config(a),
            full_batch: full_batch_config(a),
        }
    }

    #[test]
    fn every_runs_command_parses_back_to_the_run() {
        let mut checked = 0;
        for name in NAMES {
            for quick in [false, true] {
                let e = catalogue::get(name, quick).unwrap();
                for r in &e.runs {
                    for &seed in &e.seeds {
                        let run = r.at(Path::new("my data"), seed);
                        assert_eq!(run_of(&parse(&run.args())), run, "{name} {}", r.label);
                        checked += 1;
                    }
                }
            }
        }
        // 5 runs x 5 seeds + 1 x 3 + 2 x 2 + 2 x 2 + 1 x 3, then the same with 2 seeds each.
        assert_eq!(checked, (25 + 3 + 4 + 4 + 3) + (10 + 2 + 4 + 4 + 2));
    }

    #[test]
    fn settings_the_catalogue_leaves_at_their_defaults_also_parse_back() {
        let mut run = catalogue::get("nielsen", false).unwrap().runs[0].at(Path::new("d"), 7);
        run.config.shuffle = false;
        run.config.shard = 5;
        run.val_split = 0.25;
        run.normalize = NormalizeMode::Auto;
        assert_eq!(run_of(&parse(&run.args())), run);
        let line = run.command_line();
        assert!(line.contains(" --val-split 0.25 --test d/mnist/t10k"), "{line}");
        assert!(
            line.ends_with(" --shard-size 5 --epochs 30 --normalize auto --seed 7 --no-shuffle"),
            "{line}"
        );
    }

    #[test]
    fn the_originals_initialisations_are_carried_and_the_others_the_default() {
        let e = catalogue::get("nielsen", false).unwrap();
        let lines: Vec<String> = e.runs.iter().map(|r| r.at(Path::new("d"), 1).command_line()).collect();
        assert!(lines[0].contains(" --loss mse --init-weights normal:1 --l2 0 "), "{}", lines[0]);
        assert!(lines[1].contains(" --loss bce --init-weights normal-fan-in --l2 5 "), "{}", lines[1]);
        // ex4's faithful row: the exercise's U(±0.12); its SGD rows keep the default.
        let ex4 = catalogue::get("ex4", false).unwrap();
        let line = ex4.runs[0].at(Path::new("d"), 1).command_line();
        assert!(line.contains(" --init-weights uniform:0.12 ") && line.contains("--optimizer cg"), "{line}");
        for r in &ex4.runs[1..] {
            assert_eq!(r.train.init, None);
        }
        for name in NAMES.into_iter().filter(|&n| n != "nielsen" && n != "ex4") {
            for r in catalogue::get(name, false).unwrap().runs {
                assert_eq!(r.train.init, None, "{name}");
                assert!(!r.at(Path::new("d"), 1).command_line().contains("--init-weights"), "{name}");
            }
        }
    }

    #[test]
    fn the_command_line_quotes_paths_for_the_shell() {
        let run = catalogue::get("ex4", false).unwrap().runs[0].at(Path::new("my data"), 1);
        assert!(run.command_line().starts_with("bp-par train 'my data/digits.csv' --val-split 0 "));
    }

    #[test]
    fn the_committed_reports_print_the_catalogues_commands() {
        // docs/experiments/NAME.md were written by `bp-par experiment NAME --out docs` with
        // the default --data-dir datasets; their tables must show the catalogue's runs.
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/experiments");
        for name in NAMES {
            let section = std::fs::read_to_string(docs.join(format!("{name}.md"))).unwrap();
            let e = catalogue::get(name, false).unwrap();
            for r in &e.runs {
                let row = format!("| {} |", r.label);
                let line = section.lines().find(|l| l.starts_with(&row)).unwrap_or_else(|| panic!("{row}"));
                let command = r.at(Path::new("datasets"), e.seeds[0]).command_line();
                assert!(line.ends_with(&format!(" | `{command}` |")), "{name}: {line}\n{command}");
            }
        }
    }
}
