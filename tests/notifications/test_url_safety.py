"""Callback URL safety: schemes, literal and resolved addresses, the allowlist and metadata endpoints."""

import socket

import pytest

from app.notifications.url_safety import (
    Allowlist,
    UnsafeCallbackUrl,
    check_callback_url,
    check_syntax_only,
    default_resolver,
    parse_allowlist,
)

DNS = {
    "hooks.example.com": ["93.184.216.34"],
    "dual.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
    "internal.corp": ["10.1.2.3"],
    "Internal-Two.corp": ["10.9.9.9"],
    "mixed.example.com": ["93.184.216.34", "169.254.169.254"],
    "mixed-private.example.com": ["93.184.216.34", "10.0.0.7"],
    "metadata-alias.example.com": ["169.254.169.254"],
    "mapped.example.com": ["::ffff:169.254.169.254"],
    "nat64.example.com": ["64:ff9b::a9fe:a9fe"],
    "nat64-public.example.com": ["64:ff9b::5db8:d822"],
    "loop.example.com": ["127.0.0.1"],
    "cgnat.example.com": ["100.64.1.1"],
    "empty.example.com": [],
    "bogus.example.com": ["not-an-ip"],
}


def fake_resolver(host: str) -> list[str]:
    """Answer from the DNS table above, case-insensitively; unknown names fail like getaddrinfo."""
    for name, answers in DNS.items():
        if name.lower() == host:
            return answers
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def refusing_resolver(host: str) -> list[str]:
    """A resolver that must not be consulted."""
    raise AssertionError(f"resolver called for {host}")


def check(url: str, allowed=()) -> list[str]:
    """Run the full check with the fake resolver."""
    return check_callback_url(url, allowed, resolve=fake_resolver)


@pytest.mark.parametrize(
    ("url", "approved"),
    [
        ("https://hooks.example.com/cb", ["93.184.216.34"]),
        ("http://hooks.example.com:8080/cb?x=1#frag", ["93.184.216.34"]),
        ("HTTPS://HOOKS.EXAMPLE.COM/cb", ["93.184.216.34"]),
        ("https://hooks.example.com./cb", ["93.184.216.34"]),  # fully qualified, trailing dot
        ("https://user:pa%20ss@hooks.example.com/cb", ["93.184.216.34"]),  # userinfo is fine
        ("https://dual.example.com/", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]),
        ("https://93.184.216.34/cb", ["93.184.216.34"]),
        ("https://[2606:4700:4700::1111]:8443/cb", ["2606:4700:4700::1111"]),
        ("https://nat64-public.example.com/", ["64:ff9b::5db8:d822"]),  # DNS64 to a public IPv4
    ],
)
def test_public_urls_are_approved(url, approved):
    """Public hosts and addresses pass, and the approved addresses are returned for pinning."""
    assert check(url) == approved


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/cb",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "gopher://hooks.example.com/",
        "data:text/plain,hi",
        "ws://hooks.example.com/",
        "//hooks.example.com/cb",
        "hooks.example.com/cb",
        "",
    ],
)
def test_other_schemes_are_refused(url):
    """Only http and https callbacks are allowed."""
    with pytest.raises(UnsafeCallbackUrl, match="scheme"):
        check_callback_url(url, (), resolve=refusing_resolver)
    with pytest.raises(UnsafeCallbackUrl, match="scheme"):
        check_syntax_only(url, ())


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https:///cb", "no host"),
        ("https://user@/cb", "no host"),
        ("https://hooks.example.com:99999/", "cannot be parsed"),
        ("https://hooks.example.com:port/", "cannot be parsed"),
        ("https://[::1/", "cannot be parsed"),
        ("https://hooks.example.com\\@169.254.169.254/", "backslash"),
        ("https://169.254.169.254\\@hooks.example.com/", "backslash"),
        ("https://hooks.exa mple.com/", "whitespace"),
        ("https://hooks.example.com/\tcb", "whitespace"),
        ("https://hooks.example.com\r\n/cb", "whitespace"),
        ("https://%31%32%37.0.0.1/", "characters a host name cannot have"),
        ("https://hooks$.example.com/", "characters a host name cannot have"),
    ],
)
def test_malformed_urls_are_refused(url, reason):
    """URLs that parsers could read differently, or that name no host, are refused without DNS."""
    with pytest.raises(UnsafeCallbackUrl, match=reason):
        check_callback_url(url, ["0.0.0.0/0", "::/0"], resolve=refusing_resolver)


PRIVATE_LITERALS = [
    "http://10.0.0.1/",
    "http://10.255.255.255/",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.1.10/",
    "http://127.0.0.1:5000/",
    "http://127.8.9.10/",
    "http://100.64.0.1/",  # CGNAT
    "http://100.127.255.254/",
    "http://192.0.2.5/",  # documentation range: not public
    "http://198.18.0.1/",  # benchmarking range
    "http://[::1]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[fec0::1]/",  # deprecated site-local
    "http://[::ffff:10.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:127.0.0.1]/",
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://0x7f000001/",  # hexadecimal
    "http://0177.0.0.1/",  # octal
    "http://127.1/",  # short form
    "http://0x0a.1/",  # 10.0.0.1
    "http://localhost:8000/",
    "http://LOCALHOST/",
    "http://api.localhost/",
]


@pytest.mark.parametrize("url", PRIVATE_LITERALS)
def test_private_literals_refused_without_allowlist(url):
    """Private, loopback and CGNAT addresses in any spelling are refused unless allowlisted, without DNS."""
    with pytest.raises(UnsafeCallbackUrl, match="private address"):
        check_callback_url(url, (), resolve=refusing_resolver)
    with pytest.raises(UnsafeCallbackUrl, match="private address"):
        check_syntax_only(url, ())


@pytest.mark.parametrize("url", PRIVATE_LITERALS)
def test_private_literals_allowed_by_covering_cidrs(url):
    """An allowlist covering every private range lets each of them through."""
    allowed = "10.0.0.0/8, 172.16.0.0/12,192.168.0.0/16,127.0.0.0/8,100.64.0.0/10,192.0.2.0/24,198.18.0.0/15"
    allowed += ",::1,fc00::/7,fec0::/10"
    assert check_callback_url(url, allowed, resolve=refusing_resolver)
    check_syntax_only(url, allowed)


NEVER_LITERALS = [
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://169.254.170.2/v2/credentials", "cloud metadata"),  # ECS task credentials
    ("http://[fd00:ec2::254]/", "cloud metadata"),
    ("http://100.100.100.200/", "cloud metadata"),  # Alibaba
    ("http://[::ffff:169.254.169.254]/", "cloud metadata"),
    ("http://[::ffff:a9fe:a9fe]/", "cloud metadata"),
    ("http://[64:ff9b::a9fe:a9fe]/", "cloud metadata"),  # NAT64
    ("http://2852039166/", "cloud metadata"),  # 169.254.169.254 as a decimal
    ("http://0xa9fea9fe/", "cloud metadata"),
    ("http://0251.0376.0251.0376/", "cloud metadata"),
    ("http://169.254.1.1/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fe80::1%25eth0]/", "link-local"),  # with a zone id
    ("http://0.0.0.0/", "unspecified"),
    ("http://0/", "unspecified"),
    ("http://0.1.2.3/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("http://239.255.255.250/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://255.255.255.255/", "reserved"),
    ("http://[::127.0.0.1]/", "reserved"),  # deprecated IPv4-compatible
    ("http://[100::1]/", "reserved"),  # discard-only
    ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata host"),
    ("http://METADATA.google.internal./", "cloud metadata host"),
    ("http://metadata/", "cloud metadata host"),
    ("http://user:pw@metadata.google.internal/", "cloud metadata host"),
    ("http://hooks.example.com@169.254.169.254/", "cloud metadata"),  # userinfo trick
]
EVERYTHING = ["0.0.0.0/0", "::/0", "metadata.google.internal", "metadata", "localhost"]


@pytest.mark.parametrize(("url", "reason"), NEVER_LITERALS)
@pytest.mark.parametrize("allowed", [(), EVERYTHING], ids=["no-allowlist", "allow-everything"])
def test_never_reachable_even_when_allowlisted(url, reason, allowed):
    """Metadata, link-local, unspecified, multicast and reserved addresses are refused even if allowlisted."""
    with pytest.raises(UnsafeCallbackUrl, match=reason):
        check_callback_url(url, allowed, resolve=refusing_resolver)
    with pytest.raises(UnsafeCallbackUrl, match=reason):
        check_syntax_only(url, allowed)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://metadata-alias.example.com/", "cloud metadata"),
        ("https://mapped.example.com/", "cloud metadata"),
        ("https://nat64.example.com/", "cloud metadata"),
        ("https://mixed.example.com/", "169.254.169.254 .from mixed.example.com. is a cloud metadata"),
    ],
)
@pytest.mark.parametrize("allowed", [(), EVERYTHING + ["mixed.example.com", "metadata-alias.example.com"]])
def test_names_resolving_to_never_addresses_refused(url, reason, allowed):
    """A name pointing at metadata or link-local is refused, even allowlisted by name or network."""
    with pytest.raises(UnsafeCallbackUrl, match=reason):
        check(url, allowed)


def test_mixed_public_and_private_resolution_refused():
    """Every resolved address is checked: one private answer among public ones refuses the URL."""
    with pytest.raises(UnsafeCallbackUrl, match="10.0.0.7 .from mixed-private.example.com. is a private address"):
        check("https://mixed-private.example.com/")
    assert check("https://mixed-private.example.com/", ["10.0.0.0/24"]) == ["93.184.216.34", "10.0.0.7"]


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://internal.corp/cb", ["10.0.0.0/8"]),
        ("https://internal.corp/cb", ["10.1.2.3"]),
        ("https://internal.corp/cb", ["10.1.2.0/24"]),
        ("https://internal.corp/cb", ["internal.corp"]),
        ("https://internal.corp/cb", ["INTERNAL.Corp"]),  # host names match case-insensitively
        ("https://INTERNAL.CORP/cb", ["internal.corp"]),
        ("https://internal.corp./cb", ["internal.corp."]),
        ("https://internal-two.corp/cb", ["internal-two.corp"]),
        ("https://internal.corp/cb", "192.168.0.0/16, internal.corp"),  # the raw comma-separated setting
        ("https://loop.example.com/", ["127.0.0.0/8"]),
        ("https://cgnat.example.com/", ["100.64.0.0/10"]),
        ("http://localhost:8000/", ["localhost"]),
        ("http://127.0.0.1:8000/", ["127.0.0.0/8", "::1"]),
    ],
)
def test_allowlisted_private_hosts_are_approved(url, allowed):
    """A private address passes when a CIDR contains it or its host name is listed exactly."""
    assert check(url, allowed)
    check_syntax_only(url, allowed)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://internal.corp/cb", ["10.2.0.0/16"]),  # a CIDR that does not contain it
        ("https://internal.corp/cb", ["corp"]),  # no suffix matching
        ("https://internal.corp/cb", ["other.internal.corp"]),
        ("https://internal.corp/cb", ["internal.corp.evil"]),
        ("https://internal.corp/cb", ["internal-two.corp"]),
        ("https://loop.example.com/", ["localhost"]),  # allowlisting a name covers that name only
        ("https://internal.corp/cb", ["fc00::/7"]),  # other address family
    ],
)
def test_allowlist_does_not_overreach(url, allowed):
    """Host names match exactly and networks by containment; nothing broader."""
    with pytest.raises(UnsafeCallbackUrl, match="private address"):
        check(url, allowed)


def test_localhost_needs_both_loopback_families():
    """localhost means 127.0.0.1 and ::1: an IPv4-only allowlist does not cover it."""
    with pytest.raises(UnsafeCallbackUrl, match="::1"):
        check_syntax_only("http://localhost/", ["127.0.0.0/8"])
    check_syntax_only("http://localhost/", ["127.0.0.0/8", "::1"])


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("nowhere.invalid", "cannot be resolved"),
        ("empty.example.com", "resolves to no address"),
        ("bogus.example.com", "not an address"),
    ],
)
def test_unresolvable_hosts_are_refused(host, reason):
    """A host with no usable address is unsafe too."""
    with pytest.raises(UnsafeCallbackUrl, match=reason):
        check(f"https://{host}/")


def test_idna_failure_is_refused():
    """A resolver that cannot even encode the name (a UnicodeError) counts as unresolvable."""

    def broken(host: str) -> list[str]:
        """Fail as getaddrinfo does on an over-long label."""
        raise UnicodeError("label too long")

    with pytest.raises(UnsafeCallbackUrl, match="cannot be resolved"):
        check_callback_url("https://a.example.com/", (), resolve=broken)


def test_syntax_only_leaves_names_to_the_resolver():
    """Without DNS an ordinary name passes, even one that will later resolve somewhere private."""
    check_syntax_only("https://internal.corp/cb", ())
    check_syntax_only("https://mixed.example.com/cb", ())
    check_syntax_only("https://bücher.example/cb", ())  # internationalised names are fine


def test_duplicate_answers_reported_once():
    """Repeated resolver answers (one per socket type) are approved once each."""

    def twice(host: str) -> list[str]:
        """Answer the same address twice, as getaddrinfo does for several socket types."""
        return ["93.184.216.34", "93.184.216.34"]

    assert check_callback_url("https://hooks.example.com/", (), resolve=twice) == ["93.184.216.34"]


def test_message_names_the_reason_not_the_url():
    """The message says why but never repeats userinfo, which may hold credentials."""
    with pytest.raises(UnsafeCallbackUrl) as caught:
        check("https://admin:hunter2@internal.corp/cb")
    assert "hunter2" not in str(caught.value)
    assert (
        caught.value.reason
        == str(caught.value)
        == "10.1.2.3 (from internal.corp) is a private address not in CALLBACK_ALLOWED_NETWORKS"
    )
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("setting", "networks", "hosts"),
    [
        ("", 0, set()),
        (" , ,", 0, set()),
        ("10.0.0.0/8,localhost", 1, {"localhost"}),
        (["127.0.0.0/8", "::1", "Hooks.Internal."], 2, {"hooks.internal"}),
        (("10.1.2.3",), 1, set()),
        ("10.1.2.3/8", 1, set()),  # host bits set: taken as the network 10.0.0.0/8
    ],
)
def test_parse_allowlist(setting, networks, hosts):
    """Entries split on commas, trimmed, lowercased; addresses become single-address networks."""
    parsed = parse_allowlist(setting)
    assert len(parsed.networks) == networks and parsed.hosts == hosts
    assert parse_allowlist(parsed) is parsed


@pytest.mark.parametrize("setting", ["10.0.0.0/33", "10.0.0/8x", "host/path", "bad host", "http://x.corp"])
def test_parse_allowlist_rejects_malformed_entries(setting):
    """A malformed entry is a configuration error, so start-up can fail fast."""
    with pytest.raises(ValueError, match="CALLBACK_ALLOWED_NETWORKS"):
        parse_allowlist(setting)


def test_the_setting_named_in_messages_can_be_given():
    """Another allowlist (IMAGE_ALLOWED_NETWORKS) is named in parse errors and private-address reasons."""
    with pytest.raises(ValueError, match="^IMAGE_ALLOWED_NETWORKS: 'host/path'"):
        parse_allowlist("host/path", "IMAGE_ALLOWED_NETWORKS")
    with pytest.raises(UnsafeCallbackUrl) as caught:
        check_syntax_only("http://10.1.2.3/cb", (), "IMAGE_ALLOWED_NETWORKS")
    assert caught.value.reason == "10.1.2.3 is a private address not in IMAGE_ALLOWED_NETWORKS"


def test_allowlist_object_accepted_directly():
    """A pre-parsed Allowlist can be passed to both checks."""
    allowlist = Allowlist(hosts=frozenset({"internal.corp"}))
    assert check("https://internal.corp/", allowlist) == ["10.1.2.3"]


def test_default_resolver_answers_with_address_strings():
    """The system resolver returns plain address strings (localhost needs no network)."""
    assert set(default_resolver("localhost")) & {"127.0.0.1", "::1"}
