#!/usr/bin/env python3
"""The test Prometheus' exporter: serves the (changed) kube-state-metrics, cAdvisor and node
dumps the scenario wrote, continuing the moving series from their value at T0.

    exporter.py DIR ADDR PORT T0

GET /ksm/metrics, /metrics/cadvisor, /node/metrics (text format 0.0.4).
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

root, addr, port, t0 = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
FILES = {"/ksm/metrics": "ksm.prom", "/metrics/cadvisor": "cadvisor.prom", "/node/metrics": "node.prom"}
texts = {path: open(f"{root}/{name}").read().splitlines() for path, name in FILES.items()}
moving = json.load(open(f"{root}/moving.json"))


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
