//! Baselines of the `risk` scenario: leave the fleet alone; mitigate what the predictor flags
//! (one mitigation, riskiest first); an escalation sequence in the spirit of Narya's static
//! policy (block, then reboot, then migrate while the host stays risky); a Thompson-sampling
//! bandit that learns which mitigation pays for flagged hosts; and a labelled oracle that knows
//! the hidden faults.

use crate::evaluate::ContenderFactory;
use crate::registry::{OutcomeModel, RegisteredScenario, ReportExtra, fraction_in_name};
use crate::risk::fleet_failure::{simulate, week};
use crate::{Contender, Oracle, Policy, PolicyError};
use planetgym_env::risk::{FaultKind, HostView, Mitigation, RiskOracleView};
use planetgym_env::rng::{Rng, derive_seed, training_half};
use planetgym_env::{Action, EnvError, RiskConfig, RiskObs, RiskScenario};

/// Hours between the steps of the escalation.
const ESCALATION_STEP_HOURS: usize = 2;
/// Training weeks the bandit learns from before it is evaluated.
const BANDIT_TRAINING_EPISODES: usize = 20;

/// The action that applies `m` to host `h`.
fn act_on(h: usize, m: Mitigation) -> Action {
    Action::Discrete(3 * h + m as usize)
}

fn pass(obs: &RiskObs) -> Action {
    Action::Discrete(3 * obs.hosts.len())
}

fn legal(mask: Option<&[bool]>, h: usize, m: Mitigation) -> bool {
    mask.is_none_or(|mask| mask.get(3 * h + m as usize).copied().unwrap_or(false))
}

/// Hosts at or above `threshold`, riskiest first (ties by index).
fn flagged(obs: &RiskObs, threshold: f64) -> Vec<usize> {
    let mut hosts: Vec<usize> = (0..obs.hosts.len())
        .filter(|&h| {
            let host = &obs.hosts[h];
            !host.in_repair && !host.control && host.risk >= threshold
        })
        .collect();
    hosts.sort_by(|&a, &b| obs.hosts[b].risk.total_cmp(&obs.hosts[a].risk));
    hosts
}

/// Lets every hour pass.
#[derive(Debug, Clone, Copy)]
pub struct LeaveAlone;

impl Policy<RiskScenario> for LeaveAlone {
    fn name(&self) -> String {
        "leave-alone".into()
    }
    fn uses_mask(&self) -> bool {
        false
    }
    fn act(&mut self, obs: &RiskObs, _mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        Ok(pass(obs))
    }
}

/// Applies `mitigation` to every host whose risk reaches `threshold`, riskiest first, unless
/// it was mitigated within the last `cooldown_hours`.
#[derive(Debug, Clone, Copy)]
pub struct ThresholdRule {
    pub threshold: f64,
    pub mitigation: Mitigation,
    pub cooldown_hours: usize,
}

impl Policy<RiskScenario> for ThresholdRule {
    fn name(&self) -> String {
        format!("threshold@{}:{}", self.threshold, self.mitigation.name())
    }
    fn act(&mut self, obs: &RiskObs, mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        let rested = |host: &HostView| {
            host.since_mitigation
                .is_none_or(|s| s >= self.cooldown_hours)
        };
        Ok(flagged(obs, self.threshold)
            .into_iter()
            .find(|&h| rested(&obs.hosts[h]) && legal(mask, h, self.mitigation))
            .map_or_else(|| pass(obs), |h| act_on(h, self.mitigation)))
    }
}

/// Block a flagged host; if it is still flagged `step_hours` later, reboot it; if still, then
/// migrate its VMs away and repair it. An incident ends when the host goes to repair or
/// `horizon_hours` after its last step.
#[derive(Debug, Clone)]
pub struct Escalation {
    pub threshold: f64,
    pub step_hours: usize,
    pub horizon_hours: usize,
    /// Per host: the last step taken (0 = none) and when.
    stage: Vec<(usize, usize)>,
}

impl Escalation {
    pub fn new(threshold: f64, step_hours: usize, horizon_hours: usize) -> Self {
        Self {
            threshold,
            step_hours,
            horizon_hours,
            stage: Vec::new(),
        }
    }
}

impl Policy<RiskScenario> for Escalation {
    fn name(&self) -> String {
        format!("escalation@{}", self.threshold)
    }
    fn reset(&mut self, _episode_seed: u64) {
        self.stage.clear();
    }
    fn act(&mut self, obs: &RiskObs, mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        self.stage.resize(obs.hosts.len(), (0, 0));
        for (h, host) in obs.hosts.iter().enumerate() {
            let (step, at) = self.stage[h];
            if host.in_repair || (step > 0 && obs.hour >= at + self.horizon_hours) {
                self.stage[h] = (0, 0);
            }
        }
        const SEQUENCE: [Mitigation; 3] =
            [Mitigation::Block, Mitigation::Reboot, Mitigation::Migrate];
        for h in flagged(obs, self.threshold) {
            let (step, at) = self.stage[h];
            let due = step == 0 || (step < 3 && obs.hour >= at + self.step_hours);
            if !due {
                continue;
            }
            // A host already blocked skips straight to the reboot.
            let mut next = step;
            if next == 0 && obs.hosts[h].blocked_hours > 0 {
                next = 1;
            }
            let m = SEQUENCE[next];
            if legal(mask, h, m) {
                self.stage[h] = (next + 1, obs.hour);
                return Ok(act_on(h, m));
            }
        }
        Ok(pass(obs))
    }
}

/// Arms of the bandit: leave the flagged host alone, or one of the mitigations.
const ARMS: usize = 4;

/// Running mean and variance of an arm's observed cost.
#[derive(Debug, Clone, Copy, Default)]
struct Posterior {
    n: f64,
    mean: f64,
    m2: f64,
}

impl Posterior {
    fn add(&mut self, x: f64) {
        self.n += 1.0;
        let d = x - self.mean;
        self.mean += d / self.n;
        self.m2 += d * (x - self.mean);
    }

    /// A draw of the arm's mean cost: wide before any observation (every arm gets tried).
    fn sample(&self, rng: &mut Rng) -> f64 {
        const PRIOR_SD: f64 = 1000.0;
        if self.n < 1.0 {
            return PRIOR_SD * rng.normal();
        }
        let var = if self.n > 1.0 {
            self.m2 / (self.n - 1.0)
        } else {
            PRIOR_SD * PRIOR_SD
        };
        self.mean + (var.max(1.0) / self.n).sqrt() * rng.normal()
    }
}

#[derive(Debug, Clone, Copy)]
struct Trial {
    arm: usize,
    context: usize,
    hour: usize,
    cost_before: f64,
}

/// Thompson sampling over {leave alone, block, reboot, migrate} for each host the predictor
/// flags, in two contexts (its drift looks like software: kernel warnings lead; or like
/// hardware). A trial's cost is what the host costs over the next `horizon_hours`
/// (interruptions and mitigation costs); the arm with the lowest sampled mean cost is played.
/// It learns over training weeks first ([`ThompsonMitigation::trained`]); each evaluation
/// episode starts from that state and keeps learning within the episode.
#[derive(Debug, Clone)]
pub struct ThompsonMitigation {
    threshold: f64,
    horizon_hours: usize,
    arms: [[Posterior; ARMS]; 2],
    trials: Vec<Option<Trial>>,
    rng: Rng,
    label: String,
}

impl ThompsonMitigation {
    pub fn new(threshold: f64, horizon_hours: usize) -> Self {
        Self {
            threshold,
            horizon_hours,
            arms: [[Posterior::default(); ARMS]; 2],
            trials: Vec::new(),
            rng: Rng::new(0),
            label: format!("thompson@{threshold}"),
        }
    }

    /// A bandit that has learned over `episodes` training episodes of `env` (training seeds,
    /// never an evaluation's).
    pub fn trained(env: &RiskScenario, threshold: f64, episodes: usize) -> Result<Self, String> {
        let mut bandit = Self::new(threshold, env.config().horizon_hours);
        simulate(env, &mut bandit, episodes, 0x7B1D)?;
        bandit.label = format!("thompson@{threshold} ({episodes} training weeks)");
        Ok(bandit)
    }

    fn total(host: &HostView) -> f64 {
        host.interruption_vm_min + host.mitigation_cost
    }

    /// Closes the trials whose horizon has passed.
    fn learn(&mut self, obs: &RiskObs) {
        for (h, slot) in self.trials.iter_mut().enumerate() {
            if let Some(t) = *slot
                && obs.hour >= t.hour + self.horizon_hours
            {
                self.arms[t.context][t.arm].add(Self::total(&obs.hosts[h]) - t.cost_before);
                *slot = None;
            }
        }
    }
}

impl Policy<RiskScenario> for ThompsonMitigation {
    fn name(&self) -> String {
        self.label.clone()
    }
    fn reset(&mut self, episode_seed: u64) {
        self.rng = Rng::new(derive_seed(episode_seed, &[0x7B1D]));
        self.trials.clear();
    }
    fn act(&mut self, obs: &RiskObs, mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        self.trials.resize(obs.hosts.len(), None);
        self.learn(obs);
        for h in flagged(obs, self.threshold) {
            if self.trials[h].is_some() {
                continue;
            }
            let host = &obs.hosts[h];
            let context = usize::from(host.features[0] < host.features[1].max(host.features[2]));
            let draws: Vec<f64> = (0..ARMS)
                .map(|a| self.arms[context][a].sample(&mut self.rng))
                .collect();
            let arm = (0..ARMS)
                .filter(|&a| a == 0 || legal(mask, h, Mitigation::ALL[a - 1]))
                .min_by(|&a, &b| draws[a].total_cmp(&draws[b]))
                .unwrap_or(0);
            self.trials[h] = Some(Trial {
                arm,
                context,
                hour: obs.hour,
                cost_before: Self::total(host),
            });
            if arm > 0 {
                return Ok(act_on(h, Mitigation::ALL[arm - 1]));
            }
        }
        Ok(pass(obs))
    }
}

/// Knows every hidden fault: in the hour a fault is due, reboots a host with a software fault
/// or migrates one with a hardware fault, when that costs less than the failure would.
#[derive(Debug, Clone)]
pub struct Foresight {
    pub config: RiskConfig,
}

impl Oracle<RiskScenario> for Foresight {
    fn name(&self) -> String {
        "foresight (oracle: sees the hidden faults)".into()
    }
    fn act(&mut self, obs: &RiskObs, view: &RiskOracleView) -> Result<Action, PolicyError> {
        let (i, c) = (&self.config.impact, &self.config.cost);
        for (h, fault) in view.next_fault.iter().enumerate() {
            let host = &obs.hosts[h];
            let Some((0, kind)) = *fault else { continue };
            if host.in_repair || host.control || obs.mitigations_left == 0 {
                continue;
            }
            let vms = f64::from(host.vms);
            let failure = vms * i.failure_minutes;
            let (m, cost) = match kind {
                FaultKind::Soft if !host.rebooted_this_hour => {
                    (Mitigation::Reboot, vms * i.reboot_minutes + c.reboot)
                }
                FaultKind::Soft => continue,
                FaultKind::Hard => (
                    Mitigation::Migrate,
                    vms * (i.migration_blackout_minutes + c.migration_per_vm) + c.repair,
                ),
            };
            if cost < failure {
                return Ok(act_on(h, m));
            }
        }
        Ok(pass(obs))
    }
}

fn parse_mitigation(name: &str) -> Result<Mitigation, String> {
    Mitigation::ALL
        .into_iter()
        .find(|m| m.name() == name)
        .ok_or_else(|| format!("mitigation `{name}` must be block, reboot or migrate"))
}

/// Risk thresholds tried when a baseline is tuned.
const THRESHOLDS: [f64; 9] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
/// Training weeks that score each threshold.
const TUNING_WEEKS: usize = 20;

/// A policy whose tuning failed: every decision reports why.
#[derive(Debug, Clone)]
struct TuningFailed {
    message: String,
}

impl Policy<RiskScenario> for TuningFailed {
    fn name(&self) -> String {
        "tuning failed".into()
    }
    fn act(&mut self, _obs: &RiskObs, _mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        Err(PolicyError::Invalid {
            policy: self.name(),
            message: self.message.clone(),
        })
    }
}

/// The policy `make(P)` with the threshold P of [`THRESHOLDS`] whose mean total cost over
/// `TUNING_WEEKS` training weeks is lowest (the lowest P on ties), named `label` and P. Tuned once,
/// on first use, from training seeds only: the same result whoever asks first.
fn tuned<P>(
    env: &RiskScenario,
    label: String,
    make: impl Fn(f64) -> Result<P, String> + Send + Sync + 'static,
) -> ContenderFactory<RiskScenario>
where
    P: Policy<RiskScenario> + Clone + Sync + 'static,
{
    let env = env.clone();
    let best = std::sync::OnceLock::<Result<(P, f64), String>>::new();
    Box::new(move || {
        let chosen = best.get_or_init(|| {
            let mut best: Option<(f64, f64)> = None;
            for p in THRESHOLDS {
                // Each week from a fresh copy, as an evaluation runs its episodes.
                let policy = make(p)?;
                let mut total = 0.0;
                for w in 0..TUNING_WEEKS {
                    let seed = training_half(derive_seed(0x7E57, &[w as u64]));
                    total += week(&env, &mut policy.clone(), seed)?.info[0];
                }
                let cost = total / TUNING_WEEKS as f64;
                if best.is_none_or(|(_, c)| cost < c) {
                    best = Some((p, cost));
                }
            }
            let (p, _) = best.ok_or("no threshold to tune")?;
            Ok((make(p)?, p))
        });
        match chosen {
            Ok((policy, p)) => Contender::Fair(Box::new(Tuned {
                label: label.clone(),
                policy: policy.clone(),
                threshold: *p,
            })),
            Err(message) => Contender::Fair(Box::new(TuningFailed {
                message: message.clone(),
            })),
        }
    })
}

/// A tuned policy, named as such.
#[derive(Debug, Clone)]
struct Tuned<P> {
    label: String,
    policy: P,
    threshold: f64,
}

impl<P: Policy<RiskScenario>> Policy<RiskScenario> for Tuned<P> {
    fn name(&self) -> String {
        format!("{} (tuned: P={})", self.label, self.threshold)
    }
    fn reset(&mut self, episode_seed: u64) {
        self.policy.reset(episode_seed);
    }
    fn act(&mut self, obs: &RiskObs, mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        self.policy.act(obs, mask)
    }
}

fn fair(
    policy: impl Policy<RiskScenario> + Clone + Sync + 'static,
) -> ContenderFactory<RiskScenario> {
    Box::new(move || Contender::Fair(Box::new(policy.clone())))
}

impl RegisteredScenario for RiskScenario {
    type Config = RiskConfig;
    const NAME: &'static str = "risk";
    const DESCRIPTION: &'static str = "predict, then mitigate: block, reboot or migrate hosts whose telemetry drifts before hidden faults";
    const GYM_ID: &'static str = "planetgym/Risk-v0";
    const METRICS: &'static [planetgym_env::Metric] = &planetgym_env::risk::METRICS;
    const REPORT: ReportExtra = ReportExtra::None;
    const EPISODES: crate::comparison::EpisodeBudget = crate::comparison::EpisodeBudget {
        pilot: 20,
        max: 500,
    };

    fn holdout(_dir: &std::path::Path) -> Result<Vec<String>, &'static str> {
        Err("the fleet is simulated: no held-out trace (evaluation seeds are never training seeds)")
    }

    fn build(config: RiskConfig) -> Result<Self, EnvError> {
        Self::new(config)
    }

    fn baselines(&self, config: &RiskConfig) -> Vec<ContenderFactory<Self>> {
        let horizon = config.horizon_hours;
        let mut list = vec![fair(LeaveAlone)];
        for mitigation in Mitigation::ALL {
            list.push(tuned(
                self,
                format!("threshold:{}", mitigation.name()),
                move |p| {
                    Ok(ThresholdRule {
                        threshold: p,
                        mitigation,
                        cooldown_hours: horizon,
                    })
                },
            ));
        }
        list.push(tuned(self, "escalation".into(), move |p| {
            Ok(Escalation::new(p, ESCALATION_STEP_HOURS, horizon))
        }));
        let env = self.clone();
        list.push(tuned(
            self,
            "thompson (20 training weeks)".into(),
            move |p| ThompsonMitigation::trained(&env, p, BANDIT_TRAINING_EPISODES),
        ));
        let c = config.clone();
        list.push(Box::new(move || {
            Contender::Oracle(Box::new(Foresight { config: c.clone() }))
        }));
        list
    }

    const BASELINE_FORMS: &'static [&'static str] = &[
        "threshold@P:MITIGATION (0 < P <= 1; MITIGATION block, reboot or migrate)",
        "escalation@P (0 < P <= 1)",
        "thompson@P (0 < P <= 1; learns over 20 training weeks first)",
    ];

    fn baseline_named(
        &self,
        config: &RiskConfig,
        name: &str,
    ) -> Option<Result<ContenderFactory<Self>, String>> {
        let horizon = config.horizon_hours;
        if let Some(rest) = name.strip_prefix("threshold@") {
            return Some((|| {
                let (p, m) = rest
                    .split_once(':')
                    .ok_or("expected threshold@P:MITIGATION, e.g. threshold@0.5:migrate")?;
                Ok(fair(ThresholdRule {
                    threshold: fraction_in_name(p, "the risk threshold")?,
                    mitigation: parse_mitigation(m)?,
                    cooldown_hours: horizon,
                }))
            })());
        }
        if let Some(p) = name.strip_prefix("escalation@") {
            return Some(
                fraction_in_name(p, "the risk threshold")
                    .map(|p| fair(Escalation::new(p, ESCALATION_STEP_HOURS, horizon))),
            );
        }
        let p = name.strip_prefix("thompson@")?;
        Some((|| {
            let p = fraction_in_name(p, "the risk threshold")?;
            Ok(fair(ThompsonMitigation::trained(
                self,
                p,
                BANDIT_TRAINING_EPISODES,
            )?))
        })())
    }

    fn heading(&self, config: &RiskConfig) -> String {
        let f = &config.faults;
        format!(
            "scenario risk: {} hosts, {} hours; faults {}/host/week ({} % software, {} % announced ~{} h ahead), {} false alarms/host/week; control group {} %",
            config.hosts,
            config.episode_hours,
            f.per_host_week,
            100.0 * f.soft_share,
            100.0 * f.announced_share,
            f.lead_hours,
            f.false_alarms_per_host_week,
            100.0 * config.control_share
        )
    }

    fn steps_per_episode(&self, config: &RiskConfig) -> usize {
        config.episode_hours
    }

    fn outcome_model(&self) -> Result<Box<dyn OutcomeModel>, &'static str> {
        Err("a mitigation pays off over the following hours, not in one step")
    }
}
