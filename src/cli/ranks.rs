//! The MPI ranks a command runs with (`mpirun -np 4 bp-par train ...`, feature `mpi`), or
//! one process alone. Only `train` runs across ranks: every rank reads the data and builds the
//! same network, rank 0 alone prints, evaluates for the report and writes files; the others
//! print nothing but their errors. An error on one rank ends the whole job (MPI_Abort), so no
//! rank ever waits for one that is gone.

use bp_par::data::Dataset;
use bp_par::distributed::Collective;
use bp_par::error::{Error, Result};
use bp_par::network::Network;
use bp_par::train::TrainConfig;
use std::hash::{DefaultHasher, Hash, Hasher};

/// The group of ranks of this process, or none (alone).
#[derive(Clone, Copy)]
pub struct Ranks<'a> {
    /// The group, when more than one rank runs.
    pub group: Option<&'a dyn Collective>,
    /// Ranks on this machine (for the memory check).
    pub local: usize,
}

impl Ranks<'_> {
    /// One process.
    pub const ALONE: Ranks<'static> = Ranks { group: None, local: 1 };

    /// This process's rank (0 alone).
    pub fn rank(&self) -> usize {
        self.group.map_or(0, |g| g.rank())
    }

    /// The number of ranks (1 alone).
    pub fn size(&self) -> usize {
        self.group.map_or(1, |g| g.size())
    }

    /// Whether this rank prints and writes files: rank 0.
    pub fn is_root(&self) -> bool {
        self.rank() == 0
    }

    /// Refuses a run whose ranks do not train the same thing: every rank must have read the
    /// same training and held-out rows, built (or resumed) the same network and taken the same
    /// settings, or the ranks would combine gradients of different problems. The check runs
    /// on every rank and all reach the same verdict.
    pub fn check_same(
        &self,
        train: &Dataset,
        held_out: Option<&Dataset>,
        net: &Network<f32>,
        cfg: &TrainConfig,
        policy: &impl std::fmt::Debug,
    ) -> Result<()> {
        let Some(group) = self.group else { return Ok(()) };
        let mut net_hash = DefaultHasher::new();
        net.arch.sizes().hash(&mut net_hash);
        format!("{:?}", net.arch).hash(&mut net_hash);
        net.params.iter().for_each(|v| v.to_bits().hash(&mut net_hash));
        let parts = [
            (
                "training data",
                "differs",
                train.fingerprint() ^ held_out.map_or(0, |h| h.fingerprint().rotate_left(1)),
            ),
            ("network (its shape or starting weights)", "differs", net_hash.finish()),
            ("settings", "differ", hash_text(&format!("{cfg:?} {policy:?}"))),
        ];
        for (what, verb, value) in parts {
            let all = group.all_values(value);
            if let Some(r) = all.iter().position(|&v| v != all[0]) {
                let file = if what == "training data" {
                    format!(" ({})", train.path.display())
                } else {
                    String::new()
                };
                return Err(Error::other(format!(
                    "rank {r}'s {what} {verb} from rank 0's{file}: every rank must train on the same \
                     files with the same flags (a file that differs between machines, or different \
                     arguments in an MPMD launch)"
                )));
            }
        }
        Ok(())
    }
}

fn hash_text(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// The message for a command other than `train` started on more than one rank.
pub fn only_train(command: &str, size: usize) -> Error {
    Error::config(format!(
        "only `train` runs across MPI ranks (this job has {size}); run `bp-par {command}` without mpirun"
    ))
}
