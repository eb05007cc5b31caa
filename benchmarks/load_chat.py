"""Load and fault test of the HTTP chat: concurrent sessions against `recagent serve`, loopback only.

Run from the repository root::

    .venv/bin/python benchmarks/load_chat.py                      # 20 sessions x 3 turns, 8 in the fault phases
    .venv/bin/python benchmarks/load_chat.py --data-dir /tmp/lc    # reuse an index between runs
    .venv/bin/python benchmarks/load_chat.py --quick               # 4 sessions x 2 turns
    .venv/bin/python benchmarks/load_chat.py --llm-weight 0.5 --name load_chat_llm   # the LLM forced on

By default the server reranks with the calibrated weight of the bundled model (``recagent eval
calibrate``); where that weight is 0 a turn calls no LLM and does not queue for the llama.cpp slot.
``--llm-weight W`` forces a weight (``RECAGENT_RERANK__LLM_WEIGHT``), e.g. the pre-calibration 0.5.

With the LLM on, a turn is one llama.cpp scoring pass at a time (~1.5 s on a quiet 2-core machine), so the run takes
about (sessions x turns + 3 x fault sessions) turns plus four restarts, and the first run indexes the
9,742 demo movies (a few minutes).

It starts the served app as a subprocess (`python -m recagent.cli.app serve` on a free 127.0.0.1 port,
the bundled catalog and LLM, its own data dir, indexed first), then:

1. **steady**: N sessions chat concurrently for T turns. Session i asks for its own genre and
   decade ("Horror movies from the 2000s"), dislikes the first item of its first answer through
   the feedback endpoint, then says "show me more", "show them again" (repeats allowed, so a
   disliked item would come back if the dislike were lost)... Every answer is checked against
   the session's own constraints and dislikes, read from the catalog here, not from the server:
   answers mixed up between sessions, or state leaking from one session to another, would break
   them. Each session's transcript must hold exactly its own messages.
2. **LLM timeout**: the server is restarted with generative reranking (LLM weight 1) and a 50 ms LLM timeout;
   every session sends one more turn: the answers must be fallbacks (retrieval order), with the
   session's constraints, and no 5xx.
3. **SIGKILL**: between turns, the server is killed with SIGKILL and restarted on the same data
   dir: every session's turn count and state must be unchanged. Then the fault sessions each send
   one turn and the server is killed again mid-run: an acknowledged turn (200) must be persisted with its
   answer, an unacknowledged one may have its user message persisted, nothing else. After the
   restart, every session continues without restating its constraints, which must still hold.
4. **bad requests**: malformed JSON, an oversized body and invalid UTF-8 get a clear 4xx with a
   stable code.

Clients honour 429/503 + Retry-After (counted as "refused"). The script prints a table (rich),
names the machine, writes docs/benchmarks/load_chat.{md,json} and load_chat_latency.png, and
exits non-zero when a check fails. Figures depend on what else runs on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from recagent.machine import cpu_name  # noqa: E402
from recagent.retrieval.loaders import load_dataset  # noqa: E402

console = Console(width=150)
GENRES = ["Comedy", "Drama", "Action", "Thriller", "Romance", "Crime", "Adventure", "Sci-Fi", "Horror", "Animation"]
DECADES = [1990, 2000]
FOLLOW_UPS = ["show me more", "show them again", "something else please", "any others?"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- the server process


class Server:
    """`recagent serve` as a subprocess on a loopback port; output to a log file."""

    def __init__(self, data_dir: Path, catalog: str, logs: Path, base_env: dict[str, str]):
        self.data_dir, self.catalog, self.logs, self.base_env = data_dir, catalog, logs, base_env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self, extra_env: dict[str, str] | None = None, timeout: float = 300) -> float:
        env = {**os.environ, **self.base_env, **(extra_env or {})}
        self.starts += 1
        log = (self.logs / f"server-{self.starts}.log").open("wb")
        cmd = [sys.executable, "-m", "recagent.cli.app", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--data-dir", str(self.data_dir), "--catalog", self.catalog, "--log-level", "warning"]
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return time.perf_counter() - t0
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise SystemExit(f"the server did not become ready; see {log.name}")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)


# --------------------------------------------------------------------------- sessions and checks


@dataclass
class Session:
    sid: str
    genre: str
    decade: int
    disliked: set[str] = field(default_factory=set)
    sent: list[str] = field(default_factory=list)  # messages answered (acknowledged with a 200)
    attempted: list[str] = field(default_factory=list)

    @property
    def opening(self) -> str:
        return f"{self.genre} movies from the {self.decade}s"


@dataclass
class TurnRecord:
    phase: str
    session: str
    status: int  # 0: no HTTP answer (connection error)
    latency_s: float
    finished_s: float  # since the start of the run
    source: str | None = None
    llm_weight: float | None = None
    refused: int = 0
    violations: list[str] = field(default_factory=list)
    error: str | None = None


class Checker:
    def __init__(self, catalog):
        self.catalog = catalog

    @staticmethod
    def announced(response: dict, *words: str) -> bool:
        """Whether the reply said it relaxed what ``words`` name: the one case an answer may leave its session's
        genre or decade (too few items fit), read from the response's structured notes."""
        relaxed = [n["text"].lower() for n in response.get("notes", []) if n.get("kind") == "relaxed"]
        return any(w.lower() in text for text in relaxed for w in words)

    def violations(self, s: Session, response: dict) -> list[str]:
        out = []
        genre_relaxed = self.announced(response, s.genre)
        decade_relaxed = self.announced(response, f"{s.decade}s", str(s.decade))
        for r in response["recommendations"]:
            it = self.catalog.get(r["item_id"])
            if s.genre not in it.genres and not genre_relaxed:
                out.append(f"{s.sid}: {it.title} is not {s.genre}")
            if (it.year is None or not s.decade <= it.year <= s.decade + 9) and not decade_relaxed:
                out.append(f"{s.sid}: {it.title} is not from the {s.decade}s")
            if r["item_id"] in s.disliked:
                out.append(f"{s.sid}: {it.title} was disliked in this session")
        return out


class Load:
    def __init__(self, server: Server, checker: Checker, t_start: float, max_wait_s: float):
        self.server, self.checker, self.t_start, self.max_wait_s = server, checker, t_start, max_wait_s
        self.records: list[TurnRecord] = []
        self.events: list[tuple[float, str]] = []

    def mark(self, what: str) -> None:
        self.events.append((time.perf_counter() - self.t_start, what))

    def client(self) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        return httpx.AsyncClient(base_url=self.server.url, timeout=httpx.Timeout(600, connect=10), limits=limits)

    async def turn(self, client: httpx.AsyncClient, s: Session, message: str, phase: str) -> dict | None:
        t0 = time.perf_counter()
        refused = 0
        s.attempted.append(message)
        while True:
            try:
                r = await client.post("/v1/chat", json={"session_id": s.sid, "message": message, "k": 5})
            except httpx.TransportError as e:
                rec = TurnRecord(phase, s.sid, 0, time.perf_counter() - t0, time.perf_counter() - self.t_start)
                rec.error, rec.refused = type(e).__name__, refused
                self.records.append(rec)
                return None
            retry = r.headers.get("Retry-After")
            if r.status_code in (429, 503) and retry and time.perf_counter() - t0 < self.max_wait_s:
                refused += 1
                await asyncio.sleep(min(float(retry), 10))
                continue
            break
        rec = TurnRecord(phase, s.sid, r.status_code, time.perf_counter() - t0, time.perf_counter() - self.t_start)
        rec.refused = refused
        self.records.append(rec)
        if r.status_code != 200:
            rec.error = r.text[:200]
            return None
        body = r.json()
        s.sent.append(message)
        rec.source = body["source"]
        rec.llm_weight = body.get("llm_weight")
        rec.violations = self.checker.violations(s, body)
        return body

    async def feedback(self, client: httpx.AsyncClient, s: Session, item_id: str) -> None:
        r = await client.post(f"/v1/sessions/{s.sid}/feedback", json={"item_id": item_id, "kind": "dislike"})
        r.raise_for_status()
        s.disliked.add(item_id)

    async def views(self, sessions: list[Session]) -> dict[str, dict]:
        async with self.client() as c:
            rs = await asyncio.gather(*(c.get(f"/v1/sessions/{s.sid}") for s in sessions))
        return {s.sid: r.json() if r.status_code == 200 else {"turns": [], "state": None} for s, r in zip(sessions, rs)}


# --------------------------------------------------------------------------- phases


async def steady(load: Load, sessions: list[Session], turns: int) -> None:
    async def one(c, s: Session):
        answer = await load.turn(c, s, s.opening, "steady")
        if answer and answer["recommendations"]:
            await load.feedback(c, s, answer["recommendations"][0]["item_id"])
        for t in range(1, turns):
            await load.turn(c, s, FOLLOW_UPS[(t - 1) % len(FOLLOW_UPS)], "steady")

    async with load.client() as c:
        await asyncio.gather(*(one(c, s) for s in sessions))


async def one_turn_each(load: Load, sessions: list[Session], message: str, phase: str) -> list[dict | None]:
    async with load.client() as c:
        return await asyncio.gather(*(load.turn(c, s, message, phase) for s in sessions))


def transcript_ok(view: dict, s: Session) -> bool:
    """The answered user turns are exactly this session's acknowledged messages, in order, and every
    user turn is a message this session sent (the opening message is unique to each session)."""
    turns = view["turns"]
    answered = [
        t["content"]
        for i, t in enumerate(turns)
        if t["role"] == "user" and i + 1 < len(turns) and turns[i + 1]["role"] == "assistant"
    ]
    users = {t["content"] for t in turns if t["role"] == "user"}
    return answered == s.sent and users <= set(s.attempted)


async def kill_phase(load: Load, sessions: list[Session], faulted: list[Session], checks: dict, kill_after: float):
    # (a) between turns: nothing in flight
    before = await load.views(sessions)
    load.mark("SIGKILL (idle)")
    load.server.kill()
    restart_s = load.server.start()
    load.mark("restarted")
    after = await load.views(sessions)
    same = sum(
        len(before[s.sid]["turns"]) == len(after[s.sid]["turns"]) and before[s.sid]["state"] == after[s.sid]["state"]
        for s in sessions
    )
    checks["SIGKILL between turns: every session's turns and state unchanged"] = (
        same == len(sessions),
        f"{same}/{len(sessions)} sessions; restart to ready {restart_s:.1f} s",
    )

    # (b) mid-run: one turn per session in flight, then SIGKILL
    async def killer():
        await asyncio.sleep(kill_after)
        load.mark("SIGKILL (mid-run)")
        load.server.kill()

    sent_before = {s.sid: list(s.sent) for s in faulted}
    await asyncio.gather(one_turn_each(load, faulted, "show me more", "killed mid-run"), killer())
    restart_s = load.server.start()
    load.mark("restarted")
    after_mid = await load.views(sessions)
    acked = lost = partial = untouched = undelivered = 0
    for s in faulted:
        grew = len(after_mid[s.sid]["turns"]) - len(after[s.sid]["turns"])
        if len(s.sent) > len(sent_before[s.sid]):  # acknowledged: user turn and answer both persisted
            acked += 1
            lost += grew != 2
        elif grew == 2:  # answered and persisted, but the reply died with the process
            undelivered += 1
            s.sent.append("show me more")
        elif grew == 1:  # not acknowledged; the user message was written before the work started
            partial += 1
        elif grew == 0:  # still queued when the process died
            untouched += 1
        else:
            lost += 1
    checks["SIGKILL mid-run: every acknowledged turn persisted"] = (
        lost == 0,
        f"{acked} acknowledged and persisted, {undelivered} persisted but undelivered, {partial} user turn only, "
        f"{untouched} not started, {lost} inconsistent; restart {restart_s:.1f} s",
    )

    # (c) the sessions resume: no constraint restated, yet every answer honours it
    await one_turn_each(load, faulted, "something else please", "resumed")
    final = await load.views(sessions)
    ok = sum(transcript_ok(final[s.sid], s) for s in sessions)
    checks["each transcript holds exactly its own session's messages"] = (ok == len(sessions), f"{ok}/{len(sessions)}")


async def bad_requests(url: str, max_body: int) -> dict[str, tuple[bool, str]]:
    cases = {
        "malformed JSON -> 400 malformed_json": (b'{"session_id": "x", "message": ', 400, "malformed_json"),
        "oversized body -> 413 body_too_large": (
            json.dumps({"session_id": "x", "message": "z" * (max_body + 10)}).encode(),
            413,
            "body_too_large",
        ),
        "invalid UTF-8 -> 400 invalid_utf8": (b'{"session_id": "x", "message": "caf\xe9"}', 400, "invalid_utf8"),
        "unknown field -> 422 invalid_request": (
            b'{"session_id": "x", "message": "hi", "kk": 1}',
            422,
            "invalid_request",
        ),
    }
    out = {}
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        for name, (body, status, code) in cases.items():
            r = await c.post("/v1/chat", content=body, headers={"content-type": "application/json"})
            got = r.json().get("error", {}).get("code") if r.headers.get("content-type") == "application/json" else None
            out[name] = (
                r.status_code == status and got == code and "Traceback" not in r.text,
                f"{r.status_code} {got}",
            )
        r = await c.get("/v1/sessions/never-created")
        out["unknown session -> 404 unknown_session"] = (
            r.status_code == 404 and r.json()["error"]["code"] == "unknown_session",
            str(r.status_code),
        )
    return out


# --------------------------------------------------------------------------- report


def phase_rows(records: list[TurnRecord], phases: list[str]) -> list[dict]:
    rows = []
    for phase in phases:
        rs = [r for r in records if r.phase == phase]
        if not rs:
            continue
        ok = [r for r in rs if r.status == 200]
        lat = [r.latency_s for r in ok]
        span = max(r.finished_s for r in rs) - min(r.finished_s - r.latency_s for r in rs)
        rows.append(
            {
                "phase": phase,
                "turns": len(rs),
                "ok": len(ok),
                "fallback": sum(r.source == "fallback" for r in ok),
                "llm_ranked": sum(r.source == "llm" for r in ok),
                "refused_retried": sum(r.refused for r in rs),
                "http_5xx": sum(r.status >= 500 for r in rs),
                "http_4xx": sum(400 <= r.status < 500 for r in rs),
                "no_answer": sum(r.status == 0 for r in rs),
                "violations": sum(len(r.violations) for r in rs),
                "turns_per_s": len(ok) / span if span > 0 else None,
                "p50_s": float(np.percentile(lat, 50)) if lat else None,
                "p95_s": float(np.percentile(lat, 95)) if lat else None,
                "mean_s": statistics.fmean(lat) if lat else None,
            }
        )
    return rows


def print_table(rows: list[dict]) -> None:
    t = Table(title="HTTP chat under load (latency per turn, client side, including queueing)")
    for col in (
        "phase",
        "turns",
        "ok",
        "fallback",
        "refused*",
        "5xx",
        "no answer",
        "violations",
        "turns/s",
        "p50",
        "p95",
    ):
        t.add_column(col, justify="left" if col == "phase" else "right")

    def s(v):
        return "-" if v is None else f"{v:.2f} s"

    for r in rows:
        tps = "-" if r["turns_per_s"] is None else f"{r['turns_per_s']:.2f}"
        t.add_row(
            r["phase"], str(r["turns"]), str(r["ok"]), str(r["fallback"]), str(r["refused_retried"]),
            str(r["http_5xx"]), str(r["no_answer"]), str(r["violations"]), tps, s(r["p50_s"]), s(r["p95_s"]),
        )  # fmt: skip
    console.print(t)
    console.print("[dim]* 429/503 answers with Retry-After, retried by the client after the advised delay[/]")


def plot(records: list[TurnRecord], events: list[tuple[float, str]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 4.8))
    for phase in dict.fromkeys(r.phase for r in records):
        rs = [r for r in records if r.phase == phase and r.status == 200]
        if rs:
            ax.scatter([r.finished_s for r in rs], [r.latency_s for r in rs], s=14, label=f"{phase} ({len(rs)})")
    failed = [r for r in records if r.status != 200]
    if failed:
        ax.scatter([r.finished_s for r in failed], [r.latency_s for r in failed], marker="x", color="red",
                   label=f"no answer / error ({len(failed)})")  # fmt: skip
    for t, what in events:
        ax.axvline(t, color="grey", linestyle=":", linewidth=1)
        ax.text(t, ax.get_ylim()[1] * 0.98, " " + what, rotation=90, va="top", fontsize=7, color="grey")
    ax.set_xlabel("time since the start of the run (s)")
    ax.set_ylabel("turn latency (s), client side")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_markdown(path: Path, machine: str, config: dict, rows: list[dict], checks: dict, plot_name: str) -> None:
    lines = [
        "# HTTP chat load and fault test",
        "",
        f"{machine}. Other processes shared these CPUs during the run, so the figures are a loaded "
        "machine's, not a quiet one's.",
        "",
        "Config: " + ", ".join(f"{k}={v}" for k, v in config.items()),
        "",
        "| phase | turns | ok | LLM-ranked | fallback | refused (retried) | 5xx | no answer | violations | turns/s | p50 | p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        tps = "-" if r["turns_per_s"] is None else f"{r['turns_per_s']:.2f}"
        p50 = "-" if r["p50_s"] is None else f"{r['p50_s']:.2f} s"
        p95 = "-" if r["p95_s"] is None else f"{r['p95_s']:.2f} s"
        lines.append(
            f"| {r['phase']} | {r['turns']} | {r['ok']} | {r['llm_ranked']} | {r['fallback']} | {r['refused_retried']} "
            f"| {r['http_5xx']} "
            f"| {r['no_answer']} | {r['violations']} | {tps} | {p50} | {p95} |"
        )
    lines += ["", "| check | result | detail |", "|---|:---:|---|"]
    lines += [f"| {name} | {'pass' if ok else '**FAIL**'} | {detail} |" for name, (ok, detail) in checks.items()]
    lines += ["", f"![latency per turn]({plot_name})", ""]
    path.write_text("\n".join(lines))


# --------------------------------------------------------------------------- main


async def run(args, server: Server, checker: Checker, t_start: float) -> tuple[Load, dict]:
    load = Load(server, checker, t_start, args.max_wait)
    checks: dict[str, tuple[bool, str]] = {}
    run_id = f"{int(time.time()) % 100000:05d}"  # a reused data dir keeps earlier runs' sessions: never reuse an id
    sessions = [
        Session(f"load-{run_id}-{i:02d}", GENRES[i % len(GENRES)], DECADES[(i // len(GENRES)) % len(DECADES)])
        for i in range(args.sessions)
    ]
    load.mark("start")
    await steady(load, sessions, args.turns)
    if args.steady_only:
        return load, checks

    console.print("[bold]LLM timeout fault[/]: restarting with generative reranking and a 50 ms LLM timeout")
    server.stop()
    load.mark("restart: LLM timeout 50 ms")
    server.start(
        {"RECAGENT_RERANK__MODE": "generative", "RECAGENT_RERANK__LLM_WEIGHT": "1.0", "RECAGENT_LLM__TIMEOUT": "0.05"}
    )
    faulted = sessions[: args.fault_sessions]
    answers = await one_turn_each(load, faulted, "show me more", "LLM timeout")
    fallbacks = [a for a in answers if a and a["source"] == "fallback" and "timeout" in (a.get("error") or "")]
    checks["LLM timeout: every answer is a fallback, none a 5xx"] = (
        len(fallbacks) == len(faulted),
        f"{len(fallbacks)}/{len(faulted)} fallbacks citing the timeout",
    )
    server.stop()
    load.mark("restart: normal")
    server.start()

    console.print("[bold]SIGKILL fault[/]: between turns, then mid-run")
    await kill_phase(load, sessions, faulted, checks, args.kill_after)

    checks.update(await bad_requests(server.url, 65536))
    return load, checks


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--turns", type=int, default=3, help="turns per session in the steady phase")
    p.add_argument("--catalog", default="bundled")
    p.add_argument("--data-dir", type=Path, help="reuse this data dir (default: a new temp dir, indexed first)")
    p.add_argument("--fault-sessions", type=int, default=8, help="sessions that take part in the fault phases")
    p.add_argument("--kill-after", type=float, default=10.0, help="seconds into the mid-run turns before SIGKILL")
    p.add_argument("--max-wait", type=float, default=300, help="longest a client retries a refused turn")
    p.add_argument("--max-seconds", type=float, default=1500, help="give up after this long")
    p.add_argument("--understanding", default="parser", choices=["parser", "hybrid"])
    p.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "benchmarks")
    p.add_argument("--quick", action="store_true", help="4 sessions x 2 turns")
    p.add_argument("--llm-weight", type=float, help="force the LLM's fusion weight (default: the calibrated one)")
    p.add_argument("--name", default="load_chat", help="file stem of the report, JSON and plot")
    p.add_argument("--steady-only", action="store_true", help="only the concurrent sessions, no fault phases")
    args = p.parse_args()
    if args.quick:
        args.sessions, args.turns = 4, 2
    args.fault_sessions = min(args.fault_sessions, args.sessions)
    assert 1 <= args.sessions <= 100 and 1 <= args.turns <= 20, "bounded: at most 100 sessions and 20 turns"

    machine = f"{cpu_name()}, {os.cpu_count()} cores"
    console.print(f"machine: {machine} (shared with whatever else runs here)")
    tmp = None
    if args.data_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="recagent-load-")
        args.data_dir = Path(tmp.name)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    logs = REPO_ROOT / "bench-results" / "load_chat"
    logs.mkdir(parents=True, exist_ok=True)
    env = {
        "HF_HUB_OFFLINE": "1",
        "RECAGENT_UNDERSTANDING": args.understanding,
        "RECAGENT_SERVER__QUEUE_SIZE": str(max(16, args.sessions * 2)),
        "RECAGENT_SERVER__QUEUE_TIMEOUT": "120",
    }
    if args.llm_weight is not None:
        env["RECAGENT_RERANK__LLM_WEIGHT"] = str(args.llm_weight)
    console.print(f"indexing {args.catalog} into {args.data_dir} (incremental)")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "recagent.cli.app",
            "index",
            "--data-dir",
            str(args.data_dir),
            "--catalog",
            args.catalog,
        ],
        check=True,
        env={**os.environ, **env},
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
    )
    catalog = load_dataset(args.catalog).catalog
    server = Server(args.data_dir, args.catalog, logs, env)
    t_start = time.perf_counter()
    ready_s = server.start()
    console.print(f"server ready on {server.url} in {ready_s:.1f} s; logs in {logs}")
    try:
        load, checks = asyncio.run(asyncio.wait_for(run(args, server, Checker(catalog), t_start), args.max_seconds))
    finally:
        server.stop()
        if tmp is not None:
            tmp.cleanup()

    phases = ["steady", "LLM timeout", "killed mid-run", "resumed"]
    rows = phase_rows(load.records, phases)
    total_5xx = sum(r["http_5xx"] for r in rows)
    violations = [v for r in load.records for v in r.violations]
    checks["no 5xx in any phase"] = (total_5xx == 0, str(total_5xx))
    checks["no answer breaks its own session's constraints or dislikes"] = (
        not violations,
        f"{len(violations)} violations" + (f", e.g. {violations[0]}" if violations else ""),
    )
    print_table(rows)
    ct = Table(title="checks")
    ct.add_column("check")
    ct.add_column("result")
    ct.add_column("detail")
    for name, (ok, detail) in checks.items():
        ct.add_row(name, "[green]pass[/]" if ok else "[red]FAIL[/]", detail)
    console.print(ct)

    config = {
        "sessions": args.sessions,
        "turns": args.turns,
        "catalog": args.catalog,
        "understanding": args.understanding,
        "llm": "bundled SmolLM2-135M (llama.cpp, scoring mode, 1 call at a time)",
        "llm_weight": "calibrated" if args.llm_weight is None else args.llm_weight,
        "steady_weights_seen": sorted(
            {str(r.llm_weight) for r in load.records if r.phase == "steady" and r.status == 200}
        ),
        "fault_sessions": args.fault_sessions,
        "kill_after_s": args.kill_after,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    title = f"recagent HTTP chat: {args.sessions} sessions, {machine} (shared)"
    plot(load.records, load.events, args.out / f"{args.name}_latency.png", title)
    write_markdown(args.out / f"{args.name}.md", machine, config, rows, checks, f"{args.name}_latency.png")
    payload = {
        "machine": machine,
        "config": config,
        "phases": rows,
        "checks": {k: {"ok": ok, "detail": d} for k, (ok, d) in checks.items()},
        "events": load.events,
        "records": [asdict(r) for r in load.records],
    }
    (args.out / f"{args.name}.json").write_text(json.dumps(payload, indent=1))
    console.print(f"wrote {args.out / (args.name + '.md')}, {args.name}.json, {args.name}_latency.png")
    return 0 if all(ok for ok, _ in checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
