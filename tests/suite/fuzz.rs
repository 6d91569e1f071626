//! Property-based fuzzing of everything that reads untrusted bytes: the CSV and IDX readers
//! and the model and checkpoint loaders (on damaged models and damaged checkpoints). Each
//! must return Ok or a clear Err, never panic, and never allocate from a size it has not
//! checked. Bounded (a few hundred cases each) so it runs in CI with the other tests.

use bp_par::data::{self, ClassNames, Delimiter, LabelCol, LoadOptions, Missing};
use bp_par::{checkpoint, model};
use proptest::prelude::*;
use std::path::Path;

/// Bytes that look like CSV: digits, separators, signs, exponents, quotes, line ends, junk.
fn csv_like() -> impl Strategy<Value = Vec<u8>> {
    let alphabet: Vec<u8> = b"0123456789012345.,,,,-+eE\n\n\r \"abnNiIfF\t;\xef\xbb\xbf\x00".to_vec();
    prop::collection::vec(prop::sample::select(alphabet), 0..400)
}

fn options() -> impl Strategy<Value = LoadOptions> {
    let dialect = (0usize..5, 0usize..4, prop::option::weighted(0.2, 2usize..4), 0usize..3);
    (
        0usize..6,
        prop::option::of(1usize..4),
        prop::option::of(1usize..12),
        prop::option::of(1usize..5),
        dialect,
    )
        .prop_map(|(col, targets, classes, width, (missing, delimiter, one_hot, names))| LoadOptions {
            label_col: match col {
                0 => LabelCol::Auto,
                1 => LabelCol::First,
                2 => LabelCol::Last,
                3 => LabelCol::Index(2),
                4 => LabelCol::Name("label".into()),
                _ => LabelCol::Index(99),
            },
            targets,
            classes,
            unlabeled_width: width,
            missing: [
                Missing::Error,
                Missing::Mean,
                Missing::Zero,
                Missing::Drop,
                Missing::Fill(vec![0.5; 3]),
            ][missing]
                .clone(),
            delimiter: [
                Delimiter::Auto,
                Delimiter::Char(b';'),
                Delimiter::Whitespace,
                Delimiter::Char(b'\t'),
            ][delimiter],
            one_hot,
            class_names: match names {
                0 => ClassNames::Auto,
                1 => ClassNames::Numbers,
                _ => ClassNames::Names(vec!["a".into(), "b".into(), "1".into()]),
            },
            ..LoadOptions::default()
        })
}

/// An IDX header (possibly forged) followed by a body of any length.
fn idx_like() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec![0x08u8, 0x08, 0x08, 0x09, 0x0d, 0x01]),
        0u8..5,
        prop::collection::vec(prop::sample::select(vec![0u32, 1, 2, 3, 28, 60000, u32::MAX, 1 << 20]), 0..5),
        prop::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(ty, ndim, dims, body)| {
            let mut v = vec![0, 0, ty, ndim];
            for d in dims {
                v.extend_from_slice(&d.to_be_bytes());
            }
            v.extend(body);
            v
        })
}

fn model_bytes() -> Vec<u8> {
    use bp_par::{activation::Activation, data::Normalization, loss::Loss, network::*};
    let arch = Arch::new(vec![4, 3, 2], Activation::Tanh, Loss::Xent).unwrap();
    let model = model::Model::new(
        Network::init(arch, 1),
        Normalization::ZScore { mean: vec![0.5; 4], std: vec![2.0; 4] },
        model::Task::Classify,
        Some([2, 2]),
        Default::default(),
    )
    .unwrap();
    model::to_bytes(&model).unwrap()
}

/// A checkpoint of the model of [`model_bytes`] with a rollback point: velocities, row
/// orders and rollback weights as tensors, the rest as metadata.
fn checkpoint_bytes() -> Vec<u8> {
    use bp_par::checkpoint::{Checkpoint, DataIdentity, Rollback};
    use bp_par::train::{OptimizerState, TrainConfig, TrainState};
    let model = model::from_bytes(Path::new("m"), &model_bytes()).unwrap();
    let n_params = model.net.arch().n_params();
    let state = TrainState {
        epoch: 1,
        next_batch: 1,
        order: vec![1, 0, 2],
        rng_word_pos: 40,
        optimizer: OptimizerState::Momentum { velocity: (0..n_params).map(|i| i as f32 / 8.0).collect() },
        loss_sum: 0.75,
        correct: 1,
        done: 2,
        seconds: 0.25,
    };
    let ck = Checkpoint {
        config: TrainConfig { epochs: 3, batch: 2, ..TrainConfig::default() },
        state: state.clone(),
        data: DataIdentity {
            path: "d.csv".into(),
            n_samples: 3,
            n_features: 4,
            fingerprint: 9,
            val_split: 0.0,
        },
        lr_given: 0.1,
        rollback: Some(Rollback { params: model.net.params().to_vec(), state, retries: 1 }),
        run: bp_par::train::RunState::new(0.1),
        full_batch: None,
    };
    let bytes = checkpoint::to_bytes(model.view(), &ck).unwrap();
    assert_eq!(checkpoint::from_bytes(Path::new("ck"), &bytes).unwrap(), (model, ck), "undamaged, it loads");
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn csv_reader_never_panics(bytes in csv_like(), opts in options()) {
        let _ = data::parse_csv(Path::new("fuzz.csv"), &bytes, &opts);
    }

    #[test]
    fn csv_reader_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = data::parse_csv(Path::new("fuzz.csv"), &bytes, &LoadOptions::default());
    }

    #[test]
    fn idx_reader_never_panics(bytes in idx_like(), opts in options()) {
        let opts = LoadOptions { targets: None, label_col: LabelCol::Auto, ..opts };
        let _ = data::from_bytes(Path::new("fuzz-images-idx3-ubyte"), &bytes, &opts);
    }

    #[test]
    fn model_loader_never_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let bytes = damage(model_bytes(), edits, truncate.then_some(cut));
        let _ = model::from_bytes(Path::new("fuzz.safetensors"), &bytes);
        let _ = checkpoint::from_bytes(Path::new("fuzz.safetensors"), &bytes);
    }

    #[test]
    fn checkpoint_loader_never_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let bytes = damage(checkpoint_bytes(), edits, truncate.then_some(cut));
        let _ = checkpoint::from_bytes(Path::new("fuzz.safetensors"), &bytes);
    }
}

/// `bytes` with each `(at, value)` of `edits` written, then cut at `cut` if given.
fn damage(
    mut bytes: Vec<u8>,
    edits: Vec<(prop::sample::Index, u8)>,
    cut: Option<prop::sample::Index>,
) -> Vec<u8> {
    for (at, value) in edits {
        let i = at.index(bytes.len());
        bytes[i] = value;
    }
    if let Some(cut) = cut {
        bytes.truncate(cut.index(bytes.len() + 1));
    }
    bytes
}

#[test]
fn wrong_tensor_shapes_and_versions_are_clear_errors() {
    // Re-label the first weight's shape in the header: [3,4] -> [4,3] (same byte count).
    let bytes = model_bytes();
    let needle = br#""layers.0.weight":{"dtype":"F32","shape":[3,4]"#;
    let at = bytes.windows(needle.len()).position(|w| w == needle).expect("header layout");
    let mut forged = bytes.clone();
    let shape_at = at + needle.len() - 4;
    forged[shape_at] = b'4';
    forged[shape_at + 2] = b'3';
    let err = model::from_bytes(Path::new("m"), &forged).unwrap_err().to_string();
    assert_eq!(err, "m: tensor \"layers.0.weight\" has shape [4, 3], expected [3, 4]");
    let err = checkpoint::from_bytes(Path::new("m"), &bytes).unwrap_err().to_string();
    assert_eq!(err, "m: is a model, not a checkpoint (no trainer state)");
}

/// Checkpoints written by real runs of every optimiser (sgd with momentum, adam, cg, lbfgs,
/// rprop), made once: a 12-row, 3-feature, 2-class file, two epochs or iterations.
fn optimizer_checkpoints() -> &'static [(&'static str, Vec<u8>)] {
    static MADE: std::sync::OnceLock<Vec<(&'static str, Vec<u8>)>> = std::sync::OnceLock::new();
    MADE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let rows: String =
            (0..12).map(|i| format!("{},{},{},{}\n", i % 2, i % 3, (i * 7) % 5, i % 4)).collect();
        std::fs::write(dir.path().join("d.csv"), format!("label,a,b,c\n{rows}")).unwrap();
        ["sgd", "adam", "cg", "lbfgs", "rprop"]
            .into_iter()
            .map(|opt| {
                let steps = if matches!(opt, "cg" | "lbfgs") { "--max-iter" } else { "--epochs" };
                let mut args = vec!["train", "d.csv", "--hidden", "3", "--optimizer", opt, steps, "2"];
                args.extend(["--checkpoint", "ck.st", "-q", "--val-split", "0.25"]);
                if matches!(opt, "sgd" | "adam") {
                    args.extend(["--batch", "4", "--on-divergence", "halve-lr"]);
                }
                let out = std::process::Command::new(env!("CARGO_BIN_EXE_bp-par"))
                    .args(&args)
                    .current_dir(dir.path())
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{opt}: {}", String::from_utf8_lossy(&out.stderr));
                (opt, std::fs::read(dir.path().join("ck.st")).unwrap())
            })
            .collect()
    })
}

/// The byte ranges of a checkpoint's f32/f64 tensors' data: (name, start, end, element size).
fn float_tensors(bytes: &[u8]) -> Vec<(String, usize, usize, usize)> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    header
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(name, t)| {
            let size = match t.get("dtype")?.as_str()? {
                "F32" => 4,
                "F64" => 8,
                _ => return None,
            };
            let off = t.get("data_offsets")?.as_array()?;
            let (a, b) = (off[0].as_u64()? as usize, off[1].as_u64()? as usize);
            (b > a).then(|| (name.clone(), 8 + n + a, 8 + n + b, size))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Damaged checkpoints of every optimiser never panic, and one that loads holds only what
    /// a run could have written: settings in range, a position a run could reach.
    #[test]
    fn checkpoints_of_every_optimizer_load_or_are_refused(
        which in 0usize..5,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let (opt, good) = &optimizer_checkpoints()[which];
        let bytes = damage(good.clone(), edits, None);
        if let Ok((model, ck)) = checkpoint::from_bytes(Path::new("ck.st"), &bytes) {
            prop_assert!(ck.config.validate().is_ok(), "{opt}: {:?}", ck.config);
            prop_assert!(ck.state.correct <= ck.state.done && ck.state.done <= ck.data.n_samples, "{opt}");
            prop_assert!(ck.state.loss_sum.is_finite() && ck.state.loss_sum >= 0.0, "{opt}");
            prop_assert!(model.net.params().iter().all(|v| v.is_finite()), "{opt}");
        }
    }

    /// A NaN or an infinity written into any float tensor of any optimiser's checkpoint (its
    /// velocities, moments, L-BFGS history, rollback or weights) is refused, naming the tensor.
    #[test]
    fn non_finite_checkpoint_tensors_are_refused(
        which in 0usize..5,
        pick in any::<prop::sample::Index>(),
        element in any::<prop::sample::Index>(),
        value in prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY]),
    ) {
        let (opt, good) = &optimizer_checkpoints()[which];
        let tensors = float_tensors(good);
        let (name, start, end, size) = &tensors[pick.index(tensors.len())];
        let at = start + element.index((end - start) / size) * size;
        let mut bytes = good.clone();
        if *size == 4 {
            bytes[at..at + 4].copy_from_slice(&(value as f32).to_le_bytes());
        } else {
            bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
        }
        let err = checkpoint::from_bytes(Path::new("ck.st"), &bytes).map(|_| ()).unwrap_err().to_string();
        // The model's own weights are named by layer, the rest by tensor.
        let named = err.contains(&format!("{name:?}"))
            || name.starts_with("layers.") && err.contains("holds non-finite parameters");
        prop_assert!(named, "{opt}: {name}: {err}");
    }

    /// A label column of whole numbers with a few stray tokens is refused, or read as numbers;
    /// it is never read as class names unless every label is a name.
    #[test]
    fn stray_labels_never_become_class_names(
        labels in prop::collection::vec(0u32..4, 12..40),
        strays in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec![
            "three", "0x3", "\u{663}", "5x", "\u{feff}5", "1e3", "-1", "2.5", "cat", "4", "7",
        ])), 0..3),
    ) {
        let mut texts: Vec<String> = labels.iter().map(u32::to_string).collect();
        for (at, token) in &strays {
            let i = at.index(texts.len());
            texts[i] = token.to_string();
        }
        let rows: String = texts.iter().enumerate().map(|(i, l)| format!("{l},{},{}\n", i % 5, i % 7)).collect();
        let text = format!("label,a,b\n{rows}");
        if let Ok(d) = data::parse_csv(Path::new("fuzz.csv"), text.as_bytes(), &LoadOptions::default())
            && d.schema().class_names.is_some()
        {
            let numeric = texts.iter().filter(|t| t.trim().parse::<f64>().is_ok()).count();
            prop_assert_eq!(numeric, 0, "names read from {:?}", texts);
        }
    }
}
