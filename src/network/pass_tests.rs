//! Tests of the trainer's passes against the public serial ones, bit for bit: inference by
//! rows, the deltas under the output layer computed in its forward phase (with class weights,
//! at many rows and wide layers, where each product must keep its routine).

use super::tests::{bits, random_case, trainer_gradient};
use super::*;
use crate::split::Split;
use crate::team::Team;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Inference by rows ([`RowNet`]) gives [`Network::forward`]'s outputs and loss bit for bit,
/// for every activation, loss and output, networks with and without hidden layers, and block
/// sizes at the kernels' edges (where the kernels do not run, there is no `RowNet`).
#[test]
fn inference_by_rows_equals_the_forward_pass_bit_for_bit() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut cases = 0;
    for (arch_sizes, act, loss, output) in [
        (vec![37, 65, 10], Activation::Relu, Loss::Xent, Output::Softmax),
        (vec![784, 128, 10], Activation::Sigmoid, Loss::Xent, Output::Softmax),
        (vec![5, 130, 7, 3], Activation::Tanh, Loss::Mse, Output::Sigmoid),
        (vec![9, 33, 1], Activation::Relu, Loss::Bce, Output::Sigmoid),
        (vec![20, 4], Activation::Sigmoid, Loss::Mse, Output::Linear),
        // Wider than 256 (matrixmultiply's block of k): hidden layers, and none (no RowNet).
        (vec![300, 270, 260, 3], Activation::Relu, Loss::Xent, Output::Softmax),
        (vec![784, 10], Activation::Relu, Loss::Xent, Output::Softmax),
    ] {
        let arch = Arch::new(arch_sizes, act, loss).unwrap().with_output(output).unwrap();
        let (n_in, n_out) = (arch.n_in(), arch.n_out());
        let net = Network::<f32>::init(arch.clone(), rng.random());
        let Some(by_rows) = RowNet::new(&net) else {
            assert!(arch.n_layers() == 1 || !crate::gemm::gathers_rows(), "{:?}", arch.sizes());
            continue;
        };
        // One set of buffers for every block size, as a thread of an evaluation uses them.
        let mut rows_buf = by_rows.buffers(256);
        for rows in [1usize, 5, 6, 7, 64, 67, 256, 3] {
            let x: Vec<f32> = (0..rows * n_in).map(|_| rng.random_range(-3.0..3.0)).collect();
            let y: Vec<f32> = (0..rows * n_out).map(|_| rng.random_range(0.0..1.0)).collect();
            let mut buf = Buffers::new(&arch, rows);
            let expected = net.forward(&x, rows, Some(&y), &mut buf);
            let got = by_rows.forward(&x, rows, Some(&y), &mut rows_buf);
            assert_eq!(got.to_bits(), expected.to_bits(), "loss of {:?}, {rows} rows", arch.sizes());
            let (got, want) = (bits(rows_buf.output(rows)), bits(buf.output(rows)));
            assert_eq!(got, want, "{:?}, {rows} rows", arch.sizes());
            cases += 1;
        }
    }
    assert!(cases == 40 || !crate::gemm::gathers_rows(), "{cases}");
}

/// The trainer's passes with each row's loss and deltas weighted (class weights): the output
/// deltas weighted in the output layer's forward phase, from which the layer below takes its
/// deltas there, give the gradient of the public serial pass on deltas weighted afterwards
/// (as the trainer weighted them before the deltas below moved into the forward phase).
#[test]
fn weighted_rows_give_the_gradient_of_deltas_weighted_after_the_forward_pass() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let team = Team::new(3);
    let split = Split { min_work: 1, threads: 3, ..Split::team(&team) };
    for (sizes, act, loss) in [
        (vec![13, 9, 4], Activation::Sigmoid, Loss::Xent),
        (vec![6, 17, 5, 3], Activation::Relu, Loss::Mse),
        (vec![7, 3], Activation::Tanh, Loss::Xent),
    ] {
        let arch = Arch::new(sizes, act, loss).unwrap();
        let (n_out, rows) = (arch.n_out(), 37);
        let (net, x, y) = random_case(&mut rng, &arch, rows);
        let weights: Vec<f32> = (0..rows).map(|_| rng.random_range(0.1..3.0)).collect();
        let weight = |i: usize| weights[i];
        let (loss, grad) = trainer_gradient(&net, (&x, &y, rows), split, Some(&weight));
        // The reference: the plain forward pass, then its output deltas weighted row by row.
        let (mut reference, mut expected) = (Buffers::new(&arch, rows), vec![0.0f32; arch.n_params()]);
        net.forward(&x, rows, Some(&y), &mut reference);
        let l = arch.n_layers() - 1;
        let mut weighted_loss = 0.0;
        for i in 0..rows {
            let out = reference.acts[l][i * n_out..(i + 1) * n_out].to_vec();
            let d = &mut reference.deltas[l][i * n_out..(i + 1) * n_out];
            arch.loss.delta_row(arch.output(), &out, &y[i * n_out..(i + 1) * n_out], d);
            d.iter_mut().for_each(|d| *d = crate::scalar::flush(*d * weights[i]));
            weighted_loss += reference.row_loss[i] * weights[i] as f64;
        }
        let read = Params::Read(&net.params);
        backward_from_deltas(&arch, read, Input::Rows(&x), rows, &mut reference, &mut expected, split);
        assert_eq!(loss.to_bits(), weighted_loss.to_bits(), "{:?}", arch.sizes());
        assert_eq!(bits(&grad), bits(&expected), "{:?}", arch.sizes());
    }
}

/// The trainer's passes (the deltas under the output layer computed in its forward phase)
/// give the public serial pair's gradient bit for bit at more than 256 rows and with layers
/// wider than 256, where matrixmultiply's sums (blocks of 256) and the kernel's chains differ:
/// each product keeps the routine it had before the deltas moved.
#[test]
fn the_trainers_passes_keep_each_products_routine_at_many_rows_and_wide_layers() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let team = Team::new(3);
    let cases = [
        (vec![5, 7, 6, 3], 300),
        (vec![5, 7, 6, 3], 600),
        (vec![20, 300, 4], 300),
        (vec![9, 270, 260, 3], 40),
    ];
    for (sizes, rows) in cases {
        let arch = Arch::new(sizes, Activation::Tanh, Loss::Xent).unwrap();
        let (net, x, y) = random_case(&mut rng, &arch, rows);
        let (mut buf, mut expected) = (Buffers::new(&arch, rows), vec![0.0f32; arch.n_params()]);
        net.forward(&x, rows, Some(&y), &mut buf);
        net.backward(&x, rows, &y, &mut buf, &mut expected);
        for split in [Split::serial(), Split { min_work: 1, threads: 3, ..Split::team(&team) }] {
            let (_, grad) = trainer_gradient(&net, (&x, &y, rows), split, None);
            let ctx = format!("{:?}, {rows} rows, {} threads", arch.sizes(), split.threads);
            assert_eq!(bits(&grad), bits(&expected), "{ctx}");
        }
    }
}
