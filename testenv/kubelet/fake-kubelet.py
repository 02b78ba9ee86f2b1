#!/usr/bin/env python3
"""A fake kubelet for the live tests: serves the kubelet's container-log endpoint
(`GET /containerLogs/NAMESPACE/POD/CONTAINER?previous=true&tailLines=N&limitBytes=N`, the
request the kube-apiserver makes for `pods/log`) over HTTPS on a loopback port, so the test
API server — which has no kubelet — can answer `pods/log` for a Node whose address is
127.0.0.1 and whose `daemonEndpoints.kubeletEndpoint.Port` is this port.

    fake-kubelet.py DIR

DIR/logs.json: {"NAMESPACE/POD/CONTAINER": ["line", ...]} (the previous run's log). Writes
DIR/port when listening, and appends each request's path and query to DIR/requests.log.
Honours tailLines and limitBytes as the kubelet does (the last N lines, then at most N bytes);
404 for a container it has no log for. The TLS certificate is self-signed, made with openssl
into DIR (the test API server does not verify kubelet certificates: no
--kubelet-certificate-authority). Stops when its parent process is gone.
"""
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

directory = sys.argv[1]
cert, key = os.path.join(directory, "kubelet.crt"), os.path.join(directory, "kubelet.key")
if not os.path.exists(cert):
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=fake-kubelet", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", key, "-out", cert],
        check=True, capture_output=True)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        with open(os.path.join(directory, "requests.log"), "a") as f:
            f.write(self.path + "\n")
        parts = url.path.split("/")
        if len(parts) != 5 or parts[1] != "containerLogs":
            self.send_error(404)
            return
        with open(os.path.join(directory, "logs.json")) as f:
            logs = json.load(f)
        lines = logs.get("/".join(parts[2:5]))
        query = urllib.parse.parse_qs(url.query)
        if lines is None or query.get("previous") != ["true"]:
            self.send_error(404, "previous terminated container not found")
            return
        tail = int(query.get("tailLines", ["0"])[0] or 0)
        if tail:
            lines = lines[-tail:]
        body = "".join(line + "\n" for line in lines).encode()
        limit = int(query.get("limitBytes", ["0"])[0] or 0)
        if limit:
            body = body[:limit]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
with open(os.path.join(directory, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.replace(os.path.join(directory, "port.tmp"), os.path.join(directory, "port"))

parent = os.getppid()


def watch():
    while True:
        time.sleep(1)
        if os.getppid() != parent:
            os._exit(0)


threading.Thread(target=watch, daemon=True).start()
server.serve_forever()
