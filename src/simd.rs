//! Element-wise loops compiled for the CPU found at run time.
//!
//! The crate is built for baseline x86-64 (SSE2), while the product kernels are picked at run
//! time (AVX-512 or AVX2 + FMA); the loops around the GEMMs (bias + activation, the activation's derivative,
//! the momentum update) would otherwise run at a quarter of the vector width. [`multiversion!`]
//! compiles such a function three times, for baseline x86-64, AVX2 + FMA and AVX-512F, and
//! calls the widest copy the CPU has (checked once). All copies perform the same IEEE
//! operations in the same order (Rust never fuses a multiply and an add on its own), so the
//! results are identical bit for bit; only the speed differs.
//!
//! The `unsafe` calls of the AVX2 and AVX-512 copies are sound because they happen only after
//! `is_x86_feature_detected!` has confirmed the features.

use std::sync::OnceLock;

/// Whether this CPU runs AVX2 and FMA code (detected once).
#[inline]
pub fn has_avx2() -> bool {
    static DETECTED: OnceLock<bool> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// Whether this CPU runs AVX-512F code besides AVX2 and FMA (detected once).
#[inline]
pub fn has_avx512() -> bool {
    static DETECTED: OnceLock<bool> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            has_avx2() && std::arch::is_x86_feature_detected!("avx512f")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// The vector instructions this CPU runs that choose the kernels of bp-par and matrixmultiply,
/// as `sse2 avx avx2 fma avx512f` (the machine's architecture elsewhere). bp-par's own products
/// give the same bits on AVX2 and AVX-512; matrixmultiply's (some products) and the element-wise
/// copies' speed do not, so the ranks of one run must agree on it.
pub(crate) fn vector_instructions() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        let has = [
            ("sse2", std::arch::is_x86_feature_detected!("sse2")),
            ("avx", std::arch::is_x86_feature_detected!("avx")),
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
            ("fma", std::arch::is_x86_feature_detected!("fma")),
            ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
        ];
        has.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect::<Vec<_>>().join(" ")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::env::consts::ARCH.to_string()
    }
}

/// The widest set the kernels use, for reports: `AVX-512`, `AVX2+FMA`, `SSE2` (or the
/// machine's architecture).
pub(crate) fn widest() -> &'static str {
    if cfg!(not(target_arch = "x86_64")) {
        std::env::consts::ARCH
    } else if has_avx512() {
        "AVX-512"
    } else if has_avx2() {
        "AVX2+FMA"
    } else {
        "SSE2"
    }
}

/// Defines a function whose body is compiled for baseline x86-64, again for AVX2 + FMA and
/// again for AVX-512F, and runs the widest copy the CPU has ([`has_avx512`], [`has_avx2`]).
/// At most one type parameter, bounded by one trait.
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident $(<$t:ident: $bound:path>)? ($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        #[inline]
        $vis fn $name $(<$t: $bound>)? ($($arg: $ty),*) {
            #[inline(always)]
            fn body $(<$t: $bound>)? ($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn avx2 $(<$t: $bound>)? ($($arg: $ty),*) {
                    body($($arg),*)
                }
                #[target_feature(enable = "avx512f,avx2,fma")]
                fn avx512 $(<$t: $bound>)? ($($arg: $ty),*) {
                    body($($arg),*)
                }
                if $crate::simd::has_avx512() {
                    // SAFETY: the CPU supports AVX-512F, AVX2 and FMA, checked at run time.
                    return unsafe { avx512($($arg),*) };
                }
                if $crate::simd::has_avx2() {
                    // SAFETY: the CPU supports AVX2 and FMA, checked at run time just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use multiversion;

#[cfg(test)]
mod tests {
    crate::simd::multiversion! {
        fn scaled_sum(out: &mut [f32], a: &[f32], b: &[f32], s: f32) {
            for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
                *o = a * s + b;
            }
        }
    }

    #[test]
    fn both_copies_give_the_bits_of_a_plain_loop() {
        let a: Vec<f32> = (0..1003).map(|i| (i as f32 * 0.37).sin() * 1e3).collect();
        let b: Vec<f32> = (0..1003).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut out = vec![f32::NAN; a.len()];
        scaled_sum(&mut out, &a, &b, 1.0 / 3.0);
        for i in 0..a.len() {
            // A fused multiply-add would round once and differ in the last bit for many i.
            let want = std::hint::black_box(a[i] * (1.0 / 3.0)) + b[i];
            assert_eq!(out[i].to_bits(), want.to_bits(), "element {i}");
        }
    }
}
