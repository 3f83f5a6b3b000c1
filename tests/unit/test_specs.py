"""Spec loading: the spec is the program, and a bad spec fails at startup naming the file."""
from __future__ import annotations

import copy
import shutil

import pytest
import yaml
from click.testing import CliRunner

from mockserver import create_app
from mockserver.cli import main
from mockserver.config import shipped_specs_dir
from mockserver.dialects import known_actions
from mockserver.schemas import INT_RANGES
from mockserver.specs import SpecError, load_specs
from tests.support import make_jwt

VBA_SPEC = shipped_specs_dir() / "vbasoftware.yaml"
HEADERS = {"x-api-key": "k", "Authorization": "Bearer " + make_jwt({"username": "bob"}),
           "vbasoftware-database": "DB"}


@pytest.fixture
def vba_document():
    return yaml.safe_load(VBA_SPEC.read_text())


def write_spec(directory, document, name="vbasoftware.yaml"):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(yaml.safe_dump(document, sort_keys=False))
    return directory


def test_specs_shipped_vba_operations_are_routed_under_the_server_path():
    specs = {s.name: s for s in load_specs(shipped_specs_dir(), known_actions)}
    ops = {op.operation_id: op for op in specs["vbasoftware"].operations}
    assert ops["CreateOrUpdateBatchCallTracking"].rule == "/vbasoftware/call-trackings-batch"
    assert ops["GetCareCaseClinicalTrial"].rule == \
        "/vbasoftware/care-case-clinical-trials/<CareCaseClinicalTrial_Key>"
    assert ops["CreateOrUpdateBatchEvent"].method == "PUT" and ops["CreateOrUpdateBatchEvent"].key == "event_ID"
    assert {"apiKeyAuth", "bearerAuth"} <= set(ops["GetEvent"].security[0])


def test_specs_adding_a_vba_entity_needs_no_python(tmp_path, vba_document):
    """A new `*-batch` endpoint of the VBA shape, written only in YAML, creates, updates and reads."""
    doc = vba_document
    doc["components"]["schemas"]["Provider"] = {
        "type": "object", "additionalProperties": False, "required": ["provider_Key"],
        "properties": {
            "provider_Key": {"type": "integer", "format": "int32", "default": 0},
            "name": {"type": "string", "nullable": True, "maxLength": 10},
            "entry_Date": {"type": "string", "format": "date-time"},
            "entry_User": {"type": "string", "nullable": True, "maxLength": 20},
            "update_Date": {"type": "string", "format": "date-time"},
            "update_User": {"type": "string", "nullable": True, "maxLength": 20},
        },
    }
    batch = copy.deepcopy(doc["paths"]["/call-trackings-batch"])
    batch["put"]["operationId"] = "CreateOrUpdateBatchProvider"
    batch["put"]["x-mockserver"].update(entity="Provider", key="provider_Key")
    for media in batch["put"]["requestBody"]["content"].values():
        media["schema"] = {"type": "array", "items": {"$ref": "#/components/schemas/Provider"}}
    doc["paths"]["/providers-batch"] = batch
    read = copy.deepcopy(doc["paths"]["/call-trackings/{callKey}"])
    read["get"]["operationId"] = "GetProvider"
    read["get"]["x-mockserver"].update(entity="Provider", key="provider_Key", **{"path-key": "providerKey"})
    for param in read["get"]["parameters"]:
        if param.get("name") == "callKey":
            param["name"] = "providerKey"
    read["get"]["responses"]["200"] = {"description": "ok", "content": {"application/json": {"schema": {}}}}
    doc["paths"]["/providers/{providerKey}"] = read

    client = create_app({"specs": write_spec(tmp_path / "specs", doc), "data": tmp_path / "data"}).test_client()
    resp = client.put("/vbasoftware/providers-batch", json=[{"provider_Key": 0, "name": "Clinic"},
                                                           {"provider_Key": 0, "name": "x" * 11}], headers=HEADERS)
    assert resp.status_code == 207
    assert [d["status"] for d in resp.get_json()["data"]] == [201, 400]
    got = client.get("/vbasoftware/providers/1", headers=HEADERS)
    assert got.status_code == 200
    assert got.get_json()["data"]["name"] == "Clinic" and got.get_json()["data"]["entry_User"] == "bob"
    resp = client.put("/vbasoftware/providers-batch", json=[{"provider_Key": 1, "name": "Renamed"}], headers=HEADERS)
    assert resp.get_json()["data"][0]["status"] == 200
    assert client.get("/vbasoftware/providers/1", headers=HEADERS).get_json()["data"]["name"] == "Renamed"


def _break(doc, how):
    if how == "no-info":
        del doc["info"]
    elif how == "unknown-dialect":
        doc["x-mockserver"]["dialect"] = "soap"
    elif how == "no-action":
        del doc["paths"]["/events-batch"]["put"]["x-mockserver"]
    elif how == "unknown-action":
        doc["paths"]["/events-batch"]["put"]["x-mockserver"]["action"] = "explode"
    elif how == "unknown-entity":
        doc["paths"]["/events-batch"]["put"]["x-mockserver"]["entity"] = "Nope"
    elif how == "bad-managed-role":
        doc["paths"]["/events-batch"]["put"]["x-mockserver"]["managed"] = {"entry_Date": "birthday"}
    elif how == "bad-tenant":
        doc["x-mockserver"]["tenant"] = {"in": "cookie", "name": "db"}
    elif how == "no-vendor":
        del doc["x-mockserver"]["vendor"]
    return doc


BROKEN = {
    "no-info": "invalid OpenAPI",
    "unknown-dialect": "unknown dialect 'soap'",
    "no-action": "PUT /events-batch has no x-mockserver.action",
    "unknown-action": "no action 'explode'",
    "unknown-entity": "'Nope' is not a component schema",
    "bad-managed-role": "managed must map fields to roles",
    "bad-tenant": "tenant.in must be",
    "no-vendor": "needs 'vendor' and 'dialect'",
}


@pytest.mark.parametrize("how", sorted(BROKEN))
def test_specs_broken_spec_fails_at_startup_naming_file_and_problem(tmp_path, vba_document, how):
    directory = write_spec(tmp_path / "specs", _break(vba_document, how), name="broken.yaml")
    with pytest.raises(SpecError) as exc:
        load_specs(directory, known_actions)
    assert "broken.yaml" in str(exc.value) and BROKEN[how] in str(exc.value)


def test_specs_unreadable_yaml_and_empty_dir_are_clear_errors(tmp_path):
    with pytest.raises(SpecError, match="no spec files"):
        load_specs(tmp_path, known_actions)
    (tmp_path / "bad.yaml").write_text("openapi: [unclosed")
    with pytest.raises(SpecError, match="bad.yaml: cannot be read"):
        load_specs(tmp_path, known_actions)


def test_specs_the_same_route_in_two_specs_is_rejected(tmp_path, vba_document):
    directory = write_spec(tmp_path / "specs", vba_document, name="a.yaml")
    write_spec(directory, vba_document, name="b.yaml")
    with pytest.raises(SpecError, match="is also served by"):
        load_specs(directory, known_actions)


def test_specs_check_command_reports_ok_and_failures(tmp_path, vba_document):
    runner = CliRunner()
    ok = runner.invoke(main, ["check"])
    assert ok.exit_code == 0 and "vbasoftware.yaml: 6 operations under /vbasoftware" in ok.output
    broken = write_spec(tmp_path / "specs", _break(vba_document, "unknown-action"))
    bad = runner.invoke(main, ["check", "--specs", str(broken)])
    assert bad.exit_code == 2 and "no action 'explode'" in bad.output


def test_specs_served_document_points_at_the_mock(client):
    doc = client.get("/__mockserver/specs/vbasoftware").get_json()
    assert doc["servers"][0]["url"] == "http://localhost/vbasoftware"
    assert doc["x-mockserver"]["vendor-servers"][0]["url"] == "https://vbapi.vbasoftware.com/vbasoftware"
    assert doc["paths"].keys() == yaml.safe_load(VBA_SPEC.read_text())["paths"].keys()
    missing = client.get("/__mockserver/specs/nope")
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"


def test_specs_shipped_dir_copy_serves_unchanged(tmp_path):
    copy_dir = tmp_path / "specs"
    shutil.copytree(shipped_specs_dir(), copy_dir)
    assert [s.name for s in load_specs(copy_dir, known_actions)] == \
        [s.name for s in load_specs(shipped_specs_dir(), known_actions)]


def test_specs_shipped_integer_parameters_state_the_range_of_their_format():
    """The server refuses an int32 parameter beyond int32 (schemas.INT_RANGES), but JSON Schema, and
    so a fuzzer or a client's validator, ignores `format`: each bound must be written out, or a
    stateful fuzz run that follows a failed item's echoed key (2147483648) reports ST202."""
    unbounded = []
    for spec in load_specs(shipped_specs_dir(), known_actions):
        for op in spec.operations:
            for param in op.parameters:
                low, high = INT_RANGES.get(param.schema.get("format"), (None, None))
                if low is None or "enum" in param.schema:
                    continue
                if not (low <= param.schema.get("minimum", low - 1) and param.schema.get("maximum", high + 1) <= high):
                    unbounded.append(f"{spec.name} {op.operation_id} {param.name}")
    assert unbounded == []
