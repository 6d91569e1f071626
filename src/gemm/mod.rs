//! The safe products over strided views: `C ← A·B` or `C ← A·B + C` by `matrixmultiply`
//! ([`gemm`]), and by the crate's own AVX-512 / AVX2 kernels where the layout fits them
//! ([`gemm_rows`], [`product`]), with the transpose the passes need ([`transpose_rows`]).
//!
//! This module is the crate's only `unsafe` boundary around matrix memory: the one caller of
//! the raw kernels that [`Scalar::gemm_raw`] forwards to and of the `kernel` submodule's.
//! Views carry their shape and strides;
//! a transpose is a stride swap ([`MatRef::t`]), never a copy. Every call checks that the
//! shapes agree and that each view stays inside its slice, and panics (with the caller's
//! location) when they do not: a shape mismatch here is a bug in the caller, not bad input.
//!
//! ```text
//! let a = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2 x 3
//! let w = [1.0f32, 0.0, 1.0, 0.0, 1.0, 0.0]; // 2 x 3, used as wᵀ (3 x 2)
//! let mut c = [f32::NAN; 4];
//! gemm(MatMut::row_major(&mut c, 2, 2), MatRef::row_major(&a, 2, 3), MatRef::row_major(&w, 2, 3).t(), Accum::Overwrite);
//! assert_eq!(c, [4.0, 2.0, 10.0, 5.0]);
//! ```

use crate::scalar::Scalar;
use kernel::Isa;

/// Whether a GEMM overwrites its output or adds into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accum {
    /// `C ← A·B` (C's old contents, even NaN, are ignored).
    Overwrite,
    /// `C ← A·B + C` (the trainer overwrites; the tests check accumulation).
    #[cfg_attr(not(test), allow(dead_code))]
    Add,
}

/// Largest offset touched by a `rows x cols` view with strides `(rs, cs)`: `Ok(None)` if the
/// view is empty, `Err` if the offset (or a stride) does not fit in `isize`, the pointer
/// arithmetic matrixmultiply does. Checked, so no view can wrap around to pass the bounds check.
fn extent(rows: usize, cols: usize, rs: usize, cs: usize) -> Result<Option<usize>, ()> {
    if rs > isize::MAX as usize || cs > isize::MAX as usize {
        return Err(());
    }
    if rows == 0 || cols == 0 {
        return Ok(None);
    }
    let last = (rows - 1)
        .checked_mul(rs)
        .and_then(|r| (cols - 1).checked_mul(cs).and_then(|c| r.checked_add(c)))
        .ok_or(())?;
    if last > isize::MAX as usize {
        return Err(());
    }
    Ok(Some(last))
}

/// A read-only `rows x cols` matrix view: element (i, j) is `data[i*rs + j*cs]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a, T> MatRef<'a, T> {
    /// A dense row-major view of the first `rows*cols` elements of `data`.
    #[track_caller]
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, cols, 1)
    }

    /// A view with explicit row and column strides. Panics if it leaves `data`.
    #[track_caller]
    pub fn strided(data: &'a [T], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        let Ok(extent) = extent(rows, cols, rs, cs) else {
            panic!("gemm view {rows}x{cols} (strides {rs},{cs}) overflows the address space")
        };
        if let Some(last) = extent {
            assert!(
                last < data.len(),
                "gemm view {rows}x{cols} (strides {rs},{cs}) needs {} elements, slice has {}",
                last + 1,
                data.len()
            );
        }
        MatRef { data, rows, cols, rs, cs }
    }

    /// Rows `first..first + n` of the view (a sub-view, no copy). Panics if out of range.
    #[track_caller]
    pub fn sub_rows(self, first: usize, n: usize) -> Self {
        assert!(
            first.checked_add(n).is_some_and(|end| end <= self.rows),
            "gemm: rows {first}+{n} of {}",
            self.rows
        );
        if n == 0 || self.cols == 0 {
            return MatRef { data: &self.data[..0], rows: n, cols: self.cols, rs: self.rs, cs: self.cs };
        }
        // first < rows, so first·rs ≤ the checked extent < data.len().
        MatRef::strided(&self.data[first * self.rs..], n, self.cols, self.rs, self.cs)
    }

    /// The transpose, as a stride swap.
    pub fn t(self) -> Self {
        MatRef { data: self.data, rows: self.cols, cols: self.rows, rs: self.cs, cs: self.rs }
    }
}

/// A mutable `rows x cols` matrix view whose elements never alias each other.
#[derive(Debug)]
pub struct MatMut<'a, T> {
    data: &'a mut [T],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a, T> MatMut<'a, T> {
    /// The transpose, as a stride swap.
    pub fn t(self) -> Self {
        MatMut { data: self.data, rows: self.cols, cols: self.rows, rs: self.cs, cs: self.rs }
    }

    /// A dense row-major view of the first `rows*cols` elements of `data`.
    #[track_caller]
    pub fn row_major(data: &'a mut [T], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, cols, 1)
    }

    /// A view with explicit strides; panics if it leaves `data` or if two elements alias
    /// (the layout must be row-major or column-major, possibly padded).
    #[track_caller]
    pub fn strided(data: &'a mut [T], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        let Ok(extent) = extent(rows, cols, rs, cs) else {
            panic!("gemm output {rows}x{cols} (strides {rs},{cs}) overflows the address space")
        };
        if let Some(last) = extent {
            assert!(
                last < data.len(),
                "gemm output {rows}x{cols} (strides {rs},{cs}) needs {} elements, slice has {}",
                last + 1,
                data.len()
            );
            // The products cannot overflow: (cols-1)·cs and (rows-1)·rs fit, and the
            // comparisons are written so that the last step is the one checked above.
            let row_major = cs >= 1 && (rows == 1 || (rs >= cs && (rs - cs) / cs >= cols - 1));
            let col_major = rs >= 1 && (cols == 1 || (cs >= rs && (cs - rs) / rs >= rows - 1));
            assert!(row_major || col_major, "gemm output strides ({rs},{cs}) alias");
        }
        MatMut { data, rows, cols, rs, cs }
    }
}

/// `(m, k, n)` of `C ← A·B`; panics (at the caller) if A (m, k), B (k, n) and C (m, n) disagree.
#[track_caller]
fn shapes<T>(c: &MatMut<'_, T>, a: &MatRef<'_, T>, b: &MatRef<'_, T>) -> (usize, usize, usize) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "gemm: A is {m}x{k} but B is {}x{n}", b.rows);
    assert!(c.rows == m && c.cols == n, "gemm: A·B is {m}x{n} but C is {}x{}", c.rows, c.cols);
    (m, k, n)
}

/// `C ← A·B` ([`Accum::Overwrite`]) or `C ← A·B + C` ([`Accum::Add`]).
///
/// Shapes: A (m, k), B (k, n), C (m, n). Panics (at the caller) if they disagree.
#[track_caller]
pub fn gemm<T: Scalar>(c: MatMut<'_, T>, a: MatRef<'_, T>, b: MatRef<'_, T>, accum: Accum) {
    gemm_scaled(c, T::one(), a, b, accum)
}

/// `C ← α·A·B` or `C ← α·A·B + C`; see [`gemm`].
#[track_caller]
pub fn gemm_scaled<T: Scalar>(c: MatMut<'_, T>, alpha: T, a: MatRef<'_, T>, b: MatRef<'_, T>, accum: Accum) {
    let (m, k, n) = shapes(&c, &a, &b);
    if m == 0 || n == 0 {
        return;
    }
    let beta = match accum {
        Accum::Overwrite => T::zero(),
        Accum::Add => T::one(),
    };
    // An empty A or B may have a dangling-free but empty slice: point at C instead, it is
    // never read when k == 0.
    let (pa, pb) =
        if k == 0 { (c.data.as_ptr(), c.data.as_ptr()) } else { (a.data.as_ptr(), b.data.as_ptr()) };
    // SAFETY: the constructors checked (with overflow-checked arithmetic) that every view
    // stays inside its slice, that every offset and stride fits in isize, and that C's
    // elements do not alias; the shapes were checked above.
    unsafe {
        T::gemm_raw(
            m,
            k,
            n,
            alpha,
            pa,
            /* rsa = */ a.rs as isize,
            /* csa = */ a.cs as isize,
            pb,
            /* rsb = */ b.rs as isize,
            /* csb = */ b.cs as isize,
            beta,
            c.data.as_mut_ptr(),
            /* rsc = */ c.rs as isize,
            /* csc = */ c.cs as isize,
        );
    }
}

/// `C ← A·B` for a B whose rows are contiguous (column stride 1) and a C whose rows or columns
/// are (panics otherwise, or if the shapes disagree): the trainer's products. On a CPU with
/// AVX-512F or AVX2 + FMA, f32 products run [`kernel::gemm_rows`]: no packing, each element
/// one fused multiply-add chain over k in order, so a block of C's rows has the bits it has
/// within the whole product, on either instruction set. Elsewhere, and for f64, this is
/// [`gemm`] (matrixmultiply), whose blocks of rows also keep their bits. The choice depends
/// only on the CPU and the type.
#[track_caller]
pub fn gemm_rows<T: Scalar>(c: MatMut<'_, T>, a: MatRef<'_, T>, b: MatRef<'_, T>) {
    gemm_rows_on(Isa::detected(), c, a, b)
}

/// [`gemm_rows`] on the kernels of `isa` (a set the CPU runs), or matrixmultiply for None.
#[track_caller]
fn gemm_rows_on<T: Scalar>(isa: Option<Isa>, c: MatMut<'_, T>, a: MatRef<'_, T>, b: MatRef<'_, T>) {
    let (m, k, n) = shapes(&c, &a, &b);
    assert!(
        b.cs == 1 && (c.cs == 1 || c.rs == 1),
        "gemm_rows: B's rows and C's rows or columns must be contiguous"
    );
    let (Some(a32), Some(b32), Some(isa)) = (T::as_f32(a.data), T::as_f32(b.data), isa.filter(|i| i.runs()))
    else {
        return gemm(c, a, b, Accum::Overwrite);
    };
    let Some(c32) = T::as_f32_mut(c.data) else { unreachable!("A, B and C have one element type") };
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        (0..m).for_each(|i| (0..n).for_each(|j| c32[i * c.rs + j * c.cs] = 0.0));
        return;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the CPU runs `isa` (checked just above); m, n, k ≥ 1; the constructors checked
    // (overflow-checked) that every element of each view lies in its slice and every offset
    // fits in isize; B has column stride 1, so element (p, j) is `b + p·rs + j`; C's rows or
    // columns are contiguous as checked above, and its elements do not alias (checked by
    // MatMut), nor A's or B's (a `&mut` slice is unique).
    unsafe {
        kernel::gemm_rows(
            isa,
            (m, n, k),
            (a32.as_ptr(), a.rs, a.cs),
            (b32.as_ptr(), b.rs),
            (c32.as_mut_ptr(), c.rs, c.cs),
        );
    }
}

/// Whether [`gemm_gathered`] runs the crate's kernels here (an f32 product on a CPU with
/// AVX-512F or AVX2 + FMA), rather than its element-by-element chain.
pub(crate) fn gathers_rows() -> bool {
    Isa::detected().is_some()
}

/// `C ← A·B'`, where B' is the rows `rows` of `b` (`k = rows.len()` rows, in that order, each
/// with b's columns contiguous): the product of a mini-batch's rows read where they lie in the
/// data set, without copying them. The bits are those of [`gemm_rows`] on the copied rows (one
/// fused multiply-add chain per element, in p order): on a CPU with AVX-512F or AVX2 + FMA by
/// the same kernel, elsewhere (and for f64) by that chain element by element. Panics if the
/// shapes disagree, an index is not a row of `b`, or the layouts do not fit.
#[track_caller]
pub fn gemm_gathered<T: Scalar>(c: MatMut<'_, T>, a: MatRef<'_, T>, b: MatRef<'_, T>, rows: &[usize]) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(rows.len(), k, "gemm_gathered: A has {k} columns but {} rows are gathered", rows.len());
    assert!(c.rows == m && c.cols == n, "gemm_gathered: A·B is {m}x{n} but C is {}x{}", c.rows, c.cols);
    assert!(rows.iter().all(|&r| r < b.rows), "gemm_gathered: a row index is not below {}", b.rows);
    assert!(
        b.cs == 1 && (c.cs == 1 || c.rs == 1),
        "gemm_gathered: B's rows and C's rows or columns must be contiguous"
    );
    if m == 0 || n == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if let (Some(a32), Some(b32), Some(isa), true) =
        (T::as_f32(a.data), T::as_f32(b.data), Isa::detected(), k > 0)
    {
        let Some(c32) = T::as_f32_mut(c.data) else { unreachable!("A, B and C have one element type") };
        // SAFETY: the CPU runs `isa` (detected); m, n, k ≥ 1; the constructors checked
        // (overflow-checked) that every element of each view lies in its slice and every
        // offset fits in isize; each gathered index is a row of b (checked above), so row
        // `rows[p]` of B at `b + rows[p]·rs` holds the n columns read (column stride 1); `rows`
        // holds k indices; C's rows or columns are contiguous (checked) and its elements alias
        // nothing else (a `&mut` slice).
        unsafe {
            kernel::gemm_gathered(
                isa,
                (m, n, k),
                (a32.as_ptr(), a.rs, a.cs),
                (b32.as_ptr(), b.rs, rows.as_ptr()),
                (c32.as_mut_ptr(), c.rs, c.cs),
            );
        }
        return;
    }
    for i in 0..m {
        for j in 0..n {
            let chain = rows.iter().enumerate().fold(T::zero(), |acc, (p, &r)| {
                a.data[i * a.rs + p * a.cs].mul_add(b.data[r * b.rs + j], acc)
            });
            c.data[i * c.rs + j * c.cs] = chain;
        }
    }
}

/// `C ← A·B` by [`gemm_rows`] in whichever orientation its layout fits: as it stands when B's
/// rows are contiguous, or as `Cᵀ = Bᵀ·Aᵀ` when A's columns are (the same products, as a
/// product of two floats does not depend on their order, so the same values, NaN payloads
/// aside); by [`gemm`]
/// (overwriting C) when neither fits. The choice follows the views' strides, which each call
/// site of the passes fixes for all its blocks.
#[track_caller]
pub fn product<T: Scalar>(c: MatMut<'_, T>, a: MatRef<'_, T>, b: MatRef<'_, T>) {
    let c_fits = c.cs == 1 || c.rs == 1;
    if b.cs == 1 && c_fits {
        gemm_rows(c, a, b)
    } else if a.rs == 1 && c_fits {
        gemm_rows(c.t(), b.t(), a.t())
    } else {
        gemm(c, a, b, Accum::Overwrite)
    }
}

/// `dst[j, i] ← row(i)[j]` for the `dst.cols` rows `row(0), row(1), ...` (each at least
/// `dst.rows` long; panics otherwise): the transpose of rows that need not lie at a fixed
/// stride, such as the rows of a mini-batch in a data set. With AVX-512F or AVX2, f32 and
/// contiguous rows in dst, by square blocks in registers ([`kernel::transpose_strip`]); the
/// ragged edges and other cases element by element.
#[track_caller]
pub fn transpose_rows<'r, T: Scalar>(dst: MatMut<'_, T>, row: impl Fn(usize) -> &'r [T]) {
    transpose_rows_on(Isa::detected(), dst, row)
}

/// [`transpose_rows`] on the kernels of `isa` (a set the CPU runs), or element by element for
/// None.
#[track_caller]
fn transpose_rows_on<'r, T: Scalar>(isa: Option<Isa>, dst: MatMut<'_, T>, row: impl Fn(usize) -> &'r [T]) {
    let (rows, cols) = (dst.cols, dst.rows);
    let checked = |i: usize| {
        let r = row(i);
        assert!(r.len() >= cols, "transpose: row {i} has {} values, not {cols}", r.len());
        r
    };
    // The whole s x s blocks go to the kernel (none when rows or cols < s: then no pointer
    // into dst is formed).
    let (mut done_rows, mut done_cols) = (0, 0);
    #[cfg(target_arch = "x86_64")]
    if let (Some(isa), true, Some(d32)) =
        (isa.filter(|i| i.runs()), dst.cs == 1, T::as_f32_mut(&mut *dst.data))
        && rows >= isa.transpose_block()
        && cols >= isa.transpose_block()
    {
        let s = isa.transpose_block();
        (done_rows, done_cols) = (rows / s * s, cols / s * s);
        for i in (0..done_rows).step_by(s) {
            let mut from = [std::ptr::null::<f32>(); 16];
            for (r, p) in from.iter_mut().take(s).enumerate() {
                *p = T::as_f32(checked(i + r)).expect("one element type").as_ptr();
            }
            // SAFETY: the CPU runs `isa`; each of the s rows holds at least cols ≥ done_cols
            // values (checked); dst's elements (0..done_cols, i..i + s) lie in its view
            // (i + s ≤ rows), which its constructor checked against the slice, with unit
            // column stride; dst is a `&mut` slice, so it overlaps no row.
            unsafe {
                kernel::transpose_strip(isa, &from, d32.as_mut_ptr().add(i), dst.rs, done_cols / s);
            }
        }
    }
    // The rest: columns right of the blocks, then rows below them.
    for i in 0..rows {
        let (r, first) = (checked(i), if i < done_rows { done_cols } else { 0 });
        for (j, &x) in r.iter().enumerate().take(cols).skip(first) {
            dst.data[j * dst.rs + i * dst.cs] = x;
        }
    }
}

#[cfg(test)]
mod gathered_tests;
mod kernel;
#[cfg(test)]
mod tests;
