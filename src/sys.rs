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

#[cfg(test)]
mod tests {
    #[test]
    fn human_bytes() {
        assert_eq!(super::human_bytes(512), "512 B");
        assert_eq!(super::human_bytes(3 << 29), "1.5 GiB");
    }
}
