"""How many threads compute may use: the llama.cpp default, and the BLAS limit of an application.

Library objects (:class:`~recagent.recommender.Recommender`, the backends) never change a
process-wide thread setting themselves; the CLI and the server, which own their process, apply
:func:`blas_limit` around their work.
"""

from __future__ import annotations

import os
from pathlib import Path

from threadpoolctl import threadpool_limits


def usable_cores() -> int:
    """Logical CPUs this process may run on (its affinity mask, which containers and taskset narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def physical_cores() -> int | None:
    """Distinct (socket, core) pairs in /proc/cpuinfo, or None where it cannot be read."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    cores: set[tuple[str, str]] = set()
    for block in text.split("\n\n"):
        fields = dict(line.split(":", 1) for line in block.splitlines() if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        if "core id" in fields:
            cores.add((fields.get("physical id", "0"), fields["core id"]))
    return len(cores) or None


def default_llm_threads() -> int:
    """Physical cores this process may use, minus one, and at least one.

    llama.cpp's threads spin while they wait for each other: on a machine where other work holds a
    core (the server's event loop, retrieval, another process), one thread per core makes every
    thread wait for the slowest, and a turn takes several times longer (docs/benchmarks/chat_bench.md).
    Leaving one core free costs little when the machine is idle. Hyperthreads add nothing to
    llama.cpp's matrix work, so physical cores count, not logical CPUs.
    """
    usable = usable_cores()
    physical = physical_cores()
    cores = usable if physical is None else min(usable, physical)
    return max(1, cores - 1)


def blas_limit(threads: int | None):
    """A context (also usable as a plain call, for the rest of the process) limiting BLAS to
    ``threads`` threads; ``None`` leaves BLAS as it is. It acts on the BLAS libraries loaded when it
    starts, so numpy's (the one serving uses) is loaded first."""
    import numpy  # noqa: F401

    return threadpool_limits(threads, "blas")
