"""The contract cache (issue #16): a validated contract is kept by content hash and never trusted blindly.

Every test uses its own cache directory and clears the in-process memo, so what is measured is the
file on disk: a changed contract misses, a damaged entry is rebuilt, a hit equals a fresh parse.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mock_server import spec
from mock_server.settings import DEFAULT_SPEC, Settings, default_cache_dir


@pytest.fixture(autouse=True)
def _fresh_memo() -> Iterator[None]:
    saved = dict(spec._MEMO)
    spec._MEMO.clear()
    yield
    spec._MEMO.clear()
    spec._MEMO.update(saved)


@pytest.fixture
def contract(tmp_path: Path) -> Path:
    path = tmp_path / "openapi.yaml"
    path.write_bytes(DEFAULT_SPEC.read_bytes())
    return path


def _entries(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob("contract-*.pickle"))


def _forbid_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> None:
        raise AssertionError("the contract was parsed although a valid cache entry exists")

    monkeypatch.setattr(spec, "_parse", refuse)
    monkeypatch.setattr(spec, "_validate", refuse)


def test_a_cached_contract_equals_a_fresh_parse(
    contract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = tmp_path / "cache"
    fresh = yaml.safe_load(contract.read_text(encoding="utf-8"))  # the pure-Python loader, as before
    built = spec.load(contract, cache_dir=cache_dir)
    assert built == fresh
    assert len(_entries(cache_dir)) == 1

    spec._MEMO.clear()  # a new process: only the file remains
    _forbid_parsing(monkeypatch)
    assert spec.load(contract, cache_dir=cache_dir) == fresh


def test_a_changed_contract_is_not_served_from_the_cache(contract: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    spec.load(contract, cache_dir=cache_dir)
    edited = contract.read_text(encoding="utf-8").replace(
        "info:\n  title:", "info:\n  x-edited: true\n  title:", 1
    )
    assert edited != contract.read_text(encoding="utf-8")
    contract.write_text(edited, encoding="utf-8")
    spec._MEMO.clear()

    assert spec.load(contract, cache_dir=cache_dir)["info"]["x-edited"] is True
    assert len(_entries(cache_dir)) == 2  # one per content


def test_an_invalid_edit_is_refused_even_with_a_cache(contract: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    spec.load(contract, cache_dir=cache_dir)
    contract.write_text(contract.read_text(encoding="utf-8").replace("openapi: 3.1", "openapi: 2.0", 1))
    spec._MEMO.clear()
    with pytest.raises(spec.ContractError, match=r"not an OpenAPI 3\.1 document"):
        spec.load(contract, cache_dir=cache_dir)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: b"not a pickle at all", id="garbage"),
        pytest.param(lambda data: b"", id="empty"),
        pytest.param(
            lambda data: pickle.dumps({"format": spec.CACHE_FORMAT, "key": "other", "document": {}}),
            id="another-key",
        ),
        # a pickle that would run code when loaded: refused by the unpickler, never executed
        pytest.param(lambda data: pickle.dumps(Path("/etc/passwd")), id="names-a-class"),
    ],
)
def test_a_damaged_cache_entry_is_ignored_and_rebuilt(contract: Path, tmp_path: Path, damage: object) -> None:
    cache_dir = tmp_path / "cache"
    expected = spec.load(contract, cache_dir=cache_dir)
    (entry,) = _entries(cache_dir)
    entry.write_bytes(damage(entry.read_bytes()))  # type: ignore[operator]
    spec._MEMO.clear()

    assert spec.load(contract, cache_dir=cache_dir) == expected
    (rebuilt,) = _entries(cache_dir)
    spec._MEMO.clear()
    assert spec._read_cache(cache_dir, spec.cache_key(contract.read_bytes())) == expected
    assert rebuilt == entry


def test_no_cache_dir_writes_nothing(contract: Path, tmp_path: Path) -> None:
    assert spec.load(contract, cache_dir=None)["openapi"].startswith("3.1")
    assert not list(tmp_path.rglob("contract-*.pickle"))


def test_an_unwritable_cache_dir_is_no_error(contract: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should be")
    assert spec.load(contract, cache_dir=blocker / "contracts")["openapi"].startswith("3.1")


def test_old_entries_are_pruned(contract: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    text = contract.read_text(encoding="utf-8")
    for i in range(spec.CACHE_KEEP + 2):
        contract.write_text(text.replace("info:\n  title:", f"info:\n  x-n: {i}\n  title:", 1))
        spec.load(contract, cache_dir=cache_dir)
    assert len(_entries(cache_dir)) == spec.CACHE_KEEP


def test_the_key_covers_content_and_tool_versions() -> None:
    assert spec.cache_key(b"a") != spec.cache_key(b"b")
    assert "care-sandbox=" in spec._tool_versions() and "openapi-spec-validator=" in spec._tool_versions()


def test_loads_return_independent_copies(contract: Path, tmp_path: Path) -> None:
    first = spec.load(contract, cache_dir=tmp_path / "cache")
    first["info"]["title"] = "changed by a caller"
    assert spec.load(contract, cache_dir=tmp_path / "cache")["info"]["title"] != "changed by a caller"


def test_the_setting_turns_the_cache_off() -> None:
    assert Settings.from_env({}).contract_cache_dir == default_cache_dir() / "contracts"
    assert Settings.from_env({"CARE_SANDBOX_CONTRACT_CACHE": "false"}).contract_cache_dir is None
