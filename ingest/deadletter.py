"""Dead letters of the ingest: the messages its own code failed on, kept for a human to read.

A message whose handling raised something other than a counted rejection (a bug, or an input
no check foresaw) is counted under the rejection reason ``internal``, written here with its
topic, its bytes and the traceback, and acknowledged: one poisoned message must not stop the
ingest, nor come back at every restart.

On disk, one JSON file per message in ``<state dir>/dead-letters/<worker>/`` (written to a
temporary name, then renamed: a reader never sees half a file). The store is bounded: past
``max_count`` files or ``max_bytes`` of payloads, the oldest are deleted. Without a state
directory the last ``max_count`` stay in memory only. ``airq ingest dead-letters`` lists them.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["DeadLetter", "DeadLetters", "read_dead_letters"]

SUBDIR = "dead-letters"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One message the ingest failed on. ``payload`` is the message's bytes, whole."""

    time: float
    worker: str
    topic: str
    payload: bytes
    error: str
    traceback: str

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "worker": self.worker,
            "topic": self.topic,
            "payload_bytes": len(self.payload),
            "payload_b64": base64.b64encode(self.payload).decode("ascii"),
            "error": self.error,
            "traceback": self.traceback,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> DeadLetter:
        return cls(
            float(obj["time"]),
            str(obj["worker"]),
            str(obj["topic"]),
            base64.b64decode(obj["payload_b64"]),
            str(obj["error"]),
            str(obj.get("traceback", "")),
        )


def safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:64] or "_"


class DeadLetters:
    """The bounded store of one worker (see the module docstring). ``add`` never raises."""

    def __init__(
        self,
        state_dir: str | Path | None,
        worker: str,
        max_count: int = 200,
        max_bytes: int = 32 * 1024 * 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.worker = worker
        self.max_count = max_count
        self.max_bytes = max_bytes
        self._clock = clock
        self.dir = Path(state_dir) / SUBDIR / safe_name(worker) if state_dir else None
        self._memory: deque[DeadLetter] = deque(maxlen=max_count)
        self._n = 0
        self.written = 0  # dead letters taken since start (on disk or in memory)

    def add(self, topic: str, payload: bytes, exc: BaseException) -> DeadLetter:
        letter = DeadLetter(
            self._clock(),
            self.worker,
            topic,
            bytes(payload),
            f"{type(exc).__name__}: {str(exc)[:500]}",
            "".join(traceback.format_exception(exc))[-8000:],
        )
        self.written += 1
        if self.dir is None:
            self._memory.append(letter)
            return letter
        try:
            self._write(letter)
        except OSError as err:  # a full disk must not stop the ingest either
            log.error("dead letter not written to %s (%s); kept in memory", self.dir, err)
            self._memory.append(letter)
        return letter

    def _write(self, letter: DeadLetter) -> None:
        assert self.dir is not None
        self.dir.mkdir(parents=True, exist_ok=True)
        self._n += 1
        name = f"{round(letter.time * 1000):015d}-{os.getpid()}-{self._n:06d}.json"
        tmp = self.dir / f".{name}.tmp"
        tmp.write_text(json.dumps(letter.to_json()), encoding="utf-8")
        tmp.replace(self.dir / name)
        self._trim()

    def _trim(self) -> None:
        assert self.dir is not None
        files = sorted(self.dir.glob("*.json"))
        sizes = [f.stat().st_size for f in files]
        total = sum(sizes)
        i = 0
        while i < len(files) - 1 and (len(files) - i > self.max_count or total > self.max_bytes):
            total -= sizes[i]
            files[i].unlink(missing_ok=True)
            i += 1

    def letters(self) -> list[DeadLetter]:
        """Every dead letter of this worker, oldest first (disk and memory)."""
        on_disk = read_dead_letters(self.dir.parent, self.worker) if self.dir else []
        return on_disk + list(self._memory)


def read_dead_letters(directory: str | Path, worker: str | None = None) -> list[DeadLetter]:
    """The dead letters under ``directory`` (``<state dir>/dead-letters``), oldest first; of
    one worker only when ``worker`` is given. Unreadable files are skipped with a warning."""
    root = Path(directory)
    pattern = f"{safe_name(worker)}/*.json" if worker else "*/*.json"
    out = []
    for path in root.glob(pattern):
        try:
            out.append(DeadLetter.from_json(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("unreadable dead letter %s: %s", path, exc)
    out.sort(key=lambda d: d.time)
    return out
