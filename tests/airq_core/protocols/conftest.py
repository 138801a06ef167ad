"""Shared helpers for the protocol tests: golden frames and a byte-stream replayer."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from airq_core.protocols import FrameStream

FRAMES_DIR = Path(__file__).resolve().parents[2] / "data" / "frames"


def load_golden(family: str) -> list[dict[str, Any]]:
    """The golden cases of ``tests/data/frames/<family>.json``."""
    cases: list[dict[str, Any]] = json.loads((FRAMES_DIR / f"{family}.json").read_text())
    for case in cases:
        case["frame"] = bytes.fromhex(case["hex"])
    return cases


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``golden`` parametrizes a test with the cases of the module's ``FAMILY``."""
    if "golden" in metafunc.fixturenames:
        cases = load_golden(metafunc.module.FAMILY)
        ids = [c["hex"][:23].replace(" ", "") + f"-{k}" for k, c in enumerate(cases)]
        metafunc.parametrize("golden", cases, ids=ids)


@pytest.fixture
def golden_frames(request: pytest.FixtureRequest) -> list[bytes]:
    """Every golden frame of the module's ``FAMILY``, in file order."""
    return [c["frame"] for c in load_golden(request.module.FAMILY)]


def _replay(
    protocol: ModuleType, frames: list[bytes], seed: int, garbage: bytes = b""
) -> tuple[list[bytes], FrameStream]:
    rng = random.Random(seed)
    lead = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
    truncated = frames[0][: max(1, len(frames[0]) // 2)]
    broken = bytearray(frames[-1])
    broken[len(broken) // 2] ^= 0x01  # one flipped bit: the checksum must reject it
    stream = lead + garbage + truncated + b"".join(frames) + bytes(broken) + frames[0]
    fs = FrameStream(protocol)
    got: list[bytes] = []
    k = 0
    while k < len(stream):
        n = rng.randrange(1, 12)
        got += fs.feed(stream[k : k + n])
        k += n
    return got, fs


@pytest.fixture
def replay() -> Callable[..., tuple[list[bytes], FrameStream]]:
    """Feed garbage + a truncated frame + ``frames`` + a corrupted frame + ``frames[0]`` in
    random chunks through a FrameStream; returns (frames recovered, the stream)."""
    return _replay
