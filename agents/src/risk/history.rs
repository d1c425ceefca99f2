//! What was known at a time: counts of past events, from sorted event times, so that every
//! feature of a prediction at time t uses only events before t.

/// Event times with a weight each, sorted, with prefix sums of the weights.
#[derive(Debug, Clone)]
pub struct Timeline {
    times: Vec<f64>,
    prefix: Vec<f64>,
}

impl Timeline {
    /// From (time, weight) events in any order.
    pub fn new(mut events: Vec<(f64, f64)>) -> Self {
        events.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut prefix = Vec::with_capacity(events.len() + 1);
        prefix.push(0.0);
        let mut sum = 0.0;
        for &(_, w) in &events {
            sum += w;
            prefix.push(sum);
        }
        Self {
            times: events.into_iter().map(|e| e.0).collect(),
            prefix,
        }
    }

    /// Total weight of the events strictly before `t`.
    pub fn before(&self, t: f64) -> f64 {
        self.prefix[self.times.partition_point(|&x| x < t)]
    }

    /// Total weight of the events at or before `t`.
    pub fn until(&self, t: f64) -> f64 {
        self.prefix[self.times.partition_point(|&x| x <= t)]
    }

    /// Total weight of the events in `[t - window, t)`.
    pub fn within(&self, t: f64, window: f64) -> f64 {
        self.before(t) - self.before(t - window)
    }
}

/// An hour, in the seconds every task's times use.
pub const HOUR_S: f64 = 3600.0;

/// The share of the `trials` events before `t` that are `hits` (0 before any): the prior of
/// a [`smoothed_rate`], known at `t`.
pub fn rate_before(hits: &Timeline, trials: &Timeline, t: f64) -> f64 {
    let n = trials.before(t);
    if n > 0.0 { hits.before(t) / n } else { 0.0 }
}

/// A share with a prior: (hits + prior * strength) / (trials + strength), so that a group with
/// little history sits near the prior.
pub fn smoothed_rate(hits: f64, trials: f64, prior: f64, strength: f64) -> f64 {
    (hits + prior * strength) / (trials + strength)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_strictly_before_or_up_to_a_time() {
        let t = Timeline::new(vec![(5.0, 1.0), (1.0, 2.0), (5.0, 4.0), (9.0, 8.0)]);
        assert_eq!(t.before(5.0), 2.0);
        assert_eq!(t.until(5.0), 7.0);
        assert_eq!(t.within(9.5, 5.0), 13.0);
        assert_eq!(t.within(9.0, 5.0), 5.0);
        assert_eq!(Timeline::new(Vec::new()).before(1.0), 0.0);
        assert!((smoothed_rate(0.0, 0.0, 0.02, 10.0) - 0.02).abs() < 1e-12);
    }
}
