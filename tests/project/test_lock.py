"""The lock files say what gets installed: every dependency declared in pyproject.toml is pinned
there, with hashes, at a version its range allows, and the deployed locks agree with the tested
one. A dependency added to pyproject.toml without `scripts/lock` fails here, not on a fresh
clone."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")

# (lock file, extras it installs)
LOCKED = {
    "dev.lock": ("dev",),
    "all.lock": ("all",),
    "server.lock": ("ingest", "api", "postgres"),
    "gateway.lock": ("gateway",),
}


def read_lock(name: str) -> dict[str, tuple[str, str | None]]:
    """name -> (version, marker) of every pin; each pin must carry at least one hash."""
    pins: dict[str, tuple[str, str | None]] = {}
    lines = (LOCKS / name).read_text().splitlines()
    for i, line in enumerate(lines):
        m = PIN.match(line)
        if not m:
            continue
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        assert nxt.startswith("--hash=sha256:"), f"{name}: {m[1]} has no hash"
        pins[canonicalize_name(m[1])] = (m[2], m[3])
    assert pins, f"{name} pins nothing"
    return pins


def declared(extras: tuple[str, ...]) -> list[Requirement]:
    """The requirements of these extras, self-references (airquartiers[...]) expanded."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = project["optional-dependencies"]
    out: list[Requirement] = [Requirement(r) for r in project["dependencies"]]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in groups[extra]:
            req = Requirement(text)
            if canonicalize_name(req.name) == "airquartiers":
                todo.extend(req.extras)
            else:
                out.append(req)
    return out


@pytest.mark.parametrize("lock", sorted(LOCKED))
def test_every_declared_dependency_is_locked_within_its_range(lock: str) -> None:
    pins = read_lock(lock)
    env = {"python_version": "3.11", "sys_platform": "linux", "platform_system": "Linux"}
    for req in declared(LOCKED[lock]):
        if req.marker and not req.marker.evaluate(env):
            continue
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not in {lock}: run scripts/lock"
        version, marker = pins[name]
        assert req.specifier.contains(version, prereleases=True), (
            f"{lock} pins {req.name}=={version}, outside {req.specifier}: run scripts/lock"
        )
        if marker:
            assert Marker(marker).evaluate(env), f"{lock}: {req.name} not installed on Linux"


def test_deployed_locks_use_the_tested_versions() -> None:
    tested = read_lock("dev.lock")
    for lock in ("all.lock", "server.lock", "gateway.lock"):
        for name, (version, _) in read_lock(lock).items():
            assert tested.get(name, (version,))[0] == version, (
                f"{lock} pins {name}=={version}, the tests run {tested[name][0]}"
            )


def test_setup_and_image_install_from_the_locks() -> None:
    setup = (ROOT / "scripts" / "setup").read_text()
    assert "--require-hashes" in setup and "requirements/dev.lock" in setup
    assert "-e ." in setup and "--no-deps" in setup
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "requirements/server.lock" in dockerfile and "--require-hashes" in dockerfile
