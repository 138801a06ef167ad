"""Alerts: rules evaluated on the readings as they arrive, messages sent through Apprise
(docs/alerts.md)."""
