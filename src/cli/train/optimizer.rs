//! `train`'s optimiser flags: `--optimizer sgd|adam` with `--nesterov` (sgd), `--beta1
//! --beta2 --eps --decoupled-decay` (adam), and `--clip-norm`. Turned into the library's
//! [`Optimizer`] here; a flag of the other optimiser is an error naming both; the ranges are
//! checked by [`bp_par::train::TrainConfig::validate`]. With `--resume`, a given flag must
//! match the checkpoint's.

use super::super::args::{OptimizerName, TrainArgs};
use bp_par::checkpoint::Checkpoint;
use bp_par::error::{Error, Result, short};
use bp_par::optim::{Adam, Optimizer};
use bp_par::train::TrainConfig;

/// Adam's flags (field id, flag).
const ADAM_FLAGS: [(&str, &str); 4] =
    [("beta1", "--beta1"), ("beta2", "--beta2"), ("eps", "--eps"), ("decoupled_decay", "--decoupled-decay")];

/// Momentum SGD's flags (field id, flag).
const SGD_FLAGS: [(&str, &str); 2] = [("momentum", "--momentum"), ("nesterov", "--nesterov")];

/// The optimiser the flags ask for.
pub fn optimizer(args: &TrainArgs) -> Optimizer {
    match args.optimizer {
        OptimizerName::Sgd => Optimizer::Sgd { nesterov: args.nesterov },
        OptimizerName::Adam => Optimizer::Adam(Adam {
            beta1: args.beta1,
            beta2: args.beta2,
            eps: args.eps,
            decoupled_decay: args.decoupled_decay,
        }),
        // Full-batch methods do not use the mini-batch optimiser (see fullbatch.rs).
        OptimizerName::Cg | OptimizerName::Lbfgs | OptimizerName::Rprop => Optimizer::default(),
    }
}

/// Refuses a flag of one optimiser given with the other. With `--resume` the optimiser is
/// the checkpoint's, and [`resume_diffs`] checks the flags against it instead.
pub fn check_optimizer_flags(args: &TrainArgs) -> Result<()> {
    let given = |id: &str| args.explicit.iter().any(|e| e == id);
    if args.resume.is_some() {
        return Ok(());
    }
    let (others, name) = match args.optimizer {
        OptimizerName::Sgd => (&ADAM_FLAGS[..], "sgd"),
        OptimizerName::Adam => (&SGD_FLAGS[..], "adam"),
        // The full-batch methods' own check refuses both sets.
        OptimizerName::Cg | OptimizerName::Lbfgs | OptimizerName::Rprop => return Ok(()),
    };
    match others.iter().find(|(id, _)| given(id)) {
        Some((_, flag)) => Err(Error::config(format!(
            "{flag} does not apply to --optimizer {name}{}",
            if name == "sgd" {
                " (it is an Adam setting: add --optimizer adam)"
            } else {
                " (it is an SGD setting)"
            }
        ))),
        None => Ok(()),
    }
}

/// The optimiser flags given with `--resume` whose value differs from the checkpoint's, as
/// "--flag ours (the checkpoint has theirs)".
pub fn resume_diffs(args: &TrainArgs, ck: &Checkpoint) -> Vec<String> {
    let given = |id: &str| args.explicit.iter().any(|e| e == id);
    let c = &ck.config;
    let mut diffs = Vec::new();
    let mut differ = |id: &str, flag: &str, ours: String, theirs: String| {
        if given(id) && ours != theirs {
            diffs.push(format!("{flag} {ours} (the checkpoint has {theirs})"));
        }
    };
    let theirs_name = c.optimizer.name().to_string();
    let ours_name = match args.optimizer {
        OptimizerName::Sgd => "sgd",
        OptimizerName::Adam => "adam",
        OptimizerName::Cg => "cg",
        OptimizerName::Lbfgs => "lbfgs",
        OptimizerName::Rprop => "rprop",
    };
    differ("optimizer", "--optimizer", ours_name.into(), theirs_name.clone());
    let clip = |c: Option<f32>| c.map_or("none".to_string(), |c| c.to_string());
    differ("clip_norm", "--clip-norm", clip(args.clip_norm), clip(c.clip_norm));
    match c.optimizer {
        Optimizer::Sgd { nesterov } => {
            differ("nesterov", "--nesterov", args.nesterov.to_string(), nesterov.to_string());
            for (id, flag) in ADAM_FLAGS {
                differ(id, flag, "given".into(), format!("--optimizer {theirs_name}"));
            }
        }
        Optimizer::Adam(a) => {
            differ("beta1", "--beta1", args.beta1.to_string(), a.beta1.to_string());
            differ("beta2", "--beta2", args.beta2.to_string(), a.beta2.to_string());
            differ("eps", "--eps", args.eps.to_string(), a.eps.to_string());
            let dd = |d: bool| d.to_string();
            differ("decoupled_decay", "--decoupled-decay", dd(args.decoupled_decay), dd(a.decoupled_decay));
            for (id, flag) in SGD_FLAGS {
                differ(id, flag, "given".into(), format!("--optimizer {theirs_name}"));
            }
        }
    }
    diffs
}

/// The optimiser part of the settings line: `optimizer sgd, lr 0.1, momentum 0.9` (Nesterov:
/// `optimizer sgd (nesterov), ...`), or `optimizer adam (beta1 0.9, beta2 0.999, eps 1e-8),
/// lr 0.001`; then `, clip-norm C` when clipping.
pub fn describe(cfg: &TrainConfig) -> String {
    let mut text = format!("optimizer {}, lr {}", cfg.optimizer, short(cfg.lr));
    if let Optimizer::Sgd { .. } = cfg.optimizer {
        text += &format!(", momentum {}", cfg.momentum);
    }
    if let Some(c) = cfg.clip_norm {
        text += &format!(", clip-norm {c}");
    }
    text
}
