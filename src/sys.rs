//! What the machine offers: available and peak memory, a one-line CPU description.
//! Linux reads `/proc`; elsewhere the answers are `None` or generic. Public with the `cli`
//! feature (the command line's reports); the library itself reads the available memory.
#![cfg_attr(not(feature = "cli"), allow(dead_code))]

/// Reads a `kB` field of a `/proc` status-like file, in bytes.
fn proc_kb(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Memory available for new allocations: the machine's without swapping (Linux
/// `MemAvailable`), or less when the process's address space is limited
/// ([`address_space_left_bytes`]).
pub fn available_memory_bytes() -> Option<u64> {
    let free = proc_kb("/proc/meminfo", "MemAvailable:");
    match (free, address_space_left_bytes()) {
        (Some(f), Some(a)) => Some(f.min(a)),
        (f, a) => f.or(a),
    }
}

/// What the process may still map under its address-space limit (`ulimit -v`, Linux
/// `RLIMIT_AS`): the soft limit less its current virtual size; `None` when there is no limit
/// or it cannot be read.
pub fn address_space_left_bytes() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max address space"))?;
    let soft: u64 = line["Max address space".len()..].split_whitespace().next()?.parse().ok()?;
    let used = proc_kb("/proc/self/status", "VmSize:")?;
    Some(soft.saturating_sub(used))
}

/// The process's peak resident memory (Linux `VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    proc_kb("/proc/self/status", "VmHWM:")
}

/// Bytes as a short human figure: `512 KiB`, `1.5 GiB`.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{b} B") } else { format!("{v:.1} {}", UNITS[u]) }
}

/// One line describing the CPU: model name, logical cores, widest SIMD.
pub fn machine_description() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU".to_string(), |s| s.trim().to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{model}, {cores} logical cores, {}", crate::simd::widest())
}

/// The pages of a buffer, as addresses (no borrow of it): what [`prefault`] maps while
/// another thread owns the buffer and fills it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pages {
    start: usize,
    len: usize,
}

impl Pages {
    /// The whole pages within `buf`.
    pub(crate) fn within<T>(buf: &mut [T]) -> Pages {
        let page = page_size();
        let (start, end) = (buf.as_mut_ptr() as usize, buf.as_mut_ptr() as usize + size_of_val(buf));
        let first = start.next_multiple_of(page).min(end);
        Pages { start: first, len: (end - first) / page * page }
    }

    /// Maps `self` in pieces of 4 MiB taken in turn from `next` (shared by the threads that
    /// help, from 0), until none is left: whether it was done ([`prefault`]).
    pub(crate) fn prefault_shared(self, next: &std::sync::atomic::AtomicUsize) -> bool {
        const PIECE: usize = 4 << 20;
        loop {
            let at = next.fetch_add(PIECE, std::sync::atomic::Ordering::Relaxed);
            if at >= self.len {
                return true;
            }
            if !prefault(Pages { start: self.start + at, len: PIECE.min(self.len - at) }) {
                return false;
            }
        }
    }
}

/// The system's page size (4 KiB where it cannot be read).
fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf reads a system setting; it touches no memory of the program's.
        #[cfg(unix)]
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        #[cfg(not(unix))]
        let size = 4096;
        usize::try_from(size).ok().filter(|s| s.is_power_of_two()).unwrap_or(4096)
    })
}

/// Maps `pages` in one call, as writes to each would, without writing
/// (`madvise(MADV_POPULATE_WRITE)`, Linux 5.14 and later): fresh memory that a thread is
/// about to fill then takes no fault a page. Whether it was done (no pages: true; false on
/// other systems).
pub(crate) fn prefault(pages: Pages) -> bool {
    if pages.len == 0 {
        return true;
    }
    // SAFETY: the range is whole pages of a live allocation of the caller's (its owner keeps
    // it alive until this returns: see the callers). MADV_POPULATE_WRITE changes no byte the
    // program can see: it maps what is not mapped (zero pages of fresh memory stay zero) and
    // leaves mapped pages alone, so it cannot race with a thread writing there; it neither
    // frees nor moves memory. On an error (an older kernel) nothing happened.
    #[cfg(target_os = "linux")]
    let done =
        unsafe { libc::madvise(pages.start as *mut libc::c_void, pages.len, libc::MADV_POPULATE_WRITE) } == 0;
    #[cfg(not(target_os = "linux"))]
    let done = false;
    done
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_bytes() {
        assert_eq!(super::human_bytes(512), "512 B");
        assert_eq!(super::human_bytes(3 << 29), "1.5 GiB");
    }

    use super::{Pages, prefault};
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn a_buffers_pages_are_the_whole_pages_within_it() {
        let page = super::page_size();
        let mut buf = vec![7u8; 5 * page + 300];
        for (from, to) in [(0, 0), (0, 100), (1, 3 * page + 5), (page - 1, 5 * page + 300), (17, page + 17)] {
            let part = &mut buf[from..to];
            let (start, end) = (part.as_ptr() as usize, part.as_ptr() as usize + part.len());
            let p = Pages::within(part);
            assert!(p.start >= start && p.start + p.len <= end, "{from}..{to}: {p:?}");
            assert!(p.len == 0 || (p.start % page, p.len % page) == (0, 0), "{from}..{to}: {p:?}");
            // Every whole page within: less than a page lost at either end.
            assert!(p.len == 0 || (p.start - start < page && end - (p.start + p.len) < page));
            assert!(p.len > 0 || end - start < 2 * page);
        }
    }

    /// The unsafe call, tried through the safe API as the loader uses it: another thread maps
    /// pages (alone and shared in pieces) that this one is writing, and a fresh buffer it maps
    /// stays zero. Every byte must be the writer's.
    #[test]
    fn mapping_pages_while_another_thread_writes_them_changes_no_byte() {
        for round in 0..3 {
            let (mut written, mut fresh) = (vec![0u8; 24 << 20], vec![0u8; 9 << 20]);
            let (pages, fresh_pages) = (Pages::within(&mut written), Pages::within(&mut fresh));
            let next = AtomicUsize::new(0);
            std::thread::scope(|s| {
                s.spawn(|| prefault(pages));
                s.spawn(|| pages.prefault_shared(&next));
                s.spawn(|| fresh_pages.prefault_shared(&AtomicUsize::new(0)));
                for (i, b) in written.iter_mut().enumerate() {
                    *b = (i % 251) as u8 ^ round;
                }
            });
            assert!(written.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8 ^ round));
            assert!(fresh.iter().all(|&b| b == 0));
        }
        // Linux maps on request since 5.14.
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let mut version = release.split(|c: char| !c.is_ascii_digit()).map(|v| v.parse::<u32>().unwrap_or(0));
        if cfg!(target_os = "linux") && (version.next().unwrap_or(0), version.next().unwrap_or(0)) >= (5, 14)
        {
            assert!(prefault(Pages::within(&mut vec![0u8; 1 << 20])), "Linux {release}");
        }
    }
}
