"""Checks of the API fuzz run (`make test` runs it short, `make fuzz` long) beyond schemathesis' own.

Every error answer must be `{"error": {"code", "message"}}` as JSON, and a refused request (4xx) must
append nothing to the log: the log's head is read from /healthz before each call and compared after
it. The run uses one worker, so nothing else writes between the two readings.
"""

import json
import os
import urllib.request

import schemathesis

BASE = os.environ["THREADLOG_FUZZ_URL"].rstrip("/")
_before = {}


def _position():
    with urllib.request.urlopen(BASE + "/healthz", timeout=10) as answer:
        return json.load(answer)["position"]


@schemathesis.hook
def before_call(context, case, kwargs):
    # A consumer group's long poll may wait 30 s; the run's request timeout is shorter.
    if case.path.endswith("/events") and isinstance(case.query, dict) and "wait" in case.query:
        case.query["wait"] = 0
    _before[id(case)] = _position()


@schemathesis.check
def error_in_documented_shape(ctx, response, case):
    if response.status_code < 400:
        return
    content_type = (response.headers.get("content-type") or [""])[0]
    if not content_type.startswith("application/json"):
        raise AssertionError(f"error answer {response.status_code} is {content_type!r}, not JSON")
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"error answer {response.status_code} is not valid JSON: {response.content[:200]!r}")
    error = body.get("error") if isinstance(body, dict) else None
    if not (
        isinstance(body, dict)
        and set(body) == {"error"}
        and isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and error["code"]
        and isinstance(error.get("message"), str)
        and error["message"]
    ):
        raise AssertionError(f"error answer {response.status_code} is not {{error: {{code, message}}}}: {body!r}")


@schemathesis.check
def refusal_appends_nothing(ctx, response, case):
    before = _before.pop(id(case), None)
    if before is None or not 400 <= response.status_code < 500:
        return
    after = _position()
    if after != before:
        raise AssertionError(f"a {response.status_code} answer appended: the log went from {before} to {after}")
