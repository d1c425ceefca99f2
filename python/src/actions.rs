//! Actions as Python hands them over: flat `float64` rows, one per env, in the gymnasium space
//! the package declares for each scenario space.
//!
//! `Discrete` and `MultiDiscrete` values must be whole numbers. `Box` values are taken as they
//! are. A `Simplex` (traffic splits) is declared to gymnasium as a `Box` of weights in [0, 1],
//! because gymnasium has no simplex space and every sample of a declared space must be a legal
//! action: each row is divided by its sum, and an all-zero row splits evenly. Exact splits pass
//! through unchanged.

use planetgym_env::{Action, Space};

/// What to do with an action the current mask forbids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Illegal {
    /// Refuse it (ValueError), like the Rust scenarios do.
    Raise,
    /// Take the first legal choice at or after it (cyclically), and report that it did.
    Remap,
}

impl Illegal {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "raise" => Ok(Self::Raise),
            "remap" => Ok(Self::Remap),
            other => Err(format!(
                "illegal_actions = {other:?}: allowed \"remap\" or \"raise\""
            )),
        }
    }
}

/// The scenario action for one flat row of values.
pub fn from_values(space: &Space, values: &[f64]) -> Result<Action, String> {
    if values.len() != space.flat_len() {
        return Err(format!(
            "action has {} values, space {space} needs {}",
            values.len(),
            space.flat_len()
        ));
    }
    match space {
        Space::Discrete { .. } => Ok(Action::Discrete(whole(0, values[0])?)),
        Space::MultiDiscrete { .. } => values
            .iter()
            .enumerate()
            .map(|(i, &v)| whole(i, v))
            .collect::<Result<_, _>>()
            .map(Action::MultiDiscrete),
        Space::Box { .. } => Ok(Action::Continuous(
            values.iter().map(|&v| v as f32).collect(),
        )),
        Space::Simplex { cols, .. } => {
            let mut split = Vec::with_capacity(values.len());
            for (row, chunk) in values.chunks(*cols).enumerate() {
                for (j, &v) in chunk.iter().enumerate() {
                    if !(0.0..=1.0).contains(&v) {
                        return Err(format!(
                            "action[{row}, {j}] = {v}: split weights must be in [0, 1]"
                        ));
                    }
                }
                let sum: f64 = chunk.iter().sum();
                if sum > 0.0 {
                    split.extend(chunk.iter().map(|v| (v / sum) as f32));
                } else {
                    split.extend(std::iter::repeat_n(1.0 / *cols as f32, *cols));
                }
            }
            Ok(Action::Continuous(split))
        }
    }
}

fn whole(index: usize, v: f64) -> Result<usize, String> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < usize::MAX as f64 {
        Ok(v as usize)
    } else {
        Err(format!(
            "action value {v} at index {index} must be a non-negative whole number"
        ))
    }
}

/// Replaces masked choices of `action` by the first legal one at or after them (cyclically);
/// returns whether anything changed. Choices with no legal alternative are left for the
/// scenario to refuse.
pub fn remap(action: &mut Action, space: &Space, mask: Option<&[bool]>) -> bool {
    let Some(mask) = mask else {
        return false;
    };
    let first_legal = |legal: &[bool], choice: usize| -> Option<usize> {
        let n = legal.len();
        (0..n)
            .map(|k| (choice + k) % n)
            .find(|&i| legal[i])
            .filter(|&i| i != choice)
    };
    match (action, space) {
        (Action::Discrete(a), Space::Discrete { n }) if *a < *n && mask.len() == *n => {
            first_legal(mask, *a).map(|i| *a = i).is_some()
        }
        (Action::MultiDiscrete(values), Space::MultiDiscrete { nvec })
            if mask.len() == nvec.iter().sum::<usize>() =>
        {
            let mut offset = 0;
            let mut changed = false;
            for (v, &n) in values.iter_mut().zip(nvec) {
                if *v < n
                    && let Some(i) = first_legal(&mask[offset..offset + n], *v)
                {
                    *v = i;
                    changed = true;
                }
                offset += n;
            }
            changed
        }
        _ => false,
    }
}

/// An action as flat `float64` values (the inverse of `from_values` for exact splits).
pub fn to_values(action: &Action) -> Vec<f64> {
    match action {
        Action::Discrete(a) => vec![*a as f64],
        Action::MultiDiscrete(values) => values.iter().map(|&v| v as f64).collect(),
        Action::Continuous(values) => values.iter().map(|&v| f64::from(v)).collect(),
    }
}
