//! Configuration of the traffic scenario. The documented defaults live in `default.toml`.

use crate::bounds::{self, MAX_WEIGHT, YEAR_MINUTES, positive_at_most, range_pair, weight, within};
use crate::config::ScenarioConfig;
use crate::world::demand::DemandConfig;
pub use crate::world::geography::{Season, WorldKind};
use serde::Deserialize;

/// The built-in default config, with a comment on every field.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficConfig {
    pub interval_s: f64,
    pub episode_intervals: usize,
    pub observation: ObservationKind,
    pub observe_share: bool,
    pub world: WorldConfig,
    pub demand: DemandConfig,
    pub sites: SitesConfig,
    pub latency: LatencyConfig,
    pub failures: FailureConfig,
    pub guard: GuardConfig,
    pub reward: RewardConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObservationKind {
    Flat,
    Pairs,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldConfig {
    pub kind: WorldKind,
    pub season: Season,
    pub intra_region_rtt_ms: f64,
    pub synthetic: SyntheticConfig,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticConfig {
    pub regions: usize,
    pub sites: usize,
    pub seed: u64,
    pub cost_per_million_usd: [f64; 2],
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSpec {
    pub region: String,
    pub capacity_rps: Option<f64>,
    pub cost_per_million_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SitesConfig {
    pub list: Vec<SiteSpec>,
    pub capacity_factor: f64,
    pub capacity_balance: f64,
    /// Each episode's capacity multiplier is drawn uniformly from this range (both ends equal:
    /// that fixed multiplier, no draw).
    pub capacity_draw: [f64; 2],
    pub carbon_price_usd_per_tonne: f64,
    pub energy_kwh_per_million_requests: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyConfig {
    pub service_time_ms: f64,
    pub max_queue_delay_ms: f64,
    pub slo_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureConfig {
    pub site_failures_per_day: f64,
    pub mean_repair_minutes: f64,
    pub partial_failure_probability: f64,
    pub partial_capacity: [f64; 2],
    pub link_degradations_per_day: f64,
    pub link_rtt_factor: [f64; 2],
    pub mean_link_minutes: f64,
    pub scripted: Vec<ScriptedEvent>,
}

/// A failure that happens at a fixed time, on top of the random ones.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ScriptedEvent {
    /// Site `site` keeps `capacity_fraction` of its capacity for `minutes` from `at_minute`.
    Site {
        site: String,
        at_minute: f64,
        minutes: f64,
        capacity_fraction: f64,
    },
    /// The RTT from `region` to `site` is multiplied by `rtt_factor`.
    Link {
        region: String,
        site: String,
        at_minute: f64,
        minutes: f64,
        rtt_factor: f64,
    },
}

impl ScriptedEvent {
    /// Start and length, in minutes from the episode start.
    pub fn timing(&self) -> (f64, f64) {
        match self {
            ScriptedEvent::Site {
                at_minute, minutes, ..
            }
            | ScriptedEvent::Link {
                at_minute, minutes, ..
            } => (*at_minute, *minutes),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardConfig {
    /// The overflow guard's mark (0 = off): see `default.toml`.
    pub max_utilisation: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardConfig {
    pub latency_weight: f64,
    pub drop_weight: f64,
    pub cost_weight: f64,
}

impl Default for TrafficConfig {
    fn default() -> Self {
        Self::builtin_default()
    }
}

impl ScenarioConfig for TrafficConfig {
    fn rebase_paths(table: &mut toml::Table, base: &std::path::Path) {
        crate::config::map_strings(table, "demand.diurnal_series", &|p| {
            crate::config::rebased(p, base)
        });
    }

    const DEFAULT_TOML: &'static str = DEFAULT_TOML;

    fn validate(&self) -> Result<(), String> {
        let s = &self.sites;
        let l = &self.latency;
        let f = &self.failures;
        let r = &self.reward;
        // The demand model follows the time of day: an interval longer than a day means nothing,
        // and event rates below are per interval, so a longer one multiplies them.
        positive_at_most("interval_s", self.interval_s, 86_400.0)?;
        let episode_minutes = self.interval_s * self.episode_intervals as f64 / 60.0;
        if self.episode_intervals == 0 || episode_minutes > YEAR_MINUTES {
            return Err(format!(
                "episode_intervals = {}: must be at least 1, and an episode (episode_intervals x interval_s) at most a year of simulated time",
                self.episode_intervals
            ));
        }
        if !self.observe_share && self.observation != ObservationKind::Pairs {
            return Err(
                "observe_share = false: applies to observation = \"pairs\" only (the flat observation holds no split)"
                    .into(),
            );
        }
        within(
            "world.intra_region_rtt_ms",
            self.world.intra_region_rtt_ms,
            0.0,
            10_000.0,
        )?;
        if self.world.kind == WorldKind::Synthetic {
            let syn = &self.world.synthetic;
            if syn.regions < 2 || syn.sites == 0 || syn.sites > syn.regions {
                return Err(format!(
                    "world.synthetic: regions = {}, sites = {}: need regions >= 2 and 1 <= sites <= regions",
                    syn.regions, syn.sites
                ));
            }
            // A region x region RTT matrix, and a few region x site tables per copy.
            let (regions, sites) = (syn.regions as f64, syn.sites as f64);
            bounds::memory(
                &format!(
                    "world.synthetic: {} regions x {} sites",
                    syn.regions, syn.sites
                ),
                8.0 * (regions * regions + 8.0 * regions * sites),
            )?;
            range_pair(
                "world.synthetic.cost_per_million_usd",
                syn.cost_per_million_usd,
                0.0,
                MAX_WEIGHT,
            )?;
        }
        self.demand.validate(self.interval_s)?;
        // At most one expected event per target and interval: the per-interval probability
        // of an event is rate x interval / day.
        let per_interval = 86_400.0 / self.interval_s;
        if self.world.kind == WorldKind::Azure && s.list.is_empty() {
            return Err("sites.list is empty: need at least one site".into());
        }
        bounds::count(
            "sites.list (sites)",
            s.list.len() as u64,
            0,
            1_000,
            "one datacenter per site; the 54 Azure regions need far fewer",
        )?;
        for (i, site) in s.list.iter().enumerate() {
            if let Some(c) = site.capacity_rps {
                positive_at_most(&format!("sites.list[{i}].capacity_rps"), c, 1e12)?;
            }
            weight(
                &format!("sites.list[{i}].cost_per_million_usd"),
                site.cost_per_million_usd,
            )?;
        }
        positive_at_most("sites.capacity_factor", s.capacity_factor, 100.0)?;
        within("sites.capacity_balance", s.capacity_balance, 0.0, 1.0)?;
        range_pair("sites.capacity_draw", s.capacity_draw, 0.1, 10.0)?;
        weight(
            "sites.carbon_price_usd_per_tonne",
            s.carbon_price_usd_per_tonne,
        )?;
        weight(
            "sites.energy_kwh_per_million_requests",
            s.energy_kwh_per_million_requests,
        )?;
        positive_at_most("latency.service_time_ms", l.service_time_ms, 60_000.0)?;
        within(
            "latency.max_queue_delay_ms",
            l.max_queue_delay_ms,
            l.service_time_ms,
            3_600_000.0,
        )?;
        if l.max_queue_delay_ms == l.service_time_ms {
            return Err(format!(
                "latency.max_queue_delay_ms = {}: must exceed service_time_ms ({})",
                l.max_queue_delay_ms, l.service_time_ms
            ));
        }
        positive_at_most("latency.slo_ms", l.slo_ms, 3_600_000.0)?;
        within(
            "failures.site_failures_per_day",
            f.site_failures_per_day,
            0.0,
            per_interval,
        )?;
        positive_at_most(
            "failures.mean_repair_minutes",
            f.mean_repair_minutes,
            YEAR_MINUTES,
        )?;
        within(
            "failures.partial_failure_probability",
            f.partial_failure_probability,
            0.0,
            1.0,
        )?;
        range_pair("failures.partial_capacity", f.partial_capacity, 0.0, 1.0)?;
        within(
            "failures.link_degradations_per_day",
            f.link_degradations_per_day,
            0.0,
            per_interval,
        )?;
        range_pair("failures.link_rtt_factor", f.link_rtt_factor, 1.0, 100.0)?;
        positive_at_most(
            "failures.mean_link_minutes",
            f.mean_link_minutes,
            YEAR_MINUTES,
        )?;
        bounds::count(
            "failures.scripted (events)",
            f.scripted.len() as u64,
            0,
            100_000,
            "every interval checks every scripted event",
        )?;
        for (i, event) in f.scripted.iter().enumerate() {
            let at = format!("failures.scripted[{i}]");
            let (at_minute, minutes) = event.timing();
            within(&format!("{at}.at_minute"), at_minute, 0.0, YEAR_MINUTES)?;
            positive_at_most(&format!("{at}.minutes"), minutes, YEAR_MINUTES)?;
            match event {
                ScriptedEvent::Site {
                    capacity_fraction, ..
                } => within(
                    &format!("{at}.capacity_fraction"),
                    *capacity_fraction,
                    0.0,
                    1.0,
                )?,
                ScriptedEvent::Link { rtt_factor, .. } => {
                    within(&format!("{at}.rtt_factor"), *rtt_factor, 1.0, 100.0)?
                }
            }
        }
        within(
            "guard.max_utilisation",
            self.guard.max_utilisation,
            0.0,
            1.0,
        )?;
        weight("reward.latency_weight", r.latency_weight)?;
        weight("reward.drop_weight", r.drop_weight)?;
        weight("reward.cost_weight", r.cost_weight)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_parses_and_validates() {
        let c = TrafficConfig::default();
        assert_eq!(c.sites.list.len(), 12);
        assert_eq!(c.episode_intervals, 1440);
        assert_eq!(c.world.kind, WorldKind::Azure);
    }

    #[test]
    fn errors_name_the_field_and_the_rule() {
        let err =
            TrafficConfig::from_toml("[demand]\nnoise_sigma = -0.5\n", "my.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "config error: my.toml: demand.noise_sigma = -0.5: must be in [0, 2] (inclusive)"
        );
        let err = TrafficConfig::from_toml("[demand]\nnosie_sigma = 0.1\n", "my.toml").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("config error: my.toml: unknown field `demand.nosie_sigma`"),
            "{err}"
        );
        let err = TrafficConfig::from_toml("interval_s = nan\n", "my.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "config error: my.toml: interval_s = NaN: must be in (0, 86400] (above 0, at most 86400)"
        );
        let err = TrafficConfig::from_toml(
            "[sites]\nlist = [{ region = \"eastus\", cost = 1.0 }]\n",
            "my.toml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `cost`"), "{err}");
        let err = TrafficConfig::from_toml("observation = \"image\"\n", "my.toml").unwrap_err();
        assert!(err.to_string().contains("unknown variant `image`"), "{err}");
        let err = TrafficConfig::from_toml("observe_share = false\n", "my.toml").unwrap_err();
        assert!(
            err.to_string()
                .contains("observe_share = false: applies to observation = \"pairs\" only"),
            "{err}"
        );
        let err =
            TrafficConfig::from_toml("[guard]\nmax_utilisation = 1.5\n", "my.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "config error: my.toml: guard.max_utilisation = 1.5: must be in [0, 1] (inclusive)"
        );
        let scripted = "[failures]\nscripted = [{ kind = \"site\", site = \"eastus\", at_minute = 1, minutes = 5, capacity_fraction = 2.0 }]\n";
        let err = TrafficConfig::from_toml(scripted, "my.toml").unwrap_err();
        assert!(
            err.to_string().contains(
                "failures.scripted[0].capacity_fraction = 2: must be in [0, 1] (inclusive)"
            ),
            "{err}"
        );
    }
}
