"""Flags a reading can carry: the value is real but must be read with care.

Flags travel with the reading (MQTT ``flags``, the stored ``flags`` field). This module names
the ones the shared package sets; protocol modules may add their own (``warmup``,
``coarse_no2``, RD200M status names).
"""

from __future__ import annotations

__all__ = ["FOREIGN_BOARD", "MIN_WINDOW_COVERAGE", "MODEL_UNKNOWN"]

# sensor.community per-sensor upload on a shared pin whose model could not be told (neither the
# station's registered hardware nor the value types settle it): the values are kept under a
# generic sensor name (``pm_generic`` …), never under another model's name
MODEL_UNKNOWN = "model_unknown"

# a reading pushed by a board whose chip is bound to another station (api/hardware.py,
# "foreign": a neighbour's station id or a copied token at a workshop): real values, but of
# another board and maybe another place. Stored with the station it was pushed for, left out of
# its windows and statistics (an exclusion flag: not in ``storage.KEPT_FLAGS``), shown in raw
# series with ``include_flagged=true``
FOREIGN_BOARD = "foreign_board"

# the share of an hour's expected readings that must be valid (not flagged, not missing) for its
# window to count in the figures a council quotes (QPV exposure, ATMO index, annual means,
# dashboards); a deployment sets it with AIRQ_QPV_MIN_WINDOW_COVERAGE
MIN_WINDOW_COVERAGE = 0.75
