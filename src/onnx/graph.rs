//! The ONNX graph of a model: nodes, initializers, inputs and outputs, and the model's
//! metadata, as `onnx-protobuf`'s messages.

use super::{IR_VERSION, OPSET};
use crate::data::Normalization;
use crate::loss::Output;
use crate::model::{Model, Task};
use onnx_protobuf::tensor_proto::DataType;
use onnx_protobuf::tensor_shape_proto::{Dimension, dimension};
use onnx_protobuf::type_proto::{self, Value as TypeValue};
use onnx_protobuf::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, TensorShapeProto, TypeProto, ValueInfoProto, attribute_proto::AttributeType,
};

/// The graph's input.
pub const INPUT: &str = "features";

/// A graph under construction: nodes in order, initializers, and the name of the latest value.
struct Builder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    last: String,
}

impl Builder {
    /// Adds a node `op` on `inputs` whose output is named `output` (and becomes the latest).
    fn node(&mut self, op: &str, inputs: &[&str], output: &str, attributes: Vec<AttributeProto>) {
        self.nodes.push(NodeProto {
            op_type: op.into(),
            name: format!("{op}_{}", self.nodes.len()),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            attribute: attributes,
            ..NodeProto::default()
        });
        self.last = output.into();
    }

    /// Adds `op` on the latest value and `more` inputs.
    fn then(&mut self, op: &str, more: &[&str], output: &str, attributes: Vec<AttributeProto>) {
        let last = self.last.clone();
        let inputs: Vec<&str> = std::iter::once(last.as_str()).chain(more.iter().copied()).collect();
        self.node(op, &inputs, output, attributes);
    }

    /// Adds a float32 initializer `name` of shape `dims` (little-endian raw data).
    fn constant(&mut self, name: &str, dims: &[usize], values: &[f32]) {
        self.initializers.push(TensorProto {
            name: name.into(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: DataType::FLOAT as i32,
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..TensorProto::default()
        });
    }
}

/// An integer attribute.
fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: value,
        type_: AttributeType::INT.into(),
        ..AttributeProto::default()
    }
}

/// A tensor's type: `elem` of shape `[N, width]` (`N` the dynamic batch), or `[N]`.
fn value_info(name: &str, elem: DataType, width: Option<usize>) -> ValueInfoProto {
    let batch = Dimension { value: Some(dimension::Value::DimParam("N".into())), ..Dimension::default() };
    let mut dim = vec![batch];
    if let Some(w) = width {
        dim.push(Dimension { value: Some(dimension::Value::DimValue(w as i64)), ..Dimension::default() });
    }
    let tensor = type_proto::Tensor {
        elem_type: elem as i32,
        shape: Some(TensorShapeProto { dim, ..TensorShapeProto::default() }).into(),
        ..type_proto::Tensor::default()
    };
    ValueInfoProto {
        name: name.into(),
        type_: Some(TypeProto { value: Some(TypeValue::TensorType(tensor)), ..TypeProto::default() }).into(),
        ..ValueInfoProto::default()
    }
}

/// The graph's nodes and initializers up to the output units: fills, normalisation, layers.
fn body(model: &Model, b: &mut Builder) {
    let arch = model.net.arch();
    let d = arch.n_in();
    if let Some(fill) = &model.schema.missing_fill {
        b.constant("missing_fill", &[d], fill);
        b.node("IsNaN", &[INPUT], "missing", vec![]);
        b.node("Where", &["missing", "missing_fill", INPUT], "filled", vec![]);
    }
    match &model.norm {
        Normalization::None => {}
        Normalization::Scale(s) => {
            b.constant("scale", &[], &[*s]);
            b.then("Div", &["scale"], "normalized", vec![]);
        }
        Normalization::ZScore { mean, std } => {
            b.constant("mean", &[d], mean);
            b.constant("std", &[d], std);
            b.then("Sub", &["mean"], "centred", vec![]);
            b.then("Div", &["std"], "normalized", vec![]);
        }
    }
    let n_layers = arch.n_layers();
    for l in 0..n_layers {
        let (w, bias) = model.net.layer(l);
        let (n_in, n_out) = (arch.sizes()[l], arch.sizes()[l + 1]);
        let (wn, bn) = (format!("layers.{l}.weight"), format!("layers.{l}.bias"));
        b.constant(&wn, &[n_out, n_in], w);
        b.constant(&bn, &[n_out], bias);
        b.then("Gemm", &[&wn, &bn], &format!("layers.{l}.z"), vec![int("transB", 1)]);
        if l + 1 < n_layers {
            let op = match arch.activation {
                crate::activation::Activation::Sigmoid => "Sigmoid",
                crate::activation::Activation::Tanh => "Tanh",
                crate::activation::Activation::Relu => "Relu",
            };
            b.then(op, &[], &format!("layers.{l}.a"), vec![]);
        }
    }
}

/// The whole model: graph, opset, metadata.
pub fn model_proto(model: &Model) -> ModelProto {
    let arch = model.net.arch();
    let mut b = Builder { nodes: Vec::new(), initializers: Vec::new(), last: INPUT.into() };
    body(model, &mut b);
    let out_name = match model.task {
        Task::Classify => "probabilities",
        Task::Regress => "outputs",
    };
    match arch.output() {
        Output::Softmax => b.then("Softmax", &[], out_name, vec![int("axis", 1)]),
        Output::Sigmoid => b.then("Sigmoid", &[], out_name, vec![]),
        Output::Linear => b.then("Identity", &[], out_name, vec![]),
    }
    let k = arch.n_out();
    let mut outputs = vec![value_info(out_name, DataType::FLOAT, Some(k))];
    if model.task == Task::Classify {
        b.then("ArgMax", &[], "label", vec![int("axis", 1), int("keepdims", 0)]);
        outputs.push(value_info("label", DataType::INT64, None));
    }
    let graph = GraphProto {
        name: "bp_par".into(),
        node: b.nodes,
        initializer: b.initializers,
        input: vec![value_info(INPUT, DataType::FLOAT, Some(arch.n_in()))],
        output: outputs,
        ..GraphProto::default()
    };
    ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
            ..Default::default()
        }],
        producer_name: "bp-par".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: doc_string(model),
        graph: Some(graph).into(),
        metadata_props: metadata(model),
        ..ModelProto::default()
    }
}

/// What the model is, in words, for the file's doc string.
fn doc_string(model: &Model) -> String {
    let arch = model.net.arch();
    let sizes: Vec<String> = arch.sizes().iter().map(ToString::to_string).collect();
    format!(
        "bp-par {}: a multilayer perceptron {} ({} hidden units, {} outputs, trained with {} loss), \
         normalization {}{}; input \"features\" [N, {}], outputs {}",
        env!("CARGO_PKG_VERSION"),
        sizes.join("-"),
        arch.activation.name(),
        arch.output().name(),
        arch.loss,
        model.norm.describe(),
        if model.schema.missing_fill.is_some() { ", missing values filled as in training" } else { "" },
        arch.n_in(),
        match model.task {
            Task::Classify => "\"probabilities\" [N, classes] and \"label\" [N] (the class index)",
            Task::Regress => "\"outputs\" [N, targets]",
        }
    )
}

/// The model's `metadata_props`: class and feature names (JSON arrays), the model file's
/// own metadata.
fn metadata(model: &Model) -> Vec<StringStringEntryProto> {
    let entry =
        |key: &str, value: String| StringStringEntryProto { key: key.into(), value, ..Default::default() };
    let json = |names: &[String]| serde_json::to_string(names).unwrap_or_default();
    let mut props = Vec::new();
    if let Some(names) = model.class_names() {
        props.push(entry("class_names", json(names)));
    }
    if let Some(names) = &model.schema.feature_names {
        props.push(entry("feature_names", json(names)));
    }
    if let Some(names) = &model.schema.target_names {
        props.push(entry("target_names", json(names)));
    }
    if let Ok(meta) = crate::model::metadata_json(model) {
        props.push(entry("bp_par", meta));
    }
    props
}
