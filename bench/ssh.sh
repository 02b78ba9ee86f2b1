#!/usr/bin/env bash
# Node checks over SSH at scale (issue 18, docs/nodes.md): 200 hosts read with concurrency 16.
#
#   bench/ssh.sh                 # HOSTS=200 CONCURRENCY=16 RUNS=3
#
# The 200 hosts are 13 private sshd instances (Debian's openssh-server, testenv/sshd/install.sh),
# each listening on 16 loopback addresses (127.0.2.1 ... 127.0.2.208, port 2222; sshd listens on
# at most 16 addresses): every host is a real connection, key exchange, login and command run.
# Printed per run: wall time, CPU and peak RSS of `detek run all --select node --ssh-hosts
# @FILE`, and of the same command run with OpenSSH's client 16 at a time (`xargs -P 16 ssh`),
# the floor a shell script would give. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
HOSTS=${HOSTS:-200}
CONCURRENCY=${CONCURRENCY:-16}
RUNS=${RUNS:-3}
WORK=${BENCH_DIR:-target/bench}/ssh
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${DETEK_BIN:-$TARGET/release/detek}
[[ -n ${DETEK_BIN:-} ]] || cargo build --release -q -p detek
bash testenv/sshd/install.sh
[[ $(id -u) -eq 0 ]] && mkdir -p /run/sshd

rm -rf "$WORK"; mkdir -p "$WORK/keys"
WORK=$(cd "$WORK" && pwd)
umask 077
ssh-keygen -q -t ed25519 -N '' -f "$WORK/keys/host"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/keys/user"
cp "$WORK/keys/user.pub" "$WORK/authorized_keys"
: >"$WORK/known_hosts"; : >"$WORK/hosts.ini"; : >"$WORK/addresses"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
n=0
for instance in $(seq 1 $(( (HOSTS + 15) / 16 ))); do
  listen=()
  for _ in $(seq 1 16); do
    (( n < HOSTS )) || break
    n=$((n + 1))
    addr="127.0.2.$n"
    listen+=(-o "ListenAddress=$addr:2222")
    echo "[$addr]:2222 $(cut -d' ' -f1-2 "$WORK/keys/host.pub")" >>"$WORK/known_hosts"
    (( (n - 1) % 50 == 0 )) && echo "[pool-$(( (n - 1) / 50 + 1 ))]" >>"$WORK/hosts.ini"
    echo "$addr:2222" >>"$WORK/hosts.ini"
    echo "$addr" >>"$WORK/addresses"
  done
  /usr/sbin/sshd -D -e -f /dev/null "${listen[@]}" -o "HostKey=$WORK/keys/host" \
    -o "AuthorizedKeysFile=$WORK/authorized_keys" -o PidFile=none -o StrictModes=no -o UsePAM=no \
    -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \
    -o PermitRootLogin=prohibit-password -o MaxStartups=100 >"$WORK/sshd-$instance.log" 2>&1 &
  PIDS+=($!)
done
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.2.$HOSTS/2222") 2>/dev/null && break; sleep 0.1
done
echo "== $HOSTS hosts on $(( (HOSTS + 15) / 16 )) sshd instances; concurrency $CONCURRENCY; $(nproc) cores"

COMMAND=$(sed -n '/^pub const COMMAND/,/";$/p' crates/detek-node/src/facts.rs \
  | sed -e '1s/^pub const COMMAND: &str = "//' -e 's/\\$//' -e '$s/";$//' -e 's/\\"/"/g' -e 's/\\\\/\\/g' | tr -d '\n')
export COMMAND WORK
for i in $(seq 1 "$RUNS"); do
  /usr/bin/time -f "detek        %e s wall  %U+%S s CPU  %M KB" "$BIN" run all --select node \
    --ssh-hosts "@$WORK/hosts.ini" --ssh-user "$(id -un)" --ssh-key "$WORK/keys/user" \
    --ssh-known-hosts "$WORK/known_hosts" --ssh-concurrency "$CONCURRENCY" -f json \
    --fail-on never > "$WORK/report.json"
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
c = d["collectors"][0]
print("             hosts %s, unreachable %s, collection %.0f ms" % (c["stats"].get("hosts"), c["stats"].get("hosts_unreachable"), c["duration_ms"]))' "$WORK/report.json"
  /usr/bin/time -f "openssh -P$CONCURRENCY %e s wall  %U+%S s CPU  %M KB (largest process)" \
    xargs -P "$CONCURRENCY" -I{} sh -c 'ssh -q -o BatchMode=yes -o UserKnownHostsFile="$WORK/known_hosts" -i "$WORK/keys/user" -p 2222 "$1" "$COMMAND" > /dev/null' _ {} < "$WORK/addresses"
done
