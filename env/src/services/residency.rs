//! Data residency: which regions may store a shard owned by a jurisdiction.

use crate::world::geography::{AZURE_REGIONS_CSV, Region};

/// Members of the EU and the EEA (GDPR applies to all of them).
const EU_EEA: [&str; 30] = [
    "Austria",
    "Belgium",
    "Bulgaria",
    "Croatia",
    "Cyprus",
    "Czechia",
    "Denmark",
    "Estonia",
    "Finland",
    "France",
    "Germany",
    "Greece",
    "Hungary",
    "Iceland",
    "Ireland",
    "Italy",
    "Latvia",
    "Liechtenstein",
    "Lithuania",
    "Luxembourg",
    "Malta",
    "Netherlands",
    "Norway",
    "Poland",
    "Portugal",
    "Romania",
    "Slovakia",
    "Slovenia",
    "Spain",
    "Sweden",
];

/// Who owns a shard, and so where it may be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Jurisdiction {
    /// No rule: any region.
    Anywhere,
    /// The EU and EEA member states.
    Eu,
    /// One country, named as in the region table.
    Country(String),
}

/// The countries of the Azure region table, sorted.
pub fn countries() -> Vec<String> {
    let mut reader = csv::Reader::from_reader(AZURE_REGIONS_CSV.as_bytes());
    let column = reader
        .headers()
        .ok()
        .and_then(|h| h.iter().position(|name| name == "country"));
    let mut all: Vec<String> = reader
        .records()
        .filter_map(|r| Some(r.ok()?.get(column?)?.to_string()))
        .collect();
    all.sort();
    all.dedup();
    all
}

impl Jurisdiction {
    /// `EU`, or a country of the region table.
    pub fn parse(name: &str) -> Option<Self> {
        if name == "EU" {
            return Some(Self::Eu);
        }
        countries()
            .contains(&name.to_string())
            .then(|| Self::Country(name.to_string()))
    }

    pub fn allows(&self, region: &Region) -> bool {
        match self {
            Self::Anywhere => true,
            Self::Eu => EU_EEA.contains(&region.country.as_str()),
            Self::Country(c) => region.country == *c,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::geography::{Geography, Season};

    #[test]
    fn jurisdictions_map_to_the_regions_of_their_countries() {
        let geo = Geography::azure(Season::Jan, 2.0).unwrap();
        let count = |j: &Jurisdiction| geo.regions.iter().filter(|r| j.allows(r)).count();
        let eu = Jurisdiction::parse("EU").unwrap();
        // 19 European regions, less the UK (2) and Switzerland (2).
        assert_eq!(count(&eu), 15);
        let us = Jurisdiction::parse("United States").unwrap();
        assert_eq!(count(&us), 9);
        assert_eq!(count(&Jurisdiction::Anywhere), 54);
        assert!(Jurisdiction::parse("Atlantis").is_none());
        assert!(countries().contains(&"Japan".to_string()));
        let synthetic = Geography::synthetic(200, 3, 2.0).unwrap();
        assert!(synthetic.regions.iter().any(|r| eu.allows(r)));
    }
}
