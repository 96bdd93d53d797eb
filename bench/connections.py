"""Idle WebSocket connections: server memory per connection, and a herd of reconnects.

One Kefu node (SQLite, in-process bus: the embedded default; `--database-url` for
another store) serves shoppers, each with one conversation. A client process (separate
from the server, so the server's RSS is the server's alone) opens authenticated
connections (`hello` with `resume {conversation: 0}`, waits for `synced`) and keeps them
idle. Prints the server's RSS growth per connection at each count (default 1k and 10k).

Then the first `--resume` clients (default 1k) drop their sockets, `--history` messages
(default 3) are added to each of their conversations while they are away, and all of
them reconnect at once with `hello.resume` (their last seq): prints the time until every
one of them has its replay and `synced`, with p50/p99 per client, while the other idle
connections stay open.

Shoppers, conversations and the missed messages are written straight into the store by
this script (bulk inserts, with the conversation's seqs kept right), so that setting up
10k shoppers takes seconds instead of 10k REST round trips. The fd limit is raised to
the hard limit in both processes (`resource.setrlimit`).

Run: `.venv/bin/python bench/connections.py` (about 2.5 minutes on the 2-core machine
of docs/performance.md);
`--counts 1000,10000 --resume 1000 --history 3 --concurrency 100 --max-seconds 300`.
Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import resource
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.relay import SECRET, kefu_process, load, machine, rss_bytes  # noqa: E402


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# The client process --------------------------------------------------------------------


async def _client_loop(pipe: Connection, url: str, concurrency: int) -> None:
    from websockets.asyncio.client import ClientConnection, connect

    open_sockets: dict[int, ClientConnection] = {}
    drains: dict[int, asyncio.Task[None]] = {}
    gate = asyncio.Semaphore(concurrency)

    async def drain(ws: ClientConnection) -> None:
        with contextlib.suppress(Exception):
            async for _ in ws:
                pass

    async def hello(index: int, token: str, cid: str, last: int) -> tuple[float, int]:
        """Connect, resume from `last`, wait for synced; (seconds, events replayed)."""
        started = time.perf_counter()
        ws = await connect(url, open_timeout=60, ping_interval=None, max_size=None)
        await ws.send(json.dumps({"type": "hello", "token": token, "resume": {cid: last}}))
        replayed = 0
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if frame["type"] == "message.new":
                replayed += 1
            elif frame["type"] == "synced":
                break
            elif frame["type"] == "error":
                await ws.close()
                raise RuntimeError(str(frame))
        open_sockets[index] = ws
        drains[index] = asyncio.create_task(drain(ws))
        return time.perf_counter() - started, replayed

    async def gated(index: int, token: str, cid: str, last: int) -> tuple[float, int]:
        async with gate:
            return await hello(index, token, cid, last)

    while True:
        command, payload = await asyncio.to_thread(pipe.recv)
        if command == "quit":
            break
        started = time.perf_counter()
        if command == "connect":
            runs = [gated(i, token, cid, 0) for i, token, cid in payload]
        elif command == "resume":  # everyone at once: a herd after a node went away
            runs = [hello(i, token, cid, last) for i, token, cid, last in payload]
        elif command == "close":
            for index in payload:
                ws = open_sockets.pop(index)
                await ws.close()
                drains.pop(index).cancel()
            pipe.send({"open": len(open_sockets)})
            continue
        else:
            raise ValueError(command)
        outcomes = await asyncio.gather(*runs, return_exceptions=True)
        elapsed = time.perf_counter() - started
        failures = [repr(o) for o in outcomes if isinstance(o, BaseException)]
        done = [o for o in outcomes if not isinstance(o, BaseException)]
        pipe.send(
            {
                "seconds": elapsed,
                "per_client": [seconds for seconds, _ in done],
                "replayed": sum(replayed for _, replayed in done),
                "failures": failures[:3],
                "failed": len(failures),
                "open": len(open_sockets),
            }
        )
    for ws in open_sockets.values():
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), 1)


def client_process(pipe: Connection, url: str, concurrency: int) -> None:
    raise_fd_limit()
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(_client_loop(pipe, url, concurrency))


# Store set-up ---------------------------------------------------------------------------


async def make_shoppers(database_url: str, count: int) -> list[tuple[str, str]]:
    """One tenant, `count` shoppers with one conversation each: [(token, conversation id)]."""
    from server.auth import Principal, TokenSigner
    from server.store import Database
    from server.store.models import Conversation, Tenant, Visitor

    signer = TokenSigner(SECRET)
    db = Database(database_url)
    tenant = Tenant(
        id=uuid.uuid4().hex,
        name="Connections bench",
        widget_key="wk_" + secrets.token_urlsafe(18),
        identity_secret=secrets.token_urlsafe(32),
        allowed_origins=["https://bench.example"],
        settings={},
    )
    shoppers = []
    try:
        async with db.write() as session:
            session.add(tenant)
        for start in range(0, count, 2000):
            async with db.write() as session:
                visitors = [
                    Visitor(id=uuid.uuid4().hex, tenant_id=tenant.id, name="Shopper")
                    for _ in range(start, min(count, start + 2000))
                ]
                session.add_all(visitors)
                await session.flush()
                conversations = [
                    Conversation(id=uuid.uuid4().hex, tenant_id=tenant.id, visitor_id=v.id)
                    for v in visitors
                ]
                session.add_all(conversations)
            for visitor, conversation in zip(visitors, conversations, strict=True):
                principal = Principal("visitor", visitor.id, tenant.id, "visitor", "Shopper")
                shoppers.append((signer.issue(principal, 24 * 3600), conversation.id))
    finally:
        await db.dispose()
    return shoppers


async def add_history(database_url: str, conversation_ids: list[str], per: int) -> None:
    """`per` agent-less system messages in each conversation, with the next seqs."""
    from sqlalchemy import select

    from server.store import Database
    from server.store.models import Conversation, Event

    db = Database(database_url)
    try:
        async with db.write() as session:
            rows = await session.scalars(
                select(Conversation).where(Conversation.id.in_(conversation_ids))
            )
            for conversation in rows:
                for _ in range(per):
                    conversation.last_seq += 1
                    session.add(
                        Event(
                            id=uuid.uuid4().hex,
                            conversation_id=conversation.id,
                            seq=conversation.last_seq,
                            type="message",
                            author_type="system",
                            author_id=None,
                            client_id=None,
                            text=f"While you were away ({conversation.last_seq})",
                            data={"author_name": "Kefu"},
                            created_at=datetime.now(UTC),
                        )
                    )
    finally:
        await db.dispose()


# Main -----------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def settle_rss(pid: int, seconds: float = 2.0) -> int:
    await asyncio.sleep(seconds)
    return rss_bytes(pid)


async def request(pipe: Connection, command: str, payload: Any, timeout: float) -> dict[str, Any]:
    pipe.send((command, payload))
    ready = await asyncio.to_thread(pipe.poll, timeout)
    if not ready:
        raise TimeoutError(f"the client process did not finish {command} within {timeout}s")
    answer: dict[str, Any] = pipe.recv()
    return answer


async def main(args: argparse.Namespace) -> None:
    counts = sorted(int(c) for c in args.counts.split(","))
    total = counts[-1]
    print(machine(), flush=True)
    soft_before = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    fd_limit = raise_fd_limit()
    print(f"fd limit (ulimit -n): {soft_before}, raised to {fd_limit}", flush=True)
    if fd_limit < total + 200:
        print(f"note: the fd limit is {fd_limit}; {total} connections may not fit")
    work = Path(tempfile.mkdtemp(prefix="kefu-bench-conn-"))
    database_url = args.database_url or f"sqlite+aiosqlite:///{work / 'kefu.db'}"
    server = kefu_process(
        work, "node", database_url, ws_compression="false" if args.no_compression else "true"
    )
    server.start(nofile=total + 1000)
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    clients = context.Process(
        target=client_process,
        args=(theirs, f"ws://127.0.0.1:{server.port}/ws", args.concurrency),
        daemon=True,
    )
    try:
        await server.wait_ready()
        started = time.perf_counter()
        shoppers = await make_shoppers(database_url, total + 50)
        print(f"{total + 50} shoppers set up in {time.perf_counter() - started:.1f} s", flush=True)
        warm, shoppers = shoppers[:50], shoppers[50:]
        clients.start()

        # Warm the server's code paths, then take the baseline.
        await request(ours, "connect", [(-i - 1, t, c) for i, (t, c) in enumerate(warm)], 60)
        await request(ours, "close", [-i - 1 for i in range(len(warm))], 60)
        baseline = await settle_rss(server.pid)
        print(f"server RSS with no connection: {baseline / 2**20:.1f} MiB", flush=True)

        opened = 0
        for count in counts:
            batch = [(i, t, c) for i, (t, c) in enumerate(shoppers[opened:count], start=opened)]
            cpu_before = server.cpu_seconds()
            answer = await request(ours, "connect", batch, args.max_seconds)
            cpu = server.cpu_seconds() - cpu_before
            opened = count
            rss = await settle_rss(server.pid)
            grown = rss - baseline
            print(
                f"{answer['open']:6d} idle connections: server RSS {rss / 2**20:7.1f} MiB "
                f"(+{grown / 2**20:.1f} MiB), {grown / max(1, answer['open']) / 1024:.1f} KiB "
                f"per connection; opened {len(batch)} in {answer['seconds']:.1f} s "
                f"({len(batch) / answer['seconds']:.0f}/s, {args.concurrency} at a time; "
                f"server CPU {cpu / max(1, len(batch)) * 1000:.1f} ms per handshake)"
                + (
                    f"; {answer['failed']} failed: {answer['failures']}" if answer["failed"] else ""
                ),
                flush=True,
            )

        herd = min(args.resume, opened)
        if herd:
            await request(ours, "close", list(range(herd)), 60)
            await add_history(database_url, [c for _, c in shoppers[:herd]], args.history)
            herd_batch = [(i, t, c, 0) for i, (t, c) in enumerate(shoppers[:herd])]
            cpu_before = server.cpu_seconds()
            answer = await request(ours, "resume", herd_batch, args.max_seconds)
            cpu = server.cpu_seconds() - cpu_before
            per = answer["per_client"]
            print(
                f"{herd} clients reconnected at once and resumed ({answer['replayed']} events "
                f"replayed, {args.history} each) in {answer['seconds']:.2f} s; per client "
                f"p50 {percentile(per, 50) * 1000:.0f} ms, "
                f"p99 {percentile(per, 99) * 1000:.0f} ms, "
                f"mean {statistics.fmean(per) * 1000 if per else float('nan'):.0f} ms; "
                f"{answer['open'] - herd} other connections stayed open; server CPU "
                f"{cpu:.2f} s ({cpu / herd * 1000:.1f} ms per resume)"
                + (
                    f"; {answer['failed']} failed: {answer['failures']}" if answer["failed"] else ""
                ),
                flush=True,
            )
        print(f"at the end: {load()}", flush=True)
        with contextlib.suppress(Exception):
            ours.send(("quit", None))
    finally:
        clients.join(timeout=30)
        if clients.is_alive():
            clients.kill()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="1000,10000", help="idle connections to measure at")
    parser.add_argument("--resume", type=int, default=1000, help="clients in the reconnect herd")
    parser.add_argument("--history", type=int, default=3, help="messages missed per client")
    parser.add_argument("--concurrency", type=int, default=100, help="handshakes at a time")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="bound per phase")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    parser.add_argument(
        "--no-compression", action="store_true", help="serve with KEFU_WS_COMPRESSION=false"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    asyncio.run(main(arguments))
    os._exit(0)  # the spawn context's resource tracker must not keep the bench alive
