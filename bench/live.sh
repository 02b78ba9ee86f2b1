#!/usr/bin/env bash
# Live-scan benchmark: a real kube-apiserver (testenv/) holding ~20k objects, scanned by
# `detek run` (release build) and, in the same run, fetched with `kubectl get --raw` of the
# same lists (the floor: the server's own cost of producing them, plus one client reading
# them). Reports wall time and peak memory (max RSS) of each.
#
#   bench/live.sh                 # ~20k objects, 3 runs each
#   OBJECTS=50000 RUNS=5 bench/live.sh
#   KEEP=1 bench/live.sh          # keep the loaded server (loading 20k objects takes ~2 min) and reuse it
#   KEEP=1 LOAD_ONLY=1 bench/live.sh   # start and load the server only (bench/compare.sh)
#
# kubectl is built from the same k8s.io/kubernetes module as the test API server
# (testenv/apiserver/go.mod, so the same release), cached beside the testenv binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OBJECTS=${OBJECTS:-20000}
RUNS=${RUNS:-3}
WORK=${BENCH_DIR:-${CARGO_TARGET_DIR:-target}/bench-live}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

# shellcheck source=../testenv/lib.sh
source testenv/lib.sh   # TESTENV_CACHE, TESTENV_BIN, K8S_VERSION

# ---------------------------------------------------------------- binaries
testenv/build.sh
KUBECTL="$TESTENV_BIN/kubectl-$K8S_VERSION"
if [[ ! -x "$KUBECTL" ]]; then
  echo "== building kubectl $K8S_VERSION (same module versions as the test API server)"
  mod="$TESTENV_CACHE/kubectl-module"
  mkdir -p "$mod"
  cp testenv/apiserver/go.mod testenv/apiserver/go.sum "$mod/"
  sed -i 's#^module .*#module detek.bench/kubectl#' "$mod/go.mod"
  minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  vflags=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    vflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  (cd "$mod" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w $vflags" \
    -o "$KUBECTL.tmp" k8s.io/kubernetes/cmd/kubectl)
  mv "$KUBECTL.tmp" "$KUBECTL"
fi
"$KUBECTL" version --client | sed -n 1p

TARGET=${CARGO_TARGET_DIR:-target}
# LOAD_ONLY=1 (bench/compare.sh, which times its own binary): no detek build here, so that
# nothing is compiled between the measurements of a run.
[[ ${LOAD_ONLY:-0} == 1 ]] || cargo build --release -q -p detek
BIN=$TARGET/release/detek
# GEN_SNAPSHOT=path: an already built generator (e.g. the debug one; its speed is not measured).
if [[ -n ${GEN_SNAPSHOT:-} ]]; then
  GEN=$GEN_SNAPSHOT
else
  cargo build --release -q -p detek-kubernetes --example gen_snapshot
  GEN=$TARGET/release/examples/gen_snapshot
fi

# ---------------------------------------------------------------- server + objects
ENVDIR="$WORK/env"
# KEEP=1: leave the loaded server running after the benchmark, and reuse it next time.
if [[ "${KEEP:-0}" == 1 && -f "$ENVDIR/env" && -f "$ENVDIR/kube-apiserver.pid" ]] \
   && kill -0 "$(cat "$ENVDIR/kube-apiserver.pid")" 2>/dev/null; then
  # shellcheck disable=SC1091
  source "$ENVDIR/env"
  echo "== reusing the loaded server at $APISERVER_URL"
  LOAD=0
else
  testenv/stop.sh "$ENVDIR" --purge >/dev/null 2>&1 || true
  if [[ "${KEEP:-0}" == 1 ]]; then
    testenv/start.sh "$ENVDIR" >/dev/null
  else
    DETEK_TESTENV_WATCH_PID=$$ testenv/start.sh "$ENVDIR" >/dev/null
  fi
  # shellcheck disable=SC1091
  source "$ENVDIR/env"
  LOAD=1
fi
[[ "${KEEP:-0}" == 1 ]] || trap 'testenv/stop.sh "$ENVDIR" --purge >/dev/null 2>&1 || true' EXIT
KC=$ADMIN_KUBECONFIG

if [[ "$LOAD" == 1 ]]; then
"$GEN" cluster "$OBJECTS" > "$WORK/cluster.json"
echo "== loading $(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['items']))" "$WORK/cluster.json") objects into $APISERVER_URL (create, then PUT status)"
start=$SECONDS
python3 - "$WORK/cluster.json" "$APISERVER_URL" "$ADMIN_TOKEN" "$CA_FILE" <<'PY'
import json, ssl, sys, threading, http.client, urllib.parse, queue
path, url, token, ca = sys.argv[1:5]
items = json.load(open(path))["items"]
host = urllib.parse.urlparse(url)
ctx = ssl.create_default_context(cafile=ca)
plural = {"Pod": "pods", "Node": "nodes", "Service": "services", "Endpoints": "endpoints"}
local = threading.local()
def call(method, p, body):
    if not hasattr(local, "c"):
        local.c = http.client.HTTPSConnection(host.hostname, host.port, context=ctx)
    local.c.request(method, p, json.dumps(body), {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = local.c.getresponse()
    return r.status, json.loads(r.read() or b"{}")
def load(o):
    o = dict(o); status = o.pop("status", None)
    md = o["metadata"]; ns = md.get("namespace")
    if o["kind"] == "Service":
        o["spec"].pop("clusterIP", None); o["spec"].pop("clusterIPs", None)
    base = "/api/v1" + (f"/namespaces/{ns}" if ns else "") + "/" + plural[o["kind"]]
    code, created = call("POST", base, o)
    if code not in (200, 201):
        raise SystemExit(f"create {o['kind']} {md['name']}: {code} {created.get('message')}")
    if status:
        created["status"] = status
        code, r = call("PUT", f"{base}/{md['name']}/status", created)
        if code != 200:
            raise SystemExit(f"status {md['name']}: {code} {r.get('message')}")
namespaces = sorted({o["metadata"]["namespace"] for o in items if o["metadata"].get("namespace")})
for ns in namespaces:
    call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
order = {"Node": 0, "Service": 1, "Endpoints": 2, "Pod": 3}
items.sort(key=lambda o: order[o["kind"]])
q = queue.Queue()
for o in items: q.put(o)
errors = []
def worker():
    while True:
        try: o = q.get_nowait()
        except queue.Empty: return
        try: load(o)
        except BaseException as e: errors.append(str(e)); return
threads = [threading.Thread(target=worker) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
if errors: raise SystemExit(errors[0])
PY
echo "   loaded in $((SECONDS - start)) s"
fi

# The lists detek reads for `run all` (every kind of its model), as collection paths.
PATHS=(
  /api/v1/pods /api/v1/services /api/v1/endpoints /api/v1/nodes /api/v1/namespaces
  /api/v1/configmaps /api/v1/serviceaccounts /api/v1/persistentvolumeclaims
  /api/v1/persistentvolumes /api/v1/events /api/v1/replicationcontrollers /api/v1/secrets
  /apis/apps/v1/deployments /apis/apps/v1/statefulsets /apis/apps/v1/daemonsets
  /apis/apps/v1/replicasets /apis/batch/v1/jobs /apis/batch/v1/cronjobs
  /apis/networking.k8s.io/v1/ingresses /apis/networking.k8s.io/v1/ingressclasses
  /apis/networking.k8s.io/v1/networkpolicies /apis/policy/v1/poddisruptionbudgets
  /apis/autoscaling/v2/horizontalpodautoscalers /apis/rbac.authorization.k8s.io/v1/roles
  /apis/rbac.authorization.k8s.io/v1/clusterroles /apis/rbac.authorization.k8s.io/v1/rolebindings
  /apis/rbac.authorization.k8s.io/v1/clusterrolebindings
  /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations
  /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations
  /version /readyz?verbose /livez?verbose
)
# Compression off, as detek (on loopback gzip only costs the server CPU).
export KUBECTL KC PATHS_STR="${PATHS[*]}"
raw_seq() { set -f; for p in $PATHS_STR; do "$KUBECTL" --kubeconfig "$KC" --disable-compression get --raw "$p" >/dev/null; done; }
raw_par() { set -f; printf '%s\n' $PATHS_STR | xargs -P 4 -I{} "$KUBECTL" --kubeconfig "$KC" --disable-compression get --raw {} >/dev/null; }
raw_pods() { "$KUBECTL" --kubeconfig "$KC" --disable-compression get --raw /api/v1/pods >/dev/null; }
export -f raw_seq raw_par raw_pods
# kubectl get --raw cannot follow continue tokens; this is the paginated floor: the same
# requests detek makes (limit=500 + continue, 4 kinds at a time, keep-alive), bodies read and
# dropped, only the continue token looked at.
cat > "$WORK/paged_floor.py" <<'PY'
import re, ssl, sys, threading, http.client, urllib.parse, queue
url, token, ca, paths = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
host = urllib.parse.urlparse(url)
ctx = ssl.create_default_context(cafile=ca)
q = queue.Queue()
for p in paths: q.put(p)
cont = re.compile(rb'"continue":"([^"]*)"')
def worker():
    c = http.client.HTTPSConnection(host.hostname, host.port, context=ctx)
    while True:
        try: p = q.get_nowait()
        except queue.Empty: return
        token_ = ""
        while True:
            sep = "&" if "?" in p else "?"
            full = p if p.startswith(("/version", "/readyz", "/livez")) else f"{p}{sep}limit=500" + (f"&continue={urllib.parse.quote(token_)}" if token_ else "")
            c.request("GET", full, headers={"Authorization": "Bearer " + token, "Accept": "application/json"})
            body = c.getresponse().read()
            m = cont.search(body[:4096])
            token_ = m.group(1).decode() if m else ""
            if not token_: break
threads = [threading.Thread(target=worker) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
PY

# Each command runs RUNS times, rounds interleaved (so that a busy moment of the machine hits
# all of them alike); reported: best wall time, and peak RSS of the process /usr/bin/time
# runs (for the kubectl loops, the largest single kubectl).
NAMES=(); CMDS=()
bench() { NAMES+=("$1"); shift; CMDS+=("$(printf '%q ' "$@")"); }
run_benches() {
  local -a best rss
  local i r out t m
  for ((r = 0; r < RUNS; r++)); do
    for i in "${!CMDS[@]}"; do
      eval "/usr/bin/time -o \"$WORK/time.out\" -f '%e %M' ${CMDS[$i]}" >/dev/null 2>&1 || true
      out=$(tail -1 "$WORK/time.out"); t=${out% *}; m=${out#* }
      best[i]=$(python3 -c "print(min(${best[i]:-999999}, $t))")
      (( m > ${rss[i]:-0} )) && rss[i]=$m
    done
  done
  for i in "${!CMDS[@]}"; do
    printf '%-62s best of %s: %6.2f s   peak RSS: %7.1f MB\n' "${NAMES[$i]}" "$RUNS" "${best[i]}" "$(python3 -c "print(${rss[i]}/1024)")"
  done
}

objects=$("$BIN" run all -f json --fail-on never --kubeconfig "$KC" | python3 -c "import json,sys; d=json.load(sys.stdin); c=d['collectors'][0]; print(c['stats']['objects'], c['stats']['requests'], round(c['stats']['bytes_received']/1e6,1), c['duration_ms'])")
read -r n requests mb collect_ms <<<"$objects"
echo "== detek run all lists $n objects in $requests requests ($mb MB of JSON); collection took ${collect_ms} ms"
"$KUBECTL" --kubeconfig "$KC" --disable-compression get --raw /api/v1/pods | wc -c | awk '{printf "   (/api/v1/pods alone, unpaginated: %.1f MB)\n", $1/1e6}'

# LOAD_ONLY=1 (with KEEP=1; used by bench/compare.sh): stop here, leaving the loaded server
# running, and write what the caller needs beside its env: the kubectl binary, the lists read
# and the MB of JSON detek read.
if [[ "${LOAD_ONLY:-0}" == 1 ]]; then
  echo "$KUBECTL" > "$WORK/kubectl"
  echo "$PATHS_STR" > "$WORK/paths.txt"
  echo "$mb" > "$WORK/json_mb"
  exit 0
fi

bench "detek run all -f json (every kind; pages of 500, 4 at a time)" "$BIN" run all -f json --fail-on never --kubeconfig "$KC"
bench "detek run -f json (default set)" "$BIN" run -f json --fail-on never --kubeconfig "$KC"
bench "floor: kubectl get --raw, same lists, one after another" bash -c raw_seq
bench "floor: kubectl get --raw, same lists, 4 at a time" bash -c raw_par
bench "floor: detek's own requests (paginated), python, no parsing" python3 "$WORK/paged_floor.py" "$APISERVER_URL" "$ADMIN_TOKEN" "$CA_FILE" "$PATHS_STR"
bench "detek run --select failed_pod (Pods only)" "$BIN" run -f json --select failed_pod --fail-on never --kubeconfig "$KC"
bench "floor: kubectl get --raw /api/v1/pods (unpaginated)" bash -c raw_pods
run_benches
