//! Helm 3 release Secrets (`sh.helm.release.v1.<release>.v<revision>`, type
//! `helm.sh/release.v1`).
//!
//! Helm keeps each revision of a release in a Secret whose `release` key is the release record:
//! base64 (the Secret's own encoding), then base64 again, then gzip, then JSON. The record holds
//! the chart, the user's values and `manifest`, the rendered objects as a multi-document YAML.
//! Of it detek keeps, at ingestion, the release's name, namespace, revision, status, chart, and
//! of each rendered object only what the API lifecycle checks read: its apiVersion, kind,
//! namespace and name. Values, chart files, hooks and every field of the rendered objects
//! (a rendered Secret's data included, which is reduced further than a Secret read from a
//! file) are dropped here, as the rest of a Secret is (see [`crate::secrets`]).
//!
//! Only the latest deployed revision of each release is judged: [`latest_deployed`].

use crate::model::Items;
use crate::secrets::SecretInfo;
use base64::Engine;
use detek_core::ObjectRef;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

/// The Secret type Helm 3 gives release Secrets.
pub const HELM_RELEASE_TYPE: &str = "helm.sh/release.v1";

/// A release record's JSON, decompressed, is refused beyond this (a Secret holds at most 1 MiB;
/// rendered manifests compress about tenfold).
const MAX_RELEASE_BYTES: u64 = 64 * 1024 * 1024;

/// What detek keeps of one revision of a Helm 3 release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelmRelease {
    pub name: String,
    pub namespace: String,
    pub revision: u64,
    /// `deployed`, `superseded`, `failed`, `pending-upgrade`...
    pub status: String,
    /// `chart-1.2.3`.
    pub chart: String,
    /// The rendered objects of the revision's manifest, in order.
    pub objects: Vec<RenderedObject>,
}

/// One object of a release's manifest, reduced to its identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedObject {
    pub api_version: Arc<str>,
    pub kind: Arc<str>,
    /// The object's own namespace, else the release's (Helm installs there); `None` for kinds
    /// detek knows to be cluster-scoped.
    pub namespace: Option<String>,
    pub name: String,
}

impl HelmRelease {
    /// `shop/web revision 3 (chart web-1.2.3)`.
    pub fn describe(&self) -> String {
        format!(
            "Helm release {}/{} revision {} (chart {})",
            self.namespace, self.name, self.revision, self.chart
        )
    }
}

/// Decode a release Secret's `release` value (as written in the Secret's `data`: base64).
/// The manifest is read only for a `deployed` revision: the others are never judged.
pub fn decode_release(data_value: &str) -> Result<HelmRelease, String> {
    let b64 = &base64::engine::general_purpose::STANDARD;
    let once = b64
        .decode(data_value.trim())
        .map_err(|e| format!("release is not valid base64: {e}"))?;
    let twice = b64
        .decode(once.trim_ascii())
        .map_err(|e| format!("release is not Helm's base64: {e}"))?;
    drop(once);
    // Helm gzips the record; older writers did not.
    let mut json = Vec::new();
    if twice.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(twice.as_slice())
            .take(MAX_RELEASE_BYTES + 1)
            .read_to_end(&mut json)
            .map_err(|e| format!("release is not valid gzip: {e}"))?;
        if json.len() as u64 > MAX_RELEASE_BYTES {
            return Err(format!(
                "release record over {} MiB decompressed: refused",
                MAX_RELEASE_BYTES >> 20
            ));
        }
    } else {
        json = twice;
    }
    #[derive(serde::Deserialize)]
    struct Record {
        #[serde(default)]
        name: String,
        #[serde(default)]
        namespace: String,
        #[serde(default)]
        version: u64,
        #[serde(default)]
        info: Option<Info>,
        #[serde(default)]
        chart: Option<Chart>,
        #[serde(default)]
        manifest: String,
    }
    #[derive(serde::Deserialize)]
    struct Info {
        #[serde(default)]
        status: String,
    }
    #[derive(serde::Deserialize)]
    struct Chart {
        metadata: Option<ChartMeta>,
    }
    #[derive(serde::Deserialize)]
    struct ChartMeta {
        #[serde(default)]
        name: String,
        #[serde(default)]
        version: String,
    }
    // Only these fields are read; values (`config`), chart files and hooks are skipped unread.
    let record: Record =
        serde_json::from_slice(&json).map_err(|e| format!("release is not Helm's JSON: {e}"))?;
    drop(json);
    let status = record.info.map(|i| i.status).unwrap_or_default();
    let chart = record
        .chart
        .and_then(|c| c.metadata)
        .map(|m| format!("{}-{}", m.name, m.version))
        .unwrap_or_default();
    let objects = if status == "deployed" {
        rendered_objects(&record.manifest, &record.namespace)?
    } else {
        Vec::new()
    };
    Ok(HelmRelease {
        name: record.name,
        namespace: record.namespace,
        revision: record.version,
        status,
        chart,
        objects,
    })
}

/// The identity of each object of a multi-document YAML manifest.
fn rendered_objects(manifest: &str, namespace: &str) -> Result<Vec<RenderedObject>, String> {
    let mut out = Vec::new();
    for doc in split_documents(manifest) {
        let value: Value =
            serde_saphyr::from_str_with_options(doc, crate::ingest::yaml_options(doc.len()))
                .map_err(|e| {
                    format!(
                        "manifest: malformed YAML document: {}",
                        e.to_string().lines().next().unwrap_or("")
                    )
                })?;
        let field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let (Some(api_version), Some(kind)) = (field(&value, "apiVersion"), field(&value, "kind"))
        else {
            continue;
        };
        let metadata = value.get("metadata").cloned().unwrap_or(Value::Null);
        let cluster_scoped = crate::model::KINDS
            .iter()
            .any(|k| k.kind == kind && !k.namespaced)
            || CLUSTER_SCOPED.contains(&kind.as_str());
        out.push(RenderedObject {
            api_version: Arc::from(api_version),
            kind: Arc::from(kind),
            namespace: (!cluster_scoped)
                .then(|| field(&metadata, "namespace").unwrap_or_else(|| namespace.to_string())),
            name: field(&metadata, "name").unwrap_or_default(),
        });
    }
    Ok(out)
}

/// Cluster-scoped kinds charts render that detek has no typed model for.
const CLUSTER_SCOPED: &[&str] = &[
    "CustomResourceDefinition",
    "PodSecurityPolicy",
    "PriorityClass",
    "StorageClass",
    "APIService",
    "CSIDriver",
    "RuntimeClass",
    "VolumeSnapshotClass",
    "ClusterIssuer",
];

/// The documents of a multi-document YAML text (split on `---` lines), blank ones left out.
fn split_documents(text: &str) -> impl Iterator<Item = &str> {
    let mut starts = vec![0];
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            starts.push(offset);
            starts.push(offset + line.len());
        }
        offset += line.len();
    }
    starts.push(text.len());
    let bounds: Vec<(usize, usize)> = starts.chunks(2).map(|c| (c[0], c[1])).collect();
    bounds
        .into_iter()
        .map(move |(a, b)| &text[a..b])
        .filter(|d| {
            d.lines().any(|l| {
                let t = l.trim();
                !t.is_empty() && !t.starts_with('#')
            })
        })
}

/// The revision of each release to judge: the highest `deployed` one per namespace and name
/// (after a failed upgrade the previous revision is still the deployed one; superseded
/// revisions are history).
pub fn latest_deployed<'a>(
    releases: impl IntoIterator<Item = &'a HelmRelease>,
) -> Vec<&'a HelmRelease> {
    let mut latest: BTreeMap<(&str, &str), &HelmRelease> = BTreeMap::new();
    for r in releases {
        if r.status != "deployed" {
            continue;
        }
        let slot = latest.entry((&r.namespace, &r.name)).or_insert(r);
        if r.revision > slot.revision {
            *slot = r;
        }
    }
    latest.into_values().collect()
}

/// The releases of a scan to judge (the `kubernetes/helm-releases` key): the latest deployed
/// revision of each, and the release Secrets that could not be read.
#[derive(Debug, Clone, Default)]
pub struct HelmReleases {
    pub latest: Vec<ReleaseSecret>,
    /// A release Secret whose record could not be decoded, and why.
    pub unreadable: Vec<(ObjectRef, String)>,
}

/// A release revision and the Secret holding it.
#[derive(Debug, Clone)]
pub struct ReleaseSecret {
    pub secret: ObjectRef,
    pub release: Arc<HelmRelease>,
}

impl HelmReleases {
    /// From the Secrets of a scan (already reduced).
    pub fn from_secrets(secrets: &Items<SecretInfo>) -> HelmReleases {
        let mut out = HelmReleases::default();
        let mut decoded = Vec::new();
        for secret in secrets.iter() {
            match &secret.helm_release {
                Some(Ok(release)) => decoded.push((secret, release)),
                Some(Err(e)) => out.unreadable.push((secret.object_ref(), e.clone())),
                None => {}
            }
        }
        let latest = latest_deployed(decoded.iter().map(|(_, r)| r.as_ref()));
        for release in latest {
            if let Some((secret, r)) = decoded
                .iter()
                .find(|(_, r)| std::ptr::eq(r.as_ref(), release))
            {
                out.latest.push(ReleaseSecret {
                    secret: secret.object_ref(),
                    release: Arc::clone(r),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(record: &serde_json::Value) -> String {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(record.to_string().as_bytes()).unwrap();
        let b64 = &base64::engine::general_purpose::STANDARD;
        b64.encode(b64.encode(gz.finish().unwrap()))
    }

    #[test]
    fn keeps_the_identity_of_each_rendered_object_only() {
        let manifest = "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ndata:\n  password: aHVudGVyMg==\n---\n# Source: c/templates/b.yaml\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\n";
        let value = encode(&serde_json::json!({
            "name": "web", "namespace": "shop", "version": 3,
            "info": {"status": "deployed"},
            "chart": {"metadata": {"name": "web", "version": "1.2.3"}},
            "config": {"password": "hunter2"},
            "manifest": manifest,
        }));
        let release = decode_release(&value).unwrap();
        assert_eq!(
            release.describe(),
            "Helm release shop/web revision 3 (chart web-1.2.3)"
        );
        let got: Vec<String> = release
            .objects
            .iter()
            .map(|o| format!("{} {} {:?} {}", o.api_version, o.kind, o.namespace, o.name))
            .collect();
        assert_eq!(
            got,
            [
                "v1 Secret Some(\"shop\") creds",
                "rbac.authorization.k8s.io/v1 ClusterRole None reader"
            ]
        );
        let kept = format!("{release:?}");
        assert!(
            !kept.contains("hunter2") && !kept.contains("aHVudGVyMg"),
            "{kept}"
        );
    }

    #[test]
    fn superseded_revisions_keep_no_manifest_and_the_latest_deployed_wins() {
        let rev = |version: u64, status: &str| {
            decode_release(&encode(&serde_json::json!({
                "name": "web", "namespace": "shop", "version": version,
                "info": {"status": status},
                "manifest": "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n",
            })))
            .unwrap()
        };
        let all = [rev(1, "superseded"), rev(3, "failed"), rev(2, "deployed")];
        assert!(all[0].objects.is_empty());
        let latest = latest_deployed(&all);
        assert_eq!(latest.len(), 1);
        assert_eq!(latest[0].revision, 2);
    }

    #[test]
    fn refuses_what_is_not_a_release() {
        assert!(decode_release("not base64!").is_err());
        let b64 = &base64::engine::general_purpose::STANDARD;
        assert!(decode_release(&b64.encode(b64.encode("{not json"))).is_err());
    }
}
