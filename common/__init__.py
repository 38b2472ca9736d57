"""What the collector, the API and the tools must agree on: intervals, ranking markers, address spellings, secrets."""
