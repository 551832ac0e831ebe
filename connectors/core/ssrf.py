"""Where connectors may send requests: http(s) only; private, loopback, link-local and other non-public
addresses only when allow-listed. Names are resolved and every address checked BEFORE connecting, and the
connection goes to the checked address (so a DNS answer that changes between check and use cannot
redirect it).

Allow-list sources: ``connectors.allowed_private_hosts`` (hosts, IPs, ``host:port`` or CIDRs), hosts
registered in this process with :func:`allow_host` (the replay server registers itself when it starts),
and the explicit base URL covary itself passes to a run (``RunOptions.base_url``, e.g. the replay server
the ingest job started).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from connectors.errors import ConnectorError
from covary.errors import TerminalError

ALLOWED_SCHEMES = ("http", "https")
_RUNTIME: set[str] = set()
_LOCK = threading.Lock()


class UnsafeTargetError(ConnectorError, TerminalError, ValueError):
    """A URL a connector would fetch is not allowed: a non-http(s) scheme, or a private/loopback/link-local
    address that is not allow-listed, or another host than the source's base URL."""


def allow_host(host: str, port: int | None = None, *, local_server: bool = False) -> None:
    """Allow ``host`` (optionally only on ``port``) for this process.

    ``local_server=True`` (the replay server, on loopback) also records ``host:port`` in a per-user
    registry directory (0700) so that worker processes on this machine (Ray tasks) may reach it while
    the registering process lives; only loopback addresses are honoured from that registry.
    """
    with _LOCK:
        _RUNTIME.add(_entry(host, port))
    if local_server and port:
        directory = _registry()
        if directory is not None:
            (directory / f"{host.strip('[]')}_{port}.{os.getpid()}").touch()


def disallow_host(host: str, port: int | None = None) -> None:
    with _LOCK:
        _RUNTIME.discard(_entry(host, port))
    directory = _registry()
    if directory is not None and port:
        (directory / f"{host.strip('[]')}_{port}.{os.getpid()}").unlink(missing_ok=True)


def _registry() -> Path | None:
    """The per-user registry of live local servers, or None when it is missing or not private to this user."""
    directory = Path(tempfile.gettempdir()) / f"covary-allow-{os.getuid()}"
    try:
        directory.mkdir(mode=0o700, exist_ok=True)
        info = directory.stat()
    except OSError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    return directory


def _local_servers() -> set[str]:
    directory = _registry()
    out: set[str] = set()
    if directory is None:
        return out
    for path in directory.iterdir():
        name, _, pid = path.name.rpartition(".")
        try:
            os.kill(int(pid), 0)
        except (ValueError, ProcessLookupError):
            path.unlink(missing_ok=True)
            continue
        except PermissionError:
            continue
        host, _, port = name.rpartition("_")
        out.add(f"{host}:{port}")
    return out


def _entry(host: str, port: int | None) -> str:
    host = host.strip("[]").lower()
    return f"{host}:{port}" if port else host


def check_scheme(url: str, *, what: str = "URL") -> None:
    """Refuse anything but absolute http(s) URLs with a host (``file://``, ``gopher://``, ``ftp://`` ...)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES or not parts.hostname:
        raise UnsafeTargetError(
            f"{what} {_short(url)!r} is not allowed: only http:// and https:// URLs with a host are fetched",
            hint="use an http(s) base URL such as https://api.example.com",
        )


def _short(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "..."


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable unicast (not private, loopback, link-local, CGNAT, multicast, reserved, unspecified)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return is_public(ip.ipv4_mapped)
    if ip.is_loopback or ip.is_link_local or ip.is_private or ip.is_multicast or ip.is_reserved:
        return False
    if ip.is_unspecified or ip in ipaddress.ip_network("100.64.0.0/10"):
        return False
    return bool(ip.is_global)


def _allowed(host: str, port: int, ip: ipaddress.IPv4Address | ipaddress.IPv6Address, extra: Iterable[str]) -> bool:
    from covary.settings import get_settings

    entries = [*get_settings().connectors.allowed_private_hosts, *extra]
    with _LOCK:
        entries += list(_RUNTIME)
    if ip.is_loopback:
        entries += sorted(_local_servers())  # live local servers (the replay server) registered by other processes
    host = host.strip("[]").lower()
    for raw in entries:
        entry = raw.strip().lower()
        if not entry:
            continue
        if "/" in entry:
            try:
                if ip in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
            continue
        name, _, want_port = entry.rpartition(":") if _has_port(entry) else (entry, "", "")
        name = name.strip("[]")
        if want_port and str(port) != want_port:
            continue
        if name in (host, str(ip)):
            return True
    return False


def _has_port(entry: str) -> bool:
    if entry.startswith("["):
        return "]:" in entry
    return entry.count(":") == 1


def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address ``host`` resolves to (an IP literal is its own answer; nothing is sent to it)."""
    bare = host.strip("[]")
    try:
        return [ipaddress.ip_address(bare)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpx.ConnectError(f"cannot resolve {bare}: {exc}") from exc
    out: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if addr not in out:
            out.append(addr)
    return out


def check_target(
    url: str | httpx.URL, *, extra_allowed: Iterable[str] = ()
) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Resolve the URL's host and refuse it unless every address is public or allow-listed; return them."""
    text = str(url)
    check_scheme(text)
    parts = urlsplit(text)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    addresses = resolve(host, port)
    for ip in addresses:
        if not is_public(ip) and not _allowed(host, port, ip, extra_allowed):
            kind = (
                "loopback"
                if ip.is_loopback
                else "link-local"
                if ip.is_link_local
                else "private"
                if ip.is_private
                else "non-public"
            )
            raise UnsafeTargetError(
                f"refusing to connect to {host} ({ip}): it is a {kind} address (server-side request forgery guard)",
                hint="if this host is meant to be reached, add it to connectors.allowed_private_hosts "
                "(COVARY_CONNECTORS__ALLOWED_PRIVATE_HOSTS='[\"" + host + "\"]')",
            )
    return addresses


def same_origin(a: str, b: str) -> bool:
    """Same scheme, host and port (default ports filled in)."""
    pa, pb = urlsplit(a), urlsplit(b)

    def key(p: Any) -> tuple[str, str, int]:
        scheme = p.scheme.lower()
        return scheme, (p.hostname or "").lower(), p.port or (443 if scheme == "https" else 80)

    return key(pa) == key(pb)


class GuardedTransport(httpx.BaseTransport):
    """An ``httpx.HTTPTransport`` that checks every request's target before connecting and then connects
    to the checked address (TLS still verifies the original host name via SNI)."""

    def __init__(self, *, extra_allowed: Iterable[str] = (), **kwargs: Any) -> None:
        self.inner = httpx.HTTPTransport(**kwargs)
        self.extra_allowed = tuple(extra_allowed)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        addresses = check_target(request.url, extra_allowed=self.extra_allowed)
        host = request.url.host
        ip = str(addresses[0])
        if ip != host.strip("[]"):
            request.url = request.url.copy_with(host=ip)
            if request.url.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": host}
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


__all__ = [
    "ALLOWED_SCHEMES",
    "GuardedTransport",
    "UnsafeTargetError",
    "allow_host",
    "check_scheme",
    "check_target",
    "disallow_host",
    "is_public",
    "resolve",
    "same_origin",
]
