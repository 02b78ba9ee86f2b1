#!/usr/bin/env bash
# Starts a throw-away Kubernetes control plane (etcd + kube-apiserver, no
# controller-manager, no scheduler, no kubelet) on free loopback ports.
#
#   testenv/start.sh DIR
#
# DIR is created if needed and receives everything: certificates, tokens,
# etcd data, logs, pid files, admin.kubeconfig, limited.kubeconfig and env.
# When this script exits 0 the API server answers /readyz with ok.
# Stop it with testenv/stop.sh DIR.
#
# Environment:
#   DETEK_TESTENV_CACHE          where build.sh put the binaries
#   DETEK_TESTENV_NO_BUILD=1     fail instead of running build.sh when the
#                                binaries are missing
#   DETEK_TESTENV_WATCH_PID=PID  also stop the environment as soon as process
#                                PID is gone (e.g. the test binary's own pid, so
#                                a crashed/aborted test run leaves nothing behind)
#   DETEK_TESTENV_TIMEOUT=SECS   how long to wait for readiness (default 60)
#   DETEK_TESTENV_APISERVER_ARGS extra kube-apiserver flags (word-split)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

[[ $# -eq 1 ]] || testenv_die "usage: $0 DIR"
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
# env is read by shells and by test harnesses as plain KEY=value lines.
[[ "$DIR" =~ ^[A-Za-z0-9_./+@:,-]+$ ]] || testenv_die "DIR must not contain spaces or shell metacharacters: $DIR"
if [[ -f "$DIR/kube-apiserver.pid" ]] && kill -0 "$(cat "$DIR/kube-apiserver.pid")" 2>/dev/null; then
    testenv_die "an environment already runs in $DIR (stop it with stop.sh first)"
fi

ETCD_PID=""
APISERVER_PID=""
# On any failure, do not leave half an environment running.
on_exit() {
    local rc=$?
    if ((rc != 0)); then
        set +e
        [[ -n "$APISERVER_PID" ]] && kill -9 "$APISERVER_PID" 2>/dev/null
        [[ -n "$ETCD_PID" ]] && kill -9 "$ETCD_PID" 2>/dev/null
        rm -f "$DIR/kube-apiserver.pid" "$DIR/etcd.pid" "$DIR/env"
    fi
    return 0
}
trap on_exit EXIT

# Never leave an env file from an earlier run behind: it appears again only
# once the new environment is ready.
rm -f "$DIR/env"

T0=$(date +%s%N)
elapsed() { echo "$((($(date +%s%N) - T0) / 1000000))ms"; }

if [[ ! -x "$KUBE_APISERVER_BIN" || ! -x "$ETCD_BIN" ]]; then
    [[ "${DETEK_TESTENV_NO_BUILD:-0}" == 1 ]] && testenv_die "binaries missing in $TESTENV_BIN; run $HERE/build.sh"
    testenv_log "binaries missing, running build.sh"
    "$HERE/build.sh"
fi
for tool in openssl curl base64; do
    command -v "$tool" >/dev/null 2>&1 || testenv_die "$tool is required (build.sh installs it)"
done

# ---------------------------------------------------------------- credentials
PKI="$DIR/pki"
mkdir -p "$PKI"
chmod 700 "$PKI"
if [[ ! -f "$PKI/ca.crt" ]]; then
    (
        cd "$PKI"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
            -subj "/CN=detek-testenv-ca" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
            -subj "/CN=kube-apiserver" 2>/dev/null
        cat >apiserver.ext <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:0:0:0:0:0:0:0:1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
EOF
        openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
            -out apiserver.crt -days 3650 -extfile apiserver.ext 2>/dev/null
        openssl genrsa -out sa.key 2048 2>/dev/null
        openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
        rm -f apiserver.csr ca.srl
    ) || testenv_die "certificate generation failed"
    cp "$PKI/ca.crt" "$DIR/ca.crt"
fi
if [[ ! -f "$DIR/tokens.csv" ]]; then
    ADMIN_TOKEN="$(openssl rand -hex 24)"
    LIMITED_TOKEN="$(openssl rand -hex 24)"
    # token,user,uid,"groups" -- every authenticated user also gets
    # system:authenticated; "limited" has no other group and no RBAC bindings.
    {
        echo "$ADMIN_TOKEN,admin,detek-admin,\"system:masters\""
        echo "$LIMITED_TOKEN,limited,detek-limited"
    } >"$DIR/tokens.csv"
    chmod 600 "$DIR/tokens.csv"
fi
ADMIN_TOKEN="$(awk -F, '$2 == "admin" { print $1 }' "$DIR/tokens.csv")"
LIMITED_TOKEN="$(awk -F, '$2 == "limited" { print $1 }' "$DIR/tokens.csv")"
testenv_log "credentials ready ($(elapsed))"

# ---------------------------------------------------------------------- ports
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Ports come from 20000-32767: below Linux's ephemeral range, so outgoing
# connections never hold them. A collision with a concurrently starting
# environment is detected (bind failure) and retried with new ports.
pick_port() {
    local p
    for _ in $(seq 1 100); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
        if ! port_in_use "$p" && [[ " ${PICKED:-} " != *" $p "* ]]; then
            PICKED="${PICKED:-} $p"
            echo "$p"
            return 0
        fi
    done
    testenv_die "no free loopback port found"
}

stop_pid() {
    local pid="$1"
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}

TIMEOUT="${DETEK_TESTENV_TIMEOUT:-60}"

# start_etcd: 0 = healthy, 2 = port collision (retry), exits otherwise.
start_etcd() {
    rm -rf "$DIR/etcd-data"
    setsid "$ETCD_BIN" \
        --name detek-testenv \
        --data-dir "$DIR/etcd-data" \
        --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-cluster "detek-testenv=http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-cluster-state new \
        --unsafe-no-fsync \
        --snapshot-count 100000 \
        --log-level warn \
        </dev/null >"$DIR/etcd.log" 2>&1 &
    ETCD_PID=$!
    echo "$ETCD_PID" >"$DIR/etcd.pid"
    local deadline=$((SECONDS + TIMEOUT))
    while ((SECONDS < deadline)); do
        if ! kill -0 "$ETCD_PID" 2>/dev/null; then
            grep -q "address already in use" "$DIR/etcd.log" && return 2
            tail -n 20 "$DIR/etcd.log" >&2
            testenv_die "etcd exited during startup (log: $DIR/etcd.log)"
        fi
        if curl -fsS -m 1 "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'; then
            return 0
        fi
        sleep 0.1
    done
    stop_pid "$ETCD_PID"
    testenv_die "etcd not healthy after ${TIMEOUT}s (log: $DIR/etcd.log)"
}

# start_apiserver: 0 = ready, 2 = port collision (retry), exits otherwise.
start_apiserver() {
    # ServiceAccount admission is disabled: it rejects pods until the
    # controller-manager has created the namespace's "default" ServiceAccount
    # (controller-runtime's envtest does the same). Pods are therefore stored
    # exactly as posted (no serviceAccountName defaulting, no token volume).
    # shellcheck disable=SC2086
    setsid "$KUBE_APISERVER_BIN" \
        --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
        --bind-address 127.0.0.1 \
        --advertise-address 127.0.0.1 \
        --secure-port "$APISERVER_PORT" \
        --cert-dir "$PKI" \
        --tls-cert-file "$PKI/apiserver.crt" \
        --tls-private-key-file "$PKI/apiserver.key" \
        --client-ca-file "$PKI/ca.crt" \
        --token-auth-file "$DIR/tokens.csv" \
        --authorization-mode RBAC \
        --service-account-issuer https://kubernetes.default.svc.cluster.local \
        --service-account-key-file "$PKI/sa.pub" \
        --service-account-signing-key-file "$PKI/sa.key" \
        --service-cluster-ip-range 10.96.0.0/16 \
        --disable-admission-plugins ServiceAccount \
        --allow-privileged=true \
        --profiling=false \
        --v=1 \
        ${DETEK_TESTENV_APISERVER_ARGS:-} \
        </dev/null >"$DIR/kube-apiserver.log" 2>&1 &
    APISERVER_PID=$!
    echo "$APISERVER_PID" >"$DIR/kube-apiserver.pid"
    local deadline=$((SECONDS + TIMEOUT)) out=""
    while ((SECONDS < deadline)); do
        if ! kill -0 "$APISERVER_PID" 2>/dev/null; then
            grep -q "address already in use" "$DIR/kube-apiserver.log" && return 2
            tail -n 30 "$DIR/kube-apiserver.log" >&2
            testenv_die "kube-apiserver exited during startup (log: $DIR/kube-apiserver.log)"
        fi
        out="$(curl -sS -m 2 --cacert "$PKI/ca.crt" -H "Authorization: Bearer $ADMIN_TOKEN" \
            "https://127.0.0.1:$APISERVER_PORT/readyz" 2>/dev/null || true)"
        [[ "$out" == ok ]] && return 0
        sleep 0.2
    done
    curl -sS -m 2 --cacert "$PKI/ca.crt" -H "Authorization: Bearer $ADMIN_TOKEN" \
        "https://127.0.0.1:$APISERVER_PORT/readyz?verbose" >&2 || true
    stop_pid "$APISERVER_PID"
    stop_pid "$ETCD_PID"
    testenv_die "kube-apiserver not ready after ${TIMEOUT}s (log: $DIR/kube-apiserver.log)"
}

for attempt in 1 2 3 4 5; do
    PICKED=""
    ETCD_PORT=$(pick_port)
    PICKED+=" $ETCD_PORT"
    ETCD_PEER_PORT=$(pick_port)
    PICKED+=" $ETCD_PEER_PORT"
    APISERVER_PORT=$(pick_port)
    rc=0
    start_etcd || rc=$?
    if ((rc == 2)); then
        testenv_log "etcd port collision, retrying ($attempt)"
        continue
    fi
    testenv_log "etcd healthy on 127.0.0.1:$ETCD_PORT ($(elapsed))"
    rc=0
    start_apiserver || rc=$?
    if ((rc == 2)); then
        testenv_log "kube-apiserver port collision, retrying ($attempt)"
        stop_pid "$ETCD_PID"
        continue
    fi
    break
done
((rc == 0)) || testenv_die "could not find free ports after 5 attempts"
APISERVER_URL="https://127.0.0.1:$APISERVER_PORT"
testenv_log "kube-apiserver ready at $APISERVER_URL ($(elapsed))"

# ---------------------------------------------------------------- kubeconfigs
CA_DATA="$(base64 -w0 <"$PKI/ca.crt")"
write_kubeconfig() {
    local user="$1" token="$2" file="$3"
    cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: detek-testenv
  cluster:
    server: $APISERVER_URL
    certificate-authority-data: $CA_DATA
users:
- name: $user
  user:
    token: $token
contexts:
- name: detek-testenv-$user
  context:
    cluster: detek-testenv
    user: $user
    namespace: default
current-context: detek-testenv-$user
EOF
    chmod 600 "$file"
}
write_kubeconfig admin "$ADMIN_TOKEN" "$DIR/admin.kubeconfig"
write_kubeconfig limited "$LIMITED_TOKEN" "$DIR/limited.kubeconfig"

# ---------------------------------------------------------------- watchdog
WATCHDOG_PID=""
if [[ -n "${DETEK_TESTENV_WATCH_PID:-}" ]]; then
    kill -0 "$DETEK_TESTENV_WATCH_PID" 2>/dev/null || testenv_log "warning: DETEK_TESTENV_WATCH_PID=$DETEK_TESTENV_WATCH_PID is not running"
    # shellcheck disable=SC2016 # expanded by the inner bash
    setsid bash -c '
        while kill -0 "$1" 2>/dev/null && [[ -f "$2/kube-apiserver.pid" ]]; do sleep 1; done
        [[ -f "$2/kube-apiserver.pid" ]] && exec "$3" "$2"
    ' detek-testenv-watchdog "$DETEK_TESTENV_WATCH_PID" "$DIR" "$HERE/stop.sh" \
        </dev/null >>"$DIR/watchdog.log" 2>&1 &
    WATCHDOG_PID=$!
    echo "$WATCHDOG_PID" >"$DIR/watchdog.pid"
fi

# ---------------------------------------------------------------- env file
cat >"$DIR/env.tmp" <<EOF
TESTENV_DIR=$DIR
APISERVER_URL=$APISERVER_URL
APISERVER_PORT=$APISERVER_PORT
ADMIN_TOKEN=$ADMIN_TOKEN
LIMITED_TOKEN=$LIMITED_TOKEN
CA_FILE=$DIR/ca.crt
ADMIN_KUBECONFIG=$DIR/admin.kubeconfig
LIMITED_KUBECONFIG=$DIR/limited.kubeconfig
ETCD_URL=http://127.0.0.1:$ETCD_PORT
ETCD_PID=$ETCD_PID
APISERVER_PID=$APISERVER_PID
WATCHDOG_PID=$WATCHDOG_PID
K8S_VERSION=$K8S_VERSION
ETCD_VERSION=$ETCD_VERSION
EOF
mv -f "$DIR/env.tmp" "$DIR/env"
testenv_log "environment ready in $(elapsed): source $DIR/env"
