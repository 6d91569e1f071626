//! The trainer's values against an independent reference: plain f64, one sample at a time,
//! the textbook backpropagation with classical momentum and (λ/n)·W weight decay, written
//! here from the formulas (DESIGN.md, "Numerics conventions"), sharing no code with the crate.

use bp_par::activation::Activation;
use bp_par::data::Dataset;
use bp_par::loss::Loss;
use bp_par::network::{Arch, Network};
use bp_par::train::{Silent, TrainConfig, Trainer};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// An MLP in the usual layout: `w[l][o][i]` (out x in), `b[l][o]`.
struct Reference {
    w: Vec<Vec<Vec<f64>>>,
    b: Vec<Vec<f64>>,
    act: Activation,
    loss: Loss,
}

impl Reference {
    fn hidden(&self, z: f64) -> f64 {
        match self.act {
            Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
            Activation::Tanh => z.tanh(),
            Activation::Relu => z.max(0.0),
        }
    }

    /// f'(z) written through the output a = f(z).
    fn hidden_slope(&self, a: f64) -> f64 {
        match self.act {
            Activation::Sigmoid => a * (1.0 - a),
            Activation::Tanh => 1.0 - a * a,
            Activation::Relu => f64::from(a > 0.0),
        }
    }

    /// Every layer's outputs, the input first.
    fn forward(&self, x: &[f64]) -> Vec<Vec<f64>> {
        let mut outs = vec![x.to_vec()];
        let last = self.w.len() - 1;
        for (l, (w, b)) in self.w.iter().zip(&self.b).enumerate() {
            let a = &outs[l];
            let z: Vec<f64> = w
                .iter()
                .zip(b)
                .map(|(row, b)| b + row.iter().zip(a).map(|(w, a)| w * a).sum::<f64>())
                .collect();
            let out = if l < last {
                z.iter().map(|&z| self.hidden(z)).collect()
            } else if self.loss == Loss::Xent {
                let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = z.iter().map(|z| (z - max).exp()).collect();
                let s: f64 = e.iter().sum();
                e.iter().map(|e| e / s).collect()
            } else {
                z.iter().map(|&z| 1.0 / (1.0 + (-z).exp())).collect()
            };
            outs.push(out);
        }
        outs
    }

    /// Adds one sample's gradient to `gw`, `gb`.
    fn accumulate(&self, x: &[f64], y: &[f64], gw: &mut [Vec<Vec<f64>>], gb: &mut [Vec<f64>]) {
        let outs = self.forward(x);
        let a_out = &outs[outs.len() - 1];
        // Output delta ∂L/∂z: softmax + cross-entropy and sigmoid + bce give a − y;
        // sigmoid + ½(y − a)² gives (a − y)·a(1 − a).
        let mut delta: Vec<f64> = a_out
            .iter()
            .zip(y)
            .map(|(&a, &y)| if self.loss == Loss::Mse { (a - y) * a * (1.0 - a) } else { a - y })
            .collect();
        for l in (0..self.w.len()).rev() {
            let a_prev = &outs[l];
            for (o, d) in delta.iter().enumerate() {
                gb[l][o] += d;
                for (i, a) in a_prev.iter().enumerate() {
                    gw[l][o][i] += d * a;
                }
            }
            if l > 0 {
                delta = (0..a_prev.len())
                    .map(|i| {
                        let back: f64 = (0..delta.len()).map(|o| self.w[l][o][i] * delta[o]).sum();
                        back * self.hidden_slope(a_prev[i])
                    })
                    .collect();
            }
        }
    }
}

#[test]
fn the_trainer_agrees_with_textbook_backprop_in_f64() {
    let (n, d, k) = (47usize, 6usize, 4usize);
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let features: Vec<f32> = (0..n * d).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    let labels: Vec<u32> = (0..n).map(|i| (i % k) as u32).collect();
    let data =
        Dataset::classes(&features.clone(), d, &labels.clone(), Some(k)).unwrap().with_name("reference");
    let (lr, momentum, l2, batch, epochs) = (0.3f32, 0.9f32, 0.5f32, 20usize, 3usize);
    let mut worst_overall = 0.0f64;
    for (act, loss) in
        [(Activation::Tanh, Loss::Xent), (Activation::Sigmoid, Loss::Mse), (Activation::Relu, Loss::Bce)]
    {
        // Batches of 20, 20 and 7 rows; shards of 10, 7, 4 and 3 rows make 2, 3, 5 and 7 shards.
        for shard in [20usize, 10, 7, 4, 3] {
            let arch = Arch::new(vec![d, 9, 5, k], act, loss).unwrap();
            let mut net = Network::<f32>::init(arch.clone(), 3);
            let n_layers = arch.n_layers();
            let sizes = arch.sizes().to_vec();
            let mut reference = Reference {
                w: (0..n_layers)
                    .map(|l| {
                        let w = net.weight(l);
                        w.chunks(sizes[l]).map(|r| r.iter().map(|&v| v as f64).collect()).collect()
                    })
                    .collect(),
                b: (0..n_layers).map(|l| net.layer(l).1.iter().map(|&v| v as f64).collect()).collect(),
                act,
                loss,
            };
            let initial = net.weight(0);
            let cfg = TrainConfig {
                epochs,
                batch,
                shard,
                lr,
                momentum,
                l2,
                seed: 1,
                shuffle: false,
                ..TrainConfig::default()
            };
            Trainer::new(&mut net, &data, cfg).unwrap().run(&data, None, &mut Silent).unwrap();

            // The reference: V ← μV − η(G/B + (λ/n)W) ; W ← W + V (biases without decay).
            let zeros_w = || (0..n_layers).map(|l| vec![vec![0.0; sizes[l]]; sizes[l + 1]]).collect();
            let zeros_b = || (0..n_layers).map(|l| vec![0.0; sizes[l + 1]]).collect();
            let (mut vw, mut vb): (Vec<Vec<Vec<f64>>>, Vec<Vec<f64>>) = (zeros_w(), zeros_b());
            let (lr, mu, decay) = (lr as f64, momentum as f64, l2 as f64 / n as f64);
            for _ in 0..epochs {
                for start in (0..n).step_by(batch) {
                    let rows = start..(start + batch).min(n);
                    let scale = 1.0 / rows.len() as f64;
                    let (mut gw, mut gb): (Vec<Vec<Vec<f64>>>, Vec<Vec<f64>>) = (zeros_w(), zeros_b());
                    for r in rows {
                        let x: Vec<f64> = features[r * d..(r + 1) * d].iter().map(|&v| v as f64).collect();
                        let mut y = vec![0.0; k];
                        y[labels[r] as usize] = 1.0;
                        reference.accumulate(&x, &y, &mut gw, &mut gb);
                    }
                    for l in 0..n_layers {
                        for (o, row) in reference.w[l].iter_mut().enumerate() {
                            for (i, w) in row.iter_mut().enumerate() {
                                vw[l][o][i] = mu * vw[l][o][i] - lr * (gw[l][o][i] * scale + decay * *w);
                                *w += vw[l][o][i];
                            }
                            vb[l][o] = mu * vb[l][o] - lr * gb[l][o] * scale;
                            reference.b[l][o] += vb[l][o];
                        }
                    }
                }
            }
            // Agreement relative to each layer's largest weight: f32 rounding over 9 steps.
            for l in 0..n_layers {
                let got = net.weight(l);
                let want: Vec<f64> = reference.w[l].concat();
                let (got_b, want_b) = (net.layer(l).1, &reference.b[l]);
                let scale = want.iter().chain(want_b).fold(0.0f64, |m, v| m.max(v.abs()));
                let worst = got
                    .iter()
                    .zip(&want)
                    .chain(got_b.iter().zip(want_b))
                    .map(|(&g, &w)| (g as f64 - w).abs() / scale)
                    .fold(0.0, f64::max);
                worst_overall = worst_overall.max(worst);
                assert!(worst < 1e-5, "{act}/{loss} shard {shard} layer {l}: relative difference {worst:e}");
            }
            // The run really moved the weights (else agreement would prove nothing).
            let moved = initial.iter().zip(net.weight(0)).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(moved > 1e-3, "{act}/{loss}: the weights hardly moved ({moved})");
        }
    }
    eprintln!("largest relative difference from the f64 reference: {worst_overall:e}");
}
