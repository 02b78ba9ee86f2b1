//! The Pod as the model holds it: metadata and status typed, the spec typed on first use.
//!
//! Pods are most of a live cluster's objects, and a typed `PodSpec` is the bulk of a typed Pod:
//! k8s-openapi lays every optional field out inline, so one container takes 2.3 KB and one
//! volume 3.3 KB before any of their text. Yet the spec checks read one spec per controller
//! revision (the replicas of a revision share their template, see [`crate::pods::PodSpecs`]),
//! and the checks on each Pod read its status and a few spec fields. So a live Pod keeps its
//! spec as compact JSON text ([`LazyPodSpec`]) and types it the first time something reads it
//! (`Deref` to [`PodSpec`]); the fields read for every Pod have their own accessors that do not
//! type it ([`LazyPodSpec::node_name`], [`LazyPodSpec::host_network`],
//! [`LazyPodSpec::claim_names`]). The text is kept LZ4-compressed against a dictionary of what
//! the API server writes into every spec ([`SPEC_DICTIONARY`]: its defaults, the service-account
//! token volume): most of a spec is those, so it shrinks several times for little CPU.
//!
//! Pods read from files are typed whole where they are read, as every other kind: a field that
//! cannot be converted is then reported with its file and line and the Pod read without it.
//! Objects from an API server were validated by it, so a live spec types without loss; if one
//! did not, it is read leniently (the field left out) when first used.

pub use crate::pod_status::{ContainerState, ContainerStatus, PodStatus};
use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use std::ops::Deref;
use std::sync::OnceLock;

/// A Pod (`v1`): see the module documentation for how its spec is held.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Pod {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: Option<LazyPodSpec>,
    #[serde(default)]
    pub status: Option<PodStatus>,
}

impl Pod {
    /// A Pod with a typed spec (tests, and code that builds Pods).
    pub fn new(metadata: ObjectMeta, spec: Option<PodSpec>, status: Option<PodStatus>) -> Pod {
        Pod {
            metadata,
            spec: spec.map(LazyPodSpec::from),
            status,
        }
    }
}

impl Serialize for Pod {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(rename = "apiVersion")]
            api_version: &'static str,
            kind: &'static str,
            metadata: &'a ObjectMeta,
            #[serde(skip_serializing_if = "Option::is_none")]
            spec: Option<&'a LazyPodSpec>,
            #[serde(skip_serializing_if = "Option::is_none")]
            status: Option<&'a PodStatus>,
        }
        Wire {
            api_version: "v1",
            kind: "Pod",
            metadata: &self.metadata,
            spec: self.spec.as_ref(),
            status: self.status.as_ref(),
        }
        .serialize(serializer)
    }
}

/// A Pod's spec: its JSON text, typed on first use (`Deref` to [`PodSpec`]), or typed already.
#[derive(Debug, Clone, Default)]
pub struct LazyPodSpec {
    /// The spec as compact JSON, compressed ([`compress`]) once `packed`; empty once typed
    /// from the start.
    text: Box<[u8]>,
    packed: bool,
    typed: OnceLock<Box<PodSpec>>,
    eager_node_name: Option<Box<str>>,
    eager_host_network: bool,
    /// `claimName` of each `persistentVolumeClaim` volume.
    eager_claims: Box<[Box<str>]>,
}

impl LazyPodSpec {
    /// `spec.nodeName`, without typing the spec.
    pub fn node_name(&self) -> Option<&str> {
        self.eager_node_name.as_deref()
    }

    /// `spec.hostNetwork`, without typing the spec.
    pub fn host_network(&self) -> bool {
        self.eager_host_network
    }

    /// The PersistentVolumeClaims the Pod's volumes name (`volumes[].persistentVolumeClaim
    /// .claimName`), without typing the spec.
    pub fn claim_names(&self) -> impl Iterator<Item = &str> {
        self.eager_claims.iter().map(|c| &**c)
    }

    /// Whether the spec has been typed (read by something, or typed where it was read).
    pub fn is_typed(&self) -> bool {
        self.typed.get().is_some()
    }

    /// The typed spec, typing it now if needed.
    pub fn typed(&self) -> &PodSpec {
        self.typed.get_or_init(|| {
            let text = self.json();
            let mut spec = serde_json::from_slice(&text)
                .or_else(|_| {
                    // Not from an API server, or from a newer one: leave out what does not
                    // convert (files are typed where they are read and report it).
                    let value: serde_json::Value = serde_json::from_slice(&text)?;
                    crate::model::read_lenient_quiet::<PodSpec>(value)
                })
                .unwrap_or_default();
            crate::compact::pod_spec(&mut spec);
            Box::new(spec)
        })
    }

    /// Type the spec now, leaving out (and naming in `dropped`) fields that do not convert.
    pub(crate) fn type_now(&mut self, dropped: &mut Vec<crate::model::Dropped>) {
        if self.typed.get().is_some() {
            return;
        }
        let text = self.json();
        let spec = match serde_json::from_slice::<PodSpec>(&text) {
            Ok(spec) => spec,
            Err(_) => {
                let mut own = Vec::new();
                let spec = serde_json::from_slice(&text)
                    .map_err(|e| e.to_string())
                    .and_then(|value| crate::model::read_lenient::<PodSpec>(value, &mut own))
                    .unwrap_or_default();
                dropped.extend(own.into_iter().map(|d| d.under("spec")));
                spec
            }
        };
        self.set_typed(spec);
    }

    /// The typed spec to change it (typing it first if needed).
    pub fn typed_mut(&mut self) -> &mut PodSpec {
        self.typed();
        self.text = Box::default();
        self.typed.get_mut().expect("typed just above")
    }

    /// Compress the text: a live Pod's spec is kept until the end of the scan, most often
    /// never typed. (A Pod read from a file is typed instead: [`LazyPodSpec::type_now`].)
    pub(crate) fn pack(&mut self) {
        if !self.packed && self.typed.get().is_none() {
            self.text = compress(&self.text);
            self.packed = true;
        }
    }

    /// The spec's JSON text.
    fn json(&self) -> std::borrow::Cow<'_, [u8]> {
        if self.packed {
            decompress(&self.text).into()
        } else {
            (&*self.text).into()
        }
    }

    fn set_typed(&mut self, spec: PodSpec) {
        self.eager_node_name = spec.node_name.as_deref().map(Box::from);
        self.eager_host_network = spec.host_network == Some(true);
        self.eager_claims = spec
            .volumes
            .iter()
            .flatten()
            .filter_map(|v| {
                Some(Box::from(
                    v.persistent_volume_claim.as_ref()?.claim_name.as_str(),
                ))
            })
            .collect();
        self.text = Box::default();
        self.packed = false;
        self.typed = OnceLock::from(Box::new(spec));
    }
}

impl From<PodSpec> for LazyPodSpec {
    fn from(spec: PodSpec) -> Self {
        let mut lazy = LazyPodSpec::default();
        lazy.set_typed(spec);
        lazy
    }
}

impl Deref for LazyPodSpec {
    type Target = PodSpec;
    fn deref(&self) -> &PodSpec {
        self.typed()
    }
}

impl PartialEq for LazyPodSpec {
    fn eq(&self, other: &Self) -> bool {
        match (self.typed.get(), other.typed.get()) {
            (None, None) => self.json() == other.json(),
            _ => self.typed() == other.typed(),
        }
    }
}

impl<'de> Deserialize<'de> for LazyPodSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The fields read for every Pod, taken from the text without typing the rest.
        #[derive(Deserialize)]
        struct Eager {
            #[serde(rename = "nodeName", default)]
            node_name: Option<Box<str>>,
            #[serde(rename = "hostNetwork", default)]
            host_network: Option<bool>,
            #[serde(default)]
            volumes: Option<Vec<EagerVolume>>,
        }
        #[derive(Deserialize)]
        struct EagerVolume {
            #[serde(rename = "persistentVolumeClaim", default)]
            claim: Option<EagerClaim>,
        }
        #[derive(Deserialize)]
        struct EagerClaim {
            #[serde(rename = "claimName", default)]
            claim_name: Box<str>,
        }
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let eager: Eager = serde_json::from_str(raw.get()).map_err(serde::de::Error::custom)?;
        Ok(LazyPodSpec {
            text: minify(raw.get()).into_boxed_bytes(),
            packed: false,
            typed: OnceLock::new(),
            eager_node_name: eager.node_name,
            eager_host_network: eager.host_network == Some(true),
            eager_claims: eager
                .volumes
                .into_iter()
                .flatten()
                .filter_map(|v| Some(v.claim?.claim_name))
                .collect(),
        })
    }
}

impl Serialize for LazyPodSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.typed.get() {
            Some(spec) => spec.serialize(serializer),
            None => {
                let text = self.json();
                match serde_json::from_slice::<&RawValue>(&text) {
                    Ok(raw) => raw.serialize(serializer),
                    Err(e) => Err(serde::ser::Error::custom(e)),
                }
            }
        }
    }
}

/// What the API server writes into every Pod spec (its defaults, the service-account token
/// volume and its mount, the not-ready/unreachable tolerations) and the names of the fields
/// most specs carry, as compact JSON: the dictionary a spec is compressed against, so a typical
/// spec is stored as little more than what sets it apart. Any text works as a dictionary; this
/// one only decides how well specs compress.
pub const SPEC_DICTIONARY: &str = concat!(
    r#"{"volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"data"}},{"name":"config","configMap":{"name":"config","defaultMode":420}},{"name":"secret","secret":{"secretName":"secret","defaultMode":420}},{"name":"tmp","emptyDir":{}},"#,
    r#"{"name":"kube-api-access-","projected":{"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},{"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}},{"downwardAPI":{"items":[{"path":"namespace","fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"}}]}}],"defaultMode":420}}],"#,
    r#""initContainers":[{"name":"init","image":"","command":["sh","-c",""],"#,
    r#""containers":[{"name":"","image":"","command":[""],"args":["--"],"workingDir":"","#,
    r#""ports":[{"name":"http","containerPort":8080,"protocol":"TCP"},{"name":"metrics","containerPort":9090,"protocol":"TCP"}],"#,
    r#""envFrom":[{"configMapRef":{"name":""}},{"secretRef":{"name":""}}],"#,
    r#""env":[{"name":"","value":""},{"name":"POD_NAME","valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"metadata.name"}}},{"name":"POD_NAMESPACE","valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"}}},{"name":"","valueFrom":{"secretKeyRef":{"name":"","key":""}}}],"#,
    r#""resources":{"limits":{"cpu":"","memory":""},"requests":{"cpu":"","memory":""}},"#,
    r#""volumeMounts":[{"name":"data","mountPath":"/data"},{"name":"kube-api-access-","readOnly":true,"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}],"#,
    r#""livenessProbe":{"httpGet":{"path":"/healthz","port":"http","scheme":"HTTP"},"initialDelaySeconds":10,"timeoutSeconds":1,"periodSeconds":10,"successThreshold":1,"failureThreshold":3},"#,
    r#""readinessProbe":{"httpGet":{"path":"/ready","port":"http","scheme":"HTTP"},"timeoutSeconds":1,"periodSeconds":10,"successThreshold":1,"failureThreshold":3},"#,
    r#""startupProbe":{"tcpSocket":{"port":8080},"timeoutSeconds":1,"periodSeconds":10,"successThreshold":1,"failureThreshold":30},"#,
    r#""lifecycle":{"preStop":{"exec":{"command":["sh","-c","sleep 5"]}}},"#,
    r#""terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent","#,
    r#""securityContext":{"allowPrivilegeEscalation":false,"readOnlyRootFilesystem":true,"runAsNonRoot":true,"runAsUser":1000,"capabilities":{"drop":["ALL"]},"seccompProfile":{"type":"RuntimeDefault"}}}],"#,
    r#""restartPolicy":"Always","terminationGracePeriodSeconds":30,"activeDeadlineSeconds":0,"dnsPolicy":"ClusterFirst","nodeSelector":{"kubernetes.io/os":"linux"},"#,
    r#""serviceAccountName":"default","serviceAccount":"default","automountServiceAccountToken":false,"nodeName":"","hostNetwork":true,"#,
    r#""securityContext":{"runAsUser":1000,"runAsGroup":1000,"fsGroup":1000},"imagePullSecrets":[{"name":""}],"hostname":"","subdomain":"","#,
    r#""affinity":{"podAntiAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":100,"podAffinityTerm":{"labelSelector":{"matchLabels":{"app":""}},"topologyKey":"kubernetes.io/hostname"}}]}},"#,
    r#""schedulerName":"default-scheduler","tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300},{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}],"#,
    r#""priorityClassName":"","priority":0,"enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority"}"#,
);

/// `json` LZ4-compressed against [`SPEC_DICTIONARY`], its length first.
fn compress(json: &[u8]) -> Box<[u8]> {
    lz4_flex::block::compress_prepend_size_with_dict(json, SPEC_DICTIONARY.as_bytes())
        .into_boxed_slice()
}

/// The text [`compress`] took (empty for a spec typed from the start).
fn decompress(text: &[u8]) -> Vec<u8> {
    if text.is_empty() {
        return Vec::new();
    }
    lz4_flex::block::decompress_size_prepended_with_dict(text, SPEC_DICTIONARY.as_bytes())
        .expect("compressed by `compress` in this process")
}

/// `json` without the whitespace between its tokens (indented dumps are mostly spaces).
fn minify(json: &str) -> Box<str> {
    let bytes = json.as_bytes();
    if !bytes
        .iter()
        .any(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
    {
        return Box::from(json);
    }
    let mut out = Vec::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for &b in bytes {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
            in_string = b == b'"';
            out.push(b);
        }
    }
    // Only ASCII whitespace outside strings was removed: still UTF-8.
    String::from_utf8(out)
        .expect("removing ASCII whitespace keeps UTF-8")
        .into_boxed_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_spec_is_typed_on_first_use_and_reads_as_written() {
        let text = r#"{"metadata": {"name": "web-0"},
            "spec": {"nodeName": "node-1", "hostNetwork": true,
                     "containers": [{"name": "app", "image": "nginx:1.27", "args": ["a b", "\"c\" d"]}]},
            "status": {"phase": "Running"}}"#;
        let mut pod: Pod = serde_json::from_str(text).unwrap();
        pod.spec.as_mut().unwrap().pack();
        let spec = pod.spec.as_ref().unwrap();
        assert!(!spec.is_typed());
        assert_eq!(spec.node_name(), Some("node-1"));
        assert!(spec.host_network());
        assert_eq!(spec.claim_names().count(), 0);
        let stored = decompress(&spec.text);
        assert_eq!(
            std::str::from_utf8(&stored).unwrap(),
            r#"{"nodeName":"node-1","hostNetwork":true,"containers":[{"name":"app","image":"nginx:1.27","args":["a b","\"c\" d"]}]}"#
        );
        assert!(spec.text.len() < stored.len());
        assert_eq!(spec.containers[0].args.as_ref().unwrap()[1], "\"c\" d");
        assert!(spec.is_typed());
        // Written back as read.
        let again: serde_json::Value = serde_json::to_value(&pod).unwrap();
        assert_eq!(again["spec"]["containers"][0]["image"], "nginx:1.27");
        assert_eq!(again["kind"], "Pod");
    }

    #[test]
    fn a_tree_reads_into_the_same_pod() {
        let value = serde_json::json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n", "containers": [],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-web-0"}}, {"name": "tmp", "emptyDir": {}}]}});
        let from_tree: Pod = serde_json::from_value(value.clone()).unwrap();
        let from_text: Pod = serde_json::from_str(&value.to_string()).unwrap();
        assert_eq!(from_tree, from_text);
        let spec = from_tree.spec.as_ref().unwrap();
        assert_eq!(spec.node_name(), Some("n"));
        assert_eq!(spec.claim_names().collect::<Vec<_>>(), ["data-web-0"]);
        let typed = Pod::new(Default::default(), Some(spec.typed().clone()), None);
        assert_eq!(
            typed
                .spec
                .as_ref()
                .unwrap()
                .claim_names()
                .collect::<Vec<_>>(),
            ["data-web-0"]
        );
    }

    #[test]
    fn a_field_that_does_not_convert_is_left_out_and_named() {
        let pod: Pod = serde_json::from_str(
            r#"{"spec": {"containers": [{"name": "app", "ports": [{"containerPort": "http"}]}]}}"#,
        )
        .unwrap();
        let mut spec = pod.spec.unwrap();
        let mut dropped = Vec::new();
        spec.type_now(&mut dropped);
        assert_eq!(spec.containers[0].name, "app");
        assert_eq!(
            dropped.iter().map(|d| d.path.as_str()).collect::<Vec<_>>(),
            ["spec.containers[0].ports[0].containerPort"]
        );
    }
}
