//! `train`'s schedule and stopping-rule flags checked and turned into the library's
//! [`Schedule`] and [`StopRules`] for the plan: a parameter of another schedule than the one
//! chosen is refused, early stopping needs held-out data, and a resumed run keeps its
//! checkpoint's schedule and rules (typed flags must agree with them).

use super::super::args::TrainArgs;
use super::super::args::schedule::{LrSchedule, MonitorFlag};
use bp_par::checkpoint::Checkpoint;
use bp_par::error::{Error, Result};
use bp_par::train::{EarlyStopping, Monitor, Schedule, StopRules};
use clap::ValueEnum;

/// The schedule flags and the schedule each belongs to.
const PARAMS: [(&str, &str, LrSchedule); 6] = [
    ("lr_step", "--lr-step", LrSchedule::Step),
    ("lr_gamma", "--lr-gamma", LrSchedule::Step),
    ("lr_power", "--lr-power", LrSchedule::InvScaling),
    ("lr_min", "--lr-min", LrSchedule::Cosine),
    ("lr_patience", "--lr-patience", LrSchedule::Plateau),
    ("lr_factor", "--lr-factor", LrSchedule::Plateau),
];

/// Every flag of this file, by clap id (for the --resume check).
pub(super) const IDS: [&str; 13] = [
    "lr_schedule",
    "lr_step",
    "lr_gamma",
    "lr_power",
    "lr_min",
    "lr_patience",
    "lr_factor",
    "target_loss",
    "min_change",
    "early_stopping",
    "patience",
    "monitor",
    "restore_best",
];

/// The schedule and stopping rules of the run: the flags' (checked), or a resumed run's
/// checkpoint's. `held_out`: whether the run has held-out data (`--test` or a validation
/// split); `lr`: the base rate.
pub fn schedule_and_rules(
    args: &TrainArgs,
    resume: Option<&Checkpoint>,
    held_out: bool,
    lr: f32,
) -> Result<(Schedule, StopRules)> {
    let given = |id: &str| args.explicit.iter().any(|e| e == id);
    let a = &args.sched;
    // Not given: cosine for mini-batch SGD runs long enough to decay (the measured default),
    // constant for the others.
    let chosen = match (given("lr_schedule"), args.optimizer) {
        (true, _) => a.lr_schedule,
        (false, super::super::args::OptimizerName::Sgd) if args.epochs >= bp_par::fit::COSINE_FROM_EPOCHS => {
            LrSchedule::Cosine
        }
        (false, _) => LrSchedule::Constant,
    };
    for (id, flag, belongs) in PARAMS {
        if given(id) && chosen != belongs {
            let name = belongs.to_possible_value().map_or(String::new(), |v| v.get_name().to_string());
            return Err(Error::config(format!("{flag} applies to --lr-schedule {name} only")));
        }
    }
    let schedule = match chosen {
        LrSchedule::Constant => Schedule::Constant,
        LrSchedule::Step => Schedule::Step { every: a.lr_step, gamma: a.lr_gamma },
        LrSchedule::InvScaling => Schedule::InvScaling { power: a.lr_power },
        LrSchedule::Cosine => Schedule::Cosine { min: a.lr_min },
        LrSchedule::Plateau => Schedule::Plateau { patience: a.lr_patience, factor: a.lr_factor },
    };
    let monitor = match a.monitor {
        MonitorFlag::Loss => Monitor::Loss,
        MonitorFlag::Accuracy => Monitor::Accuracy,
    };
    let rules = StopRules {
        target_loss: a.target_loss,
        min_change: a.min_change,
        early_stopping: a.early_stopping.then_some(EarlyStopping {
            patience: a.patience,
            monitor,
            restore_best: a.restore_best,
        }),
    };
    if let Some(ck) = resume {
        let run = &ck.run;
        // No --lr-schedule: the checkpoint's, whatever the default of a new run.
        let schedule = if given("lr_schedule") { schedule } else { run.schedule };
        if IDS.iter().any(|id| given(id)) && (schedule != run.schedule || rules != run.stop_rules) {
            return Err(Error::config(format!(
                "--resume: the schedule or stopping-rule flags differ from the checkpoint's \
                 (--lr-schedule {}{}); leave them out to continue it as it was",
                run.schedule.name(),
                describe_rules(&run.stop_rules)
            )));
        }
        return Ok((run.schedule, run.stop_rules));
    }
    schedule.validate(lr)?;
    rules.validate()?;
    if rules.early_stopping.is_some() && !held_out {
        return Err(Error::config(
            "--early-stopping watches held-out data: give --test or a --val-split above 0".to_string(),
        ));
    }
    if monitor == Monitor::Accuracy && rules.early_stopping.is_some() && args.targets.is_some() {
        return Err(Error::config("--monitor accuracy needs a classifier; --targets trains a regression"));
    }
    Ok((schedule, rules))
}

/// The schedule as flags: " --lr-schedule step --lr-step N --lr-gamma G", empty for the
/// constant rate.
pub fn describe_schedule(s: &Schedule) -> String {
    match *s {
        Schedule::Constant => String::new(),
        Schedule::Step { every, gamma } => {
            format!(" --lr-schedule step --lr-step {every} --lr-gamma {gamma}")
        }
        Schedule::InvScaling { power } => format!(" --lr-schedule inv-scaling --lr-power {power}"),
        Schedule::Cosine { min } => format!(" --lr-schedule cosine --lr-min {min}"),
        Schedule::Plateau { patience, factor } => {
            format!(" --lr-schedule plateau --lr-patience {patience} --lr-factor {factor}")
        }
    }
}

/// The rules as flags: " --target-loss E --early-stopping ...", empty when none.
pub fn describe_rules(r: &StopRules) -> String {
    let mut s = String::new();
    if let Some(t) = r.target_loss {
        s += &format!(" --target-loss {t}");
    }
    if let Some(d) = r.min_change {
        s += &format!(" --min-change {d}");
    }
    if let Some(e) = r.early_stopping {
        s += &format!(" --early-stopping --patience {} --monitor {}", e.patience, e.monitor);
        if e.restore_best {
            s += " --restore-best";
        }
    }
    s
}
