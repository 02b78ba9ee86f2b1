#!/usr/bin/env python3
"""A replay of the AWS Cost Explorer GetCostAndUsage API for detek's cloud_cost_anomaly tests.

Speaks the AWS JSON 1.1 protocol of Cost Explorer (POST /, X-Amz-Target:
AWSInsightsIndexService.GetCostAndUsage, Content-Type: application/x-amz-json-1.1) and verifies
the AWS Signature Version 4 of every request against a fixed set of test credentials before it
answers from a scenario file (scenarios/flat.json, scenarios/spike.json or any file of that
format). See README.md for what is checked and what is not.

    ce-replay.py --port N --scenario spike|flat|PATH [--page-days D] [--end DATE|today]

Binds 127.0.0.1 only; prints "listening on 127.0.0.1:PORT" on stdout when ready (--port 0 picks
a free port). Logs one line per request (target, page, verdict) on stderr. Exits when its parent
process exits. Python 3 standard library only.
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REGION = "us-east-1"
SERVICE = "ce"
TARGET_PREFIX = "AWSInsightsIndexService."
CONTENT_TYPE = "application/x-amz-json-1.1"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = datetime.timedelta(minutes=15)
MAX_BODY = 1 << 20
MAX_DAYS = 400
AMZ_DATE = "%Y%m%dT%H%M%SZ"

# The only credentials the replay knows. The first pair is the example key of the AWS
# documentation's SigV4 examples and test suite; the second is a made-up temporary credential
# (an "ASIA" key id) that is only valid together with its session token.
CREDENTIALS = {
    "AKIDEXAMPLE": {"secret": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token": None},
    "ASIAEXAMPLETEMPORARY": {
        "secret": "tEmPoRaRyExAmPlEsEcReT/K7MDENG+bPxRfiCYEXAMPLE",
        "token": "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENforDETEKce-replay//////////wEXAMPLE=",
    },
}


class ApiError(Exception):
    """An AWS-shaped error: HTTP status, __type and message."""

    def __init__(self, status, kind, message):
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def hmac_sha256(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


# ------------------------------------------------------------------------------------------
# Signature Version 4, the verifying side

def uri_encode(text, keep_slash=False):
    """RFC 3986 encoding as SigV4 wants it: unreserved characters stay, the rest is %XX."""
    return urllib.parse.quote(text, safe="-_.~" + ("/" if keep_slash else ""))


def canonical_uri(raw_path):
    # Non-S3 services: the path as sent is encoded once more, segment by segment.
    if raw_path in ("", "/"):
        return "/"
    return "/".join(uri_encode(seg) for seg in raw_path.split("/"))


def canonical_query(raw_query):
    pairs = []
    if raw_query:
        for part in raw_query.split("&"):
            if not part:
                continue
            key, _, value = part.partition("=")
            pairs.append((uri_encode(urllib.parse.unquote(key)),
                          uri_encode(urllib.parse.unquote(value))))
    pairs.sort()
    return "&".join(f"{k}={v}" for k, v in pairs)


def canonical_header_value(values):
    # Several headers of one name are joined with commas; each value is trimmed and runs of
    # spaces are folded into one.
    return ",".join(re.sub(r" +", " ", v.strip()) for v in values)


def parse_authorization(value):
    if not value:
        raise ApiError(403, "MissingAuthenticationTokenException",
                       "Missing Authentication Token")
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise ApiError(400, "IncompleteSignatureException",
                       f"Unsupported AWS 'algorithm': '{algorithm}'")
    fields = {}
    for part in rest.split(","):
        key, sep, val = part.strip().partition("=")
        if sep:
            fields[key] = val
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if k not in fields]
    if missing:
        raise ApiError(400, "IncompleteSignatureException", " ".join(
            f"Authorization header requires '{k}' parameter." for k in missing))
    return fields


def verify_request(method, raw_path, raw_query, headers, body, now):
    """Checks the SigV4 signature; returns the access key id. headers: lower name -> [values]."""
    auth = parse_authorization(";".join(headers.get("authorization", [])))
    scope = auth["Credential"].split("/")
    if len(scope) != 5:
        raise ApiError(400, "IncompleteSignatureException",
                       f"Credential should have 5 parts, not {len(scope)}: '{auth['Credential']}'")
    key_id, scope_date, scope_region, scope_service, terminator = scope

    key = CREDENTIALS.get(key_id)
    if key is None:
        raise ApiError(403, "UnrecognizedClientException",
                       "The security token included in the request is invalid.")
    token = headers.get("x-amz-security-token")
    if key["token"] is not None or token is not None:
        if token is None or key["token"] is None or not hmac.compare_digest(
                canonical_header_value(token), key["token"]):
            raise ApiError(403, "UnrecognizedClientException",
                           "The security token included in the request is invalid.")

    amz_date = canonical_header_value(headers.get("x-amz-date", []))
    if not amz_date:
        raise ApiError(400, "IncompleteSignatureException",
                       "Authorization header requires existence of the 'X-Amz-Date' header.")
    try:
        when = datetime.datetime.strptime(amz_date, AMZ_DATE).replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        raise ApiError(400, "IncompleteSignatureException",
                       f"X-Amz-Date must be in ISO 8601 basic format, not '{amz_date}'.")
    if when < now - MAX_SKEW:
        raise ApiError(403, "InvalidSignatureException",
                       f"Signature expired: {amz_date} is now earlier than "
                       f"{(now - MAX_SKEW).strftime(AMZ_DATE)} "
                       f"({now.strftime(AMZ_DATE)} - 15 min.)")
    if when > now + MAX_SKEW:
        raise ApiError(403, "InvalidSignatureException",
                       f"Signature not yet current: {amz_date} is still later than "
                       f"{(now + MAX_SKEW).strftime(AMZ_DATE)} "
                       f"({now.strftime(AMZ_DATE)} + 15 min.)")
    if scope_date != amz_date[:8]:
        raise ApiError(403, "InvalidSignatureException",
                       f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
                       f"of date from HTTP: '{scope_date}' != '{amz_date[:8]}', from '{amz_date}'.")
    if scope_region != REGION:
        raise ApiError(403, "InvalidSignatureException",
                       f"Credential should be scoped to a valid region, not '{scope_region}'.")
    if scope_service != SERVICE:
        raise ApiError(403, "InvalidSignatureException",
                       f"Credential should be scoped to correct service: '{SERVICE}'.")
    if terminator != "aws4_request":
        raise ApiError(403, "InvalidSignatureException",
                       f"Credential should be scoped with a valid terminator: 'aws4_request', "
                       f"not '{terminator}'.")

    signed = auth["SignedHeaders"].split(";")
    if signed != sorted(signed) or any(h != h.lower() or not h for h in signed):
        raise ApiError(403, "InvalidSignatureException",
                       "SignedHeaders must be lowercase header names, sorted and ';'-separated.")
    for required in ("host", "x-amz-date"):
        if required not in signed:
            raise ApiError(403, "InvalidSignatureException",
                           f"'{required}' must be a signed header.")
    if token is not None and "x-amz-security-token" not in signed:
        raise ApiError(403, "InvalidSignatureException",
                       "'x-amz-security-token' is present but not a signed header.")
    for name in signed:
        if name not in headers:
            raise ApiError(403, "InvalidSignatureException",
                           f"Signed header '{name}' is not in the request.")

    body_hash = sha256_hex(body)
    claimed = headers.get("x-amz-content-sha256")
    if claimed is not None:
        payload_hash = canonical_header_value(claimed)
        if payload_hash != body_hash:
            raise ApiError(403, "InvalidSignatureException",
                           "The x-amz-content-sha256 header does not match the SHA-256 of the "
                           "request body.")
    else:
        payload_hash = body_hash

    canonical_request = "\n".join([
        method,
        canonical_uri(raw_path),
        canonical_query(raw_query),
        "".join(f"{name}:{canonical_header_value(headers[name])}\n" for name in signed),
        ";".join(signed),
        payload_hash,
    ])
    credential_scope = f"{scope_date}/{scope_region}/{scope_service}/{terminator}"
    string_to_sign = "\n".join([
        ALGORITHM, amz_date, credential_scope,
        sha256_hex(canonical_request.encode("utf-8"))])
    signing_key = hmac_sha256(("AWS4" + key["secret"]).encode("utf-8"), scope_date)
    for part in (scope_region, scope_service, terminator):
        signing_key = hmac_sha256(signing_key, part)
    expected = hmac.new(signing_key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, auth["Signature"]):
        raise ApiError(403, "InvalidSignatureException",
                       "The request signature we calculated does not match the signature you "
                       "provided. Check your AWS Secret Access Key and signing method. Consult "
                       "the service documentation for details.\n\nThe Canonical String for this "
                       f"request should have been\n'{canonical_request}'\n\nThe String-to-Sign "
                       f"should have been\n'{string_to_sign}'\n")
    return key_id


# ------------------------------------------------------------------------------------------
# The scenario and GetCostAndUsage

def parse_date(value, what):
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ApiError(400, "ValidationException", f"{what} must be a date as YYYY-MM-DD.")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "ValidationException", f"{what} is not a valid date: '{value}'.")


class Scenario:
    def __init__(self, path, end=None):
        with open(path) as f:
            doc = json.load(f)
        self.path = path
        self.unit = doc.get("unit", "USD")
        self.metric = doc.get("metric", "UnblendedCost")
        days = {datetime.date.fromisoformat(d["date"]): d["costs"] for d in doc["days"]}
        estimated_from = doc.get("estimated_from")
        estimated_from = (datetime.date.fromisoformat(estimated_from)
                          if estimated_from else max(days) + datetime.timedelta(days=1))
        shift = datetime.timedelta(0)
        if end is not None:  # move the scenario so that its last day is the day before `end`
            shift = (end - datetime.timedelta(days=1)) - max(days)
        self.days = {d + shift: costs for d, costs in days.items()}
        self.estimated_from = estimated_from + shift
        for costs in self.days.values():
            for amount in costs.values():
                Decimal(amount)  # every amount must be a decimal string

    def first_last(self):
        return min(self.days), max(self.days)


class Pager:
    """Opaque NextPageTokens: the offset and a hash of the request, HMAC'd with a key that
    lives only as long as this process."""

    def __init__(self):
        self.key = os.urandom(32)

    def make(self, offset, request_hash):
        payload = base64.urlsafe_b64encode(
            json.dumps({"o": offset, "r": request_hash}, separators=(",", ":")).encode()
        ).decode().rstrip("=")
        mac = hmac.new(self.key, payload.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{payload}.{mac}"

    def read(self, token, request_hash):
        payload, _, mac = token.partition(".")
        good = hmac.new(self.key, payload.encode(), hashlib.sha256).hexdigest()[:32]
        if not mac or not hmac.compare_digest(mac, good):
            raise ApiError(400, "InvalidNextTokenException", "The pagination token is invalid.")
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        if data["r"] != request_hash:
            raise ApiError(400, "RequestChangedException",
                           "Your request parameters changed between pages. Try again with the "
                           "old parameters or without a pagination token.")
        return data["o"]


KNOWN_FIELDS = {"TimePeriod", "Granularity", "Metrics", "GroupBy", "NextPageToken", "Filter"}


def get_cost_and_usage(scenario, pager, page_days, body):
    """Returns (response, page number, days of the page)."""
    try:
        req = json.loads(body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ApiError(400, "SerializationException", f"Request body is not JSON: {err}")
    if not isinstance(req, dict):
        raise ApiError(400, "SerializationException", "Request body must be a JSON object.")
    req = {k: v for k, v in req.items() if v is not None}
    unknown = sorted(set(req) - KNOWN_FIELDS)
    if unknown:
        raise ApiError(400, "SerializationException", f"Unknown field(s): {', '.join(unknown)}.")
    if "Filter" in req:
        raise ApiError(400, "ValidationException", "ce-replay does not evaluate Filter.")

    period = req.get("TimePeriod")
    if not isinstance(period, dict) or "Start" not in period or "End" not in period:
        raise ApiError(400, "ValidationException", "TimePeriod with Start and End is required.")
    start = parse_date(period["Start"], "TimePeriod.Start")
    end = parse_date(period["End"], "TimePeriod.End")
    if start >= end:
        raise ApiError(400, "ValidationException",
                       "Start date (and hour) should be before end date (and hour)")
    if (end - start).days > MAX_DAYS:
        raise ApiError(400, "ValidationException",
                       f"ce-replay serves at most {MAX_DAYS} days per request.")
    if req.get("Granularity") != "DAILY":
        raise ApiError(400, "ValidationException",
                       f"ce-replay serves Granularity DAILY only, not {req.get('Granularity')!r}.")
    metrics = req.get("Metrics")
    if not isinstance(metrics, list) or not metrics:
        raise ApiError(400, "ValidationException", "Metrics is required.")
    if metrics != [scenario.metric]:
        raise ApiError(400, "ValidationException",
                       f"ce-replay serves Metrics [\"{scenario.metric}\"] only, not {metrics}.")
    group_by = req.get("GroupBy", [])
    if group_by not in ([], [{"Type": "DIMENSION", "Key": "SERVICE"}]):
        raise ApiError(400, "ValidationException",
                       "ce-replay serves GroupBy [{\"Type\": \"DIMENSION\", \"Key\": \"SERVICE\"}] "
                       f"or no GroupBy, not {group_by}.")
    token = req.get("NextPageToken")
    if token is not None and not isinstance(token, str):
        raise ApiError(400, "ValidationException", "NextPageToken must be a string.")

    request_hash = sha256_hex(json.dumps(
        {k: v for k, v in req.items() if k != "NextPageToken"}, sort_keys=True).encode())
    dates = [start + datetime.timedelta(days=i) for i in range((end - start).days)]
    offset = 0 if token is None else pager.read(token, request_hash)
    if not 0 <= offset < len(dates):
        raise ApiError(400, "InvalidNextTokenException", "The pagination token is invalid.")
    page = dates[offset:offset + page_days]

    results = []
    for day in page:
        costs = scenario.days.get(day, {})
        item = {"TimePeriod": {"Start": day.isoformat(),
                               "End": (day + datetime.timedelta(days=1)).isoformat()}}
        if group_by:
            item["Total"] = {}
            item["Groups"] = [
                {"Keys": [service],
                 "Metrics": {scenario.metric: {"Amount": amount, "Unit": scenario.unit}}}
                for service, amount in costs.items()]
        else:
            total = sum((Decimal(a) for a in costs.values()), Decimal(0))
            item["Total"] = {scenario.metric: {"Amount": str(total), "Unit": scenario.unit}}
            item["Groups"] = []
        item["Estimated"] = day >= scenario.estimated_from
        results.append(item)

    response = {}
    if group_by:
        response["GroupDefinitions"] = group_by
    response["ResultsByTime"] = results
    response["DimensionValueAttributes"] = []
    if offset + page_days < len(dates):
        response["NextPageToken"] = pager.make(offset + page_days, request_hash)
    return response, offset // page_days + 1, page


# ------------------------------------------------------------------------------------------
# HTTP

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ce-replay"
    sys_version = ""

    def log_message(self, fmt, *args):  # the default access log is replaced by log()
        pass

    def log(self, target, page, verdict, detail=""):
        sys.stderr.write(f"ce-replay: {self.command} target={target or '-'} page={page} "
                         f"verdict={verdict}{(' ' + detail) if detail else ''}\n")
        sys.stderr.flush()

    def send_json(self, status, doc, error_type=None):
        data = json.dumps(doc).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error_type:
            self.send_header("x-amzn-ErrorType", f"{error_type}:")
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        target = self.headers.get("X-Amz-Target", "")
        page = "-"
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0 or length > MAX_BODY:
                raise ApiError(413, "ValidationException", "Request body too large.")
            body = self.rfile.read(length)
            raw_path, _, raw_query = self.path.partition("?")
            headers = {}
            for name in self.headers.keys():
                headers.setdefault(name.lower(), self.headers.get_all(name))
            now = datetime.datetime.now(datetime.timezone.utc)
            key_id = verify_request("POST", raw_path, raw_query, headers, body, now)
            if raw_path != "/":
                raise ApiError(404, "UnknownOperationException", f"No such path: {raw_path}")
            if target != TARGET_PREFIX + "GetCostAndUsage":
                raise ApiError(400, "UnknownOperationException",
                               f"ce-replay serves {TARGET_PREFIX}GetCostAndUsage only, not "
                               f"'{target}'.")
            ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
            if ctype != CONTENT_TYPE:
                raise ApiError(400, "SerializationException",
                               f"Content-Type must be {CONTENT_TYPE}, not '{ctype}'.")
            srv = self.server
            response, page, days = get_cost_and_usage(srv.scenario, srv.pager, srv.page_days, body)
            span = f"{days[0]}..{days[-1]}" if days else "-"
            more = "next-token" if "NextPageToken" in response else "last-page"
            self.log(target, page, "ok", f"key={key_id} days={span} {more}")
            self.send_json(200, response)
        except ApiError as err:
            self.log(target, page, err.kind, err.message.splitlines()[0] if err.message else "")
            self.send_json(err.status, {"__type": err.kind, "message": err.message}, err.kind)

    def do_GET(self):
        self.refuse()

    do_PUT = do_DELETE = do_HEAD = do_PATCH = do_GET

    def refuse(self):
        self.log(self.headers.get("X-Amz-Target", ""), "-", "MethodNotAllowed")
        data = b'{"__type": "UnknownOperationException", "message": "POST only"}'
        self.send_response(405)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Allow", "POST")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


SCENARIO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free one)")
    ap.add_argument("--scenario", default="spike",
                    help="'spike', 'flat' (scenarios/NAME.json) or the path of a scenario file")
    ap.add_argument("--page-days", type=int, default=10,
                    help="days per page, 1 to 10 (default 10)")
    ap.add_argument("--end", default=None,
                    help="shift the scenario so that its last day is the day before this date "
                         "(YYYY-MM-DD, or 'today' for today in UTC)")
    args = ap.parse_args()
    if not 1 <= args.page_days <= 10:
        ap.error("--page-days must be between 1 and 10")
    path = args.scenario
    if path in ("spike", "flat"):
        path = os.path.join(SCENARIO_DIR, f"{path}.json")
    end = None
    if args.end == "today":
        end = datetime.datetime.now(datetime.timezone.utc).date()
    elif args.end:
        end = datetime.date.fromisoformat(args.end)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.scenario = Scenario(path, end)
    server.pager = Pager()
    server.page_days = args.page_days

    parent = os.getppid()

    def watch_parent():
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch_parent, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    first, last = server.scenario.first_last()
    sys.stderr.write(f"ce-replay: scenario {path} ({first}..{last}), "
                     f"{args.page_days} days per page\n")
    print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
