//! The one safe wrapper around `matrixmultiply`: `C ← A·B` or `C ← A·B + C` over strided views.
//!
//! This module is the crate's only `unsafe` boundary around matrix memory: the one caller of
//! the raw kernels that [`Scalar::gemm_raw`] forwards to. Views carry their shape and strides;
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
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "gemm: A is {m}x{k} but B is {}x{n}", b.rows);
    assert!(c.rows == m && c.cols == n, "gemm: A·B is {m}x{n} but C is {}x{}", c.rows, c.cols);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_opening_comments_example_holds() {
        let a = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2 x 3
        let w = [1.0f32, 0.0, 1.0, 0.0, 1.0, 0.0]; // 2 x 3, used as wᵀ (3 x 2)
        let mut c = [f32::NAN; 4];
        let (a, w) = (MatRef::row_major(&a, 2, 3), MatRef::row_major(&w, 2, 3).t());
        gemm(MatMut::row_major(&mut c, 2, 2), a, w, Accum::Overwrite);
        assert_eq!(c, [4.0, 2.0, 10.0, 5.0]);
    }
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The obviously-correct reference: f64 triple loop.
    fn naive(a: &MatRef<f64>, b: &MatRef<f64>) -> Vec<f64> {
        let (m, k, n) = (a.rows, a.cols, b.cols);
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0;
                for p in 0..k {
                    s += a.data[i * a.rs + p * a.cs] * b.data[p * b.rs + j * b.cs];
                }
                c[i * n + j] = s;
            }
        }
        c
    }

    fn random(rng: &mut ChaCha8Rng, len: usize) -> Vec<f64> {
        (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    #[test]
    fn matches_naive_for_edge_sizes_transposes_and_strides() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        // 0, 1, kernel block sizes ±1 (matrixmultiply's f32 kernels are 8 or 16 wide).
        let sizes = [0usize, 1, 2, 7, 8, 9, 15, 16, 17, 33];
        for &m in &sizes {
            for &k in &sizes {
                for &n in &[0usize, 1, 9, 17] {
                    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                        // Storage padded by 3 per row to exercise odd strides.
                        let (ar, ac) = if ta { (k, m) } else { (m, k) };
                        let (br, bc) = if tb { (n, k) } else { (k, n) };
                        let adata = random(&mut rng, ar * (ac + 3) + 1);
                        let bdata = random(&mut rng, br * (bc + 3) + 1);
                        let mut a = MatRef::strided(&adata, ar, ac, ac + 3, 1);
                        let mut b = MatRef::strided(&bdata, br, bc, bc + 3, 1);
                        if ta {
                            a = a.t();
                        }
                        if tb {
                            b = b.t();
                        }
                        let want = naive(&a, &b);

                        // f64, overwrite into NaN-filled output: every cell must be written.
                        let mut c = vec![f64::NAN; m * n];
                        gemm(MatMut::row_major(&mut c, m, n), a, b, Accum::Overwrite);
                        for (x, y) in c.iter().zip(&want) {
                            assert!((x - y).abs() < 1e-12, "f64 {m}x{k}x{n} {ta} {tb}: {x} vs {y}");
                        }
                        // Accumulate: C ← A·B + C doubles it.
                        gemm(MatMut::row_major(&mut c, m, n), a, b, Accum::Add);
                        for (x, y) in c.iter().zip(&want) {
                            assert!((x - 2.0 * y).abs() < 1e-12);
                        }

                        // f32 on the same data, column-major output.
                        let a32: Vec<f32> = adata.iter().map(|&x| x as f32).collect();
                        let b32: Vec<f32> = bdata.iter().map(|&x| x as f32).collect();
                        let mut a3 = MatRef::strided(&a32, ar, ac, ac + 3, 1);
                        let mut b3 = MatRef::strided(&b32, br, bc, bc + 3, 1);
                        if ta {
                            a3 = a3.t();
                        }
                        if tb {
                            b3 = b3.t();
                        }
                        let mut c32 = vec![f32::NAN; m * n];
                        gemm(MatMut::strided(&mut c32, m, n, 1, m), a3, b3, Accum::Overwrite);
                        for i in 0..m {
                            for j in 0..n {
                                let (x, y) = (c32[i + j * m] as f64, want[i * n + j]);
                                assert!((x - y).abs() < 1e-4 * (1.0 + k as f64), "f32 {x} vs {y}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "gemm: A is 2x3 but B is 2x2")]
    fn shape_mismatch_panics() {
        let a = [0.0f32; 6];
        let b = [0.0f32; 4];
        let mut c = [0.0f32; 4];
        gemm(
            MatMut::row_major(&mut c, 2, 2),
            MatRef::row_major(&a, 2, 3),
            MatRef::row_major(&b, 2, 2),
            Accum::Overwrite,
        );
    }

    #[test]
    #[should_panic(expected = "needs 7 elements")]
    fn view_outside_slice_panics() {
        let a = [0.0f32; 6];
        let _ = MatRef::strided(&a, 2, 3, 4, 1);
    }

    /// Through the safe API, a view whose last offset wraps around `usize` must be refused:
    /// (2⁶⁴+2)/3 · 3 = 2⁶⁴ + 2 ≡ 2, which an unchecked product would let pass the bounds check
    /// (and the GEMM would then read 2⁶⁴/3 elements past the slice).
    #[test]
    #[should_panic(expected = "overflows the address space")]
    fn wrapping_extent_is_refused() {
        let a = [1.0f32; 3];
        let rs = (1u128 << 64).div_ceil(3); // (2⁶⁴ + 2) / 3
        let view = MatRef::strided(&a, 4, 1, rs as usize, 1);
        let mut c = [0.0f32; 4];
        gemm(MatMut::row_major(&mut c, 4, 1), view, MatRef::row_major(&[1.0f32], 1, 1), Accum::Overwrite);
    }

    #[test]
    #[should_panic(expected = "overflows the address space")]
    fn strides_beyond_isize_are_refused() {
        let mut c = [0.0f32; 1];
        let _ = MatMut::strided(&mut c, 1, 1, usize::MAX, 1);
    }

    #[test]
    #[should_panic(expected = "overflows the address space")]
    fn empty_views_with_huge_strides_are_refused() {
        let a = [0.0f32; 1];
        let _ = MatRef::strided(&a, 0, 5, 1, usize::MAX / 2 + 1);
    }

    #[test]
    fn wide_but_valid_column_major_output_is_accepted() {
        let mut c = [0.0f32; 6];
        let _ = MatMut::strided(&mut c, 2, 3, 1, 2);
        let _ = MatMut::strided(&mut c, 3, 2, 2, 1);
    }

    #[test]
    #[should_panic(expected = "alias")]
    fn aliasing_output_panics() {
        let mut c = [0.0f32; 6];
        let _ = MatMut::strided(&mut c, 2, 3, 1, 1);
    }
}
