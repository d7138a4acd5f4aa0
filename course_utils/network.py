"""The one network probe of the course: is a download server reachable, within a few seconds?

Used before every download (``data.downloads`` for the opt-in datasets,
``models.pretrained`` for published weights) so that an offline machine gets a
clear error in seconds instead of a download that hangs.

``COURSE_OFFLINE=1`` in the environment makes every server unreachable without trying:
``make test`` and ``make execute-notebooks`` set it, so the tests never download anything
and the stored notebook outputs (lesson 08's opt-in pretrained route) are the offline ones
on every machine, online or not.
"""
from __future__ import annotations

import os
import socket
import threading
from urllib.parse import urlparse


def host_port(url: str) -> tuple[str, int]:
    """``(host, port)`` of ``url``; the port defaults to 443 for https, else 80."""
    parsed = urlparse(url)
    return parsed.hostname or "", parsed.port or (443 if parsed.scheme == "https" else 80)


#: The environment variable that turns every download off (any of these values).
OFFLINE_VARIABLE, OFFLINE_VALUES = "COURSE_OFFLINE", ("1", "true", "yes")


def forced_offline() -> bool:
    """Whether ``COURSE_OFFLINE`` asks the course to behave as if there were no network."""
    return os.environ.get(OFFLINE_VARIABLE, "").strip().lower() in OFFLINE_VALUES


def reachable(host: str, port: int, timeout: float) -> bool:
    """True when a TCP connection to ``host:port`` opens within ``timeout`` seconds.

    The connection (DNS lookup included, which ignores socket timeouts) runs in a
    daemon thread, so an unresponsive network costs ``timeout`` seconds, not
    minutes. Any failure, of any type, answers False.
    """
    if not host or forced_offline():
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
