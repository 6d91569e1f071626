//! The thread count of a fit, a trainer or a model's predictions: always a parameter
//! ([`Threads`]), never read from whatever rayon pool the caller happens to run in. (The file
//! readers and the low-level [`crate::infer`] functions run on the caller's pool, as rayon code
//! does; the front door wraps them in its own.)
//!
//! One function turns a count into the size of the trainer's team of threads
//! ([`Threads::team_size`]: at most one per core, as an oversubscribed team would wait for the
//! operating system at every phase of a step), and one runs a closure with that many rayon
//! workers ([`Threads::install`], on a pool kept per count, so that a call that predicts one
//! row does not start threads). The count changes the speed, never a bit of a result.
//!
//! ```
//! use bp_par::Threads;
//! let two = Threads::new(2).unwrap();
//! assert_eq!(two.get(), 2);
//! assert!(two.team_size() >= 1 && two.team_size() <= 2);
//! assert!(Threads::new(0).is_err());
//! let name = two.install(|| std::thread::current().name().map(str::to_owned)).unwrap();
//! assert!(name.is_some_and(|n| n.starts_with("bp-par-2-")));
//! ```

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

/// A number of threads, at least one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Threads(NonZeroUsize);

impl Threads {
    /// The most threads a count may ask for: far beyond any useful count, low enough that the
    /// operating system can start them.
    pub const MAX: usize = 256;

    /// `n` threads; [`Error::Config`] for 0 or more than [`Threads::MAX`].
    pub fn new(n: usize) -> Result<Threads> {
        if n > Threads::MAX {
            return Err(Error::config(format!("`threads` must be at most {}, got {n}", Threads::MAX)));
        }
        NonZeroUsize::new(n).map(Threads).ok_or_else(|| Error::config("`threads` must be at least 1, got 0"))
    }

    /// One thread.
    pub const ONE: Threads = Threads(NonZeroUsize::MIN);

    /// `n` threads, clamped to `1..=`[`Threads::MAX`] (a count the crate computed itself, such
    /// as a team's size).
    pub(crate) fn clamped(n: usize) -> Threads {
        Threads(NonZeroUsize::new(n.clamp(1, Threads::MAX)).unwrap_or(NonZeroUsize::MIN))
    }

    /// One thread per logical core of the machine (1 where that is unknown; at most
    /// [`Threads::MAX`]).
    pub fn all() -> Threads {
        Threads::clamped(std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
    }

    /// The count.
    pub fn get(self) -> usize {
        self.0.get()
    }

    /// The size of the team that runs a trainer's passes with this many threads: the count,
    /// but no more than the machine's cores.
    pub fn team_size(self) -> usize {
        crate::team::size_for(self.get())
    }

    /// Runs `f` on a rayon pool of this many worker threads (named `bp-par-N-i`). The pools
    /// are made on first use of each count and kept.
    ///
    /// # Errors
    /// [`Error::Other`] when the operating system cannot start the threads.
    pub fn install<R: Send>(self, f: impl FnOnce() -> R + Send) -> Result<R> {
        // (On a thread of the same pool, rayon runs `f` in place.)
        Ok(self.pool()?.install(f))
    }

    fn pool(self) -> Result<Arc<rayon::ThreadPool>> {
        static POOLS: Mutex<BTreeMap<usize, Arc<rayon::ThreadPool>>> = Mutex::new(BTreeMap::new());
        let mut pools = POOLS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(p) = pools.get(&self.get()) {
            return Ok(Arc::clone(p));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.get())
            .thread_name(move |i| format!("bp-par-{}-{i}", self.get()))
            .build()
            .map_err(|e| Error::other(format!("cannot start {} worker threads: {e}", self.get())))?;
        let pool = Arc::new(pool);
        pools.insert(self.get(), Arc::clone(&pool));
        Ok(pool)
    }
}

impl Default for Threads {
    /// [`Threads::all`].
    fn default() -> Self {
        Threads::all()
    }
}

impl std::fmt::Display for Threads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl TryFrom<usize> for Threads {
    type Error = Error;
    fn try_from(n: usize) -> Result<Threads> {
        Threads::new(n)
    }
}
