//! [`gemm_gathered`]: the bits of [`gemm_rows`] on the same rows copied, at the kernel's
//! edges, and the indices and shapes it must refuse.

use super::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn gathered_rows_give_the_bits_of_the_copied_rows() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (n_rows, width) = (40usize, 150usize);
    let data: Vec<f32> = (0..n_rows * width).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    for m in [1usize, 5, 6, 7, 13] {
        for (first, n) in [(0usize, 1usize), (3, 16), (0, 64), (20, 65), (0, 150)] {
            for k in [1usize, 2, 7, 33] {
                let rows: Vec<usize> = (0..k).map(|_| rng.random_range(0..n_rows)).collect();
                let copied: Vec<f32> = rows
                    .iter()
                    .flat_map(|&r| data[r * width + first..r * width + first + n].to_vec())
                    .collect();
                for a_by_rows in [true, false] {
                    let (ars, acs) = if a_by_rows { (k, 1) } else { (1, m) };
                    let adata: Vec<f32> = (0..m * k).map(|_| rng.random_range(-1.0f32..1.0)).collect();
                    let a = MatRef::strided(&adata, m, k, ars, acs);
                    let (crs, ccs) = if a_by_rows { (n, 1) } else { (1, m) };
                    let (mut want, mut got) = (vec![f32::NAN; m * n], vec![f32::NAN; m * n]);
                    gemm_rows(
                        MatMut::strided(&mut want, m, n, crs, ccs),
                        a,
                        MatRef::row_major(&copied, k, n),
                    );
                    let b = MatRef::strided(&data[first..], n_rows, n, width, 1);
                    gemm_gathered(MatMut::strided(&mut got, m, n, crs, ccs), a, b, &rows);
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(
                        bits(&got),
                        bits(&want),
                        "{m}x{k}x{n} from column {first}, A by rows {a_by_rows}"
                    );
                }
            }
        }
    }
}

#[test]
fn f64_rows_are_gathered_by_the_same_chain() {
    let data = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]; // 3 rows of 2
    let a = [1.0f64, 10.0]; // 1 x 2
    let mut c = [f64::NAN; 2];
    let b = MatRef::row_major(&data, 3, 2);
    gemm_gathered(MatMut::row_major(&mut c, 1, 2), MatRef::row_major(&a, 1, 2), b, &[2, 0]);
    assert_eq!(c, [5.0 + 10.0, 6.0 + 20.0]);
}

#[test]
#[should_panic(expected = "is not below 3")]
fn an_index_past_the_rows_panics() {
    let data = [0.0f32; 6];
    let mut c = [0.0f32; 2];
    let b = MatRef::row_major(&data, 3, 2);
    gemm_gathered(MatMut::row_major(&mut c, 1, 2), MatRef::row_major(&[1.0f32], 1, 1), b, &[3]);
}

#[test]
#[should_panic(expected = "are gathered")]
fn a_row_count_other_than_a_s_columns_panics() {
    let data = [0.0f32; 6];
    let mut c = [0.0f32; 2];
    let b = MatRef::row_major(&data, 3, 2);
    gemm_gathered(MatMut::row_major(&mut c, 1, 2), MatRef::row_major(&[1.0f32, 2.0], 1, 2), b, &[0]);
}
