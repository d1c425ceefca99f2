//! Capacity against demand as the episode went, with the orders marked: one panel per site for a
//! few sites, their totals for more.

use super::CapacityScenario;
use crate::Scene;
use crate::scene::{Lines, Marker, Panel};

/// Up to this many sites get a panel each.
const PANELS: usize = 4;

pub fn scene(env: &CapacityScenario) -> Scene {
    let c = &env.config;
    let days = |t: usize| t as f64 * c.period_s / 86_400.0;
    let done = env.in_force.first().map_or(0, Vec::len);
    let history = c.history_periods;
    // Per panel: the sites it sums.
    let groups: Vec<(String, Vec<usize>)> = if c.sites <= PANELS {
        (0..c.sites)
            .map(|s| (format!("site {s}"), vec![s]))
            .collect()
    } else {
        vec![(format!("all {} sites", c.sites), (0..c.sites).collect())]
    };
    let panels = groups
        .into_iter()
        .map(|(title, sites)| {
            // Over the panel's sites, per period: `value(site, period)`.
            let total = |value: &dyn Fn(usize, usize) -> f64| -> Vec<(f64, f64)> {
                (0..done)
                    .map(|t| (days(t), sites.iter().map(|&s| value(s, t)).sum()))
                    .collect()
            };
            let demand = total(&|s, t| env.demand[s][history + t]);
            let capacity = total(&|s, t| env.in_force[s][t] as f64);
            let markers = (0..done)
                .filter_map(|t| {
                    let change: i64 = sites.iter().map(|&s| env.ordered[s][t]).sum();
                    (change != 0).then(|| Marker {
                        series: 1,
                        x: days(t),
                        y: capacity[t].1,
                        up: change > 0,
                    })
                })
                .collect();
            Panel::Lines(Lines {
                title,
                x_label: "days into the episode".into(),
                y_label: "units".into(),
                series: vec![("demand".into(), demand), ("capacity".into(), capacity)],
                markers,
            })
        })
        .collect();
    Scene {
        title: format!(
            "capacity: {} of {} periods, orders marked (up: add, down: remove)",
            done, c.episode_periods
        ),
        panels,
    }
}
