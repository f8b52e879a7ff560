"""How one server is set up to be shared: the names it answers to, who may use it, how many sheets it
answers at once."""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

from search.app.web.auth import Authentication
from search.app.web.jobs import DEFAULT_QUEUE, DEFAULT_WORKERS
from search.app.web.protection import LOOPBACK_NAMES, host_name


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the server to this machine."""
    name = host_name(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    return host_name(host) in ("", "0.0.0.0", "::")


def allowed_hosts(bind: str, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The Host names a server bound to `bind` answers to: the loopback names, the bound address, this
    machine's own names when bound to every interface, and `extra` (`--allow-host`)."""
    names = [*LOOPBACK_NAMES, *extra]
    if is_wildcard(bind):
        names += [socket.gethostname(), socket.getfqdn()]
    else:
        names.append(bind)
    return tuple(dict.fromkeys(host_name(n) for n in names if n))


@dataclass(frozen=True)
class ServerSettings:
    allowed_hosts: tuple[str, ...] = LOOPBACK_NAMES
    auth: Authentication = field(default_factory=Authentication)
    answer_workers: int = DEFAULT_WORKERS
    answer_queue: int = DEFAULT_QUEUE
