"""Fault rules: match → effect, applied at their natural points of a vendor request.

A ``FaultRule`` matches on vendor, operation (operationId), tenant, batch size, item index and item
field values (equality); its effect is one of:

- ``item-error``: the matched item fails alone (rendered by the dialect in the vendor's shape);
- ``request-error``: the whole request fails with ``status`` in the vendor's envelope
  (``Retry-After`` on 429 and 503);
- ``delay``: the response is held back ``delay_ms``, then served normally;
- ``timeout``: held back ``delay_ms``, then answered 504 and nothing is applied;
- ``rate-limit``: a token bucket (``rate`` per second, ``burst``) per API key; an empty bucket → 429;
- ``require-user-agent``: a request without a ``User-Agent`` header → 403.

Request-level rules are checked before the dialect's action (in views.py), item-level ones through
``Engine.item_fault`` (batch.py). ``times: N`` makes a rule expire after exactly N applications in
total: the rules, their use counts and their token buckets are one state file shared by every worker
process of the server (shared.py), updated under its lock.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import logging
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import yaml
from marshmallow import ValidationError

from .jsontext import non_finite_path
from .schemas import flatten_errors, schema_for
from .shared import SharedDir

log = logging.getLogger(__name__)

ITEM_ERROR, REQUEST_ERROR, DELAY, TIMEOUT = "item-error", "request-error", "delay", "timeout"
RATE_LIMIT, REQUIRE_USER_AGENT = "rate-limit", "require-user-agent"
EFFECTS = (ITEM_ERROR, REQUEST_ERROR, DELAY, TIMEOUT, RATE_LIMIT, REQUIRE_USER_AGENT)

# Bounds that keep a fuzzed or mistyped rule from stalling the server (documented in the README).
MAX_DELAY_MS = 10_000
MAX_TOTAL_DELAY_MS = 2 * MAX_DELAY_MS  # several delay rules on one request add up to at most this
MAX_RETRY_AFTER = 3600
MAX_RULES = 1000  # rules held at once; more is a 409 (the shared state file stays small)
MAX_BUCKETS = 1000  # token buckets kept per rate-limit rule; full (idle) ones are dropped first
STATE_FILE = "faults.state"
# Emulation choices: defaults of each effect (README "Emulation choices").
DEFAULT_STATUS = {ITEM_ERROR: 500, REQUEST_ERROR: 500, TIMEOUT: 504, RATE_LIMIT: 429, REQUIRE_USER_AGENT: 403}
DEFAULT_TIMEOUT_MS = 1000
DEFAULT_RETRY_AFTER = 1
DEFAULT_MESSAGE = {
    ITEM_ERROR: "Injected fault: this item failed.",
    REQUEST_ERROR: "Injected fault: the request failed.",
    TIMEOUT: "Injected fault: the request timed out.",
    RATE_LIMIT: "Rate limit exceeded: too many requests; retry after the Retry-After delay.",
    REQUIRE_USER_AGENT: "A User-Agent header is required.",
}
TITLES = {403: "Forbidden", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
          503: "Service Unavailable", 504: "Gateway Timeout"}

# The JSON schema of a rule as clients write it; specs/admin.yaml (FaultRuleInput) says the same
# (tests/unit/test_faults.py keeps the two equal).
RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["effect"],
    "properties": {
        "effect": {"type": "string", "enum": list(EFFECTS)},
        "vendor": {"type": "string", "minLength": 1},
        "operation": {"type": "string", "minLength": 1},
        "tenant": {"type": "string"},
        "index": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
        "fields": {"type": "object", "additionalProperties": True},
        "min_items": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "message": {"type": "string", "maxLength": 1000},
        "delay_ms": {"type": "integer", "minimum": 0, "maximum": MAX_DELAY_MS},
        "retry_after": {"type": "integer", "minimum": 0, "maximum": MAX_RETRY_AFTER},
        "rate": {"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": 100_000},
        "burst": {"type": "integer", "minimum": 1, "maximum": 100_000},
        "times": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "nullable": True},
    },
}
_RuleSchema = schema_for(RULE_SCHEMA, name="FaultRule")

# Documented vendor limits, switched on with POST /__mockserver/limits/<vendor> or MOCKSERVER_LIMITS.
VENDOR_LIMITS: dict[str, list[dict[str, Any]]] = {
    # VENDORS.md: 25 requests/s sustained, 50 burst, then 429; a missing User-Agent gives 403.
    "vbasoftware": [
        {"effect": RATE_LIMIT, "rate": 25, "burst": 50, "retry_after": 1},
        {"effect": REQUIRE_USER_AGENT},
    ],
    # VENDORS.md: "large batches may time out". Emulation choice: above 1000 items, after 2 s.
    "vcclive": [
        {"effect": TIMEOUT, "min_items": 1001, "delay_ms": 2000,
         "message": "The request timed out: limit the query to fewer data."},
    ],
}


class TooManyRules(Exception):
    pass


class FaultError(ValueError):
    """A rule (or rule file, or fault header) is malformed; ``errors`` names each bad field."""

    def __init__(self, message: str, errors: Sequence[tuple[str, str]] = ()):
        super().__init__(message + ("" if not errors else ": " + "; ".join(f"{p}: {m}" for p, m in errors)))
        self.errors = list(errors)


@dataclass
class FaultRule:
    effect: str
    vendor: str | None = None
    operation: str | None = None
    tenant: str | None = None
    index: int | None = None
    fields: dict[str, Any] | None = None
    min_items: int | None = None
    status: int | None = None
    message: str | None = None
    delay_ms: int | None = None
    retry_after: int | None = None
    rate: float | None = None
    burst: int | None = None
    times: int | None = None  # None: until deleted
    id: str = ""
    uses: int = 0
    # Token buckets: hashed client key → [tokens, last refill] (a credential never reaches the disk).
    buckets: dict[str, list[float]] = field(default_factory=dict, repr=False)

    @property
    def item_level(self) -> bool:
        return self.effect == ITEM_ERROR

    @property
    def expired(self) -> bool:
        return self.times is not None and self.uses >= self.times

    @property
    def answer_status(self) -> int:
        return self.status or DEFAULT_STATUS.get(self.effect, 500)

    @property
    def answer_message(self) -> str:
        return self.message or DEFAULT_MESSAGE.get(self.effect, "Injected fault.")

    def to_dict(self) -> dict[str, Any]:
        body = {name: getattr(self, name) for name in RULE_SCHEMA["properties"] if getattr(self, name) is not None}
        body["times"] = self.times
        return {"id": self.id, **body, "uses": self.uses,
                "remaining": None if self.times is None else max(self.times - self.uses, 0)}

    # --- matching ---------------------------------------------------------------------------------

    def matches_request(self, target: "Target") -> bool:
        if self.vendor is not None and self.vendor != target.vendor:
            return False
        if self.operation is not None and self.operation != target.operation:
            return False
        if self.tenant is not None and self.tenant != target.tenant:
            return False
        if self.min_items is not None and (target.items is None or len(target.items) < self.min_items):
            return False
        if not self.item_level and (self.index is not None or self.fields is not None):
            # A request-level rule with item criteria: the batch must hold such an item.
            return any(self.matches_item(i, item) for i, item in enumerate(target.items or ()))
        return True

    def matches_item(self, index: int, item: Any) -> bool:
        if self.index is not None and self.index != index:
            return False
        if self.fields is not None:
            if not isinstance(item, Mapping):
                return False
            return all(name in item and _same(item[name], value) for name, value in self.fields.items())
        return True

    def take_token(self, key: str, now: float) -> float | None:
        """Token bucket: None when a token was taken, else the seconds until one is available."""
        rate, burst = float(self.rate or 25), float(self.burst or 50)
        key = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]
        tokens, last = self.buckets.get(key, (burst, now))
        tokens = min(burst, tokens + (now - last) * rate)
        if len(self.buckets) >= MAX_BUCKETS and key not in self.buckets:
            self.buckets = {k: b for k, b in self.buckets.items() if b[0] + (now - b[1]) * rate < burst}
        if tokens >= 1:
            self.buckets[key] = [tokens - 1, now]
            return None
        self.buckets[key] = [tokens, now]
        return (1 - tokens) / rate


def _same(got: Any, want: Any) -> bool:
    """JSON equality (1 is not true)."""
    return json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True)


@dataclass(frozen=True)
class Target:
    """What request-level matching sees of one vendor request."""

    vendor: str
    operation: str
    tenant: str
    items: Sequence[Any] | None  # the batch's items (dialect.batch_items), None if not a batch
    user_agent: str | None
    client_key: str  # the rate-limit bucket: the request's API key, else its tenant


@dataclass
class RequestFault:
    """A request-level answer decided by a rule; views.py renders it with the dialect."""

    rule: FaultRule
    status: int
    title: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def parse_rule(data: Any, *, where: str = "fault rule") -> FaultRule:
    """Validate one rule as clients write it (JSON object) → FaultRule, or raise FaultError."""
    if not isinstance(data, Mapping):
        raise FaultError(f"{where} must be a JSON object")
    try:
        loaded = _RuleSchema().load(data)
    except ValidationError as exc:
        raise FaultError(f"invalid {where}", flatten_errors(exc.messages)) from None
    return FaultRule(**loaded)


def parse_rules(data: Any, *, where: str = "fault rules") -> list[FaultRule]:
    """One rule object or an array of them."""
    if isinstance(data, list):
        return [parse_rule(item, where=f"{where}[{i}]") for i, item in enumerate(data)]
    return [parse_rule(data, where=where)]


def load_rules_file(path: Path) -> list[FaultRule]:
    """A JSON or YAML file holding a rule or an array of rules (``--faults FILE``)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))  # YAML is a superset of JSON
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise FaultError(f"{path}: cannot be read: {exc}") from None
    if isinstance(data, Mapping) and "rules" in data:
        data = data["rules"]
    where = non_finite_path(data)
    if where is not None:
        raise FaultError(f"{path}: {where}: NaN and infinite numbers are not JSON")
    return parse_rules(data, where=f"{path}")


def _item_rule_for(rule: FaultRule, target: Target) -> bool:
    """An unexpired item-level rule whose request filters this request meets."""
    return rule.item_level and not rule.expired and rule.matches_request(target)


class FaultBook:
    """The server's fault rules, in the order they were added: one state file shared by all workers.

    A request first checks the rules without the lock (the file is replaced atomically); only when a
    stored rule may apply does it take the lock, re-read and apply them, so a request no rule
    concerns costs a stat, and use counts are exact across threads and processes."""

    def __init__(self, shared: SharedDir, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        # monotonic: CLOCK_MONOTONIC is one clock for every process of the machine (Linux, macOS).
        self.shared, self.clock, self.sleep = shared, clock, sleep

    def _state(self) -> dict[str, Any]:
        return self.shared.read(STATE_FILE, {"next": 1, "rules": []})

    def _rules(self) -> list[FaultRule]:
        return [FaultRule(**copy.deepcopy(data)) for data in self._state()["rules"]]

    @contextmanager
    def _editing(self) -> Iterator[tuple[dict[str, Any], list[FaultRule]]]:
        """The rules, fresh under the lock; what the block leaves in the list (unexpired) is saved."""
        with self.shared.locked(STATE_FILE):
            state = dict(self._state())
            rules = self._rules()
            yield state, rules
            state["rules"] = [dataclasses.asdict(r) for r in rules if not r.expired]
            self.shared.write(STATE_FILE, state)

    def add(self, rules: Iterable[FaultRule]) -> list[FaultRule]:
        rules = list(rules)
        with self._editing() as (state, held):
            if len(held) + len(rules) > MAX_RULES:
                raise TooManyRules(f"At most {MAX_RULES} fault rules are held at once "
                                   f"({len(held)} now); delete some first.")
            for rule in rules:
                rule.id, state["next"] = f"f{state['next']}", state["next"] + 1
                held.append(rule)
        for rule in rules:
            log.info("fault rule %s added: %s", rule.id, rule.to_dict())
        return rules

    def all(self) -> list[dict[str, Any]]:
        return [rule.to_dict() for rule in self._rules()]

    def get(self, rule_id: str) -> dict[str, Any] | None:
        rule = next((r for r in self._rules() if r.id == rule_id), None)
        return None if rule is None else rule.to_dict()

    def delete(self, rule_id: str | None = None) -> int:
        """Delete one rule (by id) or all; returns how many were deleted."""
        with self._editing() as (_, rules):
            before = len(rules)
            rules[:] = [r for r in rules if rule_id is not None and r.id != rule_id]
            return before - len(rules)

    # --- applying ---------------------------------------------------------------------------------

    @contextmanager
    def _applying(self, may_apply: Callable[[FaultRule], bool]) -> Iterator[list[FaultRule]]:
        """The stored rules to apply, under the lock, if one of them may apply; else none, unlocked."""
        if not any(not r.expired and may_apply(r) for r in self._rules()):
            yield []
            return
        with self._editing() as (_, rules):
            yield rules

    def before_action(self, target: Target, once: Sequence[FaultRule] = ()) -> tuple[list[dict], RequestFault | None]:
        """Apply the request-level rules (stored ones, then this request's ``once`` rules from the
        fault header): delays sleep and go on; the first answering rule ends the request.
        Returns (faults applied, for the journal; the answer or None)."""
        applied: list[dict] = []
        delay_ms = 0
        answer: RequestFault | None = None
        with self._applying(lambda r: not r.item_level and r.matches_request(target)) as stored:
            for rule in [*stored, *once]:
                if rule.item_level or rule.expired or not rule.matches_request(target):
                    continue
                if rule.effect == DELAY:
                    delay_ms += rule.delay_ms or 0
                    self._used(rule, applied, delay_ms=rule.delay_ms or 0)
                    continue
                answer = self._answer(rule, target)
                if answer is not None:
                    waited = {}
                    if rule.effect == TIMEOUT:
                        waited["delay_ms"] = rule.delay_ms if rule.delay_ms is not None else DEFAULT_TIMEOUT_MS
                        delay_ms += waited["delay_ms"]
                    self._used(rule, applied, status=answer.status, **waited)
                    break
        if delay_ms:
            self.sleep(min(delay_ms, MAX_TOTAL_DELAY_MS) / 1000)
        return applied, answer

    def may_fail_items(self, target: Target, once: Sequence[FaultRule] = ()) -> bool:
        """Whether an item-level rule (stored or the request's own) may fail an item of this request;
        a batch asks once, then ``item_failure`` per item only if so."""
        return any(_item_rule_for(r, target) for r in [*self._rules(), *once])

    def item_failure(self, target: Target, index: int, item: Any,
                     once: Sequence[FaultRule] = ()) -> FaultRule | None:
        """The first item-level rule matching this item (its use is counted), or None."""
        def hit(rule: FaultRule) -> bool:
            return _item_rule_for(rule, target) and rule.matches_item(index, item)

        with self._applying(hit) as stored:
            for rule in [*stored, *once]:
                if hit(rule):
                    rule.uses += 1
                    log.info("fault %s: item %d of %s failed (status %d)", rule.id or "header", index,
                             target.operation, rule.answer_status)
                    return rule
        return None

    def _answer(self, rule: FaultRule, target: Target) -> RequestFault | None:
        status, message = rule.answer_status, rule.answer_message
        headers: dict[str, str] = {}
        if rule.effect == REQUIRE_USER_AGENT and (target.user_agent or "").strip():
            return None
        if rule.effect == RATE_LIMIT:
            wait = rule.take_token(target.client_key, self.clock())
            if wait is None:
                return None
            headers["Retry-After"] = str(rule.retry_after if rule.retry_after is not None else retry_seconds(wait))
        elif status in (429, 503):
            headers["Retry-After"] = str(rule.retry_after if rule.retry_after is not None else DEFAULT_RETRY_AFTER)
        return RequestFault(rule, status, TITLES.get(status, "Injected Fault"), message, headers)

    @staticmethod
    def _used(rule: FaultRule, applied: list[dict], **detail: Any) -> None:
        rule.uses += 1
        applied.append({"rule": rule.id or "header", "effect": rule.effect, **detail})
        log.info("fault %s (%s) applied: %s", rule.id or "header", rule.effect, detail)


def unknown_reference(rule: FaultRule, served: Mapping[str, set[str]]) -> str | None:
    """Why ``rule`` could never fire (it names a vendor or an operation that is not served), or None.
    ``served``: vendor → its operationIds. The API (404), the header (400) and the file (startup)
    all refuse such a rule: a typo must not pass silently as a rule that never matches."""
    if rule.vendor is not None and rule.vendor not in served:
        return f"Unknown vendor {rule.vendor!r}; known: {', '.join(sorted(served))}."
    if rule.operation is not None:
        vendors = [rule.vendor] if rule.vendor is not None else list(served)
        if not any(rule.operation in served[vendor] for vendor in vendors):
            where = f" of vendor {rule.vendor!r}" if rule.vendor else ""
            return f"Unknown operation {rule.operation!r}{where}."
    return None


def retry_seconds(wait: float) -> int:
    """A bucket's wait as whole Retry-After seconds, within 1..MAX_RETRY_AFTER (a tiny ``rate`` makes the
    wait astronomically long, even infinite)."""
    return max(DEFAULT_RETRY_AFTER, math.ceil(min(wait, MAX_RETRY_AFTER)))


def limit_rules(vendor: str) -> list[FaultRule]:
    """The vendor's documented limits as rules keyed on the vendor (empty if none are known)."""
    return [parse_rule({**copy.deepcopy(spec), "vendor": vendor}) for spec in VENDOR_LIMITS.get(vendor, [])]
