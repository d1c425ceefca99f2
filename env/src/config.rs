//! Loading TOML configs over a documented built-in default.
//!
//! Each scenario ships its default config as a commented TOML file (printed by
//! `planetgym scenarios --show NAME`). A user config only lists what it changes: it is merged
//! over the default table by table (arrays replace), unknown keys are rejected with their dotted
//! path, and the merged table is deserialised with `deny_unknown_fields` structs.

use crate::error::EnvError;
use serde::de::DeserializeOwned;
use toml::{Table, Value};

/// A scenario's configuration: a documented default TOML, range validation, and loading of
/// user configs over the default.
pub trait ScenarioConfig: DeserializeOwned {
    /// The built-in default config, with a comment on every field.
    const DEFAULT_TOML: &'static str;

    /// Checks every range; the message names the field and what is allowed.
    fn validate(&self) -> Result<(), String>;

    /// Parses a user config (TOML text with only the fields that change; `origin` names it in
    /// errors) over the default, and validates it.
    fn from_toml(text: &str, origin: &str) -> Result<Self, EnvError> {
        let config: Self = load_over_default(Self::DEFAULT_TOML, text, origin)?;
        config
            .validate()
            .map_err(|e| EnvError::config(format!("{origin}: {e}")))?;
        Ok(config)
    }

    /// The complete config (default merged with `text`) as TOML, after checking that it
    /// parses and validates: what a run saves so that it can be rebuilt exactly.
    fn resolved_toml(text: &str, origin: &str) -> Result<String, EnvError> {
        Self::from_toml(text, origin)?;
        let table = merged_table(Self::DEFAULT_TOML, text, origin)?;
        toml::to_string(&table).map_err(|e| EnvError::config(format!("{origin}: {e}")))
    }

    /// Reads and parses a config file.
    fn from_file(path: &std::path::Path) -> Result<Self, EnvError> {
        let text = crate::input::read_to_string(path)?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Rewrites the data paths in `table` (a user config read from a file in `base`) so that
    /// relative ones are read from `base` rather than the working directory.
    fn rebase_paths(_table: &mut Table, _base: &std::path::Path) {}

    /// The built-in default. A unit test of every scenario checks that it parses and
    /// validates; if it did not, every use of the scenario would fail.
    fn builtin_default() -> Self {
        #[allow(clippy::expect_used)]
        Self::from_toml("", "built-in default")
            .expect("built-in default config parses and validates")
    }
}

/// `path` as read from `base`: a relative path is joined to it; `builtin:` names and absolute
/// paths are unchanged.
pub fn rebased(path: &str, base: &std::path::Path) -> String {
    if path.is_empty() || path.starts_with("builtin:") || std::path::Path::new(path).is_absolute() {
        return path.to_string();
    }
    base.join(path).display().to_string()
}

/// Applies `f` to the string at dotted `key` of `table`, or to each string of an array there
/// (absent keys and other types are left for validation to report).
pub fn map_strings(table: &mut Table, key: &str, f: &dyn Fn(&str) -> String) {
    let (head, rest) = match key.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (key, None),
    };
    match (table.get_mut(head), rest) {
        (Some(Value::Table(inner)), Some(rest)) => map_strings(inner, rest, f),
        (Some(Value::String(s)), None) => *s = f(s),
        (Some(Value::Array(items)), None) => {
            for item in items {
                if let Value::String(s) = item {
                    *s = f(s);
                }
            }
        }
        _ => {}
    }
}

/// Parses `user` (TOML text, `origin` names it in errors) over `default` and deserialises it.
pub fn load_over_default<T: DeserializeOwned>(
    default: &str,
    user: &str,
    origin: &str,
) -> Result<T, EnvError> {
    from_table(merged_table(default, user, origin)?, origin)
}

/// `user` merged over `default`, as a table.
fn merged_table(default: &str, user: &str, origin: &str) -> Result<Table, EnvError> {
    let mut base: Table = default
        .parse()
        .map_err(|e| EnvError::config(format!("built-in default config is invalid: {e}")))?;
    let overrides: Table = user
        .parse()
        .map_err(|e| EnvError::config(format!("{origin}: {e}")))?;
    merge(&mut base, overrides, "").map_err(|e| EnvError::config(format!("{origin}: {e}")))?;
    Ok(base)
}

/// Deserialises a complete table, naming `origin` in errors.
pub fn from_table<T: DeserializeOwned>(table: Table, origin: &str) -> Result<T, EnvError> {
    T::deserialize(table)
        .map_err(|e| EnvError::config(format!("{origin}: {}", e.to_string().trim_end())))
}

/// `text` (a user config, TOML) with `--set` overrides applied: each `dotted.path=value` sets
/// one field, creating the tables on its path. `value` is read as a TOML value (`3`, `1e-3`,
/// `true`, `"text"`, `[1, 2]`), or taken as a string when it is not one (`trace=log.swf`). The
/// scenario's loader then validates the result like any config, naming wrong fields.
pub fn apply_overrides(text: &str, origin: &str, sets: &[String]) -> Result<String, EnvError> {
    if sets.is_empty() {
        return Ok(text.to_string());
    }
    let mut table: Table = text
        .parse()
        .map_err(|e| EnvError::config(format!("{origin}: {e}")))?;
    for set in sets {
        let (path, raw) = set.split_once('=').ok_or_else(|| {
            EnvError::config(format!(
                "--set {set}: expected key=value (e.g. interval_s=300)"
            ))
        })?;
        let value = format!("v = {raw}")
            .parse::<Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| Value::String(raw.to_string()));
        let keys: Vec<&str> = path.trim().split('.').collect();
        if keys.iter().any(|k| k.is_empty()) {
            return Err(EnvError::config(format!(
                "--set {set}: `{path}` is not a dotted field path"
            )));
        }
        let (last, parents) = keys.split_last().unwrap_or((&"", &[]));
        let mut at = &mut table;
        for (depth, key) in parents.iter().enumerate() {
            let slot = at
                .entry(key.to_string())
                .or_insert_with(|| Value::Table(Table::new()));
            at = slot.as_table_mut().ok_or_else(|| {
                EnvError::config(format!(
                    "--set {set}: `{}` is not a table",
                    keys[..=depth].join(".")
                ))
            })?;
        }
        at.insert(last.to_string(), value);
    }
    toml::to_string(&table).map_err(|e| EnvError::config(format!("{origin}: {e}")))
}

fn merge(base: &mut Table, overrides: Table, path: &str) -> Result<(), String> {
    for (key, value) in overrides {
        let dotted = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        match (base.get_mut(&key), value) {
            (None, _) => {
                let mut allowed: Vec<&str> = base.keys().map(String::as_str).collect();
                allowed.sort_unstable();
                return Err(format!(
                    "unknown field `{dotted}`; allowed here: {}",
                    allowed.join(", ")
                ));
            }
            (Some(Value::Table(inner)), Value::Table(over)) => merge(inner, over, &dotted)?,
            (Some(Value::Table(_)), other) => {
                return Err(format!(
                    "`{dotted}` must be a table, got {}",
                    other.type_str()
                ));
            }
            (Some(slot), other) => *slot = other,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        x: f64,
        list: Vec<u32>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        name: String,
        inner: Inner,
    }

    const DEFAULT: &str = "name = \"a\"\n[inner]\nx = 1.0\nlist = [1, 2]\n";

    #[test]
    fn resolved_configs_rebuild_the_same_config() {
        use crate::{ScenarioConfig, TrafficConfig};
        let text = "episode_intervals = 30\n[demand]\nglobal_rate_rps = 1000.0";
        let resolved = TrafficConfig::resolved_toml(text, "t").unwrap();
        assert!(resolved.contains("diurnal_gain"), "every field is written");
        assert_eq!(
            TrafficConfig::from_toml(&resolved, "r").unwrap(),
            TrafficConfig::from_toml(text, "t").unwrap()
        );
        assert!(TrafficConfig::resolved_toml("episode_intervals = -1", "t").is_err());
    }

    #[test]
    fn set_overrides_dotted_fields_and_are_validated_by_the_loader() {
        use crate::{ScenarioConfig, TrafficConfig};
        let sets = [
            "episode_intervals=30".to_string(),
            "demand.global_rate_rps=1000".to_string(),
        ];
        let text = apply_overrides("interval_s = 120\n", "t", &sets).unwrap();
        let c = TrafficConfig::from_toml(&text, "t").unwrap();
        assert_eq!((c.episode_intervals, c.interval_s), (30, 120.0));
        assert_eq!(c.demand.global_rate_rps, 1000.0);
        let text = apply_overrides("", "t", &["world.kind=synthetic".into()]).unwrap();
        assert!(text.contains("kind = \"synthetic\""), "{text}");
        for bad in ["nope", "=3", "a..b=1"] {
            assert!(apply_overrides("", "t", &[bad.into()]).is_err(), "{bad}");
        }
        let text = apply_overrides("", "t", &["episode_intervalz=3".into()]).unwrap();
        let e = TrafficConfig::from_toml(&text, "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `episode_intervalz`"), "{e}");
        let e = apply_overrides("x = 1", "t", &["x.y=1".into()]).unwrap_err();
        assert!(e.to_string().contains("`x` is not a table"), "{e}");
    }

    #[test]
    fn user_values_override_defaults() {
        let c: Outer = load_over_default(DEFAULT, "[inner]\nlist = [7]\n", "user.toml").unwrap();
        assert_eq!(
            c,
            Outer {
                name: "a".into(),
                inner: Inner {
                    x: 1.0,
                    list: vec![7]
                }
            }
        );
    }

    #[test]
    fn unknown_and_mistyped_fields_are_named() {
        let err =
            load_over_default::<Outer>(DEFAULT, "[inner]\nxx = 2.0\n", "user.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "config error: user.toml: unknown field `inner.xx`; allowed here: list, x"
        );
        let err = load_over_default::<Outer>(DEFAULT, "[inner]\nx = \"fast\"\n", "user.toml")
            .unwrap_err();
        assert!(err.to_string().contains("user.toml"), "{err}");
        assert!(err.to_string().contains("x"), "{err}");
        let err = load_over_default::<Outer>(DEFAULT, "inner = 3\n", "user.toml").unwrap_err();
        assert!(err.to_string().contains("`inner` must be a table"), "{err}");
        let err = load_over_default::<Outer>(DEFAULT, "name = \n", "user.toml").unwrap_err();
        assert!(
            err.to_string().contains("user.toml") && err.to_string().contains("line 1"),
            "{err}"
        );
    }
}
