# METADATA
# title: Replicated workload raising the DNS ndots option above 5
# description: |
#   Reports Deployments and StatefulSets whose Pod template sets the resolver option `ndots`
#   above 5 (`spec.template.spec.dnsConfig.options`) and that run at least 3 replicas. Both
#   numbers are settings: `detek_settings.ndots_max` and `detek_settings.ndots_min_replicas`
#   in the policy data (`data.yaml`).
#
#   `ndots:N` tells the resolver that a name with fewer than N dots may be relative: it is
#   first tried with each domain of the search list appended, and only then as it is. A Pod's
#   search list has three cluster domains (`NAMESPACE.svc.cluster.local`, `svc.cluster.local`,
#   `cluster.local`) plus the Node's own, so such a lookup of an external name costs at least
#   four queries instead of one, twice that when the application asks for A and AAAA records,
#   all but the last answered NXDOMAIN. Kubernetes already sets `ndots:5`, enough for every
#   short in-cluster name (`service`, `service.namespace`, `pod.service.namespace.svc` have at
#   most four dots). A higher value adds that cost to longer names too and buys nothing;
#   multiplied by the replicas of a busy workload, it loads CoreDNS and the upstream
#   resolvers and adds latency (and `conntrack` races on UDP) to every new connection.
#
#   Replicas come from `spec.replicas` (1 when absent); a HorizontalPodAutoscaler's count is
#   not considered. An `ndots` value that is not a whole number is not judged.
# related_resources:
#   - https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/#pod-dns-config
#   - https://pracucci.com/kubernetes-dns-resolution-ndots-options-and-why-it-may-affect-application-performances.html
#   - https://man7.org/linux/man-pages/man5/resolv.conf.5.html
# custom:
#   id: dns_ndots_high_busy_workload
#   level: Warn
#   solution: |
#     Remove the `ndots` option (back to Kubernetes' 5), or lower it: with `ndots: "2"`, names
#     such as `api.example.com` are resolved as they are at once, while `service` and
#     `service.namespace` still go through the search list. Better still, have the
#     application use fully qualified names with a trailing dot (`api.example.com.`), which
#     never use the search list.
#
#     ```yaml
#     spec:
#       template:
#         spec:
#           dnsConfig:
#             options:
#               - name: ndots
#                 value: "2"
#     ```
#   example: |
#     kind: Deployment
#     spec:
#       replicas: 6
#       template:
#         spec:
#           dnsConfig:
#             options:
#               - {name: ndots, value: "8"}   # fires: more than 5, with 6 replicas
#   labels: [networking, dns, performance]
#   requires: [deployments, statefulsets]
package detek.dns_ndots_high_busy_workload

# Source: Kubernetes documentation, "DNS for Services and Pods", Pod's DNS Config
# (https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/#pod-dns-config), and
# Marco Pracucci, "Kubernetes pods /etc/resolv.conf ndots:5 option and why it may negatively
# affect your application performances" (https://pracucci.com/kubernetes-dns-resolution-ndots-options-and-why-it-may-affect-application-performances.html).

findings contains {
	"object": {"kind": w.kind, "namespace": object.get(w.obj.metadata, "namespace", "default"), "name": w.obj.metadata.name},
	"message": sprintf(
		"pod template sets ndots %v (more than %v) for %v replicas: every name with fewer than %v dots is first tried with each search domain appended, at least 4 DNS queries (8 with AAAA) for each external name",
		[ndots.number, max_ndots, replicas, ndots.number],
	),
	"evidence": sprintf("spec.template.spec.dnsConfig.options: ndots=%s; spec.replicas: %v", [ndots.text, replicas]),
} if {
	some w in workloads
	replicas := object.get(w.obj.spec, "replicas", 1)
	is_number(replicas)
	replicas >= min_replicas
	some ndots in ndots_options(w.obj.spec.template.spec)
	ndots.number > max_ndots
}

workloads contains {"kind": "Deployment", "obj": d} if {
	some d in object.get(input.kubernetes, "deployments", [])
}

workloads contains {"kind": "StatefulSet", "obj": s} if {
	some s in object.get(input.kubernetes, "statefulsets", [])
}

# The ndots options of a Pod spec, as written ("8") and as a number (8). The API keeps the value
# a string; only whole numbers are read (to_number would stop the policy on anything else).
ndots_options(pod_spec) := {{"text": option.value, "number": to_number(option.value)} |
	some option in items(pod_spec.dnsConfig.options)
	is_object(option)
	option.name == "ndots"
	is_string(option.value)
	regex.match(`^(0|[1-9][0-9]{0,2})$`, option.value)
}

# Settings, from the policy data (examples/policies/data.yaml):
#   detek_settings:
#     ndots_max: 5            # report ndots above this
#     ndots_min_replicas: 3   # ... for workloads with at least this many replicas
default max_ndots := 5

max_ndots := data.detek_settings.ndots_max if is_number(data.detek_settings.ndots_max)

default min_replicas := 3

min_replicas := data.detek_settings.ndots_min_replicas if is_number(data.detek_settings.ndots_min_replicas)

# Arrays only: regorus stops the policy on `some x in` over null or a string (a manifest can
# say `initContainers: null`); anything else than an array is left undefined here.
items(value) := value if is_array(value)
