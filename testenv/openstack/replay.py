"""The replay server of the OpenStack test cloud.

Serves, from the official samples in samples/ (see SOURCES.md), the read-only calls detek makes:

  Nova     GET /compute/v2.1/servers/detail         (limit/marker pagination, servers_links)
           GET /compute/v2.1/os-services             (admin only, as Nova's default policy)
           GET /compute/v2.1/os-hypervisors/detail   (admin only)
  Cinder   GET /volume/v3/{project_id}/volumes/detail
  Octavia  GET /load-balancer/v2/lbaas/loadbalancers (also /v2.0/)
  Neutron  GET /networking/v2.0/agents               (non-admins get an empty list, as Neutron)

`/internal/...` serves the same (the catalog's internal endpoints point there).
Every request's X-Auth-Token is validated against the real Keystone (GET /v3/auth/tokens with
the replay service user's token, X-Subject-Token = the token to check; results cached 2 s);
otherwise 401 as keystonemiddleware answers. Every address in the samples is rewritten to
loopback or to the test's own unreachable address before it is served.

Knobs (plain HTTP, no auth, loopback only) under /_control/: see README.md.
Logs never contain tokens or passwords: only method, path, status, user and project names.
"""
import argparse
import copy
import datetime
import hashlib
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

MAX_LIMIT = 1000  # Nova's and Cinder's default [api] max_limit / osapi_max_limit
CACHE_SECONDS = 2.0

# ------------------------------------------------------------------------------------------
# The dataset: which sample becomes what (README.md lists the findings these imply).

ERROR_ID = "2d05bd68-3fbb-4b47-9f38-c690a5d93e45"        # libcloud's ERROR server, its fault
REACHABLE_ID = "f5dc173b-6804-445a-a6d8-c705dad5b5eb"     # Nova api_sample servers-details-resp
UNREACHABLE_ID = "2ce4c5b3-2866-4972-93ce-77a2ea46a7f9"   # openstack-exporter nova_os_servers
STUCK_ID = "9a7d3c2e-5b1f-4e6a-8c0d-1f2e3a4b5c6d"         # derived from the Nova sample
SHUTOFF_ID = "c3e1b7a4-2f6d-4a9b-b8e5-7d0c1a2b3e4f"       # derived from the Nova sample
BROKEN_LB_ID = "5d2f7e1c-8a4b-4c3d-9e6f-0a1b2c3d4e5f"     # derived from the exporter's LB
ERROR_VOLUME_ID = "173f7b48-c4c1-4e70-9acc-086b39073506"  # exporter's "test-volume", now error
DOWN_AGENT_ID = "a09b81fc-5a42-46d3-a306-1a5d122a7787"    # exporter's L3 agent, now not alive
DOWN_HYPERVISOR_ID = 3                                   # derived from the exporter's host1

IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")


def load(samples, rel):
    with open(os.path.join(samples, rel)) as f:
        return json.load(f)


class Dataset:
    """The fixed documents, built once from the samples with the project ids of this cloud."""

    def __init__(self, samples, cloud, reachable, unreachable):
        demo, ops = cloud["demo_project_id"], cloud["ops_project_id"]
        self.demo, self.ops = demo, ops
        self.reachable, self.unreachable = reachable, unreachable
        nova_tpl = load(samples, "nova/servers-details-resp.json")["servers"][0]
        libcloud_err = load(samples, "libcloud/_servers_detail_ERROR_STATE.json")["servers"][0]
        exporter_srv = load(samples, "openstack-exporter/nova_os_servers.json")["servers"][0]
        self.server_template = nova_tpl

        def server(base, sid, name, project, status, vm_state, task_state, power, host, addr,
                   updated):
            s = copy.deepcopy(base)
            s.update({"id": sid, "name": name, "tenant_id": project, "status": status,
                      "OS-EXT-STS:vm_state": vm_state, "OS-EXT-STS:task_state": task_state,
                      "OS-EXT-STS:power_state": power, "updated": updated,
                      "OS-EXT-SRV-ATTR:host": host, "OS-EXT-SRV-ATTR:hypervisor_hostname": host,
                      "accessIPv4": "", "accessIPv6": ""})
            s["addresses"] = {"private": [{"OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01",
                                           "OS-EXT-IPS:type": "fixed", "addr": addr,
                                           "version": 4}]} if addr else {}
            return s

        err = server(libcloud_err, ERROR_ID, "test_vm", demo, "ERROR", "error", None, 0, None,
                     "127.0.42.11", libcloud_err["updated"])
        ok = server(nova_tpl, REACHABLE_ID, "web-reachable", demo, "ACTIVE", "active", None, 1,
                    "host1", reachable, nova_tpl["updated"])
        down = server(exporter_srv, UNREACHABLE_ID, "web-unreachable", demo, "ACTIVE", "active",
                      None, 1, "host1", unreachable, exporter_srv["updated"])
        stuck = server(nova_tpl, STUCK_ID, "resize-stuck", demo, "RESIZE", "active",
                       "resize_migrating", 1, "host1", "127.0.42.14", "2017-02-14T20:01:17Z")
        stuck["created"] = "2017-02-14T19:30:05Z"
        off = server(nova_tpl, SHUTOFF_ID, "stopped-ops", ops, "SHUTOFF", "stopped", None, 4,
                     "host2", "127.0.42.15", "2017-02-15T08:12:40Z")
        off["created"] = "2017-02-14T19:40:10Z"
        self.servers = [err, ok, down, stuck, off]

        self.services = load(samples, "openstack-exporter/nova_os_services.json")["services"]
        for svc in self.services:
            if svc["id"] == 4:  # nova-compute@host2: enabled, so host2's hypervisor is too
                svc.update({"status": "enabled", "disabled_reason": None})
        hyp = load(samples, "openstack-exporter/nova_os_hypervisors.json")["hypervisors"]
        host2 = copy.deepcopy(hyp[0])
        host2.update({"id": DOWN_HYPERVISOR_ID, "hypervisor_hostname": "host2", "state": "down",
                      "status": "enabled", "running_vms": 1, "host_ip": "127.0.42.42"})
        host2["service"] = {"id": 8, "host": "host2", "disabled_reason": None}
        hyp[0]["running_vms"] = 3
        self.hypervisors = hyp + [host2]

        self.volumes = load(samples, "openstack-exporter/cinder_volumes.json")["volumes"]
        for v in self.volumes:
            v["os-vol-tenant-attr:tenant_id"] = demo
            if v["id"] == ERROR_VOLUME_ID:
                v["status"] = "error"
        self.loadbalancers = load(samples,
                                  "openstack-exporter/loadbalancer_loadbalancers.json")["loadbalancers"]
        broken = copy.deepcopy(self.loadbalancers[0])
        broken.update({"id": BROKEN_LB_ID, "name": "broken_load_balancer",
                       "description": "provisioning failed", "provisioning_status": "ERROR",
                       "operating_status": "ERROR", "vip_address": "127.0.42.22",
                       "updated_at": "2017-03-01T10:02:11"})
        self.loadbalancers.append(broken)
        for lb in self.loadbalancers:
            lb["project_id"] = demo
        self.agents = load(samples, "openstack-exporter/neutron_agents.json")["agents"]
        for a in self.agents:
            if a["id"] == DOWN_AGENT_ID:
                a["alive"] = False
        # Every remaining sample address (links, VIPs, tunnel IPs, host IPs) onto loopback.
        for name in ["servers", "services", "hypervisors", "volumes", "loadbalancers", "agents"]:
            setattr(self, name, to_loopback(getattr(self, name), {reachable, unreachable}))


def to_loopback(doc, keep):
    """Every IPv4 address in `doc` that is not in 127/8 or `keep` becomes 127.0.43.x (stable)."""
    mapping = {}

    def sub(m):
        a = m.group(0)
        if a.startswith("127.") or a in keep:
            return a
        if a not in mapping:
            mapping[a] = f"127.0.43.{len(mapping) + 1}"
        return mapping[a]

    text = json.dumps(doc)
    text = re.sub(r"https?://[^/\"]+", "http://127.0.0.1", text)  # sample hosts in links
    return json.loads(IPV4.sub(sub, text))


# ------------------------------------------------------------------------------------------
# Knobs and state


class State:
    def __init__(self, data):
        self.lock = threading.Lock()
        self.data = data
        self.reset()

    def reset(self):
        with self.lock:
            self.generated = 0
            self.generated_project = self.data.demo
            self.revoke = None      # {"user": name|None, "after": n}
            self.faults = []        # [{"path_contains", "status", "times", "retry_after"}]
            self.log = []
            self.revoked = 0
            self._lists = {}

    def servers_for(self, project):
        """Servers visible for `project` (None = all), sorted as Nova does (created desc, id desc)."""
        with self.lock:
            key = (project, self.generated, self.generated_project)
            if key not in self._lists:
                servers = list(self.data.servers)
                servers += generate(self.data, self.generated, self.generated_project)
                servers = [s for s in servers if project is None or s["tenant_id"] == project]
                servers.sort(key=lambda s: (s["created"], s["id"]), reverse=True)
                index = {s["id"]: i for i, s in enumerate(servers)}
                self._lists = {key: (servers, index)}  # keep one: 10,000 servers ~ 20 MB
            return self._lists[key]


def generate(data, n, project):
    """`n` ACTIVE servers without addresses (nothing to probe, no finding) for timing scans."""
    out = []
    tpl = data.server_template
    base = datetime.datetime(2010, 1, 1, tzinfo=datetime.timezone.utc)
    for i in range(n):
        s = copy.deepcopy(tpl)
        created = (base + datetime.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        s.update({"id": f"00000000-0000-4000-8000-{i:012d}", "name": f"gen-{i:05d}",
                  "tenant_id": project, "status": "ACTIVE", "OS-EXT-STS:vm_state": "active",
                  "OS-EXT-STS:task_state": None, "created": created, "updated": created,
                  "OS-EXT-SRV-ATTR:host": "host1", "OS-EXT-SRV-ATTR:hypervisor_hostname": "host1",
                  "addresses": {}, "accessIPv4": "", "accessIPv6": "", "links": []})
        out.append(s)
    return out


# ------------------------------------------------------------------------------------------
# Token validation against the real Keystone


class Validator:
    def __init__(self, auth_url, password, admin_password):
        self.auth_url = auth_url
        self.password = password
        self.admin_password = admin_password
        self.lock = threading.Lock()
        self.service_token = None
        self.cache = {}

    def _service_token(self, renew=False):
        with self.lock:
            if renew or self.service_token is None:
                self.service_token, _ = ks.password_token(self.auth_url, "replay", self.password,
                                                          "service")
            return self.service_token

    def validate(self, token):
        """The token's info (user, project, roles) or None when Keystone rejects it."""
        key = hashlib.sha256(token.encode()).hexdigest()
        hit = self.cache.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        for attempt in (0, 1):
            try:
                _, _, doc = ks.call("GET", f"{self.auth_url}/auth/tokens?nocatalog",
                                    self._service_token(renew=attempt == 1),
                                    headers={"X-Subject-Token": token})
                break
            except ks.HttpError as e:
                if e.status == 401 and attempt == 0:
                    continue  # our own service token expired: renew once
                if e.status in (401, 404):
                    self.cache.pop(key, None)
                    return None
                raise
        t = doc["token"]
        info = {"user": t["user"]["name"], "user_id": t["user"]["id"],
                "project_id": (t.get("project") or {}).get("id"),
                "project": (t.get("project") or {}).get("name"),
                "roles": sorted(r["name"] for r in t.get("roles", [])),
                "methods": t.get("methods", [])}
        info["admin"] = "admin" in info["roles"]
        self.cache[key] = (time.monotonic() + CACHE_SECONDS, info)
        return info

    def revoke(self, token):
        """Revoke `token` in Keystone for real (DELETE /v3/auth/tokens), as an expiry would.
        Authenticated as the token itself (a user may revoke their own token)."""
        ks.call("DELETE", f"{self.auth_url}/auth/tokens", token,
                headers={"X-Subject-Token": token})
        self.cache.pop(hashlib.sha256(token.encode()).hexdigest(), None)

    def admin_token(self):
        tok, _ = ks.password_token(self.auth_url, "admin", self.admin_password, "admin")
        return tok


# ------------------------------------------------------------------------------------------
# HTTP


def make_handler(state, validator, cloud):
    data = state.data

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "detek-replay/1"

        def log_message(self, fmt, *args):  # the request log is /_control/requests
            pass

        def send_json(self, status, doc, headers=None):
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
            return status

        def read_body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(n) or b"{}") if n else {}

        def do_POST(self):
            self.dispatch("POST")

        def do_GET(self):
            self.dispatch("GET")

        def do_DELETE(self):
            self.dispatch("DELETE")

        def dispatch(self, method):
            url = urllib.parse.urlsplit(self.path)
            path = url.path
            query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
            if path.startswith("/_control/"):
                try:
                    self.control(method, path[len("/_control/"):], query)
                except Exception as e:  # a test's bad knob: say why
                    self.send_json(400, {"error": str(e)})
                return
            interface = "public"
            if path.startswith("/internal/"):
                interface, path = "internal", path[len("/internal"):]
            entry = {"method": method, "path": self.path.split("?")[0], "query": url.query,
                     "interface": interface, "at": round(time.monotonic() - STARTED, 3)}
            status = 500
            try:
                status = self.api(method, path, query, entry)
            finally:
                entry["status"] = status
                with state.lock:
                    state.log.append(entry)
                print(json.dumps(entry), flush=True)

        # -------------------------------------------------------------- the APIs
        def api(self, method, path, query, entry):
            with state.lock:
                for f in state.faults:
                    if f["path_contains"] in self.path and f.get("times", 1) != 0:
                        if "times" in f:
                            f["times"] -= 1
                        entry["fault"] = True
                        h = {"Retry-After": str(f["retry_after"])} if f.get("retry_after") else {}
                        return self.send_json(f["status"], {"error": {
                            "code": f["status"], "message": "injected by the replay server"}}, h)
            token = self.headers.get("X-Auth-Token")
            info = validator.validate(token) if token else None
            if info is not None and path in NOVA_CALLBACKS:
                entry.update(user=info["user"], project=info["project"], callback=True)
            elif info is not None:
                entry.update(user=info["user"], project=info["project"])
                revoke = None
                with state.lock:
                    r = state.revoke
                    if r and (r.get("user") in (None, info["user"], info["user_id"])):
                        if r["after"] <= 0:
                            revoke, state.revoke = True, None
                            state.revoked += 1
                        else:
                            r["after"] -= 1
                if revoke:
                    validator.revoke(token)
                    entry["revoked"] = True
                    info = validator.validate(token)  # Keystone now says 404: really invalid
            if info is None:
                return self.send_json(401, {"error": {
                    "code": 401, "title": "Unauthorized",
                    "message": "The request you have made requires authentication."}},
                    {"WWW-Authenticate": f"Keystone uri=\"{validator.auth_url}\""})
            if method != "GET":
                return self.send_json(405, {"error": {"code": 405, "message": "read-only replay"}})
            if NOVA_URL and path.startswith("/compute/") and not state.generated:
                entry["backend"] = "nova-api"
                return self.proxy(NOVA_URL + path[len("/compute"):], self.path.partition("?")[2])
            base = f"http://{self.headers.get('Host', '127.0.0.1')}"
            if path in ("/compute/v2.1/servers/detail", "/compute/v2.1/servers/detail/"):
                return self.servers(info, query, base + entry["path"])
            if path == "/compute/v2.1/os-services":
                return self.admin_only(info, "os-services:list") or self.send_json(
                    200, {"services": data.services}, NOVA_HEADERS)
            if path == "/compute/v2.1/os-hypervisors/detail":
                return self.admin_only(info, "os-hypervisors:list-detail") or self.send_json(
                    200, {"hypervisors": data.hypervisors}, NOVA_HEADERS)
            m = re.fullmatch(r"/volume/v3/([^/]+)/volumes/detail", path)
            if m:
                if m.group(1) != info["project_id"]:
                    return self.send_json(403, {"forbidden": {"code": 403, "message":
                                                              "Policy doesn't allow volume:get_all to be performed."}})
                all_tenants = info["admin"] and truthy(query.get("all_tenants"))
                vols = [v for v in data.volumes if all_tenants
                        or v["os-vol-tenant-attr:tenant_id"] == info["project_id"]]
                return self.paged(vols, query, "volumes", base + entry["path"])
            if path in ("/load-balancer/v2/lbaas/loadbalancers",
                        "/load-balancer/v2.0/lbaas/loadbalancers"):
                lbs = [lb for lb in data.loadbalancers
                       if info["admin"] or lb["project_id"] == info["project_id"]]
                return self.paged(lbs, query, "loadbalancers", base + entry["path"])
            if path == "/networking/v2.0/agents":
                # Neutron filters a list by the per-item policy: non-admins see none.
                return self.send_json(200, {"agents": data.agents if info["admin"] else []})
            if path in ("/networking/v2.0/ports", "/networking/v2.0/security-groups"):
                # What nova-api asks Neutron while building servers/detail (see README, Nova):
                # no ports, so no security groups.
                key = path.rsplit("/", 1)[1].replace("-", "_")
                return self.send_json(200, {key: []})
            return self.send_json(404, {"itemNotFound": {"code": 404,
                                                         "message": "The resource could not be found."}})

        def proxy(self, url, query):
            """Forward to the real nova-api, which validates the token again itself."""
            req = urllib.request.Request(url + ("?" + query if query else ""))
            for h in PROXIED_REQUEST_HEADERS:
                if self.headers.get(h):
                    req.add_header(h, self.headers[h])
            try:
                with urllib.request.urlopen(req, timeout=120) as resp:
                    status, headers, body = resp.status, resp.headers, resp.read()
            except urllib.error.HTTPError as e:
                status, headers, body = e.code, e.headers, e.read()
            self.send_response(status)
            for h in PROXIED_RESPONSE_HEADERS:
                if headers.get(h):
                    self.send_header(h, headers[h])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return status

        def admin_only(self, info, rule):
            if info["admin"]:
                return None
            return self.send_json(403, {"forbidden": {"code": 403, "message":
                                                      f"Policy doesn't allow os_compute_api:{rule} to be performed."}},
                                  NOVA_HEADERS)

        def servers(self, info, query, url):
            all_tenants = "all_tenants" in query and truthy(query.get("all_tenants"))
            if all_tenants and not info["admin"]:
                return self.send_json(403, {"forbidden": {"code": 403, "message":
                                                          "Policy doesn't allow os_compute_api:servers:detail:get_all_tenants to be performed."}},
                                      NOVA_HEADERS)
            project = None if all_tenants else info["project_id"]
            servers, index = state.servers_for(project)
            # Nova's default policy hides OS-EXT-SRV-ATTR:* (host, hypervisor) from non-admins.
            return self.paged(servers, query, "servers", url, index, hide_admin=not info["admin"],
                              headers=NOVA_HEADERS)

        def paged(self, items, query, name, url, index=None, hide_admin=False, headers=None):
            """limit/marker as Nova/Cinder/Octavia: a `<name>_links` next link whenever a page
            is full (so the last full page is followed by an empty one, as in Nova)."""
            try:
                limit = min(int(query.get("limit", [MAX_LIMIT])[0]), MAX_LIMIT)
                if limit < 0:
                    raise ValueError
            except ValueError:
                return self.send_json(400, {"badRequest": {"code": 400, "message":
                                                           "limit param must be an integer"}})
            start = 0
            marker = query.get("marker", [None])[0]
            if marker is not None:
                pos = (index or {i["id"]: n for n, i in enumerate(items)}).get(marker)
                if pos is None:
                    return self.send_json(400, {"badRequest": {"code": 400, "message":
                                                               f"marker [{marker}] not found"}})
                start = pos + 1
            page = items[start:start + limit]
            if hide_admin:
                page = [{k: v for k, v in s.items() if not k.startswith("OS-EXT-SRV-ATTR:")}
                        for s in page]
            doc = {name: page}
            if limit and len(page) == limit:
                params = {k: v[0] for k, v in sorted(query.items())}
                params["marker"] = page[-1]["id"]
                doc[f"{name}_links"] = [{"rel": "next",
                                         "href": f"{url}?{urllib.parse.urlencode(params)}"}]
            return self.send_json(200, doc, headers)

        # -------------------------------------------------------------- knobs
        def control(self, method, what, query):
            if what == "health":
                return self.send_json(200, {"ok": True})
            if what == "state":
                with state.lock:
                    return self.send_json(200, {"generated": state.generated,
                                                "generated_project": state.generated_project,
                                                "revoke": state.revoke, "revoked": state.revoked,
                                                "faults": state.faults, "requests": len(state.log),
                                                "nova": "nova-api" if NOVA_URL and not state.generated
                                                else "replay"})
            if what == "requests":
                with state.lock:
                    log = list(state.log)
                    if "clear" in query:
                        state.log.clear()
                return self.send_json(200, {"requests": log})
            if method != "POST":
                return self.send_json(405, {"error": "POST"})
            body = self.read_body()
            if what == "reset":
                state.reset()
                return self.send_json(200, {"ok": True})
            if what == "servers":
                n = int(body.get("generated", 0))
                project = body.get("project", "demo")
                project = cloud.get(f"{project}_project_id", project)
                with state.lock:
                    state.generated, state.generated_project = n, project
                return self.send_json(200, {"generated": n, "project": project})
            if what == "revoke":
                with state.lock:
                    state.revoke = {"user": body.get("user"), "after": int(body.get("after", 0))}
                return self.send_json(200, {"revoke": state.revoke})
            if what == "faults":
                with state.lock:
                    state.faults = list(body.get("faults", []))
                return self.send_json(200, {"faults": state.faults})
            if what == "catalog":
                return self.send_json(200, set_catalog(validator, cloud, body))
            return self.send_json(404, {"error": f"no knob {what}"})

    return Handler


# What the real nova-api asks Neutron while it builds servers/detail: not the client's own
# requests, so the revoke knob neither counts nor revokes them.
NOVA_CALLBACKS = ("/networking/v2.0/ports", "/networking/v2.0/security-groups")
NOVA_URL = None  # --nova-url: the real nova-api, proxied for /compute/
PROXIED_REQUEST_HEADERS = ["X-Auth-Token", "Accept", "OpenStack-API-Version",
                           "X-OpenStack-Nova-API-Version", "User-Agent", "X-OpenStack-Request-ID"]
PROXIED_RESPONSE_HEADERS = ["Content-Type", "OpenStack-API-Version",
                            "X-OpenStack-Nova-API-Version", "Vary", "WWW-Authenticate",
                            "x-openstack-request-id", "x-compute-request-id"]
NOVA_HEADERS = {"OpenStack-API-Version": "compute 2.1", "X-OpenStack-Nova-API-Version": "2.1",
                "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version"}


def truthy(values):
    """Nova's is_all_tenants: present with no value or a true-ish value."""
    if not values:
        return False
    v = values[0].strip().lower()
    return v in ("", "1", "true", "t", "yes", "y", "on")


def set_catalog(validator, cloud, body):
    """Keystone's endpoint filter for one project: only `services` (types) in its catalog
    (null = the whole catalog again). Real Keystone calls, as the admin."""
    project = cloud.get(f"{body.get('project', 'demo')}_project_id", body.get("project"))
    services = body.get("services")
    auth = validator.auth_url
    tok = validator.admin_token()
    svc_type = {s["id"]: s["type"] for s in ks.call("GET", f"{auth}/services", tok)[2]["services"]}
    endpoints = ks.call("GET", f"{auth}/endpoints", tok)[2]["endpoints"]
    current = ks.call("GET", f"{auth}/OS-EP-FILTER/projects/{project}/endpoints", tok)[2]["endpoints"]
    for ep in current:
        ks.call("DELETE", f"{auth}/OS-EP-FILTER/projects/{project}/endpoints/{ep['id']}", tok)
    kept = []
    if services is not None:
        for ep in endpoints:
            t = svc_type.get(ep["service_id"])
            if t == "identity" or t in services:
                ks.call("PUT", f"{auth}/OS-EP-FILTER/projects/{project}/endpoints/{ep['id']}", tok)
                kept.append(t)
    return {"project": project, "services": sorted(set(kept)) if services is not None else None}


def probe_listener(addr, port):
    """The reachable server's TCP port: accept and close (a TCP probe's connect succeeds)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(128)

    def run():
        while True:
            c, _ = s.accept()
            c.close()

    threading.Thread(target=run, daemon=True).start()


STARTED = time.monotonic()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--probe-port", type=int, required=True)
    p.add_argument("--reachable", required=True)
    p.add_argument("--unreachable", required=True)
    p.add_argument("--samples", required=True)
    p.add_argument("--keystone-url", required=True)
    p.add_argument("--nova-url", help="the real nova-api; without it Nova is replayed too")
    a = p.parse_args()
    global NOVA_URL
    NOVA_URL = a.nova_url
    with open(os.path.join(a.dir, "cloud.json")) as f:
        cloud = json.load(f)
    with open(os.path.join(a.dir, "secrets.json")) as f:
        secrets = json.load(f)
    auth_url = a.keystone_url + "/v3"
    validator = Validator(auth_url, secrets["replay_password"], secrets["admin_password"])
    validator._service_token()
    state = State(Dataset(a.samples, cloud, a.reachable, a.unreachable))
    probe_listener(a.reachable, a.probe_port)
    server = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(state, validator, cloud))
    server.daemon_threads = True
    print(f"replay server on http://127.0.0.1:{a.port}, keystone {auth_url}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
