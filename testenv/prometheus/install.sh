#!/usr/bin/env bash
# Installs Debian's `prometheus` (with promtool) and `prometheus-node-exporter` once per
# machine, for the metric detectors' tests (crates/detek-prometheus/tests). The packages' own
# services are never started (a policy-rc.d denies it for the time of the install); start.sh
# runs private servers on loopback ports instead.
#
#   testenv/prometheus/install.sh          # no-op when already installed (< 0.1 s)
set -euo pipefail
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

installed() { command -v prometheus >/dev/null && command -v promtool >/dev/null \
    && command -v prometheus-node-exporter >/dev/null; }
installed && exit 0

CACHE="${DETEK_TESTENV_CACHE:-$HOME/.cache/detek-testenv}/prometheus"
mkdir -p "$CACHE"
exec 9>"$CACHE/install.lock"
flock 9
installed && exit 0

testenv_apt_install testenv/prometheus prometheus prometheus-node-exporter
