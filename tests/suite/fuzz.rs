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
