"""Grafana dashboards as code: ``build_boards`` makes the dashboard JSON, ``write_all`` writes it
next to the provisioning files, ``push`` installs it in an existing Grafana."""
