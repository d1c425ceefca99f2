//! Learned failure predictors: a burn MLP on the standardised features of a risk task, trained
//! with Adam on the log-loss of its training part and stopped early on its validation part.

use crate::ppo::adam::Adam;
use burn::tensor::activation::log_sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use forust_ml::metric::Metric;
use forust_ml::objective::ObjectiveType;
use forust_ml::{GradientBooster, Matrix};
use planetgym_agents::nn::classifier::Classifier;
use planetgym_agents::nn::params::{self, Weights};
use planetgym_agents::nn::{inference_device, training_device};
use planetgym_agents::risk::dataset::{
    Dataset, Sequences, TemporalSplit, standardisation, temporal_split,
};
use planetgym_agents::risk::logistic::sigmoid;
use planetgym_agents::risk::tasks::Task;
use planetgym_agents::risk::{Predictions, Report, baselines, report};
use planetgym_env::bounds;
use planetgym_env::rng::Rng;
use std::path::Path;

/// How the MLP is trained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MlpConfig {
    pub hidden: usize,
    pub max_epochs: usize,
    pub batch: usize,
    pub learning_rate: f64,
    /// Epochs without a better validation loss before stopping.
    pub patience: usize,
    /// Units of a GRU over each row's recent history (its dataset's `sequences`); 0 = none.
    pub recurrent: usize,
}

impl Default for MlpConfig {
    fn default() -> Self {
        Self {
            hidden: 64,
            max_epochs: 60,
            batch: 256,
            learning_rate: 1e-3,
            patience: 6,
            recurrent: 0,
        }
    }
}

impl MlpConfig {
    pub fn validate(&self) -> Result<(), String> {
        bounds::count("mlp.hidden", self.hidden as u64, 1, 4096, "units per layer")?;
        bounds::count(
            "mlp.max_epochs",
            self.max_epochs as u64,
            1,
            10_000,
            "passes over the training rows",
        )?;
        bounds::count(
            "mlp.batch",
            self.batch as u64,
            1,
            1 << 20,
            "rows per gradient step",
        )?;
        bounds::count("mlp.patience", self.patience as u64, 1, 10_000, "epochs")?;
        bounds::count("mlp.recurrent", self.recurrent as u64, 0, 1024, "GRU units")?;
        bounds::positive_at_most("mlp.learning_rate", self.learning_rate, 1.0)
    }
}

/// A trained MLP with the standardisation of its inputs.
#[derive(Debug, Clone)]
pub struct MlpPredictor {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    pub hidden: usize,
    pub recurrent: usize,
    pub weights: Weights,
    /// Epochs run and the epoch whose weights were kept (lowest validation loss).
    pub epochs: usize,
    pub best_epoch: usize,
    pub validation_loss: f64,
}

fn standardised(data: &Dataset, rows: &[usize], mean: &[f64], scale: &[f64]) -> Vec<f32> {
    rows.iter()
        .flat_map(|&i| {
            data.row(i)
                .iter()
                .zip(mean.iter().zip(scale))
                .map(|(v, (m, s))| ((v - m) / s) as f32)
        })
        .collect()
}

fn rows_tensor(values: Vec<f32>, rows: usize, width: usize, device: &Device) -> Tensor<2> {
    Tensor::<2>::from_data(TensorData::new(values, [rows, width]), device)
}

/// The shape of a recurrent classifier's sequence input: (channels plus a presence flag).
fn sequence_shape(data: &Dataset) -> Result<(usize, usize), String> {
    let s = data.sequences.as_ref().ok_or_else(|| {
        format!(
            "{}: a recurrent predictor needs the rows' histories, which this task has not",
            data.task
        )
    })?;
    Ok((s.window, s.channels.len() + 1))
}

/// Windows `[rows, steps, channels + 1]` of `rows`: each step's channels standardised like the
/// features, then 1 (0 and zeros where the entity has no row that far back). None when
/// `recurrent` is 0.
fn windows(
    data: &Dataset,
    rows: &[usize],
    mean: &[f64],
    scale: &[f64],
    recurrent: usize,
    device: &Device,
) -> Option<Tensor<3>> {
    let s = data.sequences.as_ref().filter(|_| recurrent > 0)?;
    let width = s.channels.len() + 1;
    let mut values = Vec::with_capacity(rows.len() * s.window * width);
    for &i in rows {
        for &j in s.of(i) {
            if j == Sequences::MISSING {
                values.extend(std::iter::repeat_n(0.0, width));
                continue;
            }
            let row = data.row(j as usize);
            values.extend(
                s.channels
                    .iter()
                    .map(|&c| ((row[c] - mean[c]) / scale[c]) as f32),
            );
            values.push(1.0);
        }
    }
    Some(Tensor::<3>::from_data(
        TensorData::new(values, [rows.len(), s.window, width]),
        device,
    ))
}

/// Mean log-loss of logits against labels (1 failed, 0 not).
fn log_loss(logits: Tensor<1>, labels: Tensor<1>) -> Tensor<1> {
    let failed = labels.clone() * log_sigmoid(logits.clone());
    let fine = (labels.neg() + 1.0) * log_sigmoid(logits.neg());
    (failed + fine).mean().neg()
}

impl MlpPredictor {
    /// The probability of failure of every row of `data`.
    pub fn probabilities(&self, data: &Dataset) -> Result<Vec<f64>, String> {
        let device = inference_device();
        let d = data.features.len();
        let sequence = (self.recurrent > 0)
            .then(|| sequence_shape(data).map(|(_, c)| (c, self.recurrent)))
            .transpose()?;
        let model = params::write(
            Classifier::new(d, self.hidden, sequence, &mut Rng::new(0), &device),
            &self.weights,
        )
        .map_err(|e| e.to_string())?;
        let rows: Vec<usize> = (0..data.rows()).collect();
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(1 << 14) {
            let x = rows_tensor(
                standardised(data, chunk, &self.mean, &self.scale),
                chunk.len(),
                d,
                &device,
            );
            let w = windows(
                data,
                chunk,
                &self.mean,
                &self.scale,
                self.recurrent,
                &device,
            );
            let p = burn::tensor::activation::sigmoid(model.forward(x, w));
            let values = p
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .map_err(|e| format!("{e:?}"))?;
            out.extend(values.into_iter().map(f64::from));
        }
        Ok(out)
    }
}

/// Trains an MLP on `split.train`, keeping the weights of the epoch with the lowest log-loss
/// on `split.validation`. The same seed gives the same predictor.
pub fn train_mlp(
    data: &Dataset,
    split: &TemporalSplit,
    config: &MlpConfig,
    seed: u64,
) -> Result<MlpPredictor, String> {
    config.validate()?;
    let d = data.features.len();
    let train = &split.train;
    let all: Vec<usize> = (0..d).collect();
    let (mean, scale) = standardisation(data, train, &all);
    let device = training_device();
    let mut rng = Rng::new(seed);
    let sequence = (config.recurrent > 0)
        .then(|| sequence_shape(data).map(|(_, c)| (c, config.recurrent)))
        .transpose()?;
    let mut model = Classifier::new(d, config.hidden, sequence, &mut rng, &device);
    let mut weights = params::read(&model);
    let mut adam = Adam::new(&weights);
    let labels = |rows: &[usize]| -> Vec<f32> {
        rows.iter()
            .map(|&i| f32::from(u8::from(data.y[i])))
            .collect()
    };
    // The validation inputs, built once for every epoch's loss.
    let validation_x = rows_tensor(
        standardised(data, &split.validation, &mean, &scale),
        split.validation.len(),
        d,
        &device,
    );
    let validation_w = windows(
        data,
        &split.validation,
        &mean,
        &scale,
        config.recurrent,
        &device,
    );
    let validation_y = labels(&split.validation);
    let mut order = train.clone();
    let mut best = (f64::INFINITY, weights.clone(), 0);
    let mut epochs = 0;
    for epoch in 1..=config.max_epochs {
        epochs = epoch;
        for k in (1..order.len()).rev() {
            order.swap(k, rng.below(k + 1));
        }
        for batch in order.chunks(config.batch) {
            let x = rows_tensor(
                standardised(data, batch, &mean, &scale),
                batch.len(),
                d,
                &device,
            );
            let y = Tensor::<1>::from_data(TensorData::new(labels(batch), [batch.len()]), &device);
            let w = windows(data, batch, &mean, &scale, config.recurrent, &device);
            let grads = log_loss(model.forward(x, w), y).backward();
            let g = params::read_grads(&model, &grads);
            let norm = adam.step(&mut weights, &g, config.learning_rate, 1.0);
            if !norm.is_finite() {
                return Err(format!(
                    "{}: the MLP's gradient is not finite at epoch {epoch}",
                    data.task
                ));
            }
            model = params::write(model, &weights).map_err(|e| e.to_string())?;
        }
        let y = Tensor::<1>::from_data(
            TensorData::new(validation_y.clone(), [validation_y.len()]),
            &device,
        );
        let logits = model.forward(validation_x.clone(), validation_w.clone());
        let loss = f64::from(log_loss(logits, y).into_scalar::<f32>());
        if loss < best.0 {
            best = (loss, weights.clone(), epoch);
        } else if epoch - best.2 >= config.patience {
            break;
        }
    }
    if best.2 == 0 {
        return Err(format!(
            "{}: the MLP's validation loss was never finite",
            data.task
        ));
    }
    Ok(MlpPredictor {
        mean,
        scale,
        hidden: config.hidden,
        recurrent: config.recurrent,
        weights: best.1,
        epochs,
        best_epoch: best.2,
        validation_loss: best.0,
    })
}

/// Trees at most; boosting stops when the validation log-loss has not improved for
/// `GBT_PATIENCE` of them, and predicts with the best count.
pub const GBT_TREES: usize = 500;
pub const GBT_PATIENCE: usize = 25;

/// `rows` of `data` column by column, as the `forust-ml` crate reads them.
fn column_major(data: &Dataset, rows: &[usize]) -> Vec<f64> {
    (0..data.features.len())
        .flat_map(|f| rows.iter().map(move |&i| data.row(i)[f]))
        .collect()
}

/// Gradient-boosted trees (the `forust-ml` crate: log-loss, depth 5, learning rate 0.05),
/// stopped early on the validation part's log-loss. One thread, so that the same seed gives
/// the same trees.
pub fn gbt(data: &Dataset, split: &TemporalSplit, seed: u64) -> Result<Predictions, String> {
    let cols = data.features.len();
    let labels = |rows: &[usize]| -> Vec<f64> {
        rows.iter()
            .map(|&i| f64::from(u8::from(data.y[i])))
            .collect()
    };
    let (train_x, train_y) = (column_major(data, &split.train), labels(&split.train));
    let (validation_x, validation_y) = (
        column_major(data, &split.validation),
        labels(&split.validation),
    );
    let validation_w = vec![1.0; split.validation.len()];
    let validation = vec![(
        Matrix::new(&validation_x, split.validation.len(), cols),
        validation_y.as_slice(),
        validation_w.as_slice(),
    )];
    let mut booster = GradientBooster::default()
        .set_objective_type(ObjectiveType::LogLoss)
        .set_iterations(GBT_TREES)
        .set_learning_rate(0.05)
        .set_max_depth(5)
        .set_parallel(false)
        .set_seed(seed)
        .set_evaluation_metric(Some(Metric::LogLoss))
        .set_early_stopping_rounds(Some(GBT_PATIENCE));
    booster
        .fit_unweighted(
            &Matrix::new(&train_x, split.train.len(), cols),
            &train_y,
            Some(validation),
        )
        .map_err(|e| format!("{}: gradient-boosted trees: {e}", data.task))?;
    let all: Vec<usize> = (0..data.rows()).collect();
    let all_x = column_major(data, &all);
    let probabilities: Vec<f64> = booster
        .predict(&Matrix::new(&all_x, data.rows(), cols), false)
        .into_iter()
        .map(sigmoid)
        .collect();
    if probabilities.len() != data.rows() || probabilities.iter().any(|p| !p.is_finite()) {
        return Err(format!(
            "{}: gradient-boosted trees gave unusable probabilities",
            data.task
        ));
    }
    Ok(Predictions {
        predictor: "gbt".into(),
        about: format!(
            "gradient-boosted trees (forust-ml 0.8), depth 5, learning rate 0.05, {} trees kept",
            booster
                .best_iteration
                .map_or(booster.trees.len(), |b| b + 1)
        ),
        probabilities,
    })
}

/// How a task is evaluated: MLP training seeds (0 leaves the MLP out), bootstrap resamples and
/// their seed (also the first MLP seed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub mlp_seeds: usize,
    pub resamples: usize,
    pub seed: u64,
}

/// The task's dataset (from `data`, or the shipped trace, with `holdout`'s rows), split in
/// time, every predictor (the two baselines, gradient-boosted trees and the MLP) fitted and
/// scored.
pub fn evaluate(
    task: &Task,
    data: Option<&Path>,
    holdout: Option<&Path>,
    options: &Options,
) -> Result<Report, String> {
    bounds::count(
        "resamples",
        options.resamples as u64,
        100,
        100_000,
        "each resample rescores every predictor",
    )?;
    bounds::count(
        "mlp_seeds",
        options.mlp_seeds as u64,
        0,
        100,
        "one training each",
    )?;
    let data = task.dataset(data, holdout)?;
    let split = temporal_split(&data, [0.6, 0.2])?;
    let mut predictions: Vec<Predictions> = baselines(&data, &split)?
        .iter()
        .map(|(name, model)| Predictions::of(name, &data, model))
        .collect();
    predictions.push(gbt(&data, &split, options.seed)?);
    if options.mlp_seeds > 0 {
        predictions.push(network(&data, &split, options, &MlpConfig::default())?);
        if data.sequences.is_some() {
            let gru = MlpConfig {
                recurrent: GRU_UNITS,
                ..MlpConfig::default()
            };
            predictions.push(network(&data, &split, options, &gru)?);
        }
    }
    Ok(report(
        &data,
        &split,
        &predictions,
        options.resamples,
        options.seed,
    ))
}

/// GRU units of the recurrent predictor.
pub const GRU_UNITS: usize = 32;

/// The mean probability of networks (`config`: the MLP, or with a GRU) trained from
/// `options.mlp_seeds` seeds.
fn network(
    data: &Dataset,
    split: &TemporalSplit,
    options: &Options,
    config: &MlpConfig,
) -> Result<Predictions, String> {
    let mut sum = vec![0.0; data.rows()];
    let mut stops = Vec::new();
    for k in 0..options.mlp_seeds {
        let trained = train_mlp(data, split, config, options.seed.wrapping_add(k as u64))?;
        let p = trained.probabilities(data)?;
        if p.iter().any(|p| !p.is_finite()) {
            return Err(format!(
                "{}: the MLP gave a probability that is not finite",
                data.task
            ));
        }
        sum.iter_mut().zip(p).for_each(|(s, p)| *s += p);
        stops.push(trained.best_epoch.to_string());
    }
    let (predictor, shape) = match data.sequences.as_ref().filter(|_| config.recurrent > 0) {
        Some(seq) => (
            "gru",
            format!(
                "a GRU of {} units over the last {} rows of {} telemetry features, then ",
                config.recurrent,
                seq.window,
                seq.channels.len()
            ),
        ),
        None => ("mlp", String::new()),
    };
    Ok(Predictions {
        predictor: predictor.into(),
        about: format!(
            "burn {shape}MLP, 2 ReLU layers of {}, mean of {} seeds (kept epochs {} of at most {})",
            config.hidden,
            options.mlp_seeds,
            stops.join(", "),
            config.max_epochs
        ),
        probabilities: sum
            .into_iter()
            .map(|s| s / options.mlp_seeds as f64)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use planetgym_agents::risk::dataset::temporal_split;
    use planetgym_agents::risk::metrics::auroc;

    /// A nonlinear task logistic regression cannot rank: failure when both features are large
    /// or both small (XOR of signs), with label noise.
    fn xor(n: usize) -> Dataset {
        let mut rng = Rng::new(9);
        let mut d = Dataset::new("xor", &["a", "b"]);
        for i in 0..n {
            let (a, b) = (rng.normal(), rng.normal());
            let failed = (a * b > 0.0) != (rng.uniform() < 0.1);
            d.push(&[a, b], failed, i as f64, i as f64, false).unwrap();
        }
        d
    }

    /// Failure follows a spike three steps earlier, which only the history shows: the GRU
    /// learns it, the MLP on the current row cannot.
    #[test]
    fn the_gru_reads_history_the_current_row_lacks() {
        let mut rng = Rng::new(4);
        let mut d = Dataset::new("echo", &["signal"]);
        let (mut keys, mut signal) = (Vec::new(), Vec::new());
        for e in 0..60u64 {
            for t in 0..40 {
                let v: f64 = if rng.uniform() < 0.2 {
                    3.0
                } else {
                    rng.normal() * 0.3
                };
                signal.push(v);
                let n = signal.len();
                let failed = t >= 3 && signal[n - 4] > 2.0;
                let at = (e * 40 + t) as f64;
                d.push(&[v], failed, at, at, false).unwrap();
                keys.push(e);
            }
        }
        d.set_sequences(&keys, 5, &[0], 1.0).unwrap();
        let split = temporal_split(&d, [0.6, 0.2]).unwrap();
        let test_y: Vec<bool> = split.test.iter().map(|&i| d.y[i]).collect();
        let score = |config: &MlpConfig| {
            let p = train_mlp(&d, &split, config, 2)
                .unwrap()
                .probabilities(&d)
                .unwrap();
            auroc(
                &split.test.iter().map(|&i| p[i]).collect::<Vec<f64>>(),
                &test_y,
            )
        };
        let mlp = MlpConfig {
            max_epochs: 20,
            ..MlpConfig::default()
        };
        let gru = MlpConfig {
            recurrent: 16,
            ..mlp
        };
        let (flat, recurrent) = (score(&mlp), score(&gru));
        assert!(flat < 0.65, "the MLP sees no history: {flat}");
        assert!(recurrent > 0.8, "the GRU reads it: {recurrent}");
    }

    #[test]
    fn the_mlp_learns_what_a_linear_model_cannot_and_is_seeded() {
        let data = xor(3000);
        let split = temporal_split(&data, [0.6, 0.2]).unwrap();
        let config = MlpConfig {
            max_epochs: 30,
            ..MlpConfig::default()
        };
        let mlp = train_mlp(&data, &split, &config, 1).unwrap();
        let p = mlp.probabilities(&data).unwrap();
        let test_p: Vec<f64> = split.test.iter().map(|&i| p[i]).collect();
        let test_y: Vec<bool> = split.test.iter().map(|&i| data.y[i]).collect();
        assert!(auroc(&test_p, &test_y) > 0.8, "{}", auroc(&test_p, &test_y));
        assert!(mlp.best_epoch >= 1 && mlp.best_epoch <= mlp.epochs);
        let again = train_mlp(&data, &split, &config, 1).unwrap();
        assert_eq!(again.weights, mlp.weights);
        // Trees split on both features: they learn it too, and are seeded.
        let trees = gbt(&data, &split, 1).unwrap();
        let test_p: Vec<f64> = split.test.iter().map(|&i| trees.probabilities[i]).collect();
        assert!(auroc(&test_p, &test_y) > 0.8, "{}", auroc(&test_p, &test_y));
        assert_eq!(
            gbt(&data, &split, 1).unwrap().probabilities,
            trees.probabilities
        );
        assert!(
            MlpConfig { batch: 0, ..config }
                .validate()
                .unwrap_err()
                .contains("mlp.batch")
        );
    }
}
