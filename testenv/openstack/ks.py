"""A tiny Keystone v3 REST client (stdlib only), shared by setup_cloud.py and replay.py."""
import json
import urllib.error
import urllib.request


class HttpError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body


def call(method, url, token=None, body=None, headers=None, timeout=15):
    """(status, headers, parsed JSON or None); raises HttpError for >= 400."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, resp.headers, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raise HttpError(e.code, e.read()[:500]) from None


def password_token(auth_url, user, password, project, domain="Default"):
    """A project-scoped token: (token, token body)."""
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": domain}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": domain}}},
    }}
    _, headers, doc = call("POST", f"{auth_url}/auth/tokens", body=body)
    return headers["X-Subject-Token"], doc["token"]
