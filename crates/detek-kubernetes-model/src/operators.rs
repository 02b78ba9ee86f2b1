//! Pods that operators create at run time for their custom resources, by the labels they
//! give them: a Service in a manifest set that selects them (kube-prometheus' `prometheus-k8s`
//! selects the Pods of `Prometheus/monitoring/k8s`) selects Pods that exist once the operator
//! has run, though no workload template in the files has those labels.
//!
//! The label sets are those the operators document and set (prometheus-operator: the StatefulSet
//! Pods of a Prometheus, Alertmanager or ThanosRuler, plus `spec.podMetadata.labels`; Rook: the
//! daemons of a CephCluster, CephObjectStore, CephFilesystem and CephNFS).

use serde_json::Value;
use std::collections::BTreeMap;

/// The labels of one kind of Pod an operator creates: label → value, `None` for a value the
/// operator chooses at run time (a Rook NFS server's `instance: a`).
pub type PodLabels = BTreeMap<String, Option<String>>;

/// The Pods the operator of `group`/`kind` creates for object `name` in `namespace` (its whole
/// manifest `value`); empty for kinds no known operator turns into Pods.
pub fn pods_made_by(
    group: &str,
    kind: &str,
    name: &str,
    namespace: &str,
    value: &Value,
) -> Vec<PodLabels> {
    let set = |pairs: &[(&str, Option<&str>)]| -> PodLabels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect()
    };
    match (group, kind) {
        ("monitoring.coreos.com", "Prometheus" | "Alertmanager" | "ThanosRuler") => {
            let app = match kind {
                "Prometheus" => "prometheus",
                "Alertmanager" => "alertmanager",
                _ => "thanos-ruler",
            };
            let mut labels = set(&[
                ("app.kubernetes.io/name", Some(app)),
                ("app.kubernetes.io/managed-by", Some("prometheus-operator")),
                ("app.kubernetes.io/instance", Some(name)),
                (app, Some(name)),
            ]);
            if kind == "Prometheus" {
                labels.insert("operator.prometheus.io/name".into(), Some(name.into()));
                labels.insert("operator.prometheus.io/shard".into(), None);
            }
            // The operator copies spec.podMetadata.labels onto the Pods.
            if let Some(extra) = value
                .pointer("/spec/podMetadata/labels")
                .and_then(Value::as_object)
            {
                for (k, v) in extra {
                    if let Some(v) = v.as_str() {
                        labels
                            .entry(k.clone())
                            .or_insert_with(|| Some(v.to_string()));
                    }
                }
            }
            vec![labels]
        }
        ("ceph.rook.io", "CephCluster") => ["rook-ceph-mgr", "rook-ceph-mon", "rook-ceph-osd"]
            .iter()
            .map(|app| {
                let mut labels = set(&[("app", Some(app)), ("rook_cluster", Some(namespace))]);
                if *app == "rook-ceph-mgr" {
                    // Set on the active manager by Rook's sidecar.
                    labels.insert("mgr_role".into(), None);
                }
                labels
            })
            .collect(),
        ("ceph.rook.io", "CephObjectStore") => vec![set(&[
            ("app", Some("rook-ceph-rgw")),
            ("rook_cluster", Some(namespace)),
            ("rook_object_store", Some(name)),
        ])],
        ("ceph.rook.io", "CephFilesystem") => vec![set(&[
            ("app", Some("rook-ceph-mds")),
            ("rook_cluster", Some(namespace)),
            ("rook_file_system", Some(name)),
        ])],
        ("ceph.rook.io", "CephNFS") => vec![set(&[
            ("app", Some("rook-ceph-nfs")),
            ("rook_cluster", Some(namespace)),
            ("ceph_nfs", Some(name)),
            ("instance", None),
        ])],
        _ => Vec::new(),
    }
}

/// Whether a Pod with `labels` is selected by `selector` (every key present, with its value, or
/// with a value the operator chooses).
pub fn selected_by(labels: &PodLabels, selector: &BTreeMap<String, String>) -> bool {
    !selector.is_empty()
        && selector.iter().all(|(k, v)| {
            labels
                .get(k)
                .is_some_and(|have| have.as_deref().is_none_or(|h| h == v))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prometheus_pods_carry_pod_metadata_labels() {
        let value = json!({"spec": {"podMetadata": {"labels": {"app.kubernetes.io/part-of": "kube-prometheus"}}}});
        let pods = pods_made_by(
            "monitoring.coreos.com",
            "Prometheus",
            "k8s",
            "monitoring",
            &value,
        );
        let selector: BTreeMap<String, String> = [
            ("app.kubernetes.io/name", "prometheus"),
            ("app.kubernetes.io/instance", "k8s"),
            ("app.kubernetes.io/part-of", "kube-prometheus"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert!(selected_by(&pods[0], &selector));
        let other: BTreeMap<String, String> = [("prometheus".to_string(), "other".to_string())]
            .into_iter()
            .collect();
        assert!(!selected_by(&pods[0], &other));
        assert!(!selected_by(&pods[0], &BTreeMap::new()));
    }
}
