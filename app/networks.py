"""Allowlists of private networks and host names (CALLBACK_ALLOWED_NETWORKS, IMAGE_ALLOWED_NETWORKS), parsed."""

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

IMAGE_SETTING = "IMAGE_ALLOWED_NETWORKS"
CALLBACK_SETTING = "CALLBACK_ALLOWED_NETWORKS"  # the setting an allowlist comes from unless told otherwise
HOST_CHARS = re.compile(r"[a-z0-9._-]+")


@dataclass(frozen=True)
class Allowlist:
    """Parsed CALLBACK_ALLOWED_NETWORKS: networks and host names that may be private."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    def admits(self, host: str, address: IPAddress) -> bool:
        """Whether a private address reached through host is allowlisted, by host name or by network."""
        return host in self.hosts or any(address in network for network in self.networks)


def parse_allowlist(entries: "str | Sequence[str] | Allowlist", setting: str = CALLBACK_SETTING) -> Allowlist:
    """Parse comma-separated or listed CIDRs, addresses and host names; ValueError naming setting on a bad entry."""
    if isinstance(entries, Allowlist):
        return entries
    if isinstance(entries, str):
        entries = entries.split(",")
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    for entry in (e.strip().lower() for e in entries):
        if not entry:
            continue
        network = _network_or_none(entry)
        if network is not None:
            networks.append(network)
        elif "/" not in entry and HOST_CHARS.fullmatch(bare_host(entry)):
            hosts.add(bare_host(entry))
        else:
            raise ValueError(f"{setting}: {entry!r} is neither a network nor a host name")
    return Allowlist(tuple(networks), frozenset(hosts))


def bare_host(host: str) -> str:
    """Lowercase a host and drop the trailing dot of a fully qualified name."""
    return host.lower().rstrip(".")


def _network_or_none(entry: str) -> IPNetwork | None:
    """Return entry as a network (a bare address becomes a single-address network), else None."""
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None
