# METADATA
# title: ingress-nginx controller affected by IngressNightmare (CVE-2025-1974)
# description: |
#   Reports Deployments, DaemonSets and Pods that run an ingress-nginx controller image
#   (`.../ingress-nginx/controller` or `.../ingress-nginx/controller-chroot`, on any registry
#   or mirror) older than v1.11.5, or v1.12.0 exactly. These releases are affected by
#   CVE-2025-1974 ("IngressNightmare", CVSS 9.8) and by CVE-2025-1097, CVE-2025-1098,
#   CVE-2025-24513 and CVE-2025-24514, which v1.11.5 and v1.12.1 fix.
#
#   With CVE-2025-1974, anything on the Pod network that can reach the controller's
#   validating admission webhook (by default, every Pod of the cluster) can make the
#   controller run arbitrary code. The controller can read every Secret of the cluster, so
#   this amounts to a takeover of the cluster.
#
#   The version is read from the image tag (`v1.11.4`, `1.11.4`, `v1.11.4@sha256:...`; a
#   suffix after `-` or `+` is ignored). Images pinned by digest only, or tagged `latest` or
#   anything else that is not a version, are not reported: they cannot be judged from the
#   manifest. A Pod is reported only when its controlling Deployment or DaemonSet is not
#   reported already, so a live scan names each workload once.
# related_resources:
#   - https://kubernetes.io/blog/2025/03/24/ingress-nginx-cve-2025-1974/
#   - https://github.com/kubernetes/kubernetes/issues/131009
# custom:
#   id: ingress_nginx_ingressnightmare
#   level: Fatal
#   solution: |
#     Upgrade the ingress-nginx controller to v1.11.5, v1.12.1 or later (Helm chart 4.11.5,
#     4.12.1 or later).
#
#     Until you can upgrade, disable the validating admission webhook
#     (`controller.admissionWebhooks.enabled=false` in the Helm chart, or remove the
#     `--validating-webhook` argument and the `ValidatingWebhookConfiguration` of a static
#     install) and re-enable it after the upgrade, or at least allow only the API server to
#     reach the webhook port with a NetworkPolicy.
#   example: |
#     kind: Deployment
#     metadata: {name: ingress-nginx-controller, namespace: ingress-nginx}
#     spec:
#       template:
#         spec:
#           containers:
#             - name: controller
#               image: registry.k8s.io/ingress-nginx/controller:v1.11.4   # fires: fixed in v1.11.5
#   labels: [security, networking, cve]
#   requires: [deployments, daemonsets, pods]
package detek.ingress_nginx_ingressnightmare

# Source: Kubernetes blog, "Ingress-nginx CVE-2025-1974: What You Need to Know" (2025-03-24),
# https://kubernetes.io/blog/2025/03/24/ingress-nginx-cve-2025-1974/ — affected: all versions
# before v1.11.5, and v1.12.0; fixed in v1.11.5 and v1.12.1.

findings contains {
	"object": {"kind": hit.kind, "namespace": hit.namespace, "name": hit.name},
	"message": sprintf(
		"container %s runs %s, affected by CVE-2025-1974 (IngressNightmare; fixed in v1.11.5 and v1.12.1)",
		[hit.container, hit.image_without_digest],
	),
	"evidence": sprintf("image: %s (version %s)", [hit.image, hit.version]),
	"container": hit.container,
} if {
	some hit in all_hits
}

all_hits := workload_hits | pod_hits

# Deployments and DaemonSets: judged through their Pod template.
workload_hits contains hit if {
	some d in object.get(input.kubernetes, "deployments", [])
	some hit in hits_in("Deployment", d, d.spec.template.spec)
}

workload_hits contains hit if {
	some ds in object.get(input.kubernetes, "daemonsets", [])
	some hit in hits_in("DaemonSet", ds, ds.spec.template.spec)
}

# Pods: only those whose controller is not reported already (a bare Pod, a Pod of a
# controller the scan does not hold, or one left over from an older rollout).
pod_hits contains hit if {
	some i, pod in object.get(input.kubernetes, "pods", [])
	not controller_reported(i, pod)
	some hit in hits_in("Pod", pod, pod.spec)
}

controller_reported(i, pod) if {
	owner := input.indexes.pod_controller[i]
	some hit in workload_hits
	hit.kind == owner.kind
	hit.name == owner.name
	hit.namespace == namespace_of(pod)
}

# The affected controller containers of one Pod spec (init containers included).
hits_in(kind, obj, spec) := {hit |
	some field in ["initContainers", "containers"]
	some c in items(spec[field])
	is_string(c.image)
	ref := parse_image(c.image)
	is_controller_image(ref.name)
	v := parse_version(ref.tag)
	affected(v)
	hit := {
		"kind": kind,
		"namespace": namespace_of(obj),
		"name": obj.metadata.name,
		"container": c.name,
		"image": c.image,
		"image_without_digest": split(c.image, "@")[0],
		"version": v.text,
	}
}

# The releases that fix CVE-2025-1974: 1.11.5 for the 1.11 line and 1.12.1 for 1.12. Every
# release before 1.11.5 (0.x included) and 1.12.0 itself are affected.
affected(v) if v.key < version_key(1, 11, 5)

affected(v) if v.key == version_key(1, 12, 0)

# Versions as one comparable number: patch and minor releases stay below 1000.
version_key(major, minor, patch) := ((major * 1000) + minor) * 1000 + patch

# The controller image on any registry or mirror: registry.k8s.io/ingress-nginx/controller,
# the former k8s.gcr.io one, registry.example.com/mirror/ingress-nginx/controller-chroot...
is_controller_image(name) if regex.match(`(^|/)ingress-nginx/controller(-chroot)?$`, name)

# "registry.k8s.io/ingress-nginx/controller:v1.11.4@sha256:..." ->
# {"name": "registry.k8s.io/ingress-nginx/controller", "tag": "v1.11.4"}. The tag is what
# follows the last ":" after the last "/" (a ":" before it is a registry port). No tag: "".
parse_image(image) := {"name": m[1], "tag": m[2]} if {
	without_digest := split(image, "@")[0]
	m := regex.find_all_string_submatch_n(`^(.*?)(?::([^:/]+))?$`, without_digest, 1)[0]
}

# "v1.11.4", "1.11.4" or "v1.11.4-hardened.1" -> {"text": "1.11.4", "key": 1011004}.
# Undefined for anything else ("latest", "", "v1.11"), which is then not reported. Numbers
# with a leading zero are refused before to_number, which fails (and stops the policy) on them.
parse_version(tag) := {"text": sprintf("%s.%s.%s", [m[1], m[2], m[3]]), "key": key} if {
	number := `(0|[1-9][0-9]{0,5})`
	pattern := concat("", [`^v?`, number, `\.`, number, `\.`, number, `(?:[-+].*)?$`])
	m := regex.find_all_string_submatch_n(pattern, tag, 1)[0]
	key := version_key(to_number(m[1]), to_number(m[2]), to_number(m[3]))
}

# Objects written without a namespace are in "default".
namespace_of(obj) := object.get(obj.metadata, "namespace", "default")

# Arrays only: regorus stops the policy on `some x in` over null or a string (a manifest can
# say `initContainers: null`); anything else than an array is left undefined here.
items(value) := value if is_array(value)
