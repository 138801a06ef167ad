"""The researchers' API (FastAPI): stations, time series, health."""
