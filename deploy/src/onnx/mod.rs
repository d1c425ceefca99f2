//! A small ONNX model representation: encoding to and decoding from the protobuf bytes of an
//! `.onnx` file, and an interpreter ([`Graph::run`], [`Prepared`]) for the operators that the
//! exported policy networks use.
//!
//! Hand-written rather than prost or tract (tract pins a `half` version that conflicts with
//! burn's): the exported graphs need a dozen float operators, and only the parts of
//! `onnx.proto` listed here. Field numbers follow onnx/onnx.proto; files are written with IR
//! version 8 and one default-domain opset import. Tensors are written as little-endian
//! `raw_data`; decoding also accepts the typed `float_data`/`int32_data`/`int64_data` fields
//! (packed or not), so files re-saved by the Python `onnx` package still load. Unknown fields
//! are skipped; known features outside the subset (other data types, attribute kinds, operator
//! domains, external data) are errors rather than silently dropped.

mod eval;

use std::fmt;

pub use eval::Prepared;

use crate::protobuf::{
    DecodeError, Reader, Value, extend_fixed32, extend_varints, put_bytes, put_f32, put_int_field,
};

/// The IR version written (ONNX 1.10's): the checker and onnxruntime accept it with opset 17,
/// and older runtimes than a newer IR version would need.
const IR_VERSION: i64 = 8;

/// The element types supported: ONNX `TensorProto.DataType` FLOAT (1), BOOL (9), INT64 (7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElemType {
    Float,
    Bool,
    Int64,
}

impl ElemType {
    /// The `TensorProto.DataType` number.
    pub fn code(self) -> i64 {
        match self {
            ElemType::Float => 1,
            ElemType::Bool => 9,
            ElemType::Int64 => 7,
        }
    }

    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            1 => Some(ElemType::Float),
            9 => Some(ElemType::Bool),
            7 => Some(ElemType::Int64),
            _ => None,
        }
    }
}

/// A tensor's elements, row-major.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    Bool(Vec<bool>),
    I64(Vec<i64>),
}

impl Data {
    pub fn len(&self) -> usize {
        match self {
            Data::F32(v) => v.len(),
            Data::Bool(v) => v.len(),
            Data::I64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn elem(&self) -> ElemType {
        match self {
            Data::F32(_) => ElemType::Float,
            Data::Bool(_) => ElemType::Bool,
            Data::I64(_) => ElemType::Int64,
        }
    }
}

/// A dense tensor. The constructors do not check that `data` holds the product of `shape`
/// elements; [`Graph::run`] checks its inputs and initializers, and decoding checks tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Data,
}

impl Tensor {
    pub fn f32(shape: Vec<usize>, data: Vec<f32>) -> Self {
        Self {
            shape,
            data: Data::F32(data),
        }
    }

    pub fn i64(shape: Vec<usize>, data: Vec<i64>) -> Self {
        Self {
            shape,
            data: Data::I64(data),
        }
    }

    pub fn bool(shape: Vec<usize>, data: Vec<bool>) -> Self {
        Self {
            shape,
            data: Data::Bool(data),
        }
    }

    pub fn elem(&self) -> ElemType {
        self.data.elem()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            Data::F32(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<&[i64]> {
        match &self.data {
            Data::I64(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<&[bool]> {
        match &self.data {
            Data::Bool(v) => Some(v),
            _ => None,
        }
    }

    pub fn into_f32(self) -> Option<Vec<f32>> {
        match self.data {
            Data::F32(v) => Some(v),
            _ => None,
        }
    }
}

/// One dimension of a declared shape: a size, or a symbolic name (`dim_param`) that is free
/// but must take the same size wherever it appears in one run. `Named("")` is an unknown
/// dimension (a `Dimension` with neither field), free and unshared.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dim {
    Fixed(usize),
    Named(String),
}

impl From<usize> for Dim {
    fn from(size: usize) -> Self {
        Dim::Fixed(size)
    }
}

impl From<&str> for Dim {
    fn from(name: &str) -> Self {
        Dim::Named(name.to_owned())
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(size) => write!(f, "{size}"),
            Dim::Named(name) if name.is_empty() => f.write_str("?"),
            Dim::Named(name) => f.write_str(name),
        }
    }
}

/// A graph input or output: a tensor type with a shape of known rank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueInfo {
    pub name: String,
    pub elem: ElemType,
    pub dims: Vec<Dim>,
}

impl ValueInfo {
    pub fn new(name: impl Into<String>, elem: ElemType, dims: Vec<Dim>) -> Self {
        Self {
            name: name.into(),
            elem,
            dims,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Attribute {
    Int(i64),
    Ints(Vec<i64>),
    Float(f32),
}

/// An operator application. An empty input name is an omitted optional input.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub op: String,
    pub name: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: Vec<(String, Attribute)>,
}

impl Node {
    pub fn new(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> Self {
        Self {
            op: op.to_owned(),
            name: name.to_owned(),
            inputs: inputs.iter().map(|s| (*s).to_owned()).collect(),
            outputs: outputs.iter().map(|s| (*s).to_owned()).collect(),
            attributes: Vec::new(),
        }
    }

    pub fn with_attribute(mut self, name: &str, value: Attribute) -> Self {
        self.attributes.push((name.to_owned(), value));
        self
    }
}

/// A computation graph; `nodes` are in topological order, as ONNX requires.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Graph {
    pub name: String,
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<ValueInfo>,
    pub initializers: Vec<(String, Tensor)>,
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub graph: Graph,
    /// The default-domain ("ai.onnx") opset version.
    pub opset: i64,
    pub producer_name: String,
    pub producer_version: String,
    pub doc: String,
    /// `metadata_props`, in order.
    pub metadata: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnnxError {
    /// Bytes that are not a well-formed ONNX model.
    Decode(String),
    /// Valid ONNX outside the supported subset: an operator, data type, attribute kind.
    Unsupported(String),
    /// A shape that does not fit: a graph input or output against its declaration, or the
    /// operands of an operator.
    Shape(String),
    /// A tensor of the wrong element type.
    Type(String),
    /// A value that is needed but neither given nor computed.
    MissingInput(String),
    /// A malformed graph or call: duplicate names, wrong input counts, bad attribute values,
    /// inputs the graph does not declare.
    Invalid(String),
}

impl OnnxError {
    /// The same error with `prefix: ` before its message.
    pub(crate) fn context(self, prefix: &str) -> Self {
        let add = |m: String| format!("{prefix}: {m}");
        match self {
            OnnxError::Decode(m) => OnnxError::Decode(add(m)),
            OnnxError::Unsupported(m) => OnnxError::Unsupported(add(m)),
            OnnxError::Shape(m) => OnnxError::Shape(add(m)),
            OnnxError::Type(m) => OnnxError::Type(add(m)),
            OnnxError::MissingInput(m) => OnnxError::MissingInput(add(m)),
            OnnxError::Invalid(m) => OnnxError::Invalid(add(m)),
        }
    }
}

impl fmt::Display for OnnxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OnnxError::Decode(m) => write!(f, "malformed ONNX model: {m}"),
            OnnxError::Unsupported(m) => write!(f, "unsupported ONNX feature: {m}"),
            OnnxError::Shape(m) => write!(f, "ONNX shape mismatch: {m}"),
            OnnxError::Type(m) => write!(f, "ONNX type mismatch: {m}"),
            OnnxError::MissingInput(m) => write!(f, "missing ONNX value: {m}"),
            OnnxError::Invalid(m) => write!(f, "invalid ONNX graph or call: {m}"),
        }
    }
}

impl std::error::Error for OnnxError {}

// ---------------------------------------------------------------------------------------------
// Encoding. Fields are written in field-number order, as protobuf serializers do; repeated
// scalars of non-packed proto2 fields (dims, ints) unpacked, as they are declared.

impl Model {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_int_field(&mut out, 1, IR_VERSION);
        put_string(&mut out, 2, &self.producer_name);
        put_string(&mut out, 3, &self.producer_version);
        put_string(&mut out, 6, &self.doc);
        put_bytes(&mut out, 7, &encode_graph(&self.graph));
        let mut opset = Vec::new();
        put_int_field(&mut opset, 2, self.opset);
        put_bytes(&mut out, 8, &opset);
        for (key, value) in &self.metadata {
            let mut entry = Vec::new();
            put_string(&mut entry, 1, key);
            put_string(&mut entry, 2, value);
            put_bytes(&mut out, 14, &entry);
        }
        out
    }
}

/// Writes a string field unless empty (absent and empty read the same).
fn put_string(out: &mut Vec<u8>, field: u64, s: &str) {
    if !s.is_empty() {
        put_bytes(out, field, s.as_bytes());
    }
}

fn encode_graph(graph: &Graph) -> Vec<u8> {
    let mut out = Vec::new();
    for node in &graph.nodes {
        put_bytes(&mut out, 1, &encode_node(node));
    }
    put_string(&mut out, 2, &graph.name);
    for (name, tensor) in &graph.initializers {
        put_bytes(&mut out, 5, &encode_tensor(name, tensor));
    }
    for input in &graph.inputs {
        put_bytes(&mut out, 11, &encode_value_info(input));
    }
    for output in &graph.outputs {
        put_bytes(&mut out, 12, &encode_value_info(output));
    }
    out
}

fn encode_node(node: &Node) -> Vec<u8> {
    let mut out = Vec::new();
    // Empty input names are kept: they mark omitted optional inputs by position.
    for input in &node.inputs {
        put_bytes(&mut out, 1, input.as_bytes());
    }
    for output in &node.outputs {
        put_bytes(&mut out, 2, output.as_bytes());
    }
    put_string(&mut out, 3, &node.name);
    put_string(&mut out, 4, &node.op);
    for (name, attribute) in &node.attributes {
        let mut a = Vec::new();
        put_string(&mut a, 1, name);
        let kind = match attribute {
            Attribute::Float(f) => {
                put_f32(&mut a, 2, *f);
                1
            }
            Attribute::Int(i) => {
                put_int_field(&mut a, 3, *i);
                2
            }
            Attribute::Ints(ints) => {
                for i in ints {
                    put_int_field(&mut a, 8, *i);
                }
                7
            }
        };
        put_int_field(&mut a, 20, kind);
        put_bytes(&mut out, 5, &a);
    }
    out
}

fn encode_tensor(name: &str, tensor: &Tensor) -> Vec<u8> {
    let mut out = Vec::new();
    for &d in &tensor.shape {
        put_int_field(&mut out, 1, d as i64);
    }
    put_int_field(&mut out, 2, tensor.elem().code());
    put_string(&mut out, 8, name);
    let raw: Vec<u8> = match &tensor.data {
        Data::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::Bool(v) => v.iter().map(|&b| u8::from(b)).collect(),
    };
    put_bytes(&mut out, 9, &raw);
    out
}

fn encode_value_info(info: &ValueInfo) -> Vec<u8> {
    let mut shape = Vec::new();
    for dim in &info.dims {
        let mut d = Vec::new();
        match dim {
            Dim::Fixed(size) => put_int_field(&mut d, 1, *size as i64),
            Dim::Named(name) => put_string(&mut d, 2, name),
        }
        put_bytes(&mut shape, 1, &d);
    }
    let mut tensor_type = Vec::new();
    put_int_field(&mut tensor_type, 1, info.elem.code());
    put_bytes(&mut tensor_type, 2, &shape);
    let mut type_proto = Vec::new();
    put_bytes(&mut type_proto, 1, &tensor_type);
    let mut out = Vec::new();
    put_string(&mut out, 1, &info.name);
    put_bytes(&mut out, 2, &type_proto);
    out
}

// ---------------------------------------------------------------------------------------------
// Decoding.

/// Attaches the message being read to a wire-format error.
fn wire<T>(r: Result<T, DecodeError>, message: &str) -> Result<T, OnnxError> {
    r.map_err(|e| OnnxError::Decode(format!("{message}: {e}")))
}

fn string(value: Value<'_>, message: &str) -> Result<String, OnnxError> {
    let bytes = wire(value.bytes(), message)?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| OnnxError::Decode(format!("{message}: a string is not UTF-8")))
}

/// An int64 field: protobuf carries negative values as their two's complement.
fn int(value: Value<'_>, message: &str) -> Result<i64, OnnxError> {
    Ok(wire(value.varint(), message)? as i64)
}

fn size(v: i64, what: &str) -> Result<usize, OnnxError> {
    usize::try_from(v).map_err(|_| OnnxError::Decode(format!("{what}: negative size {v}")))
}

impl Model {
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, OnnxError> {
        const M: &str = "ModelProto";
        let mut graph = None;
        let mut opset = None;
        let (mut producer_name, mut producer_version) = (String::new(), String::new());
        let mut doc = String::new();
        let mut metadata = Vec::new();
        for field in Reader::new(bytes) {
            let (number, value) = wire(field, M)?;
            match number {
                2 => producer_name = string(value, M)?,
                3 => producer_version = string(value, M)?,
                6 => doc = string(value, M)?,
                7 => graph = Some(decode_graph(wire(value.bytes(), M)?)?),
                8 => {
                    const O: &str = "OperatorSetIdProto";
                    let (mut domain, mut version) = (String::new(), None);
                    for field in Reader::new(wire(value.bytes(), M)?) {
                        match wire(field, O)? {
                            (1, v) => domain = string(v, O)?,
                            (2, v) => version = Some(int(v, O)?),
                            _ => {}
                        }
                    }
                    // Imports of other domains are harmless unless a node uses them, and
                    // decode_node rejects those.
                    if domain.is_empty() || domain == "ai.onnx" {
                        opset = version;
                    }
                }
                14 => {
                    const E: &str = "StringStringEntryProto";
                    let (mut key, mut val) = (String::new(), String::new());
                    for field in Reader::new(wire(value.bytes(), M)?) {
                        match wire(field, E)? {
                            (1, v) => key = string(v, E)?,
                            (2, v) => val = string(v, E)?,
                            _ => {}
                        }
                    }
                    metadata.push((key, val));
                }
                _ => {}
            }
        }
        Ok(Model {
            graph: graph.ok_or_else(|| OnnxError::Decode("the model has no graph".into()))?,
            opset: opset.ok_or_else(|| {
                OnnxError::Decode("the model imports no default-domain opset".into())
            })?,
            producer_name,
            producer_version,
            doc,
            metadata,
        })
    }
}

fn decode_graph(bytes: &[u8]) -> Result<Graph, OnnxError> {
    const G: &str = "GraphProto";
    let mut graph = Graph::default();
    for field in Reader::new(bytes) {
        let (number, value) = wire(field, G)?;
        match number {
            1 => graph.nodes.push(decode_node(wire(value.bytes(), G)?)?),
            2 => graph.name = string(value, G)?,
            5 => graph
                .initializers
                .push(decode_tensor(wire(value.bytes(), G)?)?),
            11 => graph
                .inputs
                .push(decode_value_info(wire(value.bytes(), G)?)?),
            12 => graph
                .outputs
                .push(decode_value_info(wire(value.bytes(), G)?)?),
            15 => return Err(OnnxError::Unsupported("sparse initializers".into())),
            _ => {}
        }
    }
    Ok(graph)
}

fn decode_node(bytes: &[u8]) -> Result<Node, OnnxError> {
    const N: &str = "NodeProto";
    let mut node = Node::new("", "", &[], &[]);
    let mut domain = String::new();
    let mut attributes = Vec::new();
    for field in Reader::new(bytes) {
        let (number, value) = wire(field, N)?;
        match number {
            1 => node.inputs.push(string(value, N)?),
            2 => node.outputs.push(string(value, N)?),
            3 => node.name = string(value, N)?,
            4 => node.op = string(value, N)?,
            5 => attributes.push(wire(value.bytes(), N)?),
            7 => domain = string(value, N)?,
            _ => {}
        }
    }
    let what = format!("{} node '{}'", node.op, node.name);
    if !(domain.is_empty() || domain == "ai.onnx") {
        return Err(OnnxError::Unsupported(format!(
            "{what} is in domain '{domain}'"
        )));
    }
    for bytes in attributes {
        node.attributes
            .push(decode_attribute(bytes).map_err(|e| e.context(&what))?);
    }
    Ok(node)
}

fn decode_attribute(bytes: &[u8]) -> Result<(String, Attribute), OnnxError> {
    const A: &str = "AttributeProto";
    let (mut name, mut kind) = (String::new(), None);
    let (mut f, mut i, mut ints, mut other) = (None, None, Vec::new(), false);
    for field in Reader::new(bytes) {
        let (number, value) = wire(field, A)?;
        match number {
            1 => name = string(value, A)?,
            2 => f = Some(f32::from_bits(wire(value.fixed32(), A)?)),
            3 => i = Some(int(value, A)?),
            8 => wire(extend_varints(&mut ints, value), A)?,
            20 => kind = Some(int(value, A)?),
            4..=7 | 9..=11 | 22 | 23 => other = true,
            _ => {}
        }
    }
    // IR version 1 files have no `type`; infer it from the field present.
    let kind = kind.unwrap_or(if !ints.is_empty() {
        7
    } else if i.is_some() {
        2
    } else if f.is_some() && !other {
        1
    } else {
        0
    });
    let value = match kind {
        1 => Attribute::Float(f.unwrap_or(0.0)),
        2 => Attribute::Int(i.unwrap_or(0)),
        7 => Attribute::Ints(ints.into_iter().map(|v| v as i64).collect()),
        other => {
            return Err(OnnxError::Unsupported(format!(
                "attribute '{name}' of type {other} (only FLOAT, INT and INTS are supported)"
            )));
        }
    };
    Ok((name, value))
}

fn decode_tensor(bytes: &[u8]) -> Result<(String, Tensor), OnnxError> {
    const T: &str = "TensorProto";
    let (mut dims, mut data_type, mut name) = (Vec::new(), 0, String::new());
    let (mut raw, mut floats, mut int32s, mut int64s) = (None, Vec::new(), Vec::new(), Vec::new());
    let mut external = false;
    for field in Reader::new(bytes) {
        let (number, value) = wire(field, T)?;
        match number {
            1 => wire(extend_varints(&mut dims, value), T)?,
            2 => data_type = int(value, T)?,
            4 => wire(extend_fixed32(&mut floats, value), T)?,
            5 => wire(extend_varints(&mut int32s, value), T)?,
            7 => wire(extend_varints(&mut int64s, value), T)?,
            8 => name = string(value, T)?,
            9 => raw = Some(wire(value.bytes(), T)?),
            13 => external = true,
            14 => external |= int(value, T)? == 1,
            _ => {}
        }
    }
    let what = format!("tensor '{name}'");
    if external {
        return Err(OnnxError::Unsupported(format!("{what} has external data")));
    }
    let shape = dims
        .iter()
        .map(|&d| size(d as i64, &what))
        .collect::<Result<Vec<_>, _>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| OnnxError::Decode(format!("{what}: shape {shape:?} overflows")))?;
    let elem = ElemType::from_code(data_type).ok_or_else(|| {
        OnnxError::Unsupported(format!(
            "{what} has data type {data_type} (only FLOAT, BOOL and INT64 are supported)"
        ))
    })?;
    let typed = !(floats.is_empty() && int32s.is_empty() && int64s.is_empty());
    let data = match (raw, elem) {
        (Some(_), _) if typed => {
            return Err(OnnxError::Decode(format!(
                "{what} has both raw and typed data"
            )));
        }
        (Some(raw), _) => {
            let width = match elem {
                ElemType::Float => 4,
                ElemType::Int64 => 8,
                ElemType::Bool => 1,
            };
            if count.checked_mul(width) != Some(raw.len()) {
                return Err(OnnxError::Decode(format!(
                    "{what}: {} raw bytes for shape {shape:?}",
                    raw.len()
                )));
            }
            match elem {
                ElemType::Float => Data::F32(
                    raw.chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect(),
                ),
                ElemType::Int64 => Data::I64(
                    raw.chunks_exact(8)
                        .map(|c| {
                            i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
                        })
                        .collect(),
                ),
                ElemType::Bool => Data::Bool(raw.iter().map(|&b| b != 0).collect()),
            }
        }
        (None, ElemType::Float) => Data::F32(floats.into_iter().map(f32::from_bits).collect()),
        (None, ElemType::Int64) => Data::I64(int64s.into_iter().map(|v| v as i64).collect()),
        (None, ElemType::Bool) => Data::Bool(int32s.into_iter().map(|v| v != 0).collect()),
    };
    if data.len() != count {
        return Err(OnnxError::Decode(format!(
            "{what}: {} elements for shape {shape:?}",
            data.len()
        )));
    }
    Ok((name, Tensor { shape, data }))
}

fn decode_value_info(bytes: &[u8]) -> Result<ValueInfo, OnnxError> {
    const V: &str = "ValueInfoProto";
    let (mut name, mut type_proto) = (String::new(), None);
    for field in Reader::new(bytes) {
        match wire(field, V)? {
            (1, v) => name = string(v, V)?,
            (2, v) => type_proto = Some(wire(v.bytes(), V)?),
            _ => {}
        }
    }
    let what = format!("value '{name}'");
    let unsupported = |why: &str| OnnxError::Unsupported(format!("{what} {why}"));
    let mut tensor_type = None;
    for field in Reader::new(type_proto.ok_or_else(|| unsupported("has no type"))?) {
        if let (1, v) = wire(field, "TypeProto")? {
            tensor_type = Some(wire(v.bytes(), "TypeProto")?);
        }
    }
    let (mut elem, mut shape) = (0, None);
    for field in Reader::new(tensor_type.ok_or_else(|| unsupported("is not a tensor"))?) {
        match wire(field, "TypeProto.Tensor")? {
            (1, v) => elem = int(v, "TypeProto.Tensor")?,
            (2, v) => shape = Some(wire(v.bytes(), "TypeProto.Tensor")?),
            _ => {}
        }
    }
    let elem = ElemType::from_code(elem).ok_or_else(|| {
        unsupported(&format!(
            "has element type {elem} (only FLOAT, BOOL and INT64 are supported)"
        ))
    })?;
    let mut dims = Vec::new();
    for field in Reader::new(shape.ok_or_else(|| unsupported("has no shape (unknown rank)"))?) {
        if let (1, v) = wire(field, "TensorShapeProto")? {
            const D: &str = "TensorShapeProto.Dimension";
            let mut dim = Dim::Named(String::new());
            for field in Reader::new(wire(v.bytes(), D)?) {
                match wire(field, D)? {
                    (1, v) => dim = Dim::Fixed(size(int(v, D)?, &what)?),
                    (2, v) => dim = Dim::Named(string(v, D)?),
                    _ => {}
                }
            }
            dims.push(dim);
        }
    }
    Ok(ValueInfo { name, elem, dims })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protobuf::{put_f64, put_varint, put_varint_field};

    fn sample_model() -> Model {
        let graph = Graph {
            name: "policy".into(),
            inputs: vec![
                ValueInfo::new("obs", ElemType::Float, vec!["batch".into(), 3.into()]),
                ValueInfo::new(
                    "mask",
                    ElemType::Bool,
                    vec![Dim::Named(String::new()), 2.into()],
                ),
            ],
            outputs: vec![ValueInfo::new(
                "y",
                ElemType::Float,
                vec!["batch".into(), 2.into()],
            )],
            initializers: vec![
                (
                    "w".into(),
                    Tensor::f32(vec![3, 2], vec![1.0, -2.5, 0.0, 3.25, -0.0, 1e-30]),
                ),
                ("axes".into(), Tensor::i64(vec![2], vec![-1, i64::MAX])),
                (
                    "flags".into(),
                    Tensor::bool(vec![3], vec![true, false, true]),
                ),
                ("empty".into(), Tensor::f32(vec![0, 4], vec![])),
                ("scalar".into(), Tensor::f32(vec![], vec![7.0])),
            ],
            nodes: vec![
                Node::new("MatMul", "mm", &["obs", "w"], &["y"])
                    .with_attribute("i", Attribute::Int(-3))
                    .with_attribute("is", Attribute::Ints(vec![0, -1, 1 << 40]))
                    .with_attribute("f", Attribute::Float(-0.5)),
                Node::new("Clip", "", &["y", "", "scalar"], &["z"]),
            ],
        };
        Model {
            graph,
            opset: 17,
            producer_name: "planetgym".into(),
            producer_version: "0.1.0".into(),
            doc: "a doc".into(),
            metadata: vec![("k".into(), "v".into()), ("k2".into(), String::new())],
        }
    }

    #[test]
    fn round_trip() {
        let model = sample_model();
        let bytes = model.to_bytes();
        assert_eq!(Model::from_bytes(&bytes), Ok(model.clone()));
        // Empty strings are omitted and read back as empty.
        let bare = Model {
            producer_name: String::new(),
            producer_version: String::new(),
            doc: String::new(),
            metadata: Vec::new(),
            ..model
        };
        assert_eq!(Model::from_bytes(&bare.to_bytes()), Ok(bare));
    }

    fn message(build: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        build(&mut out);
        out
    }

    /// A model whose graph holds just `tensor` (an encoded TensorProto) as an initializer.
    fn model_with_tensor(tensor: &[u8]) -> Vec<u8> {
        let graph = message(|g| put_bytes(g, 5, tensor));
        let opset = message(|o| put_varint_field(o, 2, 17));
        message(|m| {
            put_bytes(m, 7, &graph);
            put_bytes(m, 8, &opset);
        })
    }

    fn initializer(bytes: &[u8]) -> Result<(String, Tensor), OnnxError> {
        let mut model = Model::from_bytes(bytes)?;
        Ok(model.graph.initializers.remove(0))
    }

    #[test]
    fn typed_data_fields_packed_or_not() {
        // float_data packed, dims unpacked.
        let floats = message(|t| {
            put_varint_field(t, 1, 2);
            put_varint_field(t, 2, 1);
            let packed: Vec<u8> = [1.5f32, -2.0]
                .iter()
                .flat_map(|f| f.to_le_bytes())
                .collect();
            put_bytes(t, 4, &packed);
            put_bytes(t, 8, b"f");
        });
        let got = initializer(&model_with_tensor(&floats));
        assert_eq!(got, Ok(("f".into(), Tensor::f32(vec![2], vec![1.5, -2.0]))));

        // float_data unpacked (fixed32 each), dims packed.
        let floats = message(|t| {
            put_bytes(t, 1, &[1, 2]);
            put_varint_field(t, 2, 1);
            put_f32(t, 4, 1.0);
            put_f32(t, 4, 2.0);
        });
        let got = initializer(&model_with_tensor(&floats));
        assert_eq!(
            got,
            Ok((String::new(), Tensor::f32(vec![1, 2], vec![1.0, 2.0])))
        );

        // int64_data, packed and unpacked mixed, with a negative value.
        let ints = message(|t| {
            put_varint_field(t, 1, 3);
            put_varint_field(t, 2, 7);
            put_int_field(t, 7, -5);
            let mut packed = Vec::new();
            put_varint(&mut packed, 300);
            put_varint(&mut packed, 0);
            put_bytes(t, 7, &packed);
        });
        let got = initializer(&model_with_tensor(&ints));
        assert_eq!(
            got,
            Ok((String::new(), Tensor::i64(vec![3], vec![-5, 300, 0])))
        );

        // Bools in int32_data.
        let bools = message(|t| {
            put_varint_field(t, 1, 2);
            put_varint_field(t, 2, 9);
            put_bytes(t, 5, &[1, 0]);
        });
        let got = initializer(&model_with_tensor(&bools));
        assert_eq!(
            got,
            Ok((String::new(), Tensor::bool(vec![2], vec![true, false])))
        );
    }

    #[test]
    fn bad_tensors_are_errors_naming_the_tensor() {
        let tensor = |data_type: u64, raw: &[u8]| {
            model_with_tensor(&message(|t| {
                put_varint_field(t, 1, 2);
                put_varint_field(t, 2, data_type);
                put_bytes(t, 8, b"weights");
                put_bytes(t, 9, raw);
            }))
        };
        let err = initializer(&tensor(11, &[0; 16])).unwrap_err();
        assert!(
            matches!(&err, OnnxError::Unsupported(m) if m.contains("'weights'")),
            "{err}"
        );
        let err = initializer(&tensor(1, &[0; 7])).unwrap_err();
        assert!(
            matches!(&err, OnnxError::Decode(m) if m.contains("'weights'")),
            "{err}"
        );
        assert!(initializer(&tensor(1, &[0; 8])).is_ok());
        // Negative and overflowing dims.
        for dims in [vec![-1i64], vec![1 << 40, 1 << 40]] {
            let bytes = model_with_tensor(&message(|t| {
                for d in &dims {
                    put_int_field(t, 1, *d);
                }
                put_varint_field(t, 2, 1);
            }));
            assert!(matches!(initializer(&bytes), Err(OnnxError::Decode(_))));
        }
        let external = model_with_tensor(&message(|t| {
            put_varint_field(t, 2, 1);
            put_varint_field(t, 14, 1);
        }));
        assert!(matches!(
            initializer(&external),
            Err(OnnxError::Unsupported(_))
        ));
    }

    #[test]
    fn unknown_fields_are_skipped() {
        let model = sample_model();
        let mut bytes = model.to_bytes();
        put_varint_field(&mut bytes, 99, 5);
        put_f64(&mut bytes, 100, 1.0);
        put_f32(&mut bytes, 101, 1.0);
        put_bytes(&mut bytes, 102, b"xyz");
        bytes.extend_from_slice(&[0x9b, 0x06, 0x08, 0x01, 0x9c, 0x06]); // group 99 { 1: 1 }
        assert_eq!(Model::from_bytes(&bytes), Ok(model));
    }

    #[test]
    fn unsupported_features_are_errors() {
        let mut model = sample_model();
        let graph = encode_graph(&model.graph);
        let opset = message(|o| put_varint_field(o, 2, 17));
        let with_graph = |graph: &[u8]| {
            message(|m| {
                put_bytes(m, 7, graph);
                put_bytes(m, 8, &opset);
            })
        };
        // A node in another domain.
        let node = message(|n| {
            put_bytes(n, 4, b"Foo");
            put_bytes(n, 7, b"com.example");
        });
        let bytes = with_graph(&message(|g| put_bytes(g, 1, &node)));
        let err = Model::from_bytes(&bytes).unwrap_err();
        assert!(
            matches!(&err, OnnxError::Unsupported(m) if m.contains("com.example")),
            "{err}"
        );
        // A string attribute.
        let attribute = message(|a| {
            put_bytes(a, 1, b"mode");
            put_bytes(a, 4, b"constant");
            put_varint_field(a, 20, 3);
        });
        let node = message(|n| {
            put_bytes(n, 4, b"Pad");
            put_bytes(n, 5, &attribute);
        });
        let bytes = with_graph(&message(|g| put_bytes(g, 1, &node)));
        let err = Model::from_bytes(&bytes).unwrap_err();
        assert!(
            matches!(&err, OnnxError::Unsupported(m) if m.contains("'mode'")),
            "{err}"
        );
        // A float16 input.
        model.graph.inputs.clear();
        let mut bytes = encode_graph(&model.graph);
        let info = message(|v| {
            put_bytes(v, 1, b"half");
            let tensor_type = message(|t| put_varint_field(t, 1, 10));
            put_bytes(v, 2, &message(|t| put_bytes(t, 1, &tensor_type)));
        });
        put_bytes(&mut bytes, 11, &info);
        let err = Model::from_bytes(&with_graph(&bytes)).unwrap_err();
        assert!(
            matches!(&err, OnnxError::Unsupported(m) if m.contains("'half'")),
            "{err}"
        );
        // No graph, no opset.
        assert!(Model::from_bytes(&[]).is_err());
        assert!(Model::from_bytes(&message(|m| put_bytes(m, 7, &graph))).is_err());
    }

    #[test]
    fn malformed_bytes_are_errors_not_panics() {
        let model = sample_model();
        let bytes = model.to_bytes();
        for n in 0..bytes.len() {
            assert_ne!(Model::from_bytes(&bytes[..n]).ok().as_ref(), Some(&model));
        }
        // Cut inside the graph: always an error.
        assert!(Model::from_bytes(&bytes[..bytes.len() / 2]).is_err());
        // Bit flips and random bytes: any result but a panic.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let mut flipped = bytes.clone();
            let at = (next() % flipped.len() as u64) as usize;
            flipped[at] ^= 1 << (next() % 8);
            let _ = Model::from_bytes(&flipped);
            let random: Vec<u8> = (0..next() % 200).map(|_| next() as u8).collect();
            let _ = Model::from_bytes(&random);
        }
    }
}
