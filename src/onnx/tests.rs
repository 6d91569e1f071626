//! The graph's structure as ONNX Runtime reads it (its numbers are checked against ONNX
//! Runtime by python/tests/test_onnx.py).

use super::*;
use crate::activation::Activation;
use crate::loss::{Loss, Output};
use crate::model::Task;
use crate::network::{Arch, Network};
use onnx_protobuf::ModelProto;

fn model(norm: Normalization, task: Task) -> Model {
    let arch = Arch::new(vec![4, 3, 2], Activation::Tanh, Loss::Xent).unwrap();
    let arch = if task == Task::Regress {
        Arch::new(vec![4, 3, 2], Activation::Tanh, Loss::Mse).unwrap().with_output(Output::Linear).unwrap()
    } else {
        arch
    };
    Model::new(Network::init(arch, 1), norm, task, None, Default::default()).unwrap()
}

use crate::data::Normalization;

#[test]
fn a_classifier_has_features_in_and_probabilities_and_label_out() {
    let m = model(Normalization::ZScore { mean: vec![0.5; 4], std: vec![2.0; 4] }, Task::Classify);
    let proto = ModelProto::parse_from_bytes(&to_onnx(&m).unwrap()).unwrap();
    assert_eq!((proto.ir_version, proto.opset_import[0].version), (IR_VERSION, OPSET));
    assert_eq!(proto.producer_name, "bp-par");
    let g = proto.graph.as_ref().unwrap();
    assert_eq!(g.input.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["features"]);
    assert_eq!(g.output.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["probabilities", "label"]);
    let ops: Vec<&str> = g.node.iter().map(|n| n.op_type.as_str()).collect();
    assert_eq!(ops, ["Sub", "Div", "Gemm", "Tanh", "Gemm", "Softmax", "ArgMax"]);
    // The weights are the model's, bit for bit.
    let w0 = g.initializer.iter().find(|t| t.name == "layers.0.weight").unwrap();
    let bits: Vec<u8> = m.net.layer(0).0.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!((w0.dims.as_slice(), &w0.raw_data), (&[3i64, 4][..], &bits));
    // The model file's own metadata, as the file holds it.
    let file = crate::model::to_bytes(&m).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&file).unwrap();
    let ours = proto.metadata_props.iter().find(|p| p.key == "bp_par").map(|p| p.value.as_str());
    assert_eq!(ours, meta.metadata().as_ref().and_then(|m| m.get("bp_par")).map(String::as_str));
}

#[test]
fn a_regression_model_has_linear_outputs_and_no_label() {
    let proto =
        ModelProto::parse_from_bytes(&to_onnx(&model(Normalization::Scale(255.0), Task::Regress)).unwrap())
            .unwrap();
    let g = proto.graph.as_ref().unwrap();
    assert_eq!(g.output.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["outputs"]);
    let ops: Vec<&str> = g.node.iter().map(|n| n.op_type.as_str()).collect();
    assert_eq!(ops, ["Div", "Gemm", "Tanh", "Gemm", "Identity"]);
}
