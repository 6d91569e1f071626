//! Tests of full-batch checkpoints: a run stopped after K iterations, its checkpoint written
//! to bytes and read back, continued to N, gives the bits of the run of N straight through,
//! for cg, lbfgs and rprop; and what the file holds.

use super::*;
use crate::activation::Activation;
use crate::data::{Dataset, Normalization};
use crate::loss::Loss;
use crate::model::Task;
use crate::network::Network;
use crate::train::{
    EpochMetrics, FullBatchConfig, FullBatchMethod, FullBatchMethodState, FullBatchState, FullBatchStop,
    Observer, Silent, train_full_batch, train_full_batch_from,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// 120 rows of 4 features in [-1, 1], 3 classes from a noisy rule.
fn data() -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let features: Vec<f32> = (0..120 * 4).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    let labels: Vec<u32> = features
        .chunks_exact(4)
        .map(|x| ((x[0] - x[2] + rng.random_range(-0.5f32..0.5)).abs() * 2.0) as u32 % 3)
        .collect();
    Dataset::classes(&features, 4, &labels, Some(3)).unwrap().with_name("rows")
}

/// Stops after `stop_after` iterations; writes each checkpoint it is handed to bytes.
struct ToBytes {
    cfg: FullBatchConfig,
    stop_after: usize,
    done: usize,
    bytes: Vec<Vec<u8>>,
}

impl Observer for ToBytes {
    fn epoch_end(&mut self, m: &EpochMetrics) {
        self.done = m.epoch;
    }

    fn stop_requested(&mut self) -> bool {
        self.done >= self.stop_after
    }

    fn full_batch_checkpoint(&mut self, net: &Network<f32>, state: &FullBatchState) -> Result<()> {
        let config = TrainConfig { epochs: self.cfg.max_iter, ..TrainConfig::default() };
        let ck = Checkpoint {
            state: Checkpoint::full_batch_train_state(state.iterations),
            data: DataIdentity {
                path: "rows".into(),
                n_samples: 120,
                n_features: 4,
                fingerprint: 1,
                val_split: 0.0,
            },
            lr_given: config.lr,
            rollback: None,
            run: RunState::new(config.lr),
            full_batch: Some(FullBatchCheckpoint { config: self.cfg.clone(), state: state.clone() }),
            config,
        };
        let model =
            Model::new(net.clone(), Normalization::None, Task::Classify, None, Default::default()).unwrap();
        self.bytes.push(to_bytes(model.view(), &ck)?);
        Ok(())
    }
}

#[test]
fn a_full_batch_run_resumed_from_checkpoint_bytes_gives_the_bits_of_the_run_straight_through() {
    let data = data();
    let arch = Arch::new(vec![4, 6, 3], Activation::Tanh, Loss::Xent).unwrap();
    let bits = |v: &[f32]| v.iter().map(|p| p.to_bits()).collect::<Vec<_>>();
    for method in [FullBatchMethod::Cg, FullBatchMethod::Lbfgs { memory: 2 }, FullBatchMethod::Rprop] {
        let cfg = FullBatchConfig { method, max_iter: 9, l2: 0.3, shard: 32, class_weight: None };
        let mut straight = Network::<f32>::init(arch.clone(), 4);
        let want = train_full_batch(&mut straight, &data, None, &cfg, &mut Silent).unwrap();
        assert_eq!(want.history.len(), 9, "{method:?}");

        let mut net = Network::<f32>::init(arch.clone(), 4);
        let mut obs = ToBytes { cfg: cfg.clone(), stop_after: 5, done: 0, bytes: Vec::new() };
        let out =
            train_full_batch_from(&mut net, &data, None, &cfg, None, None, &mut obs, crate::Threads::ONE)
                .unwrap();
        assert_eq!((out.stop, obs.bytes.len()), (FullBatchStop::Requested, 1), "{method:?}");
        let (model, ck) = from_bytes(Path::new("ck"), &obs.bytes[0]).unwrap();
        assert_eq!(bits(&model.net.params), bits(&net.params), "{method:?}");
        assert_eq!(ck.state, Checkpoint::full_batch_train_state(5));
        let fb = ck.full_batch.expect("a full-batch checkpoint");
        assert_eq!(fb.config, cfg);
        if let FullBatchMethodState::Lbfgs { steps, rho, .. } = &fb.state.method {
            assert_eq!((steps.len(), rho.len()), (2, 2), "the ring of 2 pairs has wrapped");
        }

        let mut net = model.net;
        let rest = train_full_batch_from(
            &mut net,
            &data,
            None,
            &fb.config,
            Some(fb.state),
            None,
            &mut Silent,
            crate::Threads::ONE,
        )
        .unwrap();
        assert_eq!(bits(&net.params), bits(&straight.params), "{method:?}: the resumed run's weights");
        let losses = |h: &[EpochMetrics]| h.iter().map(|m| m.loss.to_bits()).collect::<Vec<_>>();
        let joined: Vec<EpochMetrics> = out.history.into_iter().chain(rest.history).collect();
        assert_eq!(losses(&joined), losses(&want.history), "{method:?}: the losses");
        assert_eq!(rest.evaluations, want.evaluations, "{method:?}");
    }
}

#[test]
fn a_full_batch_checkpoint_holds_the_vectors_per_layer_and_the_scalars_as_json() {
    let data = data();
    let arch = Arch::new(vec![4, 6, 3], Activation::Tanh, Loss::Xent).unwrap();
    let cfg = FullBatchConfig {
        method: FullBatchMethod::Lbfgs { memory: 3 },
        max_iter: 4,
        l2: 0.0,
        shard: 32,
        class_weight: None,
    };
    let mut net = Network::<f32>::init(arch.clone(), 4);
    let mut obs = ToBytes { cfg: cfg.clone(), stop_after: 2, done: 0, bytes: Vec::new() };
    train_full_batch_from(&mut net, &data, None, &cfg, None, None, &mut obs, crate::Threads::ONE).unwrap();
    let file = model::parse(Path::new("ck"), &obs.bytes[0]).unwrap();
    for name in [
        "full_batch.grad.layers.1.weight",
        "full_batch.steps.1.layers.0.bias",
        "full_batch.changes.0.layers.1.bias",
    ] {
        assert!(file.tensors.tensor(name).is_ok(), "{name}");
    }
    // No mini-batch trainer state.
    assert!(file.tensors.tensor("trainer.order").is_err());
    let meta: serde_json::Value = serde_json::from_str(&file.meta).unwrap();
    let fb = &meta["checkpoint"]["full_batch"];
    assert_eq!(fb["method"], serde_json::json!({"name": "lbfgs", "memory": 3}));
    assert_eq!((fb["iterations"].as_u64(), fb["state"]["rho"].as_array().map(Vec::len)), (Some(2), Some(2)));
    // A full-batch state beside a mini-batch one is refused.
    let (model, mut ck) = from_bytes(Path::new("ck"), &obs.bytes[0]).unwrap();
    ck.state.order = vec![0; 120];
    let err = to_bytes(model.view(), &ck).unwrap_err().to_string();
    assert!(err.contains("mini-batch trainer state"), "{err}");
}
