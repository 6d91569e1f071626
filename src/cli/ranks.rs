//! The MPI ranks a command runs with (`mpirun -np 4 bp-par train ...`, feature `mpi`), or
//! one process alone. Only `train` runs across ranks: every rank reads the data and builds the
//! same network, rank 0 alone prints, evaluates for the report and writes files; the others
//! print nothing but their errors. An error every rank knows of (a setup that failed on some
//! rank, settings the ranks cannot share, a stop) is said once and every rank exits; any other
//! error on one rank ends the whole job (MPI_Abort), so no rank ever waits for one that is gone.

use bp_par::data::Dataset;
use bp_par::distributed::Collective;
use bp_par::error::{Error, Result};
use bp_par::network::Network;
use bp_par::train::TrainConfig;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU8, Ordering};

/// Whether the error this process returns is known to every rank: 0 no, 1 yes and this rank
/// says it, 2 yes and another rank says it.
static KNOWN_TO_ALL: AtomicU8 = AtomicU8::new(0);

/// For an error on a run of several ranks: `Some(true)` when every rank returns it and this
/// rank says it, `Some(false)` when another rank says it, `None` when only this rank knows
/// of it (the job must then be aborted).
pub fn known_to_all() -> Option<bool> {
    match KNOWN_TO_ALL.load(Ordering::Relaxed) {
        1 => Some(true),
        2 => Some(false),
        _ => None,
    }
}

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

    /// Every rank's setup (`mine`, this rank's) agreed on: when any rank failed, every rank
    /// returns an error and the first failing rank says its own.
    pub fn agree<T>(&self, mine: Result<T>) -> Result<T> {
        let Some(group) = self.group else { return mine };
        let failed = group.all_values(u64::from(mine.is_err()));
        let Some(first) = failed.iter().position(|&f| f == 1) else { return mine };
        KNOWN_TO_ALL.store(if first == self.rank() { 1 } else { 2 }, Ordering::Relaxed);
        match mine {
            Err(e) => Err(e),
            Ok(_) => Err(Error::other(format!("rank {first} could not start"))),
        }
    }

    /// `e`, an error every rank returns at the same point (rank 0 says it).
    pub fn everyone(&self, e: Error) -> Error {
        if self.group.is_some() {
            KNOWN_TO_ALL.store(if self.is_root() { 1 } else { 2 }, Ordering::Relaxed);
        }
        e
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
            // The GEMM and element-wise kernels are picked at run time from these: another
            // kind of CPU gives other last bits, so the ranks' weights would drift apart.
            ("CPU's vector instructions", "differ", hash_text(&vector_instructions())),
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

/// The vector instructions that choose the kernels bp-par and matrixmultiply run.
fn vector_instructions() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        let has = [
            ("sse2", std::arch::is_x86_feature_detected!("sse2")),
            ("avx", std::arch::is_x86_feature_detected!("avx")),
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
            ("fma", std::arch::is_x86_feature_detected!("fma")),
        ];
        has.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect::<Vec<_>>().join(" ")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::env::consts::ARCH.to_string()
    }
}

fn hash_text(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// `(rank, size)` when an MPI launcher started this process as one of several ranks (Open MPI,
/// MPICH's Hydra and other PMI launchers set these in each process they start).
#[cfg(not(feature = "mpi"))]
pub fn launched_as_rank() -> Option<(usize, usize)> {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse::<usize>().ok());
    let size = var("OMPI_COMM_WORLD_SIZE").or_else(|| var("PMI_SIZE"))?;
    let rank = var("OMPI_COMM_WORLD_RANK").or_else(|| var("PMI_RANK")).unwrap_or(0);
    (size > 1).then_some((rank, size))
}

/// The message for a command other than `train` started on more than one rank.
pub fn only_train(command: &str, size: usize) -> Error {
    Error::config(format!(
        "only `train` runs across MPI ranks (this job has {size}); run `bp-par {command}` without mpirun"
    ))
}
