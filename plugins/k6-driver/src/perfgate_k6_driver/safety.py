"""Keeping k6 on allowed hosts: everything but loopback and ``allow_hosts`` is blocked.

perfgate checks the service URL it hands to a script, but a script can call any URL it
likes. So the driver also passes k6 ``--blacklist-ip`` with every address range except
loopback and the addresses the ``allow_hosts`` names resolve to: a hard-coded production URL
in a script fails fast (k6 error code 1110) instead of being loaded.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK: tuple[Network, ...] = (ipaddress.ip_network("127.0.0.0/8"),
                                 ipaddress.ip_network("::1/128"))


def resolve(hosts: Iterable[str]) -> tuple[list[Network], list[str]]:
    """The addresses of ``hosts`` as single-address networks, and the hosts that did not resolve."""
    found: list[Network] = []
    unresolved: list[str] = []
    for host in hosts:
        try:
            found.append(ipaddress.ip_network(host.strip("[]")))
            continue
        except ValueError:
            pass
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except OSError:
            unresolved.append(host)
            continue
        for info in infos:
            found.append(ipaddress.ip_network(str(info[4][0]).split("%")[0]))
    return found, unresolved


def blocked_ranges(allowed: Iterable[Network]) -> list[str]:
    """Every IPv4 and IPv6 range that contains none of the ``allowed`` networks."""
    out: list[str] = []
    for universe in (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")):
        blocked: list[Network] = [universe]
        for net in allowed:
            if net.version != universe.version:
                continue
            next_blocked: list[Network] = []
            for block in blocked:
                if block.overlaps(net):
                    if not net.supernet_of(block):  # type: ignore[arg-type]
                        next_blocked.extend(block.address_exclude(net))  # type: ignore[arg-type]
                else:
                    next_blocked.append(block)
            blocked = next_blocked
        out.extend(str(n) for n in sorted(blocked))
    return out
