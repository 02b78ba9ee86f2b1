package detek.dns_ndots_high_busy_workload_test

import data.detek.dns_ndots_high_busy_workload as policy

workload(kind, name, replicas, options) := {
	"apiVersion": "apps/v1",
	"kind": kind,
	"metadata": {"name": name, "namespace": "payments"},
	"spec": object.union(
		{"template": {"spec": {
			"dnsConfig": {"options": options},
			"containers": [{"name": "app", "image": "ghcr.io/example-org/payments:4.2.0"}],
		}}},
		replicas_field(replicas),
	),
}

# replicas < 0 stands for "field absent" (the API's default is 1).
replicas_field(replicas) := {"replicas": replicas} if replicas >= 0

replicas_field(replicas) := {} if replicas < 0

ndots(value) := [{"name": "ndots", "value": value}]

scan(deployments, statefulsets) := {
	"cluster": {"name": null, "version": null, "identity": null, "live": false},
	"kubernetes": {"deployments": deployments, "statefulsets": statefulsets},
}

reported(deployments, statefulsets) := {[f.object.kind, f.object.name] | some f in fired} if {
	fired := policy.findings with input as scan(deployments, statefulsets)
}

test_fires_on_deployment if {
	policy.findings == {{
		"object": {"kind": "Deployment", "namespace": "payments", "name": "api"},
		"message": "pod template sets ndots 8 (more than 5) for 6 replicas: every name with fewer than 8 dots is first tried with each search domain appended, at least 4 DNS queries (8 with AAAA) for each external name",
		"evidence": "spec.template.spec.dnsConfig.options: ndots=8; spec.replicas: 6",
	}} with input as scan([workload("Deployment", "api", 6, ndots("8"))], [])
}

test_fires_on_statefulset if {
	reported([], [workload("StatefulSet", "ledger", 3, ndots("6"))]) == {["StatefulSet", "ledger"]}
}

test_boundaries if {
	# ndots 5 is Kubernetes' own default; 2 replicas are below the default threshold of 3.
	reported(
		[
			workload("Deployment", "ndots-5", 10, ndots("5")),
			workload("Deployment", "ndots-6", 3, ndots("6")),
			workload("Deployment", "two-replicas", 2, ndots("9")),
			workload("Deployment", "no-replicas-field", -1, ndots("9")),
		],
		[],
	) == {["Deployment", "ndots-6"]}
}

test_low_ndots_and_other_options_pass if {
	fired := reported(
		[
			workload("Deployment", "low", 12, ndots("2")),
			workload("Deployment", "other-options", 12, [{"name": "single-request-reopen"}, {"name": "timeout", "value": "2"}]),
			workload("Deployment", "no-options", 12, []),
		],
		[],
	)
	count(fired) == 0
}

test_values_that_are_not_whole_numbers_are_not_judged if {
	fired := reported(
		[
			workload("Deployment", "text", 12, ndots("many")),
			workload("Deployment", "leading-zero", 12, ndots("08")),
			workload("Deployment", "decimal", 12, ndots("7.5")),
			workload("Deployment", "missing", 12, [{"name": "ndots"}]),
		],
		[],
	)
	count(fired) == 0
}

test_no_dns_config_passes if {
	d := {
		"kind": "Deployment",
		"metadata": {"name": "web"},
		"spec": {"replicas": 20, "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
	}
	count(policy.findings) == 0 with input as scan([d], [])
}

test_thresholds_come_from_data if {
	deployments := [
		workload("Deployment", "ndots-3-replicas-2", 2, ndots("3")),
		workload("Deployment", "ndots-2-replicas-9", 9, ndots("2")),
	]
	fired := policy.findings with input as scan(deployments, []) with data.detek_settings as {"ndots_max": 2, "ndots_min_replicas": 2}
	{f.object.name | some f in fired} == {"ndots-3-replicas-2"}
}

test_settings_of_the_wrong_type_fall_back_to_defaults if {
	fired := policy.findings with input as scan([workload("Deployment", "api", 3, ndots("6"))], []) with data.detek_settings as {"ndots_max": "two", "ndots_min_replicas": null}
	count(fired) == 1
}

test_namespace_defaults_to_default if {
	d := {
		"kind": "StatefulSet",
		"metadata": {"name": "cassandra"},
		"spec": {"replicas": 3, "template": {"spec": {"dnsConfig": {"options": ndots("6")}, "containers": []}}},
	}
	fired := policy.findings with input as scan([], [d])
	{f.object | some f in fired} == {{"kind": "StatefulSet", "namespace": "default", "name": "cassandra"}}
}
