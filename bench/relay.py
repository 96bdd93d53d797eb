"""Chat relay throughput and latency: Kefu against a bare WebSocket relay, on loopback.

N shopper/agent pairs (each pair its own tenant, so an agent follows only its shopper's
conversation). In each pair the shopper sends a message, waits until the agent has it,
then sends the next (one message in flight per pair, N in flight in all). Prints, per
setup, delivered messages/s and the p50/p99 end-to-end latency (shopper's send to the
agent's receipt), then the ratios of each Kefu setup to the bare relay:

  (a) relay          a bare relay written with `websockets` that only forwards frames
                     between the two sockets of a pair (no parsing, no store);
  (b) kefu-sqlite    one Kefu node, SQLite (WAL), in-process bus;
  (c) kefu-pg        one Kefu node, PostgreSQL;
  (d) kefu-pg-redis  two Kefu nodes, PostgreSQL + Redis, every shopper on node A and
                     every agent on node B (each message crosses Redis).

Kefu runs with persistence on as in production (each message is committed before its
ack and fan-out); translation is off (bench/translation.py measures it) and the
per-connection rate limit is raised so that it does not cap the load. Each server runs
in its own process, the clients all in this one; everything is on 127.0.0.1. PostgreSQL
is the machine's (127.0.0.1:5432, a fresh database dropped afterwards; `--pg-admin-url`
to change it); Redis is a redis-server this script starts on a free port.

The bare relay moves the same load in a fraction of a second, too short to time well,
so it repeats the timed phase `--relay-rounds` times (20) and counts them all. Each line
also gives the server processes' CPU time per message over the timed phase (Kefu's or
the relay's processes, not PostgreSQL's or Redis's): on a shared machine it moves much
less than the wall-clock figures. The machine and its load average are printed first.

Run: `.venv/bin/python bench/relay.py` (about 1.5 minutes on the 2-core machine of
docs/performance.md);
`--pairs`, `--messages`, `--warmup`, `--relay-rounds`, `--only relay,kefu-sqlite,...`,
`--max-seconds`.
Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
sys.path.insert(0, str(ROOT))

from websockets.asyncio.client import ClientConnection, connect  # noqa: E402

SECRET = "bench-secret-" + "b" * 40
SETUPS = ("relay", "kefu-sqlite", "kefu-pg", "kefu-pg-redis")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def machine() -> str:
    """nproc, CPU model, RAM, Python and the load average: the context of every figure."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    return (
        f"machine: nproc={os.cpu_count()}, {model}, RAM {ram}, "
        f"Python {sys.version.split()[0]}; {load()}"
    )


def load() -> str:
    """The 1/5/15-minute load averages: other work on the machine skews the figures."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


# Processes ---------------------------------------------------------------------------


class ServerProcess:
    """A child process serving HTTP/WebSocket on a free port; stopped by `stop()`."""

    def __init__(self, command: list[str], port: int, env: dict[str, str], log: Path) -> None:
        self.command = command
        self.port = port
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, nofile: int | None = None) -> ServerProcess:
        def limits() -> None:
            if nofile is not None:
                import resource

                _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
                resource.setrlimit(resource.RLIMIT_NOFILE, (min(nofile, hard), hard))

        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=limits,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (all its threads), from /proc."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def wait_port(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command} exited; see {self.log}")
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.1)
        raise TimeoutError(f"{self.command} did not listen within {timeout}s")

    async def wait_ready(self, timeout: float = 60) -> None:
        """For Kefu: /readyz answers 200."""
        import httpx

        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=5) as http:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"kefu exited; see {self.log}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"http://127.0.0.1:{self.port}/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise TimeoutError(f"kefu on {self.port} was not ready within {timeout}s; see {self.log}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def kefu_process(
    work: Path, name: str, database_url: str, redis_url: str | None = None, **settings: str
) -> ServerProcess:
    port = free_port()
    data_dir = work / name
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env.update(
        KEFU_DATABASE_URL=database_url,
        KEFU_SECRET=SECRET,
        KEFU_TRANSLATION_ENABLED="false",
        KEFU_LOG_LEVEL="warning",
        KEFU_RATE_PER_SECOND="100000",
        KEFU_RATE_BURST="100000",
    )
    if redis_url:
        env["KEFU_REDIS_URL"] = redis_url
    env.update({f"KEFU_{key.upper()}": value for key, value in settings.items()})
    command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
    command += ["--data-dir", str(data_dir)]
    return ServerProcess(command, port, env, data_dir / "kefu.log")


class RedisProcess:
    """A redis-server of our own on a free port (the machine's is left alone)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def _spawn(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    async def start(self) -> RedisProcess:
        self._spawn()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return self
            except OSError:
                await asyncio.sleep(0.05)
        self.stop()
        raise TimeoutError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)


class PgDatabase:
    """A fresh database on an existing PostgreSQL server, dropped afterwards."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url  # postgresql://user@host:port/postgres
        self.name = "kefu_bench_" + secrets.token_hex(5)
        base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        self.url = f"{base}/{self.name}"

    async def _admin(self, sql: str) -> None:
        import asyncpg

        connection = await asyncpg.connect(self.admin_url, timeout=5)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def create(self) -> PgDatabase:
        await self._admin(f'CREATE DATABASE "{self.name}"')
        return self

    async def drop(self) -> None:
        with contextlib.suppress(Exception):
            await self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


# Set-up as an operator would (tenants, agents) and as shoppers' widgets would ---------


@dataclass
class Pair:
    shopper_token: str
    agent_token: str
    conversation_id: str


async def make_pairs(database_url: str, count: int) -> list[Pair]:
    """`count` tenants, each with one agent and one shopper with an open conversation."""
    from server.auth import Principal, TokenSigner
    from server.store import Database
    from server.store.models import Agent, Conversation, Tenant, Visitor

    signer = TokenSigner(SECRET)
    db = Database(database_url)
    pairs = []
    try:
        async with db.write() as session:
            for i in range(count):
                tenant = Tenant(
                    id=uuid.uuid4().hex,
                    name=f"Bench shop {i}",
                    widget_key="wk_" + secrets.token_urlsafe(18),
                    identity_secret=secrets.token_urlsafe(32),
                    allowed_origins=["https://bench.example"],
                    settings={},
                )
                agent = Agent(
                    id=uuid.uuid4().hex,
                    tenant_id=tenant.id,
                    email=f"agent{i}.{tenant.id[:8]}@bench.example",
                    name=f"Agent {i}",
                    password_hash="!",  # never logs in with a password: token signed below
                    role="agent",
                    language="en",
                    status="online",
                    active=True,
                )
                visitor = Visitor(id=uuid.uuid4().hex, tenant_id=tenant.id, name="Shopper")
                conversation = Conversation(
                    id=uuid.uuid4().hex, tenant_id=tenant.id, visitor_id=visitor.id
                )
                session.add(tenant)
                await session.flush()
                session.add_all([agent, visitor])
                await session.flush()
                session.add(conversation)
                ttl = 24 * 3600
                pairs.append(
                    Pair(
                        signer.issue(
                            Principal("visitor", visitor.id, tenant.id, "visitor", "Shopper"), ttl
                        ),
                        signer.issue(
                            Principal("agent", agent.id, tenant.id, "agent", agent.name), ttl
                        ),
                        conversation.id,
                    )
                )
    finally:
        await db.dispose()
    return pairs


# The bare relay (a) --------------------------------------------------------------------


async def serve_relay(port: int) -> None:
    """Forward every frame between the two sockets of a pair: /pair/<id>/<shopper|agent>."""
    from websockets.asyncio.server import ServerConnection, serve

    pairs: dict[str, dict[str, ServerConnection]] = {}

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        _, _, pair_id, role = ws.request.path.split("/")
        peers = pairs.setdefault(pair_id, {})
        peers[role] = ws
        other = "agent" if role == "shopper" else "shopper"
        if other in peers:
            for peer in (ws, peers[other]):
                await peer.send('{"type":"ready"}')
        try:
            async for frame in ws:
                target = peers.get(other)
                if target is not None:
                    await target.send(frame)
        finally:
            peers.pop(role, None)

    async with serve(handler, "127.0.0.1", port, max_size=None, ping_interval=None):
        await asyncio.Future()


# Load -----------------------------------------------------------------------------------


@dataclass
class Result:
    setup: str
    delivered: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    note: str = ""
    server_cpu: float = 0.0
    """CPU seconds the server process(es) used during the timed phase."""

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class PairDriver:
    """One pair's two sockets and its closed loop: send, wait for the agent to have it."""

    def __init__(self, index: int, kefu: bool, conversation_id: str | None) -> None:
        self.index = index
        self.kefu = kefu
        self.conversation_id = conversation_id
        self.shopper: ClientConnection | None = None
        self.agent: ClientConnection | None = None
        self.sent_at: dict[str, float] = {}
        self.arrived: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
        self.errors: list[str] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def open_kefu(self, shopper_url: str, agent_url: str, pair: Pair) -> None:
        self.agent = await self._hello(agent_url, pair.agent_token, pair.conversation_id)
        self.shopper = await self._hello(shopper_url, pair.shopper_token, pair.conversation_id)
        self._start_readers()

    async def _hello(self, url: str, token: str, cid: str) -> ClientConnection:
        ws = await connect(url, max_size=None, open_timeout=30, ping_interval=None)
        await ws.send(json.dumps({"type": "hello", "token": token, "resume": {cid: 0}}))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if frame["type"] == "synced":
                return ws
            if frame["type"] == "error":
                raise RuntimeError(f"hello refused: {frame}")

    async def open_relay(self, url: str) -> None:
        self.agent = await connect(f"{url}/pair/{self.index}/agent", max_size=None)
        self.shopper = await connect(f"{url}/pair/{self.index}/shopper", max_size=None)
        for ws in (self.agent, self.shopper):
            await asyncio.wait_for(ws.recv(), 30)  # ready
        self._start_readers()

    def _start_readers(self) -> None:
        self.tasks = [
            asyncio.create_task(self._read_agent()),
            asyncio.create_task(self._read_shopper()),
        ]

    async def _read_agent(self) -> None:
        assert self.agent is not None
        with contextlib.suppress(Exception):
            async for raw in self.agent:
                now = time.perf_counter()
                frame = json.loads(raw)
                if self.kefu:
                    if frame.get("type") != "message.new":
                        continue
                    client_id = frame["message"]["client_id"]
                else:
                    client_id = frame["id"]
                self.arrived.put_nowait((client_id, now))

    async def _read_shopper(self) -> None:
        assert self.shopper is not None
        with contextlib.suppress(Exception):
            async for raw in self.shopper:
                frame = json.loads(raw)
                if frame.get("type") == "error":
                    self.errors.append(f"{frame.get('code')}: {frame.get('message')}")

    async def run(self, prefix: str, count: int, result: Result | None) -> None:
        assert self.shopper is not None
        for k in range(count):
            client_id = f"{prefix}-{self.index}-{k}"
            frame = {
                "type": "message.send",
                "id": client_id,
                "conversation_id": self.conversation_id or "",
                "text": f"Hello, is order #{100000 + k} shipped yet? ({client_id})",
            }
            sent = time.perf_counter()
            await self.shopper.send(json.dumps(frame))
            while True:
                got, at = await asyncio.wait_for(self.arrived.get(), 30)
                if got == client_id:
                    break
            if result is not None:
                result.delivered += 1
                result.latencies_ms.append((at - sent) * 1000)

    async def close(self) -> None:
        for ws in (self.shopper, self.agent):
            if ws is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(), 5)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def drive(
    setup: str,
    drivers: list[PairDriver],
    messages: int,
    warmup: int,
    max_seconds: float,
    servers: list[ServerProcess],
    rounds: int = 1,
) -> Result:
    """Warm up, then `rounds` times the timed phase (`messages` per pair), back to back.

    Also takes the servers' CPU time over the timed phase: CPU per message depends far
    less than wall-clock figures on what else the machine is doing."""
    result = Result(setup)
    if rounds > 1:
        result.note = f"{rounds} rounds of {messages} per pair"
    try:
        await asyncio.wait_for(
            asyncio.gather(*(d.run("warm", warmup, None) for d in drivers)), max_seconds
        )
        started = time.perf_counter()
        cpu_before = sum(server.cpu_seconds() for server in servers)
        try:
            for r in range(rounds):
                await asyncio.wait_for(
                    asyncio.gather(*(d.run(f"m{r}", messages, result) for d in drivers)),
                    max_seconds,
                )
        except TimeoutError:
            result.note = f"stopped at the {max_seconds:.0f} s bound"
        result.seconds = time.perf_counter() - started
        result.server_cpu = sum(server.cpu_seconds() for server in servers) - cpu_before
    finally:
        for d in drivers:
            result.errors += d.errors
        await asyncio.gather(*(d.close() for d in drivers))
    return result


# Setups ---------------------------------------------------------------------------------


async def run_relay(args: argparse.Namespace, work: Path) -> Result:
    port = free_port()
    command = [sys.executable, str(SCRIPT), "--serve-relay", str(port)]
    env = dict(os.environ)
    server = ServerProcess(command, port, env, work / "relay.log").start()
    try:
        await server.wait_port()
        drivers = [PairDriver(i, kefu=False, conversation_id=None) for i in range(args.pairs)]
        for d in drivers:
            await d.open_relay(f"ws://127.0.0.1:{port}")
        return await drive(
            "relay",
            drivers,
            args.messages,
            args.warmup,
            args.max_seconds,
            [server],
            args.relay_rounds,
        )
    finally:
        server.stop()


async def run_kefu(
    setup: str,
    args: argparse.Namespace,
    database_url: str,
    work: Path,
    redis_url: str | None = None,
    nodes: int = 1,
) -> Result:
    servers = [kefu_process(work, f"{setup}-{i}", database_url, redis_url) for i in range(nodes)]
    try:
        servers[0].start()
        await servers[0].wait_ready()  # the first one migrates the database alone
        for server in servers[1:]:
            server.start()
            await server.wait_ready()
        pairs = await make_pairs(database_url, args.pairs)
        drivers = [PairDriver(i, True, p.conversation_id) for i, p in enumerate(pairs)]
        shopper_url = f"ws://127.0.0.1:{servers[0].port}/ws"
        agent_url = f"ws://127.0.0.1:{servers[-1].port}/ws"
        for driver, pair in zip(drivers, pairs, strict=True):
            await driver.open_kefu(shopper_url, agent_url, pair)
        return await drive(setup, drivers, args.messages, args.warmup, args.max_seconds, servers)
    finally:
        for server in servers:
            server.stop()


async def with_pg(
    args: argparse.Namespace, body: Callable[[str], Awaitable[Result]], setup: str
) -> Result:
    database = PgDatabase(args.pg_admin_url)
    try:
        await database.create()
    except Exception as exc:
        return Result(setup, note=f"skipped: PostgreSQL not reachable ({exc!r})")
    try:
        return await body(database.url)
    finally:
        await database.drop()


async def main(args: argparse.Namespace) -> None:
    wanted = args.only.split(",") if args.only else list(SETUPS)
    results: dict[str, Result] = {}
    work = Path(tempfile.mkdtemp(prefix="kefu-bench-relay-"))
    print(machine(), flush=True)
    print(
        f"{args.pairs} pairs, {args.messages} messages each after {args.warmup} warm-up, "
        f"one in flight per pair",
        flush=True,
    )
    try:
        for setup in wanted:
            if setup == "relay":
                result = await run_relay(args, work)
            elif setup == "kefu-sqlite":
                url = f"sqlite+aiosqlite:///{work / 'sqlite' / 'kefu.db'}"
                (work / "sqlite").mkdir(exist_ok=True)
                result = await run_kefu(setup, args, url, work)
            elif setup == "kefu-pg":
                result = await with_pg(
                    args, lambda url: run_kefu("kefu-pg", args, url, work), setup
                )
            elif setup == "kefu-pg-redis":
                try:
                    redis = await RedisProcess().start()
                except (RuntimeError, TimeoutError) as exc:
                    result = Result(setup, note=f"skipped: no Redis of our own ({exc})")
                    results[setup] = result
                    report(result)
                    continue
                try:
                    result = await with_pg(
                        args,
                        lambda url, r=redis: run_kefu(  # type: ignore[misc]
                            "kefu-pg-redis", args, url, work, r.url, nodes=2
                        ),
                        setup,
                    )
                finally:
                    redis.stop()
            else:
                raise SystemExit(f"unknown setup {setup}; choose from {', '.join(SETUPS)}")
            results[setup] = result
            report(result)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"at the end: {load()}", flush=True)
    base = results.get("relay")
    if base is not None and base.rate:
        print(
            "\nratios to the bare relay (throughput; p50 latency; p99 latency; server CPU per"
            " message, Kefu's processes only, not PostgreSQL's or Redis's):"
        )
        base_cpu = base.server_cpu / base.delivered
        for setup, result in results.items():
            if setup == "relay" or not result.rate:
                continue
            cpu = result.server_cpu / result.delivered
            print(
                f"  {setup:14s} {result.rate / base.rate:6.3f}x msg/s; "
                f"{result.percentile(50) / base.percentile(50):6.1f}x p50; "
                f"{result.percentile(99) / base.percentile(99):6.1f}x p99; "
                + (f"{cpu / base_cpu:6.1f}x CPU/msg" if base_cpu else "CPU/msg n/a")
            )


def report(result: Result) -> None:
    if not result.seconds:
        print(f"{result.setup:14s} {result.note}", flush=True)
        return
    line = (
        f"{result.setup:14s} {result.delivered:6d} delivered in {result.seconds:6.2f} s: "
        f"{result.rate:8.0f} msg/s, p50 {result.percentile(50):7.2f} ms, "
        f"p99 {result.percentile(99):7.2f} ms"
    )
    if result.delivered:
        line += f"; server CPU {result.server_cpu / result.delivered * 1000:.2f} ms/msg"
    if result.errors:
        line += f"; {len(result.errors)} errors, e.g. {result.errors[0]}"
    if result.note:
        line += f" ({result.note})"
    print(line, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--messages", type=int, default=40, help="timed messages per pair")
    parser.add_argument("--warmup", type=int, default=5, help="untimed messages per pair first")
    parser.add_argument(
        "--relay-rounds",
        type=int,
        default=20,
        help="the bare relay repeats the timed phase this many times (one is too short to time)",
    )
    parser.add_argument("--only", default="", help=f"comma-separated subset of {SETUPS}")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="bound per phase")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("KEFU_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL where a fresh database may be created (and dropped)",
    )
    parser.add_argument("--serve-relay", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _use_uvloop() -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


if __name__ == "__main__":
    arguments = parse_args()
    _use_uvloop()  # the relay and the clients get the same loop uvicorn gives Kefu
    if arguments.serve_relay:
        asyncio.run(serve_relay(arguments.serve_relay))
    else:
        asyncio.run(main(arguments))
