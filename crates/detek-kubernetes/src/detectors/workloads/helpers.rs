//! Helpers shared by workload detectors that do not fit the area's `mod.rs`: which Pods a
//! PodDisruptionBudget selects.

use crate::model::Item;
use crate::pods::label_selector_matches;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use std::collections::BTreeMap;

/// Does this PDB select Pods with these labels? An empty selector selects every Pod of the
/// namespace in `policy/v1` and none in `policy/v1beta1`; a missing selector selects none.
/// A label every Pod a PDB selects must carry (its first `matchLabels` pair), to look up
/// candidates in a label index instead of testing every workload; `None`: no such label.
pub(super) fn pdb_required_label(pdb: &Item<PodDisruptionBudget>) -> Option<(&str, &str)> {
    let selector = pdb.spec.as_ref()?.selector.as_ref()?;
    let (k, v) = selector.match_labels.as_ref()?.iter().next()?;
    Some((k.as_str(), v.as_str()))
}

pub(super) fn pdb_selects(
    pdb: &Item<PodDisruptionBudget>,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    let Some(selector) = pdb.spec.as_ref().and_then(|s| s.selector.as_ref()) else {
        return false;
    };
    let empty = selector.match_labels.as_ref().is_none_or(|m| m.is_empty())
        && selector
            .match_expressions
            .as_ref()
            .is_none_or(|e| e.is_empty());
    if empty && pdb.origin.api_version.as_ref() == "policy/v1beta1" {
        return false;
    }
    label_selector_matches(selector, labels)
}
