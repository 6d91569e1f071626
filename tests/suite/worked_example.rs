//! The classic worked example of backpropagation (Mazur's "A Step by Step Backpropagation
//! Example"): a 2-3-2 sigmoid network, loss ½Σ(t−o)², one update with η = 0.5.

use super::harness::Dir;
use bp_par::activation::Activation;
use bp_par::data::Normalization;
use bp_par::loss::Loss;
use bp_par::model::{self, Model, Task};
use bp_par::network::{Arch, Buffers, Network};

/// The example's weights in the usual layout: W1 (3x2), b1 (3), W2 (2x3), b2 (2).
fn initial() -> Model {
    let arch = Arch::new(vec![2, 3, 2], Activation::Sigmoid, Loss::Mse).unwrap();
    #[rustfmt::skip]
    let layers = [
        (vec![0.1, 0.15,  0.2, 0.25,  0.3, 0.35], vec![0.35; 3]),   // hidden unit j's weights from (x1, x2)
        (vec![0.4, 0.5, 0.6,  0.45, 0.55, 0.65], vec![0.65; 2]),    // output unit k's weights from (h1, h2, h3)
    ];
    Model::new(
        Network::from_layers(arch, &layers).unwrap(),
        Normalization::None,
        Task::Regress,
        None,
        Default::default(),
    )
    .unwrap()
}

fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!((got - want).abs() < tol, "{what}: got {got}, want {want}");
}

#[test]
fn forward_gives_the_published_activations() {
    let net = initial().net;
    let mut buf = Buffers::new(net.arch(), 1);
    // Targets (0.01, 0.99): E = ½Σ(t−o)² = 0.391829 (computed from the outputs below).
    let loss = net.forward(&[5.0f32, 10.0], 1, Some(&[0.01, 0.99]), &mut buf);
    // h_j = σ(w_j·x + 0.35): σ(2.35), σ(3.85), σ(5.35)
    for (got, want) in buf.activations(0, 1).iter().zip([0.912934, 0.979164, 0.995275]) {
        close(*got as f64, want, 2e-6, "hidden output");
    }
    // o_k = σ(w_k·h + 0.65)
    for (got, want) in buf.output(1).iter().zip([0.891090, 0.904330]) {
        close(*got as f64, want, 2e-6, "output");
    }
    close(loss, 0.391829, 1e-6, "loss");
}

#[test]
fn one_update_through_the_cli_matches_the_bp_equations() {
    let dir = Dir::new();
    model::save(&dir.path("init.safetensors"), &initial()).unwrap();
    dir.write("example.csv", "5,10,0.01,0.99\n");

    // predict with the initial weights gives the forward outputs.
    let run = dir.run(&["predict", "--model", "init.safetensors", "example.csv"]).ok();
    let row: Vec<f64> = run.stdout.lines().nth(1).unwrap().split(',').map(|v| v.parse().unwrap()).collect();
    close(row[0], 0.891090, 2e-6, "o1");
    close(row[1], 0.904330, 2e-6, "o2");

    dir.run(&[
        "train",
        "example.csv",
        "--targets",
        "2",
        "--init",
        "init.safetensors",
        "--batch",
        "1",
        "--epochs",
        "1",
        "--lr",
        "0.5",
        "--momentum",
        "0",
        "--no-shuffle",
        "--val-split",
        "0",
        "--threads",
        "1",
        "--save",
        "after.safetensors",
        "--quiet",
    ])
    .ok();
    let after = model::load(&dir.path("after.safetensors")).unwrap();

    // Expected values, from the BP equations with h and o as above (x = (5, 10), t = (0.01, 0.99)):
    //   δo_k = (o_k − t_k)·o_k·(1 − o_k)            = ( 0.0855088, −0.0074119)
    //   δh_j = (Σ_k W2_kj·δo_k)·h_j·(1 − h_j)        = (0.00245356, 0.00078911, 0.00021865)
    //   W2_kj ← W2_kj − η·δo_k·h_j ;  b2_k ← b2_k − η·δo_k
    //   W1_ji ← W1_ji − η·δh_j·x_i ;  b1_j ← b1_j − η·δh_j
    #[rustfmt::skip]
    let want = [
        0.0938661, 0.1377322,  0.1980272, 0.2460544,  0.2994534, 0.3489068,   // W1
        0.3487732, 0.3496054, 0.3498907,                                      // b1
        0.3609681, 0.4581365, 0.5574477,  0.4533833, 0.5536288, 0.6536885,    // W2
        0.6072456, 0.6537060,                                                 // b2
    ];
    let net = &after.net;
    let got: Vec<f32> =
        [net.weight(0), net.layer(0).1.to_vec(), net.weight(1), net.layer(1).1.to_vec()].concat();
    assert_eq!(got.len(), want.len());
    for (i, (got, want)) in got.iter().zip(want).enumerate() {
        close(*got as f64, want, 2e-6, &format!("parameter {i}"));
    }
    // Biases get no L2 and the architecture and normalisation come from --init.
    assert_eq!(after.net.arch(), initial().net.arch());
    assert_eq!(after.norm, Normalization::None);
}
