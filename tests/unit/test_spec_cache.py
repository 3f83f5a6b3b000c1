"""The validated-spec cache: a hit skips parsing and validation; any change of the bytes is a miss."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mockserver import specs as specs_mod
from mockserver.config import shipped_specs_dir
from mockserver.dialects import known_actions
from mockserver.specs import SpecError, load_specs


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "specs"
    directory.mkdir()
    shutil.copy(shipped_specs_dir() / "vbasoftware.yaml", directory)
    return directory


def _validations(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    seen: list[Path] = []
    real = specs_mod._parse_and_validate

    def counting(path: Path, raw: bytes) -> dict:
        seen.append(path)
        return real(path, raw)

    monkeypatch.setattr(specs_mod, "_parse_and_validate", counting)
    monkeypatch.setattr(specs_mod, "_LOADED", {})  # no in-process memo: every call reads the file
    return seen


def test_spec_cache_hit_skips_validation_and_builds_the_same_spec(spec_dir, tmp_path, monkeypatch) -> None:
    seen = _validations(monkeypatch)
    cache = tmp_path / "cache"
    first = load_specs(spec_dir, known_actions, cache)
    monkeypatch.setattr(specs_mod, "_LOADED", {})
    second = load_specs(spec_dir, known_actions, cache)
    assert len(seen) == 1 and len(list(cache.glob("*.json"))) == 1
    assert [op.operation_id for op in first[0].operations] == [op.operation_id for op in second[0].operations]
    assert first[0].document == second[0].document


def test_spec_cache_changed_bytes_are_validated_again(spec_dir, tmp_path, monkeypatch) -> None:
    seen = _validations(monkeypatch)
    cache = tmp_path / "cache"
    load_specs(spec_dir, known_actions, cache)
    path = spec_dir / "vbasoftware.yaml"
    path.write_text(path.read_text().replace("openapi: 3.0.3", "openapi: 3.0.3\n# edited", 1))
    load_specs(spec_dir, known_actions, cache)
    assert len(seen) == 2 and len(list(cache.glob("*.json"))) == 2


def test_spec_cache_never_keeps_an_invalid_spec(spec_dir, tmp_path, monkeypatch) -> None:
    _validations(monkeypatch)
    cache = tmp_path / "cache"
    path = spec_dir / "vbasoftware.yaml"
    path.write_text(path.read_text().replace("openapi: 3.0.3", "openapi: 3.0.3\nbogus_top_level: 1", 1))
    for _ in range(2):
        with pytest.raises(SpecError):
            load_specs(spec_dir, known_actions, cache)
    assert not list(cache.glob("*.json"))
