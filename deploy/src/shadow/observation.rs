//! A record's observation read straight from JSON into the policy's input vectors: feature names
//! are looked up in an index built once per policy, and no JSON value is built for the
//! candidates (thousands of objects in a placement record, most of its bytes).

use crate::export::{Inputs, input};
use planetgym_env::FeatureSpec;
use planetgym_env::features::{Feature, Layout};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;

/// Features in input order, with their positions by name.
#[derive(Debug)]
struct Names {
    features: Vec<Feature>,
    index: HashMap<String, usize>,
}

impl Names {
    fn new(features: &[Feature]) -> Self {
        Self {
            features: features.to_vec(),
            index: features
                .iter()
                .enumerate()
                .map(|(i, f)| (f.name.clone(), i))
                .collect(),
        }
    }
}

/// Reads observations laid out as one FeatureSpec.
#[derive(Debug)]
pub struct ObservationReader(Indexed);

#[derive(Debug)]
enum Indexed {
    Flat(Names),
    Entity { global: Names, entity: Names },
}

/// The policy's inputs (batch of one) and, for entity layouts, which candidates are present.
#[derive(Debug)]
pub struct Observation {
    pub inputs: Inputs,
    pub present: Option<Vec<bool>>,
}

impl ObservationReader {
    pub fn new(spec: &FeatureSpec) -> Self {
        Self(match &spec.layout {
            Layout::Flat { features } => Indexed::Flat(Names::new(features)),
            Layout::Entity { global, entity, .. } => Indexed::Entity {
                global: Names::new(global),
                entity: Names::new(entity),
            },
        })
    }
}

/// Where a feature object sits in the record, for messages.
#[derive(Debug, Clone, Copy)]
enum At {
    Features,
    Global,
    Entity(usize),
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Features => f.write_str("observation.features"),
            At::Global => f.write_str("observation.global"),
            At::Entity(i) => write!(f, "observation.entities[{i}]"),
        }
    }
}

/// Flags given as booleans or 0/1 (masks).
pub fn flags(value: &Value, len: usize, at: &str) -> Result<Vec<bool>, String> {
    let items = value
        .as_array()
        .ok_or_else(|| format!("{at}: expected an array of {len} flags"))?;
    if items.len() != len {
        return Err(format!("{at}: {} flags, expected {len}", items.len()));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Bool(b) => Ok(*b),
            Value::Number(n) if n.as_f64() == Some(1.0) => Ok(true),
            Value::Number(n) if n.as_f64() == Some(0.0) => Ok(false),
            _ => Err(format!("{at}[{i}]: expected true/false or 1/0, got {v}")),
        })
        .collect()
}

impl<'de> DeserializeSeed<'de> for &ObservationReader {
    type Value = Observation;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Observation, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for &ObservationReader {
    type Value = Observation;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an observation object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Observation, A::Error> {
        let custom = |message: String| de::Error::custom(message);
        let (mut features, mut global, mut entities, mut mask) = (None, None, None, None);
        let mut seen: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(custom(format!("observation: field `{key}` appears twice")));
            }
            seen.push(key.clone());
            match (key.as_str(), &self.0) {
                ("features", Indexed::Flat(names)) => {
                    let mut out = Vec::new();
                    map.next_value_seed(Row {
                        names,
                        at: At::Features,
                        out: &mut out,
                    })?;
                    features = Some(out);
                }
                ("global", Indexed::Entity { global: names, .. }) => {
                    let mut out = Vec::new();
                    map.next_value_seed(Row {
                        names,
                        at: At::Global,
                        out: &mut out,
                    })?;
                    global = Some(out);
                }
                ("entities", Indexed::Entity { entity, .. }) => {
                    entities = Some(map.next_value_seed(Rows(entity))?);
                }
                ("entity_mask", Indexed::Entity { .. }) => {
                    mask = Some(map.next_value::<Value>()?);
                }
                (other, Indexed::Flat(_)) => {
                    return Err(custom(format!(
                        "observation: unknown field `{other}` (a flat observation has `features`)"
                    )));
                }
                (other, Indexed::Entity { .. }) => {
                    return Err(custom(format!(
                        "observation: unknown field `{other}` (expected global, entities, entity_mask)"
                    )));
                }
            }
        }
        match &self.0 {
            Indexed::Flat(names) => {
                let obs =
                    features.ok_or_else(|| custom("observation: `features` is missing".into()))?;
                Ok(Observation {
                    inputs: vec![input("obs", vec![1, names.features.len()], obs)],
                    present: None,
                })
            }
            Indexed::Entity {
                global: g, entity, ..
            } => {
                let global =
                    global.ok_or_else(|| custom("observation: `global` is missing".into()))?;
                let (rows, n) =
                    entities.ok_or_else(|| custom("observation: `entities` is missing".into()))?;
                if n == 0 {
                    return Err(custom(
                        "observation.entities: at least one candidate is needed".into(),
                    ));
                }
                let present = match &mask {
                    None => vec![true; n],
                    Some(m) => flags(m, n, "observation.entity_mask").map_err(custom)?,
                };
                let mask = present.iter().map(|&p| if p { 1.0 } else { 0.0 }).collect();
                Ok(Observation {
                    inputs: vec![
                        input("global", vec![1, g.features.len()], global),
                        input("entities", vec![1, n, entity.features.len()], rows),
                        input("entity_mask", vec![1, n], mask),
                    ],
                    present: Some(present),
                })
            }
        }
    }
}

/// The candidates: their rows one after the other, and how many.
struct Rows<'a>(&'a Names);

impl<'de> DeserializeSeed<'de> for Rows<'_> {
    type Value = (Vec<f32>, usize);

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Rows<'_> {
    type Value = (Vec<f32>, usize);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("observation.entities: an array of objects of named features")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        let mut n = 0;
        while seq
            .next_element_seed(Row {
                names: self.0,
                at: At::Entity(n),
                out: &mut out,
            })?
            .is_some()
        {
            n += 1;
        }
        Ok((out, n))
    }
}

/// One object of named features, appended to `out` in input order.
struct Row<'a> {
    names: &'a Names,
    at: At,
    out: &'a mut Vec<f32>,
}

impl<'de> DeserializeSeed<'de> for Row<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Row<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: an object of named features", self.at)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (names, at) = (self.names, self.at);
        let start = self.out.len();
        // JSON has no NaN: a slot still NaN at the end was never given.
        self.out.resize(start + names.features.len(), f32::NAN);
        let row = &mut self.out[start..];
        while let Some(slot) = map.next_key_seed(Key { names, at })? {
            let feature = &names.features[slot];
            let x = map.next_value_seed(Number { at, feature })?;
            if !row[slot].is_nan() {
                return Err(de::Error::custom(format!(
                    "{at}: feature `{}` appears twice",
                    feature.name
                )));
            }
            row[slot] = x;
        }
        match row.iter().position(|v| v.is_nan()) {
            Some(i) => Err(de::Error::custom(format!(
                "{at}: feature `{}` ({}) is missing",
                names.features[i].name, names.features[i].unit
            ))),
            None => Ok(()),
        }
    }
}

/// A feature name, as its position.
struct Key<'a> {
    names: &'a Names,
    at: At,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = usize;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a feature name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<usize, E> {
        self.names.index.get(name).copied().ok_or_else(|| {
            E::custom(format!(
                "{}: unknown feature `{name}` (not in the policy's FeatureSpec)",
                self.at
            ))
        })
    }
}

/// A feature's value: a finite number within float32 range.
struct Number<'a> {
    at: At,
    feature: &'a Feature,
}

impl Number<'_> {
    fn error<E: de::Error>(&self, got: impl fmt::Display) -> E {
        E::custom(format!(
            "{}.{}: expected a finite number, got {got}",
            self.at, self.feature.name
        ))
    }
}

impl<'de> DeserializeSeed<'de> for Number<'_> {
    type Value = f32;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<f32, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Number<'_> {
    type Value = f32;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a finite number")
    }

    fn visit_f64<E: de::Error>(self, x: f64) -> Result<f32, E> {
        if x.is_finite() && x.abs() <= f64::from(f32::MAX) {
            Ok(x as f32)
        } else {
            Err(self.error(x))
        }
    }

    fn visit_i64<E: de::Error>(self, x: i64) -> Result<f32, E> {
        Ok(x as f32)
    }

    fn visit_u64<E: de::Error>(self, x: u64) -> Result<f32, E> {
        Ok(x as f32)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<f32, E> {
        Err(self.error(format_args!("{s:?}")))
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<f32, E> {
        Err(self.error(b))
    }

    fn visit_unit<E: de::Error>(self) -> Result<f32, E> {
        Err(self.error("null"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<f32, A::Error> {
        Err(self.error("an object"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<f32, A::Error> {
        Err(self.error("an array"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> FeatureSpec {
        FeatureSpec {
            scenario: "test".into(),
            layout: Layout::Entity {
                global: vec![Feature::new("load", "1", 1.0)],
                entity: vec![
                    Feature::new("cpu", "cores", 4.0),
                    Feature::new("up", "0/1", 1.0),
                ],
                entities: 8,
            },
        }
    }

    fn read(json: &str) -> Result<Observation, String> {
        let reader = ObservationReader::new(&spec());
        let mut de = serde_json::Deserializer::from_str(json);
        (&reader).deserialize(&mut de).map_err(|e| e.to_string())
    }

    #[test]
    fn rows_land_in_input_order_whatever_the_key_order() {
        let o = read(r#"{"entities": [{"up": 1, "cpu": 2.5}, {"cpu": 8, "up": 0}], "global": {"load": 0.5}}"#)
            .unwrap();
        assert_eq!(o.inputs[1].1.as_f32().unwrap(), [2.5, 1.0, 8.0, 0.0]);
        assert_eq!(o.inputs[1].1.shape, [1, 2, 2]);
        assert_eq!(o.present, Some(vec![true, true]));
    }

    #[test]
    fn malformed_rows_are_named() {
        for (json, expected) in [
            (
                r#"{"global": {"load": 1, "load": 2}, "entities": [{"cpu": 1, "up": 1}]}"#,
                "observation.global: feature `load` appears twice",
            ),
            (
                r#"{"global": {"load": 1}, "entities": [{"cpu": 1, "up": 1}, {"cpu": {"x": 1}, "up": 1}]}"#,
                "observation.entities[1].cpu: expected a finite number, got an object",
            ),
            (
                r#"{"global": {"load": 1}, "entities": [{"cpu": 1e300, "up": 1}]}"#,
                "observation.entities[0].cpu: expected a finite number",
            ),
            (
                r#"{"global": {"load": 1}, "entities": []}"#,
                "at least one candidate is needed",
            ),
            (r#"{"global": {"load": 1}}"#, "`entities` is missing"),
            (
                r#"{"global": {"load": 1}, "entities": [{"cpu": 1, "up": 1}], "entity_mask": [1, 1]}"#,
                "observation.entity_mask: 2 flags, expected 1",
            ),
            (r#"{"features": {"load": 1}}"#, "unknown field `features`"),
        ] {
            let e = read(json).unwrap_err();
            assert!(e.contains(expected), "{json}: {e}");
        }
    }
}
