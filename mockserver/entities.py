"""The entities a vendor knows: what seeding, reading and snapshots accept, and what
``GET /__mockserver/specs/<name>/entities`` lists.

An entity is known when an operation of the vendor's spec writes it (its key from the operation), when
a relation of such an operation names it (a related record: free-form, key ``FREE_FORM_KEY``), when the
spec's top-level ``x-mockserver.free-form-entities`` lists it, or when it belongs to one of the
dialect's entity families (VCC Live's ``records:{projectid}``). Anything else is a typo: refused.
"""
from __future__ import annotations

from dataclasses import dataclass

from .dialects import DIALECTS
from .dialects.base import FREE_FORM_KEY
from .specs import Spec

WRITTEN, RELATED, FREE_FORM, FAMILY = "written", "related", "free-form", "family"


class UnknownEntity(LookupError):
    """An entity name its vendor does not know (the message names the known ones)."""


@dataclass(frozen=True)
class Entity:
    name: str  # a table name, or for a family its template ("records:{projectid}")
    key: str
    kind: str  # WRITTEN | RELATED | FREE_FORM | FAMILY

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "key": self.key, "kind": self.kind}


def known_entities(spec: Spec) -> list[Entity]:
    """The spec's entities in this order: written, related, free-form, families (each once)."""
    found: dict[str, Entity] = {}
    for op in spec.operations:
        if op.entity and op.key and op.entity not in found:
            found[op.entity] = Entity(op.entity, op.key, WRITTEN)
    for op in spec.operations:
        for targets in (op.extension.get("relations") or {}).values():
            for name in [targets] if isinstance(targets, str) else targets:
                found.setdefault(name, Entity(name, FREE_FORM_KEY, RELATED))
    for name in spec.extension.get("free-form-entities", []):
        found.setdefault(name, Entity(name, FREE_FORM_KEY, FREE_FORM))
    dialect = DIALECTS[spec.dialect]
    families = [Entity(f.template, f.key, FAMILY) for f in dialect.entity_families]
    return [*found.values(), *families]


def check_entity_known(spec: Spec, entity: str) -> None:
    """Raise UnknownEntity unless ``entity`` is one of the vendor's (a family's member counts)."""
    families = DIALECTS[spec.dialect].entity_families
    if any(e.name == entity for e in known_entities(spec) if e.kind != FAMILY) or \
            any(f.matches(entity) for f in families):
        return
    known = ", ".join(e.name for e in known_entities(spec))
    raise UnknownEntity(f"Unknown entity {entity!r} of vendor {spec.vendor!r}; known: {known}.")


def check_sequence_known(spec: Spec, name: str) -> None:
    """A snapshot's sequence: an entity's own (kept under its name) or one of the dialect's."""
    if name in DIALECTS[spec.dialect].sequences:
        return
    check_entity_known(spec, name)
