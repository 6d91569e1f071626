//! AVX-512 kernels for the trainer's largest products, which need no packing: `C = A·B` where
//! B's and C's rows are contiguous, and a 16 x 16 block transpose.
//!
//! matrixmultiply copies ("packs") both operands of every call into its own layout before
//! multiplying; for the first layer of a 784-128-10 network at batch 64, each thread packed the
//! whole 64 x 784 input twice per step, 16% of a step's time. Here a tile of 6 rows x 64
//! columns of C stays in 24 registers while k runs: each step of k broadcasts 6 values of A
//! and loads 4 vectors of B's row k straight from where they lie. Each element of C is one
//! fused multiply-add chain over k in order, starting from +0:
//! `c = fma(a[i,k-1], b[k-1,j], ... fma(a[i,0], b[0,j], 0))`, whatever the tile it falls in, so
//! a block of C computed alone has the bits of the same rows computed within a larger product
//! (`tests::kernel_equals_a_scalar_fma_chain_bit_for_bit`).
//!
//! Everything here is `unsafe` and reached only through [`super::gemm_rows`] and
//! [`super::transpose`], which check the views (with overflow-checked arithmetic) and the CPU
//! before calling.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    __m512, __mmask16, _mm512_fmadd_ps, _mm512_loadu_epi32, _mm512_loadu_ps, _mm512_mask_storeu_ps,
    _mm512_maskz_loadu_ps, _mm512_permutex2var_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};
use std::sync::OnceLock;

/// Rows of C per tile.
const MR: usize = 6;
/// 16-lane vectors of C per tile row.
const NV: usize = 4;

/// Whether this CPU runs AVX-512F code (detected once).
pub(super) fn available() -> bool {
    static DETECTED: OnceLock<bool> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx512f")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// `C[i, j] = Σ_p A[i, p]·B[p, j]` for `i < m`, `j < n`, `p < k`, as one fused multiply-add
/// chain per element in p order. Element (i, p) of A is at `a + i·ars + p·acs`, (p, j) of B at
/// `b + p·ldb + j`, (i, j) of C at `c + i·crs + j·ccs`, where C's rows or its columns are
/// contiguous (`ccs == 1` or `crs == 1`).
///
/// # Safety
/// The CPU supports AVX-512F; m, n, k ≥ 1; every element named above lies in its allocation,
/// every offset fits in `isize`, and C's elements neither alias each other nor A or B.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn gemm_rows(
    (m, n, k): (usize, usize, usize),
    (a, ars, acs): (*const f32, usize, usize),
    (b, ldb): (*const f32, usize),
    (c, crs, ccs): (*mut f32, usize, usize),
) {
    let mut j = 0;
    while j < n {
        let cols = (n - j).min(16 * NV);
        let nv = cols.div_ceil(16);
        // Lanes of the last vector that are columns of C (1..=16).
        let tail = cols - 16 * (nv - 1);
        let mask: __mmask16 = if tail == 16 { u16::MAX } else { (1u16 << tail) - 1 };
        let mut i = 0;
        while i < m {
            let mr = (m - i).min(MR);
            // SAFETY: row i of A, column j of B's rows and element (i, j) of C are elements of
            // the products (i < m, j < n; k ≥ 1), so these pointers stay inside their
            // allocations; the tile reads and writes only elements of the product.
            unsafe {
                let c = c.add(i * crs + j * ccs);
                let tile = Tile { k, a: a.add(i * ars), ars, acs, b: b.add(j), ldb, c, crs, ccs, mask };
                tile.run(mr, nv);
            }
            i += mr;
        }
        j += cols;
    }
}

/// One tile of [`gemm_rows`]: `rows x (16·vectors)` elements of C from its top-left corner,
/// the last vector's columns limited to `mask`.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Tile {
    k: usize,
    a: *const f32,
    ars: usize,
    acs: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    crs: usize,
    ccs: usize,
    mask: __mmask16,
}

#[cfg(target_arch = "x86_64")]
impl Tile {
    /// Runs the tile of `rows` (1..=MR) rows and `vectors` (1..=NV) vectors.
    ///
    /// # Safety
    /// As [`gemm_rows`], for the tile's elements.
    #[target_feature(enable = "avx512f")]
    unsafe fn run(self, rows: usize, vectors: usize) {
        // SAFETY: forwarded.
        unsafe {
            match vectors {
                1 => self.rows::<1>(rows),
                2 => self.rows::<2>(rows),
                3 => self.rows::<3>(rows),
                _ => self.rows::<NV>(rows),
            }
        }
    }

    /// # Safety
    /// As [`Tile::run`].
    #[target_feature(enable = "avx512f")]
    unsafe fn rows<const V: usize>(self, rows: usize) {
        // SAFETY: forwarded.
        unsafe {
            match rows {
                1 => self.fixed::<1, V>(),
                2 => self.fixed::<2, V>(),
                3 => self.fixed::<3, V>(),
                4 => self.fixed::<4, V>(),
                5 => self.fixed::<5, V>(),
                _ => self.fixed::<MR, V>(),
            }
        }
    }

    /// The tile with R rows and V vectors, its accumulators in registers.
    ///
    /// # Safety
    /// As [`Tile::run`].
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn fixed<const R: usize, const V: usize>(self) {
        let lanes = |v: usize| if v + 1 == V { self.mask } else { u16::MAX };
        let mut acc = [[_mm512_setzero_ps(); V]; R];
        for p in 0..self.k {
            // SAFETY: p < k, so row p of B and column p of A are the product's; a masked load
            // touches only the lanes of its mask, all columns of C (< n).
            unsafe {
                let bp = self.b.add(p * self.ldb);
                let mut bv = [_mm512_setzero_ps(); V];
                for (v, x) in bv.iter_mut().enumerate() {
                    *x = _mm512_maskz_loadu_ps(lanes(v), bp.add(16 * v));
                }
                let ap = self.a.add(p * self.acs);
                for (r, row) in acc.iter_mut().enumerate() {
                    let x = _mm512_set1_ps(*ap.add(r * self.ars));
                    for (c, &bv) in row.iter_mut().zip(&bv) {
                        *c = _mm512_fmadd_ps(x, bv, *c);
                    }
                }
            }
        }
        // SAFETY: (r, 16·v + lane) for r < R, v < V, lanes of the last vector within its mask,
        // are elements of C.
        unsafe {
            if self.ccs == 1 {
                for (r, row) in acc.iter().enumerate() {
                    for (v, &x) in row.iter().enumerate() {
                        _mm512_mask_storeu_ps(self.c.add(r * self.crs + 16 * v), lanes(v), x);
                    }
                }
            } else {
                // Contiguous columns: each row of the tile goes to C element by element.
                let cols = 16 * (V - 1) + (self.mask.trailing_ones() as usize);
                let mut row_values = [0.0f32; 16 * NV];
                for (r, row) in acc.iter().enumerate() {
                    for (v, &x) in row.iter().enumerate() {
                        _mm512_storeu_ps(row_values.as_mut_ptr().add(16 * v), x);
                    }
                    for (j, &x) in row_values[..cols].iter().enumerate() {
                        *self.c.add(r * self.crs + j * self.ccs) = x;
                    }
                }
            }
        }
    }
}

/// Lane indices of the stage of [`transpose_strip`] that swaps blocks of `b` lanes: for the row
/// whose bit b is clear (`upper`: its partner, b rows below), lanes from the first operand
/// (0..16) or the second (16..32).
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
#[cfg(target_arch = "x86_64")]
macro_rules! swap_pairs {
    ($r:ident, $lo:ident, $hi:ident; $(($i:literal, $p:literal))*) => {
        $(
            let (x, y) = ($r[$i], $r[$p]);
            $r[$i] = _mm512_permutex2var_ps(x, $lo, y);
            $r[$p] = _mm512_permutex2var_ps(x, $hi, y);
        )*
    };
}

/// `dst[j·ldd + i] = src[i·lds + j]` for i < 16, j < 16·blocks: 16 x 16 blocks left to right,
/// each in four stages that swap the off-diagonal blocks of 8, 4, 2 and 1 lanes between rows
/// i and i + b (with constant indices throughout, so the 16 rows stay in registers).
///
/// # Safety
/// The CPU supports AVX-512F; the elements named lie in their allocations, offsets fit in
/// `isize`, and dst does not overlap src.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn transpose_strip(src: *const f32, lds: usize, dst: *mut f32, ldd: usize, blocks: usize) {
    // SAFETY: loads of 16 i32 from arrays of 16.
    let idx = |s: usize| unsafe {
        let (lower, upper) = &STAGES[s];
        (_mm512_loadu_epi32(lower.as_ptr()), _mm512_loadu_epi32(upper.as_ptr()))
    };
    let ((l8, h8), (l4, h4), (l2, h2), (l1, h1)) = (idx(0), idx(1), idx(2), idx(3));
    for blk in 0..blocks {
        let mut r: [__m512; 16] = [_mm512_setzero_ps(); 16];
        // SAFETY: rows i < 16, columns 16·blk.. + 16 of src, by the caller's contract.
        unsafe {
            for (i, x) in r.iter_mut().enumerate() {
                *x = _mm512_loadu_ps(src.add(i * lds + 16 * blk));
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
