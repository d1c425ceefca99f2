//! The interpreter: runs a [`Graph`] on CPU with opset 13+ semantics (axes of ReduceSum,
//! Unsqueeze and Squeeze as inputs). Older graphs mostly fail cleanly, on their `axes`
//! attributes, but Softmax before opset 13 meant something else and is not detected.
//!
//! [`Graph::prepare`] checks the graph once (operators, attributes, input counts, that every
//! value is defined before use) and resolves names to slots; [`Prepared::run`] then only
//! checks the given inputs and computes. Tensors flow as `Cow`s so that inputs and
//! initializers are read in place.

use std::borrow::Cow;
use std::collections::HashMap;

use super::{Attribute, Data, Dim, ElemType, Graph, Node, OnnxError, Tensor, ValueInfo};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    MatMul,
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Relu,
    Sigmoid,
    Clip,
    Greater,
    Cast(ElemType),
    Where,
    ReduceSum {
        keepdims: bool,
        noop_with_empty_axes: bool,
    },
    Unsqueeze,
    Squeeze,
    Concat(i64),
    Reshape {
        allowzero: bool,
    },
    Identity,
    Softmax(i64),
}

#[derive(Debug, Clone)]
struct Step {
    op: Op,
    /// "Op node 'name'", for error messages.
    label: String,
    /// Slots of the inputs; `None` for an omitted optional input.
    inputs: Vec<Option<usize>>,
    output: usize,
    /// Slots last used by this step, freed after it so that a run reuses its buffers.
    frees: Vec<usize>,
}

#[derive(Debug, Clone)]
struct Input {
    info: ValueInfo,
    slot: usize,
    /// Whether an initializer of the same name supplies a default (older exporters list
    /// initializers among the graph inputs).
    has_default: bool,
}

/// A graph checked and resolved for repeated runs.
#[derive(Debug, Clone)]
pub struct Prepared {
    slots: usize,
    inputs: Vec<Input>,
    outputs: Vec<(ValueInfo, usize)>,
    constants: Vec<(usize, Tensor)>,
    steps: Vec<Step>,
}

impl Graph {
    /// Checks the graph and resolves it for [`Prepared::run`].
    pub fn prepare(&self) -> Result<Prepared, OnnxError> {
        let mut slots: HashMap<String, usize> = HashMap::new();
        let mut constants = Vec::new();
        for (name, tensor) in &self.initializers {
            check_len(tensor).map_err(|e| e.context(&format!("initializer '{name}'")))?;
            constants.push((new_slot(name, &mut slots)?, tensor.clone()));
        }
        let mut inputs = Vec::new();
        for info in &self.inputs {
            let default = constants
                .iter()
                .find(|(s, _)| slots.get(&info.name) == Some(s));
            let (slot, has_default) = match default {
                Some((slot, _)) => (*slot, true),
                None => (new_slot(&info.name, &mut slots)?, false),
            };
            inputs.push(Input {
                info: info.clone(),
                slot,
                has_default,
            });
        }
        let mut steps = Vec::new();
        for node in &self.nodes {
            let label = format!("{} node '{}'", node.op, node.name);
            let (op, optional_from) = parse_op(node).map_err(|e| e.context(&label))?;
            let mut args = Vec::new();
            for (i, name) in node.inputs.iter().enumerate() {
                if name.is_empty() {
                    if i < optional_from {
                        return Err(OnnxError::Invalid(format!(
                            "{label}: input {i} is required"
                        )));
                    }
                    args.push(None);
                } else {
                    let slot = slots.get(name.as_str()).copied().ok_or_else(|| {
                        OnnxError::MissingInput(format!(
                            "{label} reads '{name}', which no graph input, initializer or \
                             earlier node provides"
                        ))
                    })?;
                    args.push(Some(slot));
                }
            }
            let [output] = node.outputs.as_slice() else {
                return Err(OnnxError::Invalid(format!(
                    "{label} has {} outputs, expected 1",
                    node.outputs.len()
                )));
            };
            let output = new_slot(output, &mut slots).map_err(|e| e.context(&label))?;
            steps.push(Step {
                op,
                label,
                inputs: args,
                output,
                frees: Vec::new(),
            });
        }
        let mut outputs: Vec<(ValueInfo, usize)> = Vec::new();
        for info in &self.outputs {
            let slot = slots.get(&info.name).copied().ok_or_else(|| {
                OnnxError::MissingInput(format!("graph output '{}' is never computed", info.name))
            })?;
            if outputs.iter().any(|(_, s)| *s == slot) {
                return Err(OnnxError::Invalid(format!(
                    "graph output '{}' is listed twice",
                    info.name
                )));
            }
            outputs.push((info.clone(), slot));
        }
        // The last step to touch each value frees it (a value nothing reads: its producer),
        // except graph outputs.
        let mut last = vec![None; slots.len()];
        for (k, step) in steps.iter().enumerate() {
            last[step.output] = Some(k);
            for &slot in step.inputs.iter().flatten() {
                last[slot] = Some(k);
            }
        }
        for (_, slot) in &outputs {
            last[*slot] = None;
        }
        for (slot, k) in last.into_iter().enumerate() {
            if let Some(k) = k {
                steps[k].frees.push(slot);
            }
        }
        Ok(Prepared {
            slots: slots.len(),
            inputs,
            outputs,
            constants,
            steps,
        })
    }

    /// Runs the graph once; see [`Prepared::run`]. Prepare once to run many times.
    pub fn run<S: AsRef<str>>(&self, inputs: &[(S, Tensor)]) -> Result<Vec<Tensor>, OnnxError> {
        self.prepare()?.run(inputs)
    }
}

/// Gives a new value name the next slot; ONNX values are defined exactly once.
fn new_slot(name: &str, slots: &mut HashMap<String, usize>) -> Result<usize, OnnxError> {
    if name.is_empty() || slots.contains_key(name) {
        return Err(OnnxError::Invalid(format!(
            "value name '{name}' is empty or defined twice"
        )));
    }
    let slot = slots.len();
    slots.insert(name.to_owned(), slot);
    Ok(slot)
}

impl Prepared {
    /// Runs the graph on named inputs and returns its outputs in the graph's order.
    ///
    /// Inputs and outputs are checked against their declarations: element type, rank, every
    /// fixed dimension, and that a named dimension has one size across all of them.
    /// Input names may be `&str` or `String`.
    pub fn run<S: AsRef<str>>(&self, inputs: &[(S, Tensor)]) -> Result<Vec<Tensor>, OnnxError> {
        let mut values: Vec<Option<Cow<'_, Tensor>>> = vec![None; self.slots];
        for (slot, tensor) in &self.constants {
            values[*slot] = Some(Cow::Borrowed(tensor));
        }
        let mut dims: HashMap<&str, usize> = HashMap::new();
        for (name, tensor) in inputs {
            let name = name.as_ref();
            let input = self
                .inputs
                .iter()
                .find(|i| i.info.name == *name)
                .ok_or_else(|| {
                    let names: Vec<&str> =
                        self.inputs.iter().map(|i| i.info.name.as_str()).collect();
                    OnnxError::Invalid(format!(
                        "unknown input '{name}'; the graph's inputs are {names:?}"
                    ))
                })?;
            if inputs.iter().filter(|(n, _)| n.as_ref() == name).count() > 1 {
                return Err(OnnxError::Invalid(format!("input '{name}' is given twice")));
            }
            check_value(&input.info, tensor, "input", &mut dims)?;
            values[input.slot] = Some(Cow::Borrowed(tensor));
        }
        if let Some(missing) = self
            .inputs
            .iter()
            .find(|i| !i.has_default && !inputs.iter().any(|(n, _)| n.as_ref() == i.info.name))
        {
            return Err(OnnxError::MissingInput(format!(
                "graph input '{}'",
                missing.info.name
            )));
        }
        for step in &self.steps {
            let result = {
                let mut args = Vec::with_capacity(step.inputs.len());
                for slot in &step.inputs {
                    args.push(match slot {
                        Some(slot) => Some(values[*slot].as_deref().ok_or_else(|| {
                            OnnxError::MissingInput(format!("{}: an input is unset", step.label))
                        })?),
                        None => None,
                    });
                }
                eval(step.op, &args).map_err(|e| e.context(&step.label))?
            };
            values[step.output] = Some(Cow::Owned(result));
            for &slot in &step.frees {
                values[slot] = None;
            }
        }
        let mut outputs = Vec::with_capacity(self.outputs.len());
        for (info, slot) in &self.outputs {
            let tensor = values[*slot].take().ok_or_else(|| {
                OnnxError::MissingInput(format!("graph output '{}' is unset", info.name))
            })?;
            check_value(info, &tensor, "output", &mut dims)?;
            outputs.push(tensor.into_owned());
        }
        Ok(outputs)
    }
}

fn shape_str(dims: &[Dim]) -> String {
    let dims: Vec<String> = dims.iter().map(Dim::to_string).collect();
    format!("[{}]", dims.join(", "))
}

fn check_len(t: &Tensor) -> Result<(), OnnxError> {
    let count = t.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if count != Some(t.len()) {
        return Err(OnnxError::Shape(format!(
            "shape {:?} does not hold {} elements",
            t.shape,
            t.len()
        )));
    }
    Ok(())
}

/// Checks a graph input or output against its declaration; `dims` holds the sizes that named
/// dimensions took so far in this run.
fn check_value<'a>(
    info: &'a ValueInfo,
    t: &Tensor,
    kind: &str,
    dims: &mut HashMap<&'a str, usize>,
) -> Result<(), OnnxError> {
    let name = &info.name;
    if t.elem() != info.elem {
        return Err(OnnxError::Type(format!(
            "{kind} '{name}': declared {:?}, given {:?}",
            info.elem,
            t.elem()
        )));
    }
    check_len(t).map_err(|e| e.context(&format!("{kind} '{name}'")))?;
    let mismatch = |why: String| {
        OnnxError::Shape(format!(
            "{kind} '{name}': declared {}, given {:?}{why}",
            shape_str(&info.dims),
            t.shape
        ))
    };
    if t.shape.len() != info.dims.len() {
        return Err(mismatch(String::new()));
    }
    for (dim, &size) in info.dims.iter().zip(&t.shape) {
        match dim {
            Dim::Fixed(want) if *want != size => return Err(mismatch(String::new())),
            Dim::Named(n) if !n.is_empty() => {
                let bound = *dims.entry(n.as_str()).or_insert(size);
                if bound != size {
                    return Err(mismatch(format!(" ('{n}' is {bound} elsewhere)")));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The operator of a node and the index from which its inputs are optional.
fn parse_op(node: &Node) -> Result<(Op, usize), OnnxError> {
    let n = node.inputs.len();
    let get = |name: &str| {
        node.attributes
            .iter()
            .find(|(a, _)| a == name)
            .map(|(_, v)| v)
    };
    let int = |name: &str, default: Option<i64>| match get(name) {
        Some(Attribute::Int(v)) => Ok(*v),
        Some(other) => Err(OnnxError::Invalid(format!(
            "attribute '{name}' is {other:?}, expected an int"
        ))),
        None => {
            default.ok_or_else(|| OnnxError::Invalid(format!("attribute '{name}' is required")))
        }
    };
    let flag = |name: &str, default| match int(name, Some(default))? {
        0 => Ok(false),
        1 => Ok(true),
        v => Err(OnnxError::Invalid(format!(
            "attribute '{name}' is {v}, expected 0 or 1"
        ))),
    };
    // (operator, attributes it may have, input count range, first optional input)
    let (op, attributes, (min, max), optional_from): (Op, &[&str], _, _) = match node.op.as_str() {
        "MatMul" => (Op::MatMul, &[], (2, 2), n),
        "Add" => (Op::Add, &[], (2, 2), n),
        "Sub" => (Op::Sub, &[], (2, 2), n),
        "Mul" => (Op::Mul, &[], (2, 2), n),
        "Div" => (Op::Div, &[], (2, 2), n),
        "Max" => (Op::Max, &[], (1, usize::MAX), n),
        "Relu" => (Op::Relu, &[], (1, 1), n),
        "Sigmoid" => (Op::Sigmoid, &[], (1, 1), n),
        "Clip" => (Op::Clip, &[], (1, 3), 1),
        "Greater" => (Op::Greater, &[], (2, 2), n),
        "Cast" => {
            let to = int("to", None)?;
            let to = ElemType::from_code(to)
                .ok_or_else(|| OnnxError::Unsupported(format!("Cast to data type {to}")))?;
            // `saturate` (opset 19) only affects float8 targets.
            (Op::Cast(to), &["to", "saturate"], (1, 1), n)
        }
        "Where" => (Op::Where, &[], (3, 3), n),
        "ReduceSum" => {
            let keepdims = flag("keepdims", 1)?;
            let noop_with_empty_axes = flag("noop_with_empty_axes", 0)?;
            let op = Op::ReduceSum {
                keepdims,
                noop_with_empty_axes,
            };
            (op, &["keepdims", "noop_with_empty_axes"], (1, 2), 1)
        }
        "Unsqueeze" => (Op::Unsqueeze, &[], (2, 2), n),
        "Squeeze" => (Op::Squeeze, &[], (1, 2), 1),
        "Concat" => (
            Op::Concat(int("axis", None)?),
            &["axis"],
            (1, usize::MAX),
            n,
        ),
        "Reshape" => {
            let allowzero = flag("allowzero", 0)?;
            (Op::Reshape { allowzero }, &["allowzero"], (2, 2), n)
        }
        "Identity" => (Op::Identity, &[], (1, 1), n),
        "Softmax" => (Op::Softmax(int("axis", Some(-1))?), &["axis"], (1, 1), n),
        other => {
            return Err(OnnxError::Unsupported(format!("operator '{other}'")));
        }
    };
    if let Some((name, _)) = node
        .attributes
        .iter()
        .find(|(a, _)| !attributes.contains(&a.as_str()))
    {
        return Err(OnnxError::Unsupported(format!("attribute '{name}'")));
    }
    if n < min || n > max {
        return Err(OnnxError::Invalid(format!(
            "{n} inputs, expected {min} to {max}"
        )));
    }
    Ok((op, optional_from))
}

// ---------------------------------------------------------------------------------------------
// Operators.

fn eval(op: Op, args: &[Option<&Tensor>]) -> Result<Tensor, OnnxError> {
    let arg = |i: usize| -> Result<&Tensor, OnnxError> {
        args.get(i)
            .copied()
            .flatten()
            .ok_or_else(|| OnnxError::MissingInput(format!("input {i}")))
    };
    let opt = |i: usize| args.get(i).copied().flatten();
    match op {
        Op::MatMul => matmul(arg(0)?, arg(1)?),
        Op::Add => arithmetic(arg(0)?, arg(1)?, |x, y| x + y),
        Op::Sub => arithmetic(arg(0)?, arg(1)?, |x, y| x - y),
        Op::Mul => arithmetic(arg(0)?, arg(1)?, |x, y| x * y),
        Op::Div => arithmetic(arg(0)?, arg(1)?, |x, y| x / y),
        Op::Max => {
            let mut acc = arg(0)?.clone();
            floats(&acc)?;
            for i in 1..args.len() {
                acc = arithmetic(&acc, arg(i)?, f32::max)?;
            }
            Ok(acc)
        }
        Op::Relu => {
            let x = arg(0)?;
            let v = floats(x)?
                .iter()
                .map(|&v| if v < 0.0 { 0.0 } else { v })
                .collect();
            Ok(Tensor::f32(x.shape.clone(), v))
        }
        Op::Sigmoid => {
            let x = arg(0)?;
            let v = floats(x)?
                .iter()
                .map(|&v| 1.0 / (1.0 + (-v).exp()))
                .collect();
            Ok(Tensor::f32(x.shape.clone(), v))
        }
        Op::Clip => clip(arg(0)?, opt(1), opt(2)),
        Op::Greater => {
            let (a, b) = (arg(0)?, arg(1)?);
            let (shape, v) = broadcast2(floats(a)?, &a.shape, floats(b)?, &b.shape, |x, y| x > y)?;
            Ok(Tensor::bool(shape, v))
        }
        Op::Cast(to) => Ok(cast(arg(0)?, to)),
        Op::Where => where_(arg(0)?, arg(1)?, arg(2)?),
        Op::ReduceSum {
            keepdims,
            noop_with_empty_axes,
        } => reduce_sum(arg(0)?, opt(1), keepdims, noop_with_empty_axes),
        Op::Unsqueeze => unsqueeze(arg(0)?, ints(arg(1)?)?),
        Op::Squeeze => squeeze(arg(0)?, opt(1).map(ints).transpose()?),
        Op::Concat(axis) => {
            let parts = (0..args.len()).map(arg).collect::<Result<Vec<_>, _>>()?;
            concat(&parts, axis)
        }
        Op::Reshape { allowzero } => reshape(arg(0)?, ints(arg(1)?)?, allowzero),
        Op::Identity => Ok(arg(0)?.clone()),
        Op::Softmax(axis) => softmax(arg(0)?, axis),
    }
}

fn floats(t: &Tensor) -> Result<&[f32], OnnxError> {
    t.as_f32()
        .ok_or_else(|| OnnxError::Type(format!("expected a Float tensor, got {:?}", t.elem())))
}

fn ints(t: &Tensor) -> Result<&[i64], OnnxError> {
    t.as_i64()
        .ok_or_else(|| OnnxError::Type(format!("expected an Int64 tensor, got {:?}", t.elem())))
}

/// `axis` in `[-rank, rank)` as an index.
fn axis_index(axis: i64, rank: usize) -> Result<usize, OnnxError> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        return Err(OnnxError::Invalid(format!(
            "axis {axis} out of range for rank {rank}"
        )));
    }
    Ok(if axis < 0 { axis + r } else { axis } as usize)
}

/// Distinct axes as indices, in the order given.
fn axis_indices(axes: &[i64], rank: usize) -> Result<Vec<usize>, OnnxError> {
    let mut out = Vec::with_capacity(axes.len());
    for &axis in axes {
        let a = axis_index(axis, rank)?;
        if out.contains(&a) {
            return Err(OnnxError::Invalid(format!(
                "axis {axis} repeated in {axes:?}"
            )));
        }
        out.push(a);
    }
    Ok(out)
}

/// `[.., M, K] x [K, N]`: the hot path of the policies (e.g. 1,500 entity rows of 16 or 64
/// features), so written for the compiler's vectorizer rather than as three plain loops.
fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor, OnnxError> {
    let (x, y) = (floats(a)?, floats(b)?);
    let shapes = || format!("MatMul of shapes {:?} and {:?}", a.shape, b.shape);
    let ([.., k], [kb, n], 2..=3) = (a.shape.as_slice(), b.shape.as_slice(), a.shape.len()) else {
        return Err(OnnxError::Unsupported(format!(
            "{} (supported: [M, K] or [B, M, K] times [K, N])",
            shapes()
        )));
    };
    let (k, n) = (*k, *n);
    if k != *kb {
        return Err(OnnxError::Shape(shapes()));
    }
    let mut shape = a.shape.clone();
    shape[a.shape.len() - 1] = n;
    let rows: usize = a.shape[..a.shape.len() - 1].iter().product();
    let mut out = vec![0.0f32; rows * n];
    if k == 0 || n == 0 {
        return Ok(Tensor::f32(shape, out));
    }
    if n < BLOCK {
        // Narrow outputs (a score or value head): dot products with the columns of B.
        let columns: Vec<Vec<f32>> = (0..n)
            .map(|j| y.iter().skip(j).step_by(n).copied().collect())
            .collect();
        for (a_row, out_row) in x.chunks_exact(k).zip(out.chunks_exact_mut(n)) {
            for (o, column) in out_row.iter_mut().zip(&columns) {
                *o = dot(a_row, column);
            }
        }
        return Ok(Tensor::f32(shape, out));
    }
    for (a_row, out_row) in x.chunks_exact(k).zip(out.chunks_exact_mut(n)) {
        // BLOCK output columns at a time, accumulated in registers over all of K (i-j-k with
        // a j-block; the tail columns i-k-j over contiguous rows of B).
        let full = n - n % BLOCK;
        for j in (0..full).step_by(BLOCK) {
            let mut acc = [0.0f32; BLOCK];
            for (&aik, b_row) in a_row.iter().zip(y.chunks_exact(n)) {
                for (s, &bkj) in acc.iter_mut().zip(&b_row[j..j + BLOCK]) {
                    *s += aik * bkj;
                }
            }
            out_row[j..j + BLOCK].copy_from_slice(&acc);
        }
        if full < n {
            for (&aik, b_row) in a_row.iter().zip(y.chunks_exact(n)) {
                for (o, &bkj) in out_row[full..].iter_mut().zip(&b_row[full..]) {
                    *o += aik * bkj;
                }
            }
        }
    }
    Ok(Tensor::f32(shape, out))
}

/// Output columns per register block in [`matmul`]: 16 floats is four SSE or two AVX registers.
const BLOCK: usize = 16;

fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight partial sums let the compiler vectorize the reduction.
    let mut acc = [0.0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for ((s, &p), &q) in acc.iter_mut().zip(x).zip(y) {
            *s += p * q;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// The numpy (multidirectional) broadcast of shapes.
fn broadcast_shape(shapes: &[&[usize]]) -> Result<Vec<usize>, OnnxError> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1; rank];
    for shape in shapes {
        for (o, &d) in out[rank - shape.len()..].iter_mut().zip(shape.iter()) {
            if d != 1 {
                if *o != 1 && *o != d {
                    return Err(OnnxError::Shape(format!(
                        "cannot broadcast shapes {shapes:?}"
                    )));
                }
                *o = d;
            }
        }
    }
    Ok(out)
}

/// Element strides of `shape` seen in the broadcast shape `out`: 0 along broadcast axes.
fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; out.len()];
    let offset = out.len() - shape.len();
    let mut step = 1;
    for (i, &d) in shape.iter().enumerate().rev() {
        if d != 1 {
            strides[offset + i] = step;
        }
        step *= d;
    }
    strides
}

/// Calls `f(offsets)` with each operand's element offset at the start of every row (run along
/// the last axis) of `shape`, in row-major order. A rank-0 shape is one row of one element.
fn for_each_row<const N: usize>(
    shape: &[usize],
    strides: [&[usize]; N],
    mut f: impl FnMut([usize; N]),
) {
    let Some((_, outer)) = shape.split_last() else {
        f([0; N]);
        return;
    };
    if shape.contains(&0) {
        return;
    }
    let mut index = vec![0; outer.len()];
    let mut offsets = [0; N];
    loop {
        f(offsets);
        // Advance the odometer over the outer axes, moving each offset along.
        let mut axis = outer.len();
        loop {
            if axis == 0 {
                return;
            }
            axis -= 1;
            index[axis] += 1;
            for (o, s) in offsets.iter_mut().zip(&strides) {
                *o += s[axis];
            }
            if index[axis] < outer[axis] {
                break;
            }
            for (o, s) in offsets.iter_mut().zip(&strides) {
                *o -= s[axis] * outer[axis];
            }
            index[axis] = 0;
        }
    }
}

/// `f` applied elementwise over the broadcast of two operands; each row's inner loop is over
/// contiguous slices or a repeated scalar.
fn broadcast2<A: Copy, B: Copy, T: Copy>(
    a: &[A],
    a_shape: &[usize],
    b: &[B],
    b_shape: &[usize],
    f: impl Fn(A, B) -> T,
) -> Result<(Vec<usize>, Vec<T>), OnnxError> {
    if a_shape == b_shape {
        return Ok((
            a_shape.to_vec(),
            a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect(),
        ));
    }
    let shape = broadcast_shape(&[a_shape, b_shape])?;
    let (sa, sb) = (
        broadcast_strides(a_shape, &shape),
        broadcast_strides(b_shape, &shape),
    );
    let row = shape.last().copied().unwrap_or(1);
    let inner = (
        sa.last().copied().unwrap_or(0),
        sb.last().copied().unwrap_or(0),
    );
    let mut out = Vec::with_capacity(shape.iter().product());
    for_each_row(&shape, [&sa, &sb], |[i, j]| match inner {
        (0, 0) => out.extend(std::iter::repeat_n(f(a[i], b[j]), row)),
        (_, 0) => out.extend(a[i..i + row].iter().map(|&x| f(x, b[j]))),
        (0, _) => out.extend(b[j..j + row].iter().map(|&y| f(a[i], y))),
        _ => out.extend(
            a[i..i + row]
                .iter()
                .zip(&b[j..j + row])
                .map(|(&x, &y)| f(x, y)),
        ),
    });
    Ok((shape, out))
}

fn arithmetic(a: &Tensor, b: &Tensor, f: impl Fn(f32, f32) -> f32) -> Result<Tensor, OnnxError> {
    let (shape, v) = broadcast2(floats(a)?, &a.shape, floats(b)?, &b.shape, f)?;
    Ok(Tensor::f32(shape, v))
}

/// A scalar bound of Clip (shape `[]`, or any single element).
fn bound(t: Option<&Tensor>, default: f32) -> Result<f32, OnnxError> {
    match t {
        None => Ok(default),
        Some(t) => match floats(t)? {
            [v] => Ok(*v),
            _ => Err(OnnxError::Shape(format!(
                "Clip bound of shape {:?}, expected a scalar",
                t.shape
            ))),
        },
    }
}

fn clip(x: &Tensor, min: Option<&Tensor>, max: Option<&Tensor>) -> Result<Tensor, OnnxError> {
    let (lo, hi) = (bound(min, f32::NEG_INFINITY)?, bound(max, f32::INFINITY)?);
    let v = floats(x)?
        .iter()
        .map(|&v| {
            let v = if v < lo { lo } else { v };
            if v > hi { hi } else { v }
        })
        .collect();
    Ok(Tensor::f32(x.shape.clone(), v))
}

fn cast(t: &Tensor, to: ElemType) -> Tensor {
    let data = match (&t.data, to) {
        (Data::F32(v), ElemType::Float) => Data::F32(v.clone()),
        (Data::F32(v), ElemType::Bool) => Data::Bool(v.iter().map(|&x| x != 0.0).collect()),
        (Data::F32(v), ElemType::Int64) => Data::I64(v.iter().map(|&x| x as i64).collect()),
        (Data::Bool(v), ElemType::Float) => {
            Data::F32(v.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect())
        }
        (Data::Bool(v), ElemType::Bool) => Data::Bool(v.clone()),
        (Data::Bool(v), ElemType::Int64) => Data::I64(v.iter().map(|&b| i64::from(b)).collect()),
        (Data::I64(v), ElemType::Float) => Data::F32(v.iter().map(|&x| x as f32).collect()),
        (Data::I64(v), ElemType::Bool) => Data::Bool(v.iter().map(|&x| x != 0).collect()),
        (Data::I64(v), ElemType::Int64) => Data::I64(v.clone()),
    };
    Tensor {
        shape: t.shape.clone(),
        data,
    }
}

fn where_(cond: &Tensor, x: &Tensor, y: &Tensor) -> Result<Tensor, OnnxError> {
    let c = cond
        .as_bool()
        .ok_or_else(|| OnnxError::Type(format!("condition is {:?}, expected Bool", cond.elem())))?;
    fn select<T: Copy>(
        (c, cs): (&[bool], &[usize]),
        (x, xs): (&[T], &[usize]),
        (y, ys): (&[T], &[usize]),
    ) -> Result<(Vec<usize>, Vec<T>), OnnxError> {
        let shape = broadcast_shape(&[cs, xs, ys])?;
        let strides = [cs, xs, ys].map(|s| broadcast_strides(s, &shape));
        let [sc, sx, sy] = [0, 1, 2].map(|i| strides[i].last().copied().unwrap_or(0));
        let row = shape.last().copied().unwrap_or(1);
        let mut out = Vec::with_capacity(shape.iter().product());
        for_each_row(
            &shape,
            [&strides[0], &strides[1], &strides[2]],
            |[i, j, k]| {
                out.extend((0..row).map(|e| {
                    if c[i + e * sc] {
                        x[j + e * sx]
                    } else {
                        y[k + e * sy]
                    }
                }));
            },
        );
        Ok((shape, out))
    }
    let (cs, xs, ys) = (
        cond.shape.as_slice(),
        x.shape.as_slice(),
        y.shape.as_slice(),
    );
    match (&x.data, &y.data) {
        (Data::F32(a), Data::F32(b)) => {
            let (shape, v) = select((c, cs), (a, xs), (b, ys))?;
            Ok(Tensor::f32(shape, v))
        }
        (Data::I64(a), Data::I64(b)) => {
            let (shape, v) = select((c, cs), (a, xs), (b, ys))?;
            Ok(Tensor::i64(shape, v))
        }
        (Data::Bool(a), Data::Bool(b)) => {
            let (shape, v) = select((c, cs), (a, xs), (b, ys))?;
            Ok(Tensor::bool(shape, v))
        }
        _ => Err(OnnxError::Type(format!(
            "Where branches are {:?} and {:?}",
            x.elem(),
            y.elem()
        ))),
    }
}

fn reduce_sum(
    t: &Tensor,
    axes: Option<&Tensor>,
    keepdims: bool,
    noop_with_empty_axes: bool,
) -> Result<Tensor, OnnxError> {
    let x = floats(t)?;
    let rank = t.shape.len();
    let axes = axes.map(ints).transpose()?.unwrap_or(&[]);
    if axes.is_empty() && noop_with_empty_axes {
        return Ok(t.clone());
    }
    let mut reduced = vec![axes.is_empty(); rank];
    for a in axis_indices(axes, rank)? {
        reduced[a] = true;
    }
    let kept: Vec<usize> = t
        .shape
        .iter()
        .zip(&reduced)
        .map(|(&d, &r)| if r { 1 } else { d })
        .collect();
    // Offsets into the output as seen from the input's index space: 0 along reduced axes.
    let strides = broadcast_strides(&kept, &kept)
        .into_iter()
        .zip(&reduced)
        .map(|(s, &r)| if r { 0 } else { s })
        .collect::<Vec<_>>();
    let in_strides = broadcast_strides(&t.shape, &t.shape);
    let row = t.shape.last().copied().unwrap_or(1);
    let last_reduced = reduced.last().copied().unwrap_or(false);
    let mut out = vec![0.0f32; kept.iter().product()];
    for_each_row(&t.shape, [&in_strides, &strides], |[i, o]| {
        let src = &x[i..i + row];
        if last_reduced {
            out[o] += src.iter().sum::<f32>();
        } else {
            for (d, &s) in out[o..o + row].iter_mut().zip(src) {
                *d += s;
            }
        }
    });
    let shape = if keepdims {
        kept
    } else {
        t.shape
            .iter()
            .zip(&reduced)
            .filter(|(_, r)| !**r)
            .map(|(&d, _)| d)
            .collect()
    };
    Ok(Tensor::f32(shape, out))
}

fn unsqueeze(t: &Tensor, axes: &[i64]) -> Result<Tensor, OnnxError> {
    let rank = t.shape.len() + axes.len();
    let axes = axis_indices(axes, rank)?;
    let mut dims = t.shape.iter();
    let shape = (0..rank)
        .map(|i| {
            if axes.contains(&i) {
                1
            } else {
                dims.next().copied().unwrap_or(1)
            }
        })
        .collect();
    Ok(Tensor {
        shape,
        data: t.data.clone(),
    })
}

fn squeeze(t: &Tensor, axes: Option<&[i64]>) -> Result<Tensor, OnnxError> {
    let axes = match axes {
        Some(axes) => {
            let axes = axis_indices(axes, t.shape.len())?;
            if let Some(&a) = axes.iter().find(|&&a| t.shape[a] != 1) {
                return Err(OnnxError::Shape(format!(
                    "cannot squeeze axis {a} of shape {:?}",
                    t.shape
                )));
            }
            axes
        }
        None => (0..t.shape.len()).filter(|&a| t.shape[a] == 1).collect(),
    };
    let shape = t
        .shape
        .iter()
        .enumerate()
        .filter(|(i, _)| !axes.contains(i))
        .map(|(_, &d)| d);
    Ok(Tensor {
        shape: shape.collect(),
        data: t.data.clone(),
    })
}

fn reshape(t: &Tensor, spec: &[i64], allowzero: bool) -> Result<Tensor, OnnxError> {
    let bad =
        |why: &str| OnnxError::Shape(format!("cannot reshape {:?} to {spec:?}: {why}", t.shape));
    let mut shape = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &d) in spec.iter().enumerate() {
        shape.push(match d {
            -1 if infer.is_some() => return Err(bad("more than one -1")),
            -1 => {
                infer = Some(i);
                1
            }
            0 if !allowzero => *t
                .shape
                .get(i)
                .ok_or_else(|| bad("0 past the input's rank"))?,
            d => usize::try_from(d).map_err(|_| bad("negative size"))?,
        });
    }
    let known = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| bad("overflow"))?;
    if let Some(i) = infer {
        if known == 0 || !t.len().is_multiple_of(known) {
            return Err(bad("the sizes do not divide the element count"));
        }
        shape[i] = t.len() / known;
    } else if known != t.len() {
        return Err(bad("the element count differs"));
    }
    Ok(Tensor {
        shape,
        data: t.data.clone(),
    })
}

fn concat(parts: &[&Tensor], axis: i64) -> Result<Tensor, OnnxError> {
    let Some(first) = parts.first() else {
        return Err(OnnxError::Invalid("Concat of nothing".into()));
    };
    let axis = axis_index(axis, first.shape.len())?;
    let mut shape = first.shape.clone();
    shape[axis] = 0;
    for p in parts {
        let same = p.shape.len() == shape.len()
            && p.shape
                .iter()
                .zip(&first.shape)
                .enumerate()
                .all(|(i, (a, b))| i == axis || a == b);
        if !same {
            let shapes: Vec<_> = parts.iter().map(|p| &p.shape).collect();
            return Err(OnnxError::Shape(format!(
                "cannot concatenate {shapes:?} on axis {axis}"
            )));
        }
        shape[axis] += p.shape[axis];
    }
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    fn join<T: Copy>(slices: &[&[T]], chunks: &[usize], outer: usize) -> Vec<T> {
        let mut out = Vec::with_capacity(chunks.iter().sum::<usize>() * outer);
        for o in 0..outer {
            for (s, &c) in slices.iter().zip(chunks) {
                out.extend_from_slice(&s[o * c..(o + 1) * c]);
            }
        }
        out
    }
    let chunks: Vec<usize> = parts.iter().map(|p| p.shape[axis] * inner).collect();
    let mismatch = || {
        let elems: Vec<_> = parts.iter().map(|p| p.elem()).collect();
        OnnxError::Type(format!("Concat of {elems:?}"))
    };
    let data = match &first.data {
        Data::F32(_) => {
            let s = parts
                .iter()
                .map(|p| p.as_f32())
                .collect::<Option<Vec<_>>>()
                .ok_or_else(mismatch)?;
            Data::F32(join(&s, &chunks, outer))
        }
        Data::I64(_) => {
            let s = parts
                .iter()
                .map(|p| p.as_i64())
                .collect::<Option<Vec<_>>>()
                .ok_or_else(mismatch)?;
            Data::I64(join(&s, &chunks, outer))
        }
        Data::Bool(_) => {
            let s = parts
                .iter()
                .map(|p| p.as_bool())
                .collect::<Option<Vec<_>>>()
                .ok_or_else(mismatch)?;
            Data::Bool(join(&s, &chunks, outer))
        }
    };
    Ok(Tensor { shape, data })
}

fn softmax(t: &Tensor, axis: i64) -> Result<Tensor, OnnxError> {
    let x = floats(t)?;
    let axis = axis_index(axis, t.shape.len())?;
    let n = t.shape[axis];
    let inner: usize = t.shape[axis + 1..].iter().product();
    let mut out = x.to_vec();
    if n == 0 || inner == 0 {
        return Ok(Tensor::f32(t.shape.clone(), out));
    }
    for block in out.chunks_exact_mut(n * inner) {
        for i in 0..inner {
            let max = (0..n)
                .map(|j| block[i + j * inner])
                .fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0;
            for j in 0..n {
                let e = (block[i + j * inner] - max).exp();
                block[i + j * inner] = e;
                sum += e;
            }
            for j in 0..n {
                block[i + j * inner] /= sum;
            }
        }
    }
    Ok(Tensor::f32(t.shape.clone(), out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs one operator directly; `None` is an omitted optional input.
    fn op(node: Node, args: &[Option<&Tensor>]) -> Result<Tensor, OnnxError> {
        let (op, _) = parse_op(&node)?;
        eval(op, args)
    }

    fn node(op: &str, inputs: usize) -> Node {
        let names: Vec<String> = (0..inputs).map(|i| format!("x{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        Node::new(op, "n", &names, &["y"])
    }

    fn run(op_name: &str, args: &[&Tensor]) -> Result<Tensor, OnnxError> {
        let args: Vec<Option<&Tensor>> = args.iter().map(|t| Some(*t)).collect();
        op(node(op_name, args.len()), &args)
    }

    fn f(shape: &[usize], v: &[f32]) -> Tensor {
        Tensor::f32(shape.to_vec(), v.to_vec())
    }

    fn i(v: &[i64]) -> Tensor {
        Tensor::i64(vec![v.len()], v.to_vec())
    }

    fn iota(shape: &[usize]) -> Tensor {
        let n = shape.iter().product::<usize>();
        Tensor::f32(shape.to_vec(), (0..n).map(|v| v as f32).collect())
    }

    #[test]
    fn arithmetic_broadcasts() {
        let a = iota(&[2, 3, 4]);
        let b = f(&[4], &[100.0, 200.0, 300.0, 400.0]);
        let y = run("Add", &[&a, &b]).unwrap();
        let want: Vec<f32> = (0..24)
            .map(|v| v as f32 + 100.0 * (v % 4 + 1) as f32)
            .collect();
        assert_eq!(y, f(&[2, 3, 4], &want));
        // The same with the operands swapped, through Sub: b - a.
        let y = run("Sub", &[&b, &a]).unwrap();
        let want: Vec<f32> = (0..24)
            .map(|v| 100.0 * (v % 4 + 1) as f32 - v as f32)
            .collect();
        assert_eq!(y, f(&[2, 3, 4], &want));

        let a = iota(&[2, 1, 4]);
        let b = f(&[1, 3, 1], &[1.0, 10.0, 100.0]);
        let y = run("Mul", &[&a, &b]).unwrap();
        let mut want = Vec::new();
        for i in 0..2 {
            for j in [1.0, 10.0, 100.0] {
                want.extend((0..4).map(|l| (i * 4 + l) as f32 * j));
            }
        }
        assert_eq!(y, f(&[2, 3, 4], &want));

        let y = run(
            "Div",
            &[&f(&[3, 1], &[2.0, 4.0, 8.0]), &f(&[1, 2], &[1.0, 2.0])],
        )
        .unwrap();
        assert_eq!(y, f(&[3, 2], &[2.0, 1.0, 4.0, 2.0, 8.0, 4.0]));
        let y = run("Add", &[&f(&[], &[1.0]), &f(&[], &[2.0])]).unwrap();
        assert_eq!(y, f(&[], &[3.0]));
        let y = run("Sub", &[&f(&[2], &[5.0, 6.0]), &f(&[], &[1.0])]).unwrap();
        assert_eq!(y, f(&[2], &[4.0, 5.0]));
        let y = run("Add", &[&iota(&[0, 3]), &f(&[3], &[1.0; 3])]).unwrap();
        assert_eq!(y, f(&[0, 3], &[]));

        assert!(matches!(
            run("Add", &[&iota(&[2, 3]), &iota(&[4])]),
            Err(OnnxError::Shape(_))
        ));
        assert!(matches!(
            run("Add", &[&iota(&[2]), &i(&[1, 2])]),
            Err(OnnxError::Type(_))
        ));
    }

    #[test]
    fn max_relu_clip() {
        let y = run(
            "Max",
            &[
                &f(&[2, 1], &[1.0, 5.0]),
                &f(&[3], &[0.0, 2.0, 6.0]),
                &f(&[], &[1.5]),
            ],
        );
        assert_eq!(y.unwrap(), f(&[2, 3], &[1.5, 2.0, 6.0, 5.0, 5.0, 6.0]));
        assert_eq!(run("Max", &[&f(&[1], &[-1.0])]).unwrap(), f(&[1], &[-1.0]));

        let x = f(&[4], &[-2.0, -0.5, 0.5, 2.0]);
        assert_eq!(run("Relu", &[&x]).unwrap(), f(&[4], &[0.0, 0.0, 0.5, 2.0]));
        let s = run("Sigmoid", &[&x]).unwrap();
        let expect = [-2.0f32, -0.5, 0.5, 2.0].map(|v| 1.0 / (1.0 + (-v).exp()));
        assert_eq!(s, f(&[4], &expect));

        let (lo, hi) = (f(&[], &[-1.0]), f(&[1], &[1.0]));
        let clip = Node::new("Clip", "c", &["x", "", "hi"], &["y"]);
        assert_eq!(
            op(clip, &[Some(&x), None, Some(&hi)]).unwrap(),
            f(&[4], &[-2.0, -0.5, 0.5, 1.0])
        );
        assert_eq!(
            run("Clip", &[&x, &lo, &hi]).unwrap(),
            f(&[4], &[-1.0, -0.5, 0.5, 1.0])
        );
        assert_eq!(
            run("Clip", &[&x, &lo]).unwrap(),
            f(&[4], &[-1.0, -0.5, 0.5, 2.0])
        );
        assert_eq!(run("Clip", &[&x]).unwrap(), x);
        assert!(run("Clip", &[&x, &f(&[2], &[0.0, 1.0])]).is_err());
    }

    #[test]
    fn greater_cast_where() {
        let y = run(
            "Greater",
            &[&f(&[2, 2], &[0.0, 1.0, 0.5, 0.6]), &f(&[], &[0.5])],
        )
        .unwrap();
        assert_eq!(y, Tensor::bool(vec![2, 2], vec![false, true, false, true]));

        let cast = |x: &Tensor, to: i64| {
            op(
                node("Cast", 1).with_attribute("to", Attribute::Int(to)),
                &[Some(x)],
            )
        };
        let b = Tensor::bool(vec![3], vec![true, false, true]);
        assert_eq!(cast(&b, 1).unwrap(), f(&[3], &[1.0, 0.0, 1.0]));
        assert_eq!(cast(&b, 7).unwrap(), Tensor::i64(vec![3], vec![1, 0, 1]));
        let x = f(&[3], &[-1.7, 0.0, 2.9]);
        assert_eq!(cast(&x, 7).unwrap(), Tensor::i64(vec![3], vec![-1, 0, 2]));
        assert_eq!(
            cast(&x, 9).unwrap(),
            Tensor::bool(vec![3], vec![true, false, true])
        );
        assert_eq!(cast(&x, 1).unwrap(), x);
        assert_eq!(cast(&i(&[3, 0]), 1).unwrap(), f(&[2], &[3.0, 0.0]));
        assert_eq!(
            cast(&i(&[3, 0]), 9).unwrap(),
            Tensor::bool(vec![2], vec![true, false])
        );
        assert!(matches!(cast(&x, 11), Err(OnnxError::Unsupported(_))));
        assert!(matches!(
            op(node("Cast", 1), &[Some(&x)]),
            Err(OnnxError::Invalid(_))
        ));

        let cond = Tensor::bool(vec![2, 1], vec![true, false]);
        let y = run("Where", &[&cond, &iota(&[2, 3]), &f(&[], &[-1e9])]).unwrap();
        assert_eq!(y, f(&[2, 3], &[0.0, 1.0, 2.0, -1e9, -1e9, -1e9]));
        assert!(matches!(
            run("Where", &[&x, &x, &x]),
            Err(OnnxError::Type(_))
        ));
    }

    fn reduce_sum(x: &Tensor, axes: Option<&[i64]>, keepdims: i64) -> Result<Tensor, OnnxError> {
        let axes = axes.map(i);
        let n = node("ReduceSum", 2).with_attribute("keepdims", Attribute::Int(keepdims));
        op(n, &[Some(x), axes.as_ref()])
    }

    #[test]
    fn reduce_sum_axes_and_keepdims() {
        let x = iota(&[2, 3, 4]);
        // Over axis 1: out[i, l] = sum_j (12 i + 4 j + l) = 36 i + 12 + 3 l.
        let want: Vec<f32> = (0..8)
            .map(|v| (36 * (v / 4) + 12 + 3 * (v % 4)) as f32)
            .collect();
        assert_eq!(reduce_sum(&x, Some(&[1]), 1).unwrap(), f(&[2, 1, 4], &want));
        assert_eq!(reduce_sum(&x, Some(&[-2]), 0).unwrap(), f(&[2, 4], &want));
        // Over the last axis: out[i, j] = sum_l (4 r + l) = 16 r + 6 with r = 3 i + j.
        let want: Vec<f32> = (0..6).map(|r| (16 * r + 6) as f32).collect();
        assert_eq!(reduce_sum(&x, Some(&[-1]), 0).unwrap(), f(&[2, 3], &want));
        assert_eq!(reduce_sum(&x, Some(&[2]), 1).unwrap(), f(&[2, 3, 1], &want));
        // Over axes 0 and 2: out[j] = sum_i sum_l (12 i + 4 j + l) = 32 j + 60.
        let want: Vec<f32> = (0..3).map(|j| (32 * j + 60) as f32).collect();
        assert_eq!(reduce_sum(&x, Some(&[2, 0]), 0).unwrap(), f(&[3], &want));
        // No axes: everything.
        assert_eq!(reduce_sum(&x, None, 1).unwrap(), f(&[1, 1, 1], &[276.0]));
        assert_eq!(reduce_sum(&x, Some(&[]), 0).unwrap(), f(&[], &[276.0]));
        let noop = node("ReduceSum", 1).with_attribute("noop_with_empty_axes", Attribute::Int(1));
        assert_eq!(op(noop, &[Some(&x)]).unwrap(), x);
        assert!(matches!(
            reduce_sum(&x, Some(&[3]), 1),
            Err(OnnxError::Invalid(_))
        ));
        assert!(matches!(
            reduce_sum(&x, Some(&[1, -2]), 1),
            Err(OnnxError::Invalid(_))
        ));
    }

    #[test]
    fn shape_operators() {
        let x = iota(&[2, 3]);
        let y = run("Unsqueeze", &[&x, &i(&[0, -1])]).unwrap();
        assert_eq!(y.shape, [1, 2, 3, 1]);
        assert_eq!(run("Unsqueeze", &[&x, &i(&[1])]).unwrap().shape, [2, 1, 3]);
        assert_eq!(run("Unsqueeze", &[&x, &i(&[2])]).unwrap().shape, [2, 3, 1]);
        assert!(run("Unsqueeze", &[&x, &i(&[3])]).is_err());
        assert!(run("Unsqueeze", &[&x, &i(&[1, 1])]).is_err());

        let x = iota(&[1, 2, 1]);
        assert_eq!(run("Squeeze", &[&x, &i(&[0])]).unwrap().shape, [2, 1]);
        assert_eq!(run("Squeeze", &[&x, &i(&[-1, 0])]).unwrap(), iota(&[2]));
        assert_eq!(run("Squeeze", &[&x]).unwrap(), iota(&[2]));
        assert!(matches!(
            run("Squeeze", &[&x, &i(&[1])]),
            Err(OnnxError::Shape(_))
        ));

        let x = iota(&[2, 3, 4]);
        assert_eq!(run("Reshape", &[&x, &i(&[0, -1])]).unwrap(), iota(&[2, 12]));
        assert_eq!(run("Reshape", &[&x, &i(&[-1])]).unwrap(), iota(&[24]));
        assert_eq!(
            run("Reshape", &[&x, &i(&[4, 0, -1])]).unwrap(),
            iota(&[4, 3, 2])
        );
        assert_eq!(run("Reshape", &[&iota(&[1]), &i(&[])]).unwrap(), iota(&[]));
        for bad in [&[-1, -1][..], &[5, -1], &[7], &[0, 0, 0, 0], &[-2, 12]] {
            assert!(
                matches!(run("Reshape", &[&x, &i(bad)]), Err(OnnxError::Shape(_))),
                "{bad:?}"
            );
        }
        let zero = node("Reshape", 2).with_attribute("allowzero", Attribute::Int(1));
        let y = op(zero, &[Some(&iota(&[0, 3])), Some(&i(&[3, 0]))]).unwrap();
        assert_eq!(y, iota(&[3, 0]));

        assert_eq!(run("Identity", &[&x]).unwrap(), x);
    }

    #[test]
    fn concat() {
        let concat = |parts: &[&Tensor], axis: i64| {
            let args: Vec<_> = parts.iter().map(|t| Some(*t)).collect();
            op(
                node("Concat", parts.len()).with_attribute("axis", Attribute::Int(axis)),
                &args,
            )
        };
        let (a, b) = (f(&[2, 1], &[1.0, 2.0]), f(&[2, 2], &[3.0, 4.0, 5.0, 6.0]));
        let want = f(&[2, 3], &[1.0, 3.0, 4.0, 2.0, 5.0, 6.0]);
        assert_eq!(concat(&[&a, &b], 1).unwrap(), want);
        assert_eq!(concat(&[&a, &b], -1).unwrap(), want);
        let y = concat(&[&b, &b], 0).unwrap();
        assert_eq!(y, f(&[4, 2], &[3.0, 4.0, 5.0, 6.0, 3.0, 4.0, 5.0, 6.0]));
        assert_eq!(concat(&[&i(&[1]), &i(&[2, 3])], 0).unwrap(), i(&[1, 2, 3]));
        assert!(matches!(concat(&[&a, &b], 0), Err(OnnxError::Shape(_))));
        assert!(matches!(
            concat(&[&a, &i(&[1, 2])], 0),
            Err(OnnxError::Shape(_))
        ));
        let c = Tensor::i64(vec![2, 1], vec![1, 2]);
        assert!(matches!(concat(&[&a, &c], 1), Err(OnnxError::Type(_))));
        assert!(matches!(
            op(node("Concat", 2), &[Some(&a), Some(&a)]),
            Err(OnnxError::Invalid(_))
        ));
    }

    #[test]
    fn matmul() {
        let a = f(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let b = f(&[3, 2], &[1.0, 0.0, 0.0, 1.0, 1.0, -1.0]);
        let want = f(&[2, 2], &[4.0, -1.0, 10.0, -1.0]);
        assert_eq!(run("MatMul", &[&a, &b]).unwrap(), want);
        let a3 = Tensor::f32(vec![2, 1, 3], a.as_f32().unwrap().to_vec());
        let y = run("MatMul", &[&a3, &b]).unwrap();
        assert_eq!(y, f(&[2, 1, 2], &[4.0, -1.0, 10.0, -1.0]));
        assert_eq!(run("MatMul", &[&iota(&[0, 3]), &b]).unwrap(), iota(&[0, 2]));
        assert_eq!(
            run("MatMul", &[&iota(&[2, 0]), &iota(&[0, 2])]).unwrap(),
            f(&[2, 2], &[0.0; 4])
        );
        for (x, w) in [
            (&iota(&[3]), &b),
            (&a, &iota(&[3])),
            (&iota(&[1, 2, 2, 3]), &b),
            (&a3, &a3),
        ] {
            assert!(matches!(
                run("MatMul", &[x, w]),
                Err(OnnxError::Unsupported(_))
            ));
        }
        assert!(matches!(run("MatMul", &[&a, &a]), Err(OnnxError::Shape(_))));
    }

    #[test]
    fn softmax() {
        let close = |t: Tensor, want: [f32; 4]| {
            let got = t.as_f32().unwrap();
            assert!(
                got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6),
                "{got:?} {want:?}"
            );
        };
        let x = f(&[2, 2], &[0.0, 0.0, 1.0, 3.0]);
        let (e1, e2, e3) = (1f32.exp(), 2f32.exp(), 3f32.exp());
        let last = [0.5, 0.5, 1.0 / (1.0 + e2), e2 / (1.0 + e2)];
        close(run("Softmax", &[&x]).unwrap(), last);
        let axis0 = node("Softmax", 1).with_attribute("axis", Attribute::Int(0));
        let first = [
            1.0 / (1.0 + e1),
            1.0 / (1.0 + e3),
            e1 / (1.0 + e1),
            e3 / (1.0 + e3),
        ];
        close(op(axis0, &[Some(&x)]).unwrap(), first);
    }

    fn mlp() -> Graph {
        let w1 = f(&[2, 3], &[1.0, 0.0, -1.0, 0.0, 1.0, 1.0]);
        let b1 = f(&[3], &[0.0, 0.0, 0.5]);
        let w2 = f(&[3, 1], &[1.0, 2.0, 3.0]);
        let b2 = f(&[1], &[0.25]);
        Graph {
            name: "mlp".into(),
            inputs: vec![ValueInfo::new(
                "obs",
                ElemType::Float,
                vec!["batch".into(), 2.into()],
            )],
            outputs: vec![ValueInfo::new(
                "value",
                ElemType::Float,
                vec!["batch".into()],
            )],
            initializers: [
                ("w1", w1),
                ("b1", b1),
                ("w2", w2),
                ("b2", b2),
                ("flat", i(&[-1])),
            ]
            .map(|(n, t)| (n.to_owned(), t))
            .to_vec(),
            nodes: vec![
                Node::new("MatMul", "mm1", &["obs", "w1"], &["h0"]),
                Node::new("Add", "add1", &["h0", "b1"], &["h1"]),
                Node::new("Relu", "relu1", &["h1"], &["h"]),
                Node::new("MatMul", "mm2", &["h", "w2"], &["y0"]),
                Node::new("Add", "add2", &["y0", "b2"], &["y"]),
                Node::new("Reshape", "flatten", &["y", "flat"], &["value"]),
            ],
        }
    }

    #[test]
    fn runs_a_graph() {
        let obs = f(&[2, 2], &[1.0, 2.0, 3.0, -4.0]);
        let out = mlp().run(&[("obs".to_owned(), obs.clone())]).unwrap();
        assert_eq!(out, vec![f(&[2], &[9.75, 3.25])]);
        let prepared = mlp().prepare().unwrap();
        assert_eq!(prepared.run(&[("obs", obs)]).unwrap(), out);
        assert_eq!(
            prepared.run(&[("obs", iota(&[0, 2]))]).unwrap(),
            vec![f(&[0], &[])]
        );
        // An initializer listed among the inputs (older exporters) is a default.
        let mut g = mlp();
        g.inputs
            .push(ValueInfo::new("b2", ElemType::Float, vec![1.into()]));
        let obs = f(&[1, 2], &[1.0, 2.0]);
        assert_eq!(
            g.run(&[("obs", obs.clone())]).unwrap(),
            vec![f(&[1], &[9.75])]
        );
        let out = g.run(&[("obs", obs), ("b2", f(&[1], &[0.0]))]).unwrap();
        assert_eq!(out, vec![f(&[1], &[9.5])]);
    }

    fn message(e: OnnxError) -> String {
        match e {
            OnnxError::Shape(m) | OnnxError::Type(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn inputs_are_checked_against_declarations() {
        let g = Graph {
            name: "g".into(),
            inputs: vec![
                ValueInfo::new("a", ElemType::Float, vec!["batch".into(), 2.into()]),
                ValueInfo::new(
                    "m",
                    ElemType::Bool,
                    vec!["batch".into(), Dim::Named(String::new())],
                ),
            ],
            outputs: vec![ValueInfo::new(
                "y",
                ElemType::Float,
                vec!["batch".into(), 2.into()],
            )],
            initializers: vec![],
            nodes: vec![Node::new("Identity", "id", &["a"], &["y"])],
        }
        .prepare()
        .unwrap();
        let m = |b: usize, n: usize| Tensor::bool(vec![b, n], vec![true; b * n]);
        assert_eq!(
            g.run(&[("m", m(3, 7)), ("a", iota(&[3, 2]))]).unwrap(),
            vec![iota(&[3, 2])]
        );

        let err = g.run(&[("a", iota(&[2])), ("m", m(2, 1))]).unwrap_err();
        assert_eq!(message(err), "input 'a': declared [batch, 2], given [2]");
        let err = g.run(&[("a", iota(&[2, 3])), ("m", m(2, 1))]).unwrap_err();
        assert_eq!(message(err), "input 'a': declared [batch, 2], given [2, 3]");
        let err = g.run(&[("a", iota(&[2, 2])), ("m", m(3, 1))]).unwrap_err();
        assert_eq!(
            message(err),
            "input 'm': declared [batch, ?], given [3, 1] ('batch' is 2 elsewhere)"
        );
        let err = g
            .run(&[("a", Tensor::i64(vec![1, 2], vec![0, 0])), ("m", m(1, 1))])
            .unwrap_err();
        assert_eq!(message(err), "input 'a': declared Float, given Int64");
        let err = g
            .run(&[("a", f(&[1, 2], &[0.0])), ("m", m(1, 1))])
            .unwrap_err();
        assert!(matches!(err, OnnxError::Shape(m) if m.contains("'a'")));

        let missing = g.run(&[("a", iota(&[1, 2]))]);
        assert!(matches!(missing, Err(OnnxError::MissingInput(m)) if m.contains("'m'")));
        let unknown = g.run(&[("a", iota(&[1, 2])), ("m", m(1, 1)), ("z", iota(&[1]))]);
        assert!(matches!(unknown, Err(OnnxError::Invalid(m)) if m.contains("'z'")));
        let twice = g.run(&[("a", iota(&[1, 2])), ("m", m(1, 1)), ("a", iota(&[1, 2]))]);
        assert!(matches!(twice, Err(OnnxError::Invalid(_))));
    }

    #[test]
    fn outputs_are_checked_against_declarations() {
        let mut g = mlp();
        g.outputs[0].dims = vec!["batch".into(), 1.into()];
        let err = g.run(&[("obs", iota(&[2, 2]))]).unwrap_err();
        assert_eq!(
            message(err),
            "output 'value': declared [batch, 1], given [2]"
        );
    }

    #[test]
    fn bad_graphs_are_rejected_when_prepared() {
        let mut g = mlp();
        g.nodes[2].op = "Gelu".into();
        let err = g.prepare().unwrap_err();
        assert!(
            matches!(&err, OnnxError::Unsupported(m) if m.contains("Gelu") && m.contains("'relu1'")),
            "{err}"
        );

        let mut g = mlp();
        g.nodes.swap(0, 1);
        let err = g.prepare().unwrap_err();
        assert!(
            matches!(&err, OnnxError::MissingInput(m) if m.contains("'h0'") && m.contains("'add1'")),
            "{err}"
        );

        let mut g = mlp();
        g.nodes[1].outputs[0] = "obs".into();
        assert!(matches!(g.prepare(), Err(OnnxError::Invalid(_))));

        let mut g = mlp();
        g.outputs[0].name = "nothing".into();
        assert!(matches!(g.prepare(), Err(OnnxError::MissingInput(m)) if m.contains("'nothing'")));

        let mut g = mlp();
        g.nodes[2].inputs.push("h1".into());
        assert!(matches!(g.prepare(), Err(OnnxError::Invalid(_))));

        let mut g = mlp();
        g.nodes[2]
            .attributes
            .push(("alpha".into(), Attribute::Float(0.1)));
        assert!(matches!(g.prepare(), Err(OnnxError::Unsupported(m)) if m.contains("'alpha'")));

        let mut g = mlp();
        g.initializers[0].1 = f(&[2, 3], &[0.0]);
        assert!(matches!(g.prepare(), Err(OnnxError::Shape(m)) if m.contains("'w1'")));
    }
}
