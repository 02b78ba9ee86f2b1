//! Discovery and paginated listing of one kind.

use super::client::{Api, Failure};
use bytes::Bytes;
use detek_kubernetes_model::model::KindInfo;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::sync::Arc;
use tokio::sync::mpsc;

pub(crate) const JSON: &str = "application/json";
/// A `Table` of metadata-only rows: the server keeps every value to itself. No fallback to
/// plain JSON is offered: a server that cannot print a Table answers 406 and the Secrets fail,
/// rather than send their data.
const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

/// What one kind's listing came to.
#[derive(Debug, Clone)]
pub(crate) enum KindOutcome {
    Listed {
        objects: u64,
        pages: u64,
    },
    /// The server does not serve this group/version or resource.
    NotServed(String),
    Failed(Failure),
}

/// Scope of the listing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    pub namespace: Option<String>,
    pub label_selector: Option<String>,
    pub page_size: u32,
}

/// `/api/v1` or `/apis/<group>/<version>`.
pub(crate) fn group_version_path(kind: &KindInfo) -> String {
    if kind.group.is_empty() {
        format!("/api/{}", kind.api_version)
    } else {
        format!("/apis/{}", kind.api_version)
    }
}

/// The collection URL of a kind in a scope.
fn collection_path(kind: &KindInfo, scope: &Scope) -> String {
    let prefix = group_version_path(kind);
    match (&scope.namespace, kind.namespaced) {
        (Some(ns), true) => format!("{prefix}/namespaces/{}/{}", encode(ns), kind.plural),
        _ => format!("{prefix}/{}", kind.plural),
    }
}

/// Query parameters for a kind: the label selector applies to namespaced kinds (cluster-scoped
/// objects such as Nodes are listed whole); with a namespace, the Namespace kind is narrowed to
/// that one namespace.
fn base_query(
    kind: &KindInfo,
    scope: &Scope,
    field_selector: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut q = Vec::new();
    if let (Some(sel), true) = (&scope.label_selector, kind.namespaced) {
        q.push(("labelSelector", sel.clone()));
    }
    let mut fields: Vec<String> = field_selector.into_iter().map(str::to_string).collect();
    if let (Some(ns), "namespaces") = (&scope.namespace, kind.plural) {
        fields.push(format!("metadata.name={ns}"));
    }
    if !fields.is_empty() {
        q.push(("fieldSelector", fields.join(",")));
    }
    q
}

fn with_query(path: &str, query: &[(&str, String)]) -> String {
    if query.is_empty() {
        return path.to_string();
    }
    let q: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    format!("{path}?{}", q.join("&"))
}

/// Percent-encode a query value (RFC 3986 unreserved characters pass).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Discovery of one group/version: the plural names it serves, or `None` when the server
/// does not serve the group/version at all. Errors other than 404 are returned: the caller
/// then lists anyway (discovery only decides what to skip).
pub(crate) async fn discover(
    api: &Api,
    group_version_path: &str,
) -> Result<Option<Vec<String>>, Failure> {
    match api.get(group_version_path, JSON).await {
        Ok(answer) => {
            let doc: Value = serde_json::from_slice(&answer.body).map_err(|e| Failure::Status {
                code: answer.status.as_u16(),
                reason: "BadDiscovery".into(),
                message: format!("discovery document {group_version_path} is not JSON: {e}"),
            })?;
            let names = doc
                .get("resources")
                .and_then(Value::as_array)
                .map(|rs| {
                    rs.iter()
                        .filter_map(|r| r.get("name").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            Ok(Some(names))
        }
        Err(f) if f.code() == Some(404) => Ok(None),
        Err(f) => Err(f),
    }
}

/// How a page is turned into objects for the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A `<Kind>List`: fed as is (the model unwraps it).
    List,
    /// Secrets of type `kubernetes.io/tls`: everything but `tls.crt` is blanked before the page
    /// leaves this module.
    TlsSecrets,
    /// Other Secrets, as a metadata-only `Table` (deployed Helm release Secrets left out:
    /// `HelmReleases` lists them).
    SecretTable,
    /// Helm 3 release Secrets (type `helm.sh/release.v1`) of deployed revisions: everything but
    /// the `release` record is dropped as the page is parsed, and the model keeps of the record
    /// only the release's identity and its rendered objects' (`detek_kubernetes_model::helm`).
    HelmReleases,
}

/// The label Helm sets on a release Secret with the revision's status.
const HELM_DEPLOYED: &str = "status=deployed";

/// A page as handed to the model.
#[derive(Debug)]
pub(crate) enum Page {
    /// A `<Kind>List` as JSON texts (one or more lists of its items, in order), managedFields
    /// compacted: the model types their items straight from the text (`ObjectSet::add_json`),
    /// no JSON tree built.
    Texts(Vec<Arc<str>>),
    /// Secrets, already reduced as a tree (`ObjectSet::add_value`).
    Tree(Value),
}

/// Objects per page when a whole list (`page_size` 0) got no answer in time.
pub const FALLBACK_PAGE_SIZE: u32 = 500;

/// List one kind, sending each page (in a form the model can ingest) to `tx`: the whole list
/// in one request when `scope.page_size` is 0, again page by page if that times out.
pub(crate) async fn list_kind(
    api: &Api,
    kind: &KindInfo,
    scope: &Scope,
    shape: Shape,
    tx: &mpsc::Sender<Page>,
) -> KindOutcome {
    let outcome = list_pages(api, kind, scope, shape, tx).await;
    match outcome {
        // Nothing was handed on: a first request that timed out.
        KindOutcome::Failed(Failure::Timeout(_)) if scope.page_size == 0 => {
            let paged = Scope {
                page_size: FALLBACK_PAGE_SIZE,
                ..scope.clone()
            };
            list_pages(api, kind, &paged, shape, tx).await
        }
        other => other,
    }
}

/// List one kind page by page (`scope.page_size` objects at a time; 0: one request).
async fn list_pages(
    api: &Api,
    kind: &KindInfo,
    scope: &Scope,
    shape: Shape,
    tx: &mpsc::Sender<Page>,
) -> KindOutcome {
    let (field_selector, accept) = match shape {
        Shape::List => (None, JSON),
        Shape::TlsSecrets => (Some("type=kubernetes.io/tls"), JSON),
        Shape::SecretTable => (Some("type!=kubernetes.io/tls"), TABLE),
        Shape::HelmReleases => (Some("type=helm.sh/release.v1"), JSON),
    };
    let path = collection_path(kind, scope);
    let mut query = base_query(kind, scope, field_selector);
    if shape == Shape::HelmReleases {
        match query.iter_mut().find(|(k, _)| *k == "labelSelector") {
            Some((_, sel)) => *sel = format!("{sel},{HELM_DEPLOYED}"),
            None => query.push(("labelSelector", HELM_DEPLOYED.to_string())),
        }
    }
    if shape == Shape::SecretTable {
        query.push(("includeObject", "Metadata".to_string()));
    }
    let (mut objects, mut pages) = (0u64, 0u64);
    let mut continue_token: Option<String> = None;
    let mut parsing: Option<Parsing> = None;
    loop {
        let mut q = query.clone();
        if scope.page_size > 0 {
            q.push(("limit", scope.page_size.to_string()));
        }
        if let Some(token) = &continue_token {
            q.push(("continue", token.clone()));
        }
        let answer = match api.get(&with_query(&path, &q), accept).await {
            Ok(a) => a,
            Err(f) if f.code() == Some(404) && pages == 0 => {
                return KindOutcome::NotServed(format!("{path} answered 404"));
            }
            Err(Failure::Status { code: 410, .. }) if continue_token.is_some() => {
                // The snapshot the continue token points at was compacted away (the list took
                // longer than etcd keeps history). Pages already taken cannot be recalled, so the
                // kind fails rather than be reported half-listed.
                return KindOutcome::Failed(Failure::Status {
                    code: 410,
                    reason: "Expired".into(),
                    message: format!(
                        "the list expired after {pages} page(s): the server no longer holds the \
                         snapshot its continue token points at (etcd compacted it); scan again"
                    ),
                });
            }
            Err(f) => return KindOutcome::Failed(f),
        };
        let token = match continue_of(&answer.body) {
            Ok(t) => t,
            Err(e) => return bad_body(answer.status.as_u16(), &path, &e),
        };
        // The previous page is handed on before this one is parsed: at most one page per kind
        // is being parsed while the next is fetched.
        if let Some(previous) = parsing.take()
            && let Err(outcome) = hand_on(previous, tx, &mut objects).await
        {
            return outcome;
        }
        let (status, body) = (answer.status.as_u16(), answer.body);
        let p = path.clone();
        parsing = Some(tokio::task::spawn_blocking(move || {
            shape_page(body, shape).map_err(|e| bad_body(status, &p, &e))
        }));
        pages += 1;
        continue_token = token;
        if continue_token.is_none() {
            if let Some(last) = parsing.take()
                && let Err(outcome) = hand_on(last, tx, &mut objects).await
            {
                return outcome;
            }
            return KindOutcome::Listed { objects, pages };
        }
    }
}

type Parsing = tokio::task::JoinHandle<Result<(Page, u64), KindOutcome>>;

/// Wait for a page's parsing and send it to the model.
async fn hand_on(
    parsing: Parsing,
    tx: &mpsc::Sender<Page>,
    objects: &mut u64,
) -> Result<(), KindOutcome> {
    let (page, n) = parsing.await.map_err(|e| {
        KindOutcome::Failed(Failure::Status {
            code: 0,
            reason: "Internal".into(),
            message: format!("parsing a page failed: {e}"),
        })
    })??;
    *objects += n;
    // A closed channel means the scan was abandoned: nothing more to do either way.
    let _ = tx.send(page).await;
    Ok(())
}

fn bad_body(status: u16, path: &str, e: &dyn std::fmt::Display) -> KindOutcome {
    KindOutcome::Failed(Failure::Status {
        code: status,
        reason: "BadBody".into(),
        message: format!("{path}: the answer is not JSON: {e}"),
    })
}

/// The continue token of a list page, read without building the items (serde skips them).
fn continue_of(body: &[u8]) -> Result<Option<String>, serde_json::Error> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(default)]
        metadata: Option<HeadMeta>,
    }
    #[derive(serde::Deserialize)]
    struct HeadMeta {
        #[serde(default, rename = "continue")]
        continue_: Option<String>,
    }
    let head: Head = serde_json::from_slice(body)?;
    Ok(head
        .metadata
        .and_then(|m| m.continue_)
        .filter(|s| !s.is_empty()))
}

/// Shape one page for the model: managedFields compacted (in the text), Secrets reduced, a
/// Secret Table turned into a SecretList. Returns the page and its number of objects.
fn shape_page(body: Bytes, shape: Shape) -> Result<(Page, u64), PageError> {
    if shape == Shape::List {
        let text = std::str::from_utf8(&body).map_err(PageError::Utf8)?;
        let (batches, objects) = compact_page(text)?;
        // The body goes before the batches are copied into the page: a whole Pod list is
        // hundreds of MB, and three copies of it at once were a scan's peak of memory.
        drop(body);
        let texts = batches.into_iter().map(Arc::from).collect();
        return Ok((Page::Texts(texts), objects));
    }
    let mut page: Value = serde_json::from_slice(&body)?;
    let mut objects = 0;
    let page = match shape {
        Shape::List | Shape::TlsSecrets => {
            if let Some(Value::Array(items)) = page.get_mut("items") {
                objects = items.len() as u64;
                for item in items.iter_mut() {
                    reduce_secret(item);
                }
            }
            page
        }
        Shape::HelmReleases => {
            if let Some(Value::Array(items)) = page.get_mut("items") {
                objects = items.len() as u64;
                for item in items.iter_mut() {
                    reduce_helm_release(item);
                }
            }
            page
        }
        Shape::SecretTable => {
            let mut list = table_to_secret_list(page);
            if let Some(Value::Array(items)) = list.get_mut("items") {
                items.retain(|s| !is_deployed_helm_release(s));
            }
            objects = list
                .get("items")
                .and_then(Value::as_array)
                .map_or(0, |i| i.len() as u64);
            list
        }
    };
    Ok((Page::Tree(page), objects))
}

#[derive(Debug)]
enum PageError {
    Json(serde_json::Error),
    Utf8(std::str::Utf8Error),
}

impl From<serde_json::Error> for PageError {
    fn from(e: serde_json::Error) -> Self {
        PageError::Json(e)
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::Json(e) => e.fmt(f),
            PageError::Utf8(e) => e.fmt(f),
        }
    }
}

/// The page's items with each one's `metadata.managedFields` cut down, as lists of at most
/// [`BATCH_BYTES`] of text each (`{"apiVersion":…,"kind":"PodList","items":[…]}`), and the
/// number of items.
///
/// managedFields is bookkeeping of server-side apply, often a third of an object's size. One
/// fact in it matters: the apiVersion each manager wrote with, the only trace on a live object
/// of a deprecated or removed API a client still uses (the server returns every object in the
/// version asked for). Each entry is cut down to that — `manager` and `apiVersion`, duplicates
/// dropped — and the model reads it (`detek_kubernetes_model::written`) and drops the rest.
/// The page is split with `RawValue`s (slices of the text): no JSON tree is built, and the
/// text is copied once, shorter. Batches let the model type a whole list of 80,000 Pods part
/// by part, each part's text dropped once typed, rather than hold all the text until the end.
fn compact_page(text: &str) -> Result<(Vec<String>, u64), serde_json::Error> {
    compact_page_in(text, BATCH_BYTES)
}

/// [`compact_page`] with batches of `batch_bytes`.
fn compact_page_in(
    text: &str,
    batch_bytes: usize,
) -> Result<(Vec<String>, u64), serde_json::Error> {
    #[derive(serde::Deserialize)]
    struct PageItems<'a> {
        #[serde(rename = "apiVersion", borrow, default)]
        api_version: Option<&'a RawValue>,
        #[serde(borrow, default)]
        kind: Option<&'a RawValue>,
        #[serde(borrow, default)]
        items: Option<Vec<&'a RawValue>>,
    }
    #[derive(serde::Deserialize)]
    struct Item<'a> {
        #[serde(borrow, default)]
        metadata: Option<Meta<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct Meta<'a> {
        #[serde(rename = "managedFields", borrow, default)]
        managed_fields: Option<&'a RawValue>,
    }
    // Parsing the whole page also checks that all of it is JSON, as a tree would.
    let page: PageItems = serde_json::from_str(text)?;
    let mut head = String::from("{");
    if let Some(v) = page.api_version {
        head.push_str(&format!("\"apiVersion\":{},", v.get()));
    }
    if let Some(k) = page.kind {
        head.push_str(&format!("\"kind\":{},", k.get()));
    }
    head.push_str("\"items\":[");
    let items = page.items.unwrap_or_default();
    let objects = items.len() as u64;
    let mut batches = Vec::new();
    let mut batch = String::new();
    for item in items {
        let item_text = item.get();
        // Items that are not objects, or with metadata that is not one, are left as they are.
        let fields = match serde_json::from_str::<Item>(item_text) {
            Ok(Item {
                metadata:
                    Some(Meta {
                        managed_fields: Some(fields),
                    }),
            }) => Some(fields.get()),
            _ => None,
        };
        if !batch.is_empty() && batch.len() + item_text.len() > batch_bytes {
            batch.push_str("]}");
            batches.push(std::mem::take(&mut batch));
        }
        if batch.is_empty() {
            batch.reserve(batch_bytes.min(text.len()) + head.len() + 2);
            batch.push_str(&head);
        } else {
            batch.push(',');
        }
        match fields {
            Some(fields) => {
                let at = fields.as_ptr() as usize - item_text.as_ptr() as usize;
                batch.push_str(&item_text[..at]);
                batch.push_str(&compact_managed_fields_text(fields));
                batch.push_str(&item_text[at + fields.len()..]);
            }
            None => batch.push_str(item_text),
        }
    }
    if !batch.is_empty() {
        batch.push_str("]}");
        batches.push(batch);
    }
    Ok((batches, objects))
}

/// Text per batch of a compacted page (see [`compact_page`]).
const BATCH_BYTES: usize = 8 << 20;

/// A managedFields array as text cut down to `manager` and `apiVersion` of each entry,
/// duplicates dropped; `null` for anything but an array (the tree path removes it).
fn compact_managed_fields_text(fields: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Entry<'a> {
        #[serde(borrow, default)]
        manager: Option<&'a RawValue>,
        #[serde(rename = "apiVersion", borrow, default)]
        api_version: Option<&'a RawValue>,
    }
    let Ok(entries) = serde_json::from_str::<Vec<&RawValue>>(fields) else {
        return "null".into();
    };
    let mut kept: Vec<(Option<&str>, Option<&str>)> = Vec::new();
    for entry in entries {
        // Entries that are not objects are dropped.
        if !entry.get().starts_with('{') {
            continue;
        }
        let Ok(e) = serde_json::from_str::<Entry>(entry.get()) else {
            continue;
        };
        let compact = (
            e.manager.map(RawValue::get),
            e.api_version.map(RawValue::get),
        );
        if !kept.contains(&compact) {
            kept.push(compact);
        }
    }
    let mut out = String::from("[");
    for (i, (manager, api_version)) in kept.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        let fields: Vec<String> = [("manager", manager), ("apiVersion", api_version)]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| format!("\"{k}\":{v}")))
            .collect();
        out.push_str(&fields.join(","));
        out.push('}');
    }
    out.push(']');
    out
}

/// Annotation kubectl apply writes: the whole applied manifest, a Secret's data included.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Keep of a Secret only what the model reads: metadata (without the annotation that copies
/// the data and without managedFields), type, key names, and the value of `tls.crt`.
/// Every other value is replaced by an empty string here, as the page is parsed.
pub(crate) fn reduce_secret(item: &mut Value) {
    let Value::Object(map) = item else { return };
    strip_secret_metadata(map);
    map.remove("stringData");
    if let Some(Value::Object(data)) = map.get_mut("data") {
        for (key, value) in data.iter_mut() {
            if key != "tls.crt" {
                *value = Value::String(String::new());
            }
        }
    }
}

/// Keep of a Helm release Secret its metadata (stripped as any Secret's), type, and the
/// `release` record, which the model decodes and reduces (no other key is kept, not even named).
pub(crate) fn reduce_helm_release(item: &mut Value) {
    let Value::Object(map) = item else { return };
    strip_secret_metadata(map);
    map.remove("stringData");
    if let Some(Value::Object(data)) = map.get_mut("data") {
        data.retain(|key, _| key == "release");
    }
}

/// A Secret (as a metadata-only table row) that `Shape::HelmReleases` lists in full.
fn is_deployed_helm_release(secret: &Value) -> bool {
    secret.get("type").and_then(Value::as_str) == Some("helm.sh/release.v1")
        && secret
            .pointer("/metadata/labels/status")
            .and_then(Value::as_str)
            == Some("deployed")
}

fn strip_secret_metadata(object: &mut Map<String, Value>) {
    if let Some(Value::Object(meta)) = object.get_mut("metadata") {
        meta.remove("managedFields");
        if let Some(Value::Object(annotations)) = meta.get_mut("annotations") {
            annotations.remove(LAST_APPLIED);
        }
    }
}

/// A metadata-only `Table` of Secrets into a `SecretList` with no data: name, labels,
/// annotations and `type` (from the Type column) of each Secret.
pub(crate) fn table_to_secret_list(table: Value) -> Value {
    let type_column = table
        .get("columnDefinitions")
        .and_then(Value::as_array)
        .and_then(|cols| {
            cols.iter()
                .position(|c| c.get("name").and_then(Value::as_str) == Some("Type"))
        });
    let mut items = Vec::new();
    if let Value::Object(mut map) = table
        && let Some(Value::Array(rows)) = map.remove("rows")
    {
        for row in rows {
            let Value::Object(mut row) = row else {
                continue;
            };
            let type_ = type_column
                .and_then(|i| row.get("cells").and_then(|c| c.get(i)).cloned())
                .filter(Value::is_string);
            let Some(Value::Object(mut object)) = row.remove("object") else {
                continue;
            };
            strip_secret_metadata(&mut object);
            let mut secret = Map::new();
            secret.insert(
                "metadata".into(),
                object.remove("metadata").unwrap_or(Value::Null),
            );
            if let Some(t) = type_ {
                secret.insert("type".into(), t);
            }
            items.push(Value::Object(secret));
        }
    }
    serde_json::json!({"apiVersion": "v1", "kind": "SecretList", "items": items})
}

#[cfg(test)]
mod tests {
    use super::*;
    use detek_kubernetes_model::model::KINDS;

    fn kind(plural: &str) -> &'static KindInfo {
        KINDS.iter().find(|k| k.plural == plural).unwrap()
    }

    #[test]
    fn paths_and_queries() {
        let scope = Scope {
            namespace: Some("shop".into()),
            label_selector: Some("app in (a,b),tier!=db".into()),
            page_size: 500,
        };
        assert_eq!(
            collection_path(kind("pods"), &scope),
            "/api/v1/namespaces/shop/pods"
        );
        assert_eq!(collection_path(kind("nodes"), &scope), "/api/v1/nodes");
        assert_eq!(
            collection_path(kind("deployments"), &Scope::default()),
            "/apis/apps/v1/deployments"
        );
        let q = base_query(kind("pods"), &scope, None);
        assert_eq!(
            with_query("/p", &q),
            "/p?labelSelector=app%20in%20%28a%2Cb%29%2Ctier%21%3Ddb"
        );
        assert!(base_query(kind("nodes"), &scope, None).is_empty());
        assert_eq!(
            base_query(kind("namespaces"), &scope, None),
            vec![("fieldSelector", "metadata.name=shop".to_string())]
        );
    }

    #[test]
    fn managed_fields_keep_only_who_wrote_with_which_version() {
        let page = serde_json::json!({"kind": "DeploymentList", "apiVersion": "apps/v1", "items": [
            {"metadata": {"name": "web", "managedFields": [
                {"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "extensions/v1beta1",
                 "time": "2021-01-01T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
                {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1",
                 "subresource": "status", "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {}}},
                {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1",
                 "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {}}},
            ]}, "spec": {"replicas": 2}},
            {"metadata": {"name": "api"}},
            {"metadata": {"name": "odd", "managedFields": {"not": "a list"}}},
            "not an object",
        ]});
        let (texts, objects) = compact_page(&page.to_string()).unwrap();
        assert_eq!(objects, 4);
        assert_eq!(texts.len(), 1);
        let compacted: Value = serde_json::from_str(&texts[0]).unwrap();
        assert_eq!(
            compacted,
            serde_json::json!({"kind": "DeploymentList", "apiVersion": "apps/v1", "items": [
                {"metadata": {"name": "web", "managedFields": [
                    {"manager": "kubectl-client-side-apply", "apiVersion": "extensions/v1beta1"},
                    {"manager": "kube-controller-manager", "apiVersion": "apps/v1"},
                ]}, "spec": {"replicas": 2}},
                {"metadata": {"name": "api"}},
                {"metadata": {"name": "odd", "managedFields": null}},
                "not an object",
            ]})
        );
        assert!(compact_page("{\"items\": [{}").is_err());
    }

    #[test]
    fn a_long_page_is_handed_on_in_lists_of_its_items_in_order() {
        let items: Vec<Value> = (0..10)
            .map(|i| serde_json::json!({"metadata": {"name": format!("pod-{i}"), "managedFields": [{"manager": "m", "apiVersion": "v1", "fieldsV1": {}}]}}))
            .collect();
        let page = serde_json::json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items});
        let (texts, objects) = compact_page_in(&page.to_string(), 250).unwrap();
        assert_eq!(objects, 10);
        let lists: Vec<Value> = texts
            .iter()
            .map(|t| serde_json::from_str(t).unwrap())
            .collect();
        assert_eq!(lists.len(), 5);
        let names: Vec<&str> = lists
            .iter()
            .inspect(|l| {
                assert_eq!(
                    (&l["kind"], &l["apiVersion"]),
                    (&serde_json::json!("PodList"), &serde_json::json!("v1"))
                )
            })
            .flat_map(|l| l["items"].as_array().unwrap())
            .map(|i| i["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            (0..10).map(|i| format!("pod-{i}")).collect::<Vec<_>>()
        );
        assert_eq!(
            lists[4]["items"][1]["metadata"]["managedFields"],
            serde_json::json!([{"manager": "m", "apiVersion": "v1"}])
        );
    }

    #[test]
    fn tls_secret_keeps_only_the_certificate() {
        let mut s = serde_json::json!({
            "metadata": {"name": "t", "annotations": {LAST_APPLIED: "{\"data\":{\"tls.key\":\"S0VZ\"}}", "keep": "me"},
                         "managedFields": [{"manager": "kubectl"}]},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": "Q0VSVA==", "tls.key": "S0VZ", "ca.crt": "Q0E="}
        });
        reduce_secret(&mut s);
        assert_eq!(
            s["data"],
            serde_json::json!({"tls.crt": "Q0VSVA==", "tls.key": "", "ca.crt": ""})
        );
        assert_eq!(
            s["metadata"]["annotations"],
            serde_json::json!({"keep": "me"})
        );
        assert!(s["metadata"].get("managedFields").is_none());
    }

    #[test]
    fn a_helm_release_secret_keeps_only_its_release_record() {
        let mut s = serde_json::json!({
            "metadata": {"name": "sh.helm.release.v1.web.v2", "labels": {"status": "deployed"},
                         "annotations": {LAST_APPLIED: "{}"}, "managedFields": [{"manager": "helm"}]},
            "type": "helm.sh/release.v1",
            "data": {"release": "SDRzSQ==", "extra": "c2VjcmV0"},
            "stringData": {"other": "secret"}
        });
        reduce_helm_release(&mut s);
        assert_eq!(s["data"], serde_json::json!({"release": "SDRzSQ=="}));
        assert!(s.get("stringData").is_none());
        assert!(s["metadata"].get("managedFields").is_none());
        assert!(
            s["metadata"]
                .get("annotations")
                .unwrap()
                .as_object()
                .unwrap()
                .is_empty()
        );
        // Listed in full by `Shape::HelmReleases`, so left out of the metadata table.
        assert!(is_deployed_helm_release(&s));
        s["metadata"]["labels"]["status"] = "superseded".into();
        assert!(!is_deployed_helm_release(&s));
    }

    #[test]
    fn a_secret_table_becomes_a_list_without_data() {
        let table = serde_json::json!({
            "kind": "Table",
            "columnDefinitions": [{"name": "Name"}, {"name": "Type"}, {"name": "Data"}, {"name": "Age"}],
            "rows": [{"cells": ["s1", "Opaque", 2, "1d"],
                      "object": {"kind": "PartialObjectMetadata", "metadata": {"name": "s1", "namespace": "a",
                                 "annotations": {LAST_APPLIED: "{\"data\":{\"password\":\"aHVudGVyMg==\"}}"}}}}]
        });
        let list = table_to_secret_list(table);
        assert_eq!(list["kind"], "SecretList");
        assert_eq!(list["items"][0]["type"], "Opaque");
        assert_eq!(list["items"][0]["metadata"]["name"], "s1");
        assert!(!list.to_string().contains("aHVudGVyMg"));
    }
}
