"""``airq decode``: decode sensor frames given in hex, or a byte stream on stdin."""

from __future__ import annotations

import functools
import inspect
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from airq.errors import CliError, UsageError
from airq.i18n import known, t
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
        raise UsageError(t("bad_hex", text=text[:60])) from None


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


# Valid frames that carry no measurement (the sensor's answer is "nothing new" or "refused").
NOT_A_MEASUREMENT = ("NoNewDataError", "DeviceStateError", "ModbusExceptionError")


def _describe(exc: DecodeError) -> str:
    name = next(c.__name__ for c in type(exc).__mro__ if known(c.__name__))
    key = "no_measurement" if name in NOT_A_MEASUREMENT else "bad_frame"
    return t(key, why=f"{t(name)} ({exc})")


def decoder(sensor: str, proto: ModuleType) -> Callable[[bytes], Sample]:
    """The protocol's ``decode``, given the model name when it takes one (Plantower: the frame
    does not say whether a PMS5003 or a PMS7003 sent it)."""
    decode: Callable[..., Sample] = proto.decode
    if "sensor" in inspect.signature(decode).parameters:
        return functools.partial(decode, sensor=sensor)
    return decode


_SEPARATORS = re.compile(r"[\s:,]+")


def run_decode_airrohr(
    paths: list[str], pin: str | None = None, hardware: Sequence[str] = ()
) -> int:
    """Decode sensor.community firmware bodies (JSON files, or stdin with ``-``); ``pin`` for
    the per-sensor form, ``hardware`` the station's sensor models (a shared pin)."""
    from airq_core.airrohr import decode_body, parse_body
    from airq_core.errors import WireFormatError

    if not paths:
        raise UsageError("airq decode airrohr FICHIER.json… (ou - pour l'entrée standard)")
    status = 0
    for path in paths:
        try:
            data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
        except OSError as exc:
            raise CliError(t("cannot_read", path=path, why=exc.strerror or exc)) from None
        try:
            result = decode_body(parse_body(data), pin=pin, hardware=hardware)
        except WireFormatError as exc:
            print(t("bad_airrohr", path=path, why=str(exc)), file=sys.stderr)
            status = 1
            continue
        for sample in result.samples:
            print(sample_to_json(sample))
        if result.resolved_by == "unknown" and result.samples:
            print(
                t("airrohr_model_unknown", pin=pin, sensor=result.samples[0].sensor),
                file=sys.stderr,
            )
        if result.ignored:
            print(
                t("airrohr_ignored", types=", ".join(sorted(set(result.ignored)))), file=sys.stderr
            )
        if result.rejected:
            print(t("airrohr_rejected", values=", ".join(result.rejected)), file=sys.stderr)
            status = 1
    return status


def run_decode(sensor: str, hex_args: list[str], stream: bool, hex_stream: bool) -> int:
    if sensor == "airrohr":
        return run_decode_airrohr(hex_args)
    try:
        model = get_sensor(sensor)
    except UnknownSensorError:
        raise UsageError(
            t("unknown_sensor", sensor=sensor, known=", ".join(sorted(SENSORS)))
        ) from None
    proto = model.protocol
    if proto is None:
        raise UsageError(t("no_protocol", sensor=sensor))
    decode = decoder(model.name, proto)
    if stream:
        fs = FrameStream(proto)
        src = sys.stdin.buffer
        bad = 0
        digits = ""  # hex text held back so that a byte split across two reads stays whole
        while True:
            chunk = src.read1(4096) if hasattr(src, "read1") else src.read(4096)
            if not chunk:
                break
            if hex_stream:
                digits += _SEPARATORS.sub("", chunk.decode("ascii", "replace"))
                cut = len(digits) - len(digits) % 2
                chunk, digits = _parse_hex(digits[:cut]), digits[cut:]
            for frame in fs.feed(chunk):
                try:
                    print(sample_to_json(decode(frame)), flush=True)
                except DecodeError as exc:  # a valid command reply, not a measurement
                    bad += 1
                    print(_describe(exc), file=sys.stderr)
        print(
            t("stream_summary", frames=fs.frames - bad, skipped=fs.skipped_bytes + fs.pending),
            file=sys.stderr,
        )
        return 0
    if not hex_args:
        raise UsageError("airq decode SENSOR HEX… (ou --stream)")
    status = 0
    for frame in group_frames(hex_args):
        try:
            print(sample_to_json(decode(frame)))
        except DecodeError as exc:
            print(_describe(exc), file=sys.stderr)
            status = 1
    return status
