//! The float types the network runs on and the element-wise primitives every numeric module
//! shares: the [`Scalar`] trait (f32 for training, f64 for gradient checks, each mapped to its
//! matrixmultiply kernel), a vectorisable [`exp_f32`], and [`flush`], which keeps subnormal
//! numbers out of the hot loops.
//!
//! This module depends on no other module of the crate: the GEMM wrapper, the activations,
//! the losses and the optimiser import these primitives from here, never from each other. It
//! holds no `unsafe` block of its own beyond forwarding [`Scalar::gemm_raw`], an `unsafe fn`
//! whose only caller is the GEMM wrapper.
//!
//! ```
//! use bp_par::scalar::{exp_f32, flush, Scalar};
//! assert_eq!(exp_f32(0.0), 1.0);
//! assert_eq!(flush(1e-40f32), 0.0);
//! assert_eq!(f64::of(0.5).fast_exp(), 0.5f64.exp());
//! ```

use num_traits::Float;
use std::fmt::Debug;
use std::iter::Sum;
use std::ops::{AddAssign, MulAssign, SubAssign};

/// The private supertrait that seals [`Scalar`]: only f32 and f64 implement it, so no type
/// outside the crate can supply a `gemm_raw` the GEMM wrapper would trust.
mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// The element types the network runs on: f32 for training, f64 for gradient checks. Sealed:
/// implemented for f32 and f64 only.
pub trait Scalar:
    sealed::Sealed + Float + AddAssign + SubAssign + MulAssign + Sum + Default + Debug + Send + Sync + 'static
{
    /// Converts from f64 (rounding for f32).
    fn of(x: f64) -> Self;
    /// eˣ for the element-wise kernels: a branch-free polynomial that vectorises for f32
    /// ([`exp_f32`]), the correctly rounded `exp` for f64.
    fn fast_exp(self) -> Self;
    /// The same slice (same address and length) as `[f32]` when `Self` is f32, None for f64:
    /// the GEMM wrapper's AVX-512 / AVX2 kernels are f32 only, and it applies offsets checked
    /// against the original slice to this one (sound because it is the same memory).
    #[doc(hidden)]
    fn as_f32(x: &[Self]) -> Option<&[f32]>;
    /// [`Scalar::as_f32`] for a mutable slice.
    #[doc(hidden)]
    fn as_f32_mut(x: &mut [Self]) -> Option<&mut [f32]>;
    /// `C ← α A B + β C` with matrixmultiply's raw interface.
    ///
    /// # Safety
    /// The pointers and strides must describe valid, in-bounds matrices and C must not alias.
    #[allow(clippy::too_many_arguments)]
    #[doc(hidden)]
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    );
}

macro_rules! impl_scalar {
    ($t:ty, $f:path, $exp:path, |$x:ident| $as_f32:expr) => {
        impl Scalar for $t {
            #[inline]
            fn as_f32($x: &[Self]) -> Option<&[f32]> {
                $as_f32
            }
            #[inline]
            fn as_f32_mut($x: &mut [Self]) -> Option<&mut [f32]> {
                $as_f32
            }
            #[inline]
            fn of(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn fast_exp(self) -> Self {
                $exp(self)
            }
            unsafe fn gemm_raw(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: *const Self,
                rsa: isize,
                csa: isize,
                b: *const Self,
                rsb: isize,
                csb: isize,
                beta: Self,
                c: *mut Self,
                rsc: isize,
                csc: isize,
            ) {
                // SAFETY: forwarded from the caller's contract.
                unsafe { $f(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) }
            }
        }
    };
}
impl_scalar!(f32, matrixmultiply::sgemm, exp_f32, |x| Some(x));
impl_scalar!(f64, matrixmultiply::dgemm, f64::exp, |x| {
    let _ = x;
    None
});

/// eˣ in f32 without branches or calls, so loops over it vectorise: Cody-Waite range
/// reduction x = n·ln2 + r, |r| ≤ ln2/2, then Cephes' degree-6 polynomial for eʳ and 2ⁿ
/// built from its bits. Within 2 ulp of the exact value for x in [−87.3, 88]; below, the
/// result stays at ~1.2e−38 (the smallest normal range), above 88 it is +∞, and NaN stays
/// NaN. So 1/(1 + eˣ) saturates to exactly 0 and 1.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5·2²³ rounds to the nearest integer in the default rounding mode.
    const ROUND: f32 = 12_582_912.0;
    // n = 128 at the top gives the bits of +∞.
    let x = x.clamp(-87.336_54, 89.0);
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // n is in [−126, 128]: its bits are those of t minus those of ROUND.
    let n = t.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    y * f32::from_bits(((n + 127) as u32) << 23)
}

/// `x`, or 0 if `|x|` is below the smallest normal number (a select, no branch).
///
/// Subnormal operands cost x86 cores a microcode assist (~100 cycles) per operation; rather
/// than changing the threads' floating-point mode (undefined behaviour for Rust code,
/// rust-lang/stdarch#1454), the hot loops keep subnormals out explicitly: activations,
/// deltas and velocities pass through this. The change is below 1.2e−38 in absolute value.
#[inline(always)]
pub fn flush<T: Scalar>(x: T) -> T {
    if x.abs() < T::min_positive_value() { T::zero() } else { x }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_f32_is_within_two_ulp() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let (got, want) = (exp_f32(x) as f64, (x as f64).exp());
            worst = worst.max(((got - want) / want).abs());
            x += 0.001_37;
        }
        assert!(worst < 2.0 * f32::EPSILON as f64, "relative error {worst:e}");
        assert!(exp_f32(f32::NAN).is_nan());
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(100.0), f32::INFINITY);
    }

    #[test]
    fn flush_zeroes_subnormals_only() {
        assert_eq!(flush(f32::MIN_POSITIVE / 2.0), 0.0);
        assert_eq!(flush(-f64::MIN_POSITIVE / 2.0), 0.0);
        assert_eq!(flush(f32::MIN_POSITIVE), f32::MIN_POSITIVE);
        assert_eq!(flush(-1.5f64), -1.5);
        assert!(flush(f32::NAN).is_nan());
    }
}
