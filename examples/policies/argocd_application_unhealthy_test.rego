package detek.argocd_application_unhealthy_test

import data.detek.argocd_application_unhealthy as policy

application(name, status) := {
	"apiVersion": "argoproj.io/v1alpha1",
	"kind": "Application",
	"metadata": {"name": name, "namespace": "argocd"},
	"spec": {
		"destination": {"namespace": name, "server": "https://kubernetes.default.svc"},
		"project": "default",
		"source": {"path": name, "repoURL": "https://git.example.com/platform/apps.git", "targetRevision": "HEAD"},
	},
	"status": status,
}

commit := "53e28ff20cc530b9ada2173fbbd64d48338583ba"

scan(applications) := {
	"cluster": {"name": null, "version": null, "identity": null, "live": true},
	"kubernetes": {"custom": {"argoproj.io": {"Application": applications}}},
}

messages(applications) := {f.message | some f in fired} if {
	fired := policy.findings with input as scan(applications)
}

test_out_of_sync_and_degraded_is_one_finding if {
	app := application("guestbook", {
		"sync": {"status": "OutOfSync", "revision": commit},
		"health": {"status": "Degraded"},
		"resources": [
			{"kind": "Service", "name": "guestbook-ui", "namespace": "guestbook", "status": "OutOfSync", "version": "v1", "health": {"status": "Healthy"}},
			{"group": "apps", "kind": "Deployment", "name": "guestbook-ui", "namespace": "guestbook", "status": "Synced", "version": "v1", "health": {"status": "Degraded", "message": "Deployment \"guestbook-ui\" exceeded its progress deadline"}},
		],
	})
	policy.findings == {{
		"object": {"kind": "Application", "namespace": "argocd", "name": "guestbook"},
		"message": "is OutOfSync from revision 53e28ff and Degraded: 1 resource out of sync (Service guestbook/guestbook-ui), 1 degraded (Deployment guestbook/guestbook-ui: Deployment \"guestbook-ui\" exceeded its progress deadline)",
		"evidence": "status.sync.status: OutOfSync; status.health.status: Degraded; status.sync.revision: 53e28ff20cc530b9ada2173fbbd64d48338583ba",
	}} with input as scan([app])
}

test_out_of_sync_only if {
	app := application("monitoring-stack", {
		"sync": {"status": "OutOfSync", "revision": commit},
		"health": {"status": "Healthy"},
		"resources": [
			{"group": "monitoring.coreos.com", "kind": "PrometheusRule", "name": "kube-prometheus-rules", "namespace": "monitoring", "status": "OutOfSync"},
			{"group": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "prometheus-k8s", "status": "OutOfSync"},
			{"group": "monitoring.coreos.com", "kind": "Prometheus", "name": "k8s", "namespace": "monitoring", "status": "Synced"},
		],
		"operationState": {"phase": "Failed", "message": "one or more objects failed to apply"},
	})
	messages([app]) == {"is OutOfSync from revision 53e28ff: 2 resources out of sync (ClusterRole prometheus-k8s, PrometheusRule monitoring/kube-prometheus-rules); last sync Failed: one or more objects failed to apply"}
}

test_degraded_only_with_a_helm_revision if {
	app := application("payments", {
		"sync": {"status": "Synced", "revision": "4.2.0"},
		"health": {"status": "Degraded"},
		"resources": [
			{"group": "apps", "kind": "Deployment", "name": "payments-api", "namespace": "payments", "status": "Synced", "health": {"status": "Degraded"}},
		],
	})
	messages([app]) == {"is Degraded: 1 degraded (Deployment payments/payments-api)"}
}

test_out_of_sync_helm_revision_is_kept_whole if {
	app := application("payments", {"sync": {"status": "OutOfSync", "revision": "4.2.0"}, "health": {"status": "Healthy"}})
	messages([app]) == {"is OutOfSync from revision 4.2.0"}
}

test_without_resource_details if {
	# Argo CD 3.0 keeps resource health in the resource tree; multi-source apps have no revision.
	app := application("platform", {"sync": {"status": "OutOfSync", "revisions": [commit, "4.2.0"]}, "health": {"status": "Degraded"}})
	policy.findings == {{
		"object": {"kind": "Application", "namespace": "argocd", "name": "platform"},
		"message": "is OutOfSync and Degraded",
		"evidence": "status.sync.status: OutOfSync; status.health.status: Degraded; status.sync.revision: (none)",
	}} with input as scan([app])
}

test_many_resources_are_abbreviated if {
	resources := [{"kind": "ConfigMap", "name": sprintf("cm-%d", [i]), "namespace": "apps", "status": "OutOfSync"} | some i in numbers.range(1, 5)]
	app := application("apps", {"sync": {"status": "OutOfSync", "revision": commit}, "health": {"status": "Healthy"}, "resources": resources})
	messages([app]) == {"is OutOfSync from revision 53e28ff: 5 resources out of sync (ConfigMap apps/cm-1, ConfigMap apps/cm-2, ConfigMap apps/cm-3, ...)"}
}

test_healthy_and_transitional_states_pass if {
	apps := [
		application("synced", {"sync": {"status": "Synced", "revision": commit}, "health": {"status": "Healthy"}}),
		application("progressing", {"sync": {"status": "Synced", "revision": commit}, "health": {"status": "Progressing"}}),
		application("suspended", {"sync": {"status": "Synced", "revision": commit}, "health": {"status": "Suspended"}}),
		application("unknown", {"sync": {"status": "Unknown"}, "health": {"status": "Unknown"}}),
		application("missing-health", {"sync": {"status": "Synced"}, "health": {"status": "Missing"}}),
	]
	count(messages(apps)) == 0
}

test_successful_last_sync_is_not_mentioned if {
	app := application("guestbook", {
		"sync": {"status": "OutOfSync", "revision": commit},
		"health": {"status": "Healthy"},
		"operationState": {"phase": "Succeeded", "message": "successfully synced (all tasks run)"},
	})
	messages([app]) == {"is OutOfSync from revision 53e28ff"}
}

test_application_without_status_passes if {
	app := {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "new", "namespace": "argocd"}, "spec": {}}
	null_status := application("null-status", null)
	count(messages([app, null_status])) == 0
}

test_no_custom_resources if {
	count(policy.findings) == 0 with input as {"kubernetes": {}}
}
