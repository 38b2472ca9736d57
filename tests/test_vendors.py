"""Device makers from the registry netaddr bundles: netaddr's own answer, for a fraction of its memory."""

import random

from netaddr import EUI, NotRegisteredError

from collector.vendors import _Registry, is_randomised, vendor


def netaddr_says(oui: int) -> str | None:
    """netaddr's own answer for an OUI, as the collector used to ask it."""
    text = f"{oui >> 16:02x}:{(oui >> 8) & 255:02x}:{oui & 255:02x}:00:00:00"
    try:
        return EUI(text).oui.registration().org.strip() or None
    except (NotRegisteredError, IndexError):
        return None


def test_every_sampled_registration_matches_netaddr() -> None:
    """500 registered OUIs and 200 arbitrary ones (most unregistered) give netaddr's organisation, or None."""
    registry = _Registry()
    rng = random.Random(7)
    sample = rng.sample(list(registry.ouis), 500) + [rng.randrange(1 << 24) for _ in range(200)]
    assert [registry.organisation(oui) for oui in sample] == [netaddr_says(oui) for oui in sample]


def test_known_makers_and_randomised_macs() -> None:
    """A Haier TV has its maker; a randomised phone MAC has none."""
    assert vendor("a0:82:22:44:c6:1a") == netaddr_says(0xA08222) == "Qingdao Haier Technology Co.,Ltd"
    assert is_randomised("da:a1:19:00:00:01")
    assert vendor("da:a1:19:00:00:01") is None
