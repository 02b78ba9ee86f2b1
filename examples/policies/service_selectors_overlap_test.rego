package detek.service_selectors_overlap_test

import data.detek.service_selectors_overlap as policy

service(name, selector) := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": name, "namespace": "shop"},
	"spec": {"type": "ClusterIP", "clusterIP": "10.96.0.20", "selector": selector},
}

headless(name, selector) := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": name, "namespace": "shop"},
	"spec": {"clusterIP": "None", "selector": selector},
}

pod(name, phase) := {
	"apiVersion": "v1",
	"kind": "Pod",
	"metadata": {"name": name, "namespace": "shop"},
	"status": {"phase": phase},
}

# `selecting[p]`: the indexes of the Services that select Pod p, as detek's index gives them.
scan(services, pods, selecting) := {
	"cluster": {"name": null, "version": null, "identity": null, "live": true},
	"kubernetes": {"services": services, "pods": pods},
	"indexes": {
		"services_by_namespace": {"shop": [i | some i; services[i]]},
		"pods_by_namespace": {"shop": [i | some i; pods[i]]},
		"pod_controller": [null | some p in pods],
		"services_selecting_pod": selecting,
	},
}

test_broad_selector_fires_once_on_the_first_name if {
	services := [
		service("checkout", {"app": "checkout"}),
		service("cart", {"app.kubernetes.io/component": "api"}),
	]
	pods := [pod("checkout-1", "Running"), pod("checkout-2", "Running"), pod("cart-1", "Running")]
	policy.findings == {{
		"object": {"kind": "Service", "namespace": "shop", "name": "cart"},
		"message": "shares 2 Pods (checkout-1, checkout-2) with Service checkout although the selectors differ (app.kubernetes.io/component=api vs app=checkout): those Pods receive the traffic of both Services",
		"evidence": "spec.selector of cart: {app.kubernetes.io/component=api}; of checkout: {app=checkout}",
	}} with input as scan(services, pods, [[0, 1], [1, 0], [1]])
}

test_one_shared_pod if {
	services := [service("a", {"tier": "web"}), service("b", {"app": "shop"})]
	fired := policy.findings with input as scan(services, [pod("shop-0", "Pending")], [[0, 1]])
	{f.message | some f in fired} == {"shares 1 Pod (shop-0) with Service b although the selectors differ (tier=web vs app=shop): those Pods receive the traffic of both Services"}
}

test_many_shared_pods_are_abbreviated if {
	services := [service("a", {"tier": "web"}), service("b", {"app": "shop"})]
	pods := [pod("shop-4", "Running"), pod("shop-2", "Running"), pod("shop-0", "Running"), pod("shop-3", "Running"), pod("shop-1", "Running")]
	fired := policy.findings with input as scan(services, pods, [[0, 1], [0, 1], [0, 1], [0, 1], [0, 1]])
	some f in fired
	count(fired) == 1
	startswith(f.message, "shares 5 Pods (shop-0, shop-1, shop-2, ...) with Service b")
}

test_identical_selectors_pass if {
	services := [service("web", {"app": "web"}), service("web-metrics", {"app": "web"})]
	count(policy.findings) == 0 with input as scan(services, [pod("web-1", "Running")], [[0, 1]])
}

test_headless_service_passes if {
	services := [service("web", {"app": "web", "tier": "frontend"}), headless("web-pods", {"tier": "frontend"})]
	count(policy.findings) == 0 with input as scan(services, [pod("web-0", "Running")], [[0, 1]])
}

test_refining_selector_passes if {
	# A read Service on every instance and a write Service on the primary (CloudNativePG style).
	services := [
		service("pg-r", {"cnpg.io/cluster": "pg"}),
		service("pg-rw", {"cnpg.io/cluster": "pg", "cnpg.io/instanceRole": "primary"}),
	]
	pods := [pod("pg-1", "Running"), pod("pg-2", "Running")]
	count(policy.findings) == 0 with input as scan(services, pods, [[0, 1], [0]])
}

test_finished_pods_do_not_count if {
	services := [service("cart", {"app.kubernetes.io/component": "api"}), service("checkout", {"app": "checkout"})]
	pods := [pod("checkout-migrate-abcde", "Succeeded"), pod("checkout-smoke-test", "Failed")]
	count(policy.findings) == 0 with input as scan(services, pods, [[0, 1], [0, 1]])
}

test_finished_pods_are_left_out_of_the_count if {
	services := [service("cart", {"app.kubernetes.io/component": "api"}), service("checkout", {"app": "checkout"})]
	pods := [pod("checkout-migrate-abcde", "Succeeded"), pod("checkout-1", "Running")]
	fired := policy.findings with input as scan(services, pods, [[0, 1], [0, 1]])
	{f.message | some f in fired} == {"shares 1 Pod (checkout-1) with Service checkout although the selectors differ (app.kubernetes.io/component=api vs app=checkout): those Pods receive the traffic of both Services"}
}

test_every_pair_is_reported if {
	services := [service("c", {"team": "payments"}), service("b", {"app": "shop"}), service("a", {"tier": "web"})]
	fired := policy.findings with input as scan(services, [pod("shop-0", "Running")], [[0, 1, 2]])
	{[f.object.name, f.message] | some f in fired; contains(f.message, "with Service b ")} == {["a", "shares 1 Pod (shop-0) with Service b although the selectors differ (tier=web vs app=shop): those Pods receive the traffic of both Services"]}
	{f.object.name | some f in fired} == {"a", "b"}
	count(fired) == 3
}

test_no_pods_no_findings if {
	services := [service("cart", {"app.kubernetes.io/component": "api"}), service("checkout", {"app": "checkout"})]
	count(policy.findings) == 0 with input as scan(services, [], [])
}
