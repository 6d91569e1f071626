//! A fit's memory, checked before the network is allocated: the network, what the optimiser
//! keeps per parameter (state, one gradient per shard, clipping buffers, L-BFGS pairs), the
//! threads' activation buffers and the parameters' serialisation for a model file or a
//! checkpoint (counted whether or not the caller saves), against the memory the
//! process can still take (free memory, and `ulimit -v` when set). The data is already in
//! memory by then, so it is named in the message but not counted again.

use super::settings::Mlp;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::network::Arch;
use crate::sys::human_bytes;
use crate::train::{FullBatchMethod, Trainer};

/// Bytes of one f32.
const F32: u64 = 4;

/// The bytes a fit of `arch` on `n_samples` rows needs besides the data: the trainer's buffers
/// on the fit's threads, the parameters' serialisation for a model file, and the network's own
/// parameters when `fresh` (still to be allocated).
pub fn memory_needed(mlp: &Mlp, arch: &Arch, n_samples: usize, fresh: bool) -> u64 {
    let params = F32.saturating_mul(arch.n_params() as u64);
    let team = mlp.threads.team_size();
    let trainer = match &mlp.full_batch {
        None => Trainer::memory_needed(arch, &mlp.cfg, n_samples, team),
        Some(fb) => {
            // x, the gradient, the direction and the line search's points (~6 vectors), a
            // partial shard sum per level of the reduction tree, L-BFGS's step pairs, and
            // the activations of one shard per thread.
            let n_shards = n_samples.max(1).div_ceil(fb.shard.max(1));
            let depth = (usize::BITS - n_shards.leading_zeros()) as u64 + 1;
            let pairs = match fb.method {
                FullBatchMethod::Lbfgs { memory } => 2 * memory as u64,
                _ => 0,
            };
            let last_hidden = if arch.n_layers() > 1 { arch.sizes()[arch.n_layers() - 1] } else { 0 };
            let units = (arch.sizes().iter().sum::<usize>() * 2 + last_hidden) as u64;
            let shard = fb.shard.clamp(1, n_samples.max(1)) as u64;
            params
                .saturating_mul(6 + depth + pairs)
                .saturating_add(F32.saturating_mul(shard).saturating_mul(team as u64).saturating_mul(units))
        }
    };
    // Saving serialises the parameters into one buffer before writing it.
    let network = if fresh { params } else { 0 };
    trainer.saturating_add(network).saturating_add(params)
}

/// `one`, a one-process estimate, for a rank of a run on several: its own shards' gradients
/// and the exchange's buffers instead of every shard's gradient (the largest over the ranks).
fn on_ranks(mlp: &Mlp, arch: &Arch, n_samples: usize, one: u64) -> u64 {
    let ranks = mlp.ranks.0;
    if ranks <= 1 || mlp.full_batch.is_some() {
        return one;
    }
    let (_, n_shards) = crate::train::shards_per_batch(mlp.cfg.batch, mlp.cfg.shard, n_samples);
    let p = arch.n_params();
    let rank_floats =
        (0..ranks).map(|r| crate::distributed::rank_floats(p, n_shards, ranks, r)).max().unwrap_or(0);
    let all_grads = F32.saturating_mul(p as u64).saturating_mul(n_shards as u64);
    one.saturating_sub(all_grads).saturating_add(F32.saturating_mul(rank_floats as u64))
}

/// Refuses a fit whose memory would not fit, naming the figure needed and the one available.
/// With several MPI ranks on this machine each holds the data and its own buffers: the
/// machine must take them all (the others may not have read their data yet).
pub(crate) fn check(mlp: &Mlp, arch: &Arch, train: &Dataset, fresh: bool) -> Result<()> {
    let data = F32.saturating_mul(train.features().len() as u64);
    let local = mlp.ranks.1.max(1) as u64;
    let one = on_ranks(mlp, arch, train.n_samples(), memory_needed(mlp, arch, train.n_samples(), fresh));
    let need = one.saturating_mul(local).saturating_add(data.saturating_mul(local - 1));
    let Some(avail) = crate::sys::available_memory_bytes() else { return Ok(()) };
    if need <= avail {
        return Ok(());
    }
    let ranks = if local > 1 {
        format!(" on each of the {local} MPI ranks of this machine (each holds the data)")
    } else {
        String::new()
    };
    let sizes: Vec<String> = arch.sizes().iter().map(ToString::to_string).collect();
    let limited = if crate::sys::address_space_left_bytes().is_some_and(|left| left == avail) {
        " under this process's address-space limit (ulimit -v)"
    } else {
        ""
    };
    Err(Error::config(format!(
        "training {} ({} parameters) needs about {} of memory besides the {} the data takes{ranks}, but {} \
         is available{limited}; use fewer or smaller layers (`hidden`), or a smaller `batch`{}",
        sizes.join("-"),
        arch.n_params(),
        human_bytes(one),
        human_bytes(data),
        human_bytes(avail),
        if local > 1 { ", or fewer ranks per machine" } else { "" },
    )))
}
