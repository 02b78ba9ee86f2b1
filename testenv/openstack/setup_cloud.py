"""Creates the test cloud's projects, users, roles, application credential and catalog in a
freshly bootstrapped Keystone, through its REST API as the bootstrap admin.

Reads the passwords and URLs from the environment (start.sh exports them), writes
DIR/cloud.json (ids, names: no secrets) and DIR/secrets.json (mode 600, read by replay.py).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

DIR = sys.argv[1]
E = os.environ
AUTH = E["KEYSTONE_URL"] + "/v3"
REPLAY = E["REPLAY_URL"]
REGION = "RegionOne"

token, _ = ks.password_token(AUTH, "admin", E["ADMIN_PASSWORD"], "admin")


def post(path, kind, body, tok=token):
    return ks.call("POST", AUTH + path, tok, {kind: body})[2][kind]


def get_one(path, kind, name):
    items = ks.call("GET", f"{AUTH}{path}?name={name}", token)[2][kind]
    return items[0]


def grant(project_id, user_id, role_id):
    ks.call("PUT", f"{AUTH}/projects/{project_id}/users/{user_id}/roles/{role_id}", token)


domain_id = "default"
roles = {r["name"]: r["id"] for r in ks.call("GET", AUTH + "/roles", token)[2]["roles"]}
roles["service"] = post("/roles", "role", {"name": "service"})["id"]
admin_project = get_one("/projects", "projects", "admin")
admin_user = get_one("/users", "users", "admin")

projects = {}
for name, desc in [("demo", "the member's project"), ("ops", "a second project with servers"),
                   ("service", "service users"), ("nolb", "catalog without load-balancer")]:
    projects[name] = post("/projects", "project",
                          {"name": name, "domain_id": domain_id, "description": desc})["id"]

users = {}
for name, project, role, pw in [("demo", "demo", "member", E["DEMO_PASSWORD"]),
                                ("nolb", "nolb", "member", E["NOLB_PASSWORD"]),
                                ("replay", "service", "service", E["REPLAY_PASSWORD"])]:
    users[name] = post("/users", "user", {"name": name, "domain_id": domain_id, "password": pw,
                                          "default_project_id": projects[project]})["id"]
    grant(projects[project], users[name], roles[role])

# The replay server's endpoints, laid out like a devstack cloud behind one web server.
# `internal` endpoints get an /internal prefix so that the replay log shows which was used.
SERVICES = [("compute", "nova", "/compute/v2.1"),
            ("volumev3", "cinderv3", "/volume/v3/$(project_id)s"),
            ("block-storage", "cinder", "/volume/v3/$(project_id)s"),
            ("load-balancer", "octavia", "/load-balancer"),
            ("network", "neutron", "/networking")]
endpoints = {}
for stype, name, path in SERVICES:
    sid = post("/services", "service", {"type": stype, "name": name, "enabled": True})["id"]
    for iface, prefix in [("public", ""), ("internal", "/internal")]:
        eid = post("/endpoints", "endpoint", {"service_id": sid, "interface": iface,
                                              "region_id": REGION, "url": REPLAY + prefix + path,
                                              "enabled": True})["id"]
        endpoints.setdefault(stype, []).append(eid)

# Project `nolb` sees every endpoint but Octavia's (Keystone's endpoint filter): a catalog
# without the load-balancer service, for the "service missing from the catalog" case.
for stype, eids in endpoints.items():
    if stype == "load-balancer":
        continue
    for eid in eids:
        ks.call("PUT", f"{AUTH}/OS-EP-FILTER/projects/{projects['nolb']}/endpoints/{eid}", token)
# The identity endpoint too, so that nolb's catalog still lists Keystone.
for ep in ks.call("GET", AUTH + "/endpoints", token)[2]["endpoints"]:
    if not any(ep["id"] in v for v in endpoints.values()):
        ks.call("PUT", f"{AUTH}/OS-EP-FILTER/projects/{projects['nolb']}/endpoints/{ep['id']}", token)

# The member's application credential (created by the member, as a user would).
demo_token, _ = ks.password_token(AUTH, "demo", E["DEMO_PASSWORD"], "demo")
appcred = post(f"/users/{users['demo']}/application_credentials", "application_credential",
               {"name": "detek-test", "secret": E["APPCRED_SECRET"],
                "description": "detek e2e tests", "roles": [{"name": "member"}]},
               tok=demo_token)

cloud = {
    "domain_id": domain_id,
    "admin_user_id": admin_user["id"], "admin_project_id": admin_project["id"],
    "demo_user_id": users["demo"], "demo_project_id": projects["demo"],
    "nolb_user_id": users["nolb"], "nolb_project_id": projects["nolb"],
    "ops_project_id": projects["ops"], "service_project_id": projects["service"],
    "replay_user_id": users["replay"],
    "appcred_id": appcred["id"], "appcred_name": appcred["name"],
}
with open(os.path.join(DIR, "cloud.json"), "w") as f:
    json.dump(cloud, f, indent=1)
fd = os.open(os.path.join(DIR, "secrets.json"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    json.dump({"admin_password": E["ADMIN_PASSWORD"], "replay_password": E["REPLAY_PASSWORD"]}, f)
print("setup done:", ", ".join(f"{k}={v}" for k, v in cloud.items()))
