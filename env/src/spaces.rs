//! Action spaces and the actions that live in them.
//!
//! A space checks an action and says precisely what is wrong with it; nothing is clipped.

use crate::error::ActionError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Tolerance on the row sums of a `Simplex` action. Rows within it are rescaled to sum to 1
/// exactly (float32 softmax outputs are never exact); rows outside it are rejected.
pub const SIMPLEX_TOLERANCE: f64 = 1e-3;

/// An action. `Continuous` holds `Box` and `Simplex` actions, flattened row-major.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Discrete(usize),
    MultiDiscrete(Vec<usize>),
    Continuous(Vec<f32>),
}

impl Action {
    fn kind(&self) -> &'static str {
        match self {
            Action::Discrete(_) => "discrete",
            Action::MultiDiscrete(_) => "multi-discrete",
            Action::Continuous(_) => "continuous",
        }
    }
}

/// The set of legal actions of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Space {
    /// One of `n` choices; the scenario publishes a mask of the legal ones.
    Discrete { n: usize },
    /// One choice per dimension, dimension `i` having `nvec[i]` options.
    MultiDiscrete { nvec: Vec<usize> },
    /// A real vector with per-element bounds (inclusive).
    Box { low: Vec<f32>, high: Vec<f32> },
    /// `rows` probability vectors of length `cols` (e.g. the split of each region's traffic
    /// over sites): non-negative, each row summing to 1.
    Simplex { rows: usize, cols: usize },
}

impl fmt::Display for Space {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Space::Discrete { n } => write!(f, "Discrete({n})"),
            Space::MultiDiscrete { nvec } => write!(f, "MultiDiscrete({nvec:?})"),
            Space::Box { low, .. } => write!(f, "Box({})", low.len()),
            Space::Simplex { rows, cols } => write!(f, "Simplex({rows}, {cols})"),
        }
    }
}

impl Space {
    /// Number of scalars in a flattened action (1 for `Discrete`).
    pub fn flat_len(&self) -> usize {
        match self {
            Space::Discrete { .. } => 1,
            Space::MultiDiscrete { nvec } => nvec.len(),
            Space::Box { low, .. } => low.len(),
            Space::Simplex { rows, cols } => rows * cols,
        }
    }

    /// Length of a legal-action mask: one flag per `Discrete` choice, the `MultiDiscrete`
    /// options one dimension after the other; 0 for continuous spaces, which have none.
    pub fn mask_len(&self) -> usize {
        match self {
            Space::Discrete { n } => *n,
            Space::MultiDiscrete { nvec } => nvec.iter().sum(),
            Space::Box { .. } | Space::Simplex { .. } => 0,
        }
    }

    /// Checks `action` against the space and, for `Discrete`, against `mask` (true = legal).
    /// `row_label` names simplex rows in messages (e.g. the region of a routing row).
    pub fn check(
        &self,
        action: &Action,
        mask: Option<&[bool]>,
        row_label: &dyn Fn(usize) -> String,
    ) -> Result<(), ActionError> {
        let wrong_kind = |expected| ActionError::WrongKind {
            space: self.to_string(),
            expected,
            got: action.kind(),
        };
        match (self, action) {
            (Space::Discrete { n }, Action::Discrete(a)) => {
                if a >= n {
                    return Err(ActionError::OutOfRange {
                        index: 0,
                        value: a.to_string(),
                        allowed: format!("0 to {} (inclusive)", n.saturating_sub(1)),
                    });
                }
                if mask.is_some_and(|m| !m.get(*a).copied().unwrap_or(false)) {
                    return Err(ActionError::Masked { action: *a });
                }
                Ok(())
            }
            (Space::Discrete { .. }, _) => Err(wrong_kind("discrete")),
            (Space::MultiDiscrete { nvec }, Action::MultiDiscrete(values)) => {
                self.check_len(values.len())?;
                // The mask, if any, lists each dimension's options one after the other.
                let mut offset = 0;
                for (index, (&v, &n)) in values.iter().zip(nvec).enumerate() {
                    if v >= n {
                        return Err(ActionError::OutOfRange {
                            index,
                            value: v.to_string(),
                            allowed: format!("0 to {} (inclusive)", n.saturating_sub(1)),
                        });
                    }
                    if mask.is_some_and(|m| !m.get(offset + v).copied().unwrap_or(false)) {
                        return Err(ActionError::MaskedDimension { index, action: v });
                    }
                    offset += n;
                }
                Ok(())
            }
            (Space::MultiDiscrete { .. }, _) => Err(wrong_kind("multi-discrete")),
            (Space::Box { low, high }, Action::Continuous(values)) => {
                self.check_len(values.len())?;
                for (index, ((&v, &lo), &hi)) in values.iter().zip(low).zip(high).enumerate() {
                    check_finite(index, v)?;
                    if v < lo || v > hi {
                        return Err(ActionError::OutOfRange {
                            index,
                            value: v.to_string(),
                            allowed: format!("[{lo}, {hi}] (inclusive)"),
                        });
                    }
                }
                Ok(())
            }
            (Space::Simplex { cols, .. }, Action::Continuous(values)) => {
                self.check_len(values.len())?;
                for (row, chunk) in values.chunks(*cols).enumerate() {
                    // One pass without early exits for the common valid row; a second finds and
                    // names the first bad share of a row that has one.
                    if !chunk
                        .iter()
                        .fold(true, |ok, v| ok & (0.0..=f32::MAX).contains(v))
                    {
                        for (j, &v) in chunk.iter().enumerate() {
                            let index = row * cols + j;
                            check_finite(index, v)?;
                            if v < 0.0 {
                                return Err(ActionError::OutOfRange {
                                    index,
                                    value: v.to_string(),
                                    allowed: "[0, 1] (a share of the row)".into(),
                                });
                            }
                        }
                    }
                    let sum: f64 = chunk.iter().map(|&v| f64::from(v)).sum();
                    if (sum - 1.0).abs() > SIMPLEX_TOLERANCE {
                        return Err(ActionError::RowSum {
                            row,
                            label: row_label(row),
                            sum,
                            tolerance: SIMPLEX_TOLERANCE,
                        });
                    }
                }
                Ok(())
            }
            (Space::Box { .. } | Space::Simplex { .. }, _) => Err(wrong_kind("continuous")),
        }
    }

    fn check_len(&self, got: usize) -> Result<(), ActionError> {
        let expected = self.flat_len();
        if got == expected {
            Ok(())
        } else {
            Err(ActionError::WrongLength {
                space: self.to_string(),
                expected,
                got,
            })
        }
    }
}

fn check_finite(index: usize, value: f32) -> Result<(), ActionError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(ActionError::NotFinite { index, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_label(_: usize) -> String {
        String::new()
    }

    fn check(space: &Space, action: Action, mask: Option<&[bool]>) -> Result<(), ActionError> {
        space.check(&action, mask, &no_label)
    }

    #[test]
    fn discrete_checks_range_mask_and_kind() {
        let space = Space::Discrete { n: 3 };
        assert!(check(&space, Action::Discrete(2), None).is_ok());
        let err = check(&space, Action::Discrete(3), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "action value 3 at index 0 is out of range: allowed 0 to 2 (inclusive)"
        );
        let err = check(&space, Action::Discrete(1), Some(&[true, false, true])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "action 1 is masked out (illegal in this state)"
        );
        let err = check(&space, Action::Continuous(vec![1.0]), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected a discrete action for space Discrete(3), got a continuous action"
        );
    }

    #[test]
    fn multi_discrete_checks_each_dimension() {
        let space = Space::MultiDiscrete { nvec: vec![2, 5] };
        assert_eq!(space.mask_len(), 7);
        assert_eq!(Space::Simplex { rows: 2, cols: 3 }.mask_len(), 0);
        assert!(check(&space, Action::MultiDiscrete(vec![1, 4]), None).is_ok());
        let err = check(&space, Action::MultiDiscrete(vec![1, 5]), None).unwrap_err();
        assert!(err.to_string().contains("index 1"), "{err}");
        let mask = [true, true, true, false, true, true, true];
        let err = check(&space, Action::MultiDiscrete(vec![1, 1]), Some(&mask)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "action 1 of dimension 1 is masked out (illegal in this state)"
        );
        assert!(check(&space, Action::MultiDiscrete(vec![1, 2]), Some(&mask)).is_ok());
        let err = check(&space, Action::MultiDiscrete(vec![1]), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "action has 1 values, space MultiDiscrete([2, 5]) needs 2"
        );
    }

    #[test]
    fn box_rejects_nan_and_out_of_bounds() {
        let space = Space::Box {
            low: vec![-1.0, 0.0],
            high: vec![1.0, 10.0],
        };
        assert!(check(&space, Action::Continuous(vec![0.5, 10.0]), None).is_ok());
        let err = check(&space, Action::Continuous(vec![f32::NAN, 1.0]), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "action value at index 0 is not finite (NaN)"
        );
        let err = check(&space, Action::Continuous(vec![0.0, 11.0]), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "action value 11 at index 1 is out of range: allowed [0, 10] (inclusive)"
        );
    }

    #[test]
    fn simplex_checks_rows() {
        let space = Space::Simplex { rows: 2, cols: 3 };
        let ok = vec![0.2, 0.3, 0.5, 1.0, 0.0, 0.0];
        assert!(check(&space, Action::Continuous(ok), None).is_ok());
        let bad_sum = vec![0.2, 0.3, 0.5, 0.5, 0.0, 0.0];
        let err = space
            .check(&Action::Continuous(bad_sum), None, &|r| {
                format!(" (region r{r})")
            })
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 1 (region r1) sums to 0.500000, but each row of a simplex must sum to 1 (tolerance 0.001)"
        );
        let negative = vec![1.2, -0.2, 0.0, 1.0, 0.0, 0.0];
        assert!(
            check(&space, Action::Continuous(negative), None)
                .unwrap_err()
                .to_string()
                .contains("index 1")
        );
        let inf = vec![f32::INFINITY, 0.0, 0.0, 1.0, 0.0, 0.0];
        assert!(matches!(
            check(&space, Action::Continuous(inf), None),
            Err(ActionError::NotFinite { index: 0, .. })
        ));
        let nan = vec![1.0, 0.0, 0.0, 0.5, f32::NAN, 0.5];
        assert!(matches!(
            check(&space, Action::Continuous(nan), None),
            Err(ActionError::NotFinite { index: 4, .. })
        ));
        let short = vec![1.0, 0.0, 0.0];
        assert!(matches!(
            check(&space, Action::Continuous(short), None),
            Err(ActionError::WrongLength { .. })
        ));
    }
}
