package detek.ingress_nginx_ingressnightmare_test

import data.detek.ingress_nginx_ingressnightmare as policy

controller_v1_11_4 := "registry.k8s.io/ingress-nginx/controller:v1.11.4@sha256:981a97d78bee3109c0b149946c07989f8f1478a9265031d2d23dea839ba05b52"

pod_spec(image) := {"containers": [{"name": "controller", "image": image}]}

deployment(name, image) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": name, "namespace": "ingress-nginx"},
	"spec": {"template": {"spec": pod_spec(image)}},
}

daemonset(name, image) := {
	"apiVersion": "apps/v1",
	"kind": "DaemonSet",
	"metadata": {"name": name, "namespace": "ingress-nginx"},
	"spec": {"template": {"spec": pod_spec(image)}},
}

pod(name, image) := {
	"apiVersion": "v1",
	"kind": "Pod",
	"metadata": {"name": name, "namespace": "ingress-nginx"},
	"spec": pod_spec(image),
}

scan(deployments, daemonsets, pods, controllers) := {
	"cluster": {"name": null, "version": null, "identity": null, "live": false},
	"kubernetes": {"deployments": deployments, "daemonsets": daemonsets, "pods": pods},
	"indexes": {"pod_controller": controllers},
}

# The names of the Deployments reported when each image of `images` (name -> image) runs in a
# Deployment of that name.
reported_deployments(images) := {f.object.name | some f in fired} if {
	deployments := [deployment(name, image) | some name, image in images]
	fired := policy.findings with input as scan(deployments, [], [], [])
}

test_fires_on_v1_11_4_with_digest if {
	# The expected set is bound before the comparison: compared as a literal that calls a
	# function, in the expression carrying `with`, it came out undefined under regorus 0.14.
	expected := {{
		"object": {"kind": "Deployment", "namespace": "ingress-nginx", "name": "ingress-nginx-controller"},
		"message": "container controller runs registry.k8s.io/ingress-nginx/controller:v1.11.4, affected by CVE-2025-1974 (IngressNightmare; fixed in v1.11.5 and v1.12.1)",
		"evidence": concat("", ["image: ", controller_v1_11_4, " (version 1.11.4)"]),
		"container": "controller",
	}}
	policy.findings == expected with input as scan([deployment("ingress-nginx-controller", controller_v1_11_4)], [], [], [])
}

test_fires_on_v1_12_0_daemonset if {
	policy.findings == {{
		"object": {"kind": "DaemonSet", "namespace": "ingress-nginx", "name": "ingress-nginx-controller"},
		"message": "container controller runs registry.k8s.io/ingress-nginx/controller:v1.12.0, affected by CVE-2025-1974 (IngressNightmare; fixed in v1.11.5 and v1.12.1)",
		"evidence": "image: registry.k8s.io/ingress-nginx/controller:v1.12.0 (version 1.12.0)",
		"container": "controller",
	}} with input as scan([], [daemonset("ingress-nginx-controller", "registry.k8s.io/ingress-nginx/controller:v1.12.0")], [], [])
}

test_affected_versions_fire if {
	images := {
		"with-v": "registry.k8s.io/ingress-nginx/controller:v1.11.4",
		"without-v": "registry.k8s.io/ingress-nginx/controller:1.11.4",
		"old-registry": "k8s.gcr.io/ingress-nginx/controller:v1.1.1",
		"v0": "k8s.gcr.io/ingress-nginx/controller:v0.49.3",
		"v1-12-0": "registry.k8s.io/ingress-nginx/controller:v1.12.0",
		"v1-12-0-beta": "registry.k8s.io/ingress-nginx/controller:v1.12.0-beta.0",
		"mirror-chroot": "registry.example.com/mirror/ingress-nginx/controller-chroot:v1.10.6",
		"registry-port": "registry.example.com:5000/ingress-nginx/controller:v1.11.3",
	}
	reported_deployments(images) == {
		"with-v", "without-v", "old-registry", "v0", "v1-12-0", "v1-12-0-beta",
		"mirror-chroot", "registry-port",
	}
}

test_fixed_versions_pass if {
	images := {
		"v1-11-5": "registry.k8s.io/ingress-nginx/controller:v1.11.5@sha256:a1cbad75b0a7098bf9325132794dddf9eef917e8a7fe246749a4cea7ff6f01eb",
		"v1-11-10": "registry.k8s.io/ingress-nginx/controller:v1.11.10",
		"v1-12-1": "registry.k8s.io/ingress-nginx/controller:v1.12.1",
		"v1-13-0": "registry.k8s.io/ingress-nginx/controller:v1.13.0",
		"v2": "registry.k8s.io/ingress-nginx/controller:v2.0.0",
	}
	count(reported_deployments(images)) == 0
}

test_versions_that_cannot_be_read_are_not_reported if {
	images := {
		"latest": "registry.k8s.io/ingress-nginx/controller:latest",
		"digest-only": "registry.k8s.io/ingress-nginx/controller@sha256:981a97d78bee3109c0b149946c07989f8f1478a9265031d2d23dea839ba05b52",
		"no-tag": "registry.k8s.io/ingress-nginx/controller",
		"two-parts": "registry.k8s.io/ingress-nginx/controller:v1.11",
		"leading-zero": "registry.k8s.io/ingress-nginx/controller:v01.11.4",
	}
	count(reported_deployments(images)) == 0
}

test_other_images_pass if {
	images := {
		"certgen": "registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.5.0",
		"other-controller": "docker.io/example/controller:v1.0.0",
		"lookalike": "registry.example.com/my-ingress-nginx/controller:v1.0.0",
	}
	count(reported_deployments(images)) == 0
}

test_init_containers_are_judged if {
	d := {
		"kind": "Deployment",
		"metadata": {"name": "web", "namespace": "shop"},
		"spec": {"template": {"spec": {
			"initContainers": [{"name": "warmup", "image": "registry.k8s.io/ingress-nginx/controller:v1.9.0"}],
			"containers": [{"name": "app", "image": "registry.example.com/shop/web:2.1"}],
		}}},
	}
	fired := policy.findings with input as scan([d], [], [], [])
	{[f.object.namespace, f.container] | some f in fired} == {["shop", "warmup"]}
}

test_namespace_defaults_to_default if {
	d := {
		"kind": "Deployment",
		"metadata": {"name": "ingress-nginx-controller"},
		"spec": {"template": {"spec": pod_spec("registry.k8s.io/ingress-nginx/controller:v1.11.2")}},
	}
	fired := policy.findings with input as scan([d], [], [], [])
	{f.object | some f in fired} == {{"kind": "Deployment", "namespace": "default", "name": "ingress-nginx-controller"}}
}

# A live scan holds the Deployment and its Pods: the Deployment is reported, its Pods are not;
# a bare Pod and a Pod whose Deployment is not in the scan are.
test_pods_of_a_reported_deployment_are_not_repeated if {
	deployments := [deployment("ingress-nginx-controller", controller_v1_11_4)]
	pods := [
		pod("ingress-nginx-controller-5d8f6c7b9-x2k4q", controller_v1_11_4),
		pod("debug-controller", "registry.k8s.io/ingress-nginx/controller:v1.12.0"),
		pod("old-controller-7c9d8-abcde", "registry.k8s.io/ingress-nginx/controller:v1.10.1"),
	]
	controllers := [
		{"kind": "Deployment", "name": "ingress-nginx-controller"},
		null,
		{"kind": "Deployment", "name": "old-controller"},
	]
	fired := policy.findings with input as scan(deployments, [], pods, controllers)
	{[f.object.kind, f.object.name] | some f in fired} == {
		["Deployment", "ingress-nginx-controller"],
		["Pod", "debug-controller"],
		["Pod", "old-controller-7c9d8-abcde"],
	}
}

test_pod_of_a_fixed_deployment_left_from_an_old_rollout_is_reported if {
	deployments := [deployment("ingress-nginx-controller", "registry.k8s.io/ingress-nginx/controller:v1.12.1")]
	pods := [pod("ingress-nginx-controller-6b7c5d4f8-q9w8e", "registry.k8s.io/ingress-nginx/controller:v1.12.0")]
	controllers := [{"kind": "Deployment", "name": "ingress-nginx-controller"}]
	fired := policy.findings with input as scan(deployments, [], pods, controllers)
	{[f.object.kind, f.object.name] | some f in fired} == {["Pod", "ingress-nginx-controller-6b7c5d4f8-q9w8e"]}
}

test_nothing_to_scan if {
	count(policy.findings) == 0 with input as scan([], [], [], [])
}
