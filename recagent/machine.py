"""What machine this is, for benchmark and eval reports."""

from __future__ import annotations

import platform
from pathlib import Path


def proc_field(path: str, key: str) -> str | None:
    """The value of ``key`` in a /proc file such as /proc/cpuinfo, or None."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_name() -> str:
    uname = platform.uname()
    cpu = platform.processor()
    if not cpu or cpu == uname.machine:
        cpu = proc_field("/proc/cpuinfo", "model name") or cpu or uname.machine
    return cpu
