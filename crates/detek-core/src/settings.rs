//! Scan-wide settings and the typed settings each detector declares.
//!
//! Values live under dotted names: `<detector id>.<setting>` (`pod_restarting.threshold`) for a
//! detector's own settings, `<area>.<setting>` (`kubernetes.target_version`) for settings shared
//! by several detectors. A detector declares its settings once — name, type, default, one-line
//! doc — through a type implementing [`DetectorSettings`]; `detek explain` shows them and the
//! catalogue validates the config file against them, so a misspelt key or a wrong type is an
//! error when the config is loaded, never a silent fallback to the default.

use crate::traits::{DetectError, Text};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::fmt;

/// Scan-wide setting values, filled from the CLI and the config file.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    values: Map<String, Value>,
}

impl Settings {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        self.values.insert(name.into(), value.into());
    }

    pub fn get_value(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// The setting as `T`, or `default` when absent or of the wrong shape. For scan-wide
    /// settings; a detector's own settings are read typed with [`Settings::detector`].
    pub fn get_or<T: DeserializeOwned>(&self, name: &str, default: T) -> T {
        self.values
            .get(name)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or(default)
    }

    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(Value::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.values.iter()
    }

    /// The settings of detector `id` as its declared type: every declared field that has no
    /// value takes the type's default. A value of the wrong type is an error (the catalogue
    /// rejects it when the config is loaded; this is the last line for values set in code).
    pub fn detector<T: DetectorSettings>(&self, id: &str) -> Result<T, DetectError> {
        let defaults = serde_json::to_value(T::default())
            .map_err(|e| DetectError::new(format!("settings of {id}: {e}")))?;
        let Value::Object(mut merged) = defaults else {
            return Err(DetectError::new(format!(
                "settings of {id}: the settings type is not a struct"
            )));
        };
        let prefix = format!("{id}.");
        for (name, value) in &self.values {
            if let Some(field) = name.strip_prefix(&prefix)
                && merged.contains_key(field)
            {
                merged.insert(field.to_string(), value.clone());
            }
        }
        serde_json::from_value(Value::Object(merged))
            .map_err(|e| DetectError::new(format!("settings of {id}: {e}")))
    }
}

/// The type of a setting's value, as the config file writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingType {
    Bool,
    Integer,
    /// A non-negative integer.
    Unsigned,
    Number,
    String,
    /// A list of strings.
    StringList,
    /// A list of non-negative integers (ports).
    UnsignedList,
    /// Any YAML/JSON value (checked by the detector itself).
    Any,
}

impl SettingType {
    /// Whether `value` has this type.
    pub fn accepts(self, value: &Value) -> bool {
        match self {
            SettingType::Bool => value.is_boolean(),
            SettingType::Integer => value.is_i64() || value.is_u64(),
            SettingType::Unsigned => value.is_u64(),
            SettingType::Number => value.is_number(),
            SettingType::String => value.is_string(),
            SettingType::StringList => value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string)),
            SettingType::UnsignedList => value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_u64)),
            SettingType::Any => true,
        }
    }

    /// How the type is named in docs and error messages.
    pub fn name(self) -> &'static str {
        match self {
            SettingType::Bool => "boolean",
            SettingType::Integer => "integer",
            SettingType::Unsigned => "non-negative integer",
            SettingType::Number => "number",
            SettingType::String => "string",
            SettingType::StringList => "list of strings",
            SettingType::UnsignedList => "list of non-negative integers",
            SettingType::Any => "any value",
        }
    }
}

impl fmt::Display for SettingType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The Rust types a setting may have, and how the config file writes them.
pub trait SettingValue {
    const TYPE: SettingType;
}

macro_rules! setting_value {
    ($ty:ty => $kind:ident) => {
        impl SettingValue for $ty {
            const TYPE: SettingType = SettingType::$kind;
        }
    };
}
setting_value!(bool => Bool);
setting_value!(i32 => Integer);
setting_value!(i64 => Integer);
setting_value!(u16 => Unsigned);
setting_value!(u32 => Unsigned);
setting_value!(u64 => Unsigned);
setting_value!(usize => Unsigned);
setting_value!(f64 => Number);
setting_value!(String => String);
setting_value!(Vec<String> => StringList);
setting_value!(Vec<u16> => UnsignedList);
setting_value!(Value => Any);

impl<T: SettingValue> SettingValue for Option<T> {
    const TYPE: SettingType = T::TYPE;
}

/// One declared setting: its name (the key under the detector in `detek.yaml`), type, default
/// and a one-line doc.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingSpec {
    pub name: Text,
    #[serde(rename = "type")]
    pub kind: SettingType,
    /// `null` when the setting has no default (absent means "not configured").
    pub default: Value,
    pub doc: Text,
}

impl SettingSpec {
    pub fn new(
        name: impl Into<Text>,
        kind: SettingType,
        default: Value,
        doc: impl Into<Text>,
    ) -> Self {
        SettingSpec {
            name: name.into(),
            kind,
            default,
            doc: doc.into(),
        }
    }

    /// Whether `value` is acceptable for this setting (`null` never is).
    pub fn check(&self, value: &Value) -> Result<(), String> {
        if self.kind.accepts(value) && !value.is_null() {
            Ok(())
        } else {
            Err(format!(
                "expected type {}, found {}",
                self.kind,
                describe_value(value)
            ))
        }
    }
}

fn describe_value(value: &Value) -> String {
    let shown = value.to_string();
    let shown = if shown.chars().count() > 40 {
        format!("{}…", shown.chars().take(40).collect::<String>())
    } else {
        shown
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(n) if n.is_i64() && n.as_i64().is_some_and(|v| v < 0) => "a negative integer",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    };
    format!("{kind} ({shown})")
}

/// A detector's settings as one typed struct: `#[derive(DetectorSettings)]` (detek-macros)
/// writes `specs` from the fields, their types, `Default` and their `///` docs.
pub trait DetectorSettings: Default + Serialize + DeserializeOwned {
    fn specs() -> Vec<SettingSpec>;
}

/// A detector without settings.
#[derive(Debug, Default, Clone, Copy, Serialize, serde::Deserialize)]
pub struct NoSettings {}

impl DetectorSettings for NoSettings {
    fn specs() -> Vec<SettingSpec> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Threshold {
        threshold: i64,
        check_cpu: bool,
    }
    impl Default for Threshold {
        fn default() -> Self {
            Threshold {
                threshold: 5,
                check_cpu: true,
            }
        }
    }
    impl DetectorSettings for Threshold {
        fn specs() -> Vec<SettingSpec> {
            vec![
                SettingSpec::new("threshold", i64::TYPE, 5.into(), "restarts"),
                SettingSpec::new("check_cpu", bool::TYPE, true.into(), "cpu"),
            ]
        }
    }

    #[test]
    fn typed_settings_merge_values_over_defaults() {
        let mut s = Settings::new();
        s.set("pod_restarting.threshold", 9);
        s.set("other.threshold", 1);
        let t: Threshold = s.detector("pod_restarting").unwrap();
        assert_eq!(
            t,
            Threshold {
                threshold: 9,
                check_cpu: true
            }
        );
        s.set("pod_restarting.threshold", "ten");
        let err = s.detector::<Threshold>("pod_restarting").unwrap_err();
        assert!(
            err.to_string().contains("settings of pod_restarting"),
            "{err}"
        );
    }

    #[test]
    fn types_accept_what_the_config_writes() {
        let spec = SettingSpec::new("threshold", SettingType::Integer, 5.into(), "");
        assert!(spec.check(&Value::from(3)).is_ok());
        assert_eq!(
            spec.check(&Value::from("ten")).unwrap_err(),
            "expected type integer, found a string (\"ten\")"
        );
        assert!(SettingType::StringList.accepts(&serde_json::json!(["a", "b"])));
        assert!(!SettingType::StringList.accepts(&serde_json::json!(["a", 1])));
        assert!(SettingType::UnsignedList.accepts(&serde_json::json!([22, 443])));
        assert!(!SettingType::UnsignedList.accepts(&serde_json::json!([22, -1])));
        assert!(!SettingType::Unsigned.accepts(&Value::from(-1)));
    }
}
