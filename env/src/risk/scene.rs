//! The episode's costs so far, hour by hour, and the fleet now: one row per host (up to 64),
//! its telemetry, risk score and VMs as a heatmap; hosts in repair are blank.

use super::RiskScenario;
use super::fleet::{Fleet, SIGNALS};
use crate::Scene;
use crate::scene::{Heatmap, Lines, Panel};

const ROWS: usize = 64;

pub fn scene(env: &RiskScenario, fleet: &Fleet) -> Scene {
    let mut columns: Vec<String> = SIGNALS.iter().map(|s| (*s).to_string()).collect();
    columns.push("risk x 4".into());
    columns.push("VMs / capacity x 4".into());
    let capacity = f64::from(env.config.vms.capacity);
    let shown = &fleet.hosts[..fleet.hosts.len().min(ROWS)];
    let mut values = Vec::with_capacity(shown.len() * columns.len());
    for host in shown {
        let features = host.features();
        if host.in_service() {
            values.extend_from_slice(&features[..SIGNALS.len()]);
            values.push(4.0 * env.risk(&features));
            values.push(4.0 * f64::from(host.vms) / capacity);
        } else {
            values.extend(std::iter::repeat_n(f64::NAN, columns.len()));
        }
    }
    let o = &fleet.outcome;
    Scene {
        title: format!(
            "risk: hour {} of {}, {} failures, {} averted, {} mitigations, {:.0} VM-minutes interrupted",
            fleet.hour,
            env.config.episode_hours,
            o.failures,
            o.averted,
            o.mitigations,
            o.interruption_vm_min
        ),
        panels: vec![
            Panel::Lines(Lines {
                title: "cost so far".into(),
                x_label: "hours into the episode".into(),
                y_label: "VM-minutes".into(),
                series: vec![
                    ("interruption".into(), fleet.history.series(0)),
                    ("mitigation cost".into(), fleet.history.series(1)),
                ],
                markers: Vec::new(),
            }),
            Panel::Heatmap(Heatmap {
                title: format!(
                    "hosts 0-{} (blank: in repair)",
                    shown.len().saturating_sub(1)
                ),
                row_label: "host".into(),
                column_label: "telemetry (sd), risk, VMs".into(),
                rows: (0..shown.len()).map(|h| h.to_string()).collect(),
                columns,
                values,
                range: (-1.0, 4.0),
                value_label: "value".into(),
            }),
        ],
    }
}
