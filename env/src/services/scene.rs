//! The placement on a world map: users sized by demand, regions sized by the replicas they
//! hold and coloured by utilisation.

use super::ServicesScenario;
use crate::Scene;
use crate::scene::{Panel, Place, PlaceKind, WorldMap};

pub fn scene(env: &ServicesScenario) -> Scene {
    let w = &env.world;
    let mut held = vec![0usize; w.regions()];
    for &r in env.placement.iter().flatten() {
        held[r] += 1;
    }
    let most_held = held.iter().copied().max().unwrap_or(0).max(1) as f64;
    let most_demand = env
        .demand_rps
        .iter()
        .copied()
        .fold(0.0, f64::max)
        .max(1e-12);
    let busy = env.served.as_ref().map(|s| &s.busy_cores);
    let mut places = Vec::with_capacity(2 * w.regions());
    for (r, region) in w.geo.regions.iter().enumerate() {
        let load = match busy {
            Some(b) if env.cores[r] > 0.0 => b[r] / env.cores[r],
            _ => 0.0,
        };
        places.push(Place {
            name: region.name.clone(),
            lat: region.lat,
            lon: region.lon,
            kind: PlaceKind::Users,
            size: env.demand_rps[r] / most_demand,
            load: 0.0,
            failed: false,
        });
        if held[r] > 0 {
            places.push(Place {
                name: format!("{} ({} replicas)", region.name, held[r]),
                lat: region.lat,
                lon: region.lon,
                kind: PlaceKind::Site,
                size: held[r] as f64 / most_held,
                load,
                failed: false,
            });
        }
    }
    let placed = env.position.unwrap_or(0).min(w.order.len());
    Scene {
        title: format!(
            "services: {placed} of {} services placed, {} replicas",
            w.order.len(),
            held.iter().sum::<usize>()
        ),
        panels: vec![Panel::Map(WorldMap {
            title: "replicas by region (size), utilisation (colour); users by demand".into(),
            places,
            flows: Vec::new(),
        })],
    }
}
