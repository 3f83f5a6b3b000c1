"""Pipeliner's Call read model: what ``GET .../Calls/{id}`` and ``GET .../Calls`` return for a stored Call.

The fields and their order are the spec's ``Call`` schema (the vendor's read model). A stored field
is sent as stored; a relation field (``x-mockserver.read-model.relations``) is the URI of the related
record under the same space, or with ``expand`` the record itself when the space holds one; a derived
field is computed here (``DERIVED``). Unset fields are sent as ``null`` (``UNSET``), as the live API
does. ``load-only`` keeps only the fields it names (``relation.field`` trims an expanded record).
No Flask here: the URIs are built from the request's base URL, which the view puts in ``Call``.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import quote

from ..specs import Operation

# Emulation choice: an unset field is sent as null. Evidence: the vendor's own Accounts.list answer in
# its "Create Contact" tutorial (developers.pipelinersales.com) sends `"parent_account": null,
# "parent_account_relation_type": null` for an Account without a parent; no example leaves a field out.
UNSET = None


def twilio_call_sid(record: Mapping[str, Any]) -> str | None:
    """Emulation choice: Twilio's Call SID is ``CA`` + 32 hex digits; the mock has no Twilio call, so it
    derives one deterministically from ``twilio_call_log_id`` (the same log id always reads the same SID)."""
    log_id = record.get("twilio_call_log_id")
    if not isinstance(log_id, str):
        return None
    return "CA" + hashlib.sha256(f"twilio-call-log:{log_id}".encode()).hexdigest()[:32]


# Fields of the read model that are not stored. transcription_file_id / audio_id: no upload is emulated.
DERIVED: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "twilio_call_sid": twilio_call_sid,
    "transcription_file_id": lambda record: None,
    "audio_id": lambda record: None,
}


class ReadModelError(ValueError):
    """An ``expand`` or ``load-only`` the read model cannot honour (the dialect answers 400)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors))
        self.errors = errors


@dataclass(frozen=True)
class Relation:
    """A relation field of the read model: the first set of ``ids`` names a record of ``entity``,
    whose URI is ``<space>/entities/<path>/<id>``."""

    name: str
    ids: tuple[str, ...]
    entity: str
    path: str

    def target(self, record: Mapping[str, Any]) -> str | None:
        for dotted in self.ids:
            node: Any = record
            for part in dotted.split("."):
                node = node.get(part) if isinstance(node, Mapping) else None
            if isinstance(node, str) and node:
                return node
        return None


class Related:
    """How the read model reaches the space's related records (the dialect wraps its transaction)."""

    def __init__(self, get: Callable[[str, str], dict | None], holds: Callable[[str, str], bool]) -> None:
        self.get, self.holds = get, holds


class ReadModel:
    """The read model of one operation's entity, built once from its spec."""

    def __init__(self, op: Operation) -> None:
        self.fields: list[str] = list(op.entity_schema()["properties"])
        config = (op.extension.get("read-model") or {}).get("relations") or {}
        self.relations = {name: Relation(name, tuple(spec["id"]), spec["entity"], spec["path"])
                          for name, spec in config.items()}
        # A related entity's fields, where the spec has its schema; None: free-form (any field may be named).
        self.related_fields: dict[str, set[str] | None] = {
            name: set(op.entity_schemas[rel.entity].get("properties") or ()) if rel.entity in op.entity_schemas else None
            for name, rel in self.relations.items()}
        unknown = sorted(set(self.relations) - set(self.fields))
        if unknown:
            raise ValueError(f"read-model relations {', '.join(unknown)} are not fields of {op.entity}")

    def check(self, expand: Sequence[str], load_only: Sequence[str] | None) -> None:
        """Refuse an expand of a non-relation, a load-only of an unknown field, ``x.y`` of an x that is
        not an expanded relation, or of a y that is not a field of x's entity (when its schema is known)."""
        errors = [("expand", f"{name} is not a relation of the Call (relations: {', '.join(self.relations)}).")
                  for name in expand if name not in self.relations]
        for item in load_only or ():
            name, _, sub = item.partition(".")
            if name not in self.fields:
                errors.append(("load-only", f"{name} is not a field of the Call."))
            elif sub and name not in expand:
                errors.append(("load-only", f"{item}: {name} is not expanded (add it to expand)."))
            elif sub and name in self.relations and self.related_fields[name] is not None \
                    and sub not in self.related_fields[name]:
                errors.append(("load-only", f"{item}: {sub} is not a field of {self.relations[name].entity}."))
        if errors:
            raise ReadModelError(errors)

    def render(self, record: Mapping[str, Any], related: Related, base_url: str, *,
               expand: Sequence[str] = (), load_only: Sequence[str] | None = None) -> dict:
        """The read shape of one stored record."""
        wanted = None if load_only is None else {item.partition(".")[0] for item in load_only}
        out = {}
        links = self._links(record, related) if self.relations else {}
        for name in self.fields:
            if wanted is not None and name not in wanted:
                continue
            if name in self.relations:
                out[name] = self._relation(self.relations[name], links[name], related, base_url, name in expand)
            elif name in DERIVED:
                out[name] = DERIVED[name](record)
            else:
                out[name] = record.get(name, UNSET)
        if load_only is not None:
            _trim_expanded(out, load_only)
        return out

    def _links(self, record: Mapping[str, Any], related: Related) -> dict[str, str | None]:
        """Each relation's target id. Relations that share their id fields (a Lead or an Opportunity
        by ``lead_oppty_id``) keep it only where their entity holds that id; when none does, every one
        of them names it. Emulation choice: the mock cannot tell then, and Pipeliner's Leads and
        Opportunities share one id space (a Lead keeps its id when it becomes an Opportunity)."""
        links = {name: rel.target(record) for name, rel in self.relations.items()}
        groups: dict[tuple[str, ...], list[Relation]] = {}
        for rel in self.relations.values():
            groups.setdefault(rel.ids, []).append(rel)
        for rels in groups.values():
            target = links[rels[0].name]
            if len(rels) < 2 or target is None:
                continue
            holders = [rel.name for rel in rels if related.holds(rel.entity, target)]
            for rel in rels:
                if holders and rel.name not in holders:
                    links[rel.name] = None
        return links

    @staticmethod
    def _relation(rel: Relation, target: str | None, related: Related, base_url: str, expanded: bool) -> Any:
        if target is None:
            return UNSET
        if expanded:
            found = related.get(rel.entity, target)
            if found is not None:
                return found
        # Emulation choice: an expanded relation whose record the space does not hold stays its URI.
        return f"{base_url}/entities/{rel.path}/{quote(target, safe='')}"


def _trim_expanded(out: dict, load_only: Sequence[str]) -> None:
    """``load-only=caller.name`` keeps only ``name`` of an expanded ``caller`` (all of it when
    ``caller`` itself is named too; a URI stays a URI). Emulation choice: a named field the related
    record lacks is sent as null, as an unset field of the Call is (a free-form entity's fields are
    unknown, so any name is taken)."""
    whole = {item for item in load_only if "." not in item}
    subs: dict[str, set[str]] = {}
    for item in load_only:
        name, _, sub = item.partition(".")
        if sub and name not in whole:
            subs.setdefault(name, set()).add(sub)
    for name, keep in subs.items():
        if isinstance(out.get(name), dict):
            record = out[name]
            out[name] = {**{key: value for key, value in record.items() if key in keep},
                         **{key: UNSET for key in sorted(keep) if key not in record}}


__all__ = ["DERIVED", "ReadModel", "ReadModelError", "Related", "UNSET", "twilio_call_sid"]
