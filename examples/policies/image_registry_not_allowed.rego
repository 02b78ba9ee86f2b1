# METADATA
# title: Deployment container image from a registry that is not allowed
# description: |
#   Reports containers and init containers of Deployments whose image does not come from one
#   of the registries listed in the policy data, `allowed_registries` (see `data.yaml`). When
#   the list is absent or empty the policy reports nothing: there is no policy to enforce.
#
#   Images are compared in their full form, as the container runtime resolves them, without
#   tag or digest: an image without a registry host is on Docker Hub, `docker.io`, and a
#   Docker Hub image without an organisation is under `library/`. So `nginx:1.27` is
#   `docker.io/library/nginx`, `bitnami/redis:7.2` is `docker.io/bitnami/redis`, and
#   `ghcr.io/acme/web:2.0` is `ghcr.io/acme/web`. The first part of a name is a registry host
#   when it contains a `.` or a `:`, is `localhost`, or has upper-case letters (the rules of
#   the distribution `reference` package that Docker and containerd use); `index.docker.io` is
#   `docker.io`.
#
#   An entry of `allowed_registries` is a registry host (`registry.k8s.io`,
#   `registry.example.com:5000`) or a host and a path (`ghcr.io/example-org`,
#   `docker.io/library`). An image is allowed when its full name is an entry or begins with an
#   entry followed by `/`: `ghcr.io/example-org` allows `ghcr.io/example-org/web` and
#   `ghcr.io/example-org/team/api`, not `ghcr.io/example-organisation/web`. Hosts are compared
#   without regard to case; a trailing `/` in an entry is ignored.
#
#   Pulling from registries nobody reviewed bypasses image scanning and signing, and makes
#   the workload depend on a third party's availability and rate limits (Docker Hub's
#   anonymous pull limit).
# related_resources:
#   - https://kubernetes.io/docs/concepts/containers/images/#image-names
#   - https://github.com/distribution/reference/blob/main/normalize.go
# custom:
#   id: image_registry_not_allowed
#   level: Error
#   solution: |
#     Mirror or rebuild the image into an allowed registry and reference it there
#     (`registry.example.com/mirror/redis:7.2` rather than `redis:7.2`), or, if the registry is
#     acceptable, add it to `allowed_registries` in the policy data. To enforce the rule at
#     admission time as well, use a policy engine (ValidatingAdmissionPolicy, Kyverno,
#     Gatekeeper) with the same list.
#   example: |
#     # data.yaml: allowed_registries: [registry.k8s.io, ghcr.io/example-org]
#     kind: Deployment
#     spec:
#       template:
#         spec:
#           containers:
#             - name: cache
#               image: redis:7.2    # fires: docker.io/library/redis
#   labels: [security, supply-chain]
#   requires: [deployments]
package detek.image_registry_not_allowed

# Source: Kubernetes documentation, "Images", Image names (https://kubernetes.io/docs/concepts/containers/images/#image-names):
# without a registry hostname, Kubernetes means the Docker public registry; normalisation as in
# https://github.com/distribution/reference/blob/main/normalize.go (splitDockerDomain).

findings contains {
	"object": {"kind": "Deployment", "namespace": object.get(d.metadata, "namespace", "default"), "name": d.metadata.name},
	"message": sprintf("%s %s uses %s, whose repository %s is under no entry of allowed_registries", [
		container_word[field], c.name, c.image, repository,
	]),
	"evidence": sprintf("allowed_registries: %s", [concat(", ", allowed)]),
	"container": c.name,
} if {
	count(allowed) > 0
	some d in object.get(input.kubernetes, "deployments", [])
	some field in ["initContainers", "containers"]
	some c in items(d.spec.template.spec[field])
	is_string(c.image)
	repository := repository_of(c.image)
	not allowed_repository(repository)
}

container_word := {"initContainers": "init container", "containers": "container"}

# The list from the policy data, cleaned: "GHCR.io/example-org/" -> "ghcr.io/example-org".
allowed := [entry |
	some raw in items(data.allowed_registries)
	is_string(raw)
	trimmed := trim_suffix(trim_space(raw), "/")
	trimmed != ""
	entry := normalise_entry(trimmed)
]

normalise_entry(entry) := canonical_host(entry) if not contains(entry, "/")

normalise_entry(entry) := concat("/", [canonical_host(host), rest]) if {
	contains(entry, "/")
	parts := split(entry, "/")
	host := parts[0]
	rest := concat("/", array.slice(parts, 1, count(parts)))
}

allowed_repository(repository) if {
	some entry in allowed
	repository == entry
}

allowed_repository(repository) if {
	some entry in allowed
	startswith(repository, concat("", [entry, "/"]))
}

# The full repository name of an image, without tag or digest:
# "nginx:1.27" -> "docker.io/library/nginx", "ghcr.io/acme/web@sha256:..." -> "ghcr.io/acme/web",
# "registry.example.com:5000/team/app:1.0" -> "registry.example.com:5000/team/app".
repository_of(image) := full_name(m[1]) if {
	without_digest := split(image, "@")[0]
	# The tag follows the last ":" that comes after the last "/" (an earlier ":" is a port).
	m := regex.find_all_string_submatch_n(`^(.*?)(?::[^:/]+)?$`, without_digest, 1)[0]
}

# "nginx" -> "docker.io/library/nginx"
full_name(name) := concat("/", ["docker.io", "library", name]) if not contains(name, "/")

# "bitnami/redis" -> "docker.io/bitnami/redis"
full_name(name) := concat("/", ["docker.io", name]) if {
	contains(name, "/")
	not is_host(split(name, "/")[0])
}

# "ghcr.io/acme/web" -> "ghcr.io/acme/web", "index.docker.io/nginx" -> "docker.io/library/nginx"
full_name(name) := on_host(canonical_host(parts[0]), concat("/", array.slice(parts, 1, count(parts)))) if {
	contains(name, "/")
	parts := split(name, "/")
	is_host(parts[0])
}

on_host(host, path) := concat("/", [host, "library", path]) if {
	host == "docker.io"
	not contains(path, "/")
}

on_host(host, path) := concat("/", [host, path]) if {
	not docker_hub_official(host, path)
}

docker_hub_official(host, path) if {
	host == "docker.io"
	not contains(path, "/")
}

is_host(part) if contains(part, ".")

is_host(part) if contains(part, ":")

is_host(part) if part == "localhost"

is_host(part) if lower(part) != part

canonical_host(host) := "docker.io" if lower(host) == "index.docker.io"

canonical_host(host) := lower(host) if lower(host) != "index.docker.io"

# Arrays only: regorus stops the policy on `some x in` over null or a string (a manifest can
# say `initContainers: null`); anything else than an array is left undefined here.
items(value) := value if is_array(value)
