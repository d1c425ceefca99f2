//! Results tables that a reviewer accepts: every policy against a reference on the same
//! episodes, for every metric, with Holm's correction across the policies compared.
//!
//! The reference is the best fair baseline by mean episode return unless one is named; oracles
//! are compared too but as bounds: never the reference, never in the corrected family, and their
//! verdict says "bound". A policy trained with several seeds contributes, per episode, the mean
//! over its runs, so the paired difference compares the method, not one lucky run; its runs are
//! resampled in the bootstrap as well (`stats::paired`), so a verdict holds across training
//! seeds.

use crate::evaluate::{EpisodeResult, SummaryRow, summarise};
use crate::stats::aggregate::{self, ScoreMatrix};
use crate::stats::bootstrap::Interval;
use crate::stats::paired::{self, Paired, Verdict};
use planetgym_env::rng::derive_seed;
use std::collections::BTreeMap;

/// Bootstrap resamples per comparison unless the caller asks for another number.
pub const RESAMPLES: usize = 10_000;
/// At most this many resamples (each keeps two numbers in memory per comparison).
pub const MAX_RESAMPLES: usize = 1_000_000;

/// Refuses a bootstrap size (named `name` in the message) outside 1 to [`MAX_RESAMPLES`].
pub fn check_resamples(name: &str, resamples: usize) -> Result<(), String> {
    planetgym_env::bounds::count(
        name,
        resamples as u64,
        1,
        MAX_RESAMPLES as u64,
        "each resample keeps its statistics in memory",
    )
}

#[derive(Debug, Clone, PartialEq)]
pub struct CompareOptions {
    /// The policy everything is compared with (default: the best fair baseline).
    pub reference: Option<String>,
    pub resamples: usize,
    /// Seed of the bootstrap (tables are reproducible).
    pub seed: u64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            reference: None,
            resamples: RESAMPLES,
            seed: 0,
        }
    }
}

/// One policy's paired comparison with the reference on one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedCell {
    pub reference: String,
    pub paired: Paired,
    /// An oracle: reported as a bound, outside the corrected family.
    pub bound: bool,
}

impl PairedCell {
    /// The verdict in words: "better"/"worse" for the reward (higher is better), "higher"/
    /// "lower" for other metrics, whose direction depends on the metric.
    pub fn verdict(&self, metric: &str) -> &'static str {
        match (self.bound, self.paired.verdict, metric == "reward") {
            (true, _, _) => "bound",
            (_, Verdict::NoSignificantDifference, _) => "no significant difference",
            (_, Verdict::Higher, true) => "better",
            (_, Verdict::Lower, true) => "worse",
            (_, Verdict::Higher, false) => "higher",
            (_, Verdict::Lower, false) => "lower",
        }
    }
}

/// A results table: one row per (policy, metric), each with its paired comparison (none for the
/// reference itself).
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub reference: String,
    pub rows: Vec<SummaryRow>,
    pub paired: Vec<Option<PairedCell>>,
}

/// Per training run of `policy` (in run order), its values for `column` (None: the reward) in
/// episode order. Every run must have every episode up to the last one any run has.
fn run_values(
    results: &[EpisodeResult],
    policy: &str,
    column: Option<usize>,
) -> Result<Vec<Vec<f64>>, String> {
    let mut runs: BTreeMap<usize, BTreeMap<usize, f64>> = BTreeMap::new();
    for r in results.iter().filter(|r| r.policy == policy) {
        let value = column.map_or(r.reward, |c| r.metrics[c]);
        runs.entry(r.run).or_default().insert(r.episode, value);
    }
    let episodes = runs
        .values()
        .filter_map(|values| values.keys().next_back())
        .max()
        .map_or(0, |last| last + 1);
    runs.into_iter()
        .map(
            |(run, values)| match (0..episodes).find(|e| !values.contains_key(e)) {
                Some(e) => Err(format!(
                    "{policy} has no result for episode {e} in run {run}"
                )),
                None => Ok(values.into_values().collect()),
            },
        )
        .collect()
}

/// Per-episode values of `policy` for `column` (None: the reward), in episode order, averaged
/// over training runs ([`run_values`]).
fn episode_values(
    results: &[EpisodeResult],
    policy: &str,
    column: Option<usize>,
) -> Result<Vec<f64>, String> {
    let runs = run_values(results, policy, column)?;
    let episodes = runs.first().map_or(0, Vec::len);
    Ok((0..episodes)
        .map(|e| runs.iter().map(|run| run[e]).sum::<f64>() / runs.len() as f64)
        .collect())
}

/// The policies of `results` in order of first appearance, with whether each is an oracle.
fn policies(results: &[EpisodeResult]) -> Vec<(&str, bool)> {
    let mut seen: Vec<(&str, bool)> = Vec::new();
    for r in results {
        if !seen.iter().any(|(p, _)| *p == r.policy) {
            seen.push((&r.policy, r.oracle));
        }
    }
    seen
}

/// Checks that `results` can be paired: one row per (policy, run, episode), and each episode
/// index run from one seed by every policy (results of different evaluations are not pairs).
fn check_pairing(results: &[EpisodeResult]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    let mut seeds = std::collections::HashMap::new();
    for r in results {
        if !seen.insert((r.policy.as_str(), r.run, r.episode)) {
            return Err(format!(
                "{} has two results for run {}, episode {}: policy names must be unique",
                r.policy, r.run, r.episode
            ));
        }
        if let Some(seed) = seeds.insert(r.episode, r.seed)
            && seed != r.seed
        {
            return Err(format!(
                "episode {} was run from seeds {seed} and {} ({}): results of different \
                 evaluations are not paired",
                r.episode, r.seed, r.policy
            ));
        }
    }
    Ok(())
}

/// The named reference (checked: present and not an oracle), or the fair baseline with the
/// best mean reward.
fn choose_reference(
    results: &[EpisodeResult],
    fair_baselines: &[String],
    requested: Option<&str>,
) -> Result<String, String> {
    let all = policies(results);
    let mean_reward = |p: &str| episode_values(results, p, None).map_or(f64::NAN, |v| mean(&v));
    match requested {
        Some(name) if all.iter().any(|(p, o)| *p == name && *o) => Err(format!(
            "reference `{name}` is an oracle: oracles are bounds, never the reference"
        )),
        Some(name) if all.iter().any(|(p, _)| *p == name) => Ok(name.to_string()),
        Some(name) => {
            let names: Vec<&str> = all.iter().filter(|(_, o)| !o).map(|(p, _)| *p).collect();
            Err(format!(
                "reference `{name}` is not in the table; choose one of: {}",
                names.join(", ")
            ))
        }
        None => all
            .iter()
            .filter(|(p, o)| !o && fair_baselines.iter().any(|b| b == p))
            .map(|(p, _)| *p)
            .max_by(|a, b| mean_reward(a).total_cmp(&mean_reward(b)))
            .map(str::to_string)
            .ok_or_else(|| "no fair baseline to compare with".to_string()),
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// How many episodes an evaluation runs when the user does not say: a pilot of `pilot`, then as
/// many as the widest paired comparison needs, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpisodeBudget {
    pub pilot: usize,
    pub max: usize,
}

/// Relative precision the episode count aims at: the paired 95 % CI half-width of each fair
/// policy's reward difference should be at most this fraction of the reference's mean return,
/// or a third of the difference itself when that is larger (then its sign is settled).
pub const TARGET_PRECISION: f64 = 0.01;

/// Episodes needed, from a pilot's `results`, so that every fair policy's paired reward
/// difference with the reference reaches the precision of [`TARGET_PRECISION`] (normal
/// approximation `n = (1.96 sd / h)^2`), within `budget`.
pub fn episodes_needed(
    results: &[EpisodeResult],
    fair_baselines: &[String],
    reference: Option<&str>,
    budget: EpisodeBudget,
) -> Result<usize, String> {
    let reference = choose_reference(results, fair_baselines, reference)?;
    let y = episode_values(results, &reference, None)?;
    let scale = TARGET_PRECISION * mean(&y).abs();
    let mut needed = budget.pilot;
    for (policy, oracle) in policies(results) {
        if oracle || policy == reference {
            continue;
        }
        let d: Vec<f64> = episode_values(results, policy, None)?
            .iter()
            .zip(&y)
            .map(|(a, b)| a - b)
            .collect();
        let m = mean(&d);
        let sd =
            (d.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (d.len().max(2) - 1) as f64).sqrt();
        let h = scale.max(m.abs() / 3.0);
        if sd > 0.0 && h > 0.0 {
            let n = (1.96 * sd / h).powi(2).ceil();
            needed = needed.max(n.min(budget.max as f64) as usize);
        }
    }
    Ok(needed.min(budget.max))
}

/// After a pilot's `results`, the episodes the evaluation needs in all ([`episodes_needed`]).
/// A reference the user named must be in the table; without one, a table with no fair baseline
/// to compare with keeps the pilot's episodes.
pub fn episodes_after_pilot(
    results: &[EpisodeResult],
    fair_baselines: &[String],
    reference: Option<&str>,
    budget: EpisodeBudget,
) -> Result<usize, String> {
    match episodes_needed(results, fair_baselines, reference, budget) {
        Err(e) if reference.is_some() => Err(format!("reference: {e}")),
        Err(_) => Ok(budget.pilot),
        needed => needed,
    }
}

/// A warning when every policy got the same return on every episode: the configuration leaves
/// no decision that changes the outcome, so no table can tell the policies apart (a batch log
/// whose submit times are start times, at `load_scale = 1`, never queues a job).
pub fn indistinguishable(results: &[EpisodeResult]) -> Option<String> {
    let policies: std::collections::BTreeSet<&str> =
        results.iter().map(|r| r.policy.as_str()).collect();
    if policies.len() < 2 {
        return None;
    }
    let mut first = std::collections::BTreeMap::new();
    for r in results {
        if !paired::tied(*first.entry(r.episode).or_insert(r.reward), r.reward) {
            return None;
        }
    }
    Some(format!(
        "every policy ({}) got the same return on each of the {} episodes: this configuration \
         leaves no decision that changes the outcome (e.g. a batch log at load_scale = 1 never \
         queues a job), so the policies cannot be told apart",
        policies.len(),
        first.len()
    ))
}

/// Summarises `results` and compares every policy with the reference, metric by metric.
/// `fair_baselines` are the names the default reference is chosen from (the scenario's
/// heuristics, not learned policies); the best of them by mean reward is the reference.
pub fn compare(
    results: &[EpisodeResult],
    metric_names: &[&str],
    fair_baselines: &[String],
    options: &CompareOptions,
) -> Result<Comparison, String> {
    check_resamples("resamples", options.resamples)?;
    check_pairing(results)?;
    let reference = choose_reference(results, fair_baselines, options.reference.as_deref())?;
    let all = policies(results);
    let rows = summarise(results, metric_names);
    let columns: Vec<(&str, Option<usize>)> = std::iter::once(("reward", None))
        .chain(metric_names.iter().enumerate().map(|(i, m)| (*m, Some(i))))
        .collect();
    let mut paired: Vec<Option<PairedCell>> = vec![None; rows.len()];
    for (m, (metric, column)) in columns.iter().enumerate() {
        let y = run_values(results, &reference, *column)?;
        for (p, (policy, is_oracle)) in all.iter().enumerate() {
            if *policy == reference {
                continue;
            }
            let x = run_values(results, policy, *column)?;
            let seed = derive_seed(options.seed, &[m as u64, p as u64]);
            let cell = paired::compare(&x, &y, options.resamples, seed)
                .map_err(|e| format!("{policy} against {reference}: {e}"))?;
            let row = rows
                .iter()
                .position(|r| r.policy == *policy && r.metric == *metric)
                .ok_or_else(|| format!("no row for {policy}, {metric}"))?;
            paired[row] = Some(PairedCell {
                reference: reference.clone(),
                paired: cell,
                bound: *is_oracle,
            });
        }
        let mut family: Vec<&mut Paired> = rows
            .iter()
            .zip(paired.iter_mut())
            .filter(|(r, c)| r.metric == *metric && c.as_ref().is_some_and(|c| !c.bound))
            .filter_map(|(_, c)| c.as_mut().map(|c| &mut c.paired))
            .collect();
        paired::holm(&mut family);
    }
    Ok(Comparison {
        reference,
        rows,
        paired,
    })
}

/// Resamples of each point of a performance profile (rliable's default for profiles).
pub const PROFILE_RESAMPLES: usize = 2_000;
/// Thresholds of a performance profile.
const PROFILE_POINTS: usize = 41;

/// One policy's aggregates over its (training run, episode) normalised rewards.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateRow {
    pub policy: String,
    pub runs: usize,
    pub episodes: usize,
    pub iqm: Interval,
    pub mean: Interval,
    /// Where the normalisation's 1 is an oracle (a bound on what is achievable).
    pub optimality_gap: Option<Interval>,
    /// P(X > reference) per episode over runs, averaged over episodes (none for the reference).
    pub improvement: Option<Interval>,
}

/// rliable's view of a table: rewards normalised per scenario so that 0 is the worst fair
/// baseline's mean and 1 the oracle's mean (or, with no oracle, the best fair baseline's), then
/// aggregated over (training run, episode) with stratified bootstrap intervals that resample
/// episodes and, within each, runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub reference: String,
    /// (policy, mean reward) that normalises to 0 and to 1.
    pub zero: (String, f64),
    pub one: (String, f64),
    pub rows: Vec<AggregateRow>,
    /// Per policy: (threshold, fraction of scores above it with its interval).
    pub profiles: Vec<(String, Vec<(f64, Interval)>)>,
}

/// The (runs x episodes) matrix of `policy`'s rewards mapped by `f`.
fn reward_matrix(
    results: &[EpisodeResult],
    policy: &str,
    f: impl Fn(f64) -> f64,
) -> Result<ScoreMatrix, String> {
    // Run ids need not be contiguous: row k is the k-th smallest.
    let mut runs: Vec<usize> = results
        .iter()
        .filter(|r| r.policy == policy)
        .map(|r| r.run)
        .collect();
    runs.sort_unstable();
    runs.dedup();
    let mut rows: Vec<Vec<(usize, f64)>> = vec![Vec::new(); runs.len()];
    for r in results.iter().filter(|r| r.policy == policy) {
        let k = runs.binary_search(&r.run).unwrap_or(0);
        rows[k].push((r.episode, f(r.reward)));
    }
    let rows: Vec<Vec<f64>> = rows
        .into_iter()
        .map(|mut row| {
            row.sort_by_key(|(e, _)| *e);
            row.into_iter().map(|(_, v)| v).collect()
        })
        .collect();
    ScoreMatrix::from_rows(&rows).map_err(|e| format!("{policy}: {e}"))
}

/// rliable's aggregates of every policy in `results` (see [`Aggregate`]).
pub fn aggregate(
    results: &[EpisodeResult],
    fair_baselines: &[String],
    reference: Option<&str>,
    resamples: usize,
    seed: u64,
) -> Result<Aggregate, String> {
    check_pairing(results)?;
    let reference = choose_reference(results, fair_baselines, reference)?;
    let all = policies(results);
    let mean_of = |p: &str| episode_values(results, p, None).map(|v| mean(&v));
    let mut fair: Vec<(String, f64)> = Vec::new();
    for (p, oracle) in &all {
        if !oracle && fair_baselines.iter().any(|b| b == p) {
            fair.push((p.to_string(), mean_of(p)?));
        }
    }
    let by_mean = |a: &&(String, f64), b: &&(String, f64)| a.1.total_cmp(&b.1);
    let zero = fair
        .iter()
        .min_by(by_mean)
        .cloned()
        .ok_or("no fair baseline")?;
    let one = match all.iter().find(|(_, o)| *o) {
        Some((p, _)) => (p.to_string(), mean_of(p)?),
        None => fair
            .iter()
            .max_by(by_mean)
            .cloned()
            .ok_or("no fair baseline")?,
    };
    let has_oracle = all.iter().any(|(_, o)| *o);
    let span = one.1 - zero.1;
    if span <= 1e-12 * one.1.abs().max(1.0) {
        return Err(format!(
            "normalised scores need a 1 above the 0: two fair baselines with different mean \
             rewards, or an oracle above the worst baseline (0: {}, 1: {})",
            zero.0, one.0
        ));
    }
    let normalise = |v: f64| (v - zero.1) / span;
    let reference_scores = reward_matrix(results, &reference, normalise)?;
    let matrices: Vec<(&str, ScoreMatrix)> = all
        .iter()
        .map(|(p, _)| reward_matrix(results, p, normalise).map(|m| (*p, m)))
        .collect::<Result<_, _>>()?;
    if let Some((p, m)) = matrices
        .iter()
        .find(|(_, m)| m.tasks() != reference_scores.tasks())
    {
        return Err(format!(
            "{p} has {} episodes and {reference} {}: every policy needs the same episodes",
            m.tasks(),
            reference_scores.tasks()
        ));
    }
    let (low, high) = matrices
        .iter()
        .flat_map(|(_, m)| m.values())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let taus: Vec<f64> = (0..PROFILE_POINTS)
        .map(|i| low + (high - low) * i as f64 / (PROFILE_POINTS - 1) as f64)
        .collect();
    let mut rows = Vec::new();
    let mut profiles = Vec::new();
    for (p, (policy, m)) in matrices.iter().enumerate() {
        let seed = |k: u64| derive_seed(seed, &[0xA66, p as u64, k]);
        rows.push(AggregateRow {
            policy: policy.to_string(),
            runs: m.runs(),
            episodes: m.tasks(),
            iqm: aggregate::interval(m, aggregate::iqm, resamples, seed(0), true),
            mean: aggregate::interval(m, aggregate::mean, resamples, seed(1), true),
            optimality_gap: has_oracle.then(|| {
                aggregate::interval(
                    m,
                    |m| aggregate::optimality_gap(m, 1.0),
                    resamples,
                    seed(2),
                    true,
                )
            }),
            improvement: (*policy != reference).then(|| {
                aggregate::improvement_interval(m, &reference_scores, resamples, seed(3), true)
            }),
        });
        let profile = aggregate::intervals(
            m,
            |m| {
                taus.iter()
                    .map(|&t| aggregate::fraction_above(m, t))
                    .collect()
            },
            PROFILE_RESAMPLES,
            seed(4),
            true,
        );
        profiles.push((
            policy.to_string(),
            taus.iter().copied().zip(profile).collect(),
        ));
    }
    Ok(Aggregate {
        reference,
        zero,
        one,
        rows,
        profiles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(policy: &str, run: usize, episode: usize, reward: f64) -> EpisodeResult {
        EpisodeResult {
            policy: policy.into(),
            oracle: false,
            episode,
            run,
            seed: 100 + episode as u64,
            steps: 1,
            reward,
            metrics: Vec::new(),
            trajectory: Vec::new(),
        }
    }

    fn table(rows: &[EpisodeResult]) -> Result<Comparison, String> {
        let fair = ["a".to_string(), "b".to_string()];
        compare(rows, &[], &fair, &CompareOptions::default())
    }

    #[test]
    fn identical_returns_on_every_episode_are_flagged() {
        let same: Vec<EpisodeResult> = (0..5)
            .flat_map(|e| [result("a", 0, e, -1.0), result("b", 0, e, -1.0 + 1e-12)])
            .collect();
        let why = indistinguishable(&same).unwrap();
        assert!(
            why.contains("every policy (2)") && why.contains("5 episodes"),
            "{why}"
        );
        let mut differ = same.clone();
        differ[7].reward = -1.5;
        assert_eq!(indistinguishable(&differ), None);
        assert_eq!(indistinguishable(&same[..1]), None, "one policy alone");
    }

    #[test]
    fn only_true_pairs_are_compared() {
        let mut rows: Vec<EpisodeResult> = (0..30)
            .flat_map(|e| {
                [
                    result("a", 0, e, e as f64),
                    result("b", 0, e, e as f64 - 1.0),
                ]
            })
            .collect();
        let t = table(&rows).unwrap();
        assert_eq!(t.reference, "a");
        rows.push(result("b", 0, 3, 0.0));
        let err = table(&rows).unwrap_err();
        assert!(
            err.contains("b has two results for run 0, episode 3"),
            "{err}"
        );
        rows.pop();
        rows[1].seed = 7;
        let err = table(&rows).unwrap_err();
        assert!(
            err.contains("episode 0 was run from seeds 100 and 7"),
            "{err}"
        );
    }

    #[test]
    fn runs_average_per_episode_and_need_not_be_contiguous() {
        let mut rows: Vec<EpisodeResult> = (0..20)
            .flat_map(|e| [result("a", 0, e, 10.0), result("b", 0, e, 0.0)])
            .collect();
        // Runs 2 and 5 of a learned policy: per episode, their mean (5.0).
        rows.extend((0..20).flat_map(|e| [result("l", 2, e, 4.0), result("l", 5, e, 6.0)]));
        let t = table(&rows).unwrap();
        let row = t.rows.iter().position(|r| r.policy == "l").unwrap();
        assert_eq!((t.rows[row].mean, t.rows[row].episodes), (5.0, 20));
        let fair = ["a".to_string(), "b".to_string()];
        let a = aggregate(&rows, &fair, None, 200, 0).unwrap();
        let l = a.rows.iter().find(|r| r.policy == "l").unwrap();
        assert_eq!((l.runs, l.episodes), (2, 20));
        assert!((l.mean.point - 0.5).abs() < 1e-12);
        // Each run must cover every episode: a mean over fewer runs is not the method's.
        rows.retain(|r| !(r.policy == "l" && r.run == 5 && r.episode == 7));
        let err = table(&rows).unwrap_err();
        assert!(
            err.contains("l has no result for episode 7 in run 5"),
            "{err}"
        );
    }
}
