"""Operator commands for SIEM@Home: dashboards, Grafana installation, health checks, demo data."""
