//! AVX-512 and AVX2 kernels for the trainer's products, which need no packing: `C = A·B` where
//! B's rows are contiguous (and C's rows or columns), and a block transpose.
//!
//! matrixmultiply copies ("packs") both operands of every call into its own layout before
//! multiplying; for the first layer of a 784-128-10 network at batch 64, each thread packed the
//! whole 64 x 784 input twice per step, 16% of a step's time. Here a tile of C stays in
//! registers while k runs (AVX-512: 6 rows x 64 columns in 24 registers; AVX2: 6 x 16 in 12):
//! each step of k broadcasts 6 values of A and loads B's row k straight from where it lies.
//! Each element of C is one fused multiply-add chain over k in order, starting from +0,
//! `c = fma(a[i,k-1], b[k-1,j], ... fma(a[i,0], b[0,j], 0))`, whatever the tile it falls in and
//! whichever instruction set runs it: a block of C computed alone has the bits of the same rows
//! within a larger product, and an AVX2 machine computes the bits of an AVX-512 one
//! (`tests::kernel_equals_a_scalar_fma_chain_bit_for_bit`, for every set the CPU has).
//!
//! Everything here is `unsafe` and reached only through [`super::gemm_rows`] and
//! [`super::transpose_rows`], which check the views (with overflow-checked arithmetic) and the CPU
//! before calling. The two instruction sets share the kernel's code ([`row_kernel!`]) and
//! differ in their vector primitives.

/// The instruction sets the kernels are built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Isa {
    Avx512,
    Avx2,
}

impl Isa {
    /// Every set, widest first.
    pub(super) const ALL: [Isa; 2] = [Isa::Avx512, Isa::Avx2];

    /// Whether this CPU runs the set (the crate's one detection, `simd`).
    pub(super) fn runs(self) -> bool {
        match self {
            Isa::Avx512 => crate::simd::has_avx512(),
            Isa::Avx2 => crate::simd::has_avx2(),
        }
    }

    /// The widest set this CPU runs; None: neither (the products then use matrixmultiply).
    pub(super) fn detected() -> Option<Isa> {
        Isa::ALL.into_iter().find(|isa| isa.runs())
    }

    /// Rows and columns of [`transpose_strip`]'s square blocks.
    pub(super) fn transpose_block(self) -> usize {
        match self {
            Isa::Avx512 => 16,
            Isa::Avx2 => 8,
        }
    }
}

/// `C[i, j] = Σ_p A[i, p]·B[p, j]` for `i < m`, `j < n`, `p < k`, as one fused multiply-add
/// chain per element in p order. Element (i, p) of A is at `a + i·ars + p·acs`, (p, j) of B at
/// `b + p·ldb + j`, (i, j) of C at `c + i·crs + j·ccs`, where C's rows or its columns are
/// contiguous (`ccs == 1` or `crs == 1`).
///
/// # Safety
/// The CPU runs `isa` ([`Isa::runs`]); m, n, k ≥ 1; every element named above lies in its
/// allocation, every offset fits in `isize`, and C's elements alias neither each other nor A
/// or B.
#[cfg(target_arch = "x86_64")]
pub(super) unsafe fn gemm_rows(
    isa: Isa,
    dims: (usize, usize, usize),
    a: (*const f32, usize, usize),
    b: (*const f32, usize),
    c: (*mut f32, usize, usize),
) {
    // SAFETY: forwarded (no row table); the CPU runs `isa`.
    unsafe {
        match isa {
            Isa::Avx512 => avx512::gemm_rows(dims, a, (b.0, b.1, std::ptr::null()), c),
            Isa::Avx2 => avx2::gemm_rows(dims, a, (b.0, b.1, std::ptr::null()), c),
        }
    }
}

/// [`gemm_rows`] with B's row p at `b + rows[p]·ldb` (`rows`: k indices): the rows of a
/// mini-batch read where they lie in the data set, with the bits of the same rows copied.
///
/// # Safety
/// As [`gemm_rows`], where `rows` points to k indices and each row `b + rows[p]·ldb` holds
/// the n columns read.
#[cfg(target_arch = "x86_64")]
pub(super) unsafe fn gemm_gathered(
    isa: Isa,
    dims: (usize, usize, usize),
    a: (*const f32, usize, usize),
    b: (*const f32, usize, *const usize),
    c: (*mut f32, usize, usize),
) {
    // SAFETY: forwarded; the CPU runs `isa`.
    unsafe {
        match isa {
            Isa::Avx512 => avx512::gemm_rows(dims, a, b, c),
            Isa::Avx2 => avx2::gemm_rows(dims, a, b, c),
        }
    }
}

/// `dst[j·ldd + i] = src[i][j]` for `i < s`, `j < s·blocks`, s = `isa.transpose_block()`
/// (the first s pointers of `src` are the rows).
///
/// # Safety
/// The CPU runs `isa`; each of the first s pointers of `src` starts a row of at least
/// `s·blocks` values; the elements named lie in their allocations, offsets
/// fit in `isize`, and dst does not overlap a row.
#[cfg(target_arch = "x86_64")]
pub(super) unsafe fn transpose_strip(
    isa: Isa,
    src: &[*const f32; 16],
    dst: *mut f32,
    ldd: usize,
    blocks: usize,
) {
    // SAFETY: forwarded; the CPU runs `isa`.
    unsafe {
        match isa {
            Isa::Avx512 => avx512::transpose_strip(src, dst, ldd, blocks),
            Isa::Avx2 => avx2::transpose_strip(src.first_chunk().expect("16 ≥ 8 rows"), dst, ldd, blocks),
        }
    }
}

/// The product kernel of one instruction set, from the module's primitives: `V` (a vector of
/// `LANES` f32), `Mask`, `zero`, `splat`, `fma`, `mask(tail)` (the first `tail` lanes),
/// `FULL`, `load`/`store` (masked) and `store_all`, with `MR` rows and up to `NV` vectors per
/// tile; `$v` lists the vector counts below NV, `$r` the row counts below MR.
#[cfg(target_arch = "x86_64")]
macro_rules! row_kernel {
    ($feature:literal, vectors $($v:literal)*, rows $($r:literal)*) => {
        /// [`super::gemm_rows`] (`rows` null) or [`super::gemm_gathered`] for this
        /// instruction set.
        ///
        /// # Safety
        /// As those.
        #[target_feature(enable = $feature)]
        pub(super) unsafe fn gemm_rows(
            (m, n, k): (usize, usize, usize),
            (a, ars, acs): (*const f32, usize, usize),
            (b, ldb, rows): (*const f32, usize, *const usize),
            (c, crs, ccs): (*mut f32, usize, usize),
        ) {
            let mut j = 0;
            while j < n {
                let cols = (n - j).min(LANES * NV);
                let nv = cols.div_ceil(LANES);
                // Lanes of the last vector that are columns of C (1..=LANES).
                let tail = cols - LANES * (nv - 1);
                let mut i = 0;
                while i < m {
                    let mr = (m - i).min(MR);
                    // SAFETY: row i of A, column j of B's rows and element (i, j) of C are
                    // elements of the product (i < m, j < n; k ≥ 1), so these pointers stay
                    // inside their allocations; the tile touches only elements of the product.
                    unsafe {
                        let (a, b, c) = (a.add(i * ars), b.add(j), c.add(i * crs + j * ccs));
                        let tile = Tile { k, a, ars, acs, b, ldb, rows, c, crs, ccs, tail, mask: mask(tail) };
                        if rows.is_null() {
                            tile.run::<false>(mr, nv);
                        } else {
                            tile.run::<true>(mr, nv);
                        }
                    }
                    i += mr;
                }
                j += cols;
            }
        }

        /// One tile of [`gemm_rows`]: `rows x (LANES·vectors)` elements of C from its top-left
        /// corner, the last vector's columns limited to `tail` (`mask`).
        #[derive(Clone, Copy)]
        struct Tile {
            k: usize,
            a: *const f32,
            ars: usize,
            acs: usize,
            b: *const f32,
            ldb: usize,
            /// B's row indices (row p at `b + rows[p]·ldb`), or null (row p at `b + p·ldb`).
            rows: *const usize,
            c: *mut f32,
            crs: usize,
            ccs: usize,
            tail: usize,
            mask: Mask,
        }

        impl Tile {
            /// Runs the tile of `rows` (1..=MR) rows and `vectors` (1..=NV) vectors, B's rows
            /// through the row table when `G`.
            ///
            /// # Safety
            /// As [`gemm_rows`], for the tile's elements.
            #[target_feature(enable = $feature)]
            unsafe fn run<const G: bool>(self, rows: usize, vectors: usize) {
                // SAFETY: forwarded.
                unsafe {
                    match vectors {
                        $($v => self.rows::<$v, G>(rows),)*
                        _ => self.rows::<NV, G>(rows),
                    }
                }
            }

            /// # Safety
            /// As [`Tile::run`].
            #[target_feature(enable = $feature)]
            unsafe fn rows<const NVS: usize, const G: bool>(self, rows: usize) {
                // SAFETY: forwarded.
                unsafe {
                    match rows {
                        $($r => self.fixed::<$r, NVS, G>(),)*
                        _ => self.fixed::<MR, NVS, G>(),
                    }
                }
            }

            /// The tile with R rows and NVS vectors, its accumulators in registers.
            ///
            /// # Safety
            /// As [`Tile::run`].
            #[inline]
            #[target_feature(enable = $feature)]
            unsafe fn fixed<const R: usize, const NVS: usize, const G: bool>(self) {
                let lanes = |v: usize| if v + 1 == NVS { self.mask } else { FULL };
                let mut acc = [[zero(); NVS]; R];
                for p in 0..self.k {
                    // SAFETY: p < k, so row p of B (through the table's entry p when G) and
                    // column p of A are the product's; a masked load touches only the lanes
                    // of its mask, all columns of C (< n).
                    unsafe {
                        let row = if G { *self.rows.add(p) } else { p };
                        let bp = self.b.add(row * self.ldb);
                        let mut bv = [zero(); NVS];
                        for (v, x) in bv.iter_mut().enumerate() {
                            *x = load(lanes(v), bp.add(LANES * v));
                        }
                        let ap = self.a.add(p * self.acs);
                        for (r, row) in acc.iter_mut().enumerate() {
                            let x = splat(*ap.add(r * self.ars));
                            for (c, &bv) in row.iter_mut().zip(&bv) {
                                *c = fma(x, bv, *c);
                            }
                        }
                    }
                }
                // SAFETY: (r, LANES·v + lane) for r < R, v < NVS, lanes of the last vector
                // within its mask, are elements of C.
                unsafe {
                    if self.ccs == 1 {
                        for (r, row) in acc.iter().enumerate() {
                            for (v, &x) in row.iter().enumerate() {
                                store(lanes(v), self.c.add(r * self.crs + LANES * v), x);
                            }
                        }
                    } else {
                        // Contiguous columns: each row of the tile goes to C element by element.
                        let cols = LANES * (NVS - 1) + self.tail;
                        let mut row_values = [0.0f32; LANES * NV];
                        for (r, row) in acc.iter().enumerate() {
                            for (v, &x) in row.iter().enumerate() {
                                store_all(row_values.as_mut_ptr().add(LANES * v), x);
                            }
                            for (j, &x) in row_values[..cols].iter().enumerate() {
                                *self.c.add(r * self.crs + j * self.ccs) = x;
                            }
                        }
                    }
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
