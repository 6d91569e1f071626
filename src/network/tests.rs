//! Tests of the network's passes: blocked against serial, bit for bit; the layout; init.

use super::*;
use crate::loss::Output;
use crate::split::Split;
use crate::team::Team;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub(super) fn bits<T: Scalar>(v: &[T]) -> Vec<u64> {
    v.iter().map(|x| x.to_f64().unwrap_or(f64::NAN).to_bits()).collect()
}

/// A network of `arch` from a seed `rng` draws, `rows` inputs in [−2, 2) and one-hot targets.
pub(super) fn random_case(
    rng: &mut ChaCha8Rng,
    arch: &Arch,
    rows: usize,
) -> (Network<f32>, Vec<f32>, Vec<f32>) {
    let (n_in, n_out) = (arch.n_in(), arch.n_out());
    let net = Network::<f32>::init(arch.clone(), rng.random());
    let x: Vec<f32> = (0..rows * n_in).map(|_| rng.random_range(-2.0..2.0)).collect();
    let mut y = vec![0.0f32; rows * n_out];
    (0..rows).for_each(|r| y[r * n_out + rng.random_range(0..n_out)] = 1.0);
    (net, x, y)
}

/// The trainer's pair [`Network::forward_with`] + [`backward_from_deltas`] (parameters only
/// read) cut for `split`, each row weighted by `weight` when given: the loss and gradient.
pub(super) fn trainer_gradient(
    net: &Network<f32>,
    (x, y, rows): (&[f32], &[f32], usize),
    split: Split<'_>,
    weight: Option<&(dyn Fn(usize) -> f32 + Sync)>,
) -> (f64, Vec<f32>) {
    let arch = &net.arch;
    let (mut buf, mut grad) = (Buffers::new(arch, rows), vec![0.0f32; arch.n_params()]);
    let loss = net.forward_with(x, rows, Some(y), &mut buf, split, Deltas::Backward(weight), false);
    backward_from_deltas(arch, Params::Read(&net.params), Input::Rows(x), rows, &mut buf, &mut grad, split);
    (loss, grad)
}

/// Every blocked GEMM the trainer runs (forward by units and by samples, weight gradients
/// and input deltas by input units, with and without the fused update) gives the bits of
/// the unblocked pass, at edge sizes (1, 7, 31, 33, 127, 129 units and rows, blocks of 8
/// and ragged last blocks) and for any number of blocks.
#[test]
fn blocked_passes_equal_the_unblocked_pass_bit_for_bit() {
    let sizes = [1usize, 7, 31, 33, 127, 129];
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let teams: Vec<Team> = (0..=16).map(|t| Team::new(t.clamp(1, 4))).collect();
    let mut cases = 0;
    for (i, &w) in sizes.iter().enumerate() {
        let other = sizes[(i + 2) % sizes.len()];
        for (arch_sizes, act, loss, output) in [
            (vec![other, w, 9], Activation::Sigmoid, Loss::Xent, Output::Softmax),
            (vec![w, other, w, 3], Activation::Relu, Loss::Mse, Output::Sigmoid),
            (vec![w, 33, w], Activation::Tanh, Loss::Bce, Output::Sigmoid),
            (vec![w, w], Activation::Tanh, Loss::Xent, Output::Softmax),
            (vec![w, other, 5], Activation::Relu, Loss::Mse, Output::Linear),
        ] {
            for rows in [1usize, 7, 33, 64] {
                let arch = Arch::new(arch_sizes.clone(), act, loss).unwrap().with_output(output).unwrap();
                let (net, x, y) = random_case(&mut rng, &arch, rows);
                let run = |split: Split<'_>| {
                    let mut buf = Buffers::new(&arch, rows);
                    buf.acts.iter_mut().chain(buf.deltas.iter_mut()).for_each(|a| a.fill(f32::NAN));
                    let loss =
                        net.forward_with(&x, rows, Some(&y), &mut buf, split, Deltas::Backward(None), false);
                    let mut grad = vec![f32::NAN; arch.n_params()];
                    let mut params = net.params.clone();
                    let mut state = vec![0.5f32; arch.n_params()];
                    let update = |r: Range<usize>, is_w: bool, p: &mut [f32], s: &mut [f32], g: &[f32]| {
                        assert_eq!(p.len(), r.len());
                        for ((p, s), g) in p.iter_mut().zip(s.iter_mut()).zip(g) {
                            *s = 0.9 * *s - 0.1 * g;
                            *p += if is_w { *s } else { 2.0 * *s };
                        }
                    };
                    let mut plain = vec![f32::NAN; arch.n_params()];
                    let mut buf2 = buf.clone();
                    backward_from_deltas(
                        &arch,
                        Params::Read(&net.params),
                        Input::Rows(&x),
                        rows,
                        &mut buf2,
                        &mut plain,
                        split,
                    );
                    let p =
                        Params::Update { params: &mut params, state: &mut state, stride: 1, update: &update };
                    backward_from_deltas(&arch, p, Input::Rows(&x), rows, &mut buf, &mut grad, split);
                    assert_eq!(bits(&plain), bits(&grad), "read and update passes differ");
                    (
                        loss.to_bits(),
                        bits(&buf.acts.concat()),
                        bits(&buf.deltas.concat()),
                        bits(&grad),
                        bits(&params),
                    )
                };
                let serial = run(Split::serial());
                for (threads, team) in teams.iter().enumerate().skip(2) {
                    // Cut for `threads` threads, run on a team of up to 4 (oversubscribed).
                    let split = Split { min_work: 1, threads, ..Split::team(team) };
                    let blocked = run(split);
                    let ctx = format!("{arch_sizes:?} {act}/{loss} rows {rows} threads {threads}");
                    assert!(serial.0 == blocked.0, "loss: {ctx}");
                    assert!(serial.1 == blocked.1, "activations: {ctx}");
                    assert!(serial.2 == blocked.2, "deltas: {ctx}");
                    assert!(serial.3 == blocked.3, "gradient: {ctx}");
                    assert!(serial.4 == blocked.4, "updated parameters: {ctx}");
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 6 * 5 * 4 * 15);
}

#[test]
fn a_backward_pass_over_no_rows_gives_a_zero_gradient() {
    let arch = Arch::new(vec![2, 3, 2], Activation::Tanh, Loss::Xent).unwrap();
    let net = Network::<f64>::init(arch.clone(), 1);
    let mut buf = Buffers::new(&arch, 4);
    assert_eq!(net.forward(&[], 0, Some(&[]), &mut buf), 0.0);
    let mut grad = vec![f64::NAN; arch.n_params()];
    net.backward(&[], 0, &[], &mut buf, &mut grad);
    assert!(grad.iter().all(|&g| g == 0.0), "{grad:?}");
}

#[test]
fn the_default_cut_of_the_reference_network_busies_16_threads() {
    let arch = Arch::new(vec![784, 128, 10], Activation::Sigmoid, Loss::Xent).unwrap();
    let phases = phase_tasks(&arch, 64, Split::threads(16));
    let get = |name: &str| phases.iter().find(|(n, _)| n == name).map(|p| p.1).unwrap();
    // The phases of the 128-unit layer: 16 tasks or more. (The 10-unit output layer's
    // 82k multiply-adds make a few tasks of at least MIN_TASK_WORK.)
    assert!(get("forward 1") >= 16 && get("backward 1+2") >= 16 + 2, "{phases:?}");
    assert!(get("forward 2") >= 2, "{phases:?}");
    assert_eq!(phase_tasks(&arch, 64, Split::threads(1)).iter().map(|p| p.1).max(), Some(2));
}

#[test]
fn layout_and_ranges() {
    let arch = Arch::new(vec![4, 3, 2], Activation::Relu, Loss::Xent).unwrap();
    assert_eq!(arch.n_params(), 4 * 3 + 3 + 3 * 2 + 2);
    assert_eq!(arch.weight_range(0), 0..12);
    assert_eq!(arch.bias_range(0), 12..15);
    assert_eq!(arch.weight_range(1), 15..21);
    assert_eq!(arch.bias_range(1), 21..23);
    assert!(Arch::new(vec![4], Activation::Relu, Loss::Xent).is_err());
    assert!(Arch::new(vec![4, 0, 2], Activation::Relu, Loss::Xent).is_err());
    assert!(Arch::new(vec![400, 100_000_000, 10], Activation::Relu, Loss::Xent).is_err());
    assert!(Arch::new(vec![4, usize::MAX, 2], Activation::Relu, Loss::Xent).is_err());
}

#[test]
fn from_layers_and_weight_round_trip_the_usual_layout() {
    let arch = Arch::new(vec![3, 2], Activation::Relu, Loss::Mse).unwrap();
    let w = vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2 x 3
    let net = Network::from_layers(arch, &[(w.clone(), vec![7.0, 8.0])]).unwrap();
    assert_eq!(net.params, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
    assert_eq!(net.weight(0), w);
}

#[test]
fn init_is_seeded_and_biases_are_zero() {
    let arch = Arch::new(vec![5, 4, 3], Activation::Tanh, Loss::Xent).unwrap();
    let a = Network::<f32>::init(arch.clone(), 9);
    assert_eq!(a, Network::<f32>::init(arch.clone(), 9));
    assert_ne!(a, Network::<f32>::init(arch.clone(), 10));
    assert!(a.params[arch.bias_range(0)].iter().all(|&b| b == 0.0));
    let eps = (6.0f32 / 9.0).sqrt();
    assert!(a.params[arch.weight_range(0)].iter().all(|&w| w.abs() <= eps));
}

/// The bits a forward and backward pass leave behind: the losses, the outputs, activations and
/// deltas of the rows used, the gradients, and the parameters and velocities after an update.
type Outcome = Vec<(&'static str, Vec<u64>)>;

/// Everything the passes compute for `rows` samples with workspaces of `capacity` rows,
/// which start filled with `poison` (every workspace and gradient cell; `None`: fresh, as
/// [`Buffers::new`] and `vec![0; n]` leave them): a prediction ([`Network::forward`] without
/// targets), the public serial pair [`Network::forward`] + [`Network::backward`], then the
/// trainer's pair [`Network::forward_with`] + [`backward_from_deltas`] cut for `split`, once
/// reading the parameters and once updating them, each on its own workspaces.
fn passes<T: Scalar>(
    net: &Network<T>,
    (x, y, rows, capacity): (&[T], &[T], usize, usize),
    split: Split<'_>,
    poison: Option<T>,
) -> Outcome {
    let arch = &net.arch;
    let buffers = || {
        let mut buf = Buffers::new(arch, capacity);
        if let Some(p) = poison {
            buf.acts.iter_mut().chain(buf.deltas.iter_mut()).for_each(|a| a.fill(p));
            buf.row_loss.fill(p.to_f64().unwrap_or(f64::NAN));
        }
        buf
    };
    let gradient = || vec![poison.unwrap_or(T::zero()); arch.n_params()];
    let activations =
        |buf: &Buffers<T>| (0..arch.n_layers()).flat_map(|l| bits(buf.activations(l, rows))).collect();
    let deltas = |buf: &Buffers<T>| {
        arch.sizes()[1..].iter().zip(&buf.deltas).flat_map(|(&n, d)| bits(&d[..n * rows])).collect()
    };
    let mut out = Outcome::new();

    let mut buf = buffers();
    let loss = net.forward(x, rows, None, &mut buf);
    out.push(("predict: loss and outputs", [bits(&[loss]), bits(buf.output(rows))].concat()));

    let (mut buf, mut grad) = (buffers(), gradient());
    let loss = net.forward(x, rows, Some(y), &mut buf);
    net.backward(x, rows, y, &mut buf, &mut grad);
    out.extend([("forward: loss", bits(&[loss])), ("forward: activations", activations(&buf))]);
    out.extend([("backward: deltas", deltas(&buf)), ("backward: gradient", bits(&grad))]);

    let (mut buf, mut grad) = (buffers(), gradient());
    let loss = net.forward_with(x, rows, Some(y), &mut buf, split, Deltas::Backward(None), false);
    // The fused update runs on a copy of the forward's workspaces (hidden deltas still poisoned).
    let mut buf_update = buf.clone();
    backward_from_deltas(arch, Params::Read(&net.params), Input::Rows(x), rows, &mut buf, &mut grad, split);
    assert_eq!(out[4].1, bits(&grad), "the trainer's passes and the public pair differ in the gradient");
    out.extend([("forward_with: loss", bits(&[loss])), ("forward_with: activations", activations(&buf))]);
    out.extend([("blocked backward: deltas", deltas(&buf)), ("blocked backward: gradient", bits(&grad))]);

    let (mut params, mut state, mut grad) =
        (net.params.clone(), vec![T::of(0.25); arch.n_params()], gradient());
    let update = |_: Range<usize>, is_w: bool, p: &mut [T], s: &mut [T], g: &[T]| {
        for ((p, s), &g) in p.iter_mut().zip(s.iter_mut()).zip(g) {
            *s = T::of(0.9) * *s - T::of(0.1) * g;
            *p += if is_w { *s } else { *s + *s };
        }
    };
    let p = Params::Update { params: &mut params, state: &mut state, stride: 1, update: &update };
    backward_from_deltas(arch, p, Input::Rows(x), rows, &mut buf_update, &mut grad, split);
    out.extend([("update: deltas", deltas(&buf_update)), ("update: gradient", bits(&grad))]);
    out.extend([("update: parameters", bits(&params)), ("update: velocities", bits(&state))]);
    if let (Some(p), true) = (poison, rows < capacity) {
        // The cells past the rows used are never touched: the poison did go in.
        let tail = &buf_update.deltas[0][rows * arch.sizes()[1]..];
        assert!(bits(tail).iter().all(|&b| b == bits(&[p])[0]), "the poison is gone");
    }
    out
}

/// Asserts that two outcomes are the same, naming the first result that differs.
fn assert_same(got: &Outcome, want: &Outcome, ctx: &str) {
    assert_eq!(got.len(), want.len());
    for ((name, got), (_, want)) in got.iter().zip(want) {
        assert!(got == want, "{name} differs from the fresh workspaces' for {ctx}");
    }
}

/// STYLE.md 10 (matrixmultiply's NaN-filled outputs): the workspaces and gradient outputs of
/// every pass are written before they are read, so filling them with NaN (or with a finite
/// value, which `max` and comparisons cannot swallow the way they swallow NaN) before a pass
/// changes no bit of any result. For every activation and loss, serial and blocked, f32 and
/// f64, at a full batch, a short last batch (37 rows of 64, ragged blocks) and a single row.
#[test]
fn poisoned_workspaces_change_no_bit() {
    let team = Team::new(3);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut cases = 0;
    for act in Activation::ALL {
        for (loss, output) in Loss::ALL.into_iter().flat_map(|l| l.outputs().iter().map(move |&o| (l, o))) {
            for (sizes, capacity, rows) in
                [(vec![20, 33, 10], 16, 16), (vec![13, 33, 17, 4], 64, 37), (vec![9, 40, 3], 8, 1)]
            {
                let arch = Arch::new(sizes.clone(), act, loss).unwrap().with_output(output).unwrap();
                let (n_in, n_out) = (arch.n_in(), arch.n_out());
                let x: Vec<f64> = (0..rows * n_in).map(|_| rng.random_range(-2.0..2.0)).collect();
                let mut y = vec![0.0f64; rows * n_out];
                for r in 0..rows {
                    y[r * n_out + rng.random_range(0..n_out)] = 1.0;
                }
                let (x32, y32): (Vec<f32>, Vec<f32>) =
                    (x.iter().map(|&v| v as f32).collect(), y.iter().map(|&v| v as f32).collect());
                let seed = rng.random();
                let blocked = Split { min_work: 1, threads: 3, ..Split::team(&team) };
                for split in [Split::serial(), blocked] {
                    let ctx = format!(
                        "{sizes:?} {act}/{loss}/{output}, rows {rows} of {capacity}, {} threads",
                        split.threads
                    );
                    let net = Network::<f64>::init(arch.clone(), seed);
                    let data = (&x[..], &y[..], rows, capacity);
                    let fresh = passes(&net, data, split, None);
                    for poison in [f64::NAN, 12345.0] {
                        assert_same(
                            &passes(&net, data, split, Some(poison)),
                            &fresh,
                            &format!("f64 {poison}, {ctx}"),
                        );
                    }
                    let net = Network::<f32>::init(arch.clone(), seed);
                    let data = (&x32[..], &y32[..], rows, capacity);
                    let fresh = passes(&net, data, split, None);
                    for poison in [f32::NAN, 12345.0] {
                        assert_same(
                            &passes(&net, data, split, Some(poison)),
                            &fresh,
                            &format!("f32 {poison}, {ctx}"),
                        );
                    }
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 3 * 4 * 3 * 2);
}
