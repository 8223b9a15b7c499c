//! The set of instrument definitions, every version of each, including the shipped ones.
//! Old versions are never removed, so an assessment can always be rescored as it was given.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::instrument::{DefinitionError, InstrumentDefinition};

/// Key of the shipped DASH risk identification checklist.
pub const DASH: &str = "dash";
/// Key of the shipped youth violence and exploitation screening tool.
pub const YV_SCREENING: &str = "yv-screening";

const BUILTIN: [(&str, &str); 2] = [
    (
        "instruments/dash-v1.json",
        include_str!("../instruments/dash-v1.json"),
    ),
    (
        "instruments/yv-screening-v1.json",
        include_str!("../instruments/yv-screening-v1.json"),
    ),
];

/// Why a definition could not be added.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RegistryError {
    /// The definition breaks a rule.
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    /// That key and version is already held; versions are immutable.
    #[error("{key} version {version} already exists; a change must be published as a new version")]
    VersionExists {
        /// Instrument key.
        key: String,
        /// Instrument version.
        version: u32,
    },
    /// A revision was asked for an instrument the registry does not hold.
    #[error("there is no instrument {key}; known instruments: {known}")]
    UnknownInstrument {
        /// Requested key.
        key: String,
        /// Comma-separated known keys.
        known: String,
    },
}

/// Every version of every instrument, keyed by instrument key then version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstrumentRegistry {
    instruments: BTreeMap<String, BTreeMap<u32, InstrumentDefinition>>,
}

impl InstrumentRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry holding the shipped definitions (DASH v1, youth violence screening v1).
    pub fn builtin() -> Result<Self, RegistryError> {
        let mut reg = Self::new();
        for (name, json) in BUILTIN {
            reg.insert(InstrumentDefinition::from_json(name, json)?)?;
        }
        Ok(reg)
    }

    /// Adds a definition after validating it; an existing key and version is refused.
    pub fn insert(&mut self, def: InstrumentDefinition) -> Result<(), RegistryError> {
        def.validate()?;
        let versions = self.instruments.entry(def.key.clone()).or_default();
        if versions.contains_key(&def.version) {
            return Err(RegistryError::VersionExists {
                key: def.key,
                version: def.version,
            });
        }
        versions.insert(def.version, def);
        Ok(())
    }

    /// Revises the latest version of `key` with `edit`, stores it, and returns it.
    pub fn revise(
        &mut self,
        key: &str,
        edit: impl FnOnce(&mut InstrumentDefinition),
    ) -> Result<&InstrumentDefinition, RegistryError> {
        let next = self
            .latest(key)
            .ok_or_else(|| self.unknown(key))?
            .revise(edit)?;
        let version = next.version;
        self.insert(next)?;
        self.get(key, version).ok_or_else(|| self.unknown(key))
    }

    /// The newest version of an instrument, used for new assessments.
    pub fn latest(&self, key: &str) -> Option<&InstrumentDefinition> {
        self.instruments
            .get(key)
            .and_then(|v| v.last_key_value())
            .map(|(_, d)| d)
    }

    /// An exact version, used to show or rescore a stored assessment.
    pub fn get(&self, key: &str, version: u32) -> Option<&InstrumentDefinition> {
        self.instruments.get(key).and_then(|v| v.get(&version))
    }

    /// All versions of an instrument, oldest first.
    pub fn versions(&self, key: &str) -> Vec<&InstrumentDefinition> {
        self.instruments
            .get(key)
            .map(|v| v.values().collect())
            .unwrap_or_default()
    }

    /// Known instrument keys, sorted.
    pub fn keys(&self) -> Vec<&str> {
        self.instruments.keys().map(String::as_str).collect()
    }

    fn unknown(&self, key: &str) -> RegistryError {
        RegistryError::UnknownInstrument {
            key: key.to_owned(),
            known: self.keys().join(", "),
        }
    }
}
