"""An HTTP/1.1 client that reads the server's answer while it is still sending the body.

A server that refuses a body part-way (413) answers and closes the connection; a client that
only reads once it has sent everything (http.client, httpx) then sees a broken pipe or a reset
instead of the 413. This one checks for an answer before each chunk, as a browser does.
Loopback only; every call is bounded by `timeout`.
"""
from __future__ import annotations

import select
import socket
import time
import urllib.parse
import uuid
from collections.abc import Iterable


def multipart(fields: dict[str, str], file: tuple[str, bytes] | None) -> tuple[bytes, str]:
    """(body, Content-Type) of a form with `fields` and, optionally, one file (name, bytes) as `file`."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    if file is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file[0]}"\r\n'
                     "Content-Type: application/octet-stream\r\n\r\n".encode() + file[1] + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def send(base: str, method: str, path: str, headers: dict[str, str], body: Iterable[bytes] = (), *,
         chunked: bool = False, timeout: float = 30.0) -> tuple[int | str, bytes, float]:
    """(status, the first 64 KB of the answer's body, seconds); status is the error's name when the
    connection failed before any answer came."""
    url = urllib.parse.urlsplit(base)
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    head = [f"{method} {path} HTTP/1.1", "Connection: close"]
    if not any(k.lower() == "host" for k in headers):
        head.append(f"Host: {url.hostname}:{url.port}")
    head += [f"{k}: {v}" for k, v in headers.items()]
    if chunked:
        head.append("Transfer-Encoding: chunked")
    with socket.create_connection((url.hostname, url.port), timeout=timeout) as sock:
        try:
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            for piece in body:
                if select.select([sock], [], [], 0)[0] or time.monotonic() > deadline:
                    break  # the server answered (or we gave up): stop sending
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
            else:
                if chunked:
                    sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server closed its side: its answer may still be waiting to be read
        raw = b""
        try:
            while time.monotonic() < deadline and len(raw) < 65536 + 8192:
                if not select.select([sock], [], [], max(0.0, deadline - time.monotonic()))[0]:
                    break
                chunk = sock.recv(65536)
                if not chunk:
                    break
                raw += chunk
        except OSError as e:
            if not raw:
                return type(e).__name__, b"", time.perf_counter() - started
    if not raw.startswith(b"HTTP/1.1 "):
        return "no answer", raw[:200], time.perf_counter() - started
    status_line, _, rest = raw.partition(b"\r\n")
    _, _, content = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), content[:65536], time.perf_counter() - started
