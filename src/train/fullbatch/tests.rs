//! Tests of the full-batch objective and methods against references computed here in f64.

use super::objective::{FullGradient, Objective};
use super::*;
use crate::activation::Activation;
use crate::data::Dataset;
use crate::error::Result;
use crate::loss::Loss;
use crate::network::{Arch, Buffers, Network};
use crate::train::Silent;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` rows of `d` features in [-1, 1] with labels from a noisy linear rule (not separable).
fn noisy(n: usize, d: usize, k: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let features: Vec<f32> = (0..n * d).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    let labels: Vec<u32> = features
        .chunks_exact(d)
        .map(|x| {
            let s: f32 = x.iter().enumerate().map(|(j, v)| v * (j as f32 - 1.0)).sum();
            let noise = rng.random_range(-0.8f32..0.8);
            ((s + noise).abs() * 2.0) as u32 % k as u32
        })
        .collect();
    Dataset::classes(&features, d, &labels, Some(k)).unwrap().with_name("noisy")
}

/// The objective (mean loss + (λ/2n)ΣW²) and its gradient at `params`, in f64 through the
/// library's f64 network, one row at a time.
fn reference(arch: &Arch, params: &[f32], data: &Dataset, l2: f64) -> (f64, Vec<f64>) {
    let net = Network::<f64> { arch: arch.clone(), params: params.iter().map(|&p| p as f64).collect() };
    let (n, k) = (data.n_samples(), arch.n_out());
    let mut buf = Buffers::new(arch, 1);
    let (mut loss, mut grad, mut g) = (0.0, vec![0.0; arch.n_params()], vec![0.0; arch.n_params()]);
    let mut y32 = vec![0.0f32; k];
    for r in 0..n {
        let x: Vec<f64> = data.row(r).iter().map(|&v| v as f64).collect();
        data.write_target(r, &mut y32);
        let y: Vec<f64> = y32.iter().map(|&v| v as f64).collect();
        loss += net.forward(&x, 1, Some(&y), &mut buf);
        net.backward(&x, 1, &y, &mut buf, &mut g);
        grad.iter_mut().zip(&g).for_each(|(a, b)| *a += b);
    }
    let mut sq = 0.0;
    for l in 0..arch.n_layers() {
        for i in arch.weight_range(l) {
            sq += net.params[i] * net.params[i];
            grad[i] += l2 * net.params[i];
        }
    }
    grad.iter_mut().for_each(|g| *g /= n as f64);
    // The L2 gradient was added before the division: (Σg + λw)/n = Σg/n + (λ/n)w.
    (loss / n as f64 + l2 / (2.0 * n as f64) * sq, grad)
}

#[test]
fn the_full_batch_gradient_is_the_f64_gradient_and_the_same_bits_on_1_2_3_threads() {
    let data = noisy(203, 6, 3, 1);
    let arch = Arch::new(vec![6, 9, 3], Activation::Tanh, Loss::Xent).unwrap();
    let x = Network::<f32>::init(arch.clone(), 4).params;
    let (want_loss, want) = reference(&arch, &x, &data, 0.7);
    let mut first: Option<Vec<u32>> = None;
    for team in [1, 2, 3] {
        // Shards of 16: 13 shards, the last of 11 rows, summed in the tree.
        let mut net = Network::<f32>::init(arch.clone(), 4);
        let mut obj = FullGradient::new(&mut net, &data, (0.7, None), 16, team);
        let mut grad = vec![f32::NAN; x.len()];
        let e = obj.eval(&x, &mut grad);
        assert!((e.loss - want_loss).abs() < 1e-6 * want_loss, "{} vs {want_loss}", e.loss);
        let scale = want.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        for (i, (&g, &w)) in grad.iter().zip(&want).enumerate() {
            assert!((g as f64 - w).abs() < 1e-5 * scale, "parameter {i}: {g} vs {w}");
        }
        let bits: Vec<u32> = grad.iter().map(|g| g.to_bits()).collect();
        match &first {
            None => first = Some(bits),
            Some(b) => assert_eq!(&bits, b, "team of {team}"),
        }
    }
}

/// The minimum of L2-regularised logistic regression (one sigmoid unit per class, bce: a
/// strictly convex cost) by gradient descent in f64 until the gradient vanishes.
fn logistic_minimum(arch: &Arch, data: &Dataset, l2: f64) -> (f64, Vec<f64>) {
    let mut w = vec![0.0f64; arch.n_params()];
    for _ in 0..20_000 {
        let p: Vec<f32> = w.iter().map(|&v| v as f32).collect();
        // The gradient at the f32 rounding of w is close enough for a fixed point of 1e-6.
        let (_, g) = reference(arch, &p, data, l2);
        w.iter_mut().zip(&g).for_each(|(w, g)| *w -= 2.0 * g);
    }
    let p: Vec<f32> = w.iter().map(|&v| v as f32).collect();
    let (loss, g) = reference(arch, &p, data, l2);
    assert!(g.iter().all(|g| g.abs() < 1e-6), "gradient descent did not converge: {g:?}");
    (loss, w)
}

#[test]
fn cg_and_lbfgs_reach_the_minimum_of_logistic_regression() {
    let data = noisy(120, 3, 2, 7);
    let arch = Arch::new(vec![3, 2], Activation::Sigmoid, Loss::Bce).unwrap();
    let (min_loss, min_w) = logistic_minimum(&arch, &data, 1.0);
    for method in [FullBatchMethod::Cg, FullBatchMethod::Lbfgs { memory: 5 }] {
        let mut net = Network::<f32>::init(arch.clone(), 3);
        let cfg = FullBatchConfig { method, max_iter: 60, l2: 1.0, shard: 32, class_weight: None };
        let out = train_full_batch_on(&mut net, &data, None, &cfg, &mut Silent, 2).unwrap();
        let loss = out.history.last().unwrap().loss;
        assert!((loss - min_loss).abs() < 1e-6, "{method:?}: loss {loss} vs {min_loss}");
        for (i, (&p, &w)) in net.params.iter().zip(&min_w).enumerate() {
            assert!((p as f64 - w).abs() < 1e-3, "{method:?} parameter {i}: {p} vs {w}");
        }
        // Every iteration is a descent (the line search's sufficient decrease).
        assert!(out.history.windows(2).all(|w| w[1].loss <= w[0].loss), "{method:?}");
    }
}

#[test]
fn irprop_minus_adapts_each_step_size_by_the_sign_rule() {
    // One parameter, gradients + + − + 0 −: the rule worked by hand with η+ 1.2, η− 0.5, Δ0 0.1.
    let (mut w, mut d, mut p) = ([1.0f32], [DELTA_0], [0.0f32]);
    let mut trace = Vec::new();
    for g in [0.3f32, 0.2, -0.1, 0.4, 0.0, -0.2] {
        super::rprop::step(&mut w, &[g], &mut d, &mut p);
        trace.push((w[0], d[0], p[0]));
    }
    let want = [
        (1.0 - 0.1, 0.1, 0.3),     // no previous sign: step Δ0 against the gradient
        (0.9 - 0.12, 0.12, 0.2),   // same sign: Δ·1.2, step
        (0.78, 0.06, 0.0),         // sign change: Δ·0.5, no step, forget the sign
        (0.78 - 0.06, 0.06, 0.4),  // after a forgotten sign: Δ kept, step
        (0.72, 0.06, 0.0),         // zero gradient: no step
        (0.72 + 0.06, 0.06, -0.2), // previous 0: Δ kept, step along −sign
    ];
    for (i, ((w, d, p), (ww, wd, wp))) in trace.iter().zip(want).enumerate() {
        assert!((*w as f64 - ww).abs() < 1e-6 && (*d as f64 - wd).abs() < 1e-7, "step {i}: {w} {d}");
        assert_eq!(*p, wp as f32, "step {i}");
    }
    // The bounds: Δ grows to Δmax and shrinks to Δmin, never beyond.
    let (mut w, mut d, mut p) = ([0.0f32], [DELTA_MAX / 1.1], [1.0f32]);
    super::rprop::step(&mut w, &[1.0], &mut d, &mut p);
    assert_eq!(d[0], DELTA_MAX);
    let (mut d, mut p) = ([DELTA_MIN * 1.5], [1.0f32]);
    super::rprop::step(&mut w, &[-1.0], &mut d, &mut p);
    assert_eq!(d[0], DELTA_MIN);
}

#[test]
fn every_method_gives_the_same_bits_on_teams_of_1_2_and_3() {
    let data = noisy(150, 5, 3, 2);
    let arch = Arch::new(vec![5, 7, 3], Activation::Sigmoid, Loss::Bce).unwrap();
    for method in [FullBatchMethod::Cg, FullBatchMethod::Lbfgs { memory: 4 }, FullBatchMethod::Rprop] {
        let cfg = FullBatchConfig { method, max_iter: 12, l2: 0.5, shard: 16, class_weight: None };
        let runs: Vec<(Vec<u32>, Vec<u64>)> = [1, 2, 3]
            .iter()
            .map(|&team| {
                let mut net = Network::<f32>::init(arch.clone(), 9);
                let out = train_full_batch_on(&mut net, &data, None, &cfg, &mut Silent, team).unwrap();
                assert_eq!(out.history.len(), 12, "{method:?}");
                let losses = out.history.iter().map(|m| m.loss.to_bits()).collect();
                (net.params.iter().map(|p| p.to_bits()).collect(), losses)
            })
            .collect();
        assert!(runs.windows(2).all(|r| r[0] == r[1]), "{method:?}");
        // And it learned something.
        let mut net = Network::<f32>::init(arch.clone(), 9);
        let start = reference(&arch, &net.params, &data, 0.5).0;
        let out = train_full_batch(&mut net, &data, None, &cfg, &mut Silent).unwrap();
        assert!(out.history.last().unwrap().loss < start, "{method:?}");
    }
}

/// Stops the run after `stop_after` iterations and keeps every checkpoint it is handed: the
/// network's parameters and the state. (The same through a checkpoint file's bytes is
/// tested in `checkpoint/full_batch_tests.rs`: the library's modules do not import each
/// other both ways, tests included.)
struct Checkpointer {
    stop_after: usize,
    done: usize,
    saved: Vec<(Vec<f32>, FullBatchState)>,
}

impl Observer for Checkpointer {
    fn epoch_end(&mut self, m: &EpochMetrics) {
        self.done = m.epoch;
    }

    fn stop_requested(&mut self) -> bool {
        self.done >= self.stop_after
    }

    fn full_batch_checkpoint(&mut self, net: &Network<f32>, state: &FullBatchState) -> Result<()> {
        self.saved.push((net.params.clone(), state.clone()));
        Ok(())
    }
}

#[test]
fn a_full_batch_run_resumed_from_a_checkpoint_gives_the_bits_of_the_run_straight_through() {
    let data = noisy(150, 5, 3, 2);
    let arch = Arch::new(vec![5, 7, 3], Activation::Sigmoid, Loss::Bce).unwrap();
    let bits = |v: &[f32]| v.iter().map(|p| p.to_bits()).collect::<Vec<_>>();
    let losses = |h: &[EpochMetrics]| h.iter().map(|m| m.loss.to_bits()).collect::<Vec<_>>();
    // Memory 3 < the 7 iterations before the stop: the ring of pairs has wrapped.
    for method in [FullBatchMethod::Cg, FullBatchMethod::Lbfgs { memory: 3 }, FullBatchMethod::Rprop] {
        let cfg = FullBatchConfig { method, max_iter: 12, l2: 0.5, shard: 16, class_weight: None };
        let mut straight = Network::<f32>::init(arch.clone(), 9);
        let want = train_full_batch_on(&mut straight, &data, None, &cfg, &mut Silent, 2).unwrap();
        assert_eq!(want.history.len(), 12, "{method:?}");

        // K = 7 iterations, stopped on request (which checkpoints).
        let mut first = Network::<f32>::init(arch.clone(), 9);
        let mut obs = Checkpointer { stop_after: 7, done: 0, saved: Vec::new() };
        let run = Resumable { start: None, checkpoint_every: None };
        let out = run_full_batch(&mut first, &data, None, &cfg, run, &mut obs, 3).unwrap();
        assert_eq!((out.stop, out.history.len()), (FullBatchStop::Requested, 7), "{method:?}");
        assert_eq!(obs.saved.len(), 1, "{method:?}");
        let (params, state) = obs.saved.pop().unwrap();
        assert_eq!(bits(&params), bits(&first.params), "{method:?}: the checkpoint's weights");
        assert_eq!(state.iterations, 7);
        if let FullBatchMethodState::Lbfgs { steps, .. } = &state.method {
            assert_eq!(steps.len(), 3, "the history is full");
        }

        // N − K = 5 more from a network with the checkpoint's weights, on another team size.
        let mut net = Network::<f32> { arch: arch.clone(), params };
        let run = Resumable { start: Some(state), checkpoint_every: None };
        let rest = run_full_batch(&mut net, &data, None, &cfg, run, &mut Silent, 1).unwrap();
        assert_eq!(rest.stop, FullBatchStop::MaxIter, "{method:?}");
        assert_eq!(bits(&net.params), bits(&straight.params), "{method:?}: the resumed run's weights");
        let joined: Vec<EpochMetrics> = out.history.iter().chain(&rest.history).cloned().collect();
        assert_eq!(losses(&joined), losses(&want.history), "{method:?}: the losses");
        assert_eq!(joined.iter().map(|m| m.epoch).collect::<Vec<_>>(), (1..=12).collect::<Vec<_>>());
        assert_eq!(rest.evaluations, want.evaluations, "{method:?}: the evaluations");
    }
}

#[test]
fn full_batch_checkpoints_come_every_n_iterations_and_after_the_last() {
    let data = noisy(60, 5, 3, 4);
    let arch = Arch::new(vec![5, 4, 3], Activation::Tanh, Loss::Xent).unwrap();
    let cfg = FullBatchConfig {
        method: FullBatchMethod::Rprop,
        max_iter: 12,
        l2: 0.0,
        shard: 16,
        class_weight: None,
    };
    let mut net = Network::<f32>::init(arch.clone(), 1);
    let mut obs = Checkpointer { stop_after: usize::MAX, done: 0, saved: Vec::new() };
    let run = Resumable { start: None, checkpoint_every: Some(5) };
    run_full_batch(&mut net, &data, None, &cfg, run, &mut obs, 1).unwrap();
    assert_eq!(obs.saved.iter().map(|(_, st)| st.iterations).collect::<Vec<_>>(), [5, 10, 12]);
    // The last one is the run's end point.
    assert_eq!(obs.saved[2].0, net.params);
    // A state of another method, or a cadence of 0, is refused before any work.
    let state = obs.saved[0].1.clone();
    let cg = FullBatchConfig { method: FullBatchMethod::Cg, ..cfg.clone() };
    let err = train_full_batch_from(
        &mut net,
        &data,
        None,
        &cg,
        Some(state),
        None,
        &mut Silent,
        crate::Threads::ONE,
    )
    .unwrap_err();
    assert!(err.to_string().contains("of the method rprop, the configuration's is cg"), "{err}");
    let err =
        train_full_batch_from(&mut net, &data, None, &cfg, None, Some(0), &mut Silent, crate::Threads::ONE)
            .unwrap_err();
    assert!(err.to_string().contains("`checkpoint_every`"), "{err}");
}
