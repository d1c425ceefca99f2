//! Statistics for results tables: means with t intervals, paired comparisons on identical
//! episodes ([`paired`]), rliable's aggregates over training runs ([`aggregate`]), and the
//! seeded bootstrap behind both ([`bootstrap`]).

pub mod aggregate;
pub mod bootstrap;
pub mod paired;

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
    (mean, student_t_975(n - 1) * (var / n as f64).sqrt())
}

/// Two-sided 95 % quantile of Student's t with `df` degrees of freedom.
fn student_t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => TABLE[df - 1],
        31..=60 => 2.042 - (df - 30) as f64 * (2.042 - 2.000) / 30.0,
        61..=120 => 2.000 - (df - 60) as f64 * (2.000 - 1.980) / 60.0,
        _ => 1.960,
    }
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
