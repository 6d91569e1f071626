//! Tests of the model format: round trips, byte-for-byte compatibility with the files of
//! the previous writer, and the errors on damaged or forged files.

use super::*;

fn model() -> Model {
    let arch = Arch::new(vec![4, 3, 2], Activation::Tanh, Loss::Bce).unwrap();
    Model {
        net: Network::init(arch, 5),
        norm: Normalization::ZScore { mean: vec![1.0; 4], std: vec![2.0; 4] },
        task: Task::Classify,
        input_shape: Some([2, 2]),
        schema: Default::default(),
        threads: crate::Threads::ONE,
    }
}

/// `bytes` with the first occurrence of `from` replaced by `to` (of the same length, so
/// the safetensors header stays valid).
fn edit(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = bytes.windows(from.len()).position(|w| w == from.as_bytes()).expect(from);
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to.as_bytes());
    out
}

#[test]
fn round_trip_and_deterministic_bytes() {
    let m = model();
    let bytes = to_bytes(&m).unwrap();
    assert_eq!(bytes, to_bytes(&m).unwrap());
    assert_eq!(from_bytes(Path::new("m"), &bytes).unwrap(), m);
    let regress = Model { norm: Normalization::Scale(16.0), task: Task::Regress, input_shape: None, ..m };
    assert_eq!(from_bytes(Path::new("m"), &to_bytes(&regress).unwrap()).unwrap(), regress);
}

#[test]
fn the_metadata_is_the_previous_versions_byte_for_byte() {
    // Copied from a file written by the hand-written writer this serde one replaced
    // (`bp-par train datasets/digits.csv --hidden 16 --normalize scale --save m.st` at commit
    // d06d685): the same keys, sorted, and the same numbers, so model files stay
    // byte-identical across the change (the whole files were compared too).
    let arch = Arch::new(vec![400, 16, 10], Activation::Relu, Loss::Xent).unwrap();
    let m = Model {
        net: Network::init(arch, 1),
        norm: Normalization::Scale(255.0),
        task: Task::Classify,
        input_shape: Some([20, 20]),
        schema: Default::default(),
        threads: crate::Threads::ONE,
    };
    let file = to_bytes(&m).unwrap();
    let meta = parse(Path::new("m"), &file).unwrap().meta;
    assert_eq!(
        meta,
        r#"{"activations":["relu","softmax"],"format_version":1,"hidden_activation":"relu","input_shape":[20,20],"layers":[400,16,10],"loss":"xent","normalization":{"divisor":255.0,"kind":"scale"},"task":"classify"}"#
    );
}

#[test]
fn damaged_files_give_errors_not_panics() {
    let bytes = to_bytes(&model()).unwrap();
    for cut in [0, 4, 8, 20, bytes.len() / 2, bytes.len() - 1] {
        let err = from_bytes(Path::new("m.safetensors"), &bytes[..cut]).unwrap_err().to_string();
        assert!(err.starts_with("m.safetensors: "), "{err}");
    }
    let err = |bytes: &[u8]| from_bytes(Path::new("m"), bytes).unwrap_err().to_string();
    let newer = edit(&bytes, r#"\"format_version\":1"#, r#"\"format_version\":9"#);
    assert_eq!(err(&newer), "m: was written by a newer bp-par (model format 9); this build reads format 1");
    let older = edit(&bytes, r#"\"format_version\":1"#, r#"\"format_version\":0"#);
    assert!(err(&older).contains("an older bp-par (model format 0)"), "{}", err(&older));
    let task = edit(&bytes, "classify", "classifx");
    assert_eq!(
        err(&task),
        "m: metadata field \"task\" is invalid: unknown variant `classifx`, expected `classify` or `regress`"
    );
    let shape = edit(&bytes, r#"\"input_shape\":[2,2]"#, r#"\"input_shape\":[2,3]"#);
    assert_eq!(
        err(&shape),
        "m: metadata \"input_shape\" [2, 3] does not match the 4 inputs of layers [4, 3, 2]"
    );
    let layers = edit(&bytes, r#"\"layers\":"#, r#"\"layerz\":"#);
    assert_eq!(err(&layers), "m: metadata lacks the field \"layers\"");
    let act = edit(&bytes, r#"\"hidden_activation\":\"tanh\""#, r#"\"hidden_activation\":\"relu\""#);
    assert!(
        err(&act).starts_with("m: metadata \"activations\" [\"tanh\", \"sigmoid\"] do not match"),
        "{}",
        err(&act)
    );
}

#[test]
fn non_finite_weights_and_statistics_are_refused() {
    let mut m = model();
    m.net.params[m.net.arch.bias_range(1).start] = f32::NAN;
    let err = from_bytes(Path::new("m"), &to_bytes(&m).unwrap()).unwrap_err().to_string();
    assert_eq!(err, "m: layer 1 holds non-finite parameters (NaN or infinity)");
    let m = Model { norm: Normalization::ZScore { mean: vec![0.0; 4], std: vec![0.0; 4] }, ..model() };
    let err = from_bytes(Path::new("m"), &to_bytes(&m).unwrap()).unwrap_err().to_string();
    assert_eq!(err, "m: normalize.mean/std hold non-finite or non-positive values");
}

#[test]
fn a_model_keeps_its_images_statistics_and_checks_them_on_load() {
    use crate::data::image::ImageStats;
    use crate::model::{self, Model, Task};
    use crate::network::{Arch, Network};
    let stats = ImageStats { background: 0.0, ink: 255.0, box_side: 3.0, centre: [1.75, 2.0] };
    let arch =
        Arch::new(vec![16, 3, 2], crate::activation::Activation::Tanh, crate::loss::Loss::Xent).unwrap();
    let m = Model {
        net: Network::init(arch, 1),
        norm: crate::data::Normalization::Scale(255.0),
        task: Task::Classify,
        input_shape: Some([4, 4]),
        schema: crate::data::Schema { image: Some(stats.clone()), ..Default::default() },
        threads: crate::Threads::ONE,
    };
    let bytes = model::to_bytes(&m).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains(r#"\"image\":{\"background\":0.0,\"box\":3.0,\"centre\":[1.75,2.0],\"ink\":255.0}"#),
        "{text}"
    );
    assert_eq!(model::from_bytes("m".as_ref(), &bytes).unwrap(), m);
    // A box larger than the images is refused.
    let mut bad = bytes.clone();
    let key = br#"\"box\":3.0"#;
    let at = bad.windows(key.len()).position(|w| w == key).unwrap();
    bad[at + key.len() - 3] = b'9';
    let e = model::from_bytes("m".as_ref(), &bad).unwrap_err().to_string();
    assert_eq!(e, "m: metadata \"schema.image\" box 9 does not fit images of 4x4");
}
