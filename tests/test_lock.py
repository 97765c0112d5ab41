"""The lock files say what is installed: every import is declared, every declaration is pinned,
and the virtual environment holds exactly the pinned versions.

`make install` installs requirements-dev.lock; `make lock` re-resolves it from pyproject.toml. A
dependency added to pyproject.toml (or imported) without a re-lock fails here, not on a machine
that happens to resolve a different release.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
APP_CODE = ("warehouse", "resolvers", "schema", "gateway")
DEV_CODE = ("tests", "bench", "tools")
FIRST_PARTY = {*APP_CODE, *DEV_CODE}


def _requirements(entries: list[str]) -> list[Requirement]:
    """The requirements that apply on this interpreter and platform."""
    parsed = [Requirement(entry) for entry in entries]
    return [r for r in parsed if r.marker is None or r.marker.evaluate({"extra": ""})]


APP = _requirements(PYPROJECT["dependencies"])
DEV = _requirements(PYPROJECT["optional-dependencies"]["dev"])


def pins(lock: str) -> dict[str, str]:
    """`name == version` of each line of a lock file (names canonical)."""
    found: dict[str, str] = {}
    for line in (ROOT / lock).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{lock}: {line!r} is not an exact pin"
        found[canonicalize_name(requirement.name)] = specifier.version
    return found


def _imports(folder: str) -> dict[str, str]:
    """Top-level modules imported by the code under `folder` -> a file importing it."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


@cache
def _packages() -> Mapping[str, list[str]]:
    return metadata.packages_distributions()


def _distributions(module: str) -> set[str]:
    return {canonicalize_name(d) for d in _packages().get(module, [])}


@pytest.mark.parametrize(
    ("folders", "declared", "where"),
    [
        (APP_CODE, APP, "[project] dependencies"),
        (DEV_CODE, APP + DEV, "[project] dependencies or the dev extra"),
    ],
    ids=["app", "tests-and-tools"],
)
def test_every_imported_package_is_declared(
    folders: tuple[str, ...], declared: list[Requirement], where: str
) -> None:
    names = {canonicalize_name(r.name) for r in declared}
    imported = {
        m: f for folder in folders if (ROOT / folder).is_dir() for m, f in _imports(folder).items()
    }
    assert imported, "the scan found no third-party import at all"
    undeclared = {
        module: (path, sorted(_distributions(module)) or ["(not installed)"])
        for module, path in imported.items()
        if not _distributions(module) & names
    }
    assert not undeclared, f"imported but not declared in pyproject.toml's {where}: {undeclared}"


@pytest.mark.parametrize(
    ("lock", "declared"),
    [("requirements.lock", APP), ("requirements-dev.lock", APP + DEV)],
)
def test_every_declared_package_is_pinned_within_its_range(
    lock: str, declared: list[Requirement]
) -> None:
    pinned = pins(lock)
    problems = []
    for requirement in declared:
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement} (locked: {version})")
    assert not problems, f"{lock} is stale, run `make lock`: {problems}"


def test_the_dev_lock_keeps_the_apps_versions() -> None:
    app, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    differ = {
        name: (version, dev.get(name)) for name, version in app.items() if dev.get(name) != version
    }
    assert not differ, (
        f"requirements-dev.lock differs from requirements.lock, run `make lock`: {differ}"
    )


def test_the_environment_holds_the_locked_versions() -> None:
    drift = {}
    for name, version in pins("requirements-dev.lock").items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            drift[name] = f"locked {version}, installed {installed}"
    assert not drift, f"the virtual environment is not the lock's, run `make install`: {drift}"
