"""Real servers for tests: a free loopback port, and a server process run until it answers."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(cmd: list[str], probe_url: str, log: Path, timeout: float = 90, **popen):
    """Run a real server process, wait until ``probe_url`` answers, stop it afterwards.

    Its output goes to ``log``: a pipe would fill up with a chatty server's log and block it.
    ``popen`` (``env``, ``cwd``) goes to :class:`subprocess.Popen`.
    """
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, **popen)
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(probe_url, timeout=1)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"{cmd[0]} did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.3)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
