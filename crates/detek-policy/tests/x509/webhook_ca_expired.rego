# METADATA
# title: Admission webhooks whose CA has expired (as a policy)
# description: The built-in webhook_cert_expired, written with crypto.x509.parse_certificates.
# custom:
#   id: webhook_ca_expired
#   level: Error
#   solution: Rotate the webhook's CA and its caBundle.
#   requires: [mutatingwebhookconfigurations, validatingwebhookconfigurations]
package detek.webhook_ca_expired

configs := array.concat(
	object.get(input.kubernetes, "mutatingwebhookconfigurations", []),
	object.get(input.kubernetes, "validatingwebhookconfigurations", []),
)

findings contains {
	"object": config,
	"message": sprintf("webhook %s: CA %s expired on %s", [webhook.name, cert.Subject.CommonName, cert.NotAfter]),
	"evidence": sprintf("serial %s, CA %v", [cert.SerialNumber, cert.IsCA]),
} if {
	some config in configs
	some webhook in config.webhooks
	some cert in crypto.x509.parse_certificates(webhook.clientConfig.caBundle)
	time.parse_rfc3339_ns(cert.NotAfter) < time.parse_rfc3339_ns(input.now)
}
