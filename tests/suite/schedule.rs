//! Learning-rate schedules and stopping rules through the library's run policy: each
//! schedule's rate per epoch against its formula computed here, the plateau rule on a scripted
//! loss sequence and in a run, each stopping rule stopping where the history says it must (and
//! leaving the weights of a run of exactly that many epochs), and a resume from a checkpoint
//! in the middle of an epoch continuing bit for bit.

use bp_par::activation::Activation;
use bp_par::checkpoint::{self, Checkpoint, DataIdentity};
use bp_par::data::{Dataset, Normalization};
use bp_par::error::Result;
use bp_par::loss::Loss;
use bp_par::model::{ModelRef, Task};
use bp_par::network::{Arch, Network};
use bp_par::train::{
    EarlyStopping, EpochMetrics, Monitor, Observer, PlateauState, Rollback, RunPolicy, Schedule, Silent,
    StopReason, StopRules, TrainConfig, Trainer,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` rows of 8 features in [-1, 1] and 3 classes; `learnable`: the class is the argmax of
/// a fixed linear map of the features, else drawn at random (held-out data the network can
/// only overfit against).
fn data(n: usize, seed: u64, learnable: bool) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let features: Vec<f32> = (0..n * 8).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    let labels: Vec<u32> = (0..n)
        .map(|i| {
            if !learnable {
                return rng.random_range(0..3u32);
            }
            let x = &features[i * 8..i * 8 + 8];
            let s = [x[0] + x[1] - x[2], x[3] - x[4] + x[5], x[6] - x[7] - x[0]];
            (0..3).max_by(|&a, &b| s[a].total_cmp(&s[b])).unwrap() as u32
        })
        .collect();
    Dataset::classes(&features, 8, &labels, Some(3)).unwrap().with_name("synthetic")
}

fn network() -> Network<f32> {
    Network::init(Arch::new(vec![8, 12, 3], Activation::Tanh, Loss::Xent).unwrap(), 3)
}

fn config(epochs: usize, lr: f32) -> TrainConfig {
    TrainConfig { epochs, batch: 16, lr, momentum: 0.5, seed: 7, ..TrainConfig::default() }
}

fn policy(schedule: Schedule, stop_rules: StopRules) -> RunPolicy {
    RunPolicy { schedule, stop_rules, ..RunPolicy::default() }
}

/// A run of `cfg` under `policy`: the final parameters' bits, the history and why it ended.
fn run(
    cfg: TrainConfig,
    policy: &RunPolicy,
    test: Option<&Dataset>,
) -> (Vec<u32>, Vec<EpochMetrics>, Option<StopReason>) {
    let train = data(100, 1, true);
    let mut net = network();
    let outcome =
        Trainer::new(&mut net, &train, cfg).unwrap().run_policy(&train, test, policy, &mut Silent).unwrap();
    (bits(net.params()), outcome.history, outcome.reason)
}

fn bits(params: &[f32]) -> Vec<u32> {
    params.iter().map(|p| p.to_bits()).collect()
}

fn rates(history: &[EpochMetrics]) -> Vec<f32> {
    history.iter().map(|m| m.lr).collect()
}

#[test]
fn each_schedule_gives_each_epoch_the_rate_of_its_formula() {
    // η as the run holds it: the f32 nearest 0.2, widened.
    let (lr, epochs) = (f64::from(0.2f32), 7usize);
    let pi = std::f64::consts::PI;
    type Formula<'a> = Box<dyn Fn(usize) -> f64 + 'a>;
    let cases: [(Schedule, Formula<'_>); 4] = [
        (Schedule::Constant, Box::new(|_| lr)),
        // η·G^⌊(e−1)/N⌋ with N = 3, G = 0.5: 0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.05.
        (Schedule::Step { every: 3, gamma: 0.5 }, Box::new(|e| lr * 0.5f64.powi(((e - 1) / 3) as i32))),
        // scikit-learn's invscaling, per epoch: η / e^0.5.
        (Schedule::InvScaling { power: 0.5 }, Box::new(|e| lr / (e as f64).sqrt())),
        // From η in epoch 1 to 0.02 in epoch 7 along half a cosine.
        (
            Schedule::Cosine { min: 0.02 },
            Box::new(|e| 0.02 + (lr - 0.02) * (1.0 + (pi * (e - 1) as f64 / 6.0).cos()) / 2.0),
        ),
    ];
    for (schedule, formula) in cases {
        let (_, history, reason) =
            run(config(epochs, lr as f32), &policy(schedule, StopRules::default()), None);
        let expected: Vec<f32> = (1..=epochs).map(|e| formula(e) as f32).collect();
        assert_eq!(rates(&history), expected, "{schedule:?}");
        assert_eq!(reason, Some(StopReason::EpochsDone { epochs }));
    }
    // The cosine's ends are exact.
    let cosine = Schedule::Cosine { min: 0.02 };
    assert_eq!((cosine.rate(0.2, 1, 7, 0), cosine.rate(0.2, 7, 7, 0)), (0.2, 0.02));
}

#[test]
fn plateau_reduces_after_patience_epochs_without_improvement() {
    let schedule = Schedule::Plateau { patience: 2, factor: 0.5 };
    // Keras' rule (min_delta 0, no cooldown), by hand: best 1.0, 0.9; epochs 3 and 4 do not
    // improve -> reduce after epoch 4; 5 does not, 6 improves (0.8), 7 and 8 do not -> reduce
    // after 8; 9 does not.
    let losses = [1.0, 0.9, 0.95, 0.92, 0.91, 0.8, 0.85, 0.85, 0.85];
    let expected_reductions = [0, 0, 0, 1, 1, 1, 1, 2, 2];
    let mut state = PlateauState::default();
    for (e, (&loss, &want)) in losses.iter().zip(&expected_reductions).enumerate() {
        state.observe(&schedule, loss);
        assert_eq!(state.reductions, want, "after epoch {}", e + 1);
        // The next epoch's rate: η·F^reductions.
        assert_eq!(schedule.rate(0.4, e + 2, 10, state.reductions), (0.4 * 0.5f64.powi(want as i32)) as f32);
    }
    // In a run, on the held-out loss: the rates follow the same rule applied to the history.
    let test = data(60, 9, false);
    let (_, history, _) = run(config(12, 0.5), &policy(schedule, StopRules::default()), Some(&test));
    let (mut best, mut bad, mut rate) = (f64::INFINITY, 0, 0.5f64);
    let mut expected = Vec::new();
    for m in &history {
        expected.push(rate as f32);
        let loss = m.test_loss.unwrap();
        if loss < best {
            (best, bad) = (loss, 0);
        } else {
            bad += 1;
            if bad == 2 {
                (rate, bad) = (rate * 0.5, 0);
            }
        }
    }
    assert_eq!(rates(&history), expected);
    assert!(expected.iter().any(|&r| r < 0.5), "the run should have reduced at least once: {expected:?}");
}

#[test]
fn early_stopping_stops_at_the_right_epoch_and_restores_the_best_weights() {
    // Held-out labels at random: the held-out loss rises once the network fits the training set.
    let test = data(60, 9, false);
    for monitor in [Monitor::Loss, Monitor::Accuracy] {
        let patience = 3;
        let rules = StopRules {
            early_stopping: Some(EarlyStopping { patience, monitor, restore_best: true }),
            ..StopRules::default()
        };
        let (params, history, reason) = run(config(60, 0.3), &policy(Schedule::Constant, rules), Some(&test));
        // The epoch the rule must stop at, from the history: `patience` epochs after the last
        // strict improvement.
        let (mut best, mut best_epoch, mut stop) = (None::<f64>, 0, None);
        for m in &history {
            let v = match monitor {
                Monitor::Loss => m.test_loss.unwrap(),
                Monitor::Accuracy => -m.test_acc.unwrap(),
            };
            if best.is_none_or(|b| v < b) {
                (best, best_epoch) = (Some(v), m.epoch);
            } else if m.epoch - best_epoch >= patience {
                stop = Some(m.epoch);
                break;
            }
        }
        let stop = stop.expect("the rule should have stopped the run before 60 epochs");
        assert_eq!(history.len(), stop, "{monitor}");
        let Some(StopReason::EarlyStopping { epoch, best_epoch: b, restored: true, .. }) = reason else {
            panic!("{reason:?}")
        };
        assert_eq!((epoch, b), (stop, best_epoch), "{monitor}");
        // The result is the best epoch's weights: those of a run of exactly that many epochs.
        let (exact, _, _) = run(config(best_epoch, 0.3), &RunPolicy::default(), None);
        assert_eq!(params, exact, "{monitor}: restored weights differ from a {best_epoch}-epoch run");
    }
}

#[test]
fn target_loss_and_min_change_stop_where_the_history_says() {
    // An unconstrained run, epoch by epoch: its losses and its largest parameter change per epoch.
    let train = data(100, 1, true);
    let mut net = network();
    let (mut losses, mut changes) = (Vec::new(), Vec::new());
    {
        let mut trainer = Trainer::new(&mut net, &train, config(12, 0.05)).unwrap();
        for _ in 0..12 {
            let before = trainer.net().params().to_vec();
            losses.push(trainer.run_epoch(&train, None, &mut Silent).unwrap().unwrap().loss);
            let after = trainer.net().params();
            changes.push(before.iter().zip(after).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max));
        }
    }
    let target = (losses[4] + losses[5]) / 2.0;
    let min_change = changes.iter().copied().fold(f32::INFINITY, f32::min) * 1.0001;
    for (rules, values) in [
        (
            StopRules { target_loss: Some(target), ..StopRules::default() },
            losses.iter().map(|&l| l < target).collect::<Vec<_>>(),
        ),
        (
            StopRules { min_change: Some(min_change), ..StopRules::default() },
            changes.iter().map(|&c| c < min_change).collect(),
        ),
    ] {
        let stop = values.iter().position(|&v| v).expect("the threshold is reached within 12 epochs") + 1;
        let (params, history, reason) = run(config(12, 0.05), &policy(Schedule::Constant, rules), None);
        assert_eq!(history.len(), stop, "{rules:?}");
        assert_eq!(reason.map(|r| r.epoch()), Some(stop));
        let (exact, _, _) = run(config(stop, 0.05), &RunPolicy::default(), None);
        assert_eq!(params, exact, "{rules:?}");
        match reason.unwrap() {
            StopReason::TargetLoss { loss, .. } => assert_eq!(loss, losses[stop - 1]),
            StopReason::MinChange { change, .. } => assert_eq!(change, changes[stop - 1]),
            other => panic!("{other:?}"),
        }
    }
}

/// Stops the run at its `at`-th poll and keeps the checkpoint's bytes.
struct StopAt {
    at: usize,
    polls: usize,
    bytes: Option<Vec<u8>>,
}

impl Observer for StopAt {
    fn stop_requested(&mut self) -> bool {
        self.polls += 1;
        self.polls == self.at
    }

    fn checkpoint(&mut self, trainer: &Trainer, rollback: Option<&Rollback>) -> Result<()> {
        let norm = Normalization::None;
        let schema = Default::default();
        let model = ModelRef {
            net: trainer.net(),
            norm: &norm,
            task: Task::Classify,
            input_shape: None,
            schema: &schema,
        };
        let ck = Checkpoint {
            config: trainer.config().clone(),
            state: trainer.state(),
            data: DataIdentity {
                path: "synthetic".into(),
                n_samples: 100,
                n_features: 8,
                fingerprint: 0,
                val_split: 0.0,
            },
            lr_given: 0.5,
            rollback: rollback.cloned(),
            run: trainer.run_state().clone(),
            full_batch: None,
        };
        self.bytes = Some(checkpoint::to_bytes(model, &ck)?);
        Ok(())
    }
}

#[test]
fn a_run_resumed_mid_epoch_with_plateau_and_early_stopping_is_bit_identical() {
    let train = data(100, 1, true);
    let test = data(60, 9, false);
    let rules = StopRules {
        min_change: Some(1e-9),
        early_stopping: Some(EarlyStopping { patience: 4, monitor: Monitor::Loss, restore_best: true }),
        ..StopRules::default()
    };
    let policy = policy(Schedule::Plateau { patience: 1, factor: 0.5 }, rules);
    let (whole, history, reason) = run(config(60, 0.5), &policy, Some(&test));
    assert!(matches!(reason, Some(StopReason::EarlyStopping { .. })), "{reason:?}");
    assert!(history.len() > 4, "{}", history.len());
    // The same run stopped in the middle of epoch 4 (7 mini-batches per epoch, polled after
    // each but the last, and once more at each epoch's end).
    let mut net = network();
    let mut stop = StopAt { at: 3 * 7 + 2, polls: 0, bytes: None };
    let first = Trainer::new(&mut net, &train, config(60, 0.5))
        .unwrap()
        .run_policy(&train, Some(&test), &policy, &mut stop)
        .unwrap();
    assert!(first.stopped);
    let (model, ck) = checkpoint::from_bytes(std::path::Path::new("ck"), &stop.bytes.unwrap()).unwrap();
    assert!(ck.state.next_batch > 0 && ck.state.epoch == 3, "{} {}", ck.state.epoch, ck.state.next_batch);
    assert!(ck.run.plateau.reductions > 0 || ck.run.plateau.best.is_some());
    let mut net = model.net;
    let mut trainer = Trainer::new(&mut net, &train, ck.config).unwrap();
    trainer.restore(ck.state).unwrap();
    trainer.restore_run_state(ck.run).unwrap();
    let rest = trainer.run_policy(&train, Some(&test), &policy, &mut Silent).unwrap();
    assert_eq!(rest.reason, reason);
    assert_eq!(bits(net.params()), whole, "the resumed run's weights differ");
    let resumed: Vec<(f64, f32)> =
        first.history.iter().chain(&rest.history).map(|m| (m.loss, m.lr)).collect();
    let straight: Vec<(f64, f32)> = history.iter().map(|m| (m.loss, m.lr)).collect();
    assert_eq!(resumed, straight);
}

#[test]
fn settings_out_of_range_are_refused_naming_the_field() {
    let cases = [
        (policy(Schedule::Step { every: 0, gamma: 0.5 }, StopRules::default()), "`lr_step`"),
        (policy(Schedule::Plateau { patience: 2, factor: 1.0 }, StopRules::default()), "`lr_factor`"),
        (policy(Schedule::Cosine { min: 1.0 }, StopRules::default()), "`lr_min`"),
        (
            policy(Schedule::Constant, StopRules { target_loss: Some(-1.0), ..StopRules::default() }),
            "`target_loss`",
        ),
        (
            policy(
                Schedule::Constant,
                StopRules {
                    early_stopping: Some(EarlyStopping {
                        patience: 2,
                        monitor: Monitor::Loss,
                        restore_best: false,
                    }),
                    ..StopRules::default()
                },
            ),
            "`early_stopping`",
        ),
    ];
    let train = data(100, 1, true);
    for (policy, field) in cases {
        let mut net = network();
        let err = Trainer::new(&mut net, &train, config(2, 0.1)).unwrap().run_policy(
            &train,
            None,
            &policy,
            &mut Silent,
        );
        let message = err.unwrap_err().to_string();
        assert!(message.contains(field), "{message}");
    }
}
