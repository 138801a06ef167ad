"""The frame scan every serial protocol shares: find a frame in a byte buffer, resync on garbage.

A protocol describes its frames with three things and :func:`scan` does the rest (as PyPMS
centralises its ``unpack``):

* ``sync``: the bytes every frame starts with (``AA`` for SDS011, ``42 4D`` for Plantower);
  empty for a protocol without a start marker (Modbus RTU), where every offset is tried;
* ``size``: the total frame length, a number or a function ``size(buffer, start)`` that
  returns the length of the candidate at ``start``, :data:`NOT_A_FRAME` when these bytes
  cannot start a frame, or :data:`NEED_MORE` when it cannot tell yet;
* ``valid``: the checksum (and any other) test of a complete candidate.

:func:`scan` returns ``(frame | None, consumed)``, the contract of every ``split_frame``:
``consumed`` counts the garbage before the frame plus the frame, or, with no complete frame,
the leading bytes that can never start one. :class:`FrameStream` (in
:mod:`airq_core.protocols`) drops those bytes and counts them in ``skipped_bytes``.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["NEED_MORE", "NOT_A_FRAME", "Size", "scan"]

NEED_MORE = -1
NOT_A_FRAME = 0

Size = int | Callable[[bytes, int], int]


def scan(
    buffer: bytes,
    *,
    sync: bytes,
    size: Size,
    valid: Callable[[bytes], bool],
    pending_blocks: bool = True,
) -> tuple[bytes | None, int]:
    """Find the first complete, valid frame in ``buffer``.

    Args:
        buffer: bytes received so far.
        sync: start marker (may be empty: every offset is a candidate).
        size: the frame length, or a function of ``(buffer, start)`` returning it,
            :data:`NOT_A_FRAME` or :data:`NEED_MORE`.
        valid: test of a complete candidate (checksum, fixed bytes).
        pending_blocks: True (framed protocols): a candidate waiting for more bytes stops the
            scan. False (no start marker): a complete valid frame further on is still taken,
            and ``consumed`` then stops at the first candidate that may still complete.

    Returns:
        ``(frame, consumed)`` or ``(None, consumed)``; see the module docstring.
    """
    n = len(buffer)
    pending = n
    i = 0
    while i < n:
        if sync:
            i = buffer.find(sync[0], i)
            if i < 0:
                break
            head = buffer[i : i + len(sync)]
            if head != sync:
                if len(head) < len(sync) and sync.startswith(head):
                    pending = min(pending, i)  # a marker cut by the end of the buffer
                    break
                i += 1
                continue
        length = size if isinstance(size, int) else size(buffer, i)
        if length == NEED_MORE or (length > 0 and n - i < length):
            pending = min(pending, i)
            if pending_blocks:
                break
        elif length > 0:
            cand = buffer[i : i + length]
            if valid(cand):
                return cand, i + length
        i += 1
    return None, pending
