//! The AVX-512F primitives of the product kernel (16 lanes, tiles of 6 rows x 4 vectors) and a
//! 16 x 16 block transpose by two-source lane permutes.

use std::arch::x86_64::{
    __m512, __mmask16, _mm512_fmadd_ps, _mm512_loadu_epi32, _mm512_loadu_ps, _mm512_mask_storeu_ps,
    _mm512_maskz_loadu_ps, _mm512_permutex2var_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};

type V = __m512;
type Mask = __mmask16;
const LANES: usize = 16;
const MR: usize = 6;
const NV: usize = 4;
const FULL: Mask = u16::MAX;

#[inline]
#[target_feature(enable = "avx512f")]
fn zero() -> V {
    _mm512_setzero_ps()
}
#[inline]
#[target_feature(enable = "avx512f")]
fn splat(x: f32) -> V {
    _mm512_set1_ps(x)
}
#[inline]
#[target_feature(enable = "avx512f")]
fn fma(a: V, b: V, c: V) -> V {
    _mm512_fmadd_ps(a, b, c)
}
fn mask(tail: usize) -> Mask {
    if tail >= LANES { FULL } else { (1u16 << tail) - 1 }
}
/// # Safety
/// The lanes of `m` from `p` lie in an allocation.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn load(m: Mask, p: *const f32) -> V {
    // SAFETY: by the caller's contract; masked-off lanes are not accessed.
    unsafe { _mm512_maskz_loadu_ps(m, p) }
}
/// # Safety
/// The lanes of `m` from `p` lie in an allocation, writable.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn store(m: Mask, p: *mut f32, x: V) {
    // SAFETY: by the caller's contract; masked-off lanes are not accessed.
    unsafe { _mm512_mask_storeu_ps(p, m, x) }
}
/// # Safety
/// `LANES` values from `p` lie in an allocation, writable.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn store_all(p: *mut f32, x: V) {
    // SAFETY: by the caller's contract.
    unsafe { _mm512_storeu_ps(p, x) }
}

row_kernel!("avx512f", vectors 1 2 3, rows 1 2 3 4 5);

/// Lane indices of the stage of [`transpose_strip`] that swaps blocks of `b` lanes: for the
/// row whose bit b is clear (`upper`: its partner, b rows below), lanes from the first
/// operand (0..16) or the second (16..32).
const fn swap_lanes(b: usize, upper: bool) -> [i32; 16] {
    let mut idx = [0i32; 16];
    let mut j = 0;
    while j < 16 {
        let clear = j & b == 0;
        idx[j] = match (upper, clear) {
            (false, true) => j as i32,
            (false, false) => (16 + j - b) as i32,
            (true, true) => (j + b) as i32,
            (true, false) => (16 + j) as i32,
        };
        j += 1;
    }
    idx
}

/// The index vectors of [`transpose_strip`]'s stages (blocks of 8, 4, 2, 1 lanes).
const STAGES: [([i32; 16], [i32; 16]); 4] = [
    (swap_lanes(8, false), swap_lanes(8, true)),
    (swap_lanes(4, false), swap_lanes(4, true)),
    (swap_lanes(2, false), swap_lanes(2, true)),
    (swap_lanes(1, false), swap_lanes(1, true)),
];

/// Rows i and i + b of a stage of [`transpose_strip`], for each listed pair (i, i + b).
macro_rules! swap_pairs {
    ($r:ident, $lo:ident, $hi:ident; $(($i:literal, $p:literal))*) => {
        $(
            let (x, y) = ($r[$i], $r[$p]);
            $r[$i] = _mm512_permutex2var_ps(x, $lo, y);
            $r[$p] = _mm512_permutex2var_ps(x, $hi, y);
        )*
    };
}

/// [`super::transpose_strip`] by 16 x 16 blocks, each in four stages that swap the
/// off-diagonal blocks of 8, 4, 2 and 1 lanes between rows i and i + b (constant indices
/// throughout, so the 16 rows stay in registers).
///
/// # Safety
/// As [`super::transpose_strip`].
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn transpose_strip(src: &[*const f32; 16], dst: *mut f32, ldd: usize, blocks: usize) {
    // SAFETY: loads of 16 i32 from arrays of 16.
    let idx = |s: usize| unsafe {
        let (lower, upper) = &STAGES[s];
        (_mm512_loadu_epi32(lower.as_ptr()), _mm512_loadu_epi32(upper.as_ptr()))
    };
    let ((l8, h8), (l4, h4), (l2, h2), (l1, h1)) = (idx(0), idx(1), idx(2), idx(3));
    for blk in 0..blocks {
        let mut r: [V; 16] = [_mm512_setzero_ps(); 16];
        // SAFETY: rows i < 16, columns 16·blk.. + 16 of src, by the caller's contract.
        unsafe {
            for (i, x) in r.iter_mut().enumerate() {
                *x = _mm512_loadu_ps(src[i].add(16 * blk));
            }
        }
        swap_pairs!(r, l8, h8; (0, 8) (1, 9) (2, 10) (3, 11) (4, 12) (5, 13) (6, 14) (7, 15));
        swap_pairs!(r, l4, h4; (0, 4) (1, 5) (2, 6) (3, 7) (8, 12) (9, 13) (10, 14) (11, 15));
        swap_pairs!(r, l2, h2; (0, 2) (1, 3) (4, 6) (5, 7) (8, 10) (9, 11) (12, 14) (13, 15));
        swap_pairs!(r, l1, h1; (0, 1) (2, 3) (4, 5) (6, 7) (8, 9) (10, 11) (12, 13) (14, 15));
        // SAFETY: rows 16·blk + j (j < 16), columns i < 16 of dst, by the caller's contract.
        unsafe {
            for (j, &x) in r.iter().enumerate() {
                _mm512_storeu_ps(dst.add((16 * blk + j) * ldd), x);
            }
        }
    }
}
