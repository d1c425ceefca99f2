//! Timed disruptions of a set of targets (sites, links): each active disruption sets a value on
//! its target until it expires; the effective value of a target combines its active ones.

/// One active disruption.
#[derive(Debug, Clone, PartialEq)]
struct Active {
    target: usize,
    value: f64,
    /// First interval at which the disruption no longer applies.
    until: u64,
}

/// Active disruptions over `n` targets, combined by `combine` starting from `neutral`
/// (e.g. minimum capacity fraction from 1.0, maximum RTT factor from 1.0).
#[derive(Debug, Clone)]
pub struct Disruptions {
    neutral: f64,
    combine: fn(f64, f64) -> f64,
    active: Vec<Active>,
    effective: Vec<f64>,
}

impl Disruptions {
    pub fn new(n: usize, neutral: f64, combine: fn(f64, f64) -> f64) -> Self {
        Self {
            neutral,
            combine,
            active: Vec::new(),
            effective: vec![neutral; n],
        }
    }

    pub fn clear(&mut self) {
        self.active.clear();
        self.effective.fill(self.neutral);
    }

    /// Effective value of every target.
    pub fn effective(&self) -> &[f64] {
        &self.effective
    }

    pub fn is_disrupted(&self, target: usize) -> bool {
        self.active.iter().any(|a| a.target == target)
    }

    /// Adds a disruption of `target` lasting from now until interval `until` (exclusive).
    pub fn add(&mut self, target: usize, value: f64, until: u64) {
        self.active.push(Active {
            target,
            value,
            until,
        });
        self.effective[target] = (self.combine)(self.effective[target], value);
    }

    /// Drops the disruptions that end at or before `now`. Returns whether anything changed.
    /// Linear in the active disruptions, however many end at once.
    pub fn expire(&mut self, now: u64) -> bool {
        let before = self.active.len();
        let mut touched = Vec::new();
        self.active.retain(|a| {
            let keep = a.until > now;
            if !keep {
                touched.push(a.target);
            }
            keep
        });
        if touched.is_empty() {
            return false;
        }
        for &target in &touched {
            self.effective[target] = self.neutral;
        }
        touched.sort_unstable();
        for a in &self.active {
            if touched.binary_search(&a.target).is_ok() {
                self.effective[a.target] = (self.combine)(self.effective[a.target], a.value);
            }
        }
        self.active.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_disruptions_combine_and_expire() {
        let mut d = Disruptions::new(3, 1.0, f64::min);
        d.add(1, 0.5, 10);
        d.add(1, 0.0, 5);
        assert_eq!(d.effective(), &[1.0, 0.0, 1.0]);
        assert!(!d.expire(4));
        assert!(d.expire(5));
        assert_eq!(d.effective(), &[1.0, 0.5, 1.0]);
        assert!(d.is_disrupted(1));
        assert!(d.expire(10));
        assert_eq!(d.effective(), &[1.0, 1.0, 1.0]);
        assert!(!d.is_disrupted(1));
    }
}
