"""Which URLs and IP addresses a fetch may reach (server-side request forgery guard).

A feed is data from strangers: its links, and the redirects of the pages they point to, must
not make a worker call loopback, the LAN, or a cloud metadata service. The check runs on the
address a connection is really made to (see http_client), after DNS, so a hostname that
resolves to 10.0.0.1 is refused like the literal.

IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-compatible, 6to4, NAT64, Teredo)
are unwrapped and judged by the IPv4 address inside: Python 3.11's `ipaddress` calls
`64:ff9b::7f00:1` and `2002:7f00:1::` global although both reach 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import urllib.parse

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = ("http", "https")

# Reasons that `allow_private_addresses` does not lift (only an explicit allowed network does).
REASON_UNSPECIFIED = "unspecified address"
REASON_MULTICAST = "multicast address"
REASON_METADATA = "cloud metadata service"
_ALWAYS_FORBIDDEN = (REASON_UNSPECIFIED, REASON_MULTICAST, REASON_METADATA)

# AWS, GCP, Azure, OpenStack (IPv4) and AWS (IPv6) instance metadata endpoints.
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(text) for text in ("169.254.169.254", "fd00:ec2::254")
)

_IPV4_RULES: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(cidr), reason)
    for cidr, reason in (
        ("0.0.0.0/8", REASON_UNSPECIFIED),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("224.0.0.0/4", REASON_MULTICAST),
        ("100.64.0.0/10", "shared address space (CGNAT, RFC 6598)"),
        ("198.18.0.0/15", "benchmarking (RFC 2544)"),
        ("10.0.0.0/8", "private"),
        ("172.16.0.0/12", "private"),
        ("192.168.0.0/16", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("240.0.0.0/4", "reserved"),
    )
)

_IPV6_RULES: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(cidr), reason)
    for cidr, reason in (
        ("::/128", REASON_UNSPECIFIED),
        ("::1/128", "loopback"),
        ("fe80::/10", "link-local"),
        ("ff00::/8", REASON_MULTICAST),
        ("fc00::/7", "private (unique local)"),
        ("fec0::/10", "site-local (deprecated)"),
        ("2001:db8::/32", "documentation"),
        ("2001:2::/48", "benchmarking (RFC 5180)"),
        ("64:ff9b:1::/48", "NAT64 local-use prefix (RFC 8215)"),
        ("100::/64", "discard-only (RFC 6666)"),
    )
)

_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _parse(ip: str | IPAddress) -> IPAddress:
    if isinstance(ip, str):
        # Scope ids ("fe80::1%eth0") come from getaddrinfo for link-local addresses.
        return ipaddress.ip_address(ip.split("%", 1)[0])
    return ip


def embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address carries, with the name of the form, or None."""
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip in _NAT64_WELL_KNOWN:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    if ip.teredo is not None:
        return "Teredo", ip.teredo[1]
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:
        return "IPv4-compatible", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _forbidden_ipv4(ip: ipaddress.IPv4Address) -> str | None:
    if ip in _METADATA_ADDRESSES:
        return REASON_METADATA
    for network, reason in _IPV4_RULES:
        if ip in network:
            return reason
    if not ip.is_global:
        return "not globally routable"
    return None


def is_forbidden_address(ip: str | IPAddress) -> str | None:
    """Why a fetch must not connect to `ip`, or None for a public unicast address."""
    address = _parse(ip)
    if isinstance(address, ipaddress.IPv4Address):
        return _forbidden_ipv4(address)
    if address in _METADATA_ADDRESSES:
        return REASON_METADATA
    for network, reason in _IPV6_RULES:
        if address in network:
            return reason
    embedded = embedded_ipv4(address)
    if embedded is not None:
        form, inner = embedded
        inner_reason = _forbidden_ipv4(inner)
        if inner_reason is not None:
            return f"{form} {inner}: {inner_reason}"
        if form in ("Teredo", "IPv4-compatible"):
            # Deprecated tunnels, never a news site's address; `ipaddress` rightly says
            # not global for them, but say why.
            return f"{form} tunnel address"
        return None
    if not address.is_global:
        return "not globally routable"
    return None


def unsupported_scheme(url: str) -> str | None:
    """Why a URL's scheme cannot be fetched, or None for http/https."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme in ALLOWED_SCHEMES:
        return None
    return f"scheme {scheme!r} is not fetched (only http and https)"


@dataclasses.dataclass(frozen=True)
class AddressPolicy:
    """What to allow on top of public addresses.

    `allowed_networks` (CIDRs) are always reachable, e.g. 127.0.0.0/8 for a test server while
    a redirect to 10.0.0.1 stays blocked. `allow_private` opens every forbidden range except
    the unspecified address, multicast and the cloud metadata endpoints.
    """

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, allow_private: bool, allowed_networks: tuple[str, ...]) -> AddressPolicy:
        networks = tuple(ipaddress.ip_network(cidr, strict=False) for cidr in allowed_networks)
        return cls(allow_private=allow_private, allowed_networks=networks)

    def _explicitly_allowed(self, address: IPAddress) -> bool:
        candidates = [address]
        if isinstance(address, ipaddress.IPv6Address):
            embedded = embedded_ipv4(address)
            if embedded is not None:
                candidates.append(embedded[1])
        return any(
            candidate.version == network.version and candidate in network
            for candidate in candidates
            for network in self.allowed_networks
        )

    def check(self, ip: str | IPAddress) -> str | None:
        """Why this policy refuses `ip`, or None when a connection may be made."""
        address = _parse(ip)
        reason = is_forbidden_address(address)
        if reason is None or self._explicitly_allowed(address):
            return None
        if self.allow_private and not any(hard in reason for hard in _ALWAYS_FORBIDDEN):
            return None
        return reason
