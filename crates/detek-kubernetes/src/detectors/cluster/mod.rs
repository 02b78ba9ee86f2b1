//! Cluster detectors, and the API lifecycle table (`data/api-lifecycle.yaml`, from pluto)
//! shared by `deprecated_api_in_use` and `removed_api_in_use`.

use crate::model::{CLUSTER_INFO, HELM_RELEASES, OBJECTS};
use crate::written::{Written, WrittenBy};
use detek_core::{DetectContext, DetectError, Detector, Finding, Level, Outcome};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, LazyLock};

mod cluster_possibly_unused;
mod deprecated_api_in_use;
pub(crate) mod known_component_issue;
mod removed_api_in_use;

pub(super) fn all() -> Vec<Arc<dyn Detector>> {
    vec![
        Arc::new(deprecated_api_in_use::DeprecatedApiInUse),
        Arc::new(removed_api_in_use::RemovedApiInUse),
        Arc::new(known_component_issue::KnownComponentIssue),
        Arc::new(cluster_possibly_unused::ClusterPossiblyUnused),
    ]
}

/// One row of the table: an apiVersion (and kind) with the releases that deprecated and
/// removed it. Versions are `vX.Y.Z` or empty.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ApiRow {
    /// `group/version` as written in objects; a bare group matches all its versions.
    pub version: String,
    /// Empty: every kind of that apiVersion.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub deprecated_in: String,
    #[serde(default)]
    pub removed_in: String,
    #[serde(default)]
    pub replacement_api: String,
    #[serde(default)]
    pub replacement_available_in: String,
    /// Whose releases the versions are: `k8s`, `cert-manager`, `istio`.
    pub component: String,
}

#[derive(Debug, Deserialize)]
struct TableFile {
    #[serde(rename = "deprecated-versions")]
    rows: Vec<ApiRow>,
}

/// The table, parsed once, indexed by the apiVersion (or bare group) rows name.
pub struct ApiTable {
    pub rows: Vec<ApiRow>,
    by_version: HashMap<String, Vec<usize>>,
}

/// pluto's table (copied unchanged) followed by detek's additions, with their sources.
pub(crate) static API_TABLE: LazyLock<ApiTable> = LazyLock::new(|| {
    parse_api_lifecycle_table(concat!(
        include_str!("../../../data/api-lifecycle.yaml"),
        "\n---\n",
        include_str!("../../../data/api-lifecycle-additions.yaml"),
    ))
    .expect("data/api-lifecycle.yaml and its additions are valid pluto tables")
});

/// Parse an API lifecycle table (pluto's `versions.yaml` format, `data/api-lifecycle.yaml`)
/// and index it. Public for the fuzz target (`fuzz/`).
/// Several tables may follow each other as YAML documents (`---`): their rows are joined.
pub fn parse_api_lifecycle_table(text: &str) -> Result<ApiTable, String> {
    let files: Vec<TableFile> = serde_saphyr::from_multiple(text).map_err(|e| e.to_string())?;
    let rows: Vec<ApiRow> = files.into_iter().flat_map(|f| f.rows).collect();
    let mut by_version: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        by_version.entry(row.version.clone()).or_default().push(i);
    }
    Ok(ApiTable { rows, by_version })
}

impl ApiTable {
    /// Rows that describe objects of this apiVersion and kind.
    pub fn rows_for<'a>(
        &'a self,
        api_version: &str,
        kind: &str,
    ) -> impl Iterator<Item = &'a ApiRow> {
        let group = api_version.split_once('/').map(|(g, _)| g);
        let exact = self.by_version.get(api_version).into_iter().flatten();
        let by_group = group
            .and_then(|g| self.by_version.get(g))
            .into_iter()
            .flatten();
        exact
            .chain(by_group)
            .map(|&i| &self.rows[i])
            .filter(move |r| r.kind.is_empty() || r.kind == kind)
    }

    /// The newest release of `component` the table mentions.
    pub fn latest(&self, component: &str) -> Option<(u64, u64, u64)> {
        self.rows
            .iter()
            .filter(|r| r.component == component)
            .flat_map(|r| [&r.deprecated_in, &r.removed_in, &r.replacement_available_in])
            .filter_map(|v| crate::version::parse(v))
            .max()
    }
}

/// The version objects are judged against, and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub version: (u64, u64, u64),
    pub source: String,
}

/// `v1.25`, or `v1.25.3` when the patch matters.
pub(crate) fn show(v: (u64, u64, u64)) -> String {
    if v.2 == 0 {
        format!("v{}.{}", v.0, v.1)
    } else {
        format!("v{}.{}.{}", v.0, v.1, v.2)
    }
}

fn show_str(v: &str) -> String {
    crate::version::parse(v)
        .map(show)
        .unwrap_or_else(|| v.to_string())
}

/// How messages name a component's releases.
fn component_name(component: &str) -> &str {
    match component {
        "k8s" => "Kubernetes",
        other => other,
    }
}

/// The setting that sets a component's target version.
pub(crate) fn setting_for(component: &str) -> String {
    match component {
        "k8s" => "kubernetes.target_version".to_string(),
        other => format!("{other}.target_version"),
    }
}

/// The target version of `component`: its setting; for Kubernetes then the cluster's version;
/// else the newest release of that component the table knows.
fn resolve_target(ctx: &DetectContext, component: &str) -> Result<Target, DetectError> {
    let setting = setting_for(component);
    if let Some(value) = ctx.settings.get_value(&setting) {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let version = crate::version::parse(&text).ok_or_else(|| {
            DetectError::new(format!("setting {setting} = {text:?} is not a version"))
        })?;
        return Ok(Target {
            version,
            source: format!("setting {setting}"),
        });
    }
    if component == "k8s" {
        let info = ctx.get(&CLUSTER_INFO)?;
        if let Some(version) = info
            .server_version
            .as_deref()
            .and_then(crate::version::parse)
        {
            return Ok(Target {
                version,
                source: if info.live {
                    "the cluster's server version".to_string()
                } else {
                    "the newest kubelet version among the scanned nodes".to_string()
                },
            });
        }
    }
    let version = API_TABLE
        .latest(component)
        .ok_or_else(|| DetectError::new(format!("no release of {component} in the API table")))?;
    Ok(Target {
        version,
        source: format!(
            "the newest {} release in the API table (set {setting} to choose)",
            component_name(component)
        ),
    })
}

/// What the table says about an apiVersion at a target version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    /// Deprecated in a release at or before the target, removed after it (or never).
    Deprecated,
    /// Removed in a release at or before the target.
    Removed,
}

pub(crate) fn lifecycle(row: &ApiRow, target: (u64, u64, u64)) -> Option<Lifecycle> {
    let removed = crate::version::parse(&row.removed_in);
    let deprecated = crate::version::parse(&row.deprecated_in);
    match (deprecated, removed) {
        (_, Some(r)) if r <= target => Some(Lifecycle::Removed),
        (Some(d), _) if d <= target => Some(Lifecycle::Deprecated),
        _ => None,
    }
}

/// "use apps/v1 (available since v1.9)" or "no replacement API". The advice names the end of
/// the chain: a replacement that is itself deprecated or removed at `target` is followed to its
/// own (cert-manager's `certmanager.k8s.io/v1alpha1` names `cert-manager.io/v1alpha2`, removed
/// in v1.6 too, whose replacement is `cert-manager.io/v1`).
fn replacement(row: &ApiRow, target: (u64, u64, u64)) -> String {
    let last = replacement_row(&API_TABLE, row, target);
    if last.replacement_api.is_empty() {
        return "no replacement API".to_string();
    }
    match crate::version::parse(&last.replacement_available_in) {
        Some(v) => format!("use {} (available since {})", last.replacement_api, show(v)),
        None => format!("use {}", last.replacement_api),
    }
}

/// The row whose replacement to advise: `row`, or the row of its replacement (same kind and
/// component) while that replacement is deprecated or removed at `target` and has a
/// replacement of its own already available there. A cycle in the table ends the walk.
fn replacement_row<'a>(
    table: &'a ApiTable,
    row: &'a ApiRow,
    target: (u64, u64, u64),
) -> &'a ApiRow {
    let mut at = row;
    let mut seen = vec![row.version.as_str()];
    while !at.replacement_api.is_empty() && !seen.contains(&at.replacement_api.as_str()) {
        seen.push(&at.replacement_api);
        let next = table
            .rows_for(&at.replacement_api, &row.kind)
            .find(|r| r.component == row.component && r.version == at.replacement_api);
        match next {
            Some(next)
                if lifecycle(next, target).is_some()
                    && !next.replacement_api.is_empty()
                    && crate::version::parse(&next.replacement_available_in)
                        .is_none_or(|v| v <= target) =>
            {
                at = next;
            }
            _ => break,
        }
    }
    at
}

fn message(
    api_version: &str,
    kind: &str,
    row: &ApiRow,
    state: Lifecycle,
    target: &Target,
) -> String {
    let component = component_name(&row.component);
    let what = format!("{api_version} {kind}");
    let target_text = show(target.version);
    match state {
        Lifecycle::Removed => format!(
            "{what} was removed in {component} {} (target {target_text}): {}",
            show_str(&row.removed_in),
            replacement(row, target.version)
        ),
        Lifecycle::Deprecated => {
            let removal = if row.removed_in.is_empty() {
                "removal not scheduled".to_string()
            } else {
                format!("removed in {}", show_str(&row.removed_in))
            };
            format!(
                "{what} is deprecated since {component} {}, {removal} (target {target_text}): {}",
                show_str(&row.deprecated_in),
                replacement(row, target.version)
            )
        }
    }
}

/// Both detectors: every object written with an apiVersion (and kind) in `wanted` state at
/// its component's target version. A file's apiVersion is its own; a live object's are the
/// ones its last-applied annotation and managed fields name (the server answers in the version
/// asked for). A live object with neither is not judged, unless no apiVersion of its kind could
/// be in `wanted` state.
pub(crate) fn detect_lifecycle(
    ctx: &DetectContext,
    wanted: Lifecycle,
    level: Level,
) -> Result<Outcome, DetectError> {
    let objects = ctx.get(&OBJECTS)?;
    let mut targets = Targets::default();
    targets.get(ctx, "k8s")?;
    let mut findings = Vec::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut not_judged: Vec<String> = Vec::new();
    let mut kinds_at_stake: HashMap<(&str, &str), bool> = HashMap::new();
    for object in objects {
        // The apiVersions to judge, each with what tells it was written so (live only).
        let written: Vec<(&str, Option<&WrittenBy>)> = match &object.written {
            Written::Document => vec![(&object.api_version, None)],
            Written::Live(versions) => versions
                .iter()
                .map(|w| (w.api_version.as_ref(), Some(w)))
                .collect(),
            Written::Unknown => {
                let group = group_of(&object.api_version);
                let at_stake = match kinds_at_stake.get(&(&*object.kind, group)) {
                    Some(&s) => s,
                    None => {
                        let s = kind_at_stake(ctx, &mut targets, &object.kind, group, wanted)?;
                        kinds_at_stake.insert((&object.kind, group), s);
                        s
                    }
                };
                if at_stake {
                    not_judged.push(object.object_ref().display_name());
                }
                continue;
            }
        };
        'versions: for (api_version, by) in written {
            for row in API_TABLE.rows_for(api_version, &object.kind) {
                let target = targets.get(ctx, &row.component)?;
                if lifecycle(row, target.version) != Some(wanted) {
                    continue;
                }
                let mut finding = Finding::new(
                    level,
                    Some(object.object_ref()),
                    message(api_version, &object.kind, row, wanted, target),
                );
                if let Some(by) = by {
                    finding = finding.with_evidence(by.describe());
                }
                if wanted == Lifecycle::Removed && !row.deprecated_in.is_empty() {
                    finding = finding.with_evidence(format!(
                        "deprecated since {} {}",
                        component_name(&row.component),
                        show_str(&row.deprecated_in)
                    ));
                }
                *counts
                    .entry(format!("{api_version} {}", object.kind))
                    .or_default() += 1;
                findings.push(finding);
                break 'versions; // one finding per object is enough
            }
        }
    }
    // The objects of each Helm release's latest deployed revision, as its chart renders
    // them: an upgrade re-applies these, so a removed API here fails `helm upgrade` even
    // when the cluster's copy was converted. An object already reported is not again.
    let releases = ctx.get(&HELM_RELEASES)?;
    let reported: HashSet<(String, Option<String>, String)> = findings
        .iter()
        .filter_map(|f: &Finding| f.object.as_ref())
        .map(|o| (o.kind.clone(), o.namespace.clone(), o.name.clone()))
        .collect();
    let mut rendered = 0;
    for held in &releases.latest {
        for object in &held.release.objects {
            rendered += 1;
            if reported.contains(&(
                object.kind.to_string(),
                object.namespace.clone(),
                object.name.clone(),
            )) {
                continue;
            }
            for row in API_TABLE.rows_for(&object.api_version, &object.kind) {
                let target = targets.get(ctx, &row.component)?;
                if lifecycle(row, target.version) != Some(wanted) {
                    continue;
                }
                let object_ref = detek_core::ObjectRef {
                    kind: object.kind.to_string(),
                    api_version: Some(object.api_version.to_string()),
                    namespace: object.namespace.clone(),
                    name: object.name.clone(),
                    container: None,
                    source: held.secret.source.clone(),
                    sources: held.secret.sources.clone(),
                };
                let mut finding = Finding::new(
                    level,
                    Some(object_ref),
                    message(&object.api_version, &object.kind, row, wanted, target),
                )
                .with_evidence(format!(
                    "rendered by {} ({})",
                    held.release.describe(),
                    held.secret.display_name()
                ));
                if wanted == Lifecycle::Removed && !row.deprecated_in.is_empty() {
                    finding = finding.with_evidence(format!(
                        "deprecated since {} {}",
                        component_name(&row.component),
                        show_str(&row.deprecated_in)
                    ));
                }
                *counts
                    .entry(format!("{} {}", object.api_version, object.kind))
                    .or_default() += 1;
                findings.push(finding);
                break;
            }
        }
    }
    let mut out = Outcome::new().evaluated(objects.len() - not_judged.len() + rendered);
    if !releases.unreadable.is_empty() {
        let names: Vec<String> = releases
            .unreadable
            .iter()
            .map(|(secret, why)| format!("{}: {why}", secret.display_name()))
            .collect();
        out.attach(
            "Not judged: Helm release Secrets that could not be read",
            serde_json::json!(names),
        );
    }
    for finding in findings {
        out.push(finding);
    }
    out.attach(
        "Target versions",
        serde_json::Value::Object(
            targets
                .0
                .iter()
                .map(|(component, t)| {
                    (
                        component.clone(),
                        serde_json::json!({ "version": show(t.version), "source": t.source }),
                    )
                })
                .collect(),
        ),
    );
    if !counts.is_empty() {
        out.attach("Objects per apiVersion and kind", serde_json::json!(counts));
    }
    if !not_judged.is_empty() {
        let reason = format!(
            "{} live object(s) have neither a last-applied annotation nor managed fields: the \
             apiVersion they were written with cannot be told (the API server answers in the \
             version asked for)",
            not_judged.len()
        );
        out.attach(
            "Not judged: live objects whose written apiVersion is unknown",
            serde_json::json!(not_judged),
        );
        out = out.not_judged(reason);
    }
    Ok(out)
}

/// Target versions by component, resolved once each.
#[derive(Default)]
struct Targets(BTreeMap<String, Target>);

impl Targets {
    fn get(&mut self, ctx: &DetectContext, component: &str) -> Result<&Target, DetectError> {
        if !self.0.contains_key(component) {
            let target = resolve_target(ctx, component)?;
            self.0.insert(component.to_string(), target);
        }
        Ok(&self.0[component])
    }
}

/// `apps` of `apps/v1`, `""` of `v1`.
fn group_of(api_version: &str) -> &str {
    api_version.split_once('/').map_or("", |(g, _)| g)
}

/// Whether an object of `kind` (served in `group`) written in an unknown apiVersion could have
/// been written in one that is in `wanted` state: a row of the table names the kind, or names
/// every kind of a version of that group.
fn kind_at_stake(
    ctx: &DetectContext,
    targets: &mut Targets,
    kind: &str,
    group: &str,
    wanted: Lifecycle,
) -> Result<bool, DetectError> {
    for row in &API_TABLE.rows {
        let names_it = if row.kind.is_empty() {
            // `group/version`, or a bare group (every version of it).
            row.version
                .split_once('/')
                .map_or(&*row.version, |(g, _)| g)
                == group
        } else {
            row.kind == kind
        };
        if names_it && lifecycle(row, targets.get(ctx, &row.component)?.version) == Some(wanted) {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_and_knows_the_classics() {
        let table = &*API_TABLE;
        assert_eq!(
            table.rows.iter().filter(|r| r.component == "k8s").count(),
            86 + 4, // pluto's, and detek's four v1beta1 access reviews
        );
        assert_eq!(table.latest("external-snapshotter"), Some((6, 0, 0)));
        assert_eq!(table.latest("k8s"), Some((1, 36, 0)));
        assert_eq!(table.latest("cert-manager"), Some((1, 6, 0)));
        let rows: Vec<_> = table.rows_for("extensions/v1beta1", "Deployment").collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].replacement_api, "apps/v1");
        assert_eq!(lifecycle(rows[0], (1, 15, 0)), Some(Lifecycle::Deprecated));
        assert_eq!(lifecycle(rows[0], (1, 16, 0)), Some(Lifecycle::Removed));
        assert_eq!(lifecycle(rows[0], (1, 8, 9)), None);
        // A bare group matches every version; an empty kind matches every kind.
        assert_eq!(
            table
                .rows_for("rbac.istio.io/v1alpha1", "AuthorizationPolicies")
                .count(),
            1
        );
        assert_eq!(
            table
                .rows_for("authentication.istio.io/v1alpha1", "Policy")
                .count(),
            1
        );
        assert_eq!(table.rows_for("apps/v1", "Deployment").count(), 0);
    }

    #[test]
    fn advice_follows_replacements_that_are_gone_too() {
        let row = API_TABLE
            .rows_for("certmanager.k8s.io/v1alpha1", "Certificate")
            .next()
            .unwrap();
        assert_eq!(row.replacement_api, "cert-manager.io/v1alpha2");
        // At cert-manager v1.6, cert-manager.io/v1alpha2 is removed too: its own replacement.
        assert_eq!(replacement(row, (1, 6, 0)), "use cert-manager.io/v1");
        // At v1.4 it is deprecated: still worth skipping.
        assert_eq!(replacement(row, (1, 4, 0)), "use cert-manager.io/v1");
        // At v0.11 it is the current API.
        assert_eq!(replacement(row, (0, 11, 0)), "use cert-manager.io/v1alpha2");
        // Kubernetes: FlowSchema flowcontrol v1beta1 (removed in 1.29) → v1beta3 (deprecated in
        // 1.24, removed in 1.32) → v1; at 1.23 v1beta3 is not deprecated yet.
        let flow = API_TABLE
            .rows_for("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema")
            .next()
            .unwrap();
        assert_eq!(
            replacement(flow, (1, 32, 0)),
            "use flowcontrol.apiserver.k8s.io/v1"
        );
        assert_eq!(
            replacement(flow, (1, 23, 0)),
            "use flowcontrol.apiserver.k8s.io/v1beta3"
        );
    }

    #[test]
    fn a_cycle_in_the_table_ends_the_walk() {
        let table = parse_api_lifecycle_table(
            "deprecated-versions:\n\
             - {version: a.io/v1, kind: K, deprecated-in: v1.0.0, removed-in: v1.1.0, replacement-api: a.io/v2, component: k8s}\n\
             - {version: a.io/v2, kind: K, deprecated-in: v1.0.0, removed-in: v1.1.0, replacement-api: a.io/v1, component: k8s}\n",
        )
        .unwrap();
        let last = replacement_row(&table, &table.rows[0], (1, 2, 0));
        assert_eq!(last.version, "a.io/v2");
        assert_eq!(last.replacement_api, "a.io/v1");
    }
}
