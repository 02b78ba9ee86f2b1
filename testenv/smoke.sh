#!/usr/bin/env bash
# End-to-end smoke test of the test environment: builds (if needed), starts
# etcd + kube-apiserver, drives the REST API the way detek's integration tests
# will (POST objects, PUT/PATCH their /status), checks pagination and RBAC,
# and stops everything. Exits non-zero on any failure. Needs bash + curl.
#
#   testenv/smoke.sh [DIR]     (DIR defaults to a fresh temporary directory)
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR="${1:-$(mktemp -d "${TMPDIR:-/tmp}/detek-testenv-smoke.XXXXXX")}"
PASSED=0
FAILED=0

cleanup() {
    "$HERE/stop.sh" "$DIR" --purge
}
trap cleanup EXIT

"$HERE/build.sh" || exit 1

start_ns=$(date +%s%N)
"$HERE/start.sh" "$DIR" || { echo "smoke: start.sh failed" >&2; exit 1; }
echo "smoke: start.sh took $((($(date +%s%N) - start_ns) / 1000000)) ms"
# shellcheck source=/dev/null
source "$DIR/env"

BODY="$DIR/smoke-body.json"

# api TOKEN METHOD PATH [JSON [CONTENT_TYPE]] -> prints HTTP status, body in $BODY
api() {
    local token="$1" method="$2" path="$3" data="${4:-}" ctype="${5:-application/json}"
    local args=(-sS -o "$BODY" -w '%{http_code}' --cacert "$CA_FILE"
        -H "Authorization: Bearer $token" -H "Accept: application/json" -X "$method")
    if [[ -n "$data" ]]; then
        args+=(-H "Content-Type: $ctype" --data-binary "$data")
    fi
    curl "${args[@]}" "$APISERVER_URL$path"
}

# check NAME EXPECTED_CODE ACTUAL_CODE [GREP_PATTERN_IN_BODY...]
check() {
    local name="$1" want="$2" got="$3" pat
    shift 3
    if [[ "$got" != "$want" ]]; then
        echo "FAIL: $name: HTTP $got, want $want: $(head -c 600 "$BODY")"
        FAILED=$((FAILED + 1))
        return 1
    fi
    for pat in "$@"; do
        if ! grep -qE -- "$pat" "$BODY"; then
            echo "FAIL: $name: body does not match /$pat/: $(head -c 600 "$BODY")"
            FAILED=$((FAILED + 1))
            return 1
        fi
    done
    echo "ok: $name"
    PASSED=$((PASSED + 1))
}

A="$ADMIN_TOKEN"
L="$LIMITED_TOKEN"
NS=detek-smoke

check "server version" 200 "$(api "$A" GET /version)" "\"gitVersion\": *\"$K8S_VERSION\""
check "create namespace" 201 "$(api "$A" POST /api/v1/namespaces \
    '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"'$NS'"}}')"

POD='{"apiVersion":"v1","kind":"Pod","metadata":{"name":"crashy","namespace":"'$NS'","labels":{"app":"crashy"}},
 "spec":{"containers":[{"name":"app","image":"registry.example/crashy:1.0",
   "securityContext":{"privileged":true},
   "resources":{"limits":{"memory":"64Mi"}}}]}}'
check "create pod (privileged, no ServiceAccount needed)" 201 "$(api "$A" POST /api/v1/namespaces/$NS/pods "$POD")" \
    '"phase": *"Pending"'
check "create second pod" 201 "$(api "$A" POST /api/v1/namespaces/$NS/pods \
    '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"quiet","namespace":"'$NS'"},"spec":{"containers":[{"name":"app","image":"registry.example/quiet:1.0"}]}}')"

# PUT the status subresource (full object; spec changes would be ignored).
POD_STATUS='{"apiVersion":"v1","kind":"Pod","metadata":{"name":"crashy","namespace":"'$NS'"},
 "spec":{"containers":[{"name":"app","image":"registry.example/crashy:1.0","securityContext":{"privileged":true},"resources":{"limits":{"memory":"64Mi"}}}]},
 "status":{"phase":"Running",
   "conditions":[{"type":"Ready","status":"False","reason":"ContainersNotReady"}],
   "containerStatuses":[{"name":"app","image":"registry.example/crashy:1.0","imageID":"","ready":false,"restartCount":7,
     "state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 5m0s restarting failed container"}},
     "lastState":{"terminated":{"exitCode":137,"reason":"OOMKilled","startedAt":"2024-01-01T00:00:00Z","finishedAt":"2024-01-01T00:01:00Z"}}}]}}'
check "PUT pod status (CrashLoopBackOff, last OOMKilled)" 200 \
    "$(api "$A" PUT /api/v1/namespaces/$NS/pods/crashy/status "$POD_STATUS")" '"CrashLoopBackOff"'
check "GET pod shows status" 200 "$(api "$A" GET /api/v1/namespaces/$NS/pods/crashy)" \
    '"phase": *"Running"' '"reason": *"CrashLoopBackOff"' '"reason": *"OOMKilled"' '"restartCount": *7' \
    '"privileged": *true'
check "PATCH pod status (merge patch)" 200 "$(api "$A" PATCH /api/v1/namespaces/$NS/pods/quiet/status \
    '{"status":{"phase":"Failed","reason":"Evicted","message":"The node was low on resource: memory."}}' \
    application/merge-patch+json)" '"reason": *"Evicted"'
check "pod spec untouched (no ServiceAccount admission)" 200 "$(api "$A" GET /api/v1/namespaces/$NS/pods/quiet)" \
    '"image": *"registry.example/quiet:1.0"'

check "create node" 201 "$(api "$A" POST /api/v1/nodes \
    '{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-1","labels":{"kubernetes.io/hostname":"node-1"}}}')"
NODE_STATUS='{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-1"},
 "status":{"conditions":[
   {"type":"Ready","status":"False","reason":"KubeletNotReady","message":"container runtime is down","lastHeartbeatTime":"2024-01-01T00:00:00Z","lastTransitionTime":"2024-01-01T00:00:00Z"},
   {"type":"MemoryPressure","status":"True","reason":"KubeletHasInsufficientMemory","lastHeartbeatTime":"2024-01-01T00:00:00Z","lastTransitionTime":"2024-01-01T00:00:00Z"}],
  "capacity":{"cpu":"2","memory":"4Gi","pods":"110"},"allocatable":{"cpu":"2","memory":"4Gi","pods":"110"}}}'
check "PUT node status (NotReady)" 200 "$(api "$A" PUT /api/v1/nodes/node-1/status "$NODE_STATUS")" \
    '"reason": *"KubeletNotReady"'
check "GET node shows NotReady" 200 "$(api "$A" GET /api/v1/nodes/node-1)" \
    '"type": *"Ready"' '"status": *"False"' '"reason": *"KubeletHasInsufficientMemory"'

check "create service (ClusterIP allocated)" 201 "$(api "$A" POST /api/v1/namespaces/$NS/services \
    '{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"selector":{"app":"web"},"ports":[{"port":80,"targetPort":8080}]}}')" \
    '"clusterIP": *"10\.96\.'
check "create endpoints" 201 "$(api "$A" POST /api/v1/namespaces/$NS/endpoints \
    '{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"web"},"subsets":[{"notReadyAddresses":[{"ip":"10.244.0.5"}],"ports":[{"port":8080}]}]}')"

check "create deployment (no controller-manager: stays as posted)" 201 "$(api "$A" POST /apis/apps/v1/namespaces/$NS/deployments \
    '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"registry.example/web:2"}]}}}}')"
check "PATCH deployment status (1/3 available)" 200 "$(api "$A" PATCH /apis/apps/v1/namespaces/$NS/deployments/web/status \
    '{"status":{"observedGeneration":1,"replicas":3,"readyReplicas":1,"availableReplicas":1,"unavailableReplicas":2,"conditions":[{"type":"Available","status":"False","reason":"MinimumReplicasUnavailable"}]}}' \
    application/merge-patch+json)" '"unavailableReplicas": *2'
check "create event" 201 "$(api "$A" POST /api/v1/namespaces/$NS/events \
    '{"apiVersion":"v1","kind":"Event","metadata":{"name":"crashy.oom"},"involvedObject":{"kind":"Pod","namespace":"'$NS'","name":"crashy"},"reason":"BackOff","message":"Back-off restarting failed container","type":"Warning","count":12,"firstTimestamp":"2024-01-01T00:00:00Z","lastTimestamp":"2024-01-01T00:10:00Z","source":{"component":"kubelet","host":"node-1"}}')"

check "list pods limit=1 returns a continue token" 200 "$(api "$A" GET "/api/v1/namespaces/$NS/pods?limit=1")" \
    '"continue": *"[^"]+"' '"remainingItemCount": *1'
CONT="$(grep -oE '"continue": *"[^"]+"' "$BODY" | sed -E 's/.*"continue": *"([^"]+)"/\1/')"
check "follow continue token" 200 "$(api "$A" GET "/api/v1/namespaces/$NS/pods?limit=1&continue=$CONT")" \
    '"name": *"(crashy|quiet)"'
if grep -qE '"continue": *"[^"]+"' "$BODY"; then
    echo "FAIL: last page still has a continue token"
    FAILED=$((FAILED + 1))
else
    echo "ok: last page has no continue token"
    PASSED=$((PASSED + 1))
fi

check "admin lists secrets" 200 "$(api "$A" GET /api/v1/secrets)" '"kind": *"SecretList"'
check "limited user is forbidden to list secrets" 403 "$(api "$L" GET /api/v1/secrets)" \
    '"reason": *"Forbidden"' 'User \\"limited\\" cannot list resource \\"secrets\\"'
check "limited user is forbidden to list pods" 403 "$(api "$L" GET /api/v1/namespaces/$NS/pods)"
check "limited user can still do discovery" 200 "$(api "$L" GET /api)"
check "bad token is unauthorized" 401 "$(api not-a-token GET /api/v1/pods)"

if command -v kubectl >/dev/null 2>&1; then
    if out="$(kubectl --kubeconfig "$ADMIN_KUBECONFIG" get pods -n $NS -o name 2>&1)" && grep -q pod/crashy <<<"$out"; then
        echo "ok: kubectl with admin.kubeconfig"
        PASSED=$((PASSED + 1))
    else
        echo "FAIL: kubectl with admin.kubeconfig: $out"
        FAILED=$((FAILED + 1))
    fi
    if out="$(kubectl --kubeconfig "$LIMITED_KUBECONFIG" get secrets -A 2>&1)"; then
        echo "FAIL: kubectl with limited.kubeconfig could list secrets"
        FAILED=$((FAILED + 1))
    else
        echo "ok: kubectl with limited.kubeconfig is forbidden"
        PASSED=$((PASSED + 1))
    fi
fi

"$HERE/stop.sh" "$DIR"
# A zombie waiting to be reaped by init counts as stopped.
alive() { [[ -e /proc/$1 && "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]]; }
if alive "$APISERVER_PID" || alive "$ETCD_PID"; then
    echo "FAIL: processes still running after stop.sh"
    FAILED=$((FAILED + 1))
else
    echo "ok: stop.sh stopped kube-apiserver and etcd"
    PASSED=$((PASSED + 1))
fi

echo "testenv smoke: $PASSED passed, $FAILED failed"
((FAILED == 0))
