//! A whole training session from a config: builds the scenario, trains, then evaluates the
//! learned policy against the scenario's baselines on fresh episodes and draws the learning
//! curve. Used by `planetgym train` and by the Python package.

use crate::error::{Result, TrainingError};
use crate::plot::{self, Series};
use crate::ppo::{self, Outcome, Run, TrainConfig, UpdateReport};
use crate::report;
use crate::run_dir::{CHECKPOINT_FILE, CURVE_FILE, EVAL_CSV_FILE, EVAL_FILE, MetricsLog};
use planetgym_agents::Contender;
use planetgym_agents::evaluate::{ContenderFactory, SummaryRow, evaluate, summarise};
use planetgym_agents::nn::policy::{Mode, NeuralPolicy, PolicyFile};
use planetgym_agents::registry::{self, Built, RegisteredScenario, ScenarioVisitor};
use planetgym_env::Scenario;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// Name of the learned policy's row in evaluation tables (greedy actions).
pub const LEARNED: &str = "ppo";
/// The same policy drawing its actions from its distribution, seeded per episode.
pub const LEARNED_SAMPLED: &str = "ppo-sampled";

/// The learned policy as evaluation rows (greedy and sampled), checked against `env` once.
pub fn learned_contenders<S: Scenario + Clone + 'static>(
    env: &S,
    file: &PolicyFile,
) -> Result<Vec<ContenderFactory<S>>> {
    [(LEARNED, Mode::Greedy), (LEARNED_SAMPLED, Mode::Sample)]
        .into_iter()
        .map(|(name, mode)| learned_contender(env, file, name, mode))
        .collect()
}

/// The policy in `file` as one evaluation row named `name`, checked against `env` once.
pub fn learned_contender<S: Scenario + Clone + 'static>(
    env: &S,
    file: &PolicyFile,
    name: &str,
    mode: Mode,
) -> Result<ContenderFactory<S>> {
    let policy = NeuralPolicy::load(name, env, file, mode)?;
    Ok(Box::new(move || Contender::Fair(Box::new(policy.clone()))))
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
}

#[derive(Debug)]
pub struct SessionResult {
    pub outcome: Outcome,
    /// The final evaluation table (None when interrupted or `eval.episodes = 0`).
    pub evaluation: Option<Vec<SummaryRow>>,
}

/// Trains as `request` says, then evaluates (unless interrupted).
pub fn run(request: &Request, on_update: &mut dyn FnMut(&UpdateReport)) -> Result<SessionResult> {
    let config = &request.config;
    if !request.resume && request.run_dir.join(CHECKPOINT_FILE).exists() {
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
        Session { request, on_update },
    )
}

struct Session<'a, 'b> {
    request: &'a Request<'a>,
    on_update: &'b mut dyn FnMut(&UpdateReport),
}

impl ScenarioVisitor for Session<'_, '_> {
    type Output = SessionResult;
    type Error = TrainingError;

    fn visit<S: RegisteredScenario>(self, built: Built<S>) -> Result<SessionResult> {
        session(
            &built.env,
            &built.resolved_config,
            built.baselines(),
            self.request,
            self.on_update,
        )
    }
}

fn session<S: Scenario + Clone + 'static>(
    env: &S,
    scenario_config: &str,
    mut contenders: Vec<ContenderFactory<S>>,
    request: &Request,
    on_update: &mut dyn FnMut(&UpdateReport),
) -> Result<SessionResult> {
    let run = Run {
        config: &request.config,
        scenario_config,
        run_dir: &request.run_dir,
        resume: request.resume,
        stop: request.stop,
        stop_after: request.stop_after,
    };
    let outcome = ppo::train(env, &run, on_update)?;
    let eval = &request.config.eval;
    if outcome.interrupted || eval.episodes == 0 {
        return Ok(SessionResult {
            outcome,
            evaluation: None,
        });
    }
    let dir = &request.run_dir;
    let file = ppo::load_policy(dir)?;
    contenders.extend(learned_contenders(env, &file)?);
    let results = evaluate(env, &contenders, eval.episodes, eval.seed, false, &|| {})?;
    let rows = summarise(&results, env.metric_names());
    report::write_json(&rows, &dir.join(EVAL_FILE))?;
    report::write_csv(&rows, &dir.join(EVAL_CSV_FILE))?;
    let mut baselines: Vec<(String, f64)> = Vec::new();
    for r in results
        .iter()
        .filter(|r| r.policy != LEARNED && r.policy != LEARNED_SAMPLED)
    {
        match baselines.iter_mut().find(|(p, _)| *p == r.policy) {
            Some((_, sum)) => *sum += r.reward,
            None => baselines.push((r.policy.clone(), r.reward)),
        }
    }
    let baselines: Vec<(String, f64)> = baselines
        .into_iter()
        .map(|(p, sum)| (p, sum / eval.episodes as f64))
        .collect();
    learning_curve(dir, &baselines)?;
    Ok(SessionResult {
        outcome,
        evaluation: Some(rows),
    })
}

/// `curve.png`: mean training episode return per update against environment steps, with each
/// baseline's mean evaluation return as a flat line.
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
    let mut series = vec![Series {
        name: format!("{LEARNED} (training episodes)"),
        points,
    }];
    series.extend(baselines.iter().map(|(name, y)| Series {
        name: name.clone(),
        points: vec![(0.0, *y), (last_x, *y)],
    }));
    plot::line_chart(
        &dir.join(CURVE_FILE),
        "episode return during training",
        "environment steps",
        "episode return",
        &series,
    )
}
