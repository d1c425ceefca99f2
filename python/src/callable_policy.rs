//! Python callables as evaluation contenders: `planetgym.evaluate` runs any function
//! `(obs, mask) -> action` (a Stable-Baselines3 model's `predict`, an exported ONNX policy, a
//! user's own rule) through the same evaluator, on the same seeded episodes, as the built-in
//! baselines and trained policies.

use crate::actions;
use numpy::{PyArray1, PyReadonlyArray1};
use planetgym_agents::evaluate::ContenderFactory;
use planetgym_agents::{Contender, Policy, PolicyError};
use planetgym_env::{Action, Scenario, Space};
use pyo3::prelude::*;
use std::sync::{Arc, Mutex};

/// What the callables of one evaluation share: the first exception one raised (re-raised once
/// the evaluation has stopped), and a lock that lets one call run at a time. Episodes run on
/// several threads, and the GIL alone does not serialise calls: torch releases it inside a
/// forward pass, and a Stable-Baselines3 policy keeps per-call state (MaskablePPO's masked
/// distribution) that a concurrent call would overwrite.
#[derive(Clone, Default)]
pub struct Shared {
    pub failure: Arc<Mutex<Option<PyErr>>>,
    one_at_a_time: Arc<Mutex<()>>,
}

/// A Python function called with the encoded observation (`float32 [obs_len]`) and the mask
/// (`bool [mask_len]`, or None), returning the action as a flat `float64` row (the package's
/// wrapper flattens whatever the user's function returns).
pub struct CallablePolicy<S: Scenario> {
    name: String,
    function: Arc<Py<PyAny>>,
    /// Encodes observations as the gymnasium env does.
    encoder: Arc<S>,
    space: Space,
    obs: Vec<f32>,
    shared: Shared,
}

impl<S: Scenario + 'static> CallablePolicy<S> {
    /// One evaluation row named `name` for `function`.
    pub fn factory(
        name: String,
        function: Arc<Py<PyAny>>,
        env: &S,
        shared: Shared,
    ) -> ContenderFactory<S>
    where
        S: Clone,
    {
        let encoder = Arc::new(env.clone());
        Box::new(move || {
            Contender::Fair(Box::new(CallablePolicy {
                name: name.clone(),
                function: function.clone(),
                space: encoder.action_space().clone(),
                obs: vec![0.0; encoder.feature_spec().encoded_len()],
                encoder: encoder.clone(),
                shared: shared.clone(),
            }))
        })
    }

    fn call(&self, py: Python<'_>, mask: Option<&[bool]>) -> PyResult<Vec<f64>> {
        let obs = PyArray1::from_slice(py, &self.obs);
        let mask = match mask {
            Some(m) => PyArray1::from_slice(py, m).into_any(),
            None => py.None().into_bound(py),
        };
        let action = self.function.bind(py).call1((obs, mask))?;
        let row: PyReadonlyArray1<f64> = action.extract()?;
        Ok(row.as_slice()?.to_vec())
    }
}

impl<S: Scenario + 'static> Policy<S> for CallablePolicy<S> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn act(&mut self, obs: &S::Obs, mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        self.encoder.encode(obs, &mut self.obs);
        let invalid = |message: String| PolicyError::Invalid {
            policy: self.name.clone(),
            message,
        };
        // The lock first, then the GIL (never the other way round: no deadlock).
        let outcome = {
            let _turn = self
                .shared
                .one_at_a_time
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Python::attach(|py| self.call(py, mask))
        };
        match outcome {
            Ok(values) => actions::from_values(&self.space, &values)
                .map_err(|e| invalid(format!("returned a malformed action: {e}"))),
            Err(e) => {
                let message = format!("raised {e}");
                if let Ok(mut first) = self.shared.failure.lock() {
                    first.get_or_insert(e);
                }
                Err(invalid(message))
            }
        }
    }
}
