//! The overflow guard (`[guard] max_utilisation`): a global load balancer's per-site rate
//! limit with overflow to the next nearest site, applied to every split before it is served.
//! It sees what the policy saw (the observed interval's demand, health and RTT), not the
//! interval the split will meet, so a guarded policy has no information an unguarded one lacks.

/// Rewrites `split` (`[regions, sites]`, rows summing to 1) so that, on `demand` (per region),
/// no site carries more than `max_utilisation` x its `available` capacity: each site above the
/// mark keeps that much, scaling every region's share of it alike, and each region's excess
/// goes to its sites in order of `rtt_ms` while they have room below the mark (regions with
/// the most demand first). What no site can take is spread in proportion to available
/// capacity. Rows with no demand are left alone; every row still sums to 1.
pub(super) fn guard(
    split: &mut [f64],
    demand: &[f64],
    available: &[f64],
    rtt_ms: &[f64],
    max_utilisation: f64,
) {
    let sites = available.len();
    let mut room: Vec<f64> = available.iter().map(|a| max_utilisation * a).collect();
    for (row, &d) in split.chunks_exact(sites).zip(demand) {
        room.iter_mut()
            .zip(row)
            .for_each(|(room, x)| *room -= d * x);
    }
    let mut excess = vec![0.0; demand.len()];
    for s in 0..sites {
        if room[s] >= 0.0 {
            continue;
        }
        let load = max_utilisation * available[s] - room[s];
        let keep = max_utilisation * available[s] / load;
        let rows = split.chunks_exact_mut(sites).zip(demand).zip(&mut excess);
        for ((row, &d), excess) in rows.filter(|((_, d), _)| **d > 0.0) {
            *excess += d * row[s] * (1.0 - keep);
            row[s] *= keep;
        }
        room[s] = 0.0;
    }
    let mut order: Vec<usize> = (0..demand.len()).filter(|&r| excess[r] > 0.0).collect();
    if order.is_empty() {
        return;
    }
    order.sort_by(|&a, &b| demand[b].total_cmp(&demand[a]).then(a.cmp(&b)));
    let total_available: f64 = available.iter().sum();
    for r in order {
        let row = &mut split[r * sites..(r + 1) * sites];
        let rtt = &rtt_ms[r * sites..(r + 1) * sites];
        let mut by_rtt: Vec<usize> = (0..sites).collect();
        by_rtt.sort_by(|&a, &b| rtt[a].total_cmp(&rtt[b]).then(a.cmp(&b)));
        let mut left = excess[r];
        for s in by_rtt {
            let take = left.min(room[s].max(0.0));
            row[s] += take / demand[r];
            room[s] -= take;
            left -= take;
        }
        if left > 0.0 {
            for (s, x) in row.iter_mut().enumerate() {
                let share = if total_available > 0.0 {
                    available[s] / total_available
                } else {
                    1.0 / sites as f64
                };
                *x += left / demand[r] * share;
            }
        }
    }
}

/// The load `split` (`[regions, sites]`) puts on each site under `demand` (per region).
pub(super) fn site_loads(split: &[f64], demand: &[f64], sites: usize) -> Vec<f64> {
    let mut load = vec![0.0; sites];
    for (row, &d) in split.chunks_exact(sites).zip(demand) {
        load.iter_mut().zip(row).for_each(|(l, x)| *l += d * x);
    }
    load
}

#[cfg(test)]
mod tests {
    use super::{guard, site_loads as loads};

    #[test]
    fn a_split_within_the_mark_is_left_alone() {
        let mut split = vec![0.5, 0.5, 0.0, 1.0];
        guard(
            &mut split,
            &[10.0, 10.0],
            &[20.0, 20.0],
            &[1.0, 2.0, 2.0, 1.0],
            0.9,
        );
        assert_eq!(split, vec![0.5, 0.5, 0.0, 1.0]);
    }

    #[test]
    fn excess_moves_to_the_nearest_site_with_room_and_rows_keep_summing_to_one() {
        // Three sites; both regions send everything to site 0 (capacity 10, mark 9): 20 over
        // 9. Each keeps 9/20 of its share there (excess 6.6 and 4.4); region 0 (more demand)
        // goes first, to site 2, its next nearest; region 1 fills site 1 (its next nearest,
        // room 3.6), then site 2.
        let demand = [12.0, 8.0];
        let available = [10.0, 4.0, 10.0];
        let rtt = [1.0, 9.0, 2.0, 1.0, 2.0, 3.0];
        let mut split = vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        guard(&mut split, &demand, &available, &rtt, 0.9);
        for row in split.chunks_exact(3) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{split:?}");
        }
        let load = loads(&split, &demand, 3);
        let want = [9.0, 3.6, 7.4];
        for (l, w) in load.iter().zip(want) {
            assert!((l - w).abs() < 1e-9, "{load:?}");
        }
        assert!((split[2] * 12.0 - 6.6).abs() < 1e-9, "{split:?}");
    }

    #[test]
    fn what_no_site_can_take_is_spread_by_capacity_and_idle_regions_are_untouched() {
        // 30 requests/s for 20 of capacity at mark 1: sites full, 10 spread 1:3.
        let demand = [30.0, 0.0];
        let available = [5.0, 15.0];
        let mut split = vec![1.0, 0.0, 1.0, 0.0];
        guard(&mut split, &demand, &available, &[1.0, 2.0, 1.0, 2.0], 1.0);
        let load = loads(&split, &demand, 2);
        assert!(
            (load[0] - 7.5).abs() < 1e-9 && (load[1] - 22.5).abs() < 1e-9,
            "{load:?}"
        );
        assert_eq!(&split[2..], &[1.0, 0.0]);
    }

    #[test]
    fn a_failed_site_sheds_everything() {
        let demand = [10.0];
        let mut split = vec![0.5, 0.5];
        guard(&mut split, &demand, &[0.0, 20.0], &[1.0, 2.0], 0.9);
        assert_eq!(split, vec![0.0, 1.0]);
    }
}
