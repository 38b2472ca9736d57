"""The inventory logic: sightings become one upsert per device, address spans and the right events."""

from datetime import datetime, timedelta

import pytest

from collector.inventory import (
    HOSTNAME_CHANGE,
    IP_CHANGE,
    MAC_CHANGE,
    NEW_DEVICE,
    Inventory,
    Sighting,
    better_ipv6,
    is_local_network,
)  # fmt: skip

T0 = datetime(2026, 11, 17, 8, 0)
TV = "a0:82:22:44:c6:1a"
PHONE = "da:a1:19:00:00:01"


def at(seconds: int) -> datetime:
    """A time a few seconds after T0."""
    return T0 + timedelta(seconds=seconds)


def events(changes: object) -> list[tuple[str, str | None, str | None]]:
    """(event, old, new) of each event, in order."""
    return [(event[2], event[4], event[5]) for event in changes.events]


class TestInventory:
    """What a user sees in the devices table and its events."""

    def test_first_sighting_is_a_new_device_once(self) -> None:
        """A MAC never seen before makes one `new device` event, however often it shows up in the batch."""
        inventory = Inventory()
        changes = inventory.observe([Sighting(at(i), TV, "10.0.0.45", "addrwatch") for i in range(50)])
        assert events(changes) == [(NEW_DEVICE, None, None)]
        assert len(changes.devices) == 1
        assert changes.addresses == [(TV, "10.0.0.45", at(0), at(49))]

    def test_known_device_is_not_new(self) -> None:
        """A device already in the table (loaded at connect) is not announced again."""
        inventory = Inventory()
        inventory.load([(TV, "10.0.0.45", None, "my-tv")])
        assert inventory.observe([Sighting(at(0), TV, "10.0.0.45", "addrwatch")]).events == []

    def test_state_advances_only_after_commit(self) -> None:
        """A batch that never reached MariaDB is observed again as new when it is replayed."""
        inventory = Inventory()
        sighting = [Sighting(at(0), TV, "10.0.0.45", "addrwatch")]
        assert events(inventory.observe(sighting)) == [(NEW_DEVICE, None, None)]
        changes = inventory.observe(sighting)
        assert events(changes) == [(NEW_DEVICE, None, None)]
        inventory.apply(changes)
        assert inventory.observe(sighting).events == []

    def test_ip_hostname_and_owner_changes(self) -> None:
        """A new lease, a renamed device and an IPv4 taken over by another MAC are each recorded."""
        inventory = Inventory()
        inventory.load([(TV, "10.0.0.45", None, "my-tv"), ("00:11:22:33:44:55", "10.0.0.50", None, None)])
        changes = inventory.observe([
            Sighting(at(0), TV, "10.0.0.46", "dnsmasq", hostname="living-room-tv"),
            Sighting(at(1), TV, "10.0.0.50", "addrwatch"),
        ])  # fmt: skip
        assert events(changes) == [
            (IP_CHANGE, "10.0.0.45", "10.0.0.46"),
            (HOSTNAME_CHANGE, "my-tv", "living-room-tv"),
            (IP_CHANGE, "10.0.0.46", "10.0.0.50"),
            (MAC_CHANGE, "00:11:22:33:44:55", TV),
        ]

    def test_arpwatch_old_mac_names_the_previous_owner(self) -> None:
        """arpwatch's `changed ethernet address` says who had the IP, even if we never saw it."""
        changes = Inventory().observe([Sighting(at(0), TV, "10.0.0.7", "arpwatch", old_mac="00:d0:b7:23:72:45")])
        assert events(changes) == [(NEW_DEVICE, None, None), (MAC_CHANGE, "00:d0:b7:23:72:45", TV)]

    def test_device_row_holds_latest_addresses_vendor_and_randomised(self) -> None:
        """The upsert row carries the newest IPv4, the best IPv6, the vendor and the randomised flag."""
        changes = Inventory().observe([
            Sighting(at(0), TV, "2001:db8::45", "addrwatch", interface="br-lan", vlan=0),
            Sighting(at(1), TV, "fe80::a282:22ff:fe44:c61a", "addrwatch"),
            Sighting(at(2), TV, "10.0.0.45", "dnsmasq", hostname="my-tv"),
            Sighting(at(3), PHONE, "10.0.0.99", "addrwatch"),
        ])  # fmt: skip
        rows = {row[0]: row for row in changes.devices}
        _, first, last, ipv4, ipv6, interface, vlan, vendor, hostname, randomised, source = rows[TV]
        assert (first, last, ipv4, ipv6, interface, vlan) == (at(0), at(2), "10.0.0.45", "2001:db8::45", "br-lan", 0)
        assert (vendor, hostname, randomised, source) == ("Qingdao Haier Technology Co.,Ltd", "my-tv", False, "dnsmasq")
        assert (rows[PHONE][7], rows[PHONE][9]) == (None, True)

    @pytest.mark.parametrize(
        ("ip", "home"),
        [
            ("10.1.2.3", True), ("192.168.1.1", True), ("172.16.0.1", True), ("172.31.255.1", True),
            ("169.254.3.4", True), ("fe80::1", True), ("febf::1", True), ("fd12:3456::1", True), ("fc00::1", True),
            ("172.32.0.1", False), ("172.160.0.1", False), ("192.169.1.1", False), ("8.8.8.8", False),
            ("203.0.113.5", False), ("2001:db8::1", False), ("fc::1", False), ("fec0::1", False), ("fe8::1", False),
        ],
    )  # fmt: skip
    def test_home_network_addresses(self, ip: str, home: bool) -> None:
        """Private, unique-local and link-local addresses are the home's; documentation and public ones are not."""
        assert is_local_network(ip) is home

    def test_global_ipv6_beats_link_local(self) -> None:
        """Every device has fe80::; the global address is the one worth showing."""
        assert better_ipv6("2001:db8::1", "fe80::1") == "2001:db8::1"
        assert better_ipv6("fe80::1", "2001:db8::1") == "2001:db8::1"
        assert better_ipv6(None, "fe80::1") == "fe80::1"
        assert better_ipv6("2001:db8::1", "2001:db8::2") == "2001:db8::2"
