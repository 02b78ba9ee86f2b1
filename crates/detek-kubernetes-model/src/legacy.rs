//! Rewrites of removed API shapes into today's, so old manifests get today's checks.

use serde_json::{Map, Value, json};

/// `extensions/v1beta1` and `networking.k8s.io/v1beta1` Ingress backends
/// (`serviceName`/`servicePort`) → `networking.k8s.io/v1` (`service.name`/`service.port`).
pub fn ingress_v1beta1_to_v1(ingress: &mut Value) {
    let Some(spec) = ingress.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(backend) = spec.remove("backend") {
        spec.insert("defaultBackend".into(), convert_backend(backend));
    }
    if let Some(rules) = spec.get_mut("rules").and_then(Value::as_array_mut) {
        for rule in rules {
            let Some(paths) = rule
                .get_mut("http")
                .and_then(|h| h.get_mut("paths"))
                .and_then(Value::as_array_mut)
            else {
                continue;
            };
            for path in paths {
                if let Some(p) = path.as_object_mut() {
                    if let Some(backend) = p.remove("backend") {
                        p.insert("backend".into(), convert_backend(backend));
                    }
                    // pathType became required in v1; v1beta1's default was ImplementationSpecific.
                    p.entry("pathType")
                        .or_insert_with(|| Value::String("ImplementationSpecific".into()));
                }
            }
        }
    }
}

fn convert_backend(backend: Value) -> Value {
    let Value::Object(mut b) = backend else {
        return backend;
    };
    if b.contains_key("service") || b.contains_key("resource") {
        return Value::Object(b);
    }
    let name = b.remove("serviceName");
    let port = b.remove("servicePort");
    let mut out = Map::new();
    if let Some(name) = name {
        let port = match port {
            Some(Value::Number(n)) => json!({ "number": n }),
            Some(Value::String(s)) => match s.parse::<i64>() {
                Ok(n) => json!({ "number": n }),
                Err(_) => json!({ "name": s }),
            },
            _ => json!({}),
        };
        out.insert("service".into(), json!({ "name": name, "port": port }));
    }
    Value::Object(out)
}
