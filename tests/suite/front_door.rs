//! The front door (issue 19): `bp-par train` and `fit::Mlp` give the same model file bytes
//! for any thread count; a model reads raw rows by construction (its normalisation, fills and
//! column checks applied); every public entry point answers hostile sizes and values with an
//! error, never a panic or a number.

use super::harness::{Dir, repo_file};
use bp_par::activation::Activation;
use bp_par::data::{self, Dataset, LoadOptions, Missing, Normalization, NormalizeMode, Targets};
use bp_par::fit::{ClassWeight, Mlp};
use bp_par::infer;
use bp_par::loss::Loss;
use bp_par::model::{self, Model, Task};
use bp_par::network::{Arch, Network};
use bp_par::train::{OnDivergence, Silent, TrainConfig, Trainer};
use bp_par::{Error, Threads};

fn digits() -> Dataset {
    data::load(repo_file("datasets/digits.csv").as_ref(), &LoadOptions::default()).unwrap()
}

fn threads(n: usize) -> Threads {
    Threads::new(n).unwrap()
}

/// The same settings and seed through the command line and through `Mlp::fit` write the same
/// model file, byte for byte, for 1, 2 and 3 threads (mini-batch with a validation split and
/// class weights; full-batch L-BFGS).
#[test]
fn the_command_line_and_the_front_door_write_the_same_model() {
    let dir = Dir::new();
    let data = digits();
    let runs: [(&[&str], Mlp); 2] = [
        (
            &[
                "--hidden",
                "16",
                "--epochs",
                "2",
                "--seed",
                "5",
                "--batch",
                "100",
                "--class-weight",
                "balanced",
            ],
            Mlp::new().hidden(&[16]).epochs(2).seed(5).batch(100).class_weight(ClassWeight::Balanced),
        ),
        (
            &[
                "--hidden",
                "8",
                "--optimizer",
                "lbfgs",
                "--max-iter",
                "4",
                "--activation",
                "tanh",
                "--val-split",
                "0",
            ],
            Mlp::new().hidden(&[8]).activation(Activation::Tanh).val_split(0.0).full_batch(
                bp_par::train::FullBatchConfig {
                    method: bp_par::train::FullBatchMethod::Lbfgs { memory: 10 },
                    max_iter: 4,
                    ..Default::default()
                },
            ),
        ),
    ];
    for (i, (flags, mlp)) in runs.iter().enumerate() {
        for n in [1, 2, 3] {
            let out = format!("cli{i}-{n}.st");
            let nt = n.to_string();
            let mut args = vec!["train", "--quiet", "--threads", &nt, "--save", &out];
            let file = repo_file("datasets/digits.csv");
            args.push(&file);
            args.extend(flags.iter());
            dir.run(&args).ok();
            let cli = std::fs::read(dir.path(&out)).unwrap();
            let ours = model::to_bytes(&mlp.clone().threads(threads(n)).fit(&data).unwrap()).unwrap();
            assert!(cli == ours, "run {i} ({flags:?}), {n} threads: the files differ");
        }
    }
}

/// A model normalises raw rows itself: its predictions on raw rows equal the hand-driven
/// path's on rows normalised by hand, and it refuses rows already normalised (which it would
/// otherwise normalise twice) and rows of another width.
#[test]
fn a_model_reads_raw_rows_and_refuses_misread_ones() {
    let (train, test) = digits().split(0.2, 3).unwrap();
    let model = Mlp::new().hidden(&[24]).epochs(3).threads(threads(2)).fit(&train).unwrap();
    assert_eq!(model.threads(), threads(2));
    let raw = model.evaluate(&test).unwrap();
    let by_hand = infer::evaluate(&model.net, &test.normalized(&model.norm).unwrap(), None).unwrap();
    assert_eq!((raw.correct, raw.loss), (by_hand.correct, by_hand.loss));
    assert!(raw.accuracy().unwrap() > 0.8, "{:?}", raw.accuracy());

    let normalized = test.normalized(&model.norm).unwrap();
    let err = model.evaluate(&normalized).unwrap_err().to_string();
    assert!(err.contains("normalised already"), "{err}");
    let err = test.normalized(&model.norm).unwrap().normalize(&model.norm).unwrap_err().to_string();
    assert!(err.contains("normalised already"), "{err}");

    let narrow = Dataset::from_rows(&test.features()[..399 * 4], 399).unwrap();
    let err = model.predict(&narrow).unwrap_err().to_string();
    assert!(err.contains("399 features per row, but the model takes 400"), "{err}");
    // The low-level path checks the width too (it used to read the rows misaligned).
    let err = infer::outputs(&model.net, &narrow).unwrap_err().to_string();
    assert!(err.contains("399 features per row"), "{err}");

    // Predictions for a few raw rows are the evaluated set's.
    let rows: Vec<f32> = (0..5).flat_map(|i| test.row(i).to_vec()).collect();
    let pred = model.predict(&Dataset::from_rows(&rows, 400).unwrap()).unwrap();
    let proba = model.predict_proba(&Dataset::from_rows(&rows, 400).unwrap()).unwrap();
    assert_eq!(pred.len(), 5);
    for (p, row) in pred.iter().zip(proba.chunks_exact(10)) {
        assert_eq!(*p as usize, bp_par::network::argmax(row));
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
}

/// Missing values: refused by default (naming the row and feature), filled with the training
/// rows' means under `missing` mean, and the model fills a raw row's NaN the same way.
#[test]
fn missing_values_are_refused_or_filled_by_the_fit_and_the_model() {
    let x: Vec<f64> = (0..200).flat_map(|i| [i as f64 % 7.0, (i * 3 % 11) as f64, f64::NAN]).collect();
    let mut x = x;
    (0..200).for_each(|i| x[i * 3 + 2] = if i % 5 == 0 { f64::NAN } else { (i % 2) as f64 });
    let y: Vec<u32> = (0..200).map(|i| (i % 2) as u32).collect();
    let data = Dataset::classes(&x, 3, &y, None).unwrap();
    let err = Mlp::new().epochs(1).threads(Threads::ONE).fit(&data).unwrap_err().to_string();
    assert!(err.contains("feature 2 (from 0) is missing (NaN)") && err.contains("`missing` mean"), "{err}");
    let model = Mlp::new().epochs(5).missing(Missing::Mean).threads(Threads::ONE).fit(&data).unwrap();
    let fill = model.schema.missing_fill.clone().expect("fills kept");
    assert_eq!(fill.len(), 3);
    assert!((fill[2] - 0.5).abs() < 0.1, "{fill:?}");
    let with_nan = Dataset::from_rows(&[1.0f32, 2.0, f32::NAN], 3).unwrap();
    let filled = Dataset::from_rows(&[1.0f32, 2.0, fill[2]], 3).unwrap();
    assert_eq!(model.predict_proba(&with_nan).unwrap(), model.predict_proba(&filled).unwrap());
    // A model trained without missing values keeps no fills, and refuses a NaN.
    let plain = Mlp::new().epochs(1).val_split(0.0).threads(Threads::ONE);
    let clean = Dataset::classes(&[0.0f32, 1.0, 1.0, 0.0, 0.5, 0.5], 2, &[0, 1, 0], None).unwrap();
    let model = plain.fit(&clean).unwrap();
    let err = model.predict(&Dataset::from_rows(&[f32::NAN, 1.0], 2).unwrap()).unwrap_err().to_string();
    assert!(err.contains("row 0, feature 0 is missing"), "{err}");
}

/// Class names from memory: the model predicts indices into its names, and data with names
/// is mapped onto the model's classes by name (a subset in another order included).
#[test]
fn named_classes_from_memory_map_by_name() {
    let x: Vec<f32> = (0..300).map(|i| (i % 3) as f32 + 0.01 * (i % 7) as f32).collect();
    let names: Vec<&str> = (0..300).map(|i| ["cat", "dog", "emu"][i % 3]).collect();
    let data = Dataset::named_classes(&x, 1, &names).unwrap();
    let model = Mlp::new().hidden(&[8]).epochs(40).val_split(0.0).threads(Threads::ONE).fit(&data).unwrap();
    assert_eq!(model.class_names().unwrap(), ["cat", "dog", "emu"]);
    // Only dogs and emus, in the data's own sorted order (dog = 0, emu = 1).
    let some = Dataset::named_classes(&[1.0f32, 2.0, 1.0], 1, &["dog", "emu", "dog"]).unwrap();
    let e = model.evaluate(&some).unwrap();
    assert_eq!(e.correct, Some(3), "dog and emu are the model's classes 1 and 2");
    let unknown = Dataset::named_classes(&[1.0f32], 1, &["yak"]).unwrap();
    let err = model.evaluate(&unknown).unwrap_err().to_string();
    assert!(err.contains("\"yak\""), "{err}");
}

/// Hostile sizes and values at every public entry point: an error, never a panic, never a
/// number.
#[test]
fn hostile_inputs_are_errors_not_panics() {
    let fails = |what: &str, r: Result<(), Error>| assert!(r.is_err(), "{what}: accepted");
    let x4 = [0.0f32, 1.0, 2.0, 3.0];
    // Data from memory.
    fails("width 0", Dataset::from_rows(&x4, 0).map(drop));
    fails("ragged rows", Dataset::from_rows(&x4, 3).map(drop));
    fails("infinity", Dataset::from_rows(&[0.0f32, f32::INFINITY], 2).map(drop));
    fails("f64 beyond f32", Dataset::from_rows(&[1e300f64, 0.0], 2).map(drop));
    fails("fewer labels than rows", Dataset::classes(&x4, 1, &[0, 1, 0], None).map(drop));
    fails("more labels than rows", Dataset::classes(&x4, 2, &[0, 1, 0], None).map(drop));
    fails("label out of range", Dataset::classes(&x4, 2, &[0, 5], Some(2)).map(drop));
    fails("zero classes", Dataset::classes(&x4, 2, &[0, 0], Some(0)).map(drop));
    fails("no rows, classes inferred", Dataset::classes::<f32>(&[], 2, &[], None).map(drop));
    fails("short targets", Dataset::values(&x4, 2, &[0.5f32], 1).map(drop));
    fails("ragged targets", Dataset::values(&x4, 2, &[0.5f32, 0.5, 0.5], 2).map(drop));
    fails("NaN target", Dataset::values(&x4, 2, &[0.5f32, f32::NAN], 1).map(drop));
    fails("zero-width targets", Dataset::values(&x4, 2, &[], 0).map(drop));
    fails("empty class name", Dataset::named_classes(&x4, 2, &["a", ""]).map(drop));
    fails(
        "feature names of another count",
        Dataset::from_rows(&x4, 2).unwrap().with_feature_names(vec!["a".into()]).map(drop),
    );
    fails(
        "image shape of another size",
        Dataset::from_rows(&x4, 2).unwrap().with_image_shape([2, 2]).map(drop),
    );
    fails("fill values of another count", Dataset::from_rows(&x4, 2).unwrap().fill_missing(&[0.0]));

    // Settings.
    let tiny = Dataset::classes(&x4, 1, &[0, 1, 0, 1], None).unwrap();
    let bad_settings = [
        ("NaN lr", Mlp::new().lr(f32::NAN)),
        ("infinite lr", Mlp::new().lr(f32::INFINITY)),
        ("zero epochs", Mlp::new().epochs(0)),
        ("zero batch", Mlp::new().batch(0)),
        ("zero shard", Mlp::new().shard(0)),
        ("momentum 1", Mlp::new().momentum(1.0)),
        ("negative l2", Mlp::new().l2(-1.0)),
        ("val_split 1", Mlp::new().val_split(1.0)),
        ("NaN val_split", Mlp::new().val_split(f64::NAN)),
        ("zero hidden units", Mlp::new().hidden(&[4, 0])),
        ("clip_norm 0", Mlp::new().clip_norm(Some(0.0))),
        ("negative class weight", Mlp::new().class_weight(ClassWeight::Given(vec![1.0, -1.0]))),
        ("linear outputs with xent", Mlp::new().output(bp_par::loss::Output::Linear)),
        ("drop is for files", Mlp::new().missing(Missing::Drop)),
    ];
    for (what, mlp) in bad_settings {
        fails(what, mlp.validate());
        fails(what, mlp.threads(Threads::ONE).fit(&tiny).map(drop));
    }
    fails("zero lr", Mlp::new().lr(0.0).val_split(0.0).fit(&tiny).map(drop));
    let zero_weights = Mlp::new().class_weight(ClassWeight::Given(vec![0.0, 0.0])).val_split(0.0);
    fails("class weights all 0", zero_weights.fit(&tiny).map(drop));
    let one_class = Dataset::classes(&x4, 1, &[0, 0, 0, 0], None).unwrap();
    fails("a single class", Mlp::new().val_split(0.0).fit(&one_class).map(drop));
    let err = Dataset::classes(&x4, 2, &[0, 5], Some(2)).unwrap_err().to_string();
    assert!(err.contains("row 1: label 5 is not below the class count 2"), "{err}");
    let three_weights = Mlp::new().class_weight(ClassWeight::Given(vec![1.0; 3])).val_split(0.0);
    fails("class weights of another count", three_weights.fit(&tiny).map(drop));
    fails("0 threads", Threads::new(0).map(drop));
    fails("a split leaving no validation row", Mlp::new().val_split(0.1).fit(&tiny).map(drop));
    fails(
        "no targets to train on",
        Mlp::new().val_split(0.0).fit(&Dataset::from_rows(&x4, 1).unwrap()).map(drop),
    );
    fails(
        "targets beyond sigmoid outputs",
        Mlp::new()
            .loss(Loss::Bce)
            .val_split(0.0)
            .fit(&Dataset::values(&x4, 2, &[2.0f32, 0.5], 1).unwrap())
            .map(drop),
    );
    fails(
        "a network too large for the memory",
        Mlp::new().hidden(&[1 << 30]).val_split(0.0).fit(&tiny).map(drop),
    );

    // Models.
    let arch = Arch::new(vec![2, 3, 2], Activation::Tanh, Loss::Xent).unwrap();
    let net = Network::<f32>::init(arch.clone(), 1);
    fails("a short parameter vector", Network::from_params(arch.clone(), vec![0.0f32; 5]).map(drop));
    fails("a long parameter vector", Network::from_params(arch.clone(), vec![0.0f32; 50]).map(drop));
    let zscore = |w| Normalization::ZScore { mean: vec![0.0; w], std: vec![1.0; w] };
    fails(
        "z-scores of another width",
        Model::new(net.clone(), zscore(3), Task::Classify, None, Default::default()).map(drop),
    );
    fails(
        "a zero scale",
        Model::new(net.clone(), Normalization::Scale(0.0), Task::Classify, None, Default::default())
            .map(drop),
    );
    fails(
        "an input shape of another size",
        Model::new(net.clone(), zscore(2), Task::Classify, Some([3, 3]), Default::default()).map(drop),
    );
    let mut nan = net.clone();
    nan.params_mut()[0] = f32::NAN;
    fails(
        "NaN weights",
        Model::new(nan, Normalization::None, Task::Classify, None, Default::default()).map(drop),
    );
    let model =
        Model::new(net.clone(), Normalization::None, Task::Classify, None, Default::default()).unwrap();
    fails(
        "evaluate a label beyond the outputs",
        model.evaluate(&Dataset::classes(&[0.5f32, 0.5], 2, &[4], None).unwrap()).map(drop),
    );
    fails(
        "evaluate without targets",
        model.evaluate(&Dataset::from_rows(&[0.5f32, 0.5], 2).unwrap()).map(drop),
    );
    fails(
        "evaluate targets of another width",
        model.evaluate(&Dataset::values(&[0.5f32, 0.5], 2, &[0.5f32; 3], 3).unwrap()).map(drop),
    );
    fails("predict_proba of a regression", {
        let reg = Network::<f32>::init(Arch::new(vec![2, 1], Activation::Tanh, Loss::Mse).unwrap(), 1);
        Model::new(reg, Normalization::None, Task::Regress, None, Default::default())
            .unwrap()
            .predict(&Dataset::from_rows(&[0.5f32, 0.5], 2).unwrap())
            .map(drop)
    });
    // The low-level passes.
    let wide = Dataset::classes(&[0.5f32; 6], 3, &[0, 1], None).unwrap();
    fails("outputs of rows of another width", infer::outputs(&net, &wide).map(drop));
    fails("evaluate rows of another width", infer::evaluate(&net, &wide, None).map(drop));
    let big_label = Dataset::classes(&[0.5f32; 4], 2, &[0, 7], None).unwrap();
    fails("evaluate a label beyond the outputs", infer::evaluate(&net, &big_label, None).map(drop));
    let mut net2 = net.clone();
    fails(
        "train on labels beyond the outputs",
        Trainer::new(&mut net2, &big_label, TrainConfig::default()).map(drop),
    );
    let nan_rows = Dataset::classes(&[0.5f32, f32::NAN, 0.5, 0.5], 2, &[0, 1], None).unwrap();
    let err = Trainer::new(&mut net2, &nan_rows, TrainConfig::default()).map(drop).unwrap_err().to_string();
    assert!(err.contains("missing (NaN)"), "{err}");
    let fine = Dataset::classes(&[0.5f32, 0.1, 0.5, 0.5], 2, &[0, 1], None).unwrap();
    let mut trainer = Trainer::new(&mut net2, &fine, TrainConfig::default()).unwrap();
    fails("a NaN learning rate", trainer.set_lr(f32::NAN));
    fails("a negative learning rate", trainer.set_lr(-1.0));
    drop(trainer);
    // Normalisation.
    assert_eq!(Normalization::fit(NormalizeMode::Zscore, &[1.0, 2.0], 0), Normalization::None);
    fails("z-scores applied to rows of another width", zscore(3).apply(&mut [0.0; 4], 2));
    fails("values that are not whole rows", Normalization::Scale(2.0).apply(&mut [0.0; 5], 2));
    assert!(Targets::None == *Dataset::from_rows(&x4, 2).unwrap().targets());
}

/// A diverging run leaves the network exactly as it was at the start of the epoch in which
/// the loss diverged (here the first: the initial weights), finite, with `Error::Diverged`.
#[test]
fn a_diverged_run_leaves_the_weights_it_started_the_epoch_with() {
    let (train, _) = digits().split(0.5, 1).unwrap();
    let norm = Normalization::fit(NormalizeMode::Auto, train.features(), 400);
    let train = train.normalized(&norm).unwrap();
    let arch = Arch::new(vec![400, 32, 10], Activation::Relu, Loss::Xent).unwrap();
    let initial = Network::<f32>::init(arch, 2);
    let mut net = initial.clone();
    let cfg = TrainConfig { lr: 1e30, epochs: 2, ..TrainConfig::default() };
    let mut trainer = Trainer::with_threads(&mut net, &train, cfg, threads(2)).unwrap();
    let policy = bp_par::train::RunPolicy { on_divergence: OnDivergence::Stop, ..Default::default() };
    let err = trainer.run_policy(&train, None, &policy, &mut Silent).unwrap_err();
    assert!(matches!(err, Error::Diverged { epoch: 1, .. }), "{err}");
    drop(trainer);
    assert!(net.params() == initial.params(), "the weights of the epoch's start are back");
    // The front door says so too.
    let err = Mlp::new().lr(1e30).epochs(2).threads(Threads::ONE).fit(&digits()).unwrap_err();
    assert!(matches!(err, Error::Diverged { .. }), "{err}");
}

/// A new user's findings (helper review): a run whose weights diverge while a validation split
/// is watched is `Error::Diverged` (and halve-lr retries it), not a complaint about the inputs.
#[test]
fn a_diverged_run_watching_a_split_is_a_divergence() {
    let x: Vec<f32> = (0..40).map(|i| ((i * 7) % 19) as f32 / 9.5 - 1.0).collect();
    let y: Vec<u32> = (0..20).map(|i| (i % 2) as u32).collect();
    let data = Dataset::classes(&x, 2, &y, None).unwrap();
    let mlp = Mlp::new().hidden(&[8]).epochs(5).lr(1e30).threads(Threads::ONE);
    let err = mlp.clone().fit(&data).unwrap_err();
    assert!(matches!(err, Error::Diverged { .. }), "{err}");
    let halving = mlp.on_divergence(OnDivergence::HALVE_LR);
    // Ten halvings of 1e30 still diverge: the retries ran and the run then stopped as diverged.
    let err = halving.fit(&data).unwrap_err();
    assert!(matches!(err, Error::Diverged { .. }), "{err}");
}

/// Figures that would mean nothing are refused: targets of the other kind, no rows; a split
/// that would hold out a whole class; linear outputs for class labels; a missing value is
/// named in the caller's rows, before the split shuffles them.
#[test]
fn meaningless_figures_and_silent_losses_are_refused() {
    let x: Vec<f32> = (0..40).map(|i| (i % 5) as f32).collect();
    let y: Vec<u32> = (0..20).map(|i| u32::from(i % 5 > 1)).collect();
    let classes = Dataset::classes(&x, 2, &y, None).unwrap();
    let fit = Mlp::new().hidden(&[4]).epochs(2).val_split(0.0).threads(Threads::ONE);
    let classifier = fit.clone().fit(&classes).unwrap();
    let values = Dataset::values(&x, 2, &[0.5f32; 40], 2).unwrap();
    let err = classifier.evaluate(&values).unwrap_err().to_string();
    assert!(err.contains("the model is a classifier"), "{err}");
    let regression = fit.clone().loss(Loss::Mse).output(bp_par::loss::Output::Linear).fit(&values).unwrap();
    let err = regression.evaluate(&classes).unwrap_err().to_string();
    assert!(err.contains("predicts real values"), "{err}");
    let empty = Dataset::classes::<f32>(&[], 2, &[], Some(2)).unwrap();
    let err = classifier.evaluate(&empty).unwrap_err().to_string();
    assert!(err.contains("has no rows"), "{err}");

    let mut lone = y.clone();
    lone[3] = 2; // one row of class 2
    let lone = Dataset::classes(&x, 2, &lone, None).unwrap();
    let err = Mlp::new().val_split(0.5).threads(Threads::ONE).fit(&lone).unwrap_err().to_string();
    assert!(err.contains("holds out every row of class 2 (1 row)"), "{err}");
    let err = fit.clone().loss(Loss::Mse).output(bp_par::loss::Output::Linear).fit(&classes).unwrap_err();
    assert!(err.to_string().contains("`output` linear fits real-valued targets"), "{err}");

    let mut holed = x.clone();
    holed[2 * 7 + 1] = f32::NAN; // row 7, feature 1
    let holed = Dataset::classes(&holed, 2, &y, None).unwrap();
    let err = Mlp::new().threads(Threads::ONE).fit(&holed).unwrap_err().to_string();
    assert!(err.contains("row 7, feature 1 (from 0) is missing"), "{err}");

    assert!(Threads::new(100_000).is_err());
    let full = Mlp::new()
        .full_batch(bp_par::train::FullBatchConfig::default())
        .schedule(bp_par::train::Schedule::Step { every: 2, gamma: 0.5 });
    assert!(full.validate().is_err(), "a schedule does not apply to a full-batch fit");
    let step0 = Mlp::new().schedule(bp_par::train::Schedule::Step { every: 0, gamma: 0.5 });
    assert!(step0.validate().is_err(), "the schedule is checked with the other settings");
}

/// A library user's checkpoints: a run stopped after 2 of 4 epochs and resumed through the
/// front door gives the uninterrupted run's model, byte for byte; resuming with other settings
/// is refused (only the epochs may grow).
#[test]
fn a_checkpoint_resumes_through_the_front_door_to_the_same_model() {
    use bp_par::fit::{Checkpoints, Start};
    let data = digits().subset(&(0..1000).collect::<Vec<_>>());
    let dir = Dir::new();
    let ck = dir.path("ck.st");
    // A schedule moves the rate every epoch: the checkpoint holds the current one.
    let step = bp_par::train::Schedule::Step { every: 1, gamma: 0.5 };
    let mlp = Mlp::new().hidden(&[16]).epochs(4).seed(2).schedule(step).threads(threads(2));
    let whole = model::to_bytes(&mlp.fit(&data).unwrap()).unwrap();
    let mut first = mlp.clone().epochs(2).prepare(data.clone(), None, Start::New).unwrap();
    first.run(&mut Silent, Some(&Checkpoints { path: ck.clone(), every: Some(1) }), None).unwrap();
    let (m, c) = bp_par::checkpoint::load(&ck).unwrap();
    let start = || Start::Resume(m.clone(), Box::new(c.clone()));
    let err = mlp.clone().batch(32).prepare(data.clone(), None, start()).err().expect("refused");
    assert!(err.to_string().contains("differs from the checkpoint's"), "{err}");
    let err = mlp.clone().epochs(1).prepare(data.clone(), None, start()).err().expect("refused");
    assert!(err.to_string().contains("below the 2 epochs the checkpoint has completed"), "{err}");
    let mut rest = mlp.prepare(data.clone(), None, start()).unwrap();
    assert_eq!(rest.run(&mut Silent, None, None).unwrap().history.len(), 2);
    assert!(model::to_bytes(&rest.into_model()).unwrap() == whole, "the resumed model differs");
}
