//! The GEMM wrapper against a plain f64 triple loop, and the views it must refuse.

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

/// Element (i, j) as the AVX-512 kernel computes it: one fused multiply-add chain over p.
fn fma_chain(a: &MatRef<f32>, b: &MatRef<f32>, i: usize, j: usize) -> f32 {
    (0..a.cols).fold(0.0f32, |s, p| a.data[i * a.rs + p * a.cs].mul_add(b.data[p * b.rs + j * b.cs], s))
}

fn random32(rng: &mut ChaCha8Rng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// `gemm_rows` at the kernel's edges (rows 1-13 around its 6-row tiles; columns around its
/// 16-lane vectors and 64-column tiles), A by rows and by columns, padded strides, slices cut
/// exactly at the last element (so a masked tail ends at the slice's end; an over-read there
/// goes unnoticed natively but is reported when the test runs under Miri): on every
/// instruction set this CPU runs, the bits of a scalar fused multiply-add chain (so AVX2 and
/// AVX-512 machines agree); matrixmultiply's values without one.
#[test]
fn kernel_equals_a_scalar_fma_chain_bit_for_bit() {
    let isas = Isa::ALL.into_iter().filter(|i| i.runs()).map(Some).chain([None]);
    for isa in isas {
        kernel_at_edges(isa);
    }
}

fn kernel_at_edges(isa: Option<Isa>) {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for m in 1..=13usize {
        for &n in &[1usize, 7, 15, 16, 17, 31, 33, 63, 64, 65, 127, 129] {
            for &k in &[0usize, 1, 2, 7, 64, 129] {
                for a_by_rows in [true, false] {
                    let (ars, acs) = if a_by_rows { (k + 3, 1) } else { (1, m + 2) };
                    let a_len = if k == 0 { 0 } else { (m - 1) * ars + (k - 1) * acs + 1 };
                    let adata = random32(&mut rng, a_len);
                    let bdata = random32(&mut rng, if k == 0 { 0 } else { (k - 1) * (n + 5) + n });
                    let a = MatRef::strided(&adata, m, k, ars, acs);
                    let b = MatRef::strided(&bdata, k, n, n + 5, 1);
                    // C by rows (padded) or, when A is by columns, by columns (padded).
                    let (crs, ccs) = if a_by_rows { (n + 1, 1) } else { (1, m + 1) };
                    let mut c = vec![f32::NAN; (m - 1) * crs + (n - 1) * ccs + 1];
                    gemm_rows_on(isa, MatMut::strided(&mut c, m, n, crs, ccs), a, b);
                    for i in 0..m {
                        for j in 0..n {
                            let (got, want) = (c[i * crs + j * ccs], fma_chain(&a, &b, i, j));
                            if isa.is_some() {
                                assert_eq!(
                                    got.to_bits(),
                                    want.to_bits(),
                                    "{isa:?} {m}x{k}x{n} ({i}, {j}) {a_by_rows}"
                                );
                            } else {
                                assert!((got - want).abs() <= 1e-5 * (1.0 + k as f32), "{got} vs {want}");
                            }
                        }
                        if i + 1 < m && a_by_rows {
                            assert!(c[i * crs + n].is_nan(), "the padding between rows is written");
                        }
                    }
                }
            }
        }
    }
}

/// Rows of C computed in blocks, as the trainer's threads compute them, equal the whole
/// product bit for bit (here in f32 and f64, through either implementation).
#[test]
fn blocks_of_rows_equal_the_whole_product_bit_for_bit() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let (m, k, n) = (37, 784, 64);
    let (adata, bdata) = (random32(&mut rng, m * k), random32(&mut rng, k * n));
    let (a, b) = (MatRef::row_major(&adata, m, k), MatRef::row_major(&bdata, k, n));
    let mut whole = vec![0.0f32; m * n];
    gemm_rows(MatMut::row_major(&mut whole, m, n), a, b);
    for block in [1, 5, 6, 8, 13] {
        let mut blocks = vec![0.0f32; m * n];
        for (bi, chunk) in blocks.chunks_mut(block * n).enumerate() {
            let rows = chunk.len() / n;
            gemm_rows(MatMut::row_major(chunk, rows, n), a.sub_rows(bi * block, rows), b);
        }
        assert!(whole.iter().zip(&blocks).all(|(x, y)| x.to_bits() == y.to_bits()), "blocks of {block}");
    }
    let (a64, b64): (Vec<f64>, Vec<f64>) =
        (adata.iter().map(|&x| x as f64).collect(), bdata.iter().map(|&x| x as f64).collect());
    let mut c64 = vec![0.0f64; m * n];
    gemm_rows(
        MatMut::row_major(&mut c64, m, n),
        MatRef::row_major(&a64, m, k),
        MatRef::row_major(&b64, k, n),
    );
    let want = naive(&MatRef::row_major(&a64, m, k), &MatRef::row_major(&b64, k, n));
    assert!(c64.iter().zip(&want).all(|(x, y)| (x - y).abs() < 1e-9));
}

#[test]
#[should_panic(expected = "B's rows and C's rows or columns must be contiguous")]
fn gemm_rows_refuses_a_strided_b() {
    let (a, b) = ([1.0f32; 4], [1.0f32; 4]);
    let mut c = [0.0f32; 4];
    gemm_rows(MatMut::row_major(&mut c, 2, 2), MatRef::row_major(&a, 2, 2), MatRef::row_major(&b, 2, 2).t());
}

/// Through the safe API: a view reaching past its slice is refused before any kernel runs.
#[test]
#[should_panic(expected = "needs 33 elements")]
fn gemm_rows_refuses_a_b_past_its_slice() {
    let (a, b) = ([1.0f32; 2], [1.0f32; 32]);
    let mut c = [0.0f32; 17];
    gemm_rows(
        MatMut::row_major(&mut c, 1, 17),
        MatRef::row_major(&a, 1, 2),
        MatRef::strided(&b, 2, 17, 16, 1),
    );
}

#[test]
fn transpose_matches_a_plain_loop_at_block_edges() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    for &rows in &[1usize, 7, 8, 9, 15, 16, 17, 64, 70] {
        for &cols in &[1usize, 3, 8, 16, 31, 48, 784] {
            let src = random32(&mut rng, rows * (cols + 2));
            // Rows in reverse order from a second copy, as a gather from a data set reads them.
            let gathered = |i: usize| &src[(rows - 1 - i) * (cols + 2)..];
            let isas = Isa::ALL.into_iter().filter(|i| i.runs()).map(Some).chain([None]);
            for (isa, by_rows) in isas.flat_map(|isa| [(isa, true), (isa, false)]) {
                let mut dst = vec![f32::NAN; cols * (rows + 1)];
                let out = MatMut::strided(&mut dst, cols, rows, rows + 1, 1);
                if by_rows {
                    transpose_rows_on(isa, out, gathered);
                } else {
                    transpose_rows_on(isa, out, |i| &src[i * (cols + 2)..]);
                }
                for i in 0..rows {
                    let from = if by_rows { rows - 1 - i } else { i };
                    for j in 0..cols {
                        let (got, want) = (dst[j * (rows + 1) + i], src[from * (cols + 2) + j]);
                        assert_eq!(got.to_bits(), want.to_bits(), "{isa:?} {rows}x{cols}");
                    }
                }
                assert!((0..cols).all(|j| dst[j * (rows + 1) + rows].is_nan()), "padding written");
            }
            // f64, and a column-major destination, element by element.
            let src64: Vec<f64> = src.iter().map(|&x| x as f64).collect();
            let mut dst64 = vec![f64::NAN; cols * rows];
            transpose_rows(MatMut::strided(&mut dst64, cols, rows, 1, cols), |i| &src64[i * (cols + 2)..]);
            assert!((0..rows).all(|i| (0..cols).all(|j| dst64[j + i * cols] == src64[i * (cols + 2) + j])));
        }
    }
}

/// Through the safe API: a row shorter than the transpose needs is refused before any kernel
/// reads it.
#[test]
#[should_panic(expected = "row 17 has 15 values, not 16")]
fn transpose_rows_refuses_a_short_row() {
    let long = [1.0f32; 64];
    let short = [1.0f32; 15];
    let mut dst = vec![0.0f32; 16 * 32];
    transpose_rows(MatMut::row_major(&mut dst, 16, 32), |i| if i == 17 { &short[..] } else { &long[..] });
}

/// `product` in its three forms (B by rows: as it stands; A by columns: as `Cᵀ = Bᵀ·Aᵀ`;
/// neither: matrixmultiply) gives each element's fused multiply-add chain where the kernel
/// runs, and the plain product everywhere.
#[test]
fn product_takes_the_orientation_that_fits() {
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let (m, k, n) = (23, 37, 19);
    let (adata, bdata) = (random32(&mut rng, m * k), random32(&mut rng, k * n));
    for (a_t, b_t) in [(false, false), (true, true), (false, true)] {
        // Stored transposed when flagged, so the view's strides are the transpose's.
        let a = if a_t { MatRef::row_major(&adata, k, m).t() } else { MatRef::row_major(&adata, m, k) };
        let b = if b_t { MatRef::row_major(&bdata, n, k).t() } else { MatRef::row_major(&bdata, k, n) };
        let mut c = vec![f32::NAN; m * n];
        product(MatMut::row_major(&mut c, m, n), a, b);
        let kernel = Isa::detected().is_some() && (!b_t || a_t);
        for i in 0..m {
            for j in 0..n {
                let (got, want) = (c[i * n + j], fma_chain(&a, &b, i, j));
                if kernel {
                    assert_eq!(got.to_bits(), want.to_bits(), "({i}, {j}) a_t {a_t} b_t {b_t}");
                } else {
                    assert!((got - want).abs() < 1e-4, "{got} vs {want}");
                }
            }
        }
    }
}

/// Through the safe API: a transpose of rows without columns (an empty destination) writes
/// nothing, and forms no pointer past the destination (the block loop used to offset it: not
/// observable natively, reported by Miri, which this test is for).
#[test]
fn transpose_rows_of_no_columns_touches_nothing() {
    for isa in Isa::ALL.into_iter().filter(|i| i.runs()).map(Some).chain([None]) {
        let mut dst = [7.0f32; 1];
        transpose_rows_on(isa, MatMut::row_major(&mut dst, 0, 32), |_| &[][..]);
        transpose_rows_on(isa, MatMut::<f32>::row_major(&mut [], 0, 32), |_| &[][..]);
        assert_eq!(dst, [7.0]);
    }
}

/// The products matrixmultiply still runs (`gemm`: the hidden-to-hidden weight gradients
/// `gWᵀ = Aᵀ·D`, a network without hidden layers, CPUs without AVX2 + FMA) are cut into blocks
/// of output rows and columns by the trainer; every block must have the bits it has in the
/// whole product, whatever the cut. This holds for the pinned version (Cargo.toml); a version
/// whose kernels split the k loop by the block's size would fail here before any model changed.
#[test]
fn matrixmultiplys_products_keep_every_bit_under_row_and_column_splits() {
    let mut rng = ChaCha8Rng::seed_from_u64(19);
    // (m, k, n): gradients over a batch of 64 or 200 rows, a wide layer, odd sizes.
    for (m, k, n) in [(128, 64, 784), (256, 200, 128), (33, 64, 1000), (10, 128, 64), (17, 31, 23)] {
        let (adata, bdata) = (random32(&mut rng, k * m), random32(&mut rng, k * n));
        // A is stored transposed (k x m), as a weight gradient reads the deltas.
        let (a, b) = (MatRef::row_major(&adata, k, m).t(), MatRef::row_major(&bdata, k, n));
        let mut whole = vec![f32::NAN; m * n];
        gemm(MatMut::row_major(&mut whole, m, n), a, b, Accum::Overwrite);
        for block in [1, 5, 8, 16, m.div_ceil(2)] {
            let mut rows = vec![f32::NAN; m * n];
            for (bi, chunk) in rows.chunks_mut(block * n).enumerate() {
                let r = chunk.len() / n;
                gemm(MatMut::row_major(chunk, r, n), a.sub_rows(bi * block, r), b, Accum::Overwrite);
            }
            let same = whole.iter().zip(&rows).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "{m}x{k}x{n}: blocks of {block} rows");
            let mut cols = vec![f32::NAN; m * n];
            for j0 in (0..n).step_by(block) {
                let w = block.min(n - j0);
                let bj = MatRef::strided(&bdata[j0..], k, w, n, 1);
                let cj = MatMut::strided(&mut cols[j0..], m, w, n, 1);
                gemm(cj, a, bj, Accum::Overwrite);
            }
            let same = whole.iter().zip(&cols).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "{m}x{k}x{n}: blocks of {block} columns");
        }
    }
}
