"""Per-operation schemathesis settings, served per spec as ``/__mockserver/specs/<name>/schemathesis.toml``.

Which statuses a vendor documents for schema-violating input (or for schema-valid input that the
stored state makes inapplicable). A run against one spec gets only that spec's operations, so
schemathesis reports no "unmatched filters"; the file also names the checks module as ``hooks``.
No check is excluded anywhere.
"""
from __future__ import annotations

import json
import textwrap
from typing import Iterable

HOOKS_MODULE = "mockserver.schemathesis_hooks"
NEGATIVE, POSITIVE = "negative_data_rejection", "positive_data_acceptance"

# (why, {operationId: {check: expected statuses}})
EXPECTED: list[tuple[str, dict[str, dict[str, list[str]]]]] = [
    ("VBA answers a schema-violating ITEM with 207 (documented partial success: that item's entry says "
     "400, the others are applied); the check batch_invalid_items_fail_and_are_not_stored proves every "
     "invalid item was reported failed and not stored.",
     {op: {NEGATIVE: ["207", "400", "401", "415"]} for op in (
         "CreateOrUpdateBatchCallTracking", "CreateOrUpdateBatchCareCaseClinicalTrial", "CreateOrUpdateBatchEvent")}),
    ("Seeding and snapshot import check each record against its entity's schema, which these generic "
     "control-plane operations cannot state (the entity is a path parameter or a key): a schema-valid "
     "body of arbitrary objects is rightly refused with 400 naming the bad records.",
     {op: {POSITIVE: ["2xx", "400", "404", "409"]} for op in ("seedRecords", "importSnapshot")}),
    ("The journal's filters name the served vendors and their operations: the static control-plane spec "
     "cannot enumerate them, so a schema-valid but unknown vendor or operation is rightly a 400 naming "
     "what is known (and a `header` filter that is not NAME:VALUE, a `body` that is not JSON text, a "
     "verify whose at_least exceeds its at_most). A verify whose count does not hold answers 409.",
     {**{op: {POSITIVE: ["2xx", "400"]} for op in ("listRequests", "countRequests")},
      "verifyRequests": {POSITIVE: ["2xx", "400", "409"]}}),
    ("VCC Live's batch calls answer HTTP 200 with the failed elements listed in `errors`; the check "
     "vcc_batch_invalid_elements_fail_and_change_nothing proves every schema-invalid element is listed "
     "with its index, is missing from `response` and changed nothing.",
     {op: {NEGATIVE: ["200", "400", "401", "415"]} for op in ("BatchRecordModification",
                                                               "BatchDispositionModification")}),
    ("VCC Live's single calls fail as a whole with errorcode 417 (data it cannot apply: a form key that "
     "is not a field of the project, a field name already taken); whether a schema-valid body applies "
     "depends on the project's stored fields, so 417 answers positive data too.",
     {op: {NEGATIVE: ["400", "401", "415", "417"], POSITIVE: ["200", "417"]} for op in ("AddRecord", "AddField")}),
    ("Pipeliner's batch answers a schema-violating ITEM with 200 (rollback-method=1: that slot holds "
     "its Error) or 422 ERROR_ENTITY_VALIDATION (rollback-method=0, the default), which also answers a "
     "schema-valid batch naming an `id` that is not a stored Call; the check "
     "batch_failed_items_are_errors_and_not_stored proves each such item got an Error and was not stored.",
     {"Calls.batch_create_or_update": {NEGATIVE: ["200", "400", "401", "415", "422"],
                                       POSITIVE: ["2xx", "401", "422"]}}),
    ("Pipeliner's Calls.list types every filter value as text (the vendor's filter[field]=value), so a "
     "schema-valid filter can still be one the field cannot hold (filter[is_deleted]=maybe, a between "
     "without low,high, a text operator on a boolean, a unary operator's missing value) and a schema-valid "
     "cursor can be one the mock never issued or of another order-by, or load-only can name an unknown "
     "field: each is rightly a 400 ERROR_PARAMETER_INVALID.",
     {"Calls.list": {POSITIVE: ["2xx", "400"]}}),
    ("Pipeliner's batch-delete / batch-restore fail an id alone (its slot holds the Error object), answered 200.",
     {op: {NEGATIVE: ["200", "400", "401", "415"]} for op in ("Calls.batch_delete", "Calls.batch_restore")}),
]


def schemathesis_toml(spec_name: str, operation_ids: Iterable[str]) -> str:
    """The config for a run against one spec: the hooks module and the entries of its operations."""
    served = set(operation_ids)
    lines = [f"# schemathesis config for the spec {spec_name!r}, served by mockserver.",
             f"hooks = {json.dumps(HOOKS_MODULE)}"]
    for why, operations in EXPECTED:
        chosen = {op: checks for op, checks in operations.items() if op in served}
        if not chosen:
            continue
        lines += ["", *("# " + line for line in textwrap.wrap(why, 98))]
        for op, checks in chosen.items():
            lines += ["[[operations]]", f"include-operation-id = {json.dumps(op)}"]
            lines += [f"checks.{check}.expected-statuses = {json.dumps(statuses)}" for check, statuses in checks.items()]
    return "\n".join(lines) + "\n"
