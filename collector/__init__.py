"""SIEM@Home syslog collector: receive, parse and store router and NAS logs."""
