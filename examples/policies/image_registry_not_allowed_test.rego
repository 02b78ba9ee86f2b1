package detek.image_registry_not_allowed_test

import data.detek.image_registry_not_allowed as policy

allowed := ["registry.k8s.io", "ghcr.io/example-org", "docker.io/library"]

deployment(name, containers, init_containers) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": name, "namespace": "shop"},
	"spec": {"template": {"spec": {"containers": containers, "initContainers": init_containers}}},
}

scan(deployments) := {
	"cluster": {"name": null, "version": null, "identity": null, "live": false},
	"kubernetes": {"deployments": deployments},
}

# The images (name -> image) that the policy reports with `registries` as the allowed list,
# each image running alone in a Deployment of that name.
reported(images, registries) := {f.object.name | some f in fired} if {
	deployments := [deployment(name, [{"name": "app", "image": image}], []) | some name, image in images]
	fired := policy.findings with input as scan(deployments) with data.allowed_registries as registries
}

test_fires_on_an_image_from_another_registry if {
	d := deployment("frontend", [{"name": "php-redis", "image": "gcr.io/google-samples/gb-frontend:v5"}], [])
	policy.findings == {{
		"object": {"kind": "Deployment", "namespace": "shop", "name": "frontend"},
		"message": "container php-redis uses gcr.io/google-samples/gb-frontend:v5, whose repository gcr.io/google-samples/gb-frontend is under no entry of allowed_registries",
		"evidence": "allowed_registries: registry.k8s.io, ghcr.io/example-org, docker.io/library",
		"container": "php-redis",
	}} with input as scan([d]) with data.allowed_registries as allowed
}

test_init_containers_are_judged if {
	d := deployment(
		"web",
		[{"name": "web", "image": "ghcr.io/example-org/web:2.0"}],
		[{"name": "migrate", "image": "bitnami/kubectl:1.30"}],
	)
	fired := policy.findings with input as scan([d]) with data.allowed_registries as allowed
	{f.message | some f in fired} == {"init container migrate uses bitnami/kubectl:1.30, whose repository docker.io/bitnami/kubectl is under no entry of allowed_registries"}
}

test_docker_hub_normalisation if {
	images := {
		"official-short": "nginx:1.27",
		"official-long": "docker.io/library/nginx:1.27",
		"official-index": "index.docker.io/nginx:1.27",
		"official-digest": "redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"official-no-tag": "busybox",
		"org-short": "bitnami/redis:7.2",
		"org-long": "docker.io/bitnami/redis:7.2",
		"org-index": "index.docker.io/bitnami/redis:7.2",
	}
	# Only official images are allowed on Docker Hub.
	reported(images, allowed) == {"org-short", "org-long", "org-index"}
}

test_path_prefixes_stop_at_a_slash if {
	images := {
		"org": "ghcr.io/example-org/web:2.0",
		"org-nested": "ghcr.io/example-org/team/api:1.4.2",
		"other-org": "ghcr.io/example-organisation/web:2.0",
		"registry-root": "ghcr.io/web:1.0",
		"k8s": "registry.k8s.io/ingress-nginx/controller:v1.12.1@sha256:d2fbc4ec70d8aa2050dd91a91506e998765e86c96f32cffb56c503c9c34eed5b",
		"k8s-lookalike": "registry.k8s.io.example.com/pause:3.9",
	}
	reported(images, allowed) == {"other-org", "registry-root", "k8s-lookalike"}
}

test_hosts_with_ports_and_localhost if {
	images := {
		"port": "registry.example.com:5000/team/app:1.0",
		"port-no-tag": "registry.example.com:5000/team/app",
		"other-port": "registry.example.com:5001/team/app:1.0",
		"localhost": "localhost/app:dev",
		"localhost-port": "localhost:5000/app:dev",
	}
	reported(images, ["registry.example.com:5000", "localhost"]) == {"other-port", "localhost-port"}
}

test_entries_are_cleaned if {
	# Case of the host, a trailing slash, spaces and index.docker.io do not matter; non-strings
	# and empty entries are ignored.
	registries := [" GHCR.io/Example-Org/ ", "index.docker.io", "", 42]
	images := {"a": "ghcr.io/Example-Org/web:1", "b": "redis:7.2", "c": "bitnami/redis:7.2", "d": "quay.io/prometheus/prometheus:v2.53.0"}
	reported(images, registries) == {"d"}
}

test_registry_host_only_entry_allows_everything_on_it if {
	count(reported({"a": "docker.io/bitnami/redis:7.2", "b": "nginx"}, ["docker.io"])) == 0
}

test_without_a_list_nothing_is_reported if {
	d := deployment("frontend", [{"name": "php-redis", "image": "gcr.io/google-samples/gb-frontend:v5"}], [])
	count(policy.findings) == 0 with input as scan([d]) with data.allowed_registries as []
	count(policy.findings) == 0 with input as scan([d]) with data.allowed_registries as ["", "  "]
}

test_allowed_images_pass if {
	d := deployment(
		"guestbook",
		[{"name": "redis", "image": "registry.k8s.io/redis:e2e"}, {"name": "php-redis", "image": "ghcr.io/example-org/gb-frontend:v5"}],
		[{"name": "wait", "image": "busybox:1.36"}],
	)
	count(policy.findings) == 0 with input as scan([d]) with data.allowed_registries as allowed
}

test_namespace_defaults_to_default if {
	d := {
		"kind": "Deployment",
		"metadata": {"name": "redis-replica"},
		"spec": {"template": {"spec": {"containers": [{"name": "replica", "image": "gcr.io/google_samples/gb-redisslave:v1"}]}}},
	}
	fired := policy.findings with input as scan([d]) with data.allowed_registries as allowed
	{f.object | some f in fired} == {{"kind": "Deployment", "namespace": "default", "name": "redis-replica"}}
}
