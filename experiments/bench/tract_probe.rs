//! tract-onnx against planetgym's own ONNX interpreter, on the exported policies: both runtimes
//! are prepared from the same `policy.onnx` bytes, checked to agree, then timed per decision
//! (batch 1) in alternating blocks, so that both see the same machine state.
//!
//! Not part of the build (tract adds about 10 minutes to a clean build here). To rerun it, add
//! `tract-onnx = { version = "0.23", default-features = false }` under `[dev-dependencies]` of
//! deploy/Cargo.toml, copy this file to deploy/examples/, and from deploy/ run
//! `cargo run --release --example tract_probe [entities]` (`entities`: entity count for entity
//! policies; default: the count seen in training).
//!
//! Measured 2026-12-03 (2 cores, alternated blocks of 200, batch 1, p50): capacity (flat MLP)
//! tract 17 us vs 22 us; batch (128 jobs) 231 vs 56 us; placement (1,523 nodes) 2,113 vs 285 us;
//! traffic (648 pairs) 962 vs 215 us. Outputs agree within 8e-6. planetgym's interpreter stays.

use planetgym_deploy::export::{self, Axis, TensorSpec};
use planetgym_deploy::onnx::{Model, Prepared, Tensor};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tract_onnx::prelude::{
    DatumType, Framework, InferenceFact, InferenceModelExt, IntoRunnable, TValue, TVec,
    Tensor as TractTensor, TypedRunnableModel,
};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const POLICIES: [&str; 4] = ["capacity", "batch", "placement", "traffic"];
const DECISIONS: usize = 2000;
const BLOCK: usize = 200;
const WARMUP: usize = 200;
const PREP_REPEATS: usize = 5;
const DEFAULT_ENTITIES: usize = 64;

/// One graph input: name, concrete shape, values.
type Input = (String, Vec<usize>, Vec<f32>);

fn main() -> Res<()> {
    let entities_override = std::env::args().nth(1).map(|s| s.parse::<usize>()).transpose()?;
    for name in POLICIES {
        let dir = std::env::temp_dir().join(format!("tract-probe-{}-{name}", std::process::id()));
        let manifest = export::export(Path::new(&format!("../experiments/policies/{name}")), &dir)?;
        let bytes = std::fs::read(dir.join(export::ONNX_FILE))?;
        std::fs::remove_dir_all(&dir).ok();
        let entities = entities_override
            .or(manifest.feature_spec.entity_parts().map(|p| p.entities))
            .unwrap_or(DEFAULT_ENTITIES);
        let inputs = random_inputs(&manifest.inputs, entities, 0x5eed_0000 + name.len() as u64)?;

        let (prepared, pg_ms) = timed(PREP_REPEATS, || prepare_planetgym(&bytes))?;
        let ((plan, order), tract_ms) = timed(PREP_REPEATS, || prepare_tract(&bytes, &inputs))?;
        let pg_inputs: Vec<(String, Tensor)> = inputs
            .iter()
            .map(|(n, shape, data)| (n.clone(), Tensor::f32(shape.clone(), data.clone())))
            .collect();
        let tract_inputs: TVec<TValue> = order
            .iter()
            .map(|&k| -> Res<TValue> {
                Ok(TractTensor::from_shape::<f32>(&inputs[k].1, &inputs[k].2)?.into())
            })
            .collect::<Res<_>>()?;

        // Both runtimes must give the same outputs (graph order in both).
        let pg_out = prepared.run(&pg_inputs)?;
        let tract_out = plan.run(tract_inputs.clone())?;
        if pg_out.len() != tract_out.len() {
            return Err(format!("{name}: {} outputs vs {}", pg_out.len(), tract_out.len()).into());
        }
        let mut max_diff = 0f32;
        for (p, t) in pg_out.iter().zip(&tract_out) {
            let p = p.as_f32().ok_or("planetgym output is not f32")?;
            let t = t.try_as_plain_ram()?.as_slice::<f32>()?;
            if p.len() != t.len() {
                return Err(format!("{name}: output lengths {} vs {}", p.len(), t.len()).into());
            }
            max_diff = p.iter().zip(t).fold(max_diff, |m, (a, b)| m.max((a - b).abs()));
        }

        // A persistent tract state, as a service making decisions one after the other would keep.
        let mut state = plan.spawn()?;
        let mut decide = |runtime: usize| -> Res<()> {
            if runtime == 0 {
                black_box(state.run(tract_inputs.clone())?);
            } else {
                black_box(prepared.run(&pg_inputs)?);
            }
            Ok(())
        };
        for _ in 0..WARMUP {
            decide(0)?;
            decide(1)?;
        }
        let mut micros = [Vec::with_capacity(DECISIONS), Vec::with_capacity(DECISIONS)];
        for block in 0..DECISIONS / BLOCK {
            let turns = if block % 2 == 0 { [0, 1] } else { [1, 0] };
            for runtime in turns {
                for _ in 0..BLOCK {
                    let start = Instant::now();
                    decide(runtime)?;
                    micros[runtime].push(start.elapsed().as_secs_f64() * 1e6);
                }
            }
        }
        for m in &mut micros {
            m.sort_by(f64::total_cmp);
        }
        let [(t50, t99), (p50, p99)] = micros.map(|m| (pct(&m, 0.50), pct(&m, 0.99)));

        let shapes: Vec<String> = inputs.iter().map(|(n, s, _)| format!("{n}{s:?}")).collect();
        println!("{name}: {}", shapes.join(" "));
        println!("  outputs: max |tract - planetgym| = {max_diff:.3e}");
        println!(
            "  prepare (load + optimise, median of {PREP_REPEATS}): tract {tract_ms:.2} ms, planetgym {pg_ms:.2} ms"
        );
        println!(
            "  per decision over {DECISIONS}: tract p50 {t50:.1} us p99 {t99:.1} us | planetgym p50 {p50:.1} us p99 {p99:.1} us | tract/planetgym p50 {:.2} p99 {:.2}",
            t50 / p50,
            t99 / p99
        );
    }
    Ok(())
}

/// Batch-1 inputs for the manifest's tensors: uniform [0, 1) values from a fixed seed, and an
/// entity mask of all ones.
fn random_inputs(specs: &[TensorSpec], entities: usize, seed: u64) -> Res<Vec<Input>> {
    let mut rng = seed | 1;
    let mut uniform = move || {
        // xorshift64*
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        (rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40) as f32 / (1u64 << 24) as f32
    };
    specs
        .iter()
        .map(|spec| -> Res<Input> {
            let shape = spec
                .shape
                .iter()
                .map(|axis| match axis {
                    Axis::Fixed(n) => Ok(*n),
                    Axis::Dynamic(d) if d == export::BATCH_AXIS => Ok(1),
                    Axis::Dynamic(d) if d == export::ENTITY_AXIS => Ok(entities),
                    Axis::Dynamic(d) => Err(format!("{}: unknown dynamic axis '{d}'", spec.name)),
                })
                .collect::<Result<Vec<usize>, String>>()?;
            let len = shape.iter().product();
            let data = if spec.name == "entity_mask" {
                vec![1.0; len]
            } else {
                (0..len).map(|_| uniform()).collect()
            };
            Ok((spec.name.clone(), shape, data))
        })
        .collect()
}

fn prepare_planetgym(bytes: &[u8]) -> Res<Prepared> {
    Ok(Model::from_bytes(bytes)?.graph.prepare()?)
}

/// The optimised tract plan for the inputs' concrete shapes, and for each of tract's inputs
/// (in its order) the index of the matching entry of `inputs`.
fn prepare_tract(bytes: &[u8], inputs: &[Input]) -> Res<(Arc<TypedRunnableModel>, Vec<usize>)> {
    let mut model = tract_onnx::onnx().model_for_read(&mut &bytes[..])?;
    let mut order = Vec::new();
    for ix in 0..model.input_outlets()?.len() {
        let node = model.input_outlets()?[ix].node;
        let name = &model.node(node).name;
        let k = inputs
            .iter()
            .position(|(n, ..)| n == name)
            .ok_or_else(|| format!("tract input '{name}' is not in the manifest"))?;
        model.set_input_fact(ix, InferenceFact::dt_shape(DatumType::F32, inputs[k].1.clone()))?;
        order.push(k);
    }
    Ok((model.into_optimized()?.into_runnable()?, order))
}

/// Runs `f` `repeats` times; returns the last result and the median time in milliseconds.
fn timed<T>(repeats: usize, mut f: impl FnMut() -> Res<T>) -> Res<(T, f64)> {
    let (mut last, mut ms) = (None, Vec::new());
    for _ in 0..repeats {
        let start = Instant::now();
        last = Some(f()?);
        ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    Ok((last.ok_or("no repeats")?, ms[ms.len() / 2]))
}

/// The `p` quantile of sorted samples (nearest rank).
fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}
