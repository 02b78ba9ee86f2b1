#!/usr/bin/env python3
"""Self-check of ce-replay.py, Python 3 standard library only.

Signs requests the way an AWS client does, with a SigV4 signer of its own (written from the
AWS documentation, not shared with the server), which it first checks against the published
examples of the AWS documentation. Then starts ce-replay.py on a free port and checks paging,
the scenario numbers and the refusals. Ends with "selfcheck: N passed, N failed"; exit code 1
on any failure.
"""
import datetime
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
KEY_ID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TEMP_KEY_ID = "ASIAEXAMPLETEMPORARY"
TEMP_SECRET = "tEmPoRaRyExAmPlEsEcReT/K7MDENG+bPxRfiCYEXAMPLE"
TEMP_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENforDETEKce-replay//////////wEXAMPLE="
EC2 = "Amazon Elastic Compute Cloud - Compute"

passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"  ok    {name}")
    else:
        failed += 1
        print(f"  FAIL  {name}  {detail}")


# ---------------------------------------------------------------------------------------------
# A client-side SigV4 signer: the four steps of "Create a signed AWS API request"

def _hex_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _encode(s: str) -> str:
    return "".join(c if (c.isascii() and (c.isalnum() or c in "-_.~")) else
                   "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in s)


def sign(method, url, headers, body, key_id, secret, region, service, amz_date):
    """Returns the Authorization header value; `headers` must already hold every header to sign
    (Host and X-Amz-Date included)."""
    parts = urllib.parse.urlsplit(url)
    # Step 1: the canonical request.
    path = parts.path or "/"
    c_uri = "/".join(_encode(urllib.parse.unquote(seg)) for seg in path.split("/"))
    query = sorted((_encode(k), _encode(v))
                   for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    c_query = "&".join(f"{k}={v}" for k, v in query)
    lowered = {}
    for k, v in headers.items():
        lowered[k.lower()] = " ".join(str(v).split())
    names = sorted(lowered)
    c_headers = "".join(f"{n}:{lowered[n]}\n" for n in names)
    signed_headers = ";".join(names)
    payload = lowered.get("x-amz-content-sha256") or _hex_sha256(body)
    creq = f"{method}\n{c_uri}\n{c_query}\n{c_headers}\n{signed_headers}\n{payload}"
    # Step 2: the string to sign.
    day = amz_date[:8]
    scope = f"{day}/{region}/{service}/aws4_request"
    sts = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{_hex_sha256(creq.encode())}"
    # Step 3: the signing key and the signature.
    k = ("AWS4" + secret).encode()
    for step in (day, region, service, "aws4_request"):
        k = hmac.new(k, step.encode(), hashlib.sha256).digest()
    signature = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    # Step 4: the Authorization header.
    return (f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, "
            f"SignedHeaders={signed_headers}, Signature={signature}")


def signature_of(authz):
    return authz.rsplit("Signature=", 1)[1]


def check_vectors():
    print("SigV4 signer against the AWS documentation's examples")
    date = "20150830T123600Z"
    host = {"Host": "example.amazonaws.com", "X-Amz-Date": date}
    # AWS SigV4 test suite: get-vanilla, post-vanilla, get-vanilla-query-order-key-case.
    for name, method, url, want in [
        ("get-vanilla", "GET", "https://example.amazonaws.com/",
         "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ("post-vanilla", "POST", "https://example.amazonaws.com/",
         "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        ("get-vanilla-query-order-key-case", "GET",
         "https://example.amazonaws.com/?Param2=value2&Param1=value1",
         "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
    ]:
        got = signature_of(sign(method, url, host, b"", KEY_ID, SECRET, "us-east-1", "service",
                                date))
        check(f"test suite {name}", got == want, f"got {got}")
    # The IAM ListUsers example of the SigV4 documentation.
    got = signature_of(sign(
        "GET", "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
         "Host": "iam.amazonaws.com", "X-Amz-Date": date},
        b"", KEY_ID, SECRET, "us-east-1", "iam", date))
    check("IAM ListUsers example", got ==
          "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7", f"got {got}")


# ---------------------------------------------------------------------------------------------
# Requests to the replay

class Replay:
    def __init__(self, port):
        self.port = port

    def call(self, payload, key_id=KEY_ID, secret=SECRET, token=None, when=None,
             tamper_signature=False, tamper_body=False):
        body = json.dumps(payload).encode()
        now = when or datetime.datetime.now(datetime.timezone.utc)
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        headers = {
            "Host": f"127.0.0.1:{self.port}",
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Date": amz_date,
            "X-Amz-Target": "AWSInsightsIndexService.GetCostAndUsage",
        }
        if token:
            headers["X-Amz-Security-Token"] = token
        authz = sign("POST", f"http://127.0.0.1:{self.port}/", headers, body, key_id, secret,
                     "us-east-1", "ce", amz_date)
        if tamper_signature:
            last = authz[-1]
            authz = authz[:-1] + ("0" if last != "0" else "1")
        if tamper_body:
            body = body.replace(b"DAILY", b"DAILy")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("POST", "/", body=body, headers={**headers, "Authorization": authz})
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read() or b"{}")
        finally:
            conn.close()


def query(token=None, start="2025-06-01", end="2025-07-01"):
    q = {"TimePeriod": {"Start": start, "End": end}, "Granularity": "DAILY",
         "Metrics": ["UnblendedCost"], "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}]}
    if token:
        q["NextPageToken"] = token
    return q


def amount(result, service):
    for group in result["Groups"]:
        if group["Keys"] == [service]:
            return group["Metrics"]["UnblendedCost"]
    return None


def check_replay():
    print("ce-replay.py --port 0 --scenario spike")
    with open(os.path.join(HERE, "scenarios", "spike.json")) as f:
        scenario = {d["date"]: d["costs"] for d in json.load(f)["days"]}
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "ce-replay.py"), "--port", "0",
                             "--scenario", "spike"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        check("prints 'listening on 127.0.0.1:PORT'", line.startswith("listening on 127.0.0.1:"),
              repr(line))
        replay = Replay(int(line.rsplit(":", 1)[1]))

        status, page1 = replay.call(query())
        days1 = [r["TimePeriod"]["Start"] for r in page1.get("ResultsByTime", [])]
        check("page 1: 200, 10 days from 2025-06-01, NextPageToken",
              status == 200 and days1[:1] == ["2025-06-01"] and len(days1) == 10
              and "NextPageToken" in page1, f"{status} {page1}")
        first = page1["ResultsByTime"][0]
        check("page 1: shape (TimePeriod, Total, Groups[].Keys/Metrics, Estimated, "
              "GroupDefinitions, DimensionValueAttributes)",
              first["TimePeriod"] == {"Start": "2025-06-01", "End": "2025-06-02"}
              and first["Total"] == {} and first["Estimated"] is False
              and amount(first, EC2) == {"Amount": scenario["2025-06-01"][EC2], "Unit": "USD"}
              and page1["GroupDefinitions"] == [{"Type": "DIMENSION", "Key": "SERVICE"}]
              and page1["DimensionValueAttributes"] == [], json.dumps(first)[:300])

        status, page2 = replay.call(query(page1["NextPageToken"]))
        days2 = [r["TimePeriod"]["Start"] for r in page2.get("ResultsByTime", [])]
        check("page 2 with the token: 200, 2025-06-11..2025-06-20, NextPageToken",
              status == 200 and days2[:1] == ["2025-06-11"] and days2[-1:] == ["2025-06-20"]
              and "NextPageToken" in page2, f"{status} {days2}")

        status, page3 = replay.call(query(page2.get("NextPageToken")))
        spike = next((r for r in page3.get("ResultsByTime", [])
                      if r["TimePeriod"]["Start"] == "2025-06-27"), None)
        check("page 3: last page (no token), the spike on 2025-06-27, Estimated from 06-29",
              status == 200 and "NextPageToken" not in page3 and spike is not None
              and amount(spike, EC2)["Amount"] == scenario["2025-06-27"][EC2]
              and [r["Estimated"] for r in page3["ResultsByTime"]][-3:] == [False, True, True],
              f"{status} {json.dumps(page3)[:300]}")

        status, body = replay.call(query(page1["NextPageToken"] + "x"))
        check("a forged token: 400 InvalidNextTokenException",
              status == 400 and body.get("__type") == "InvalidNextTokenException", f"{status} {body}")
        status, body = replay.call(query(page1["NextPageToken"], end="2025-06-30"))
        check("a token with other parameters: 400 RequestChangedException",
              status == 400 and body.get("__type") == "RequestChangedException", f"{status} {body}")

        status, body = replay.call(query(), tamper_signature=True)
        check("a wrong signature: 403 InvalidSignatureException",
              status == 403 and body.get("__type") == "InvalidSignatureException",
              f"{status} {body}")
        status, body = replay.call(query(), tamper_body=True)
        check("a body changed after signing: 403 InvalidSignatureException",
              status == 403 and body.get("__type") == "InvalidSignatureException",
              f"{status} {body}")
        status, body = replay.call(query(), secret="not-the-secret")
        check("a wrong secret key: 403 InvalidSignatureException",
              status == 403 and body.get("__type") == "InvalidSignatureException",
              f"{status} {body}")
        status, body = replay.call(query(), key_id="AKIDUNKNOWN0000000000")
        check("an unknown access key: 403 UnrecognizedClientException",
              status == 403 and body.get("__type") == "UnrecognizedClientException",
              f"{status} {body}")
        old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
        status, body = replay.call(query(), when=old)
        check("a request date 20 minutes old: 403 InvalidSignatureException, Signature expired",
              status == 403 and body.get("__type") == "InvalidSignatureException"
              and body.get("message", "").startswith("Signature expired"), f"{status} {body}")

        status, body = replay.call(query(), key_id=TEMP_KEY_ID, secret=TEMP_SECRET,
                                   token=TEMP_TOKEN)
        check("temporary credentials with a signed session token: 200",
              status == 200 and len(body.get("ResultsByTime", [])) == 10, f"{status}")
        status, body = replay.call(query(), key_id=TEMP_KEY_ID, secret=TEMP_SECRET)
        check("temporary credentials without their session token: 403 "
              "UnrecognizedClientException",
              status == 403 and body.get("__type") == "UnrecognizedClientException",
              f"{status} {body}")
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    lines = [ln for ln in err.splitlines() if " verdict=" in ln]
    check("one stderr log line per request, with target, page and verdict",
          len(lines) == 12 and all("target=AWSInsightsIndexService.GetCostAndUsage" in ln
                                   and " page=" in ln for ln in lines), "\n" + err)
    print("server log:")
    for ln in err.splitlines():
        print("  " + ln)


def main():
    check_vectors()
    check_replay()
    print(f"selfcheck: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
