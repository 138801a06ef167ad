"""``airq --version``, exit statuses (0 done, 1 could not do it, 2 wrong arguments) and the
``--json`` of the listing commands, run as a subprocess."""

from __future__ import annotations

import json
from importlib.metadata import version

from firmware_tools.flashing.ports import list_serial_ports


def test_version_is_the_installed_package_version(airq) -> None:
    r = airq("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"airq {version('airquartiers')}"


def test_usage_errors_exit_2(airq, workdir) -> None:
    assert airq().returncode == 2  # no command
    assert airq("nope").returncode == 2
    assert airq("station", "add", "lens-01").returncode == 2  # --lat/--lon missing
    r = airq("virtual-sensor", "sds999")
    assert r.returncode == 2 and "sds999" in r.stderr and "Traceback" not in r.stderr
    r = airq("rollup", "rebuild", "--start", "hier")
    assert r.returncode == 2 and "date invalide" in r.stderr
    r = airq("sensor", "check", "--port", "/dev/null", "--sensor", "sds999")
    assert r.returncode == 2 and "capteur inconnu « sds999 »" in r.stderr
    r = airq("flash", "--json")
    assert r.returncode == 2 and "--list-ports" in r.stderr
    r = airq("flash")
    assert r.returncode == 2 and "--firmware" in r.stderr
    assert list(workdir.iterdir()) == []


def test_runtime_errors_exit_1(airq, workdir) -> None:
    r = airq("sensor", "check", "--port", str(workdir / "ttyUSB42"), "--sensor", "sds011")
    assert r.returncode == 1 and "n'existe pas" in r.stderr
    r = airq("flash", "--firmware", str(workdir / "absent.bin"), "--check-only")
    assert r.returncode == 1 and "absent.bin" in r.stderr
    config = workdir / "gw.toml"
    config.write_text(
        'station = "lens-01"\n'
        f'state_dir = "{workdir / "state"}"\n'
        '[mqtt]\nurl = "mqtt://lens-01:x@127.0.0.1:1"\n'
        '[[sensors]]\ntype = "sds011"\nport = "/dev/ttyUSB0"\n'
    )
    r = airq("gateway", "status", "--config", str(config), "--json")
    assert r.returncode == 1 and "la passerelle tourne-t-elle" in r.stderr
    r = airq("--lang", "en", "gateway", "status", "--config", str(config))
    assert r.returncode == 1 and "is the gateway running?" in r.stderr
    assert "Traceback" not in r.stderr


def test_runtime_error_traceback_only_with_verbose(airq, workdir) -> None:
    r = airq("--verbose", "flash", "--firmware", str(workdir / "absent.bin"), "--check-only")
    assert r.returncode == 1 and "Traceback" in r.stderr and "CliError" in r.stderr


def test_flash_list_ports_json(airq) -> None:
    r = airq("flash", "--list-ports", "--json")
    assert r.returncode == 0, r.stderr
    ports = json.loads(r.stdout)
    assert isinstance(ports, list)
    assert [p["device"] for p in ports] == [p.device for p in list_serial_ports()]
    for p in ports:
        assert set(p) == {"device", "description", "hwid", "vid", "pid", "usb_chip"}
