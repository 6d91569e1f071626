//! Tests of the checkpoint format: round trips with and without a rollback point, the
//! per-layer layout of velocities and rollback weights, version refusals and field errors.

use super::*;
use crate::activation::Activation;
use crate::data::Normalization;
use crate::loss::Loss;
use crate::model::Task;
use crate::network::Network;

fn model() -> Model {
    let arch = Arch::new(vec![4, 3, 2], Activation::Tanh, Loss::Bce).unwrap();
    Model::new(
        Network::init(arch, 5),
        Normalization::ZScore { mean: vec![1.0; 4], std: vec![2.0; 4] },
        Task::Classify,
        Some([2, 2]),
        Default::default(),
    )
    .unwrap()
}

/// A checkpoint of `model()` whose velocity is 0, 0.5, 1, ... (every value distinct, so a
/// layout mistake cannot go unseen), with a rollback point.
fn checkpoint(n_params: usize) -> Checkpoint {
    let state = TrainState {
        epoch: 3,
        next_batch: 2,
        order: vec![2, 0, 1, 3],
        rng_word_pos: (1u128 << 70) + 5,
        optimizer: OptimizerState::Momentum { velocity: (0..n_params).map(|i| i as f32 * 0.5).collect() },
        loss_sum: 1.25,
        correct: 3,
        done: 4,
        seconds: 0.5,
    };
    Checkpoint {
        config: TrainConfig { epochs: 9, batch: 2, shard: 1, seed: u64::MAX, ..Default::default() },
        state: state.clone(),
        data: DataIdentity {
            path: "d.csv".into(),
            n_samples: 4,
            n_features: 4,
            fingerprint: u64::MAX - 1,
            val_split: 0.25,
        },
        lr_given: 0.4,
        rollback: Some(Rollback {
            params: (0..n_params).map(|i| -(i as f32)).collect(),
            state: TrainState { next_batch: 0, order: vec![3, 2, 1, 0], ..state },
            retries: 2,
        }),
        run: run_state(n_params),
        full_batch: None,
    }
}

/// A schedule and stopping-rule state with every field set, and both kept weight buffers.
fn run_state(n_params: usize) -> RunState {
    use crate::train::{EarlyState, EarlyStopping, Monitor, PlateauState, Schedule, StopReason, StopRules};
    RunState {
        schedule: Schedule::Plateau { patience: 3, factor: 0.3 },
        stop_rules: StopRules {
            target_loss: Some(0.0625),
            min_change: Some(1e-7),
            early_stopping: Some(EarlyStopping {
                patience: 4,
                monitor: Monitor::Accuracy,
                restore_best: true,
            }),
        },
        base_lr: 0.2,
        plateau: PlateauState { best: Some(0.1), bad_epochs: 2, reductions: 1 },
        early: EarlyState { best: Some(0.875), best_epoch: 2, bad_epochs: 1 },
        best_params: (0..n_params).map(|i| i as f32 + 0.25).collect(),
        epoch_start_params: (0..n_params).map(|i| i as f32 - 0.75).collect(),
        stopped: Some(StopReason::EarlyStopping {
            epoch: 3,
            best_epoch: 2,
            best: 0.875,
            monitor: Monitor::Accuracy,
            restored: true,
        }),
    }
}

/// `bytes` with the first occurrence of `from` replaced by `to` (of the same length, so the
/// safetensors header stays valid).
fn edit(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = bytes.windows(from.len()).position(|w| w == from.as_bytes()).expect(from);
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to.as_bytes());
    out
}

#[test]
fn checkpoints_round_trip_with_and_without_their_rollback_point() {
    let m = model();
    let ck = checkpoint(m.net.arch.n_params());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ck.safetensors");
    save(&path, m.view(), &ck).unwrap();
    assert_eq!(load(&path).unwrap(), (m.clone(), ck.clone()));
    assert_eq!(std::fs::read(&path).unwrap(), to_bytes(m.view(), &ck).unwrap(), "deterministic bytes");
    let plain = Checkpoint { rollback: None, ..ck };
    let bytes = to_bytes(m.view(), &plain).unwrap();
    assert_eq!(from_bytes(&path, &bytes).unwrap(), (m, plain));
}

#[test]
fn velocities_and_rollback_weights_are_stored_per_layer_like_the_model() {
    let m = model();
    let ck = checkpoint(m.net.arch.n_params());
    let bytes = to_bytes(m.view(), &ck).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = st.names();
    names.sort_unstable();
    let per_layer =
        |p: &'static str| (0..2).flat_map(move |l| ["bias", "weight"].map(|t| format!("{p}layers.{l}.{t}")));
    let mut expected: Vec<String> =
        ["", "rollback.", "rollback.velocity.", "run.best.", "run.epoch_start.", "trainer.velocity."]
            .into_iter()
            .flat_map(per_layer)
            .chain(["normalize.mean", "normalize.std", "rollback.order", "trainer.order"].map(String::from))
            .collect();
    expected.sort_unstable();
    assert_eq!(names, expected);
    let arch = &m.net.arch;
    let f32s = |name: &str, shape: &[usize]| {
        let t = st.tensor(name).unwrap();
        assert_eq!(t.shape(), shape, "{name}");
        t.data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect::<Vec<_>>()
    };
    for l in 0..2 {
        let (n_in, n_out) = (arch.sizes()[l], arch.sizes()[l + 1]);
        let weight = f32s(&format!("trainer.velocity.layers.{l}.weight"), &[n_out, n_in]);
        let OptimizerState::Momentum { velocity } = &ck.state.optimizer else { panic!() };
        assert_eq!(weight, velocity[arch.weight_range(l)]);
        let bias = f32s(&format!("rollback.layers.{l}.bias"), &[n_out]);
        assert_eq!(bias, ck.rollback.as_ref().unwrap().params[arch.bias_range(l)]);
    }
    // Row `o` of a stored weight is output unit `o`'s weights, as in the model tensor.
    let w0 = f32s("trainer.velocity.layers.0.weight", &[3, 4]);
    assert_eq!(w0[4..8], [2.0, 2.5, 3.0, 3.5]);
    // The schedule's and stopping rules' kept weights, likewise.
    let best = f32s("run.best.layers.1.weight", &[2, 3]);
    assert_eq!(best, ck.run.best_params[arch.weight_range(1)]);
    let start = f32s("run.epoch_start.layers.0.bias", &[3]);
    assert_eq!(start, ck.run.epoch_start_params[arch.bias_range(0)]);
}

#[test]
fn checkpoints_of_other_versions_and_plain_models_are_refused() {
    let m = model();
    let bytes = to_bytes(m.view(), &checkpoint(m.net.arch.n_params())).unwrap();
    let err = |bytes: &[u8]| from_bytes(Path::new("ck"), bytes).unwrap_err().to_string();
    let older = edit(&bytes, r#"\"version\":4"#, r#"\"version\":3"#);
    assert_eq!(
        err(&older),
        "ck: is a checkpoint of format 3, written by an older bp-par; this build reads format 4 \
         (resume it with the bp-par that wrote it)"
    );
    let newer = edit(&bytes, r#"\"version\":4"#, r#"\"version\":5"#);
    assert!(err(&newer).starts_with("ck: is a checkpoint of format 5, written by a newer bp-par"));
    // The model inside is still readable.
    assert_eq!(model::from_bytes(Path::new("ck"), &older).unwrap(), m);
    let plain = model::to_bytes(&m).unwrap();
    assert_eq!(err(&plain), "ck: is a model, not a checkpoint (no trainer state)");
}

#[test]
fn bad_fields_and_tensors_are_named() {
    let m = model();
    let bytes = to_bytes(m.view(), &checkpoint(m.net.arch.n_params())).unwrap();
    let err = |bytes: &[u8]| from_bytes(Path::new("ck"), bytes).unwrap_err().to_string();
    let seed = edit(
        &bytes,
        &format!(r#"\"seed\":\"{}\""#, u64::MAX),
        &format!(r#"\"seed\":\"{}x\""#, u64::MAX / 10),
    );
    assert_eq!(
        err(&seed),
        format!(
            "ck: metadata field \"checkpoint.config.seed\" is invalid: \"{}x\" is not an unsigned decimal \
             integer in range",
            u64::MAX / 10
        )
    );
    let retries = edit(&bytes, r#"\"retries\":"#, r#"\"retriez\":"#);
    assert_eq!(err(&retries), "ck: metadata lacks the field \"checkpoint.rollback.retries\"");
    let loss_sum = edit(&bytes, r#"\"loss_sum\":1.25"#, r#"\"loss_sum\":true"#);
    assert_eq!(
        err(&loss_sum),
        "ck: metadata field \"checkpoint.rollback.state.loss_sum\" is invalid: invalid type: boolean `true`, \
         expected f64"
    );
    let velocity = edit(&bytes, "trainer.velocity.layers.1.bias", "trainer.velocity.layers.1.bia_");
    assert_eq!(err(&velocity), "ck: has no tensor \"trainer.velocity.layers.1.bias\"");
    // Settings no run could have had name the file and the stored field (not a flag).
    let said = "ck: holds an impossible setting (the file is damaged or was edited): stored";
    let momentum = edit(&bytes, r#"\"momentum\":0.8999"#, r#"\"momentum\":1.8999"#);
    assert_eq!(err(&momentum), format!("{said} momentum must be in [0, 1), got 1.9"));
    let batch = edit(&bytes, r#"\"batch\":2"#, r#"\"batch\":0"#);
    assert!(err(&batch).starts_with(&format!("{said} batch")), "{}", err(&batch));
    let split = edit(&bytes, r#"\"val_split\":0.25"#, r#"\"val_split\":2.25"#);
    assert_eq!(err(&split), format!("{said} val_split must be in [0, 1), got 2.25"));
}

#[test]
fn buffers_of_the_wrong_size_are_errors_not_panics() {
    let m = model();
    let n_params = m.net.arch.n_params();
    let mut ck = checkpoint(n_params);
    ck.rollback.as_mut().unwrap().params.pop();
    let err = to_bytes(m.view(), &ck).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "cannot checkpoint the rollback weights: {} values for a network of {n_params} parameters",
            n_params - 1
        )
    );
}

#[test]
fn adam_state_is_stored_per_layer_with_its_step_count() {
    use crate::optim::{Adam, Optimizer};
    let m = model();
    let n = m.net.arch.n_params();
    let mut ck = checkpoint(n);
    let adam = Adam { beta1: 0.8, beta2: 0.95, eps: 1e-6, decoupled_decay: true };
    ck.config = TrainConfig { optimizer: Optimizer::Adam(adam), clip_norm: Some(0.25), ..ck.config };
    let state = |t| OptimizerState::Adam {
        m: (0..n).map(|i| i as f32 * 0.5).collect(),
        v: (0..n).map(|i| i as f32 * 0.25 + 1.0).collect(),
        t,
    };
    ck.state.optimizer = state(11);
    ck.rollback.as_mut().unwrap().state.optimizer = state(9);
    let bytes = to_bytes(m.view(), &ck).unwrap();
    assert_eq!(from_bytes(Path::new("ck"), &bytes).unwrap(), (m.clone(), ck.clone()));
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let v1 = file.tensor("trainer.adam_v.layers.1.bias").unwrap();
    let arch = &m.net.arch;
    let want: Vec<u8> = arch.bias_range(1).flat_map(|i| (i as f32 * 0.25 + 1.0).to_le_bytes()).collect();
    assert_eq!(v1.data(), &want[..]);
    assert!(
        file.tensor("rollback.adam_m.layers.0.weight").is_ok()
            && file.tensor("trainer.velocity.layers.0.weight").is_err()
    );
    // A state of the other optimiser is refused, not written under the wrong names.
    ck.state.optimizer = OptimizerState::Momentum { velocity: vec![0.0; n] };
    assert!(
        to_bytes(m.view(), &ck)
            .unwrap_err()
            .to_string()
            .contains("not of the configuration's optimizer adam")
    );
}

#[test]
fn positions_and_states_no_run_could_reach_are_refused() {
    let m = model();
    let n = m.net.arch.n_params();
    let err = |ck: &Checkpoint| {
        from_bytes(Path::new("ck"), &to_bytes(m.view(), ck).unwrap()).unwrap_err().to_string()
    };
    let mut ck = checkpoint(n);
    ck.run.base_lr = -1.0;
    assert!(err(&ck).contains("\"checkpoint.run.base_lr\" is -1, not a learning rate"), "{}", err(&ck));
    let mut ck = checkpoint(n);
    ck.state.next_batch = 99;
    assert!(
        err(&ck).contains("\"checkpoint.state.next_batch\" is 99, past the 2 mini-batches"),
        "{}",
        err(&ck)
    );
    let mut ck = checkpoint(n);
    ck.config.optimizer = crate::optim::Optimizer::Adam(crate::optim::Adam::default());
    let adam = |v: f32, t| OptimizerState::Adam { m: vec![0.0; n], v: vec![v; n], t };
    ck.state.optimizer = adam(-0.5, 3);
    ck.rollback.as_mut().unwrap().state.optimizer = adam(0.5, 3);
    assert!(err(&ck).contains("\"trainer.adam_v\" holds a negative second moment"), "{}", err(&ck));
    ck.state.optimizer = adam(0.5, 1_000_000);
    assert!(err(&ck).contains("step count trainer.adam_t is 1000000"), "{}", err(&ck));
}
