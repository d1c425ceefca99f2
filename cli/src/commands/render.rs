//! `planetgym render`: one episode of a policy, drawn: the batch schedule as a Gantt chart, the
//! placement cluster as a node x GPU heat-map, the traffic split as a region x site heat-map and
//! a world map of flows, capacity against demand with the orders.

use super::baselines::Trained;
use super::config_text;
use anyhow::{Context, Result, bail};
use planetgym_agents::nn::policy::Mode;
use planetgym_agents::registry::{Built, RegisteredScenario, ScenarioVisitor, with_scenario};
use planetgym_deploy::export;
use planetgym_env::{Scenario, bounds};
use planetgym_training::plot::render;
use planetgym_training::session;
use std::path::{Path, PathBuf};

pub const EXAMPLES: &str = "Examples:\n  planetgym render --scenario batch --out pictures/batch\n  planetgym render --scenario placement --policy fgd --every 2000 --out pictures/placement\n  planetgym render --scenario traffic --policy lp --steps 30 --out pictures/traffic\n  planetgym render --policy experiments/policies/capacity --episode 3 --out pictures/capacity\n\nWrites OUT/final.png and final.svg (the state where the episode stopped) and, with --every N,\nOUT/step-NNNNNN.png/.svg every N steps. --seed and --episode pick the same episode as row\n`episode` of an `eval` or `baselines` table run with that --seed.";

/// At most this many frames per render (`--every`).
const MAX_FRAMES: usize = 1000;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario name (see `planetgym scenarios`); defaults to the policy's.
    #[arg(long)]
    scenario: Option<String>,
    /// The policy that acts: a baseline name (default: the scenario's first fair baseline
    /// other than random; parameterised names allowed), a run directory or an export (policy.onnx +
    /// manifest.json).
    #[arg(long, value_name = "NAME|DIR")]
    policy: Option<String>,
    /// TOML config with the fields to change from the scenario's default (or the policy's).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Set one config field (dotted path, repeatable), e.g. --set episode_intervals=60.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Seed of the evaluation the episode belongs to.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Which episode of that evaluation.
    #[arg(long, default_value_t = 0)]
    episode: usize,
    /// Stop after this many steps (default: the whole episode).
    #[arg(long, value_name = "N")]
    steps: Option<usize>,
    /// Also draw the state every N steps (at most 1000 pictures).
    #[arg(long, value_name = "N")]
    every: Option<usize>,
    /// Folder for the pictures (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    bounds::episodes("--episode", args.episode.saturating_add(1)).map_err(anyhow::Error::msg)?;
    if args.every == Some(0) || args.steps == Some(0) {
        bail!("--every and --steps count steps: give 1 or more");
    }
    let dir = args.policy.as_deref().map(Path::new).filter(|p| p.is_dir());
    let trained = Trained::load(dir)?;
    let scenario = trained.scenario(args.scenario.as_deref())?;
    let fallback = trained
        .trained_on
        .as_ref()
        .map(|(_, config)| (config.as_str(), "the policy's scenario config"));
    let (text, origin) = config_text(
        args.config.as_deref(),
        fallback,
        &args.sets,
        Some(&scenario),
    )?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("--out: could not create {}", args.out.display()))?;
    with_scenario(
        &scenario,
        &text,
        &origin,
        Episode {
            args: &args,
            trained: &trained,
        },
    )
}

struct Episode<'a> {
    args: &'a Args,
    trained: &'a Trained,
}

impl ScenarioVisitor for Episode<'_> {
    type Output = ();
    type Error = anyhow::Error;

    fn visit<S: RegisteredScenario>(self, built: Built<S>) -> Result<()> {
        let args = self.args;
        let env = &built.env;
        let make = if let Some(file) = self.trained.runs.first() {
            session::learned_contender(env, file, session::LEARNED, Mode::Greedy)?
        } else if let Some(dir) = &self.trained.export {
            export::exported_contender(dir, "onnx", env)?
        } else {
            let name = match &args.policy {
                Some(name) => name.clone(),
                None => built
                    .fair_baseline_names()
                    .into_iter()
                    .find(|name| name != "random")
                    .context("the scenario has no fair baseline: give --policy")?,
            };
            built
                .select_baselines(std::slice::from_ref(&name))
                .map_err(|e| anyhow::anyhow!("--policy: {e}"))?
                .pop()
                .context("--policy named no baseline")?
        };
        let mut contender = make();
        let mut env = built.env.clone();
        let seed = env.evaluation_seed(args.seed, args.episode);
        let mut obs = env.reset(seed);
        contender.reset(seed);
        let (mut steps, mut reward, mut frames) = (0, 0.0, 0);
        let policy = contender.name();
        loop {
            let action = contender.act(&env, &obs)?;
            drop(obs);
            let t = env
                .step(&action)
                .with_context(|| format!("{policy}, step {steps}"))?;
            steps += 1;
            reward += t.reward;
            let done = t.terminated || t.truncated || args.steps == Some(steps);
            if args.every.is_some_and(|n| steps % n == 0) && !done {
                if frames < MAX_FRAMES {
                    draw(&env, &args.out.join(format!("step-{steps:06}.png")))?;
                }
                frames += 1;
            }
            if done {
                break;
            }
            obs = t.obs;
        }
        if frames > MAX_FRAMES {
            eprintln!(
                "warning: --every gave {frames} pictures; the first {MAX_FRAMES} were written"
            );
        }
        let last = args.out.join("final.png");
        draw(&env, &last)?;
        println!(
            "{policy} on {} episode {} (seed {}): {steps} steps, reward {reward:.4}; wrote {} and {} ({} step pictures)",
            env.name(),
            args.episode,
            args.seed,
            last.display(),
            last.with_extension("svg").display(),
            frames.min(MAX_FRAMES)
        );
        Ok(())
    }
}

/// The scenario's picture now, as `path` (PNG) and an SVG beside it.
fn draw<S: Scenario>(env: &S, path: &Path) -> Result<()> {
    render::draw(&env.scene()?)
        .write(path)
        .with_context(|| format!("could not write {}", path.display()))
}
