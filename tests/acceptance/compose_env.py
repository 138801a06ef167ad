"""docker-compose.yml read as the acceptance suite needs it: each service's environment and
command with ``${VAR:-default}`` substituted, then *localized* — service host names and
container ports replaced by 127.0.0.1 and the local ports, named-volume paths by local
folders. Nothing else may differ between what the deployment runs and what the suite runs;
:func:`delocalize` undoes the mapping so a test can check it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"

# $$, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, $NAME
_VAR = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class ComposeVariableError(ValueError):
    """A required variable (``${NAME:?message}``) is not set: give it to :func:`substitute`."""


def substitute(text: str, variables: dict[str, str]) -> str:
    """Compose's interpolation of ``text`` with ``variables`` (instead of the shell's)."""

    def one(m: re.Match[str]) -> str:
        if m["escaped"]:
            return "$"
        name = m["braced"] or m["bare"]
        value = variables.get(name)
        op = m["op"] or ""
        unset = value is None or (op.startswith(":") and value == "")
        if op.endswith("-") and unset:
            return m["arg"] or ""
        if op.endswith("?") and unset:
            raise ComposeVariableError(f"{name}: {m['arg']}")
        return value or ""

    return _VAR.sub(one, text)


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())  # type: ignore[no-any-return]


def service_environment(compose: dict[str, Any], service: str) -> dict[str, str]:
    """The environment block of ``service`` as written (anchors merged, not substituted)."""
    env = compose["services"][service].get("environment") or {}
    if isinstance(env, list):  # the "- KEY=value" form
        env = dict(item.split("=", 1) for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


@dataclass
class Localization:
    """Where the services of the compose file live on this machine."""

    hosts: dict[str, int] = field(default_factory=dict)  # "mosquitto:1883" -> local port
    ports: dict[int, int] = field(default_factory=dict)  # published port -> local port
    volumes: dict[str, Path] = field(default_factory=dict)  # named volume -> local folder

    def mounts(self, compose: dict[str, Any], service: str) -> dict[str, Path]:
        """Container path -> local folder, for the named volumes ``service`` mounts."""
        out = {}
        for spec in compose["services"][service].get("volumes", []):
            source, _, target = str(spec).partition(":")
            target = target.split(":")[0]
            if source in self.volumes:
                out[target] = self.volumes[source]
        return out

    def localize(self, value: str, mounts: dict[str, Path], key: str = "") -> str:
        if key.endswith("_PORT") and value.isdigit() and int(value) in self.ports:
            return str(self.ports[int(value)])  # a port the service listens on
        for hostport, port in self.hosts.items():
            value = value.replace(hostport, f"127.0.0.1:{port}")
        for target, local in sorted(mounts.items(), key=lambda kv: -len(kv[0])):
            value = re.sub(rf"(?<![\w.-]){re.escape(target)}(?=/|$)", str(local), value)
        return value

    def delocalize(self, value: str, mounts: dict[str, Path], key: str = "") -> str:
        if key.endswith("_PORT") and value.isdigit():
            back = {local: published for published, local in self.ports.items()}
            return str(back.get(int(value), value))
        for target, local in mounts.items():
            value = value.replace(str(local), target)
        for hostport, port in self.hosts.items():
            value = value.replace(f"127.0.0.1:{port}", hostport)
        return value

    def command(self, args: list[str]) -> list[str]:
        """A service's command with its listen address and published ports made local."""
        out = []
        for a in args:
            if a == "0.0.0.0":
                a = "127.0.0.1"
            elif a.isdigit() and int(a) in self.ports:
                a = str(self.ports[int(a)])
            out.append(a)
        return out


def local_environment(
    compose: dict[str, Any], service: str, variables: dict[str, str], where: Localization
) -> dict[str, str]:
    """The environment the deployment gives ``service``, substituted and localized."""
    mounts = where.mounts(compose, service)
    return {
        k: where.localize(substitute(v, variables), mounts, k)
        for k, v in service_environment(compose, service).items()
    }
