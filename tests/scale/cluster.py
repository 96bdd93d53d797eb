"""Real processes for the scale-out suite: a PostgreSQL of our own, Kefu nodes, a tenant.

- `OwnPostgres`: initdb + pg_ctl from /usr/lib/postgresql/*/bin into a temp folder owned
  by the `postgres` OS user (PostgreSQL refuses to run as root), on a free port, trust
  auth, loopback only, its socket in the temp folder. Stop and start it at will.
- `KefuNode`: `python -m server.cli serve` as a subprocess with the shared database, Redis
  and secret; `ready()` waits on /healthz then /readyz; `kill()` is SIGKILL.
- `Cluster`: the nodes of one test (always killed at the end) and the CLI/REST set-up of
  a tenant, its agents and its shoppers, as an operator and a storefront would do it.

Every wait has a deadline; nothing here can hang a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.services import missing

REPO = Path(__file__).resolve().parents[2]
SECRET = "scale-test-secret-" + "s" * 40
START_TIMEOUT = 40.0
HTTP_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres_bin() -> Path | None:
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        path = Path(folder)
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and shutil.which("initdb") else None


class OwnPostgres:
    """A PostgreSQL server this suite starts itself, on a free port, in a temp folder."""

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        if self.bin is None:
            missing("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.as_user: list[str] = []
        owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                missing("running as root and there is no `postgres` OS user to run PostgreSQL")
            if shutil.which("runuser") is None:
                missing("runuser is not installed (needed to run PostgreSQL as `postgres`)")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.dir = Path(tempfile.mkdtemp(prefix="kefu-pg-"))
        if owner is not None:
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = free_port()
        self.running = False

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        assert self.bin is not None
        command = [*self.as_user, str(self.bin / args[0]), *args[1:]]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.dir, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}\n{result.stderr}\n{self.tail()}")
        return result

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.dir}'",
            "max_connections": "300",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "64MB",
        }
        conf = "".join(f"{key} = {value}\n" for key, value in settings.items())
        with (self.data / "postgresql.conf").open("a") as handle:
            handle.write("\n# kefu tests/scale\n" + conf)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")
        self.running = False

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            if self.running:
                self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    async def create_database(self) -> str:
        import asyncpg

        name = "kefu_scale_" + secrets.token_hex(5)
        connection = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user="postgres", database="postgres", timeout=10
        )
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return self.url(name)


class KefuNode:
    """One `kefu serve` process of the cluster."""

    def __init__(
        self, name: str, env: dict[str, str], data_dir: Path, args: tuple[str, ...] = ()
    ) -> None:
        self.name = name
        self.args = args
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.data_dir = data_dir / name
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "node.log"
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> KefuNode:
        command = [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port)]
        command += ["--data-dir", str(self.data_dir), *self.args]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def status(self, path: str) -> int | None:
        """HTTP status of GET path, None if the node does not answer."""
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                return (await http.get(self.base_url + path)).status_code
        except httpx.HTTPError:
            return None

    async def wait_status(self, path: str, wanted: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: int | None = None
        while time.monotonic() < deadline:
            if self.process is not None and not self.alive:
                raise RuntimeError(f"node {self.name} exited:\n{self.tail()}")
            last = await self.status(path)
            if last == wanted:
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(
            f"node {self.name}: {path} answered {last}, not {wanted}, within {timeout}s\n"
            + self.tail()
        )

    async def ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        await self.wait_status("/healthz", 200, timeout)
        await self.wait_status("/readyz", 200, max(1.0, deadline - time.monotonic()))

    async def readyz(self) -> tuple[int, dict[str, Any]]:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(self.base_url + "/readyz")
            return response.status_code, response.json()

    async def wait_readyz(self, status: int, timeout: float) -> dict[str, Any]:
        """/readyz's body once it answers `status`; fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            code, body = await self.readyz()
            if code == status:
                return body
            assert time.monotonic() < deadline, f"{self.name} /readyz stayed {code}: {body}"
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to clients, Redis or PostgreSQL."""
        if self.process is not None and self.alive:
            self.process.send_signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return f"--- {self.name} log ---\n" + "\n".join(text.splitlines()[-lines:])


@dataclass
class Agent:
    id: str
    email: str
    name: str
    password: str
    token: str = ""


@dataclass
class Shopper:
    visitor_id: str
    token: str
    conversation_id: str


@dataclass
class Tenant:
    id: str
    name: str
    widget_key: str
    origin: str
    agents: list[Agent] = field(default_factory=list)


class Cluster:
    """The nodes of one test and the operator's tools around them."""

    def __init__(self, database_url: str, redis_url: str, work_dir: Path) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.work_dir = work_dir
        self.nodes: list[KefuNode] = []
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
        env.update(
            KEFU_DATABASE_URL=database_url,
            KEFU_REDIS_URL=redis_url,
            KEFU_SECRET=SECRET,
            # Translation events take seqs; this suite counts seqs exactly (as tests/server).
            KEFU_TRANSLATION_ENABLED="false",
            KEFU_LOG_LEVEL="warning",
            PYTHONUNBUFFERED="1",
        )
        self.env = env

    # Processes
    async def start_nodes(
        self, count: int, args: tuple[str, ...] = (), **env: str
    ) -> list[KefuNode]:
        """`count` nodes started at once (`args`: extra `kefu serve` arguments, `env`: extra
        variables), each ready (/readyz 200)."""
        nodes = [
            KefuNode(f"node-{len(self.nodes) + i}", {**self.env, **env}, self.work_dir, args)
            for i in range(count)
        ]
        self.nodes += nodes
        for node in nodes:
            node.start()
        await asyncio.gather(*(node.ready() for node in nodes))
        return nodes

    def close(self) -> None:
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.stop()
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.kill()

    async def cli(self, *args: str) -> dict[str, Any]:
        """`kefu ARGS` against the cluster's database; its JSON output."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", *args,
            "--data-dir", str(self.work_dir / "cli"),
            cwd=REPO, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            out, err = await asyncio.wait_for(process.communicate(), 60)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        if process.returncode != 0:
            raise RuntimeError(f"kefu {' '.join(args)} failed: {err.decode()}")
        parsed: dict[str, Any] = json.loads(out)
        return parsed

    # Set-up as an operator and a storefront would do it
    async def create_tenant(self, name: str, agents: int = 1) -> Tenant:
        """`kefu tenant create` (which also migrates the database) and `kefu agent create`."""
        origin = f"https://{name.lower()}-{secrets.token_hex(3)}.example"
        data = await self.cli("tenant", "create", name, "--origin", origin)
        tenant = Tenant(data["id"], name, data["widget_key"], origin)
        for i in range(agents):
            email = f"agent{i}.{secrets.token_hex(3)}@{name.lower()}.example"
            password = "pw-" + secrets.token_hex(8)
            agent_name = f"Agent {i}"
            created = await self.cli(
                "agent", "create", "--tenant", tenant.id, "--email", email,
                "--name", agent_name, "--password", password,
            )  # fmt: skip
            tenant.agents.append(Agent(created["id"], email, agent_name, password))
        return tenant

    async def login_agents(self, tenant: Tenant, node: KefuNode) -> None:
        async with httpx.AsyncClient(base_url=node.base_url, timeout=HTTP_TIMEOUT) as http:
            for agent in tenant.agents:
                response = await http.post(
                    "/api/v1/auth/login", json={"email": agent.email, "password": agent.password}
                )
                assert response.status_code == 200, response.text
                agent.token = response.json()["access_token"]

    async def shopper(self, tenant: Tenant, node: KefuNode) -> Shopper:
        async with httpx.AsyncClient(base_url=node.base_url, timeout=HTTP_TIMEOUT) as http:
            session = await http.post(
                "/api/v1/widget/sessions",
                json={"widget_key": tenant.widget_key},
                headers={"Origin": tenant.origin},
            )
            assert session.status_code == 200, session.text
            token = session.json()["token"]
            conversation = await http.post(
                "/api/v1/widget/conversations", headers={"Authorization": f"Bearer {token}"}
            )
            assert conversation.status_code == 200, conversation.text
        return Shopper(session.json()["visitor"]["id"], token, conversation.json()["id"])

    async def stored_events(
        self, node: KefuNode, token: str, conversation_id: str
    ) -> list[dict[str, Any]]:
        """Every stored event of a conversation, oldest first, through REST paging."""
        events: list[dict[str, Any]] = []
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=node.base_url, timeout=HTTP_TIMEOUT) as http:
            while True:
                response = await http.get(
                    f"/api/v1/conversations/{conversation_id}/events",
                    params={"after_seq": events[-1]["seq"] if events else 0, "limit": 200},
                    headers=headers,
                )
                assert response.status_code == 200, response.text
                page = response.json()
                events += page["events"]
                if not page["has_more"]:
                    return events
