"""The dashboard's fault rules page: list, add (the JSON POST /__mockserver/faults takes, checked by the
same code), delete; and switching on a vendor's documented limits."""
from __future__ import annotations

from flask import redirect, request, url_for

from .. import jsontext
from ..admin.blueprint import known_vendor, server
from ..admin.faults import add_rules, checked_rules
from ..faults import VENDOR_LIMITS, limit_rules
from ..problems import BadRequest, NotFound, Problem
from .blueprint import page, ui

EXAMPLE = '{"effect": "item-error", "vendor": "vbasoftware", "index": 0, "times": 1}'


def faults_page(status: int = 200, rule_text: str = "", problem: Problem | None = None):
    limits = {v: rules for v, rules in VENDOR_LIMITS.items() if v in server().vendors}
    return page("faults.html", status, faults=server().faults.all(), limits=limits, rule_text=rule_text or EXAMPLE,
                problem=problem)


@ui.get("/faults")
def faults():
    return faults_page()


@ui.post("/faults")
def add_fault():
    text = request.form.get("rule", "")
    try:
        try:
            data = jsontext.loads(text)
        except ValueError as exc:
            raise BadRequest(f"The rule is not valid JSON: {exc}.") from None
        add_rules(checked_rules(data))
    except Problem as problem:  # shown beside the form, with what was typed
        return faults_page(problem.code, text, problem)
    return redirect(url_for(".faults"), 303)


@ui.post("/faults/<rule_id>/delete")
def delete_fault(rule_id: str):
    if not server().faults.delete(rule_id):
        raise NotFound(f"No fault rule {rule_id!r}.")
    return redirect(url_for(".faults"), 303)


@ui.post("/limits/<vendor>")
def switch_on_limits(vendor: str):
    known_vendor(vendor)
    if not limit_rules(vendor):
        raise NotFound(f"No documented limits for vendor {vendor!r}.")
    try:
        add_rules(limit_rules(vendor))
    except Problem as problem:
        return faults_page(problem.code, problem=problem)
    return redirect(url_for(".faults"), 303)
