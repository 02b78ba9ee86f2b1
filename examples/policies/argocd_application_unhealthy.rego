# METADATA
# title: Argo CD Application out of sync or degraded
# description: |
#   Reports Argo CD `Application`s whose sync status is `OutOfSync` (the live objects differ
#   from what the source, Git or a Helm repository, declares at the compared revision) or
#   whose health is `Degraded` (a resource failed: a Deployment that exceeded its progress
#   deadline, a Pod in CrashLoopBackOff, a Job that failed). One finding per Application,
#   naming which of the two it is and the resources concerned, from `status.resources`, with
#   their health message. A failed last sync operation (`status.operationState.phase` `Failed`
#   or `Error`) is added to the message: it is often why the Application is out of sync.
#
#   `Progressing`, `Suspended`, `Missing` and `Unknown` health are not reported: they are
#   transitional or intended, and a `Missing` Application is `OutOfSync` anyway. Since Argo CD
#   3.0 the health of each resource is kept in the resource tree, not in the Application
#   (`status.resourceHealthSource: appTree`): the message then names the out-of-sync
#   resources only. An Application that is meant to drift (manual sync, resources changed by
#   an operator or an autoscaler) shows here until its `ignoreDifferences` say so.
# related_resources:
#   - https://argo-cd.readthedocs.io/en/stable/operator-manual/health/
#   - https://argo-cd.readthedocs.io/en/stable/core_concepts/
# custom:
#   id: argocd_application_unhealthy
#   level: Warn
#   solution: |
#     See what differs and what failed:
#
#     ```sh
#     argocd app diff NAME            # live objects versus the source
#     argocd app get NAME --show-operation
#     kubectl -n argocd get application NAME -o jsonpath='{.status.resources}'
#     ```
#
#     Then either sync (`argocd app sync NAME`) once the cause of a failed sync is fixed,
#     commit the live change to the source, or declare the expected drift with
#     `spec.ignoreDifferences`. For a Degraded Application, fix the degraded resource
#     (`kubectl describe` it and look at its events).
#   example: |
#     kind: Application
#     metadata: {name: guestbook, namespace: argocd}
#     status:
#       sync: {status: OutOfSync}     # fires
#       health: {status: Degraded}    # fires (one finding for both)
#   labels: [gitops, argocd]
#   requires: [argoproj.io/Application]
package detek.argocd_application_unhealthy

# Source: Argo CD documentation, "Resource Health" (https://argo-cd.readthedocs.io/en/stable/operator-manual/health/)
# and "Core Concepts" (https://argo-cd.readthedocs.io/en/stable/core_concepts/): sync status
# says whether the live state matches the target state; Degraded means the resource failed.

findings contains {
	"object": {"kind": "Application", "namespace": object.get(app.metadata, "namespace", "default"), "name": app.metadata.name},
	"message": concat("", ["is ", concat(" and ", states), details(app), last_sync_failure(app)]),
	"evidence": sprintf("status.sync.status: %s; status.health.status: %s; status.sync.revision: %s", [
		text_or_none(sync_status(app)), text_or_none(health_status(app)), text_or_none(revision(app)),
	]),
} if {
	some app in applications
	states := array.concat(sync_state(app), health_state(app))
	count(states) > 0
}

applications := object.get(object.get(object.get(input.kubernetes, "custom", {}), "argoproj.io", {}), "Application", [])

# "OutOfSync from revision 53e28ff" / "Degraded", when the Application is so.
sync_state(app) := [concat("", ["OutOfSync", revision_text(app)])] if sync_status(app) == "OutOfSync"

sync_state(app) := [] if sync_status(app) != "OutOfSync"

health_state(app) := ["Degraded"] if health_status(app) == "Degraded"

health_state(app) := [] if health_status(app) != "Degraded"

status_of(app) := as_object(object.get(app, "status", {}))

sync_status(app) := object.get(as_object(object.get(status_of(app), "sync", {})), "status", "")

health_status(app) := object.get(as_object(object.get(status_of(app), "health", {})), "status", "")

revision(app) := object.get(as_object(object.get(status_of(app), "sync", {})), "revision", "")

# A Git commit is shortened as Argo CD's UI does; a Helm chart version is kept whole.
revision_text(app) := sprintf(" from revision %s", [substring(revision(app), 0, 7)]) if {
	is_string(revision(app))
	regex.match(`^[0-9a-f]{40}$`, revision(app))
} else := sprintf(" from revision %s", [revision(app)]) if {
	is_string(revision(app))
	revision(app) != ""
} else := ""

# ": 1 resource out of sync (Service guestbook/guestbook-ui), 1 degraded (Deployment ...: ...)"
details(app) := concat("", [": ", concat(", ", notes)]) if {
	notes := array.concat(out_of_sync_note(app), degraded_note(app))
	count(notes) > 0
} else := ""

out_of_sync_note(app) := [sprintf("%d %s (%s)", [count(names), noun, listing(names)])] if {
	sync_status(app) == "OutOfSync"
	names := sort([resource_label(r) | some r in resources(app); r.status == "OutOfSync"])
	count(names) > 0
	noun := plural(count(names), "resource out of sync", "resources out of sync")
} else := []

degraded_note(app) := [sprintf("%d degraded (%s)", [count(names), listing(names)])] if {
	health_status(app) == "Degraded"
	names := sort([degraded_item(r) | some r in resources(app); r.health.status == "Degraded"])
	count(names) > 0
} else := []

resources(app) := [r | some r in items(status_of(app).resources); is_object(r)]

# "Deployment guestbook/guestbook-ui", "ClusterRole guestbook-reader" (cluster-scoped).
resource_label(r) := sprintf("%s %s/%s", [r.kind, r.namespace, r.name]) if {
	is_string(r.namespace)
	r.namespace != ""
} else := sprintf("%s %s", [r.kind, r.name])

degraded_item(r) := sprintf("%s: %s", [resource_label(r), r.health.message]) if {
	is_string(r.health.message)
	r.health.message != ""
} else := resource_label(r)

listing(names) := concat(", ", names) if count(names) <= 3

listing(names) := concat("", [concat(", ", array.slice(names, 0, 3)), ", ..."]) if count(names) > 3

plural(n, one, many) := one if n == 1

plural(n, one, many) := many if n != 1

# "; last sync Failed: one or more objects failed to apply..." after a failed sync operation.
last_sync_failure(app) := sprintf("; last sync %s: %s", [op.phase, object.get(op, "message", "no message")]) if {
	op := as_object(object.get(status_of(app), "operationState", {}))
	op.phase in {"Failed", "Error"}
} else := ""

as_object(x) := x if is_object(x)

as_object(x) := {} if not is_object(x)

text_or_none(s) := s if s != ""

text_or_none(s) := "(none)" if s == ""

# Arrays only: regorus stops the policy on `some x in` over null or a string (a manifest can
# say `initContainers: null`); anything else than an array is left undefined here.
items(value) := value if is_array(value)
