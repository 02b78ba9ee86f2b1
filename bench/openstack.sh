#!/usr/bin/env bash
# Times `detek run --os-cloud` (release build) against the OpenStack test cloud of
# testenv/openstack/ (a real Keystone + the replay server) holding N generated servers besides
# the fixed dataset, listed 1,000 per page with admin credentials (all projects): wall time and
# peak memory (max RSS) of the whole scan, every OpenStack detector selected.
#
#   bench/openstack.sh            # 10,000 servers
#   SERVERS=50000 RUNS=3 bench/openstack.sh
#   SELECT=openstack_failed_server bench/openstack.sh     # the listing alone, no probe
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
SERVERS=${SERVERS:-10000}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/release/detek
cargo build --release -q -p detek

ENV_DIR=$(mktemp -d /tmp/detek-bench-openstack.XXXXXX)
STOP="$PWD/testenv/openstack/stop.sh"   # absolute: the runs below happen in another directory
trap '"$STOP" "$ENV_DIR" --purge >/dev/null 2>&1 || true' EXIT
testenv/openstack/start.sh "$ENV_DIR" >/dev/null 2>&1 || { echo "testenv/openstack/start.sh failed" >&2; exit 1; }
# shellcheck disable=SC1091
set -a; . "$ENV_DIR/env"; set +a

WORK="$ENV_DIR/work"; mkdir -p "$WORK"
cat >"$WORK/clouds.yaml" <<YAML
clouds:
  bench:
    auth: {auth_url: "$AUTH_URL", username: admin, project_name: admin,
           user_domain_name: Default, project_domain_name: Default}
    region_name: $REGION
YAML
umask 077
printf 'clouds:\n  bench:\n    auth:\n      password: "%s"\n' "$ADMIN_PASSWORD" >"$WORK/secure.yaml"
printf 'detectors:\n  openstack_unreachable_server:\n    ports: [%s]\n    timeout_ms: 500\n    retries: 1\n' "$PROBE_PORT" >"$WORK/detek.yaml"
curl -fsS -X POST -d "{\"generated\": $SERVERS, \"project\": \"demo\"}" "$REPLAY_URL/_control/servers" >/dev/null

cd "$WORK"
SELECT=${SELECT:-openstack_failed_server,openstack_stuck_server,openstack_unreachable_server,openstack_compute_service_down,openstack_hypervisor_down,openstack_volume_error,openstack_loadbalancer_error,openstack_network_agent_down}
best=999999; rss=0
for _ in $(seq "$RUNS"); do
  /usr/bin/time -o time.out -f "%e %M" env -u KUBECONFIG HOME="$WORK" "$OLDPWD/$BIN" run \
    --os-cloud bench --select "$SELECT" -f json -o report.json --fail-on never >/dev/null 2>&1 || true
  read -r t m < time.out
  best=$(python3 -c "print(min($best, $t))")
  [ "$m" -gt "$rss" ] && rss=$m
done
python3 - "$SERVERS" <<'PY'
import json, sys
r = json.load(open("report.json"))
c = next(c for c in r["collectors"] if c["id"] == "openstack")
print(f"servers listed: {c['stats']['servers']} in {c['stats']['requests']} requests, "
      f"{c['stats']['bytes'] / 1e6:.1f} MB of JSON; status {r['status']}")
PY
printf '%s servers, 1,000 a page: best of %s: %.3f s   peak RSS: %.1f MB\n' \
  "$SERVERS" "$RUNS" "$best" "$(python3 -c "print($rss/1024)")"
