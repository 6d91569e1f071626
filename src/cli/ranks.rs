//! The MPI ranks a command runs with (`mpirun -np 4 bp-par train ...`, feature `mpi`), or
//! one process alone. Only `train` runs across ranks: every rank reads the data and builds the
//! same network, rank 0 alone prints, evaluates for the report and writes files; the others
//! print nothing but their errors. An error every rank knows of (a setup that failed on some
//! rank, settings the ranks cannot share, a stop) is said once and every rank exits; any other
//! error on one rank ends the whole job (MPI_Abort), so no rank ever waits for one that is gone.

use bp_par::distributed::Collective;
use bp_par::error::{Error, Result};
use std::sync::atomic::{AtomicU16, Ordering};

/// Whether the error this process returns is known to every rank: 0 no; else the exit code
/// every rank gives, times 2, plus 1 when this rank says it.
static KNOWN_TO_ALL: AtomicU16 = AtomicU16::new(0);

fn mark_known(code: u8, says: bool) {
    KNOWN_TO_ALL.store(u16::from(code.max(1)) * 2 + u16::from(says), Ordering::Relaxed);
}

/// For an error on a run of several ranks: `Some((says, code))` when every rank returns it,
/// with whether this rank says it and the exit code all give; `None` when only this rank
/// knows of it (the job must then be aborted).
pub fn known_to_all() -> Option<(bool, u8)> {
    match KNOWN_TO_ALL.load(Ordering::Relaxed) {
        0 => None,
        v => Some((v % 2 == 1, u8::try_from(v / 2).unwrap_or(1))),
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
        // Each rank's exit code, 0 for a rank that could start.
        let codes = group.all_values(mine.as_ref().err().map_or(0, |e| u64::from(e.exit_code().max(1))));
        let Some(first) = codes.iter().position(|&c| c != 0) else { return mine };
        mark_known(u8::try_from(codes[first]).unwrap_or(1), first == self.rank());
        match mine {
            Err(e) => Err(e),
            Ok(_) => Err(Error::other(format!("rank {first} could not start"))),
        }
    }

    /// For a rank that stops before training (a usage error, `--help`, another command): it
    /// takes part in the setup vote the others take in `train` ([`Ranks::agree`]), so that
    /// none waits for it. Returns whether this rank says why (the first rank that stops;
    /// alone: always); `code` is its exit code (a rank stopping for `--help` votes 1).
    pub fn stop_early(&self, code: u8) -> bool {
        let Some(group) = self.group else { return true };
        let codes = group.all_values(u64::from(code.max(1)));
        codes.iter().position(|&c| c != 0) == Some(self.rank())
    }

    /// `e`, an error every rank returns at the same point (rank 0 says it).
    pub fn everyone(&self, e: Error) -> Error {
        if self.group.is_some() {
            mark_known(e.exit_code(), self.is_root());
        }
        e
    }

    /// Refuses a run whose ranks do not train the same thing: every rank must have the same
    /// `parts` (each named, with a hash: settings, data, network, CPU kernels), or the ranks
    /// would combine gradients of different problems. Every rank checks and all reach the same
    /// verdict, naming the first part that differs.
    pub fn check_same(&self, parts: &[(String, u64)]) -> Result<()> {
        let Some(group) = self.group else { return Ok(()) };
        for (what, value) in parts {
            let all = group.all_values(*value);
            if let Some(r) = all.iter().position(|&v| v != all[0]) {
                return Err(Error::other(format!(
                    "rank {r} and rank 0 differ in {what}: every rank must train on the same files with \
                     the same flags (a file that differs between machines, or different arguments in \
                     an MPMD launch)"
                )));
            }
        }
        Ok(())
    }
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
