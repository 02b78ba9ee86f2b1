//! Admission detectors: validating and mutating webhooks.
//!
//! Helpers shared by the admission detectors live here rather than in their own file: `build.rs`
//! reads every other `.rs` file of this directory as a detector's documentation.

use crate::model::Item;
use detek_core::{Detector, Level, ObjectRef};
use k8s_openapi::api::admissionregistration::v1::{
    MatchCondition, MutatingWebhookConfiguration, RuleWithOperations,
    ValidatingWebhookConfiguration, WebhookClientConfig,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use std::sync::Arc;

mod webhook_cert_expired;
mod webhook_intercepts_kube_system;
mod webhook_service_unavailable;

pub(super) fn all() -> Vec<Arc<dyn Detector>> {
    vec![
        Arc::new(webhook_cert_expired::WebhookCertExpired),
        Arc::new(webhook_service_unavailable::WebhookServiceUnavailable),
        Arc::new(webhook_intercepts_kube_system::WebhookInterceptsKubeSystem),
    ]
}

/// One webhook of a Validating- or MutatingWebhookConfiguration.
pub(crate) struct Webhook<'a> {
    /// The configuration object holding it.
    pub config: ObjectRef,
    pub name: &'a str,
    pub client_config: &'a WebhookClientConfig,
    /// `Fail` or `Ignore`, with the default of the written apiVersion applied (`Fail` in v1,
    /// `Ignore` in v1beta1).
    pub failure_policy: String,
    pub namespace_selector: Option<&'a LabelSelector>,
    pub object_selector: Option<&'a LabelSelector>,
    pub rules: &'a [RuleWithOperations],
    pub match_conditions: &'a [MatchCondition],
}

impl Webhook<'_> {
    /// Does a failure of this webhook fail the API request?
    pub fn fails_closed(&self) -> bool {
        self.failure_policy == "Fail"
    }

    /// The level of a webhook that cannot be called: Fatal when it fails closed (the requests
    /// it intercepts are rejected), Error when it fails open (its checks or mutations are
    /// silently skipped).
    pub fn unreachable_level(&self) -> Level {
        if self.fails_closed() {
            Level::Fatal
        } else {
            Level::Error
        }
    }
}

fn policy(written: Option<&String>, api_version: &str) -> String {
    match written {
        Some(p) if !p.is_empty() => p.clone(),
        _ if api_version.ends_with("/v1beta1") => "Ignore".to_string(),
        _ => "Fail".to_string(),
    }
}

/// Every webhook of every configuration, validating first.
pub(crate) fn webhooks<'a>(
    validating: &'a [Arc<Item<ValidatingWebhookConfiguration>>],
    mutating: &'a [Arc<Item<MutatingWebhookConfiguration>>],
) -> Vec<Webhook<'a>> {
    let mut out = Vec::new();
    for config in validating {
        for w in config.webhooks.iter().flatten() {
            out.push(Webhook {
                config: config.object_ref(),
                name: &w.name,
                client_config: &w.client_config,
                failure_policy: policy(w.failure_policy.as_ref(), &config.origin.api_version),
                namespace_selector: w.namespace_selector.as_ref(),
                object_selector: w.object_selector.as_ref(),
                rules: w.rules.as_deref().unwrap_or(&[]),
                match_conditions: w.match_conditions.as_deref().unwrap_or(&[]),
            });
        }
    }
    for config in mutating {
        for w in config.webhooks.iter().flatten() {
            out.push(Webhook {
                config: config.object_ref(),
                name: &w.name,
                client_config: &w.client_config,
                failure_policy: policy(w.failure_policy.as_ref(), &config.origin.api_version),
                namespace_selector: w.namespace_selector.as_ref(),
                object_selector: w.object_selector.as_ref(),
                rules: w.rules.as_deref().unwrap_or(&[]),
                match_conditions: w.match_conditions.as_deref().unwrap_or(&[]),
            });
        }
    }
    out
}
