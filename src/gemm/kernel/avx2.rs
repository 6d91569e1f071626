//! The AVX2 + FMA primitives of the product kernel (8 lanes, tiles of 6 rows x 2 vectors) and
//! the classic 8 x 8 block transpose (unpack, shuffle, exchange of 128-bit halves).

use std::arch::x86_64::{
    __m256, __m256i, _mm256_cmpgt_epi32, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_maskload_ps,
    _mm256_maskstore_ps, _mm256_permute2f128_ps, _mm256_set1_epi32, _mm256_set1_ps, _mm256_setr_epi32,
    _mm256_setzero_ps, _mm256_shuffle_ps, _mm256_storeu_ps, _mm256_unpackhi_ps, _mm256_unpacklo_ps,
};

type V = __m256;
type Mask = __m256i;
const LANES: usize = 8;
const MR: usize = 6;
const NV: usize = 2;
// SAFETY (of the transmute): every bit pattern is a valid __m256i; all lanes −1.
const FULL: Mask = unsafe { std::mem::transmute::<[i32; 8], __m256i>([-1; 8]) };

#[inline]
#[target_feature(enable = "avx2,fma")]
fn zero() -> V {
    _mm256_setzero_ps()
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn splat(x: f32) -> V {
    _mm256_set1_ps(x)
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn fma(a: V, b: V, c: V) -> V {
    _mm256_fmadd_ps(a, b, c)
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn mask(tail: usize) -> Mask {
    // Lane j is on (−1) when j < tail.
    _mm256_cmpgt_epi32(_mm256_set1_epi32(tail.min(LANES) as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
}
/// # Safety
/// The lanes of `m` from `p` lie in an allocation.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn load(m: Mask, p: *const f32) -> V {
    // SAFETY: by the caller's contract; masked-off lanes are not accessed.
    unsafe { _mm256_maskload_ps(p, m) }
}
/// # Safety
/// The lanes of `m` from `p` lie in an allocation, writable.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn store(m: Mask, p: *mut f32, x: V) {
    // SAFETY: by the caller's contract; masked-off lanes are not accessed.
    unsafe { _mm256_maskstore_ps(p, m, x) }
}
/// # Safety
/// `LANES` values from `p` lie in an allocation, writable.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn store_all(p: *mut f32, x: V) {
    // SAFETY: by the caller's contract.
    unsafe { _mm256_storeu_ps(p, x) }
}

row_kernel!("avx2,fma", vectors 1, rows 1 2 3 4 5);

/// [`super::transpose_strip`] by 8 x 8 blocks: pairs of rows interleaved, then pairs of
/// pairs, then the 128-bit halves exchanged.
///
/// # Safety
/// As [`super::transpose_strip`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn transpose_strip(src: &[*const f32; 8], dst: *mut f32, ldd: usize, blocks: usize) {
    for blk in 0..blocks {
        let mut r = [_mm256_setzero_ps(); 8];
        // SAFETY: rows i < 8, columns 8·blk.. + 8 of src, by the caller's contract.
        unsafe {
            for (i, x) in r.iter_mut().enumerate() {
                *x = _mm256_loadu_ps(src[i].add(8 * blk));
            }
        }
        let t = [
            _mm256_unpacklo_ps(r[0], r[1]),
            _mm256_unpackhi_ps(r[0], r[1]),
            _mm256_unpacklo_ps(r[2], r[3]),
            _mm256_unpackhi_ps(r[2], r[3]),
            _mm256_unpacklo_ps(r[4], r[5]),
            _mm256_unpackhi_ps(r[4], r[5]),
            _mm256_unpacklo_ps(r[6], r[7]),
            _mm256_unpackhi_ps(r[6], r[7]),
        ];
        let u = [
            _mm256_shuffle_ps::<0x44>(t[0], t[2]),
            _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
            _mm256_shuffle_ps::<0x44>(t[1], t[3]),
            _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
            _mm256_shuffle_ps::<0x44>(t[4], t[6]),
            _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
            _mm256_shuffle_ps::<0x44>(t[5], t[7]),
            _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
        ];
        let o = [
            _mm256_permute2f128_ps::<0x20>(u[0], u[4]),
            _mm256_permute2f128_ps::<0x20>(u[1], u[5]),
            _mm256_permute2f128_ps::<0x20>(u[2], u[6]),
            _mm256_permute2f128_ps::<0x20>(u[3], u[7]),
            _mm256_permute2f128_ps::<0x31>(u[0], u[4]),
            _mm256_permute2f128_ps::<0x31>(u[1], u[5]),
            _mm256_permute2f128_ps::<0x31>(u[2], u[6]),
            _mm256_permute2f128_ps::<0x31>(u[3], u[7]),
        ];
        // SAFETY: rows 8·blk + j (j < 8), columns i < 8 of dst, by the caller's contract.
        unsafe {
            for (j, &x) in o.iter().enumerate() {
                _mm256_storeu_ps(dst.add((8 * blk + j) * ldd), x);
            }
        }
    }
}
