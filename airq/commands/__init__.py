"""One module per subcommand group; each exposes ``register(subparsers)``.

Adding a command adds a module here and one name to ``MODULES``.
"""

MODULES = [
    "decode",
    "gateway",
    "ingest",
    "api",
    "station",
    "broker",
    "stack",
    "virtual",
    "rollup",
    "flash",
    "sensor",
    "airrohr",
    "workshop",
    "importer",
    "pull",
    "dashboards",
    "calibration",
    "alerts",
]
