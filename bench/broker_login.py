"""Login cost of a station on the broker (dynamic security), by PBKDF2 iteration count.

A gateway reconnects after every network loss; the broker checks its token by computing
PBKDF2-HMAC-SHA512 over it. Mosquitto 2.0.11 hashes passwords set by command with 101
iterations (``PW_DEFAULT_ITERATIONS``); a dynamic-security file may carry any count. This
measures, on a real broker, the time from TCP connect to CONNACK for stations whose hash has
101, 10 000 and 210 000 iterations (OWASP's figure for PBKDF2-HMAC-SHA512 in 2023), and the
same check over HTTP (``Registry.verify_token``). Run: ``.venv/bin/python bench/broker_login.py``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from airq.services import Mosquitto  # noqa: E402
from api.registry import check_token, hash_token  # noqa: E402

ITERATIONS = (101, 10_000, 210_000)
TOKEN = "Qm9hcmQtdG9rZW4tMTkyLWJpdHMtcmFuZG9t"  # 192 bits, as secrets.token_urlsafe(24)


def connack_ms(port: int, user: str) -> float:
    done = threading.Event()
    ok: list[bool] = []
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=user)
    c.username_pw_set(user, TOKEN)

    def on_connect(cl, u, f, rc, p):  # type: ignore[no-untyped-def]
        ok.append(not rc.is_failure)
        done.set()

    c.on_connect = on_connect
    t0 = time.perf_counter()
    c.connect("127.0.0.1", port)
    while not done.is_set():
        c.loop(0.01)
    ms = (time.perf_counter() - t0) * 1000
    c.disconnect()
    assert ok == [True], user
    return ms


def main() -> None:
    n = 30
    with tempfile.TemporaryDirectory() as tmp:
        users = {f"st-{i}": hash_token(TOKEN, i) for i in ITERATIONS}
        broker = Mosquitto(Path(tmp) / "m", users=users).start()
        try:
            print(f"{'iterations':>10}  {'MQTT login (median ms)':>22}  {'HTTP check (ms)':>15}")
            for i in ITERATIONS:
                user = f"st-{i}"
                times = [connack_ms(broker.port, user) for _ in range(n)]
                t0 = time.perf_counter()
                for _ in range(5):
                    assert check_token(TOKEN, users[user])
                http = (time.perf_counter() - t0) / 5 * 1000
                print(f"{i:>10}  {statistics.median(times):>22.2f}  {http:>15.2f}")
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
