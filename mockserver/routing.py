"""Flask rules from OpenAPI path templates.

A path parameter next to a static sibling path must not swallow the sibling's literal segment.
"""
from __future__ import annotations

import json
import re

from werkzeug.routing import BaseConverter, Map

from .specs import Operation


class OtherThan(BaseConverter):
    """A path segment other than the given literals.

    A parameter next to a static sibling path (``/records/{numberid}`` beside
    ``/records/dispositions``) must not swallow the sibling: a method the sibling does not serve
    then gets 405 with the sibling's ``Allow``, not a parameter error from the other operation.
    """

    def __init__(self, url_map: Map, *literals: str):
        super().__init__(url_map)
        self.regex = "(?!(?:" + "|".join(re.escape(literal) for literal in literals) + ")$)[^/]+"


def _shape(segments: list[str]) -> list[str]:
    return ["{}" if segment.startswith("{") else segment for segment in segments]


def routing_rule(op: Operation, templates: list[str]) -> str:
    """The op's Flask rule; a parameter segment excludes the literals its static siblings use there."""
    segments = op.path.split("/")
    others = [t.split("/") for t in templates]
    rule = []
    for i, segment in enumerate(segments):
        name = re.fullmatch(r"{([^}]+)}", segment)
        if name is None:
            rule.append(segment)
            continue
        literals = sorted({other[i] for other in others
                           if len(other) > i and not other[i].startswith("{")
                           and _shape(other[:i]) == _shape(segments[:i])})
        arguments = ", ".join(json.dumps(literal) for literal in literals)
        rule.append(f"<other_than({arguments}):{name[1]}>" if literals else f"<{name[1]}>")
    return "/".join(rule)
