//! Configuration of the services scenario. The documented defaults live in `default.toml`.

use crate::bounds::{self, MAX_WEIGHT, positive_at_most, range_pair, weight, within};
use crate::config::ScenarioConfig;
use crate::world::demand::DemandConfig;
use crate::world::geography::{Season, WorldKind};
use serde::Deserialize;

/// The built-in default config, with a comment on every field.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

/// Most services kept from the call graphs: each is a step of the episode and a row of
/// per-service state.
pub const MAX_SERVICES: usize = 1_000_000;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicesConfig {
    pub callgraphs: String,
    pub request_types: usize,
    pub max_replicas: usize,
    pub serving_hours: usize,
    pub world: WorldConfig,
    pub demand: DemandConfig,
    pub regions: RegionsConfig,
    pub calls: CallsConfig,
    pub data: DataConfig,
    pub residency: ResidencyConfig,
    pub reward: RewardConfig,
    pub milp: MilpConfig,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldConfig {
    pub kind: WorldKind,
    pub season: Season,
    pub intra_region_rtt_ms: f64,
    pub synthetic_regions: usize,
    pub synthetic_seed: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionsConfig {
    pub capacity_share: f64,
    pub core_hour_usd: f64,
    pub storage_gb_month_usd: f64,
    pub egress_gb_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallsConfig {
    pub kb_per_call: f64,
    pub min_cores_per_replica: f64,
    pub core_headroom: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    pub shard_gb: [f64; 2],
    pub write_fraction: f64,
    pub write_quorum: usize,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidencyConfig {
    pub rules: Vec<ResidencyRule>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidencyRule {
    pub jurisdiction: String,
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardConfig {
    pub latency_usd_per_request_s: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MilpConfig {
    pub time_limit_s: f64,
    pub max_columns: usize,
    pub bound_user_rows: usize,
}

/// Most request types of a generated application (4 per service at the most services).
pub const MAX_GENERATED_TYPES: usize = 4 * MAX_SERVICES;

/// Most columns of a `milp` baseline's model (about 1 KB of HiGHS memory each).
pub const MAX_MILP_COLUMNS: usize = 20_000_000;

/// Services and request types of a `generated:SERVICES:TYPES` application; None for other
/// call-graph sources, an error for a malformed one.
pub fn generated_size(callgraphs: &str) -> Option<Result<(usize, usize), String>> {
    let spec = callgraphs.strip_prefix("generated:")?;
    let parse = |part: Option<&str>, what: &str| {
        part.and_then(|p| p.trim().parse::<usize>().ok())
            .ok_or_else(|| format!("callgraphs = `generated:{}`: expected generated:SERVICES:TYPES ({what} missing or not a count)", bounds::excerpt(spec, 60)))
    };
    let mut parts = spec.splitn(2, ':');
    Some(parse(parts.next(), "SERVICES").and_then(|s| Ok((s, parse(parts.next(), "TYPES")?))))
}

impl Default for ServicesConfig {
    fn default() -> Self {
        Self::builtin_default()
    }
}

impl ScenarioConfig for ServicesConfig {
    fn rebase_paths(table: &mut toml::Table, base: &std::path::Path) {
        crate::config::map_strings(table, "callgraphs", &|spec| match spec.split_once(':') {
            Some(("alibaba_v2022", path)) => {
                format!("alibaba_v2022:{}", crate::config::rebased(path, base))
            }
            _ => spec.to_string(),
        });
        crate::config::map_strings(table, "demand.diurnal_series", &|p| {
            if p.starts_with("builtin:") {
                p.to_string()
            } else {
                crate::config::rebased(p, base)
            }
        });
    }

    const DEFAULT_TOML: &'static str = DEFAULT_TOML;

    fn validate(&self) -> Result<(), String> {
        if let Some(size) = generated_size(&self.callgraphs) {
            let (services, types) = size?;
            bounds::count(
                "callgraphs' generated services",
                services as u64,
                1,
                MAX_SERVICES as u64,
                "each service is a step of the episode",
            )?;
            bounds::count(
                "callgraphs' generated request types",
                types as u64,
                1,
                MAX_GENERATED_TYPES as u64,
                "one call tree each, about 250 bytes",
            )?;
        } else if !(self.callgraphs == super::BUILTIN_CALLGRAPHS
            || self.callgraphs.starts_with("alibaba_v2022:"))
        {
            return Err(format!(
                "callgraphs = `{}`: expected `{}`, `alibaba_v2022:PATH` or `generated:SERVICES:TYPES`",
                bounds::excerpt(&self.callgraphs, 80),
                super::BUILTIN_CALLGRAPHS
            ));
        }
        bounds::count(
            "request_types",
            self.request_types as u64,
            0,
            MAX_SERVICES as u64,
            "0 keeps every type",
        )?;
        bounds::count(
            "max_replicas",
            self.max_replicas as u64,
            1,
            16,
            "each replica is a step and a row of the observation",
        )?;
        bounds::count(
            "serving_hours",
            self.serving_hours as u64,
            1,
            24 * 31,
            "each hour serves every request type from every region",
        )?;
        let w = &self.world;
        within(
            "world.intra_region_rtt_ms",
            w.intra_region_rtt_ms,
            0.0,
            1_000.0,
        )?;
        if w.kind == WorldKind::Synthetic {
            bounds::count(
                "world.synthetic_regions",
                w.synthetic_regions as u64,
                2,
                1_000,
                "the RTT matrix is regions x regions",
            )?;
        }
        // Demand advances one hour at a time.
        self.demand.validate(3_600.0)?;
        let r = &self.regions;
        within("regions.capacity_share", r.capacity_share, 0.01, 100.0)?;
        weight("regions.core_hour_usd", r.core_hour_usd)?;
        weight("regions.storage_gb_month_usd", r.storage_gb_month_usd)?;
        weight("regions.egress_gb_usd", r.egress_gb_usd)?;
        let c = &self.calls;
        within("calls.kb_per_call", c.kb_per_call, 0.0, 1e6)?;
        within(
            "calls.min_cores_per_replica",
            c.min_cores_per_replica,
            0.0,
            1e4,
        )?;
        within("calls.core_headroom", c.core_headroom, 1.0, 100.0)?;
        let d = &self.data;
        range_pair("data.shard_gb", d.shard_gb, 0.001, 1e6)?;
        within("data.write_fraction", d.write_fraction, 0.0, 1.0)?;
        bounds::count(
            "data.write_quorum",
            d.write_quorum as u64,
            0,
            15,
            "synchronous copies beyond the primary; fewer when a shard has fewer replicas",
        )?;
        let mut total = 0.0;
        for (k, rule) in self.residency.rules.iter().enumerate() {
            let field = format!("residency.rules[{k}]");
            if super::residency::Jurisdiction::parse(&rule.jurisdiction).is_none() {
                return Err(format!(
                    "{field}.jurisdiction = `{}`: expected `EU` or a country of the region table ({})",
                    bounds::excerpt(&rule.jurisdiction, 60),
                    super::residency::countries().join(", ")
                ));
            }
            within(&format!("{field}.share"), rule.share, 0.0, 1.0)?;
            total += rule.share;
        }
        if total > 1.0 + 1e-9 {
            return Err(format!(
                "residency.rules: shares sum to {total}, more than 1"
            ));
        }
        positive_at_most(
            "reward.latency_usd_per_request_s",
            self.reward.latency_usd_per_request_s,
            MAX_WEIGHT,
        )?;
        within("milp.time_limit_s", self.milp.time_limit_s, 0.1, 3_600.0)?;
        bounds::count(
            "milp.max_columns",
            self.milp.max_columns as u64,
            0,
            MAX_MILP_COLUMNS as u64,
            "HiGHS holds the whole model in memory",
        )?;
        bounds::count(
            "milp.bound_user_rows",
            self.milp.bound_user_rows as u64,
            0,
            MAX_MILP_COLUMNS as u64,
            "rows of the bound's LP",
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_errors() {
        let c = ServicesConfig::default();
        assert_eq!((c.max_replicas, c.serving_hours), (3, 24));
        assert_eq!(c.residency.rules.len(), 2);
        let err = |text: &str| {
            ServicesConfig::from_toml(text, "s.toml")
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("max_replicas = 0"),
            "config error: s.toml: max_replicas = 0: must be at least 1"
        );
        assert!(
            err("callgraphs = \"swf:x\"")
                .contains("expected `builtin:alibaba_microservices_v2022`")
        );
        assert!(
            err("[residency]\nrules = [{ jurisdiction = \"Atlantis\", share = 0.1 }]")
                .contains("residency.rules[0].jurisdiction = `Atlantis`")
        );
        assert!(err("[residency]\nrules = [{ jurisdiction = \"EU\", share = 0.7 }, { jurisdiction = \"Japan\", share = 0.7 }]")
            .contains("shares sum to 1.4"));
        assert!(err("[data]\nwrite_fraction = nan").contains("data.write_fraction"));
        assert!(err("[calls]\nkb_per_cal = 1").contains("unknown field"));
        assert!(err("callgraphs = \"generated:10\"").contains("TYPES missing"));
        assert!(err("callgraphs = \"generated:0:5\"").contains("generated services"));
        assert!(err("[milp]\nmax_columns = 100000000").contains("milp.max_columns"));
        assert_eq!(
            generated_size("generated:2000:6000"),
            Some(Ok((2000, 6000)))
        );
    }
}
