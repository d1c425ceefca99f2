//! A whole training session from a config: builds the scenario, trains, then evaluates the
//! learned policy against the scenario's baselines on fresh episodes and draws the learning
//! curve. Used by `planetgym train` and by the Python package.

use crate::error::{Result, TrainingError};
use crate::plot::{self, Series};
use crate::ppo::{
    self, Outcome, RolloutSource, RolloutWork, RolloutWorker, Run, TrainConfig, UpdateReport,
};
use crate::report;
use crate::run_dir::{
    CHECKPOINT_FILE, CURVE_FILE, EPISODES_FILE, EVAL_CSV_FILE, EVAL_FILE, MetricsLog, POLICY_FILE,
};
use planetgym_agents::Contender;
use planetgym_agents::comparison::{CompareOptions, Comparison, compare};
use planetgym_agents::evaluate::{ContenderFactory, EpisodeResult, evaluate_episodes};
use planetgym_agents::nn::policy::{Mode, NeuralPolicy, PolicyFile};
use planetgym_agents::registry::{self, Built, RegisteredScenario, ScenarioVisitor};
use planetgym_env::{Scenario, bounds};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Name of the learned policy's row in evaluation tables (greedy actions).
pub const LEARNED: &str = "ppo";
/// The same policy drawing its actions from its distribution, seeded per episode.
pub const LEARNED_SAMPLED: &str = "ppo-sampled";

/// The learned policy as evaluation rows (greedy and sampled), checked against `env` once: one
/// run's policy, or a group of runs acting as one ensemble ([`NeuralPolicy::ensemble`]).
pub fn learned_contenders<S: Scenario + Clone + 'static>(
    env: &S,
    group: &[PolicyFile],
) -> Result<Vec<ContenderFactory<S>>> {
    [(LEARNED, Mode::Greedy), (LEARNED_SAMPLED, Mode::Sample)]
        .into_iter()
        .map(|(name, mode)| group_contender(env, group, name, mode))
        .collect()
}

/// The policy in `file` as one evaluation row named `name`, checked against `env` once.
pub fn learned_contender<S: Scenario + Clone + 'static>(
    env: &S,
    file: &PolicyFile,
    name: &str,
    mode: Mode,
) -> Result<ContenderFactory<S>> {
    group_contender(env, std::slice::from_ref(file), name, mode)
}

/// The policies in `group` acting as one (an ensemble of one is its policy) as one row.
fn group_contender<S: Scenario + Clone + 'static>(
    env: &S,
    group: &[PolicyFile],
    name: &str,
    mode: Mode,
) -> Result<ContenderFactory<S>> {
    let policy = load_group(env, group, name, mode)?;
    Ok(Box::new(move || Contender::Fair(Box::new(policy.clone()))))
}

fn load_group<S: Scenario + Clone + 'static>(
    env: &S,
    group: &[PolicyFile],
    name: &str,
    mode: Mode,
) -> Result<NeuralPolicy<S>> {
    let members = group
        .iter()
        .map(|file| NeuralPolicy::load(name, env, file, mode))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(NeuralPolicy::ensemble(members)?)
}

/// At most this many training runs per session (each is a full training run).
pub const MAX_SEEDS: usize = 100;

/// Directory of run `k` of a session trained with several seeds.
pub fn run_dir_of(dir: &Path, k: usize) -> PathBuf {
    dir.join(format!("run-{k}"))
}

/// The runs a policy directory holds: itself when it has a policy, else its `run-0`, `run-1`,
/// ... subdirectories (a session trained with several seeds).
pub fn run_dirs(dir: &Path) -> Vec<PathBuf> {
    if dir.join(POLICY_FILE).exists() || !run_dir_of(dir, 0).join(POLICY_FILE).exists() {
        return vec![dir.to_path_buf()];
    }
    (0..MAX_SEEDS)
        .map(|k| run_dir_of(dir, k))
        .take_while(|d| d.join(POLICY_FILE).exists())
        .collect()
}

/// Every policy a directory holds (see [`run_dirs`]), in run order.
pub fn load_runs(dir: &Path) -> Result<Vec<PolicyFile>> {
    run_dirs(dir).iter().map(|d| ppo::load_policy(d)).collect()
}

/// A learned policy's evaluation row, with the training run it comes from.
pub type RunContender<S> = (usize, ContenderFactory<S>);

/// Each run's learned policy as evaluation rows, greedy ([`LEARNED`]) and sampled
/// ([`LEARNED_SAMPLED`]): the runs of one mode are one method, judged across its runs. With
/// `group` above 1 (`eval --ensemble`), each `group` consecutive runs act as one ensemble,
/// and the ensembles are the method's runs.
pub fn run_contenders<S: Scenario + Clone + 'static>(
    env: &S,
    runs: &[PolicyFile],
    group: usize,
) -> Result<Vec<RunContender<S>>> {
    if group == 0 || !runs.len().is_multiple_of(group) || (group > 1 && runs.is_empty()) {
        return Err(TrainingError::config(
            "--ensemble",
            format!(
                "{group}: the policy has {} training runs, which do not divide into groups of {group}",
                runs.len()
            ),
        ));
    }
    let mut out = Vec::new();
    for (k, members) in runs.chunks(group).enumerate() {
        out.extend(
            learned_contenders(env, members)?
                .into_iter()
                .map(|c| (k, c)),
        );
    }
    Ok(out)
}

/// `eval --guide` (and Python's `evaluate(guide=...)`): each run's greedy policy, named
/// `name` (or each `group` of runs as one ensemble, as in [`run_contenders`]), ranking the
/// candidates of the search `guide` builds around it; the rows are one method, judged across
/// its runs. `guide`'s errors name the option the caller was given. No runs give no rows:
/// callers say what is missing.
pub fn guided_contenders<S: Scenario + Clone + 'static>(
    env: &S,
    runs: &[PolicyFile],
    group: usize,
    name: &str,
    guide: impl Fn(NeuralPolicy<S>) -> Result<ContenderFactory<S>>,
) -> Result<Vec<RunContender<S>>> {
    runs.chunks(group.max(1))
        .enumerate()
        .map(|(k, members)| Ok((k, guide(load_group(env, members, name, Mode::Greedy)?)?)))
        .collect()
}

/// Baselines once, and each learned row on the same evaluation episodes; learned rows carry
/// their run index.
pub fn evaluate_runs<S: Scenario + Clone + 'static>(
    env: &S,
    baselines: &[ContenderFactory<S>],
    learned: &[RunContender<S>],
    episodes: std::ops::Range<usize>,
    seed: u64,
    record: bool,
    on_step: &(dyn Fn() + Sync),
) -> Result<Vec<EpisodeResult>> {
    let mut results = evaluate_episodes(env, baselines, episodes.clone(), seed, record, on_step)?;
    for (k, row) in learned {
        let mut rows = evaluate_episodes(
            env,
            std::slice::from_ref(row),
            episodes.clone(),
            seed,
            record,
            on_step,
        )?;
        rows.iter_mut().for_each(|r| r.run = *k);
        results.extend(rows);
    }
    Ok(results)
}

#[derive(Debug)]
pub struct Request<'a> {
    pub config: TrainConfig,
    /// Where the config came from (named in errors).
    pub origin: String,
    pub run_dir: PathBuf,
    pub resume: bool,
    pub stop: &'a AtomicBool,
    pub stop_after: Option<u64>,
    /// Independent training runs (seeds `config.seed`, `config.seed + 1`, ...): with more than
    /// one, run `k` lives in `run_dir/run-k` and the evaluation aggregates them.
    pub seeds: usize,
    /// The command line (or Python call) that started this session, recorded in the run.
    pub command: Vec<String>,
}

#[derive(Debug)]
pub struct SessionResult {
    /// The last run's outcome (the only one's for a single seed).
    pub outcome: Outcome,
    /// Every run's directory.
    pub runs: Vec<PathBuf>,
    /// How many of `runs` were started: fewer than all only when the stop flag ended the
    /// session.
    pub started: usize,
    /// The runs stopped before their configured steps, checkpoint saved if they made an
    /// update: every run with `stop_after`, the one running when the stop flag was raised.
    pub stopped: Vec<Outcome>,
    /// The final evaluation table (None when a run was stopped or not started, or when
    /// `eval.episodes = 0`).
    pub evaluation: Option<Comparison>,
}

/// Trains as `request` says, then evaluates (unless interrupted). With `rollouts`, the rollouts
/// come from remote workers (see [`ppo::remote`]); such a session trains one seed.
pub fn run(
    request: &Request,
    rollouts: Option<&mut dyn RolloutSource>,
    on_update: &mut dyn FnMut(&UpdateReport),
) -> Result<SessionResult> {
    let config = &request.config;
    bounds::count(
        "seeds",
        request.seeds as u64,
        1,
        MAX_SEEDS as u64,
        "each seed is a whole training run",
    )
    .map_err(|e| TrainingError::config(&request.origin, e))?;
    if request.seeds > 1 && rollouts.is_some() {
        return Err(TrainingError::config(
            &request.origin,
            "a session with rollout workers trains one seed (its workers play that seed's episodes)",
        ));
    }
    if request.seeds > 1 && request.resume {
        return Err(TrainingError::config(
            &request.origin,
            "resume one run of a multi-seed session at a time: --resume DIR/run-K",
        ));
    }
    let holds_runs = [request.run_dir.clone(), run_dir_of(&request.run_dir, 0)]
        .iter()
        .any(|d| d.join(CHECKPOINT_FILE).exists());
    if !request.resume && holds_runs {
        return Err(TrainingError::file(
            &request.run_dir,
            "already holds a run; resume it with --resume or choose another --run-dir",
        ));
    }
    let origin = format!("{} [env]", request.origin);
    let text = config.env_toml()?;
    registry::with_scenario(
        &config.scenario,
        &text,
        &origin,
        Session {
            request,
            rollouts,
            on_update,
        },
    )
}

struct Session<'a, 'b, 'c> {
    request: &'a Request<'a>,
    rollouts: Option<&'c mut dyn RolloutSource>,
    on_update: &'b mut dyn FnMut(&UpdateReport),
}

/// The baseline `config.imitation.expert` names (None without imitation).
fn expert_of<S: RegisteredScenario>(
    built: &Built<S>,
    config: &TrainConfig,
) -> Result<Option<ContenderFactory<S>>> {
    match config.imitation.expert.as_str() {
        "" => Ok(None),
        name => Ok(built
            .select_baselines(&[name.to_string()])
            .map_err(|e| TrainingError::config("imitation.expert", e))?
            .pop()),
    }
}

/// Rollout worker `index` of `workers` for a distributed run of `config`.
pub fn rollout_worker(
    config: &TrainConfig,
    origin: &str,
    index: usize,
    workers: usize,
) -> Result<Box<dyn RolloutWork>> {
    struct Worker<'a> {
        config: &'a TrainConfig,
        index: usize,
        workers: usize,
    }
    impl ScenarioVisitor for Worker<'_> {
        type Output = Box<dyn RolloutWork>;
        type Error = TrainingError;

        fn visit<S: RegisteredScenario>(self, built: Built<S>) -> Result<Self::Output> {
            let expert = expert_of(&built, self.config)?;
            let worker = RolloutWorker::new(
                &built.env,
                self.config,
                expert.as_ref(),
                self.index,
                self.workers,
            )?;
            Ok(Box::new(worker))
        }
    }
    let text = config.env_toml()?;
    registry::with_scenario(
        &config.scenario,
        &text,
        &format!("{origin} [env]"),
        Worker {
            config,
            index,
            workers,
        },
    )
}

impl ScenarioVisitor for Session<'_, '_, '_> {
    type Output = SessionResult;
    type Error = TrainingError;

    fn visit<S: RegisteredScenario>(self, built: Built<S>) -> Result<SessionResult> {
        let expert = expert_of(&built, &self.request.config)?;
        session(&built, expert.as_ref(), self)
    }
}

fn session<S: RegisteredScenario>(
    built: &Built<S>,
    expert: Option<&ContenderFactory<S>>,
    Session {
        request,
        mut rollouts,
        on_update,
    }: Session,
) -> Result<SessionResult> {
    let (env, scenario_config) = (&built.env, built.resolved_config.as_str());
    let (baselines, fair) = (&built.baselines(), &built.fair_baseline_names());
    let dirs: Vec<PathBuf> = if request.seeds == 1 {
        vec![request.run_dir.clone()]
    } else {
        (0..request.seeds)
            .map(|k| run_dir_of(&request.run_dir, k))
            .collect()
    };
    let (mut outcome, mut stopped, mut started) = (None, Vec::new(), 0);
    for (k, dir) in dirs.iter().enumerate() {
        // The stop flag (Ctrl-C) ends the session; `stop_after` ends each run at the same
        // update, so that every run is trained alike.
        if request.stop.load(Ordering::Relaxed) {
            break;
        }
        started += 1;
        let mut config = request.config.clone();
        config.seed = config.seed.wrapping_add(k as u64);
        let run = Run {
            config: &config,
            scenario_config,
            run_dir: dir,
            resume: request.resume,
            stop: request.stop,
            stop_after: request.stop_after,
            command: &request.command,
        };
        let source: Option<&mut dyn RolloutSource> = match &mut rollouts {
            Some(r) => Some(&mut **r),
            None => None,
        };
        let o = ppo::train(env, &run, expert, source, on_update)?;
        if o.interrupted {
            stopped.push(o.clone());
        }
        outcome = Some(o);
    }
    let outcome = outcome.ok_or_else(|| TrainingError::config(&request.origin, "no run"))?;
    let eval = &request.config.eval;
    if !stopped.is_empty() || started < dirs.len() || eval.episodes == 0 {
        return Ok(SessionResult {
            outcome,
            runs: dirs,
            started,
            stopped,
            evaluation: None,
        });
    }
    let files: Vec<PolicyFile> = dirs
        .iter()
        .map(|d| ppo::load_policy(d))
        .collect::<Result<_>>()?;
    let learned = run_contenders(env, &files, 1)?;
    let results = evaluate_runs(
        env,
        baselines,
        &learned,
        0..eval.episodes,
        eval.seed,
        false,
        &|| {},
    )?;
    let options = CompareOptions {
        seed: eval.seed,
        ..CompareOptions::default()
    };
    let table = compare(&results, env.metric_names(), fair, &options)
        .map_err(|e| TrainingError::report("evaluation", e))?;
    let dir = &request.run_dir;
    report::write_json(&table, &dir.join(EVAL_FILE))?;
    report::write_csv(&table, &dir.join(EVAL_CSV_FILE))?;
    report::write_episodes(&results, env.metric_names(), &dir.join(EPISODES_FILE))?;
    let mut means: Vec<(String, f64)> = Vec::new();
    for r in results
        .iter()
        .filter(|r| r.policy != LEARNED && r.policy != LEARNED_SAMPLED)
    {
        match means.iter_mut().find(|(p, _)| *p == r.policy) {
            Some((_, sum)) => *sum += r.reward,
            None => means.push((r.policy.clone(), r.reward)),
        }
    }
    let means: Vec<(String, f64)> = means
        .into_iter()
        .map(|(p, sum)| (p, sum / eval.episodes as f64))
        .collect();
    for d in &dirs {
        learning_curve(d, &means)?;
    }
    Ok(SessionResult {
        outcome,
        runs: dirs,
        started,
        stopped,
        evaluation: Some(table),
    })
}

/// Redraws `dir`'s learning curve (`curve.png` and `curve.svg`) from its `metrics.csv` and the
/// baselines' mean returns in its `eval.json` (none when the run was not evaluated).
pub fn redraw_learning_curve(dir: &Path) -> Result<()> {
    let path = dir.join(EVAL_FILE);
    let means = if path.exists() {
        let bytes = std::fs::read(&path)
            .map_err(TrainingError::io(format!("cannot read {}", path.display())))?;
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&bytes)
            .map_err(|e| TrainingError::file(&path, format!("is not an evaluation table: {e}")))?;
        rows.iter()
            .filter(|r| r["metric"] == "reward")
            .filter_map(|r| Some((r["policy"].as_str()?.to_string(), r["mean"].as_f64()?)))
            .filter(|(policy, _)| policy != LEARNED && policy != LEARNED_SAMPLED)
            .collect()
    } else {
        Vec::new()
    };
    learning_curve(dir, &means)
}

/// `curve.png` (and `curve.svg`): mean training episode return per update against environment
/// steps, with each baseline's mean evaluation return as a flat line.
pub fn learning_curve(dir: &Path, baselines: &[(String, f64)]) -> Result<()> {
    let log = MetricsLog::in_dir(dir);
    let table = log.read()?;
    let (Some(steps), Some(returns)) = (
        table.column("env_steps", &log.path)?,
        table.column("charts/episode_return", &log.path)?,
    ) else {
        return Err(TrainingError::file(
            &log.path,
            "no env_steps / episode return columns",
        ));
    };
    // Updates in which no episode ended have no return (NaN): no point.
    let points: Vec<(f64, f64)> = steps
        .into_iter()
        .zip(returns)
        .filter(|(_, y)| y.is_finite())
        .collect();
    let last_x = points.last().map_or(1.0, |p| p.0);
    let mut series = vec![Series::line(
        format!("{LEARNED} (training episodes)"),
        points,
    )];
    series.extend(
        baselines
            .iter()
            .map(|(name, y)| Series::line(name.clone(), vec![(0.0, *y), (last_x, *y)])),
    );
    plot::line_chart(
        &dir.join(CURVE_FILE),
        "episode return during training",
        "environment steps",
        "episode return",
        &series,
    )
}
