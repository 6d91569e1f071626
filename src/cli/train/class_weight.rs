//! `train --class-weight none|balanced`: checked in the plan before any data is read (class
//! labels only; with `--resume`, a typed value must match the checkpoint's), the weights
//! computed from the training labels once they are read (the library's
//! [`balanced_class_weights`]) into the run's configuration, and the line that shows them.

use super::super::args::{ClassWeightMode, TrainArgs};
use bp_par::checkpoint::Checkpoint;
use bp_par::error::{Error, Result};
use bp_par::model::{Model, Task};

/// Whether the run computes balanced weights from its training labels: `--class-weight
/// balanced` on a new run (a resumed run takes the checkpoint's weights). Refused for
/// regression targets (`--targets`, or an `--init` model that predicts values).
pub fn checked(args: &TrainArgs, model: Option<&Model>) -> Result<bool> {
    if args.class_weight == ClassWeightMode::None || args.resume.is_some() {
        return Ok(false);
    }
    let regression = args.targets.is_some() || model.is_some_and(|m| m.task == Task::Regress);
    if regression {
        return Err(Error::config(
            "--class-weight balanced weighs classes, but this run fits real-valued targets (--targets \
             or a regression --init model); leave --class-weight out",
        ));
    }
    Ok(true)
}

/// With `--resume`: a typed `--class-weight` that differs from the checkpoint's, as
/// "--class-weight ours (the checkpoint has theirs)".
pub fn resume_diffs(args: &TrainArgs, ck: &Checkpoint) -> Vec<String> {
    let given = args.explicit.iter().any(|e| e == "class_weight");
    let ours = match args.class_weight {
        ClassWeightMode::None => "none",
        ClassWeightMode::Balanced => "balanced",
    };
    let theirs = if ck.config.class_weight.is_some() { "balanced" } else { "none" };
    if given && ours != theirs {
        vec![format!("--class-weight {ours} (the checkpoint has {theirs})")]
    } else {
        Vec::new()
    }
}

/// `bp-par: class weights (balanced): 0.556, 5` (one per class, label order), or None for an
/// unweighted run.
pub fn describe(weights: Option<&[f32]>) -> Option<String> {
    let shown: Vec<String> = weights?.iter().map(|w| bp_par::error::short(*w)).collect();
    Some(format!("bp-par: class weights (balanced, by label): {}", shown.join(", ")))
}
