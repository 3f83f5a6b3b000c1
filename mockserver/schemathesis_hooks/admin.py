"""Fuzzing the control plane leaves no fault rule behind (loaded through mockserver.schemathesis_hooks).

A fuzzed ``POST /__mockserver/faults`` or ``POST /__mockserver/limits/<vendor>`` adds real rules, most
without ``times``: left in place they would fail the next run's vendor calls. This hook notes each rule
such a call added (with the call's own credentials: an admin token, when the server has one) and deletes
them all when the schemathesis process exits. Not sooner: the stateful phase follows a 201 to
``GET /faults/{rule_id}`` and must find the rule there (ST302 otherwise). A run that is killed leaves its
rules: ``DELETE /__mockserver/faults`` clears them.
"""
from __future__ import annotations

import atexit
import re
import sys
import urllib.error
import urllib.request
from urllib.parse import quote, urlsplit

import schemathesis

ADDS_RULES = re.compile(r"/__mockserver/(faults|limits/[^/]+)/?$")
# Headers of the fuzzed call not to repeat on the DELETE (it has no body).
NOT_REPEATED = {"content-length", "content-type", "transfer-encoding"}


def added_rule_ids(method: str, url: str, status: int, body) -> list[str]:
    """The ids of the rules a control-plane call added (none unless it was such a call and succeeded)."""
    if method.upper() != "POST" or status != 201 or not ADDS_RULES.search(urlsplit(url).path):
        return []
    rules = body.get("faults") if isinstance(body, dict) else None
    return [r["id"] for r in rules or [] if isinstance(r, dict) and isinstance(r.get("id"), str)]


def delete_rule(url: str, rule_id: str, headers: dict[str, str]) -> int:
    """DELETE the rule under the control plane of ``url``; its status (404: already gone)."""
    parts = urlsplit(url)
    target = f"{parts.scheme}://{parts.netloc}/__mockserver/faults/{quote(rule_id, safe='')}"
    request = urllib.request.Request(target, method="DELETE", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


# (request URL, rule id, headers) of every rule the run added, deleted at exit.
ADDED: list[tuple[str, str, dict[str, str]]] = []


@schemathesis.hook
def after_call(context, case, response):
    request = response.request
    try:
        body = response.json()
    except ValueError:
        return
    headers = {k: v for k, v in request.headers.items() if k.lower() not in NOT_REPEATED}
    ADDED.extend((request.url, rule_id, headers)
                 for rule_id in added_rule_ids(request.method, request.url, response.status_code, body))


def delete_added_rules() -> None:
    """Delete what the run added (404: the run deleted it itself); say so when one cannot be deleted."""
    while ADDED:
        url, rule_id, headers = ADDED.pop()
        try:
            status = delete_rule(url, rule_id, headers)
        except OSError as exc:
            status = exc
        if status not in (200, 404):
            print(f"mockserver: fault rule {rule_id} the fuzz run added could not be deleted: {status}",
                  file=sys.stderr)


atexit.register(delete_added_rules)
