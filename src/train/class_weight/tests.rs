//! Class weights against references computed here: the weighted gradient of a tiny 9:1
//! two-class set by per-sample textbook backprop in f64, through the full-batch objective and
//! the mini-batch step, on 1, 2 and 3 threads.

use super::super::fullbatch::{TestGradient, TestObjective};
use super::*;
use crate::activation::Activation;
use crate::loss::Loss;
use crate::network::{Arch, Network};
use crate::optim::Optimizer;
use crate::train::{TrainConfig, Trainer};

/// Ten rows of two features, nine of class 0 and one of class 1 (which sits among them).
fn nine_to_one() -> Dataset {
    let features: Vec<f32> =
        (0..10).flat_map(|i| [i as f32 / 9.0 - 0.5, ((i * 7) % 10) as f32 / 10.0 - 0.4]).collect();
    let mut labels = vec![0; 10];
    labels[6] = 1;
    Dataset::classes(&features, 2, &labels, Some(2)).unwrap().with_name("nine-to-one")
}

/// The objective Σ_i w_{c(i)}·L_i / n + (λ/2n)·ΣW² of a 2-3-2 tanh/softmax network and its
/// gradient, by textbook backprop one sample at a time in f64:
/// h = tanh(W1 x + b1), p = softmax(W2 h + b2), L = −log p_y;
/// δ2 = w·(p − y), ∂W2 = δ2 hᵀ, ∂b2 = δ2; δ1 = (W2ᵀ δ2) ⊙ (1 − h²), ∂W1 = δ1 xᵀ, ∂b1 = δ1.
fn textbook(arch: &Arch, params: &[f32], data: &Dataset, weights: &[f32], l2: f64) -> (f64, Vec<f64>) {
    let p: Vec<f64> = params.iter().map(|&v| v as f64).collect();
    let (w1, b1, w2, b2) =
        (&p[arch.weight_range(0)], &p[arch.bias_range(0)], &p[arch.weight_range(1)], &p[arch.bias_range(1)]);
    let Targets::Classes { labels, .. } = &data.targets else { unreachable!() };
    let n = data.n_samples();
    let (mut loss, mut grad) = (0.0, vec![0.0; p.len()]);
    for (r, &label) in labels.iter().enumerate() {
        let x: Vec<f64> = data.row(r).iter().map(|&v| v as f64).collect();
        let w = weights[label as usize] as f64;
        let h: Vec<f64> = (0..3).map(|j| (b1[j] + w1[j * 2] * x[0] + w1[j * 2 + 1] * x[1]).tanh()).collect();
        let z: Vec<f64> = (0..2).map(|k| b2[k] + (0..3).map(|j| w2[k * 3 + j] * h[j]).sum::<f64>()).collect();
        let sum: f64 = z.iter().map(|z| z.exp()).sum();
        let prob: Vec<f64> = z.iter().map(|z| z.exp() / sum).collect();
        loss += w * -prob[label as usize].ln();
        let d2: Vec<f64> = (0..2).map(|k| w * (prob[k] - f64::from(u8::from(k == label as usize)))).collect();
        for k in 0..2 {
            for j in 0..3 {
                grad[arch.weight_range(1).start + k * 3 + j] += d2[k] * h[j];
            }
            grad[arch.bias_range(1).start + k] += d2[k];
        }
        for j in 0..3 {
            let d1 = (0..2).map(|k| w2[k * 3 + j] * d2[k]).sum::<f64>() * (1.0 - h[j] * h[j]);
            for i in 0..2 {
                grad[arch.weight_range(0).start + j * 2 + i] += d1 * x[i];
            }
            grad[arch.bias_range(0).start + j] += d1;
        }
    }
    let mut sq = 0.0;
    for l in 0..2 {
        for i in arch.weight_range(l) {
            sq += p[i] * p[i];
            grad[i] += l2 * p[i];
        }
    }
    grad.iter_mut().for_each(|g| *g /= n as f64);
    (loss / n as f64 + l2 / (2.0 * n as f64) * sq, grad)
}

fn assert_close(got: &[f32], want: &[f64], what: &str) {
    let scale = want.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!((g as f64 - w).abs() < 1e-5 * scale, "{what}, parameter {i}: {g} vs {w}");
    }
}

#[test]
fn balanced_weights_follow_the_definition_and_an_absent_class_weighs_zero() {
    let data = nine_to_one();
    // n / (k · n_c) = 10 / (2·9), 10 / (2·1): the weighted counts are 5 and 5.
    assert_eq!(balanced_class_weights(&data).unwrap(), [(10.0f64 / 18.0) as f32, 5.0]);
    // Three declared classes, one without rows: k counts the classes that have rows.
    let three = Dataset { targets: Targets::Classes { labels: vec![0, 0, 0, 2], n_classes: 3 }, ..data };
    assert_eq!(balanced_class_weights(&three).unwrap(), [4.0 / 6.0, 0.0, 2.0]);
    let values = Dataset { targets: Targets::Values { values: vec![0.5; 4], n_outputs: 1 }, ..three };
    let e = balanced_class_weights(&values).unwrap_err().to_string();
    assert!(e.contains("`class_weight` needs class labels"), "{e}");
    assert!(check_fits(Some(&[1.0]), &values).is_err());
    assert!(validate(&[1.0, -0.5]).unwrap_err().to_string().contains("class 1 must be a non-negative"));
    assert!(validate(&[f32::NAN]).is_err());
}

#[test]
fn the_weighted_full_batch_gradient_is_the_textbook_one_on_1_2_3_threads() {
    let data = nine_to_one();
    let arch = Arch::new(vec![2, 3, 2], Activation::Tanh, Loss::Xent).unwrap();
    let weights = balanced_class_weights(&data).unwrap();
    let x = Network::<f32>::init(arch.clone(), 7).params;
    let (want_loss, want) = textbook(&arch, &x, &data, &weights, 0.3);
    // The weights matter here: the unweighted gradient is far from the weighted one.
    let (_, plain) = textbook(&arch, &x, &data, &[1.0, 1.0], 0.3);
    let gap = want.iter().zip(&plain).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(gap > 0.05, "{gap}");
    let mut first: Option<Vec<u32>> = None;
    for team in [1, 2, 3] {
        let mut net = Network::<f32>::init(arch.clone(), 7);
        // Shards of 3 rows: four shards summed in the fixed tree.
        let mut obj = TestGradient::new(&mut net, &data, (0.3, Some(&weights)), 3, team);
        let mut grad = vec![f32::NAN; x.len()];
        let e = obj.eval(&x, &mut grad);
        assert!((e.loss - want_loss).abs() < 1e-6 * want_loss, "{} vs {want_loss}", e.loss);
        assert_close(&grad, &want, &format!("full batch, {team} threads"));
        let bits: Vec<u32> = grad.iter().map(|g| g.to_bits()).collect();
        assert_eq!(first.get_or_insert_with(|| bits.clone()), &bits, "{team} threads");
    }
}

#[test]
fn one_weighted_mini_batch_step_moves_by_the_textbook_gradient() {
    let data = nine_to_one();
    let arch = Arch::new(vec![2, 3, 2], Activation::Tanh, Loss::Xent).unwrap();
    let weights = balanced_class_weights(&data).unwrap();
    let x = Network::<f32>::init(arch.clone(), 7).params;
    let (_, want) = textbook(&arch, &x, &data, &weights, 0.3);
    let mut first: Option<Vec<u32>> = None;
    // One shard, and shards of 3 (run one after another on 1 thread, side by side on 2 and 3).
    for (shard, team) in [(10, 1), (10, 2), (3, 1), (3, 2), (3, 3)] {
        let mut net = Network::<f32>::init(arch.clone(), 7);
        let cfg = TrainConfig {
            batch: 10,
            shard,
            lr: 1.0,
            momentum: 0.0,
            l2: 0.3,
            shuffle: false,
            optimizer: Optimizer::Sgd { nesterov: false },
            class_weight: Some(weights.clone()),
            ..TrainConfig::default()
        };
        let mut trainer = Trainer::with_team(&mut net, &data, cfg, team).unwrap();
        trainer.steps(&data, 1).unwrap();
        // v = −η·g, w ← w + v with η = 1: the step is minus the gradient.
        let step: Vec<f32> = trainer.net().params.iter().zip(&x).map(|(a, b)| b - a).collect();
        assert_close(&step, &want, &format!("shard {shard}, {team} threads"));
        if shard == 3 {
            let bits: Vec<u32> = trainer.net().params.iter().map(|g| g.to_bits()).collect();
            assert_eq!(first.get_or_insert_with(|| bits.clone()), &bits, "{team} threads");
        }
    }
}

#[test]
fn weights_that_do_not_fit_the_data_are_refused() {
    let data = nine_to_one();
    let arch = Arch::new(vec![2, 3, 2], Activation::Tanh, Loss::Xent).unwrap();
    let mut net = Network::<f32>::init(arch, 7);
    let cfg = TrainConfig { class_weight: Some(vec![1.0; 3]), ..TrainConfig::default() };
    let e = Trainer::new(&mut net, &data, cfg).err().unwrap().to_string();
    assert!(e.contains("`class_weight` has 3 weights but nine-to-one has 2 classes"), "{e}");
    let cfg = TrainConfig { class_weight: Some(vec![1.0, f32::INFINITY]), ..TrainConfig::default() };
    assert!(Trainer::new(&mut net, &data, cfg).is_err());
}
