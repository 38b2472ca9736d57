"""SIEM@Home REST API: read-only summaries of what the collector stored, for scripts."""
