"""specs.py: templated server prefixes (``/spaces/{space_id}``) and static-over-template routing."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mockserver.specs import SpecError, flask_rules, load_spec, served_document

DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "servers": [{"url": "https://api.example.com/api/v1/spaces/{space_id}",
                 "variables": {"space_id": {"default": "demo", "enum": ["demo", "other"]}}}],
    "x-mockserver": {"vendor": "example", "dialect": "d", "tenant": {"in": "path", "name": "space_id"}},
    "paths": {
        "/things/{id}": {"get": {"x-mockserver": {"action": "get"},
                                 "parameters": [{"name": "id", "in": "path", "required": True,
                                                 "schema": {"type": "string"}}],
                                 "responses": {"200": {"description": "ok"}}}},
        "/things/batch": {"post": {"x-mockserver": {"action": "get"}, "responses": {"200": {"description": "ok"}}}},
    },
}


def write(tmp_path: Path, document: dict) -> Path:
    path = tmp_path / "example.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_specs_templated_prefix_becomes_a_path_parameter_of_every_operation(tmp_path):
    spec = load_spec(write(tmp_path, DOCUMENT), lambda dialect: {"get"})
    assert spec.prefix == "/api/v1/spaces/{space_id}"
    by_path = {op.path: op for op in spec.operations}
    get = by_path["/api/v1/spaces/{space_id}/things/{id}"]
    assert get.rule == '/api/v1/spaces/<space_id>/things/<except("batch"):id>'
    assert by_path["/api/v1/spaces/{space_id}/things/batch"].rule == "/api/v1/spaces/<space_id>/things/batch"
    [space] = [p for p in get.parameters if p.name == "space_id"]
    assert space.location == "path" and space.required
    assert space.schema == {"type": "string", "minLength": 1, "enum": ["demo", "other"]}


def test_specs_undeclared_server_variable_is_a_spec_error(tmp_path):
    document = {**DOCUMENT, "servers": [{"url": "https://api.example.com/spaces/{space_id}"}]}
    with pytest.raises(SpecError, match="space_id without declaring it under servers"):
        load_spec(write(tmp_path, document), lambda dialect: {"get"})


def test_specs_served_document_keeps_the_prefix_variables(tmp_path):
    spec = load_spec(write(tmp_path, DOCUMENT), lambda dialect: {"get"})
    served = served_document(spec, "http://127.0.0.1:9/")
    assert served["servers"] == [{
        "url": "http://127.0.0.1:9/api/v1/spaces/{space_id}", "description": "this mockserver",
        "variables": {"space_id": {"default": "demo", "enum": ["demo", "other"]}},
    }]


@pytest.mark.parametrize("paths,expected", [
    (["/a/{id}"], {"/a/{id}": "/a/<id>"}),
    (["/a/{id}", "/a/x", "/a/y/z", "/b/q"], {"/a/{id}": '/a/<except("x","y"):id>', "/a/x": "/a/x",
                                             "/a/y/z": "/a/y/z", "/b/q": "/b/q"}),
    (["/{s}/c/{id}", "/{s}/c/batch"], {"/{s}/c/{id}": '/<s>/c/<except("batch"):id>', "/{s}/c/batch": "/<s>/c/batch"}),
])
def test_specs_flask_rules_let_static_siblings_win(paths, expected):
    assert flask_rules(paths) == expected
