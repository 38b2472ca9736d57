"""Day partitions planned from what exists: where to split p_future, what retention drops, when holes are missing."""

from datetime import datetime

import pytest

from collector.partitions import DAY, HORIZON_DAYS, Partition, expired, future_bounds, name_for, parse_bound
from collector.retention import Size, compression_works

TODAY = datetime(2026, 12, 1)


def days(*offsets: int) -> list[datetime]:
    """Midnights that many days from today."""
    return [TODAY + offset * DAY for offset in offsets]


def test_a_fresh_table_gets_today_and_the_week_ahead() -> None:
    """Only p_future: partitions end tomorrow through 8 days on, one a day."""
    assert future_bounds([Partition("p_future", None)], None, TODAY) == days(*range(1, 9))


def test_only_the_missing_days_are_added() -> None:
    """With days up to the 4th, the 5th to the 8th are added; with the week there already, nothing."""
    existing = [Partition(name_for(bound), bound) for bound in days(1, 2, 3, 4)] + [Partition("p_future", None)]
    assert future_bounds(existing, None, TODAY) == days(5, 6, 7, 8)
    full = [Partition(name_for(bound), bound) for bound in days(*range(1, 9))] + [Partition("p_future", None)]
    assert future_bounds(full, None, TODAY) == []


def test_old_rows_waiting_in_p_future_start_the_days_at_their_own_day_but_no_more_than_the_horizon() -> None:
    """Rows from 3 days ago start the days there; rows from 1970 start them HORIZON_DAYS back, not 20,000."""
    assert future_bounds([Partition("p_future", None)], TODAY - 3 * DAY, TODAY)[0] == TODAY - 2 * DAY
    bounds = future_bounds([Partition("p_future", None)], datetime(1970, 1, 1), TODAY)
    assert bounds[0] == TODAY - (HORIZON_DAYS - 1) * DAY
    assert len(bounds) == HORIZON_DAYS + 8


def test_retention_drops_only_partitions_wholly_older_than_the_cutoff() -> None:
    """A partition ending at the cutoff goes; one ending after it (it holds newer rows) and p_future stay."""
    parts = [Partition(name_for(bound), bound) for bound in days(-3, -2, -1)] + [Partition("p_future", None)]
    assert [part.name for part in expired(parts, TODAY - 2 * DAY)] == ["p20261127", "p20261128"]


@pytest.mark.parametrize(
    ("description", "bound"),
    [("'2026-12-02'", datetime(2026, 12, 2)), ("'2026-12-02 00:00:00'", datetime(2026, 12, 2)), ("MAXVALUE", None)],
)
def test_information_schema_bounds_are_read(description: str, bound: datetime | None) -> None:
    """Both spellings MariaDB uses for a RANGE COLUMNS bound, and MAXVALUE."""
    assert parse_bound(description) == bound


def test_partition_names_are_the_day_they_hold() -> None:
    """The partition of rows before 2026-12-02 holds 2026-12-01."""
    assert name_for(datetime(2026, 12, 2)) == "p20261201"


@pytest.mark.parametrize(
    ("file", "allocated", "works"),
    [(100 << 20, 35 << 20, True), (100 << 20, 98 << 20, False), (4 << 20, 4 << 20, None)],
)
def test_compression_without_hole_punching_is_told_once_there_is_enough_to_tell(
    file: int, allocated: int, works: bool | None
) -> None:
    """Files taking about their full size on disk mean no holes are punched; a few MB cannot tell."""
    sizes = [Size("messages", "p20261201", file, allocated), Size("devices", None, 1 << 30, 1 << 30)]
    assert compression_works(sizes) is works
