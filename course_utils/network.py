"""The one network probe of the course: is a download server reachable, within a few seconds?

Used before every download (``data.downloads`` for the opt-in datasets,
``models.pretrained`` for published weights) so that an offline machine gets a
clear error in seconds instead of a download that hangs.
"""
from __future__ import annotations

import socket
import threading
from urllib.parse import urlparse


def host_port(url: str) -> tuple[str, int]:
    """``(host, port)`` of ``url``; the port defaults to 443 for https, else 80."""
    parsed = urlparse(url)
    return parsed.hostname or "", parsed.port or (443 if parsed.scheme == "https" else 80)


def reachable(host: str, port: int, timeout: float) -> bool:
    """True when a TCP connection to ``host:port`` opens within ``timeout`` seconds.

    The connection (DNS lookup included, which ignores socket timeouts) runs in a
    daemon thread, so an unresponsive network costs ``timeout`` seconds, not
    minutes. Any failure, of any type, answers False.
    """
    if not host:
        return False
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except Exception:  # noqa: BLE001 - any failure to connect means "not reachable"
            result.append(False)

    worker = threading.Thread(target=probe, daemon=True, name="course-utils-net-check")
    worker.start()
    worker.join(timeout)
    return bool(result) and result[0]
