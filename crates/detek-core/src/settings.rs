use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Scan-wide settings that detectors may read: thresholds, the target Kubernetes version,
/// allowed registries... Names are dotted, e.g. `kubernetes.target_version` or
/// `pod_restarting.threshold`. Filled from the CLI and the config file.
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

    /// The setting as `T`, or `default` when absent or of the wrong shape.
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
}
