"""One rule, shared by every service, for secrets that were never really set."""

PLACEHOLDERS = frozenset({"", "changeme", "change-me", "change_me", "password", "secret", "example", "placeholder"})


def is_placeholder(value: str) -> bool:
    """True for an empty secret or one copied from an example file (`changeme...`)."""
    lowered = value.strip().lower()
    return lowered in PLACEHOLDERS or lowered.startswith(("changeme", "change-me", "change_me"))
