//! The [`Collective`] of MPI's world communicator (rsmpi, feature `mpi`).
//!
//! [`MpiWorld::init`] starts MPI only when the process was launched by an MPI launcher
//! (`mpirun`, `mpiexec`, `srun` with PMI): a process started on its own is an ordinary
//! one-process run and never touches MPI. MPI is initialised for serialized calls from any
//! thread; [`MpiGroup`] holds a lock across every call, so calls never overlap whatever the
//! caller does. Dropping the [`MpiWorld`] finalises MPI.

use super::Collective;
use mpi::Count;
use mpi::collective::SystemOperation;
use mpi::datatype::{Partition, PartitionMut};
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives};
use std::sync::{Mutex, PoisonError};

/// Variables that MPI launchers set in the processes they start (Open MPI, PMIx, MPICH's
/// Hydra and Slurm's PMI).
const LAUNCHER_VARS: [&str; 4] = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"];

/// Whether an MPI launcher started this process.
pub fn launched_by_mpi() -> bool {
    LAUNCHER_VARS.iter().any(|v| std::env::var_os(v).is_some())
}

/// MPI, initialised: finalised when dropped.
pub struct MpiWorld {
    _universe: Universe,
    group: MpiGroup,
    local_ranks: usize,
}

impl MpiWorld {
    /// Initialises MPI when an MPI launcher started this process (else `None`: run alone).
    /// Refused (MPI finalised again) when the library cannot take calls from any thread
    /// one at a time (the trainer calls from its worker pool's thread).
    pub fn init() -> Result<Option<MpiWorld>, String> {
        if !launched_by_mpi() {
            return Ok(None);
        }
        let Some((universe, level)) = mpi::initialize_with_threading(mpi::Threading::Serialized) else {
            return Err("MPI was already initialised in this process".into());
        };
        if level < mpi::Threading::Serialized {
            return Err(format!(
                "this MPI library gives only {level:?} thread support, and bp-par needs serialized calls \
                 from any thread (MPI_THREAD_SERIALIZED): use an MPI built with thread support"
            ));
        }
        let world = universe.world();
        let local_ranks = usize::try_from(world.split_shared(0).size()).unwrap_or(1);
        let (rank, size) = (world.rank(), world.size());
        let group = MpiGroup {
            rank: usize::try_from(rank).unwrap_or(0),
            size: usize::try_from(size).unwrap_or(1),
            scratch: Mutex::new(Scratch::default()),
        };
        Ok(Some(MpiWorld { _universe: universe, group, local_ranks }))
    }

    /// The world communicator's group.
    pub fn group(&self) -> &MpiGroup {
        &self.group
    }

    /// How many ranks run on this machine (MPI's shared-memory split of the world).
    pub fn local_ranks(&self) -> usize {
        self.local_ranks.max(1)
    }

    /// Ends every rank of the job with exit code `code` (MPI_Abort): for an error or panic on
    /// one rank while the others may wait in a collective call.
    pub fn abort(code: i32) -> ! {
        SimpleCommunicator::world().abort(code)
    }
}

/// The counts and displacements of a varying-count call, as MPI takes them.
#[derive(Default)]
struct Scratch {
    send_counts: Vec<Count>,
    send_displs: Vec<Count>,
    recv_counts: Vec<Count>,
    recv_displs: Vec<Count>,
}

/// `counts` as MPI counts with their displacements (parts one after another).
fn fill(counts: &[usize], out: &mut Vec<Count>, displs: &mut Vec<Count>) {
    out.clear();
    displs.clear();
    let mut at: usize = 0;
    for &c in counts {
        // The trainer checks its buffers against `max_count` before a run.
        out.push(Count::try_from(c).expect("a count within MPI's range (checked before the run)"));
        displs.push(Count::try_from(at).expect("a displacement within MPI's range (checked before the run)"));
        at += c;
    }
}

/// MPI's world communicator as a [`Collective`].
pub struct MpiGroup {
    rank: usize,
    size: usize,
    scratch: Mutex<Scratch>,
}

impl MpiGroup {
    fn lock(&self) -> std::sync::MutexGuard<'_, Scratch> {
        self.scratch.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Collective for MpiGroup {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn max_count(&self) -> usize {
        Count::MAX as usize
    }

    fn all_to_all(&self, send: &[f32], send_counts: &[usize], recv: &mut [f32], recv_counts: &[usize]) {
        let mut guard = self.lock();
        let s = &mut *guard;
        fill(send_counts, &mut s.send_counts, &mut s.send_displs);
        fill(recv_counts, &mut s.recv_counts, &mut s.recv_displs);
        let sp = Partition::new(send, &s.send_counts[..], &s.send_displs[..]);
        let mut rp = PartitionMut::new(recv, &s.recv_counts[..], &s.recv_displs[..]);
        SimpleCommunicator::world().all_to_all_varcount_into(&sp, &mut rp);
    }

    fn all_gather(&self, send: &[f32], recv: &mut [f32], counts: &[usize]) {
        let mut guard = self.lock();
        let s = &mut *guard;
        fill(counts, &mut s.recv_counts, &mut s.recv_displs);
        let mut rp = PartitionMut::new(recv, &s.recv_counts[..], &s.recv_displs[..]);
        SimpleCommunicator::world().all_gather_varcount_into(send, &mut rp);
    }

    fn all_gather_f64(&self, send: &[f64], recv: &mut [f64], counts: &[usize]) {
        let mut guard = self.lock();
        let s = &mut *guard;
        fill(counts, &mut s.recv_counts, &mut s.recv_displs);
        let mut rp = PartitionMut::new(recv, &s.recv_counts[..], &s.recv_displs[..]);
        SimpleCommunicator::world().all_gather_varcount_into(send, &mut rp);
    }

    fn any(&self, flag: bool) -> bool {
        let _guard = self.lock();
        let mut out = 0i32;
        SimpleCommunicator::world().all_reduce_into(&i32::from(flag), &mut out, SystemOperation::max());
        out != 0
    }

    fn all_values(&self, value: u64) -> Vec<u64> {
        let _guard = self.lock();
        let mut out = vec![0u64; self.size];
        SimpleCommunicator::world().all_gather_into(&value, &mut out[..]);
        out
    }
}
