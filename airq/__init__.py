"""Wiring: the ``airq`` command line, the local stack and service launchers.

This package imports the apps (gateway, ingest, api, firmware_tools) lazily, one per
subcommand; the apps never import each other.
"""
