"""Benchmarks: ingest against the original design, and queries over 30 days of data."""

# Throwaway accounts of the private MariaDB each benchmark starts and deletes again.
ACCOUNTS = {"SIEM_COLLECTOR_PASSWORD": "bench-collector", "SIEM_READER_PASSWORD": "bench-reader"}
