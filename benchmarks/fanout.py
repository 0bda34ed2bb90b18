"""Notification fan-out: Muster's delivery engine against Apprise and raw aiohttp, N recipients at once.

What it measures
    How fast one notify step reaches N recipients whose endpoint answers in 100 ms, with
    at most C requests in flight (default C=100, the same for every engine):

    - ``Muster``: the real path. ``notifications.deliver`` over a signed Standard Webhooks
      channel (``build_channel(ChannelConfig(type="webhook", secret=…))``), the ledger the
      flow uses (``flows.context.ActionLogLedger``) over a real SQLite action log in a temp
      file (WAL, synchronous commits, every attempt and outcome recorded, hash-chained),
      flushed at the end as the flow's ``send`` does. Messages are built as the flow
      composes them: distinct delivery keys ``incident/step/person/0``, a Chinese body of
      about 200 characters, an ack link (a 128-character stand-in token).
    - ``Muster, in-memory ledger``: the same with ``notifications.testing.MemoryLedger``,
      so the action log's share of the time shows.
    - ``Apprise``: ``Apprise.async_notify`` to one ``json://127.0.0.1:PORT/apprise/<i>`` URL
      per recipient (one body for all, Apprise's model). Apprise 2.x runs each plugin's
      blocking ``send()`` (``requests``, a new connection per send) in ONE process-wide
      ``ThreadPoolExecutor()`` (``apprise/apprise.py: get_shared_executor``, used by
      ``NotifyBase.async_notify``); its size is Python's default, min(32, cores + 4): 6
      threads on a 2-core machine, and Apprise offers no setting for it. So "the same
      concurrency as far as Apprise allows" is 6. A second row widens that pool to C
      threads by pre-setting Apprise's private ``_shared_executor`` (for information; the
      target is checked against Apprise as shipped). Apprise is measured on
      min(N, ``--apprise-sample``) recipients: at ~60/s, 10,000 would take minutes. The
      table says so; its rate is what is compared.
    - ``aiohttp (ceiling)``: a raw ``aiohttp.ClientSession`` with ``TCPConnector(limit=C)``
      and ``asyncio.Semaphore(C)`` POSTing the same JSON bodies Muster sends (unsigned,
      no ledger, no retries): what the machine and the endpoint allow at C in flight.
      At C=100 and 100 ms per answer the theoretical maximum is 1,000/s.

    The endpoint (``benchmarks/loopback.py``) runs in its own process: POST any path,
    sleep 100 ms, answer ``200 {"ok":true}``. It counts what arrives; after every engine
    the benchmark checks that each message arrived exactly once (requests == distinct ids
    == messages sent; for Muster also == signed requests), and for Muster that every
    delivery was recorded (2 entries per message, chain verified).

    Each engine runs in a fresh subprocess of this script (``--engine NAME``), one after
    the other, so none inherits another's imports, threads, sockets or memory.

Warm-up
    Each engine first sends ``--warmup`` messages (default 10) through the same code path
    to ``/warmup/…`` (answered, not counted, not timed), so one-off costs (lazy imports,
    first connection, Jinja template compile) are not in the figures. Muster's timed
    ``deliver`` call still opens its own fresh HTTP client, as the aiohttp ceiling opens a
    fresh session: neither reuses a warm connection pool.

What the numbers mean
    ``seconds``: wall time of the send alone (for Muster: the ``deliver`` call plus the
    final ledger flush), not process start, imports, building messages or the checks.
    ``msg/s``: messages sent / seconds. ``% ceil``: against the aiohttp row of the same N.
    ``CPU ms/msg``: the engine process's CPU time (all threads) during the send, per message.
    It predicts throughput: with C in flight, answers come back in bursts that one event
    loop handles one after another, so each message waits on average for about C/2 others,
    and msg/s ≈ C / (delay + C/2 × CPU per message). At C=100 and 100 ms, 0.2 ms/msg gives
    ~910/s and 0.6 ms/msg ~770/s: CPU per message is what separates the rows.
    ``peak MB``: growth of the process's peak RSS (``ru_maxrss``) over its value after
    imports and warm-up, i.e. what building and sending the batch cost in memory.
    With ``--repeat R`` every engine runs R times (interleaved) and the median run is shown.

Targets (from the issue): Muster ≥ 90% of the ceiling, ≥ 10× Apprise, and 10,000
recipients in under 15 s (checked when N=10000 is run). PASS/FAIL is printed; ``--check``
makes a FAIL exit with status 1. A message that did not arrive exactly once is an error
(exit status 1) whatever the flags.

Run::

    .venv/bin/python benchmarks/fanout.py                    # N=1000, table
    .venv/bin/python benchmarks/fanout.py --n 1000,10000     # one table per N
    .venv/bin/python benchmarks/fanout.py --n 10000 --json   # machine-readable
    .venv/bin/python benchmarks/fanout.py --n 1000 --profile # cProfile Muster's send, to stderr

``--json`` prints one object for one N, ``{"recipients", "muster_per_s", "apprise_per_s",
"ceiling_per_s", "muster_peak_mb", …}``, and a list of such objects (in the order given)
for several N. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import hashlib
import json
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from notifications import Message

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = Path(__file__).resolve().with_name("loopback.py")

# The Standard Webhooks test vector's secret (as in tests/notifications/conftest.py).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CHANNEL = "duty-webhook"
INCIDENT = "INC-20260315-1420-a1b2c3"
WARMUP_INCIDENT = "INC-20260315-1419-000000"
STEP = "notify-command"
SUBJECT = "燃气爆炸事故应急预案 · 通知现场指挥部成员"
BODY = (
    "{name}同志：3月15日14时20分，城东区建设路188号金桂园小区3号楼2单元发生燃气爆炸，已造成2人死亡、7人受伤，"
    "另有约10人被困，周边约300户居民需要疏散。请您接到通知后立即赶赴现场指挥部（建设路与文化路交叉口西北角），"
    "按预案第3.2条组织人员搜救、伤员救治和警戒疏散，协调燃气公司关闭上游阀门，"
    "并于30分钟内向区应急管理局值班室报告到岗情况和现场最新进展。值班电话：0571-8765 4321。"
)
# Messages carry a signed ack link (flows/messages.py); here a 128-character stand-in token, made before timing.
ACK_BASE = "https://muster.example.org/ack/"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"

# name, label; the order they run in for each N.
ENGINES = {
    "ceiling": "aiohttp (ceiling)",
    "muster": "Muster (signed, SQLite log)",
    "muster-memory": "Muster (in-memory ledger)",
    "apprise": "Apprise json://",
    "apprise-wide": "Apprise, pool widened",
}
APPRISE_ENGINES = ("apprise", "apprise-wide")
TARGET_SHARE_OF_CEILING = 0.90
TARGET_TIMES_APPRISE = 10.0
TARGET_10K_SECONDS = 15.0


# ---------------------------------------------------------------- engines (one per subprocess)


class Meter:
    """Peak-RSS growth from the moment it is made (Linux: ``ru_maxrss`` is in KiB)."""

    def __init__(self) -> None:
        self.baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def peak_mb(self) -> float:
        """How far the process's peak RSS rose above the baseline, in MiB."""
        return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - self.baseline_kib) / 1024


def build_messages(count: int, incident_id: str) -> list[Message]:
    """``count`` messages to distinct people on the webhook channel, as the flow composes them (flows/messages.py)."""
    from notifications import Message

    messages = []
    for index in range(count):
        person = f"p{index:05d}"
        name = SURNAMES[index % len(SURNAMES)] + GIVEN[(index // len(SURNAMES)) % len(GIVEN)] + GIVEN[index % 7]
        messages.append(
            Message(
                delivery_key=f"{incident_id}/{STEP}/{person}/0",
                incident_id=incident_id,
                step_id=STEP,
                recipient_id=person,
                recipient_name=name,
                channel=CHANNEL,
                address=f"{person}@duty",
                language="zh",
                subject=SUBJECT,
                body=BODY.format(name=name),
                ack_url=f"{ACK_BASE}{base64.urlsafe_b64encode(hashlib.sha256(person.encode()).digest() * 3).decode()}",
                role="commander",
                severity="relatively_serious",
            )
        )
    return messages


async def _timed(send: Callable[[], Awaitable[int]], profile: bool) -> tuple[float, float, int]:
    """Run ``send`` once; its wall time, the process's CPU time (all threads), and what it returned."""
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    # Every engine starts its timed run from a settled heap, as Muster's warm processes do (muster.heap:
    # serve, trigger and resume freeze what start-up left): no engine pays for another phase's garbage.
    gc.collect()
    gc.freeze()
    started, cpu_started = time.perf_counter(), time.process_time()
    delivered = await send()
    seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    if profiler is not None:
        profiler.disable()
        _print_profile(profiler)
    return seconds, cpu_s, delivered


def _print_profile(profiler: Any) -> None:
    import pstats

    path = Path(tempfile.gettempdir()) / f"muster-fanout-{os.getpid()}.pstats"
    profiler.dump_stats(path)
    print(f"\n== cProfile of the timed send (raw stats: {path}) ==", file=sys.stderr)
    stats = pstats.Stats(profiler, stream=sys.stderr).strip_dirs()
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(40)


async def engine_muster(args: argparse.Namespace, *, action_log: bool) -> dict[str, Any]:
    """Muster's real path: signed webhook, ``deliver``, the action-log ledger (or a memory one)."""
    from pydantic import SecretStr

    from flows.context import ActionLogLedger
    from incidents import EntryKind, SQLiteActionLog
    from notifications import Channel, ChannelConfig, DeliveryStatus, build_channel, deliver
    from notifications.testing import MemoryLedger

    def channels(path: str) -> dict[str, Channel]:
        config = ChannelConfig(name=CHANNEL, type="webhook", url=args.url + path, secret=SecretStr(SECRET))
        return {CHANNEL: build_channel(config)}

    with tempfile.TemporaryDirectory(prefix="muster-fanout-") as tmp:
        log = SQLiteActionLog(Path(tmp) / "muster.db") if action_log else None
        failures: list[str] = []

        async def send(messages: Sequence[Message], to: dict[str, Channel]) -> int:
            ledger = ActionLogLedger(log) if log is not None else MemoryLedger()
            try:
                outcomes = await deliver(messages, to, ledger=ledger, concurrency=args.concurrency)
            finally:
                if isinstance(ledger, ActionLogLedger):
                    ledger.flush()  # as the flow's send() does when a delivery is over
            failures.extend(o.result.reason for o in outcomes if o.result.status is not DeliveryStatus.DELIVERED)
            return sum(o.result.status is DeliveryStatus.DELIVERED for o in outcomes)

        if args.warmup:
            await send(build_messages(args.warmup, WARMUP_INCIDENT), channels("/warmup/muster"))
        meter = Meter()
        messages, to = build_messages(args.n, INCIDENT), channels("/hook/muster")
        seconds, cpu_s, delivered = await _timed(lambda: send(messages, to), args.profile)
        result: dict[str, Any] = {
            "seconds": seconds,
            "cpu_s": cpu_s,
            "delivered": delivered,
            "peak_mb": meter.peak_mb(),
        }
        if log is not None:
            entries = log.entries(INCIDENT)
            started = time.perf_counter()
            result["log_entries"] = log.verify(INCIDENT)
            result["log_verify_s"] = round(time.perf_counter() - started, 3)
            result["log_delivered"] = sum(e.kind == EntryKind.MESSAGE_DELIVERED for e in entries)
            result["log_attempts"] = sum(e.kind == EntryKind.MESSAGE_ATTEMPTED for e in entries)
            log.close()
    result["failures"] = sorted(set(failures))[:3]
    return result


async def engine_apprise(args: argparse.Namespace, *, widened: bool) -> dict[str, Any]:
    """Apprise 2.x ``async_notify`` to one ``json://`` URL per recipient."""
    from concurrent.futures import ThreadPoolExecutor

    import apprise

    if widened:
        core = sys.modules["apprise.apprise"]
        if not hasattr(core, "_shared_executor"):
            raise SystemExit("this Apprise has no apprise.apprise._shared_executor to widen; drop the apprise-wide row")
        wide = ThreadPoolExecutor(max_workers=args.concurrency, thread_name_prefix="apprise-wide")
        setattr(core, "_shared_executor", wide)  # noqa: B010 - a private global, set before Apprise first uses it
    host = args.url.removeprefix("http://")
    title, body = SUBJECT, BODY.format(name="王伟")

    async def send(urls: list[Any]) -> int:
        notifier = apprise.Apprise()
        notifier.add(urls)
        outcome = await notifier.async_notify(body=body, title=title)
        return int(outcome.success_count)

    if args.warmup:
        await send([f"json://{host}/warmup/apprise/{i}" for i in range(args.warmup)])
    meter = Meter()
    urls = [f"json://{host}/apprise/{i}" for i in range(args.n)]
    seconds, cpu_s, delivered = await _timed(lambda: send(urls), args.profile)
    pool = "apprise-wide" if widened else "ThreadPoolExecutor-"
    threads = sum(t.name.startswith(pool) for t in threading.enumerate())
    return {
        "seconds": seconds,
        "cpu_s": cpu_s,
        "delivered": delivered,
        "peak_mb": meter.peak_mb(),
        "pool_threads": threads,
        "apprise_version": apprise.__version__,
    }


async def engine_ceiling(args: argparse.Namespace) -> dict[str, Any]:
    """Raw aiohttp: the same JSON bodies, a semaphore and a connector limit of C, nothing else."""
    import aiohttp

    from notifications import ChannelConfig, build_channel

    channel = build_channel(ChannelConfig(name=CHANNEL, type="webhook", url=args.url + "/hook/ceiling"))

    def requests(messages: Sequence[Message]) -> list[tuple[bytes, dict[str, str]]]:
        built = [channel.build_request(m) for m in messages]
        names = ("content-type", "user-agent", "webhook-id")
        return [(r.content, {name: r.headers[name] for name in names}) for r in built]

    async def send(url: str, batch: list[tuple[bytes, dict[str, str]]]) -> int:
        slots = asyncio.Semaphore(args.concurrency)
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def post(body: bytes, headers: dict[str, str]) -> bool:
                async with slots, session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    return 200 <= response.status < 300

            return sum(await asyncio.gather(*(post(body, headers) for body, headers in batch)))

    if args.warmup:
        await send(args.url + "/warmup/ceiling", requests(build_messages(args.warmup, WARMUP_INCIDENT)))
    meter = Meter()
    batch = requests(build_messages(args.n, INCIDENT))
    seconds, cpu_s, delivered = await _timed(lambda: send(args.url + "/hook/ceiling", batch), args.profile)
    return {"seconds": seconds, "cpu_s": cpu_s, "delivered": delivered, "peak_mb": meter.peak_mb()}


def _exit_when_stdin_closes() -> None:
    """Exit when the benchmark's end of our stdin closes: an engine never outlives the benchmark."""

    def watch() -> None:
        while os.read(0, 4096):  # the raw descriptor: a buffered read would block interpreter shutdown
            pass
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def run_engine(args: argparse.Namespace) -> int:
    """The ``--engine`` subprocess: one timed run, one JSON line on stdout."""
    _exit_when_stdin_closes()
    engines: dict[str, Callable[[argparse.Namespace], Coroutine[Any, Any, dict[str, Any]]]] = {
        "muster": lambda a: engine_muster(a, action_log=True),
        "muster-memory": lambda a: engine_muster(a, action_log=False),
        "apprise": lambda a: engine_apprise(a, widened=False),
        "apprise-wide": lambda a: engine_apprise(a, widened=True),
        "ceiling": engine_ceiling,
    }
    result = asyncio.run(engines[args.engine](args))
    result.update(engine=args.engine, sent=args.n, per_s=args.n / result["seconds"], profiled=args.profile)
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


# ---------------------------------------------------------------- the endpoint server process


class Endpoint:
    """``benchmarks/loopback.py`` in ``workers`` processes sharing one port; always stopped on exit."""

    def __init__(self, workers: int, delay_ms: float) -> None:
        self.workers = workers
        self.delay_ms = delay_ms
        self.port = 0
        self._control_ports: list[int] = []
        self._processes: list[subprocess.Popen[str]] = []
        self._http = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy

    @property
    def url(self) -> str:
        """Where engines POST."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Endpoint:
        try:
            for _ in range(self.workers):
                self._start_one()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _start_one(self) -> None:
        command = [sys.executable, str(LOOPBACK), "--port", str(self.port), "--delay-ms", str(self.delay_ms)]
        command += ["--watch-stdin"] + (["--reuse-port"] if self.workers > 1 else [])
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True
        )
        self._processes.append(process)
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError(f"the loopback endpoint did not start (exit status {process.poll()}); see its stderr")
        started = json.loads(line)
        self.port = started["port"]
        self._control_ports.append(started["control_port"])

    def stop(self) -> None:
        """Terminate every endpoint process, then kill what is still running after 5 s."""
        for process in self._processes:
            if process.poll() is None:
                process.terminate()
        for process in self._processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()
        self._processes.clear()

    def reset(self) -> None:
        """Zero the counts of every worker."""
        for port in self._control_ports:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/count", method="DELETE")
            self._http.open(request, timeout=10).read()

    def counts(self) -> dict[str, int]:
        """Requests, distinct ids and signed requests since the last reset, over all workers."""
        total = {"requests": 0, "signed": 0}
        ids: set[str] = set()
        for port in self._control_ports:
            with self._http.open(f"http://127.0.0.1:{port}/count?ids=1", timeout=30) as answer:
                one = json.load(answer)
            total["requests"] += one["requests"]
            total["signed"] += one["signed"]
            ids.update(one["ids"])
        return {**total, "distinct": len(ids)}


# ---------------------------------------------------------------- the parent: run, check, report


def _engine_process(engine: str, n: int, url: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--engine", engine, "--n", str(n), "--url", url]
    command += ["--concurrency", str(args.concurrency), "--warmup", str(args.warmup)]
    if args.profile and engine.startswith("muster"):
        command.append("--profile")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(ROOT)]))}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    # stdin stays open while we wait: the engine exits if it closes (this process gone, however it ended).
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    overdue = threading.Timer(args.engine_timeout, process.kill)
    overdue.start()
    try:
        assert process.stdout is not None
        output = process.stdout.read()
        status = process.wait()
    finally:
        overdue.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
    lines = output.strip().splitlines()
    if status != 0 or not lines:
        raise RuntimeError(f"engine {engine} (N={n}) exited with status {status}; its stderr is above")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _check_arrivals(run: dict[str, Any], arrived: dict[str, int]) -> list[str]:
    """What is wrong with an engine's run: anything not delivered, or not arrived exactly once."""
    sent, problems = run["sent"], []
    if run["delivered"] != sent:
        problems.append(f"{run['delivered']} of {sent} reported delivered; e.g. {run.get('failures')}")
    if arrived["requests"] != sent or arrived["distinct"] != sent:
        problems.append(f"the endpoint got {arrived['requests']} requests, {arrived['distinct']} distinct, for {sent}")
    if run["engine"].startswith("muster") and arrived["signed"] != sent:
        problems.append(f"{arrived['signed']} of {sent} requests were signed")
    if run["engine"] == "muster" and (run["log_delivered"], run["log_attempts"]) != (sent, sent):
        problems.append(f"the action log holds {run['log_delivered']} deliveries and {run['log_attempts']} attempts")
    return problems


def benchmark_one(n: int, endpoint: Endpoint, args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    """Every engine on N recipients (``--repeat`` times, interleaved); the median runs and the problems."""
    runs: dict[str, list[dict[str, Any]]] = {engine: [] for engine in args.engines}
    problems: list[str] = []
    for repeat in range(args.repeat):
        for engine in args.engines:
            sent = min(n, args.apprise_sample) if engine in APPRISE_ENGINES else n
            print(f"  N={n} {engine}: sending {sent} (run {repeat + 1}/{args.repeat})…", file=sys.stderr, flush=True)
            endpoint.reset()
            run = _engine_process(engine, sent, endpoint.url, args)
            run["arrived"] = endpoint.counts()
            problems += [f"N={n} {engine}: {p}" for p in _check_arrivals(run, run["arrived"])]
            runs[engine].append(run)
    median = {engine: sorted(rs, key=lambda r: r["seconds"])[len(rs) // 2] for engine, rs in runs.items()}
    for engine, rs in runs.items():
        median[engine]["all_per_s"] = [round(r["per_s"], 1) for r in rs]
    return {"recipients": n, "runs": median}, problems


def _figures(result: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The flat JSON object for one N."""
    runs, n = result["runs"], result["recipients"]
    out: dict[str, Any] = {"recipients": n, "concurrency": args.concurrency, "endpoint_delay_ms": args.delay_ms}
    for engine, prefix in (
        ("muster", "muster"),
        ("muster-memory", "muster_no_ledger"),
        ("apprise", "apprise"),
        ("apprise-wide", "apprise_wide"),
        ("ceiling", "ceiling"),
    ):
        if engine in runs:
            run = runs[engine]
            out[f"{prefix}_per_s"] = round(run["per_s"], 1)
            out[f"{prefix}_seconds"] = round(run["seconds"], 3)
            out[f"{prefix}_peak_mb"] = round(run["peak_mb"], 1)
            out[f"{prefix}_cpu_ms_per_msg"] = round(run["cpu_s"] * 1000 / run["sent"], 3)
    for engine in APPRISE_ENGINES:
        if engine in runs:
            out[f"{engine.replace('-', '_')}_sample"] = runs[engine]["sent"]
            out[f"{engine.replace('-', '_')}_threads"] = runs[engine]["pool_threads"]
    if "muster" in runs:
        out["muster_log_entries"] = runs["muster"]["log_entries"]
    out["targets"] = {name: verdict for name, verdict, _ in _targets(out)}
    return out


def _targets(figures: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    """(name, PASS/FAIL/None for not measured, detail) for each target of the issue."""
    muster, ceiling, apprise = (figures.get(f"{k}_per_s") for k in ("muster", "ceiling", "apprise"))
    found: list[tuple[str, bool | None, str]] = []
    if muster and ceiling:
        share = muster / ceiling
        found.append(("muster_90pct_of_ceiling", share >= TARGET_SHARE_OF_CEILING, f"{share:.1%} of the ceiling"))
    if muster and apprise:
        times = muster / apprise
        found.append(("muster_10x_apprise", times >= TARGET_TIMES_APPRISE, f"{times:.1f}× Apprise"))
    if figures["recipients"] == 10_000 and "muster_seconds" in figures:
        seconds = figures["muster_seconds"]
        found.append(("muster_10k_under_15s", seconds < TARGET_10K_SECONDS, f"{seconds:.2f} s"))
    return found


def format_table(result: dict[str, Any], figures: dict[str, Any], args: argparse.Namespace) -> str:
    """One plain-text table for one N, then the targets."""
    n, runs = result["recipients"], result["runs"]
    ceiling = runs["ceiling"]["per_s"] if "ceiling" in runs else None
    header = f"{'engine':<32} {'sent':>6} {'seconds':>8} {'msg/s':>7} {'% ceil':>7} {'CPU ms/msg':>10} {'peak MB':>8}"
    header += "  arrived"
    lines = [
        f"Fan-out to {n:,} recipients, {args.concurrency} in flight, endpoint answers in {args.delay_ms:g} ms",
        header,
        "-" * len(header),
    ]
    for engine, run in runs.items():
        label = ENGINES[engine]
        if engine in APPRISE_ENGINES:
            label += f" ({run['pool_threads']} thr)"
        share = f"{run['per_s'] / ceiling:.0%}" if ceiling else "-"
        arrived = run["arrived"]
        ok = "ok" if arrived["requests"] == arrived["distinct"] == run["sent"] == run["delivered"] else "MISMATCH"
        lines.append(
            f"{label:<32} {run['sent']:>6} {run['seconds']:>8.2f} {run['per_s']:>7.1f} {share:>7} "
            f"{run['cpu_s'] * 1000 / run['sent']:>10.2f} {run['peak_mb']:>8.1f}  {arrived['requests']} {ok}"
        )
    notes = []
    if any(e in runs and runs[e]["sent"] < n for e in APPRISE_ENGINES):
        notes.append(
            f"Apprise measured on {min(n, args.apprise_sample):,} of the {n:,} (--apprise-sample); rate compared."
        )
    if "muster" in runs:
        m = runs["muster"]
        notes.append(f"Muster's action log: {m['log_entries']:,} entries, chain verified in {m['log_verify_s']:.2f} s.")
    if args.repeat > 1:
        notes.append(f"Median of {args.repeat} runs per engine; all msg/s in --json (all_per_s).")
    if any(r.get("profiled") for r in runs.values()):
        notes.append("Muster rows ran under cProfile (--profile): slower than normal.")
    lines += [""] + [f"  {note}" for note in notes] + [""]
    for name, verdict, detail in _targets(figures):
        lines.append(f"  {'PASS' if verdict else 'FAIL'}  {name}: {detail}")
    if n != 10_000:
        lines.append("  n/a   muster_10k_under_15s: run with --n 10000")
    return "\n".join(lines)


def _parse_counts(values: list[str]) -> list[int]:
    counts = [int(part) for value in values for part in value.replace(",", " ").split()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("--n needs positive recipient counts, e.g. --n 1000,10000")
    return counts


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The options of both the benchmark and its ``--engine`` subprocesses."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", action="append", default=[], help="recipients: repeatable or a comma list (1000)")
    parser.add_argument("--concurrency", type=int, default=100, help="requests in flight, every engine (100)")
    parser.add_argument("--apprise-sample", type=int, default=1000, help="Apprise sends min(N, this) (1000)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of tables")
    parser.add_argument("--workers", type=int, default=1, help="endpoint processes sharing the port (1)")
    parser.add_argument("--delay-ms", type=float, default=100.0, help="the endpoint's answer delay (100)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed messages each engine sends first (10)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per engine; the median is shown (1)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma list of engines to run (all)")
    parser.add_argument("--profile", action="store_true", help="cProfile Muster's timed send; stats to stderr")
    parser.add_argument("--check", action="store_true", help="exit with status 1 when a target fails")
    parser.add_argument("--engine-timeout", type=float, default=900.0, help=argparse.SUPPRESS)
    parser.add_argument("--engine", choices=sorted(ENGINES), help=argparse.SUPPRESS)  # the subprocess side
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.n = _parse_counts(args.n or ["1000"])
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(args.engines) - set(ENGINES))
    if unknown:
        parser.error(f"unknown engines {unknown}; choose from {', '.join(ENGINES)}")
    if min(args.concurrency, args.apprise_sample, args.workers, args.repeat) < 1 or args.warmup < 0:
        parser.error("--concurrency, --apprise-sample, --workers and --repeat must be at least 1, --warmup at least 0")
    return args


@contextmanager
def _stopped_cleanly() -> Iterator[None]:
    """Ctrl-C or SIGTERM unwind through every ``finally`` (endpoint and engine stopped), then exit quietly."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    except KeyboardInterrupt:
        print("\ninterrupted; the endpoint and the running engine were stopped", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or, with ``--engine``, one engine's subprocess side)."""
    args = parse_args(argv)
    if args.engine:
        args.n = args.n[0]
        return run_engine(args)
    tables, all_figures, problems = [], [], []
    with _stopped_cleanly(), Endpoint(args.workers, args.delay_ms) as endpoint:
        print(f"endpoint: {endpoint.url} ({args.workers} process(es))", file=sys.stderr)
        for n in args.n:
            try:
                result, found = benchmark_one(n, endpoint, args)
            except RuntimeError as exc:
                print(f"ERROR: {exc}", file=sys.stderr)
                return 1
            figures = _figures(result, args)
            all_figures.append(figures)
            problems += found
            tables.append(format_table(result, figures, args))
            if not args.json:
                print(tables[-1] + "\n", flush=True)
    if args.json:
        print(json.dumps(all_figures[0] if len(all_figures) == 1 else all_figures, indent=2, ensure_ascii=False))
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    failed = any(v is False for f in all_figures for v in f["targets"].values())
    return 1 if problems or (args.check and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
