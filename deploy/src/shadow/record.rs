//! The shadow-mode decision record: one JSON object per line, as a production system would log
//! a decision. Its schema (a JSON Schema document) is generated from the scenario's FeatureSpec
//! and action space, so it always names the features the policy reads.
//!
//! ```text
//! {"timestamp": 1767225600 | "2026-01-01T00:00:00Z",
//!  "id": "optional, copied to the output",
//!  "observation": {"features": {"<name>": value, ...}}                      flat layouts
//!               | {"global": {...}, "entities": [{...}, ...], "entity_mask": [1, 0, ...]?}
//!  "action_mask": [true, false, ...]?       legal choices (discrete spaces; absent: all legal)
//!  "incumbent": 3 | [1, 0, 2] | [0.5, ...] | [[0.2, 0.8], ...]    the incumbent's decision
//!  "outcome": {...}?}                        what was observed afterwards (scenario-specific)
//! ```
//!
//! Feature values are in the units the FeatureSpec names (the policy divides by the scales).

use super::observation::{Observation, ObservationReader, flags};
use super::strict_json::StrictValue;
use crate::error::DeployError;
use crate::export::Inputs;
use planetgym_env::bounds::excerpt;
use planetgym_env::features::{Feature, Layout};
use planetgym_env::{Action, FeatureSpec, Space};
use serde::Deserializer as _;
use serde::Serialize;
use serde::de::{self, MapAccess, Visitor};
use serde_json::error::Category;
use serde_json::{Map, Value, json};
use std::fmt;

/// An action as it appears in records.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ActionJson {
    Index(usize),
    Indices(Vec<usize>),
    Values(Vec<f32>),
    Rows(Vec<Vec<f32>>),
}

impl ActionJson {
    pub fn of(action: &Action, space: &Space) -> Self {
        match (action, space) {
            (Action::Discrete(i), _) => Self::Index(*i),
            (Action::MultiDiscrete(v), _) => Self::Indices(v.clone()),
            (Action::Continuous(v), Space::Simplex { cols, .. }) => {
                Self::Rows(v.chunks((*cols).max(1)).map(<[f32]>::to_vec).collect())
            }
            (Action::Continuous(v), _) => Self::Values(v.clone()),
        }
    }
}

/// One validated record.
#[derive(Debug, Clone)]
pub struct Decision {
    pub timestamp: Value,
    pub id: Option<Value>,
    /// The policy's inputs (batch of one), named as in the manifest.
    pub inputs: Inputs,
    /// The action space of this decision (a `Discrete` space over the candidates listed, for
    /// entity layouts choosing among entities).
    pub space: Space,
    pub mask: Option<Vec<bool>>,
    /// The incumbent's decision (required by `shadow`; a policy asked to act ignores it).
    pub incumbent: Option<Action>,
    pub outcome: Option<Value>,
}

/// The space decisions live in when `entities` candidates are listed (entity layouts only).
fn decision_space(space: &Space, entities: Option<usize>) -> Space {
    match (space, entities) {
        (Space::Discrete { .. }, Some(n)) => Space::Discrete { n },
        _ => space.clone(),
    }
}

/// The action `value` in `space`, checked (mask included).
fn parse_action(
    value: &Value,
    space: &Space,
    mask: Option<&[bool]>,
    at: &str,
) -> Result<Action, String> {
    let index = |v: &Value, at: &str| {
        v.as_u64()
            .map(|i| i as usize)
            .ok_or_else(|| format!("{at}: expected a non-negative integer, got {v}"))
    };
    let number = |v: &Value, at: &str| {
        v.as_f64()
            .filter(|x| x.is_finite())
            .map(|x| x as f32)
            .ok_or_else(|| format!("{at}: expected a finite number, got {v}"))
    };
    fn array<'v>(v: &'v Value, at: &str, space: &Space) -> Result<&'v Vec<Value>, String> {
        v.as_array()
            .ok_or_else(|| format!("{at}: expected an array for {space}, got {v}"))
    }
    let action = match space {
        Space::Discrete { .. } => Action::Discrete(index(value, at)?),
        Space::MultiDiscrete { .. } => Action::MultiDiscrete(
            array(value, at, space)?
                .iter()
                .enumerate()
                .map(|(i, v)| index(v, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Space::Box { .. } => Action::Continuous(
            array(value, at, space)?
                .iter()
                .enumerate()
                .map(|(i, v)| number(v, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Space::Simplex { rows, cols } => {
            let items = array(value, at, space)?;
            if items.len() != *rows {
                return Err(format!("{at}: {} rows, {space} has {rows}", items.len()));
            }
            let mut values = Vec::new();
            for (r, row) in items.iter().enumerate() {
                let row = array(row, at, space)?;
                if row.len() != *cols {
                    return Err(format!(
                        "{at}[{r}]: {} weights, {space} has {cols} per row",
                        row.len()
                    ));
                }
                for (c, v) in row.iter().enumerate() {
                    values.push(number(v, &format!("{at}[{r}][{c}]"))?);
                }
            }
            Action::Continuous(values)
        }
    };
    space
        .check(&action, mask, &|row| format!(" (row {row})"))
        .map_err(|e| format!("{at}: {e}"))?;
    Ok(action)
}

/// The fields of a record, the observation already read into the policy's inputs.
#[derive(Default)]
struct Fields {
    timestamp: Option<Value>,
    id: Option<Value>,
    observation: Option<Observation>,
    action_mask: Option<Value>,
    incumbent: Option<Value>,
    outcome: Option<Value>,
}

/// Reads the records of one policy: validates them against its FeatureSpec (feature names
/// indexed once) and action space.
#[derive(Debug)]
pub struct RecordReader {
    space: Space,
    observation: ObservationReader,
}

/// Reads a record's fields, the observation with `0`.
struct FieldsVisitor<'a>(&'a ObservationReader);

impl<'de> Visitor<'de> for FieldsVisitor<'_> {
    type Value = Fields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decision record (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
        let mut r = Fields::default();
        while let Some(key) = map.next_key::<String>()? {
            let twice = || de::Error::custom(format!("field `{key}` appears twice"));
            let slot = match key.as_str() {
                "observation" => {
                    if r.observation.is_some() {
                        return Err(twice());
                    }
                    r.observation = Some(map.next_value_seed(self.0)?);
                    continue;
                }
                "timestamp" => &mut r.timestamp,
                "id" => &mut r.id,
                "action_mask" => &mut r.action_mask,
                "incumbent" => &mut r.incumbent,
                "outcome" => &mut r.outcome,
                other => {
                    return Err(de::Error::custom(format!(
                        "unknown field `{}` (expected timestamp, id, observation, action_mask, incumbent, outcome)",
                        excerpt(other, 40)
                    )));
                }
            };
            if slot.is_some() {
                return Err(twice());
            }
            *slot = Some(map.next_value_seed(StrictValue)?);
        }
        Ok(r)
    }
}

impl RecordReader {
    pub fn new(spec: &FeatureSpec, space: &Space) -> Self {
        Self {
            space: space.clone(),
            observation: ObservationReader::new(spec),
        }
    }

    /// Parses and validates one record; the error names the field and what was expected.
    pub fn parse(&self, line: &str) -> Result<Decision, DeployError> {
        let mut de = serde_json::Deserializer::from_str(line);
        let fields = de
            .deserialize_map(FieldsVisitor(&self.observation))
            .and_then(|f| de.end().map(|()| f))
            .map_err(|e| match e.classify() {
                Category::Data => e.to_string(),
                _ => format!("not a JSON object: {e}"),
            })
            .map_err(DeployError::Record)?;
        self.check(fields).map_err(DeployError::Record)
    }

    fn check(&self, r: Fields) -> Result<Decision, String> {
        let timestamp = r
            .timestamp
            .ok_or("`timestamp` (a string or a number) is missing")?;
        check_timestamp(&timestamp)?;
        let Observation { inputs, present } = r.observation.ok_or("`observation` is missing")?;
        let space = decision_space(&self.space, present.as_ref().map(Vec::len));
        let mut mask = match r.action_mask {
            Some(m) if space.mask_len() > 0 => Some(flags(&m, space.mask_len(), "action_mask")?),
            Some(_) => return Err(format!("action_mask: {space} has no mask")),
            None => None,
        };
        if let Some(present) = &present {
            match &space {
                Space::Simplex { rows, cols } => {
                    if present.len() != rows * cols {
                        return Err(format!(
                            "observation.entities: {} rows; the {rows}x{cols} split needs one per pair, region by region",
                            present.len()
                        ));
                    }
                    if present.contains(&false) {
                        return Err(
                            "observation.entity_mask: every pair of a split is present".into()
                        );
                    }
                }
                _ if !present.contains(&true) => {
                    return Err("observation.entity_mask: no candidate is present".into());
                }
                // A candidate that is not present cannot be chosen.
                _ if present.contains(&false) => {
                    let legal = mask.get_or_insert_with(|| vec![true; present.len()]);
                    legal.iter_mut().zip(present).for_each(|(l, p)| *l &= p);
                }
                _ => {}
            }
        }
        let incumbent = match r.incumbent {
            Some(v) => Some(parse_action(&v, &space, mask.as_deref(), "incumbent")?),
            None => None,
        };
        Ok(Decision {
            timestamp,
            id: r.id,
            inputs,
            space,
            mask,
            incumbent,
            outcome: r.outcome.filter(|o| !o.is_null()),
        })
    }
}

/// Latest timestamp accepted: the end of year 9999, in seconds since the Unix epoch (a
/// timestamp in milliseconds is refused rather than read as a date thousands of years ahead).
const MAX_TIMESTAMP_S: f64 = 253_402_300_799.0;

/// A timestamp is seconds since the Unix epoch (a finite number in [0, MAX_TIMESTAMP_S]) or an
/// RFC 3339 date-time text (`2026-01-01T00:00:00Z`, `2026-01-01T00:00:00.5+01:00`).
fn check_timestamp(t: &Value) -> Result<(), String> {
    match t {
        Value::Number(n) => match n.as_f64() {
            Some(s) if (0.0..=MAX_TIMESTAMP_S).contains(&s) => Ok(()),
            _ => Err(format!(
                "timestamp = {n}: seconds since 1970-01-01 must be in [0, {MAX_TIMESTAMP_S}] (a time in milliseconds? divide by 1000)"
            )),
        },
        Value::String(text) if rfc3339(text) => Ok(()),
        Value::String(text) => Err(format!(
            "timestamp = \"{}\": not an RFC 3339 date-time (e.g. 2026-01-01T00:00:00Z)",
            excerpt(text, 40)
        )),
        other => Err(format!(
            "timestamp: expected a string or a number, got {}",
            excerpt(&other.to_string(), 40)
        )),
    }
}

/// The decimal number written by `bytes[range]` (digits only), if it is one.
fn digits(bytes: &[u8], range: std::ops::Range<usize>) -> Option<u32> {
    let part = bytes.get(range)?;
    part.iter()
        .all(u8::is_ascii_digit)
        .then(|| part.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)` with every field in range.
fn rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    let fields = (|| {
        let (year, month, day) = (digits(b, 0..4)?, digits(b, 5..7)?, digits(b, 8..10)?);
        let (hour, minute, second) = (digits(b, 11..13)?, digits(b, 14..16)?, digits(b, 17..19)?);
        let separators = b.get(4) == Some(&b'-')
            && b.get(7) == Some(&b'-')
            && matches!(b.get(10), Some(b'T' | b't' | b' '))
            && b.get(13) == Some(&b':')
            && b.get(16) == Some(&b':');
        separators.then_some((year, month, day, hour, minute, second))
    })();
    let Some((year, month, day, hour, minute, second)) = fields else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    let z = rest.as_bytes();
    let zone = match z {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', _, _, b':', _, _] => {
            digits(z, 1..3).is_some_and(|h| h < 24) && digits(z, 4..6).is_some_and(|m| m < 60)
        }
        _ => false,
    };
    (1..=12).contains(&month)
        && (1..=days).contains(&day)
        && hour < 24
        && minute < 60
        && second <= 60
        && zone
}

fn features_schema(features: &[Feature]) -> Value {
    let properties: Map<String, Value> = features
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                json!({"type": "number", "description": format!("unit: {}; the policy reads value / {}", f.unit, f.scale)}),
            )
        })
        .collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": features.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
        "additionalProperties": false,
    })
}

fn action_schema(space: &Space, entity: bool) -> Value {
    let integer = json!({"type": "integer", "minimum": 0});
    match space {
        Space::Discrete { .. } if entity => json!({"type": "integer", "minimum": 0,
            "description": "index of the chosen candidate in observation.entities"}),
        Space::Discrete { n } => json!({"type": "integer", "minimum": 0, "maximum": n - 1}),
        Space::MultiDiscrete { nvec } => json!({"type": "array", "items": integer,
            "minItems": nvec.len(), "maxItems": nvec.len(),
            "description": format!("one choice per dimension, dimension i in 0..nvec[i], nvec = {nvec:?}")}),
        Space::Box { low, high } => json!({"type": "array", "items": {"type": "number"},
            "minItems": low.len(), "maxItems": low.len(),
            "description": format!("within low = {low:?} and high = {high:?}")}),
        Space::Simplex { rows, cols } => {
            json!({"type": "array", "minItems": rows, "maxItems": rows,
            "items": {"type": "array", "minItems": cols, "maxItems": cols, "items": {"type": "number", "minimum": 0}},
            "description": format!("{rows} rows of {cols} non-negative weights, each row summing to 1")})
        }
    }
}

/// The JSON Schema of a record for a policy reading `spec` and acting in `space`; `outcome`
/// is the scenario's outcome schema, when it has one.
pub fn schema(spec: &FeatureSpec, space: &Space, outcome: Option<Value>) -> Value {
    let observation = match &spec.layout {
        Layout::Flat { features } => json!({
            "type": "object", "required": ["features"], "additionalProperties": false,
            "properties": {"features": features_schema(features)}}),
        Layout::Entity {
            global,
            entity,
            entities,
        } => json!({
            "type": "object", "required": ["global", "entities"], "additionalProperties": false,
            "properties": {
                "global": features_schema(global),
                "entities": {"type": "array", "minItems": 1, "items": features_schema(entity),
                    "description": if matches!(space, Space::Simplex { .. }) {
                        format!("one object per (region, site) pair, region by region ({entities})")
                    } else {
                        format!("one object per candidate, any number ({entities} in training)")
                    }},
                "entity_mask": {"type": "array", "items": {"type": ["boolean", "integer"]},
                    "description": "1/true for a present candidate, 0/false for padding; absent: all present"}}}),
    };
    let entity = spec.entity_parts().is_some();
    let mut properties = json!({
        "timestamp": {"type": ["string", "number"], "description": "when the decision was taken (RFC 3339 or Unix seconds)"},
        "id": {"description": "optional identifier, copied to the shadow output"},
        "observation": observation,
        "incumbent": action_schema(space, entity),
    });
    if space.mask_len() > 0 {
        properties["action_mask"] = json!({"type": "array", "items": {"type": ["boolean", "integer"]},
            "description": "legal choices, one flag per choice (per candidate for entity layouts); absent: all legal"});
    }
    properties["outcome"] = outcome.unwrap_or_else(
        || json!({"description": "optional; not used by this scenario's counterfactual model"}),
    );
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("planetgym shadow-mode decision record: {}", spec.scenario),
        "description": format!("One JSON object per line. FeatureSpec hash {}.", spec.hash()),
        "type": "object",
        "required": ["timestamp", "observation", "incumbent"],
        "additionalProperties": false,
        "properties": properties,
    })
}
