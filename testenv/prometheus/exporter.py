#!/usr/bin/env python3
"""The test Prometheus' exporter: serves the (changed) kube-state-metrics, cAdvisor and node
dumps the scenario wrote, continuing the moving series from their value at T0.

    exporter.py DIR ADDR PORT T0

GET /ksm/metrics, /metrics/cadvisor, /node/metrics (text format 0.0.4).

DETEK_BENCH_PODS=N (bench/prometheus-detectors.sh) adds N synthetic Pods (5 replicas per
StatefulSet, namespace bench) to the kube-state-metrics and cAdvisor dumps, and N/10
filesystems to the node: the series the metric detectors evaluate, at scale.
"""
import os
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

root, addr, port, t0 = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
FILES = {"/ksm/metrics": "ksm.prom", "/metrics/cadvisor": "cadvisor.prom", "/node/metrics": "node.prom"}
texts = {path: open(f"{root}/{name}").read().splitlines() for path, name in FILES.items()}
moving = json.load(open(f"{root}/moving.json"))

BENCH_PODS = int(os.environ.get("DETEK_BENCH_PODS", "0"))
if BENCH_PODS:
    ksm, cadvisor, node = [], [], []
    for i in range(BENCH_PODS):
        pod = f'namespace="bench",pod="bench-{i // 5}-{i % 5}"'
        ksm.append(f'kube_pod_owner{{{pod},owner_kind="StatefulSet",owner_name="bench-{i // 5}",owner_is_controller="true"}} 1')
        ksm.append(f'kube_pod_container_resource_limits{{{pod},container="app",resource="memory",unit="byte"}} 1.073741824e+09')
        c = f'container="app",{pod}'
        cadvisor.append(f"container_memory_working_set_bytes{{{c}}} {100e6 + (i % 97) * 1e6}")
        for name, rate in (("container_cpu_usage_seconds_total", 0.01 * (1 + i % 7)),
                           ("container_cpu_cfs_periods_total", 10.0),
                           ("container_cpu_cfs_throttled_periods_total", 0.1 * (i % 11))):
            line = f"{name}{{{c}}}"
            moving[line] = [0.0, rate]
            cadvisor.append(f"{line} 0")
    for i in range(BENCH_PODS // 10):
        labels = f'device="/dev/bench{i}",fstype="ext4",mountpoint="/bench/{i}"'
        node += [f"node_filesystem_avail_bytes{{{labels}}} 5e+10",
                 f"node_filesystem_size_bytes{{{labels}}} 1e+11",
                 f"node_filesystem_readonly{{{labels}}} 0"]
    texts["/ksm/metrics"] = texts["/ksm/metrics"] + ksm
    texts["/metrics/cadvisor"] = texts["/metrics/cadvisor"] + cadvisor
    texts["/node/metrics"] = texts["/node/metrics"] + node


def render(lines):
    now = time.time()
    out = []
    for line in lines:
        if not line.startswith("#") and line:
            series = line.rsplit(" ", 1)[0]
            if series in moving:
                value, slope = moving[series]
                line = f"{series} {value + slope * (now - t0)!r}"
        out.append(line)
    return ("\n".join(out) + "\n").encode()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        lines = texts.get(self.path)
        if lines is None:
            self.send_error(404)
            return
        body = render(lines)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer((addr, port), Handler).serve_forever()
