"""Whether a URL may be called: a callback URL POSTed to, or an image URL JoggAI fetches (scheme, host, addresses)."""

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from app.networks import (  # noqa: F401 (the allowlist's names, as callers of this module know them)
    CALLBACK_SETTING,
    HOST_CHARS,
    IMAGE_SETTING,
    Allowlist,
    IPAddress,
    IPNetwork,
    bare_host,
    parse_allowlist,
)

Resolver = Callable[[str], Sequence[str]]

ALLOWED_SCHEMES = frozenset({"http", "https"})
# Cloud instance-metadata endpoints hand out credentials: never reachable, allowlisted or not.
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
# "localhost" never goes to DNS (RFC 6761), so its addresses are known without a lookup.
LOOPBACK_NAMES = ("127.0.0.1", "::1")
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Candidates for the legacy inet_aton forms (2130706433, 0x7f.1, 0177.0.0.1) that resolvers accept.
_LEGACY_IPV4 = re.compile(r"[0-9a-fx.]+")


class UnsafeCallbackUrl(ValueError):
    """A callback URL we refuse to call, with the reason in the message."""

    def __init__(self, reason: str):
        """Keep the reason; the URL itself is left out because its userinfo may hold credentials."""
        super().__init__(reason)
        self.reason = reason


def default_resolver(host: str) -> list[str]:
    """Resolve a host name to its IP address strings through the system resolver."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def check_callback_url(
    url: str, allowed: "str | Sequence[str] | Allowlist", resolve: Resolver = default_resolver
) -> list[str]:
    """Return the resolved addresses approved for url (connect only to these); raise UnsafeCallbackUrl otherwise."""
    host = checked_host(url)
    allowlist = parse_allowlist(allowed)
    addresses = _literal_addresses(host) or _resolved_addresses(host, resolve)
    for address in addresses:
        _check_address(address, host, allowlist)
    return list(dict.fromkeys(str(a) for a in addresses))


def check_syntax_only(url: str, allowed: "str | Sequence[str] | Allowlist", setting: str = CALLBACK_SETTING) -> None:
    """Refuse what is knowable without DNS: scheme, literal addresses, metadata and loopback names.

    setting names the allowlist in the reason a private address gives.
    """
    host = checked_host(url)
    allowlist = parse_allowlist(allowed, setting)
    for address in _literal_addresses(host):
        _check_address(address, host, allowlist, setting)


def image_url_refusal(url: str, allowed: Sequence[str]) -> str | None:
    """Why JoggAI could not fetch this image (credentials, a loopback, private, reserved or one-label host), or None."""
    try:
        parts = urlsplit(url)
        check_syntax_only(url, allowed, IMAGE_SETTING)
    except UnsafeCallbackUrl as exc:
        return exc.reason
    except ValueError:
        return "is not a valid URL"
    if "@" in parts.netloc:
        return "must not carry credentials (user:password@); JoggAI would receive them"
    host = (parts.hostname or "").rstrip(".")
    local = host == "localhost" or host.endswith(".localhost")  # passed above only because allowlisted
    if "." not in host and ":" not in host and not local and host not in parse_allowlist(allowed, IMAGE_SETTING).hosts:
        return f"host {host!r} is a single-label name JoggAI cannot resolve; use a public host name"
    return None


def checked_host(url: str) -> str:
    """Return the URL's host, lowercased and without a trailing dot, after the checks needing no addresses."""
    if any(ch.isspace() or ord(ch) < 0x20 or ch in "\\\x7f" for ch in url):
        # Parsers disagree on these (WHATWG reads "\" as "/"): refuse rather than guess which host is meant.
        raise UnsafeCallbackUrl("the URL contains whitespace, control characters or a backslash")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed or out-of-range port
    except ValueError as exc:
        raise UnsafeCallbackUrl(f"the URL cannot be parsed ({exc})") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UnsafeCallbackUrl(f"scheme {parts.scheme or '(none)'!r} is not http or https")
    host = bare_host(parts.hostname or "")
    if not host:
        raise UnsafeCallbackUrl("the URL has no host")
    if host in METADATA_HOSTS:
        raise UnsafeCallbackUrl(f"{host} is a cloud metadata host")
    return host


def _literal_addresses(host: str) -> list[IPAddress]:
    """Return the addresses a host denotes without DNS: an IP literal or localhost; else an empty list."""
    if host == "localhost" or host.endswith(".localhost"):
        return [ipaddress.ip_address(a) for a in LOOPBACK_NAMES]
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(host):
        try:
            return [ipaddress.IPv4Address(socket.inet_aton(host))]
        except OSError:
            pass
    if not HOST_CHARS.fullmatch(host) and host.isascii():
        raise UnsafeCallbackUrl(f"host {host!r} contains characters a host name cannot have")
    return []


def _resolved_addresses(host: str, resolve: Resolver) -> list[IPAddress]:
    """Resolve host and parse every answer; an unresolvable host is unsafe too."""
    try:
        answers = resolve(host)
    except (OSError, UnicodeError) as exc:
        raise UnsafeCallbackUrl(f"host {host} cannot be resolved ({exc})") from None
    try:
        addresses = [ipaddress.ip_address(answer) for answer in answers]
    except ValueError as exc:
        raise UnsafeCallbackUrl(f"host {host} resolved to something that is not an address ({exc})") from None
    if not addresses:
        raise UnsafeCallbackUrl(f"host {host} resolves to no address")
    return addresses


def _check_address(address: IPAddress, host: str, allowlist: Allowlist, setting: str = CALLBACK_SETTING) -> None:
    """Refuse one address: never-reachable kinds always, private ones unless allowlisted."""
    target = _embedded_ipv4(address) or address
    never = _never_reason(target)
    label = str(address) if host == str(address) else f"{address} (from {host})"
    if never:
        raise UnsafeCallbackUrl(f"{label} is {never}")
    if _is_private(target) and not allowlist.admits(host, target):
        raise UnsafeCallbackUrl(f"{label} is a private address not in {setting}")


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address inside an IPv4-mapped or NAT64 IPv6 address, since that is where packets go."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _never_reason(address: IPAddress) -> str | None:
    """Describe why an address may never be called, even when allowlisted; None if it might be."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified or address in _THIS_NETWORK:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    # ::1 sits inside the reserved ::/8, yet loopback is private (allowlistable), not reserved.
    if address.is_reserved and not address.is_loopback:
        return "a reserved address"
    return None


def _is_private(address: IPAddress) -> bool:
    """Whether an address is non-public (private, loopback, CGNAT, documentation, site-local...)."""
    site_local = isinstance(address, ipaddress.IPv6Address) and address.is_site_local
    return not address.is_global or site_local
