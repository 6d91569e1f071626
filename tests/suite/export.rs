//! `bp-par export`: a model out as ONNX (its graph read back with the ONNX messages; the
//! numbers are checked in ONNX Runtime by python/tests/test_onnx.py), bad files refused in
//! one line, an existing output never replaced by a failed export, a regression model's
//! rows read for predict without targets.

use super::harness::{Dir, repo_file};
use onnx_protobuf::{Message, ModelProto};

#[test]
fn a_trained_model_exports_as_one_onnx_graph_with_its_names() {
    let d = Dir::new();
    d.write("named.csv", "kind,a,b\nyes,1,2\nno,3,1\nyes,0,2\nno,4,0\nyes,1,3\nno,5,1\n");
    d.run(&[
        "train",
        "named.csv",
        "--epochs",
        "2",
        "--val-split",
        "0",
        "--normalize",
        "zscore",
        "--save",
        "m.st",
        "-q",
    ])
    .ok();
    let run = d.run(&["export", "m.st", "-o", "m.onnx"]).ok();
    assert!(
        run.stderr.contains("wrote m.onnx") && run.stderr.contains("the label column (column 0 (\"kind\"")
    );
    let proto = ModelProto::parse_from_bytes(&std::fs::read(d.path("m.onnx")).unwrap()).unwrap();
    assert_eq!((proto.ir_version, proto.opset_import[0].version), (8, 13));
    assert!(proto.doc_string.starts_with("bp-par "), "{}", proto.doc_string);
    let props: Vec<(&str, &str)> =
        proto.metadata_props.iter().map(|p| (p.key.as_str(), p.value.as_str())).collect();
    assert!(props.contains(&("class_names", "[\"no\",\"yes\"]")), "{props:?}");
    assert!(props.contains(&("feature_names", "[\"a\",\"b\"]")), "{props:?}");
    let graph = proto.graph.as_ref().unwrap();
    let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
    assert_eq!(ops, ["Sub", "Div", "Gemm", "Relu", "Gemm", "Softmax", "ArgMax"]);
    // Exporting twice writes the same bytes.
    d.run(&["export", "m.st", "-o", "again.onnx", "-q"]).ok();
    assert_eq!(std::fs::read(d.path("m.onnx")).unwrap(), std::fs::read(d.path("again.onnx")).unwrap());
}

#[test]
fn checkpoints_and_foreign_or_cut_files_are_refused_and_leave_the_output_alone() {
    let d = Dir::new();
    let digits = repo_file("datasets/digits.csv");
    d.run(&["train", &digits, "--epochs", "1", "--checkpoint", "ck.st", "-q"]).ok();
    let ck = std::fs::read(d.path("ck.st")).unwrap();
    d.write("cut.st", &ck[..ck.len() / 2]);
    d.write("out.onnx", "an earlier export");
    for (file, why) in [
        ("ck.st", "is a checkpoint (a run in progress), not a model"),
        ("cut.st", "not a valid safetensors file"),
        (digits.as_str(), "not a valid safetensors file"),
        ("missing.st", "missing.st"),
    ] {
        let run = d.run(&["export", file, "-o", "out.onnx"]);
        assert_eq!(run.code, 1, "{file}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(run.stderr.contains(why), "{file}: {}", run.stderr);
        assert_eq!(std::fs::read(d.path("out.onnx")).unwrap(), b"an earlier export");
    }
}

#[test]
fn a_regression_model_predicts_a_npy_without_targets() {
    let d = Dir::new();
    let rows: String = (0..40).map(|i| format!("{},{},{}\n", i % 7, i % 5, (i % 7) as f32 * 0.5)).collect();
    d.write("reg.csv", format!("a,b,y\n{rows}"));
    d.run(&[
        "train",
        "reg.csv",
        "--targets",
        "1",
        "--loss",
        "mse",
        "--output",
        "linear",
        "--epochs",
        "2",
        "--save",
        "r.st",
        "-q",
    ])
    .ok();
    // A .npy of the features alone, as numpy writes it.
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
    let header = format!("{header:<117}\n");
    npy.extend((header.len() as u16).to_le_bytes());
    npy.extend(header.as_bytes());
    npy.extend([1.0f32, 2.0, 3.0, 4.0].iter().flat_map(|v| v.to_le_bytes()));
    d.write("x.npy", npy);
    let run = d.run(&["predict", "--model", "r.st", "x.npy"]).ok();
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
}
