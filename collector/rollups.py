"""Intervals of the rollup tables and when the source rankings are ready: shared by writer and readers."""

from datetime import datetime, timedelta

FIVE_MINUTES = timedelta(minutes=5)  # the counts tables' interval
HOUR = timedelta(hours=1)  # the hourly tables' interval
TOP_PER_HOUR = 50
SETTLE = timedelta(minutes=5)  # an hour is ranked once it ended this long ago: late lines come in first
READY_LAG = timedelta(minutes=15)  # readers trust hours that ended this long ago (SETTLE and a few rounds)


def floor_time(moment: datetime, interval: timedelta) -> datetime:
    """The start of the interval holding `moment`; intervals count from midnight UTC, as the tables do."""
    return datetime.min + (moment - datetime.min) // interval * interval
