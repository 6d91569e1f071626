//! What every MPI rank of a run must share, each part with the flag or file that sets it, in
//! the order the check names the first difference: the build, the settings (so that a different `--seed`
//! is named as such, not as the different validation rows it leads to), the data and the
//! network (the CPUs' kernels are the library's check, in `Trainer::on_ranks`).

use super::load::Prepared;
use super::plan::Plan;
use std::hash::{DefaultHasher, Hash, Hasher};

/// `text` hashed (`DefaultHasher` has fixed keys: the same in every process).
fn hashed(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// The run's parts, named, each with a hash every rank compares.
pub fn parts(plan: &Plan, p: &Prepared) -> Vec<(String, u64)> {
    let s = &p.session;
    let cfg = s.mlp().config();
    let policy = &plan.policy;
    // The checkpoint's bytes (its weights, state, order, rollback point, everything).
    let resumed = plan.resume.as_ref().map(|(path, _)| std::fs::read(path).map(|b| fnv(&b)).unwrap_or(0));
    let settings: Vec<(&str, String)> = vec![
        ("--epochs", cfg.epochs.to_string()),
        ("--batch", cfg.batch.to_string()),
        ("--shard-size", cfg.shard.to_string()),
        ("--seed", cfg.seed.to_string()),
        ("--lr", format!("{:?}", cfg.lr)),
        ("--momentum", format!("{:?}", cfg.momentum)),
        ("--l2", format!("{:?}", cfg.l2)),
        ("--optimizer (or its settings)", format!("{:?}", cfg.optimizer)),
        ("--clip-norm", format!("{:?}", cfg.clip_norm)),
        ("--class-weight", format!("{:?}", cfg.class_weight)),
        ("--val-split", format!("{:?}", plan.val_split)),
        ("--lr-schedule (or its settings)", format!("{:?}", policy.schedule)),
        (
            "stopping rules (--early-stopping, --patience, --monitor, --restore-best, --target-loss, --min-change)",
            format!("{:?}", policy.stop_rules),
        ),
        ("--on-divergence", format!("{:?}", policy.on_divergence)),
        ("--resume checkpoint", format!("{resumed:?}")),
        // Whatever else the trainer's settings hold.
        ("training settings", format!("{cfg:?}")),
    ];
    let mut out = vec![("bp-par build (run the same executable on every rank)".to_string(), build())];
    out.extend(settings.into_iter().map(|(name, value)| (name.to_string(), hashed(&value))));
    out.push((format!("training data ({})", s.train().path().display()), s.train().fingerprint()));
    if let Some(h) = s.held_out() {
        out.push((format!("{} data ({})", plan.held_out_name(), h.path().display()), h.fingerprint()));
    }
    let net = &s.model().net;
    let mut h = DefaultHasher::new();
    format!("{:?}", net.arch()).hash(&mut h);
    net.params().iter().for_each(|v| v.to_bits().hash(&mut h));
    out.push((
        "network (its shape, --init weights or normalisation)".to_string(),
        h.finish() ^ hashed(&format!("{:?}", s.model().norm)),
    ));
    // (The CPUs' vector instructions are checked by the library's `Trainer::on_ranks`.)
    out
}

/// FNV-1a of `bytes` (fixed by its definition, whatever the compiler).
fn fnv(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// This executable's bytes hashed (another build could compute other bits, and `hashed`
/// itself is only stable within one build); its version when the file cannot be read.
fn build() -> u64 {
    let exe = std::env::current_exe().and_then(std::fs::read);
    exe.map_or_else(|_| fnv(env!("CARGO_PKG_VERSION").as_bytes()), |b| fnv(&b))
}
