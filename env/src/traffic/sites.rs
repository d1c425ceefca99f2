//! Datacenter sites of the traffic scenario: where they stand, capacity, and cost.

use super::config::{TrafficConfig, WorldKind};
use crate::error::EnvError;
use crate::rng::Rng;
use crate::world::geography::Geography;

const GREENSKU_CSV: &str = include_str!("../../data/azure_dc_data.csv");

/// GreenSKU's region names -> Azure ARM region names.
const GREENSKU_REGIONS: [(&str, &str); 8] = [
    ("europewest", "westeurope"),
    ("useast", "eastus"),
    ("ussouth", "southcentralus"),
    ("uscentral", "centralus"),
    ("europenorth", "northeurope"),
    ("uswest2", "westus2"),
    ("uswest", "westus"),
    ("usnorth", "northcentralus"),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// Index of the region the site stands in.
    pub region: usize,
    pub capacity_rps: f64,
    /// Operating cost plus priced carbon, per million requests served (USD).
    pub cost_per_million_usd: f64,
    /// Grid carbon intensity (gCO2/kWh), where the GreenSKU table has the region.
    pub grid_intensity_g_per_kwh: Option<f64>,
}

/// Builds the sites of `config` over `geo`: listed sites for the Azure world, a seeded sample of
/// regions for a synthetic world; capacities from the config or sized automatically.
pub fn build_sites(config: &TrafficConfig, geo: &Geography) -> Result<Vec<Site>, EnvError> {
    let intensity = grid_intensities()?;
    let carbon = |region: usize| {
        intensity
            .iter()
            .find(|(name, _)| *name == geo.regions[region].name)
            .map(|&(_, g)| g)
    };
    let priced = |base: f64, region: usize| {
        let g = carbon(region).unwrap_or(0.0);
        // USD/t x g/kWh x kWh/M x 1e-6 t/g = USD per million requests.
        base + config.sites.carbon_price_usd_per_tonne
            * g
            * config.sites.energy_kwh_per_million_requests
            * 1e-6
    };
    let mut sites = Vec::new();
    let mut explicit = Vec::new();
    match config.world.kind {
        WorldKind::Azure => {
            for (i, spec) in config.sites.list.iter().enumerate() {
                let region = geo.index_of(&spec.region).ok_or_else(|| {
                    let known: Vec<&str> = geo.regions.iter().map(|r| r.name.as_str()).collect();
                    EnvError::config(format!(
                        "sites.list[{i}].region = `{}`: unknown region; known: {}",
                        spec.region,
                        known.join(", ")
                    ))
                })?;
                if sites.iter().any(|s: &Site| s.region == region) {
                    return Err(EnvError::config(format!(
                        "sites.list[{i}].region = `{}` is listed twice",
                        spec.region
                    )));
                }
                explicit.push(spec.capacity_rps);
                sites.push(Site {
                    region,
                    capacity_rps: 0.0,
                    cost_per_million_usd: priced(spec.cost_per_million_usd, region),
                    grid_intensity_g_per_kwh: carbon(region),
                });
            }
        }
        WorldKind::Synthetic => {
            let syn = &config.world.synthetic;
            let mut rng = Rng::new(syn.seed ^ 0x5173);
            let mut order: Vec<usize> = (0..geo.regions.len()).collect();
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i + 1));
            }
            for &region in order.iter().take(syn.sites) {
                explicit.push(None);
                let base = rng.uniform_in(syn.cost_per_million_usd[0], syn.cost_per_million_usd[1]);
                sites.push(Site {
                    region,
                    capacity_rps: 0.0,
                    cost_per_million_usd: base,
                    grid_intensity_g_per_kwh: None,
                });
            }
        }
    }
    let auto = automatic_capacities(config, geo, &sites);
    for ((site, explicit), auto) in sites.iter_mut().zip(explicit).zip(auto) {
        site.capacity_rps = explicit.unwrap_or(auto);
    }
    Ok(sites)
}

/// capacity_factor x global rate, shared in proportion to (nearest-demand share)^balance, with
/// every share floored at a tenth of an even share so that no site is empty.
fn automatic_capacities(config: &TrafficConfig, geo: &Geography, sites: &[Site]) -> Vec<f64> {
    let mut share = vec![0.0; sites.len()];
    for (r, region) in geo.regions.iter().enumerate() {
        if let Some(s) = nearest(geo, sites, r) {
            share[s] += region.demand_weight;
        }
    }
    let floor = 0.1 / sites.len() as f64;
    let weights: Vec<f64> = share
        .iter()
        .map(|s| s.max(floor).powf(config.sites.capacity_balance))
        .collect();
    let total: f64 = weights.iter().sum();
    weights
        .iter()
        .map(|w| config.sites.capacity_factor * config.demand.global_rate_rps * w / total)
        .collect()
}

/// The site with the lowest RTT from region `r`.
fn nearest(geo: &Geography, sites: &[Site], r: usize) -> Option<usize> {
    (0..sites.len()).min_by(|&a, &b| {
        geo.rtt_ms(r, sites[a].region)
            .total_cmp(&geo.rtt_ms(r, sites[b].region))
    })
}

fn grid_intensities() -> Result<Vec<(&'static str, f64)>, EnvError> {
    let mut reader = csv::Reader::from_reader(GREENSKU_CSV.as_bytes());
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| EnvError::data("azure_dc_data.csv", e.to_string()))?;
        let name = record.get(0).unwrap_or("");
        let value = record
            .get(2)
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| {
                EnvError::data(
                    "azure_dc_data.csv",
                    format!("line {}: bad `Avg Grid Intensity`", i + 2),
                )
            })?;
        if let Some(&(_, arm)) = GREENSKU_REGIONS.iter().find(|(g, _)| *g == name) {
            out.push((arm, value));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ScenarioConfig;

    #[test]
    fn default_sites_are_sized_and_priced() {
        let config = TrafficConfig::default();
        let geo = Geography::azure(config.world.season, config.world.intra_region_rtt_ms).unwrap();
        let sites = build_sites(&config, &geo).unwrap();
        assert_eq!(sites.len(), 12);
        let total: f64 = sites.iter().map(|s| s.capacity_rps).sum();
        assert!((total - 1.5 * config.demand.global_rate_rps).abs() < 1e-6);
        let eastus = sites
            .iter()
            .find(|s| geo.regions[s.region].name == "eastus")
            .unwrap();
        assert_eq!(eastus.grid_intensity_g_per_kwh, Some(397.0));
        assert!((eastus.cost_per_million_usd - (0.40 + 100.0 * 397.0 * 1e-6)).abs() < 1e-12);
        let sweden = sites
            .iter()
            .find(|s| geo.regions[s.region].name == "swedencentral")
            .unwrap();
        assert_eq!(sweden.grid_intensity_g_per_kwh, None);
    }

    #[test]
    fn unknown_or_duplicate_site_regions_are_named() {
        let config = TrafficConfig::from_toml(
            "[sites]\nlist = [{ region = \"atlantis\", cost_per_million_usd = 1.0 }]\n",
            "t.toml",
        )
        .unwrap();
        let geo = Geography::azure(config.world.season, 2.0).unwrap();
        let err = build_sites(&config, &geo).unwrap_err().to_string();
        assert!(err.starts_with("config error: sites.list[0].region = `atlantis`: unknown region; known: australiacentral"), "{err}");
        let twice = "[sites]\nlist = [{ region = \"eastus\", cost_per_million_usd = 1.0 }, { region = \"eastus\", cost_per_million_usd = 1.0 }]\n";
        let config = TrafficConfig::from_toml(twice, "t.toml").unwrap();
        assert!(
            build_sites(&config, &geo)
                .unwrap_err()
                .to_string()
                .contains("listed twice")
        );
    }
}
