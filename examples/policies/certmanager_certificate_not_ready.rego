# METADATA
# title: cert-manager Certificate that is not Ready
# description: |
#   Reports cert-manager `Certificate`s whose `Ready` condition is `False` or `Unknown`: the
#   Secret named by `spec.secretName` is missing, holds a certificate that does not match the
#   spec, or has expired, and cert-manager has not managed to issue a new one. Whatever serves
#   that Secret (an Ingress, a webhook, a mesh gateway) has no valid certificate, or soon
#   will not. The message gives the condition's reason and message, and the last failure of the
#   `Issuing` condition when there is one: that is where the cause usually shows (an ACME
#   challenge that failed, an issuer that does not exist or is not ready, a rate limit).
#
#   Only a `Ready` condition that exists counts: a Certificate without status (a manifest,
#   or one cert-manager has not seen yet) is not reported. A first issuance that is still
#   under way is not reported either: `Issuing` is `True`, no attempt has failed yet
#   (`status.failedIssuanceAttempts`), and `Ready` changed less than 15 minutes before the
#   scan's time, `input.now` (the setting `detek_settings.certificate_issuing_grace_minutes`).
# related_resources:
#   - https://cert-manager.io/docs/troubleshooting/
#   - https://cert-manager.io/docs/usage/certificate/
# custom:
#   id: certmanager_certificate_not_ready
#   level: Error
#   solution: |
#     Follow the chain from the Certificate to the first resource that is not ready:
#
#     ```sh
#     kubectl describe certificate NAME -n NAMESPACE
#     kubectl get certificaterequest,order,challenge -n NAMESPACE
#     kubectl describe clusterissuer ISSUER   # or: issuer ISSUER -n NAMESPACE
#     ```
#
#     Fix what the first one reports (DNS or HTTP reachability for ACME challenges, issuer
#     credentials, a missing issuer). cert-manager retries with a back-off; once the cause is
#     gone, `cmctl renew NAME -n NAMESPACE` starts a new attempt at once.
#   example: |
#     kind: Certificate
#     metadata: {name: web-tls, namespace: shop}
#     status:
#       conditions:
#         - type: Ready
#           status: "False"     # fires
#           reason: DoesNotExist
#           message: Issuing certificate as Secret does not exist
#   labels: [certificates, tls, cert-manager]
#   requires: [cert-manager.io/Certificate]
package detek.certmanager_certificate_not_ready

# Source: cert-manager documentation, "Troubleshooting" (https://cert-manager.io/docs/troubleshooting/):
# a Certificate is issued when its Ready condition is True; otherwise follow the chain
# Certificate -> CertificateRequest -> Order -> Challenge.

findings contains {
	"object": {"kind": "Certificate", "namespace": object.get(cert.metadata, "namespace", "default"), "name": cert.metadata.name},
	"message": concat("", [
		sprintf("Ready is %s%s (%s: %s)", [ready.status, since(ready), reason_of(ready), message_of(ready)]),
		issuing_failure(cert),
	]),
	"evidence": evidence(cert),
} if {
	some cert in certificates
	some ready in conditions(cert, "Ready")
	ready.status != "True"
	not first_issuance_under_way(cert, ready)
}

certificates := object.get(object.get(object.get(input.kubernetes, "custom", {}), "cert-manager.io", {}), "Certificate", [])

# The conditions of one type (a set: a malformed status could repeat a type).
conditions(cert, type) := {c |
	some c in items(status_of(cert).conditions)
	is_object(c)
	c.type == type
}

status_of(cert) := cert.status if is_object(cert.status)

status_of(cert) := {} if not is_object(cert.status)

since(c) := sprintf(" since %s", [c.lastTransitionTime]) if is_string(c.lastTransitionTime)

since(c) := "" if not is_string(c.lastTransitionTime)

reason_of(c) := object.get(c, "reason", "no reason")

message_of(c) := object.get(c, "message", "no message")

# cert-manager sets Issuing to False with reason Failed when an attempt failed; its message
# names the cause ("The certificate request has failed to complete and will be retried: ...").
issuing_failure(cert) := sprintf("; last issuance failed: %s", [message_of(c)]) if {
	some c in conditions(cert, "Issuing")
	c.status == "False"
	c.reason == "Failed"
}

issuing_failure(cert) := "" if not issuing_failed(cert)

issuing_failed(cert) if {
	some c in conditions(cert, "Issuing")
	c.status == "False"
	c.reason == "Failed"
}

evidence(cert) := concat("; ", [part |
	some part in [
		sprintf("status.conditions: %s", [concat(", ", sort([sprintf("%s=%s (%s)", [c.type, c.status, reason_of(c)]) |
			some c in items(status_of(cert).conditions)
			is_object(c)
		]))]),
		failed_attempts_text(cert),
		sprintf("spec.secretName: %s", [object.get(cert.spec, "secretName", "(none)")]),
		issuer_text(cert),
	]
	part != ""
])

issuer_text(cert) := sprintf("spec.issuerRef: %s/%s", [object.get(ref, "kind", "Issuer"), object.get(ref, "name", "(none)")]) if {
	ref := cert.spec.issuerRef
	is_object(ref)
} else := "spec.issuerRef: (none)"

failed_attempts_text(cert) := sprintf("status.failedIssuanceAttempts: %v", [cert.status.failedIssuanceAttempts]) if {
	cert.status.failedIssuanceAttempts > 0
}

failed_attempts_text(cert) := "" if not cert.status.failedIssuanceAttempts > 0

# A first issuance still under way: cert-manager is issuing, nothing has failed yet, and Ready
# changed within the grace period before the scan's time, input.now (ACME challenges take a
# minute or two, DNS-01 longer). detek refuses time.now_ns: a dump is judged as of its own time.
first_issuance_under_way(cert, ready) if {
	some issuing in conditions(cert, "Issuing")
	issuing.status == "True"
	not cert.status.failedIssuanceAttempts > 0
	changed := rfc3339_ns(ready.lastTransitionTime)
	now := rfc3339_ns(input.now)
	now - changed < grace_minutes * 60000000000
}

# time.parse_rfc3339_ns stops the policy on text it cannot read: check the form first.
rfc3339_ns(text) := time.parse_rfc3339_ns(text) if {
	is_string(text)
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`, text)
}

default grace_minutes := 15

grace_minutes := data.detek_settings.certificate_issuing_grace_minutes if {
	is_number(data.detek_settings.certificate_issuing_grace_minutes)
}

# Arrays only: regorus stops the policy on `some x in` over null or a string (a manifest can
# say `initContainers: null`); anything else than an array is left undefined here.
items(value) := value if is_array(value)
