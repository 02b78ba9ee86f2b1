package detek.certmanager_certificate_not_ready_test

import data.detek.certmanager_certificate_not_ready as policy

certificate(name, status) := object.union(
	{
		"apiVersion": "cert-manager.io/v1",
		"kind": "Certificate",
		"metadata": {"name": name, "namespace": "shop"},
		"spec": {
			"dnsNames": ["shop.example.com"],
			"issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "letsencrypt-prod"},
			"secretName": name,
		},
	},
	status,
)

scan(certificates) := scan_at(certificates, "2024-06-02T10:00:00Z")

# `now`: the scan's time (input.now), against which a first issuance's grace period runs.
scan_at(certificates, now) := {
	"now": now,
	"cluster": {"name": null, "version": null, "identity": null, "live": true},
	"kubernetes": {"custom": {"cert-manager.io": {"Certificate": certificates}}},
}

not_ready := {
	"lastTransitionTime": "2024-06-01T08:19:58Z",
	"message": "Issuing certificate as Secret does not exist",
	"reason": "DoesNotExist",
	"status": "False",
	"type": "Ready",
}

issuing_failed := {
	"lastTransitionTime": "2024-06-01T09:27:40Z",
	"message": "The certificate request has failed to complete and will be retried: Failed to wait for order resource \"web-tls-1-3528706245\" to become ready: order is in \"invalid\" state",
	"reason": "Failed",
	"status": "False",
	"type": "Issuing",
}

issuing_now := {"lastTransitionTime": "2024-06-01T08:19:58Z", "reason": "DoesNotExist", "status": "True", "type": "Issuing"}

test_fires_with_the_issuing_failure if {
	cert := certificate("web-tls", {"status": {"conditions": [not_ready, issuing_failed], "failedIssuanceAttempts": 2}})
	policy.findings == {{
		"object": {"kind": "Certificate", "namespace": "shop", "name": "web-tls"},
		"message": "Ready is False since 2024-06-01T08:19:58Z (DoesNotExist: Issuing certificate as Secret does not exist); last issuance failed: The certificate request has failed to complete and will be retried: Failed to wait for order resource \"web-tls-1-3528706245\" to become ready: order is in \"invalid\" state",
		"evidence": "status.conditions: Issuing=False (Failed), Ready=False (DoesNotExist); status.failedIssuanceAttempts: 2; spec.secretName: web-tls; spec.issuerRef: ClusterIssuer/letsencrypt-prod",
	}} with input as scan([cert])
}

test_expired_certificate_fires if {
	ready := {
		"lastTransitionTime": "2024-06-02T08:00:03Z",
		"message": "Certificate expired on Sun, 02 Jun 2024 08:00:00 UTC",
		"reason": "Expired",
		"status": "False",
		"type": "Ready",
	}
	fired := policy.findings with input as scan([certificate("grafana-tls", {"status": {"conditions": [ready]}})])
	{f.message | some f in fired} == {"Ready is False since 2024-06-02T08:00:03Z (Expired: Certificate expired on Sun, 02 Jun 2024 08:00:00 UTC)"}
}

test_unknown_without_details_fires if {
	fired := policy.findings with input as scan([certificate("web-tls", {"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}})])
	{[f.message, f.evidence] | some f in fired} == {[
		"Ready is Unknown (no reason: no message)",
		"status.conditions: Ready=Unknown (no reason); spec.secretName: web-tls; spec.issuerRef: ClusterIssuer/letsencrypt-prod",
	]}
}

test_ready_certificate_passes if {
	ready := {"lastTransitionTime": "2024-05-20T10:03:41Z", "message": "Certificate is up to date and has not expired", "reason": "Ready", "status": "True", "type": "Ready"}
	count(policy.findings) == 0 with input as scan([certificate("api-tls", {"status": {"conditions": [ready]}})])
}

test_certificate_without_status_passes if {
	count(policy.findings) == 0 with input as scan([certificate("admin-tls", {}), certificate("empty-status", {"status": {}})])
}

test_without_ready_condition_passes if {
	count(policy.findings) == 0 with input as scan([certificate("web-tls", {"status": {"conditions": [issuing_now]}})])
}

test_first_issuance_under_way_passes if {
	# Ready turned False at 08:19:58, the scan is at 08:25:00: within the 15 minutes.
	cert := certificate("web-tls", {"status": {"conditions": [not_ready, issuing_now]}})
	count(policy.findings) == 0 with input as scan_at([cert], "2024-06-01T08:25:00Z")
}

test_issuance_that_already_failed_is_reported_at_once if {
	cert := certificate("web-tls", {"status": {"conditions": [not_ready, issuing_now], "failedIssuanceAttempts": 1}})
	count(policy.findings) == 1 with input as scan_at([cert], "2024-06-01T08:25:00Z")
}

test_issuance_running_for_long_is_reported if {
	cert := certificate("web-tls", {"status": {"conditions": [not_ready, issuing_now]}})
	count(policy.findings) == 1 with input as scan_at([cert], "2024-06-01T08:35:00Z")
}

test_without_the_scan_time_an_issuance_is_reported if {
	cert := certificate("web-tls", {"status": {"conditions": [not_ready, issuing_now]}})
	count(policy.findings) == 1 with input as {"kubernetes": {"custom": {"cert-manager.io": {"Certificate": [cert]}}}}
}

test_grace_period_comes_from_data if {
	# An hour after Ready turned False: reported with the default 15 minutes, not with 120.
	cert := certificate("web-tls", {"status": {"conditions": [not_ready, issuing_now]}})
	count(policy.findings) == 1 with input as scan_at([cert], "2024-06-01T09:20:00Z") with data.detek_settings as {"certificate_issuing_grace_minutes": 15}
	count(policy.findings) == 0 with input as scan_at([cert], "2024-06-01T09:20:00Z") with data.detek_settings as {"certificate_issuing_grace_minutes": 120}
}

test_unreadable_transition_time_is_reported if {
	odd := object.union(not_ready, {"lastTransitionTime": "yesterday"})
	fired := policy.findings with input as scan([certificate("web-tls", {"status": {"conditions": [odd, issuing_now]}})])
	{f.message | some f in fired} == {"Ready is False since yesterday (DoesNotExist: Issuing certificate as Secret does not exist)"}
}

test_namespace_defaults_to_default if {
	cert := {
		"kind": "Certificate",
		"metadata": {"name": "web-tls"},
		"spec": {"secretName": "web-tls", "issuerRef": {"name": "ca"}},
		"status": {"conditions": [not_ready]},
	}
	fired := policy.findings with input as scan([cert])
	{[f.object.namespace, f.evidence] | some f in fired} == {["default", "status.conditions: Ready=False (DoesNotExist); spec.secretName: web-tls; spec.issuerRef: Issuer/ca"]}
}

test_no_custom_resources if {
	count(policy.findings) == 0 with input as {"kubernetes": {}}
}
