"""Control plane: fault rules (/__mockserver/faults) and the vendors' documented limits (/limits)."""
from __future__ import annotations

from typing import Any

from flask import jsonify

from ..faults import (VENDOR_LIMITS, FaultError, FaultRule, TooManyRules, limit_rules, parse_rules,
                      unknown_reference)
from ..problems import BadRequest, Conflict, NotFound, sentence
from .blueprint import admin, json_body, known_vendor, server


def _check_references(rules: list[FaultRule]) -> None:
    """A rule naming a vendor or an operation that is not served could never fire: 404."""
    for rule in rules:
        problem = unknown_reference(rule, server().operations)
        if problem is not None:
            raise NotFound(problem)


@admin.get("/faults")
def list_faults():
    return jsonify({"faults": server().faults.all()})


def checked_rules(data: Any) -> list[FaultRule]:
    """What POST /faults accepts (one rule object or an array), validated and referring to served
    vendors and operations; else a 400 naming each bad field, or a 404 (the dashboard's form too)."""
    try:
        rules = parse_rules(data)
    except FaultError as exc:
        raise BadRequest(sentence(str(exc)), errors=[{"field": f, "message": m} for f, m in exc.errors]) from None
    _check_references(rules)
    return rules


def add_rules(rules: list[FaultRule]) -> list[FaultRule]:
    """Hold the rules (given their ids), or a 409 when the server holds too many."""
    try:
        return server().faults.add(rules)
    except TooManyRules as exc:
        raise Conflict(str(exc)) from None


@admin.post("/faults")
def add_faults():
    """Add one rule (a JSON object) or several (an array); answers the rules with their ids."""
    return _add(checked_rules(json_body()))


def _add(rules: list[FaultRule]):
    return jsonify({"faults": [rule.to_dict() for rule in add_rules(rules)]}), 201


@admin.delete("/faults")
def delete_faults():
    return jsonify({"deleted": server().faults.delete()})


@admin.get("/faults/<rule_id>")
def get_fault(rule_id: str):
    rule = server().faults.get(rule_id)
    if rule is None:
        raise NotFound(f"No fault rule {rule_id!r}.")
    return jsonify(rule)


@admin.delete("/faults/<rule_id>")
def delete_fault(rule_id: str):
    if not server().faults.delete(rule_id):
        raise NotFound(f"No fault rule {rule_id!r}.")
    return jsonify({"deleted": 1})


@admin.get("/limits")
def list_limits():
    """The documented vendor limits the mock can emulate (as the rules POST /limits/<vendor> adds)."""
    served = server().vendors
    return jsonify({"limits": {v: [{**rule, "vendor": v} for rule in rules]
                               for v, rules in VENDOR_LIMITS.items() if v in served}})


@admin.post("/limits/<vendor>")
def switch_on_limits(vendor: str):
    known_vendor(vendor)
    rules = limit_rules(vendor)
    if not rules:
        raise NotFound(f"No documented limits for vendor {vendor!r}.")
    return _add(rules)
