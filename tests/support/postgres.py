"""A real, throwaway PostgreSQL server for tests: ``initdb`` in a temp dir, ``postgres`` on a free
loopback port, stopped and deleted afterwards.

PostgreSQL refuses to run as root, so under root (CI) the server runs as the ``postgres`` system user
that Debian's package creates, in a directory it owns under /tmp (pytest's own temp dirs are root-only).
The packaged cluster is left alone: on a fresh CI machine it exists but no service runs it.
Without the binaries, the tests that need PostgreSQL skip with the reason.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.servers import free_port

INSTALL_HINT = "scripts/install_system.sh installs them (apt-get install postgresql)"


def postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class PostgresServer:
    port: int
    user: str = "recagent"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database on this server; returns its SQLAlchemy URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextlib.contextmanager
def postgres_server(timeout: float = 30) -> Iterator[PostgresServer]:
    bindir = postgres_bindir()
    if bindir is None or not (bindir / "postgres").exists():
        pytest.skip(f"PostgreSQL binaries (initdb, postgres) are not installed; {INSTALL_HINT}")
    run_as: dict = {}
    root = Path(tempfile.mkdtemp(prefix="recagent-pg-"))
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            pytest.skip("running as root, and there is no 'postgres' system user to run PostgreSQL as")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        run_as = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    data, log = root / "data", root / "server.log"
    server = PostgresServer(port=free_port())
    proc = None
    try:
        init = subprocess.run(
            [bindir / "initdb", "-D", data, "-U", server.user, "--auth=trust", "-E", "UTF8", "--no-sync"],
            cwd=root,
            capture_output=True,
            text=True,
            **run_as,
        )
        if init.returncode != 0:
            pytest.fail(f"initdb failed: {init.stdout[-1000:]}{init.stderr[-1000:]}")
        settings = ["listen_addresses=127.0.0.1", "fsync=off", "synchronous_commit=off", "full_page_writes=off"]
        cmd = [bindir / "postgres", "-D", data, "-p", str(server.port), "-k", root]
        cmd += [arg for s in settings for arg in ("-c", s)]
        with open(log, "wb") as out:
            proc = subprocess.Popen(cmd, cwd=root, stdout=out, stderr=subprocess.STDOUT, **run_as)
        _wait_ready(server, proc, log, timeout)
        yield server
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGINT)  # "fast" shutdown: disconnect clients, stop
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(server: PostgresServer, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(f"host=127.0.0.1 port={server.port} user={server.user} dbname=postgres").close()
            return
        except psycopg.OperationalError:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"postgres did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
