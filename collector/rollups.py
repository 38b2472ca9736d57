"""When the hourly source rankings are ready: shared by the collector that writes them and the readers."""

from datetime import timedelta

TOP_PER_HOUR = 50
SETTLE = timedelta(minutes=5)  # an hour is ranked once it ended this long ago: late lines come in first
READY_LAG = timedelta(minutes=15)  # readers trust hours that ended this long ago (SETTLE and a few rounds)
