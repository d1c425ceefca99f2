//! Statistics for results tables: means with t intervals, paired comparisons on identical
//! episodes ([`paired`]), rliable's aggregates over training runs ([`aggregate`]), and the
//! seeded bootstrap behind both ([`bootstrap`]); Student's t ([`student_t`]) for tests over a
//! few training runs.

pub mod aggregate;
pub mod bootstrap;
pub mod paired;
mod student_t;

/// Mean and half-width of the 95 % Student-t confidence interval of the mean (0 for n < 2).
pub fn mean_ci95(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, 0.0);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (
        mean,
        student_t::quantile_975(n - 1) * (var / n as f64).sqrt(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_interval() {
        let (m, h) = mean_ci95(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(m, 3.0);
        // sd = 1.5811, se = 0.7071, t(4) = 2.776
        assert!((h - 2.776 * std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert_eq!(mean_ci95(&[7.0]), (7.0, 0.0));
    }
}
