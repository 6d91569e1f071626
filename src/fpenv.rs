//! Flush-to-zero for the training threads: subnormal floats cost a microcode assist (up to
//! ~100 cycles) per operation on x86, and training makes many of them (velocities of
//! parameters whose gradient is always 0 decay geometrically through the subnormal range;
//! saturated sigmoids output them). Treating them as zero changes results by less than
//! 1e-38 and keeps every epoch as fast as the first.
//!
//! [`FlushGuard::on_current_pool`] sets FTZ/DAZ (x86_64 MXCSR) or FZ (aarch64 FPCR) on every
//! thread of the current rayon pool and restores the previous modes when dropped. Every
//! worker runs with the same mode, so results stay independent of the thread count.
//! This module and [`crate::gemm`] are the crate's only `unsafe` code.

/// Reads the floating-point control register.
#[cfg(target_arch = "x86_64")]
fn get() -> u64 {
    let mut csr: u32 = 0;
    // SAFETY: stmxcsr stores the 32-bit MXCSR to the given, valid stack address.
    unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack, preserves_flags)) };
    csr as u64
}

#[cfg(target_arch = "x86_64")]
fn set(v: u64) {
    let csr = v as u32;
    // SAFETY: ldmxcsr loads a value read from MXCSR with only the FTZ/DAZ bits changed.
    unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, preserves_flags, readonly)) };
}

/// FTZ (bit 15) and DAZ (bit 6) of MXCSR.
#[cfg(target_arch = "x86_64")]
const FLUSH_BITS: u64 = (1 << 15) | (1 << 6);

#[cfg(target_arch = "aarch64")]
fn get() -> u64 {
    let v: u64;
    // SAFETY: reading FPCR has no side effects.
    unsafe { std::arch::asm!("mrs {}, fpcr", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

#[cfg(target_arch = "aarch64")]
fn set(v: u64) {
    // SAFETY: writes back FPCR with only the FZ bit changed.
    unsafe { std::arch::asm!("msr fpcr, {}", in(reg) v, options(nomem, nostack, preserves_flags)) };
}

/// FZ (bit 24) of FPCR.
#[cfg(target_arch = "aarch64")]
const FLUSH_BITS: u64 = 1 << 24;

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn get() -> u64 {
    0
}
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn set(_: u64) {}
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const FLUSH_BITS: u64 = 0;

/// Restores every pool thread's previous mode when dropped.
pub struct FlushGuard {
    previous: Vec<u64>,
}

impl FlushGuard {
    /// Turns flush-to-zero on for every thread of the current rayon pool.
    pub fn on_current_pool() -> Self {
        let previous = rayon::broadcast(|_| {
            let old = get();
            set(old | FLUSH_BITS);
            old
        });
        FlushGuard { previous }
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        let previous = &self.previous;
        rayon::broadcast(|ctx| set(previous[ctx.index()]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flushes_subnormals_on_the_pool_and_restores() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        pool.install(|| {
            let tiny = std::hint::black_box(f32::MIN_POSITIVE);
            let half = |x: f32| std::hint::black_box(x) * std::hint::black_box(0.5f32);
            assert!(half(tiny) > 0.0, "subnormal before");
            {
                let _guard = FlushGuard::on_current_pool();
                let flushed: Vec<f32> = rayon::broadcast(|_| half(tiny));
                if FLUSH_BITS != 0 {
                    assert!(flushed.iter().all(|&v| v == 0.0), "{flushed:?}");
                }
            }
            let restored: Vec<f32> = rayon::broadcast(|_| half(tiny));
            assert!(restored.iter().all(|&v| v > 0.0));
        });
    }
}
