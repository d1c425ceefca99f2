//! Aggregates over training runs as rliable (Agarwal et al., NeurIPS'21) computes them, with
//! its stratified bootstrap intervals.
//!
//! A [`ScoreMatrix`] holds one score per (run, task): here a run is a training seed and a task an
//! evaluation episode. The definitions follow `rliable.metrics` exactly (the Python tests compare
//! them with the package): IQM is the 25 % trimmed mean of every score, the mean is the mean of
//! per-task means, the optimality gap is `gamma - mean(min(score, gamma))`, and the probability
//! of improvement averages, over tasks, the Mann-Whitney probability that a run of X beats a run
//! of Y (ties count half). The stratified bootstrap resamples runs within each task and, with
//! `task_bootstrap`, the tasks too (rliable's `task_bootstrap=True`): with a few seeds and many
//! episodes, the episodes are the larger source of uncertainty.

use super::bootstrap::{Interval, percentile_interval, replicate};
use planetgym_env::rng::Rng;

/// Scores of `runs` runs on `tasks` tasks, row-major (run-major).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreMatrix {
    runs: usize,
    tasks: usize,
    values: Vec<f64>,
}

impl ScoreMatrix {
    /// A matrix from its rows (one per run, each with one score per task).
    pub fn from_rows(rows: &[Vec<f64>]) -> Result<Self, String> {
        let tasks = rows.first().map_or(0, Vec::len);
        if rows.is_empty() || tasks == 0 {
            return Err("a score matrix needs at least one run and one task".into());
        }
        if let Some((r, row)) = rows.iter().enumerate().find(|(_, r)| r.len() != tasks) {
            return Err(format!(
                "run {r} has {} scores, run 0 has {tasks}: every run needs one score per task",
                row.len()
            ));
        }
        if let Some(v) = rows.iter().flatten().find(|v| !v.is_finite()) {
            return Err(format!("score {v} is not finite"));
        }
        Ok(Self {
            runs: rows.len(),
            tasks,
            values: rows.concat(),
        })
    }

    pub fn runs(&self) -> usize {
        self.runs
    }

    pub fn tasks(&self) -> usize {
        self.tasks
    }

    pub fn get(&self, run: usize, task: usize) -> f64 {
        self.values[run * self.tasks + task]
    }

    /// Every score, run-major.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Each score mapped by `f(score, task)`.
    pub fn map(&self, f: impl Fn(f64, usize) -> f64) -> Self {
        let values = self
            .values
            .iter()
            .enumerate()
            .map(|(i, &v)| f(v, i % self.tasks))
            .collect();
        Self { values, ..*self }
    }

    /// A stratified bootstrap resample on `tasks` (see [`resampled_tasks`]): for each of them,
    /// `runs` runs drawn with replacement.
    fn resample(&self, rng: &mut Rng, tasks: &[usize]) -> Self {
        let mut values = vec![0.0; self.runs * tasks.len()];
        for run in 0..self.runs {
            for (t, &task) in tasks.iter().enumerate() {
                values[run * tasks.len() + t] = self.get(rng.below(self.runs), task);
            }
        }
        Self { values, ..*self }
    }
}

/// The tasks of a resample of `tasks` tasks: drawn with replacement with `task_bootstrap`,
/// else all of them in order.
fn resampled_tasks(rng: &mut Rng, tasks: usize, task_bootstrap: bool) -> Vec<usize> {
    (0..tasks)
        .map(|t| if task_bootstrap { rng.below(tasks) } else { t })
        .collect()
}

/// scipy's `trim_mean(values, 0.25)`: the mean of what is left once `floor(n/4)` values are cut
/// from each end.
pub fn iqm(m: &ScoreMatrix) -> f64 {
    trimmed_mean(&mut m.values.clone())
}

fn trimmed_mean(values: &mut [f64]) -> f64 {
    let n = values.len();
    let cut = n / 4;
    // Two selections instead of a sort: the bootstrap calls this once per resample.
    let rest = if cut > 0 {
        values.select_nth_unstable_by(cut - 1, f64::total_cmp).2
    } else {
        values
    };
    let kept_len = n - 2 * cut;
    if kept_len < rest.len() {
        rest.select_nth_unstable_by(kept_len, f64::total_cmp);
    }
    rest[..kept_len].iter().sum::<f64>() / kept_len as f64
}

/// Mean over tasks of the mean over runs (rliable's `aggregate_mean`).
pub fn mean(m: &ScoreMatrix) -> f64 {
    let task_mean = |t: usize| (0..m.runs).map(|r| m.get(r, t)).sum::<f64>() / m.runs as f64;
    (0..m.tasks).map(task_mean).sum::<f64>() / m.tasks as f64
}

/// `gamma - mean(min(score, gamma))`: how far, on average, scores fall short of `gamma` (1 for
/// normalised scores: the optimum).
pub fn optimality_gap(m: &ScoreMatrix, gamma: f64) -> f64 {
    gamma - m.values.iter().map(|v| v.min(gamma)).sum::<f64>() / m.values.len() as f64
}

/// Fraction of scores above `tau` (one point of rliable's score-distribution profile).
pub fn fraction_above(m: &ScoreMatrix, tau: f64) -> f64 {
    m.values.iter().filter(|&&v| v > tau).count() as f64 / m.values.len() as f64
}

/// Probability that a run of `x` beats a run of `y` on a task (ties half), averaged over tasks
/// (rliable's `probability_of_improvement`). Both must have the same tasks.
pub fn probability_of_improvement(x: &ScoreMatrix, y: &ScoreMatrix) -> f64 {
    let per_task = |t: usize| {
        let mut u = 0.0;
        for i in 0..x.runs {
            for j in 0..y.runs {
                let (a, b) = (x.get(i, t), y.get(j, t));
                u += if a > b {
                    1.0
                } else if a == b {
                    0.5
                } else {
                    0.0
                };
            }
        }
        u / (x.runs * y.runs) as f64
    };
    (0..x.tasks).map(per_task).sum::<f64>() / x.tasks as f64
}

/// `statistic` of `m` and its 95 % stratified bootstrap interval over `reps` resamples.
pub fn interval(
    m: &ScoreMatrix,
    statistic: impl Fn(&ScoreMatrix) -> f64 + Sync,
    reps: usize,
    seed: u64,
    task_bootstrap: bool,
) -> Interval {
    let mut one = intervals(m, |m| vec![statistic(m)], reps, seed, task_bootstrap);
    one.swap_remove(0)
}

/// Like [`interval`] for a vector-valued statistic (e.g. a performance profile): one interval
/// per component.
pub fn intervals(
    m: &ScoreMatrix,
    statistic: impl Fn(&ScoreMatrix) -> Vec<f64> + Sync,
    reps: usize,
    seed: u64,
    task_bootstrap: bool,
) -> Vec<Interval> {
    let replicates = replicate(reps, seed, |rng| {
        let tasks = resampled_tasks(rng, m.tasks, task_bootstrap);
        statistic(&m.resample(rng, &tasks))
    });
    statistic(m)
        .into_iter()
        .enumerate()
        .map(|(k, point)| percentile_interval(point, replicates.iter().map(|r| r[k]).collect()))
        .collect()
}

/// The probability of improvement of `x` over `y` and its interval; runs of `x` and `y` are
/// resampled independently within each task (rliable's `StratifiedIndependentBootstrap`), and
/// with `task_bootstrap` the tasks are drawn once for both, so that pairs stay on one task.
pub fn improvement_interval(
    x: &ScoreMatrix,
    y: &ScoreMatrix,
    reps: usize,
    seed: u64,
    task_bootstrap: bool,
) -> Interval {
    let replicates = replicate(reps, seed, |rng| {
        let tasks = resampled_tasks(rng, x.tasks, task_bootstrap);
        let rx = x.resample(rng, &tasks);
        let ry = y.resample(rng, &tasks);
        probability_of_improvement(&rx, &ry)
    });
    percentile_interval(probability_of_improvement(x, y), replicates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(rows: &[&[f64]]) -> ScoreMatrix {
        ScoreMatrix::from_rows(&rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn point_estimates_by_hand() {
        let m = matrix(&[&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 100.0]]);
        // 8 values, 2 cut from each end: mean of 3, 4, 5, 6.
        assert_eq!(iqm(&m), 4.5);
        assert_eq!(mean(&m), 128.0 / 8.0);
        // Scaled by 1/4, five scores reach 1: (0.25 + 0.5 + 0.75 + 5) / 8 = 0.8125.
        assert_eq!(optimality_gap(&m.map(|v, _| v / 4.0), 1.0), 0.1875);
        assert_eq!(fraction_above(&m, 4.0), 0.5);
        let y = matrix(&[&[2.0, 2.0, 3.0, 5.0]]);
        // task 0: 1 < 2, 5 > 2 -> 0.5; task 1: tie, win -> 0.75; task 2: tie, win -> 0.75;
        // task 3: loss, win -> 0.5.
        assert_eq!(probability_of_improvement(&m, &y), 0.625);
    }

    #[test]
    fn shapes_are_checked() {
        assert!(ScoreMatrix::from_rows(&[]).is_err());
        let err = ScoreMatrix::from_rows(&[vec![1.0, 2.0], vec![1.0]]).unwrap_err();
        assert!(err.contains("run 1 has 1 scores"), "{err}");
        assert!(ScoreMatrix::from_rows(&[vec![f64::NAN]]).is_err());
    }

    #[test]
    fn intervals_contain_the_estimate_and_shrink_with_tasks() {
        let noisy = |tasks: usize| {
            let mut rng = Rng::new(3);
            let rows: Vec<Vec<f64>> = (0..5)
                .map(|_| (0..tasks).map(|_| rng.normal()).collect())
                .collect();
            ScoreMatrix::from_rows(&rows).unwrap()
        };
        let (small, large) = (noisy(20), noisy(500));
        let a = interval(&small, mean, 2000, 1, true);
        let b = interval(&large, mean, 2000, 1, true);
        assert!(a.low <= a.point && a.point <= a.high);
        assert!(b.half_width() < 0.5 * a.half_width(), "{a:?} {b:?}");
        // Without task resampling, one run has nothing to resample.
        let one = matrix(&[&[1.0, 2.0, 3.0]]);
        let fixed = interval(&one, mean, 100, 1, false);
        assert_eq!((fixed.low, fixed.high), (2.0, 2.0));
    }
}
