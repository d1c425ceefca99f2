//! Regions (where users are), their demand weights and time zones, and the latency between
//! them: the real Azure table or a seeded synthetic planet.

use crate::error::EnvError;
use crate::rng::Rng;
use std::collections::HashMap;

pub const AZURE_REGIONS_CSV: &str = include_str!("../../data/azure_regions.csv");
pub const AZURE_RTT_MATRIX_CSV: &str =
    include_str!("../../data/azure_interregion_rtt_p95_ms_matrix.csv");
const WORLD_POPULATION_CELLS_CSV: &str = include_str!("../../data/world_population_cells.csv");

/// Where people live: (lat, lon, population) of 2-degree cells, summed over GeoNames'
/// `cities15000` list (cities of 15,000 or more, and capitals; some list no population;
/// `data/README.md`). The land
/// backdrop of world maps.
pub fn population_cells() -> Vec<(f64, f64, f64)> {
    WORLD_POPULATION_CELLS_CSV
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split(',').map(str::parse::<f64>);
            Some((
                fields.next()?.ok()?,
                fields.next()?.ok()?,
                fields.next()?.ok()?,
            ))
        })
        .collect()
}

/// A place where user demand originates and where a datacenter may stand.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    /// Short machine name (`eastus`), used in configs.
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    /// Share of global demand (sums to 1 over regions).
    pub demand_weight: f64,
    /// Offset of the users' local time from UTC, in hours.
    pub utc_offset_h: f64,
    /// The country the region stands in (for a synthetic region, that of the Azure region it
    /// was scattered around): what data-residency rules refer to.
    pub country: String,
}

/// Regions plus the round-trip time between every pair (ms, row = from, column = to).
#[derive(Debug, Clone, PartialEq)]
pub struct Geography {
    pub regions: Vec<Region>,
    rtt_ms: Vec<f64>,
}

/// Where a scenario's regions come from: the Azure table or a seeded synthetic planet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorldKind {
    Azure,
    Synthetic,
}

/// Which population-weighted UTC offset of the Azure region table to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Season {
    Jan,
    Jul,
}

impl Geography {
    pub fn rtt_ms(&self, from: usize, to: usize) -> f64 {
        self.rtt_ms[from * self.regions.len() + to]
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.regions.iter().position(|r| r.name == name)
    }

    /// The 54 Azure regions with Microsoft's published P95 inter-region RTT. The table has no
    /// diagonal: `intra_region_rtt_ms` stands for a user reaching the datacenter of its own region.
    pub fn azure(season: Season, intra_region_rtt_ms: f64) -> Result<Self, EnvError> {
        let regions = parse_regions(AZURE_REGIONS_CSV, season)?;
        let rtt_ms = parse_rtt_matrix(AZURE_RTT_MATRIX_CSV, &regions, intra_region_rtt_ms)?;
        Ok(Self { regions, rtt_ms })
    }

    /// The Azure regions (`season` applies), or a synthetic planet of `(regions, seed)`.
    pub fn of_kind(
        kind: WorldKind,
        season: Season,
        intra_region_rtt_ms: f64,
        (regions, seed): (usize, u64),
    ) -> Result<Self, EnvError> {
        match kind {
            WorldKind::Azure => Self::azure(season, intra_region_rtt_ms),
            WorldKind::Synthetic => Self::synthetic(regions, seed, intra_region_rtt_ms),
        }
    }

    /// A seeded synthetic planet: `n` regions scattered around the real Azure regions (so they
    /// sit where people live), log-normal demand weights, UTC offset from longitude, and RTT
    /// from great-circle distance over fibre (200 km/ms, 1.6x route inflation) plus a base.
    pub fn synthetic(n: usize, seed: u64, intra_region_rtt_ms: f64) -> Result<Self, EnvError> {
        if n < 2 {
            return Err(EnvError::config(format!(
                "world.synthetic.regions = {n}: need at least 2"
            )));
        }
        let anchors = parse_regions(AZURE_REGIONS_CSV, Season::Jan)?;
        let mut rng = Rng::new(seed);
        let mut regions: Vec<Region> = (0..n)
            .map(|i| {
                let a = &anchors[rng.below(anchors.len())];
                let lat = (a.lat + 6.0 * rng.normal()).clamp(-80.0, 80.0);
                let lon = wrap_longitude(a.lon + 8.0 * rng.normal());
                Region {
                    name: format!("r{i:04}"),
                    lat,
                    lon,
                    demand_weight: (1.2 * rng.normal()).exp(),
                    utc_offset_h: (lon / 15.0).round(),
                    country: a.country.clone(),
                }
            })
            .collect();
        let total: f64 = regions.iter().map(|r| r.demand_weight).sum();
        regions.iter_mut().for_each(|r| r.demand_weight /= total);
        let mut rtt_ms = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                rtt_ms[i * n + j] = if i == j {
                    intra_region_rtt_ms
                } else {
                    let km = great_circle_km(
                        regions[i].lat,
                        regions[i].lon,
                        regions[j].lat,
                        regions[j].lon,
                    );
                    intra_region_rtt_ms + 2.0 * km * 1.6 / 200.0
                };
            }
        }
        Ok(Self { regions, rtt_ms })
    }
}

fn wrap_longitude(lon: f64) -> f64 {
    (lon + 540.0).rem_euclid(360.0) - 180.0
}

/// Great-circle distance in km (haversine, mean Earth radius).
pub fn great_circle_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * a.sqrt().min(1.0).asin()
}

fn parse_regions(text: &str, season: Season) -> Result<Vec<Region>, EnvError> {
    const SOURCE: &str = "azure_regions.csv";
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| EnvError::data(SOURCE, e.to_string()))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| EnvError::data(SOURCE, format!("missing column `{name}`")))
    };
    let offset_column = match season {
        Season::Jan => "pop_weighted_utc_offset_jan_h",
        Season::Jul => "pop_weighted_utc_offset_jul_h",
    };
    let cols = [
        column("arm_name")?,
        column("lat")?,
        column("lon")?,
        column("demand_weight_nearest_pop")?,
        column(offset_column)?,
        column("country")?,
    ];
    let mut regions = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| EnvError::data(SOURCE, format!("line {line}: {e}")))?;
        let field = |c: usize| record.get(c).unwrap_or("");
        let number = |c: usize| {
            field(c).parse::<f64>().map_err(|_| {
                EnvError::data(
                    SOURCE,
                    format!(
                        "line {line}: column {}: `{}` is not a number",
                        headers.get(c).unwrap_or("?"),
                        field(c)
                    ),
                )
            })
        };
        regions.push(Region {
            name: field(cols[0]).to_string(),
            lat: number(cols[1])?,
            lon: number(cols[2])?,
            demand_weight: number(cols[3])?,
            utc_offset_h: number(cols[4])?,
            country: field(cols[5]).to_string(),
        });
    }
    let total: f64 = regions.iter().map(|r| r.demand_weight).sum();
    if total.is_nan() || total <= 0.0 {
        return Err(EnvError::data(SOURCE, "demand weights sum to zero"));
    }
    regions.iter_mut().for_each(|r| r.demand_weight /= total);
    Ok(regions)
}

/// Parses the region x region matrix (header and first column hold display names) into the
/// order of `regions`, which are matched through their display names in the region table.
fn parse_rtt_matrix(text: &str, regions: &[Region], intra_ms: f64) -> Result<Vec<f64>, EnvError> {
    const SOURCE: &str = "azure_interregion_rtt_p95_ms_matrix.csv";
    // Display name -> arm name, from the region table.
    let mut display_to_arm = HashMap::new();
    let mut table = csv::Reader::from_reader(AZURE_REGIONS_CSV.as_bytes());
    for record in table.records() {
        let record = record.map_err(|e| EnvError::data("azure_regions.csv", e.to_string()))?;
        display_to_arm.insert(
            record.get(0).unwrap_or("").to_string(),
            record.get(1).unwrap_or("").to_string(),
        );
    }
    let index: HashMap<&str, usize> = regions
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.as_str(), i))
        .collect();
    let lookup = |display: &str, where_: &str| {
        display_to_arm
            .get(display)
            .and_then(|arm| index.get(arm.as_str()).copied())
            .ok_or_else(|| EnvError::data(SOURCE, format!("{where_}: unknown region `{display}`")))
    };
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| EnvError::data(SOURCE, e.to_string()))?
        .clone();
    let columns: Vec<usize> = headers
        .iter()
        .skip(1)
        .map(|h| lookup(h, "header"))
        .collect::<Result<_, _>>()?;
    let n = regions.len();
    let mut rtt = vec![f64::NAN; n * n];
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| EnvError::data(SOURCE, format!("line {line}: {e}")))?;
        let from = lookup(record.get(0).unwrap_or(""), &format!("line {line}"))?;
        for (k, &to) in columns.iter().enumerate() {
            let cell = record.get(k + 1).unwrap_or("");
            rtt[from * n + to] = if from == to {
                intra_ms
            } else {
                cell.parse::<f64>().map_err(|_| {
                    EnvError::data(
                        SOURCE,
                        format!("line {line}, column {}: `{cell}` is not a latency", k + 2),
                    )
                })?
            };
        }
    }
    if let Some(missing) = rtt.iter().position(|v| v.is_nan()) {
        return Err(EnvError::data(
            SOURCE,
            format!(
                "no latency from `{}` to `{}`",
                regions[missing / n].name,
                regions[missing % n].name
            ),
        ));
    }
    Ok(rtt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_population_cell_loads() {
        let cells = population_cells();
        assert_eq!(cells.len(), WORLD_POPULATION_CELLS_CSV.lines().count() - 1);
        assert!(cells.len() > 2000);
        assert!(cells.iter().all(|&(lat, lon, people)| {
            lat.abs() <= 90.0 && lon.abs() <= 180.0 && people >= 0.0
        }));
    }

    #[test]
    fn azure_table_is_complete_and_plausible() {
        let g = Geography::azure(Season::Jan, 2.0).unwrap();
        assert_eq!(g.regions.len(), 54);
        let sum: f64 = g.regions.iter().map(|r| r.demand_weight).sum();
        assert!((sum - 1.0).abs() < 1e-9);
        let (east, west, tokyo) = (
            g.index_of("eastus").unwrap(),
            g.index_of("westus2").unwrap(),
            g.index_of("japaneast").unwrap(),
        );
        assert_eq!(g.rtt_ms(east, east), 2.0);
        assert!(
            (50.0..90.0).contains(&g.rtt_ms(east, west)),
            "{}",
            g.rtt_ms(east, west)
        );
        assert!(g.rtt_ms(east, tokyo) > 120.0);
        let tokyo_offset = g.regions[tokyo].utc_offset_h;
        assert!((tokyo_offset - 9.0).abs() < 0.1, "{tokyo_offset}");
    }

    #[test]
    fn synthetic_planet_is_seeded() {
        let a = Geography::synthetic(50, 3, 2.0).unwrap();
        assert_eq!(a, Geography::synthetic(50, 3, 2.0).unwrap());
        assert_ne!(a, Geography::synthetic(50, 4, 2.0).unwrap());
        assert!(a.rtt_ms(0, 1) > 2.0 && a.rtt_ms(0, 1) < 700.0);
        assert!(Geography::synthetic(1, 3, 2.0).is_err());
    }

    #[test]
    fn great_circle_new_york_london() {
        let km = great_circle_km(40.71, -74.01, 51.51, -0.13);
        assert!((km - 5570.0).abs() < 30.0, "{km}");
    }
}
