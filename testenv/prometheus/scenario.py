#!/usr/bin/env python3
"""The test Prometheus' scenario: what the exporter serves and the history before it.

    scenario.py DATA_DIR OUT_DIR T0 EXPORTER_ADDR DEAD_LONG_ADDR

DATA_DIR holds the real kube-state-metrics and cAdvisor dumps (crates/detek-prometheus/
tests/data/nri, from newrelic/nri-kubernetes, Apache-2.0). Writes into OUT_DIR:
  exporter/ksm.prom, exporter/cadvisor.prom, exporter/node.prom   the dumps, changed
  exporter/moving.json   series that keep moving after T0: {line prefix: [value at T0, per second]}
  history.om             OpenMetrics: the samples before T0 (every 60 s), for
                         `promtool tsdb create-blocks-from openmetrics`
T0 is the end of the history (seconds since the epoch); the exporter continues each series
from its value at T0, so rates over windows that straddle T0 stay exact.

Each condition is written here, with the finding the tests expect (tests/prometheus.rs):
  memory_usage_high     e2e-deployment-…-7fsxc at 96.7% of its limit for 30 min (finding);
                        e2e-statefulset-0 at 96.7% only for the last 3 min (none); node
                        datagen-1-34 at 92.5% memory in use for 30 min (finding)
  conntrack_near_limit  datagen-1-34 at 200000 of 262144 entries (76.3%, finding)
  cpu_usage_abnormal    coredns 0.02 cores for 2 days, 0.5 for the last 30 min (finding);
                        e2e-statefulset-1 a 1-minute spike to 0.9 cores:
                        4.4x over 5 min, 2.1x over 15 (none); kube-apiserver steady (none)
  cpu_throttling_high   e2e-deployment-…-mrr5s throttled 50% for 2 h (finding);
                        e2e-statefulset-1 throttled 100% for the last 3 min only (none)
  pod_resource_outlier  e2e-deployment-…-7fsxc 29 MiB against its sibling's 4.8 MiB (finding);
                        e2e-statefulset-0 2.9x its sibling (none)
  node_disk_filling     /var/lib/kubelet 60% → 25% free over 7 h (finding); /var/log 70% →
                        38%, under 40% only for the last 26 min (none); /data filling but 55%
                        free (none); / 35% free, steady (none)
  scrape_target_down    DEAD_LONG_ADDR down for 30 min (finding); the other dead target down
                        only since Prometheus started (none)
  alerts (rules.yml)    KubeDeploymentReplicasMismatch for e2e-deployment (available 2 → 1)
  restart forensics     forensics/leaky-api-0 container api (not in the dumps: its own
                        series): working set 30 → 64 MiB, its 64 MiB limit, over the 30 min
                        before an OOM kill 15 min before T0 (on the minute), then 20 MiB;
                        restarted once
                        (crates/detek/tests/prometheus_scan.rs); no metric detector fires
"""
import json
import sys

data_dir, out_dir, t0, exporter, dead_long = sys.argv[1:6]
T0 = int(float(t0))
STEP = 60

# The jobs and instances Prometheus gives the exporter's series (prometheus.yml).
CADVISOR = f'job="kubelet",instance="{exporter}"'
KSM = f'job="kube-state-metrics",instance="{exporter}"'
NODE = f'job="node-exporter",instance="{exporter}"'

history = {}  # series text (name{labels}) -> [(t, value)]
moving = {}  # exported line prefix -> [value at T0, slope per second]


def add(series, start, fn, end=0):
    """Samples of `series` every STEP from `start` to `end` (seconds before T0: negative)."""
    points = history.setdefault(series, [])
    t = T0 + start
    while t <= T0 + end:
        points.append((t, fn(t - T0)))
        t += STEP


def with_job(line_labels, job):
    """`name{a="b"}` from a dump line's name and labels, plus job and instance."""
    name, labels = line_labels
    inner = labels[1:-1]
    return f"{name}{{{inner + ',' if inner else ''}{job}}}"


def split(line):
    """name, {labels} and value of a sample line (its timestamp dropped)."""
    if "{" in line:
        name, rest = line.split("{", 1)
        inner, after = rest.rsplit("}", 1)
        labels = "{" + inner + "}"
    else:
        name, after = line.split(" ", 1)
        labels = "{}"
    return name, labels, after.split()[0]


def rewrite(path, changes):
    """Copy a dump, replacing values: changes[(name, pod-or-label fragment)] = value."""
    out = []
    found = set()
    with open(path) as f:
        for line in f.read().splitlines():
            if line.startswith("#") or not line.strip():
                out.append(line)
                continue
            name, labels, value = split(line)
            for (cname, fragment), new in changes.items():
                if cname == name and all(f in labels for f in fragment):
                    value = repr(float(new)) if not isinstance(new, str) else new
                    found.add((cname, fragment))
            # Timestamps are dropped: the dumps are from January 2026.
            out.append(f"{name}{labels} {value}")
    missing = set(changes) - found
    if missing:
        sys.exit(f"scenario: not in {path}: {sorted(missing)}")
    return out


def series_of(path, name, fragment):
    with open(path) as f:
        for line in f:
            if line.startswith(name + "{") and all(f in line for f in fragment):
                n, labels, _ = split(line.rstrip("\n"))
                return n, labels
    sys.exit(f"scenario: {name} {fragment} not in {path}")


cadvisor_in = f"{data_dir}/cadvisor.prom"
ksm_in = f"{data_dir}/ksm.prom"
WS = "container_memory_working_set_bytes"
CPU = "container_cpu_usage_seconds_total"
PERIODS = "container_cpu_cfs_periods_total"
THROTTLED = "container_cpu_cfs_throttled_periods_total"
LIMIT = 31457280.0
HIGH = 30408704.0  # 96.7% of the 30 MiB limit

# Each series is picked by fragments of its labels (all must be there).
PI = 'container="compute-pi-digits"'
P7 = (PI, 'pod="e2e-deployment-6fb786454b-7fsxc"')
PM = (PI, 'pod="e2e-deployment-6fb786454b-mrr5s"')
S0 = (PI, 'pod="e2e-statefulset-0"')
S1 = (PI, 'pod="e2e-statefulset-1"')
DNS = ('container="coredns"', 'pod="coredns-66bc5c9577-d98t2"')
API = ('container="kube-apiserver"', 'pod="kube-apiserver-datagen-1-34"')

# --- memory: working sets (cAdvisor) and limits (kube-state-metrics)
add(with_job(series_of(cadvisor_in, WS, P7), CADVISOR), -30 * 60, lambda t: HIGH)
add(with_job(series_of(cadvisor_in, WS, S0), CADVISOR), -30 * 60,
    lambda t: HIGH if t > -3 * 60 else 10428416.0)
for pod in (P7, S0):
    s = series_of(ksm_in, "kube_pod_container_resource_limits", pod + ('resource="memory"',))
    add(with_job(s, KSM), -30 * 60, lambda t: LIMIT)

# --- CPU: counters from 2 days ago (cores = seconds per second)
def add_counter(path, name, fragment, job, rate_at, start, slope_after):
    """A counter from 0 at `start` growing at rate_at(t) per second, then at slope_after."""
    s = series_of(path, name, fragment)
    # Cumulative sums, computed once.
    points, total, t = [], 0.0, start
    while t <= 0:
        points.append((T0 + t, round(total, 6)))
        total += rate_at(t) * STEP
        t += STEP
    history.setdefault(with_job(s, job), []).extend(points)
    moving[f"{s[0]}{s[1]}"] = [points[-1][1], slope_after]


TWO_DAYS = -2 * 86400
add_counter(cadvisor_in, CPU, DNS, CADVISOR, lambda t: 0.5 if t >= -30 * 60 else 0.02, TWO_DAYS, 0.5)
add_counter(cadvisor_in, CPU, S1, CADVISOR, lambda t: 0.9 if t >= -60 else 0.05, TWO_DAYS, 0.05)
add_counter(cadvisor_in, CPU, API, CADVISOR, lambda t: 0.3, TWO_DAYS, 0.3)

# --- CFS throttling: 10 periods a second
TWO_HOURS = -2 * 3600
add_counter(cadvisor_in, PERIODS, PM, CADVISOR, lambda t: 10.0, TWO_HOURS, 10.0)
add_counter(cadvisor_in, THROTTLED, PM, CADVISOR, lambda t: 5.0, TWO_HOURS, 5.0)
add_counter(cadvisor_in, PERIODS, S1, CADVISOR, lambda t: 10.0, TWO_HOURS, 10.0)
add_counter(cadvisor_in, THROTTLED, S1, CADVISOR, lambda t: 10.0 if t >= -3 * 60 else 0.0, TWO_HOURS, 10.0)

# --- restart forensics: a container that climbs to its limit and is OOM-killed 15 minutes
# before T0, on the minute (detek reads its history on the minute grid, so the figures read
# back are the ones written here; the test computes the same instant)
MiB = 1024 ** 2
LEAKY = 'container="api",namespace="forensics",pod="leaky-api-0"'
KILLED_AT = (T0 - 15 * 60) // 60 * 60
CLIMB_FROM = KILLED_AT - 30 * 60


def add_on_minutes(series, fn):
    history.setdefault(series, []).extend((t, fn(t)) for t in range(CLIMB_FROM, T0 + 1, STEP))


add_on_minutes(f"{WS}{{{LEAKY},{CADVISOR}}}",
               lambda t: 30 * MiB + (t - CLIMB_FROM) / (30 * 60) * 34 * MiB if t <= KILLED_AT else 20 * MiB)
add_on_minutes(f'kube_pod_container_resource_limits{{{LEAKY},resource="memory",unit="byte",{KSM}}}',
               lambda t: 64 * MiB)
add_on_minutes(f"kube_pod_container_status_restarts_total{{{LEAKY},{KSM}}}",
               lambda t: 0 if t <= KILLED_AT else 1)
leaky_cadvisor = [f"{WS}{{{LEAKY}}} {20 * MiB}"]
leaky_ksm = [
    f'kube_pod_container_resource_limits{{{LEAKY},resource="memory",unit="byte"}} {64 * MiB}',
    f"kube_pod_container_status_restarts_total{{{LEAKY}}} 1",
]

# --- the exported dumps: values at T0
cadvisor_changes = {
    (WS, P7): HIGH,
    (WS, S0): HIGH,
    # The sibling of 7fsxc uses less than in the dump: 7fsxc is 6x its sibling.
    (WS, PM): 5000000.0,
}
ksm_changes = {
    ("kube_deployment_status_replicas_available", ('deployment="e2e-deployment"',)): 1.0,
}
def with_samples(lines, extra):
    """`lines` with each extra sample right after the last sample of its family (a family's
    samples stay together, as the text format wants)."""
    out = list(lines)
    for sample in extra:
        name = sample.split("{", 1)[0]
        last = max(i for i, l in enumerate(out) if l.startswith(name + "{"))
        out.insert(last + 1, sample)
    return out


cadvisor_out = with_samples(rewrite(cadvisor_in, cadvisor_changes), leaky_cadvisor)
ksm_out = with_samples(rewrite(ksm_in, ksm_changes), leaky_ksm)

# --- the node datagen-1-34 (node-exporter's names; a fake node-exporter served by the exporter)
GiB = 1024 ** 3
uname = 'node_uname_info{domainname="(none)",machine="x86_64",nodename="datagen-1-34",release="6.1.0",sysname="Linux",version="#1 SMP"}'
node = [
    "# TYPE node_uname_info gauge", f"{uname} 1",
    "# TYPE node_memory_MemTotal_bytes gauge", f"node_memory_MemTotal_bytes {8 * GiB}",
    "# TYPE node_memory_MemAvailable_bytes gauge", f"node_memory_MemAvailable_bytes {int(0.6 * GiB)}",
    "# TYPE node_nf_conntrack_entries gauge", "node_nf_conntrack_entries 200000",
    "# TYPE node_nf_conntrack_entries_limit gauge", "node_nf_conntrack_entries_limit 262144",
]


def with_node_job(text):
    name, labels, _ = split(text + " 0")
    return with_job((name, labels), NODE)


add(with_node_job(uname), -7 * 3600, lambda t: 1)
add(with_node_job("node_memory_MemTotal_bytes"), -30 * 60, lambda t: 8 * GiB)
add(with_node_job("node_memory_MemAvailable_bytes"), -30 * 60, lambda t: int(0.6 * GiB))

filesystems = [
    # device, mountpoint, size, free fraction at t (seconds from T0; flat after T0)
    ("/dev/vdb", "/var/lib/kubelet", 100 * GiB, lambda t: 0.25 - 0.05 * t / 3600),
    ("/dev/vdd", "/var/log", 20 * GiB, lambda t: 0.38 - (0.32 / 7) * t / 3600),
    ("/dev/vdc", "/data", 200 * GiB, lambda t: 0.55 - 0.05 * t / 3600),
    ("/dev/vda1", "/", 50 * GiB, lambda t: 0.35),
]
for device, mountpoint, size, free in filesystems:
    labels = f'{{device="{device}",fstype="ext4",mountpoint="{mountpoint}"}}'
    node += [
        f"node_filesystem_avail_bytes{labels} {int(free(0) * size)}",
        f"node_filesystem_size_bytes{labels} {size}",
        f"node_filesystem_readonly{labels} 0",
    ]
    add(with_job(("node_filesystem_avail_bytes", labels), NODE), -7 * 3600,
        lambda t, free=free, size=size: int(free(t) * size))
    add(with_job(("node_filesystem_size_bytes", labels), NODE), -7 * 3600, lambda t, size=size: size)
    add(with_job(("node_filesystem_readonly", labels), NODE), -7 * 3600, lambda t: 0)

# --- a target down for 30 minutes
add(f'up{{instance="{dead_long}",job="dead-exporter"}}', -30 * 60, lambda t: 0)

# --- write
with open(f"{out_dir}/exporter/cadvisor.prom", "w") as f:
    f.write("\n".join(cadvisor_out) + "\n")
with open(f"{out_dir}/exporter/ksm.prom", "w") as f:
    f.write("\n".join(ksm_out) + "\n")
with open(f"{out_dir}/exporter/node.prom", "w") as f:
    f.write("\n".join(node) + "\n")
with open(f"{out_dir}/exporter/moving.json", "w") as f:
    json.dump(moving, f, indent=1)

families = {}
for series in history:
    families.setdefault(series.split("{", 1)[0], []).append(series)
with open(f"{out_dir}/history.om", "w") as f:
    for name, members in families.items():
        f.write(f"# TYPE {name} gauge\n")
        for series in members:
            for t, v in sorted(history[series]):
                f.write(f"{series} {v} {t}\n")
    f.write("# EOF\n")
