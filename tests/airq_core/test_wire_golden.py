"""The golden payloads of docs/wire-v1 go through the codec with the documented outcome."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from airq_core import wire
from airq_core.readings import parse_time

CASES = sorted((Path(__file__).parents[2] / "docs" / "wire-v1").glob("*.json"))


def test_golden_cases_exist() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_golden_payload(path: Path) -> None:
    case = json.loads(path.read_text())
    payload = (
        case["payload_text"].encode()
        if "payload_text" in case
        else json.dumps(case["payload"]).encode()
    )
    readings, errors = wire.decode_payload(case["station"], payload, parse_time(case["now"]))
    assert len(readings) == case["expect"]["readings"]
    assert Counter(e.reason for e in errors) == Counter(case["expect"]["rejected"])
    for e in errors:
        assert e.reason in wire.REASONS
    # what decodes re-encodes to an equivalent payload
    if readings:
        again, errs = wire.decode_payload(
            case["station"], wire.encode_readings(readings), parse_time(case["now"])
        )
        assert errs == [] and again == readings
