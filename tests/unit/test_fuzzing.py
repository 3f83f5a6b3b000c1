"""The served schemathesis config (mockserver/fuzzing.py) and the shipped checks module."""
from __future__ import annotations

import tomllib

import yaml

from mockserver.fuzzing import EXPECTED, HOOKS_MODULE, schemathesis_toml
from tests.support import REPO

CUSTOM_CHECKS = {"batch_invalid_items_fail_and_are_not_stored", "batch_failed_items_are_errors_and_not_stored",
                 "vcc_batch_invalid_elements_fail_and_change_nothing"}


def shipped_operation_ids() -> dict[str, list[str]]:
    found = {}
    for path in sorted((REPO / "specs").glob("*.yaml")):
        paths = yaml.safe_load(path.read_text())["paths"]
        found[path.stem] = [op["operationId"] for item in paths.values() for op in item.values()
                            if isinstance(op, dict) and "operationId" in op]
    return found


def test_fuzzing_every_configured_operation_exists():
    """A configured operationId that no spec has would be an "unmatched filter" (a typo)."""
    served = {op for ops in shipped_operation_ids().values() for op in ops}
    configured = {op for _, operations in EXPECTED for op in operations}
    assert configured - served == set()


def test_fuzzing_config_of_a_spec_names_only_its_operations():
    for name, operation_ids in shipped_operation_ids().items():
        config = tomllib.loads(schemathesis_toml(name, operation_ids))
        assert config["hooks"] == HOOKS_MODULE
        listed = [entry["include-operation-id"] for entry in config.get("operations", [])]
        assert listed and set(listed) <= set(operation_ids), name
    config = tomllib.loads(schemathesis_toml("pipeliner", ["Calls.batch_delete", "Calls.get"]))
    assert config["operations"] == [{"include-operation-id": "Calls.batch_delete",
                                     "checks": {"negative_data_rejection": {"expected-statuses": [
                                         "200", "400", "401", "415"]}}}]
    assert tomllib.loads(schemathesis_toml("mine", ["other"])) == {"hooks": HOOKS_MODULE}


def test_fuzzing_hooks_module_registers_the_checks():
    from schemathesis.checks import CHECKS

    import mockserver.schemathesis_hooks  # noqa: F401

    assert CUSTOM_CHECKS <= set(CHECKS.get_all_names())
