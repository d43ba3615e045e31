# private to this collection; no compatibility guarantees
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One TCP connect attempt, classified the way a person debugging a cluster thinks about it."""

from __future__ import annotations

import errno
import socket

LISTENING = 'listening'
REFUSED = 'refused'
FILTERED = 'filtered'
NO_ROUTE = 'no_route'
DNS_ERROR = 'dns_error'
# Anything the kernel reports that fits none of the above (e.g. EPERM from a local OUTPUT rule).
ERROR = 'error'

_NO_ROUTE_ERRNOS = frozenset((errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN))


class ProbeResult(object):
    """What one connect attempt found: a state from this module and a short human detail."""

    def __init__(self, state, detail, address=None):
        self.state = state
        self.detail = detail
        self.address = address

    def __repr__(self):
        return 'ProbeResult(%r, %r, %r)' % (self.state, self.detail, self.address)


def host_port(host, port):
    """'host:port', with an IPv6 address in brackets: the form ray start --address and URLs take."""
    return '%s:%d' % ('[%s]' % host if ':' in host else host, port)


def _preferred_address(infos):
    """The getaddrinfo entry to try: IPv4 first, because Ray announces and binds IPv4 addresses."""
    for info in infos:
        if info[0] == socket.AF_INET:
            return info
    return infos[0]


def resolve(host, port, socktype=socket.SOCK_STREAM):
    """(family, sockaddr) for host:port; raises socket.gaierror when the name does not resolve."""
    info = _preferred_address(socket.getaddrinfo(host, port, socket.AF_UNSPEC, socktype))
    return info[0], info[4]


def probe_tcp(host, port, timeout):
    """Try one TCP connect to host:port within timeout seconds and classify the outcome.

    A timeout means the SYN got no answer at all: something dropped the packets, which on a LAN is
    almost always a firewall. A refusal means the host answered and nothing listens on the port.
    """
    try:
        family, sockaddr = resolve(host, port)
    except socket.gaierror as exc:
        return ProbeResult(DNS_ERROR, 'cannot resolve %s: %s' % (host, exc.strerror))
    address = sockaddr[0]

    sock = socket.socket(family, socket.SOCK_STREAM)
    # A zero timeout would make the socket non-blocking and turn every try into EINPROGRESS.
    sock.settimeout(max(timeout, 0.001))
    try:
        sock.connect(sockaddr)
    except socket.timeout:
        return ProbeResult(FILTERED, 'no answer within %.1fs' % timeout, address)
    except OSError as exc:
        if exc.errno == errno.ECONNREFUSED:
            return ProbeResult(REFUSED, 'connection refused', address)
        if exc.errno == errno.ETIMEDOUT:
            return ProbeResult(FILTERED, 'connection timed out', address)
        if exc.errno in _NO_ROUTE_ERRNOS:
            return ProbeResult(NO_ROUTE, exc.strerror or str(exc), address)
        return ProbeResult(ERROR, exc.strerror or str(exc), address)
    finally:
        sock.close()
    return ProbeResult(LISTENING, 'accepted the connection', address)


def local_source_address(host, port=9):
    """The local address this machine would use to reach host, or None if it has no route.

    Connecting a UDP socket only selects a route and a source address: no packet is sent.
    """
    try:
        family, sockaddr = resolve(host, port, socket.SOCK_DGRAM)
    except socket.gaierror:
        return None
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.connect(sockaddr)
        return sock.getsockname()[0]
    except OSError:
        return None
    finally:
        sock.close()
