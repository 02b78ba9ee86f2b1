//! Fixtures for keys only a live cluster produces (`*.store.json`), so that detectors reading
//! them have fail/pass fixtures like every other detector.
//!
//! A store fixture is a JSON object whose members are key ids; `_`-prefixed members are
//! comments (`_source` says where the data came from). Each key is built from *raw captured
//! answers* by the same code the live collector runs, never deserialised from a hand-made
//! model:
//!
//! ```json
//! {
//!   "_source": "captured from ...",
//!   "kubernetes/apiserver-health": {
//!     "server": "https://127.0.0.1:6443",
//!     "responses": [
//!       {"path": "/readyz", "status": 500, "body": "[-]etcd failed: reason withheld\n..."},
//!       {"path": "/livez", "error": "no answer within the request timeout (30s)"}
//!     ]
//!   }
//! }
//! ```
//!
//! `crate::testing::run_on` routes inputs named `*.store.json` here; every other input still
//! goes to the snapshot collector.

use crate::ingest::Input;
use crate::model::{APISERVER_HEALTH, ApiServerHealth, HealthEndpoint};
use detek_core::{
    BoxFuture, CollectContext, CollectError, Collector, CollectorMeta, KeyId, Produced,
};
use serde_json::Value;

/// Keys a store fixture can provide.
pub const FIXTURE_KEYS: &[KeyId] = &[APISERVER_HEALTH.id()];

/// Is this input a store fixture (`*.store.json`)?
pub fn is_store_fixture(input: &Input) -> bool {
    matches!(input, Input::Path(p) if p.to_string_lossy().ends_with(".store.json"))
}

/// Provides [`FIXTURE_KEYS`] from store fixtures.
pub struct StoreFixtureCollector {
    meta: CollectorMeta,
    inputs: Vec<Input>,
}

impl StoreFixtureCollector {
    pub fn new(inputs: Vec<Input>) -> Self {
        StoreFixtureCollector {
            meta: CollectorMeta {
                id: "test/store-fixture",
                description: "live-only keys from captured answers (tests)",
                labels: vec!["test"],
                requires: vec![],
                produces: FIXTURE_KEYS.to_vec(),
            },
            inputs,
        }
    }

    fn read(&self) -> Result<Produced, String> {
        let mut produced = Produced::new();
        for input in &self.inputs {
            let Input::Path(path) = input else { continue };
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let doc: Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let Value::Object(members) = doc else {
                return Err(format!("{}: not a JSON object", path.display()));
            };
            for (key, value) in members {
                if key.starts_with('_') {
                    continue;
                }
                match key.as_str() {
                    k if k == APISERVER_HEALTH.id() => {
                        produced.put(&APISERVER_HEALTH, health_from_capture(&value)?);
                    }
                    other => {
                        return Err(format!(
                            "{}: no fixture loader for key {other}",
                            path.display()
                        ));
                    }
                }
            }
        }
        Ok(produced)
    }
}

/// The health key from captured `/readyz`/`/livez` answers, parsed as the collector parses them.
pub fn health_from_capture(value: &Value) -> Result<ApiServerHealth, String> {
    let server = value
        .get("server")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut endpoints = Vec::new();
    for r in value
        .get("responses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let path = r
            .get("path")
            .and_then(Value::as_str)
            .ok_or("a response without path")?;
        endpoints.push(
            match (
                r.get("status").and_then(Value::as_u64),
                r.get("error").and_then(Value::as_str),
            ) {
                (Some(status), _) => {
                    let body = r.get("body").and_then(Value::as_str).unwrap_or("");
                    HealthEndpoint::from_response(path, status as u16, body)
                }
                (None, Some(error)) => HealthEndpoint::unanswered(path, error),
                (None, None) => {
                    return Err(format!("response for {path} has neither status nor error"));
                }
            },
        );
    }
    Ok(ApiServerHealth { server, endpoints })
}

impl Collector for StoreFixtureCollector {
    fn meta(&self) -> &CollectorMeta {
        &self.meta
    }

    fn collect<'a>(
        &'a self,
        _ctx: CollectContext<'a>,
    ) -> BoxFuture<'a, Result<Produced, CollectError>> {
        Box::pin(async move { self.read().map_err(CollectError::new) })
    }
}
