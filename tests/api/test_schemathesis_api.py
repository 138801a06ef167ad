"""Every schemathesis check over every operation of the OpenAPI schema, run by schemathesis's
own engine (its Python API; its pytest plugin does not load under this pytest): the examples,
coverage and fuzzing phases, positive and negative inputs, deterministic and bounded (a few
examples per operation). Served by a real uvicorn over a real influxd with data, a registry,
and a real broker for the HTTP ingest.

All the checks of the installed schemathesis run (``CHECKS``, all enabled by default):
not_a_server_error, status_code_conformance, content_type_conformance,
response_headers_conformance, response_schema_conformance, negative_data_rejection,
positive_data_acceptance, missing_required_header, unsupported_method,
allow_header_conformance, ignored_auth (the admin token and a station's credentials are
given: schemathesis removes them, and sends wrong ones, and expects 401/403).
use_after_free and ensure_resource_availability judge chains of calls (a DELETE then a read, a
POST then a read by its link): they run, but have nothing to judge without the stateful phase,
which needs links this schema does not declare (and there is no DELETE). object_level_authorization
needs two identities of one kind (two admin tokens): there is one.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events
from schemathesis.engine import context as st_context
from schemathesis.transport import requests as st_requests

from airq.services import API_USER, Mosquitto
from api.registry import Registry, hash_token
from tests.api.api_server import ADMIN_TOKEN, running, settings_for

pytestmark = pytest.mark.services

API_PASSWORD = "schemathesis-api-secret"
MAX_EXAMPLES = 5
STATION = "lens-01"
st_context_make_session = st_context.make_session


@pytest.fixture(scope="module")
def live_api(influxd, series_db, tmp_path_factory) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(base URL, the token of station lens-01)."""
    tmp = tmp_path_factory.mktemp("schemathesis")
    reg = Registry(f"sqlite:///{tmp / 'registry.sqlite'}")
    token = reg.add(STATION, 50.449123, 2.839054, "Grande Résidence")
    reg.add("lille-02", 50.6212, 3.0583, "Lille Sud", indoor=True)
    broker = Mosquitto(tmp / "mosquitto", users={API_USER: hash_token(API_PASSWORD)}).start()
    settings_ = settings_for(
        influxd.url,
        series_db,
        str(reg.engine.url),
        mqtt_url=broker.url(API_USER, API_PASSWORD),
    )
    reg.close()
    try:
        with running(settings_) as api:
            yield str(api.base_url), token
    finally:
        broker.stop()


def _config(base_url: str, station_token: str) -> SchemathesisConfig:
    basic = base64.b64encode(f"{STATION}:{station_token}".encode()).decode()
    return SchemathesisConfig.from_dict(
        {
            "seed": 20,
            "base-url": base_url,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "mode": "all"},
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
            "operations": [
                # Parameters of these reads carry rules a schema cannot state: one of
                # station/bbox/qpv, start before end, a period and an answer under limits,
                # calendar times between 1970 and 2100, lists that may be comma-separated,
                # quantities of the vocabulary. A valid-looking request may get a 400 whose
                # detail names the parameter; never a 5xx, never an undocumented answer.
                # (A station without a calibration fit: 409 on /v1/stations/{id}/calibrated.)
                {
                    "include-path-regex": "^/v1/(series|stations|qpv)",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "400", "404", "409", "413", "429"]
                        }
                    },
                },
                # Readings are checked against now (too old, in the future) and the physical
                # range of each quantity: a batch whose every reading is refused is a 422
                # problem with the counts by reason (documented). And the ingest accepts what
                # it can: a bad value or reading in a batch is dropped and counted in the 200
                # answer (`rejected`, by reason) while the rest is published, as over MQTT, so
                # a schema-violating part does not make the request fail
                # (negative_data_rejection is off here for that reason).
                {
                    "include-path-regex": "^/v1/ingest/",
                    "checks": {
                        "positive_data_acceptance": {"expected-statuses": ["2xx", "422", "429"]},
                        "negative_data_rejection": {"enabled": False},
                    },
                },
                # A bulk registration is all or nothing: a valid-looking file whose ids exist
                # already or repeat is a 422 problem with the per-row report (a schema cannot
                # say "new and unique"); a CSV body is free text to the schema (400: no header).
                {
                    "include-path-regex": "^/v1/admin/stations/bulk$",
                    "headers": {"Authorization": f"Bearer {ADMIN_TOKEN}"},
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "400", "401", "403", "413", "422", "429"]
                        }
                    },
                },
                # A move's time is checked against now and the current placement (not in the
                # future, not before the placement's start, and it needs a new location or
                # indoor flag): a valid-looking PATCH may get a 400 whose detail says which.
                {
                    "include-path-regex": "^/v1/admin/stations/[^/]+$",
                    "include-method": "PATCH",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "400", "401", "403", "404", "429"]
                        }
                    },
                },
                {
                    "include-path-regex": "^/v1/admin/",
                    "headers": {"Authorization": f"Bearer {ADMIN_TOKEN}"},
                },
                # Alert subscriptions (as the admin): a rule has constraints a schema cannot
                # state (exactly one of station/stations/qpv/fleet, an Apprise URL Apprise
                # knows, durations): a valid-looking request may get a 400 naming the field.
                # Unknown query parameters are ignored, as on every route.
                {
                    "include-path-regex": "^/v1/alerts/",
                    "headers": {"Authorization": f"Bearer {ADMIN_TOKEN}"},
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "400", "401", "403", "404", "429"]
                        },
                        "negative_data_rejection": {"enabled": False},
                    },
                },
                {
                    "include-path-regex": "^/v1/ingest/",
                    "headers": {"Authorization": f"Basic {basic}"},
                },
            ],
        }
    )


@pytest.fixture(scope="module")
def api_schema(live_api: tuple[str, str]):  # type: ignore[no-untyped-def]
    base_url, token = live_api
    return schemathesis.openapi.from_url(
        f"{base_url}/openapi.json", config=_config(base_url, token)
    )


def test_every_check_passes_on_every_operation(api_schema, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Examples, coverage and fuzzing phases, every check: the failures listed with a curl
    command to replay each one."""
    # requests runs here over urllib3-future (niquests' dependency installs itself as
    # `urllib3`), whose pools container has no .keys(): schemathesis counts connections to
    # decide whether to resend a request a keep-alive close dropped; without the count it
    # resends once, as browsers do
    monkeypatch.setattr(st_requests, "_count_opened_connections", lambda session: 0)
    sessions: list[requests.Session] = []

    def make_session(*args: Any, **kw: Any) -> requests.Session:
        sessions.append(session := st_context_make_session(*args, **kw))
        return session

    monkeypatch.setattr(st_context, "make_session", make_session)  # closed at the end
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    ran: set[str] = set()
    try:
        for event in schemathesis.engine.from_schema(api_schema).execute():
            if isinstance(event, events.NonFatalError | events.FatalError):
                failures.append(f"engine error: {event}")
            if isinstance(event, events.ScenarioFinished):
                failures.extend(_failures(event, statuses, ran))
    finally:
        for session in sessions:
            session.close()
    assert not failures, "\n".join(sorted(set(failures))[:20])
    load_all_checks()
    assert ran == {c.__name__ for c in CHECKS.get_all()}, ran  # every check was run
    assert statuses[2] > 50 and statuses[4] > 300, statuses  # valid and invalid requests sent


def _failures(event: events.ScenarioFinished, statuses: Counter[int], ran: set[str]) -> list[str]:
    out = []
    recorder = event.recorder
    for interaction in recorder.interactions.values():
        if interaction.response is not None:
            statuses[interaction.response.status_code // 100] += 1
    for case_id, nodes in recorder.checks.items():
        for node in nodes:
            ran.add(node.name)
            if node.status != Status.FAILURE or node.failure_info is None:
                continue
            answer = recorder.interactions.get(case_id)
            got = ""
            if answer is not None and answer.response is not None:
                got = f"{answer.response.status_code} {answer.response.content[:300]!r}"
            out.append(
                f"[{event.phase}] {event.label}: {node.name}: "
                f"{str(node.failure_info.failure)[:300]} <- {node.failure_info.code_sample} "
                f"-> {got}"
            )
    return out


def test_protected_operations_declare_their_security(api_schema) -> None:  # type: ignore[no-untyped-def]
    """ignored_auth only probes operations that declare a security scheme."""
    paths = api_schema.raw_schema["paths"]
    for path, item in paths.items():
        for method, op in item.items():
            if path.startswith(("/v1/admin/", "/v1/ingest/")):
                assert op.get("security"), f"{method.upper()} {path} declares no security"


def test_schema_documents_every_route(api_schema) -> None:  # type: ignore[no-untyped-def]
    paths = set(api_schema.raw_schema["paths"])
    assert {
        "/v1/series",
        "/v1/stations/{station_id}/series",
        "/v1/stations",
        "/v1/admin/stations",
        "/v1/ingest/readings",
        "/v1/ingest/airrohr",
    } <= paths
