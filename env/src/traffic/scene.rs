//! The last interval as a picture: the split as a region x site heat-map, and a world map of
//! the requests flowing from user regions to sites, sites coloured by utilisation and crossed
//! when they have lost capacity.

use super::TrafficScenario;
use crate::Scene;
use crate::scene::{Flow, Heatmap, Panel, Place, PlaceKind, WorldMap};

/// Flows under this share of the largest are left off the map.
const SMALLEST_FLOW: f64 = 0.01;

pub fn scene(env: &TrafficScenario, interval: u64) -> Scene {
    let regions = &env.geo.regions;
    let sites = env.sites.len();
    let site_names: Vec<String> = env
        .sites
        .iter()
        .map(|site| regions[site.region].name.clone())
        .collect();
    let demand = &env.current.demand_rps;
    let heatmap = Heatmap {
        title: "split of each region's requests".into(),
        row_label: "user region".into(),
        column_label: "site".into(),
        rows: regions.iter().map(|r| r.name.clone()).collect(),
        columns: site_names,
        values: env.split.clone(),
        range: (0.0, 1.0),
        value_label: "share of the region's requests".into(),
    };
    let largest = |values: &mut dyn Iterator<Item = f64>| values.fold(0.0f64, f64::max);
    let most_demand = largest(&mut demand.iter().copied());
    let most_capacity = largest(&mut env.capacity_rps.iter().copied());
    let share = |v: f64, of: f64| if of > 0.0 { v / of } else { 0.0 };
    let users = regions.iter().zip(demand).map(|(r, &d)| Place {
        name: r.name.clone(),
        lat: r.lat,
        lon: r.lon,
        kind: PlaceKind::Users,
        size: share(d, most_demand),
        load: 0.0,
        failed: false,
    });
    let datacenters = env.sites.iter().enumerate().map(|(k, site)| Place {
        name: regions[site.region].name.clone(),
        lat: regions[site.region].lat,
        lon: regions[site.region].lon,
        kind: PlaceKind::Site,
        size: share(env.capacity_rps[k], most_capacity),
        load: env.utilisation.get(k).copied().unwrap_or(0.0),
        failed: env.current.health.get(k).is_some_and(|&h| h < 1.0),
    });
    let places: Vec<Place> = users.chain(datacenters).collect();
    let amounts: Vec<f64> = env
        .split
        .chunks(sites)
        .zip(demand)
        .flat_map(|(row, &d)| row.iter().map(move |&f| f * d))
        .collect();
    let most_flow = largest(&mut amounts.iter().copied());
    let flows = amounts
        .iter()
        .enumerate()
        .map(|(i, &a)| Flow {
            from: i / sites,
            to: regions.len() + i % sites,
            share: share(a, most_flow),
        })
        .filter(|f| f.share >= SMALLEST_FLOW)
        .collect();
    let map = WorldMap {
        title: "requests from user regions (dots) to sites (squares, colour = utilisation)".into(),
        places,
        flows,
    };
    Scene {
        title: format!(
            "traffic: interval {interval} of {}, {:.0} requests/s; crossed sites have lost capacity",
            env.config.episode_intervals,
            demand.iter().sum::<f64>()
        ),
        panels: vec![Panel::Heatmap(heatmap), Panel::Map(map)],
    }
}
