"""``airq decode``: decode sensor frames given in hex, or a byte stream on stdin."""

from __future__ import annotations

import json
import sys
from typing import Any

from airq.errors import CliError
from airq.i18n import t
from airq_core.errors import DecodeError, UnknownSensorError
from airq_core.protocols import FrameStream
from airq_core.readings import Sample
from airq_core.sensors import SENSORS, get_sensor


def sample_to_json(sample: Sample) -> str:
    obj: dict[str, Any] = {"sensor": sample.sensor, "values": sample.values}
    if sample.flags:
        obj["flags"] = list(sample.flags)
    return json.dumps(obj, ensure_ascii=False)


def _parse_hex(text: str) -> bytes:
    cleaned = text.replace(" ", "").replace(":", "").replace(",", "")
    if cleaned.lower().startswith("0x"):
        cleaned = cleaned[2:]
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise CliError(t("bad_hex", text=text[:60])) from None


def group_frames(args: list[str]) -> list[bytes]:
    """Arguments -> frames. Consecutive single-byte arguments (``AA C0 06 …`` unquoted) form
    one frame; a longer argument (``AAC00600…`` or quoted with spaces) is a frame of its own."""
    frames: list[bytes] = []
    pending = b""
    for arg in args:
        data = _parse_hex(arg)
        if len(data) == 1:
            pending += data
            continue
        if pending:
            frames.append(pending)
            pending = b""
        frames.append(data)
    if pending:
        frames.append(pending)
    return frames


def _describe(exc: DecodeError) -> str:
    return t("bad_frame", why=f"{t(type(exc).__name__)} ({exc})")


def run_decode(sensor: str, hex_args: list[str], stream: bool, hex_stream: bool) -> int:
    try:
        model = get_sensor(sensor)
    except UnknownSensorError:
        raise CliError(
            t("unknown_sensor", sensor=sensor, known=", ".join(sorted(SENSORS)))
        ) from None
    proto = model.protocol
    if proto is None:
        raise CliError(t("no_protocol", sensor=sensor))
    if stream:
        fs = FrameStream(proto)
        src = sys.stdin.buffer
        bad = 0
        while True:
            chunk = src.read1(4096) if hasattr(src, "read1") else src.read(4096)
            if not chunk:
                break
            if hex_stream:
                chunk = _parse_hex(chunk.decode("ascii", "replace").replace("\n", " "))
            for frame in fs.feed(chunk):
                try:
                    print(sample_to_json(proto.decode(frame)), flush=True)
                except DecodeError as exc:  # a valid command reply, not a measurement
                    bad += 1
                    print(_describe(exc), file=sys.stderr)
        print(
            t("stream_summary", frames=fs.frames - bad, skipped=fs.skipped_bytes + fs.pending),
            file=sys.stderr,
        )
        return 0
    if not hex_args:
        raise CliError("airq decode SENSOR HEX… (ou --stream)")
    status = 0
    for frame in group_frames(hex_args):
        try:
            print(sample_to_json(proto.decode(frame)))
        except DecodeError as exc:
            print(_describe(exc), file=sys.stderr)
            status = 1
    return status
