//! Feature specifications: the names, units and normalisation of a scenario's encoded
//! observation, in the order the encoder writes them. The spec's hash travels with exported
//! policies so that a policy is never fed features it was not trained on.

use serde::{Deserialize, Serialize};

/// One scalar feature: encoded value = raw value / `scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    pub name: String,
    pub unit: String,
    pub scale: f32,
}

impl Feature {
    pub fn new(name: impl Into<String>, unit: impl Into<String>, scale: f32) -> Self {
        Self {
            name: name.into(),
            unit: unit.into(),
            scale,
        }
    }

    /// The normalised value written into the observation vector.
    pub fn encode(&self, raw: f64) -> f32 {
        (raw / f64::from(self.scale)) as f32
    }
}

/// How encoded observations are laid out in memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Layout {
    /// One vector `[features.len()]`.
    Flat { features: Vec<Feature> },
    /// Global features `[G]`, then an entity matrix `[E, F]` (row-major), then an entity mask
    /// `[E]` (1.0 = present, 0.0 = padding), all in one contiguous vector. A policy scores each
    /// entity row with shared weights, so it runs on any number of entities.
    Entity {
        global: Vec<Feature>,
        entity: Vec<Feature>,
        entities: usize,
    },
}

/// Offsets of the three parts of an entity observation inside the encoded vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityParts {
    pub global_len: usize,
    pub entities: usize,
    pub entity_features: usize,
}

impl EntityParts {
    pub fn entities_offset(&self) -> usize {
        self.global_len
    }

    pub fn mask_offset(&self) -> usize {
        self.global_len + self.entities * self.entity_features
    }
}

/// The observation encoding of one scenario instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    pub scenario: String,
    pub layout: Layout,
}

impl FeatureSpec {
    /// Length of the encoded observation vector.
    pub fn encoded_len(&self) -> usize {
        match &self.layout {
            Layout::Flat { features } => features.len(),
            Layout::Entity {
                global,
                entity,
                entities,
            } => global.len() + entities * (entity.len() + 1),
        }
    }

    /// Offsets of the parts when the layout is `Entity`.
    pub fn entity_parts(&self) -> Option<EntityParts> {
        match &self.layout {
            Layout::Flat { .. } => None,
            Layout::Entity {
                global,
                entity,
                entities,
            } => Some(EntityParts {
                global_len: global.len(),
                entities: *entities,
                entity_features: entity.len(),
            }),
        }
    }

    /// Stable 64-bit FNV-1a hash of everything that defines the encoding (scenario, layout,
    /// names, units, scales), as 16 hex digits. Independent of platform and Rust version.
    /// For entity layouts it describes the per-entity schema, not the number of entities: an
    /// entity policy runs on worlds of any size.
    pub fn hash(&self) -> String {
        let mut h = Fnv1a::new();
        h.write(self.scenario.as_bytes());
        let mut features = |tag: &str, list: &[Feature]| {
            h.write(tag.as_bytes());
            h.write(&(list.len() as u64).to_le_bytes());
            for f in list {
                h.write(f.name.as_bytes());
                h.write(&[0]);
                h.write(f.unit.as_bytes());
                h.write(&[0]);
                h.write(&f.scale.to_le_bytes());
            }
        };
        match &self.layout {
            Layout::Flat { features: list } => features("flat", list),
            Layout::Entity { global, entity, .. } => {
                features("global", global);
                features("entity", entity);
            }
        }
        format!("{:016x}", h.finish())
    }
}

struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(scale: f32) -> FeatureSpec {
        FeatureSpec {
            scenario: "test".into(),
            layout: Layout::Flat {
                features: vec![Feature::new("a", "ms", scale), Feature::new("b", "1", 1.0)],
            },
        }
    }

    #[test]
    fn hash_is_stable_and_sensitive() {
        // Pinned: an exported policy's manifest stores this value.
        assert_eq!(spec(100.0).hash(), spec(100.0).hash());
        assert_ne!(spec(100.0).hash(), spec(10.0).hash());
        let entity = FeatureSpec {
            scenario: "test".into(),
            layout: Layout::Entity {
                global: vec![Feature::new("a", "ms", 100.0)],
                entity: vec![Feature::new("b", "1", 1.0)],
                entities: 4,
            },
        };
        assert_ne!(entity.hash(), spec(100.0).hash());
        // The same schema over another number of entities: the same hash.
        let mut larger = entity.clone();
        if let Layout::Entity { entities, .. } = &mut larger.layout {
            *entities = 40;
        }
        assert_eq!(larger.hash(), entity.hash());
        assert_eq!(entity.encoded_len(), 1 + 4 * 2);
        let parts = entity.entity_parts().unwrap();
        assert_eq!((parts.entities_offset(), parts.mask_offset()), (1, 5));
    }

    #[test]
    fn encode_divides_by_scale() {
        assert_eq!(Feature::new("x", "ms", 100.0).encode(250.0), 2.5);
    }
}
