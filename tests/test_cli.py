"""The `kefu` command, run as a real subprocess on a temporary data folder (SQLite)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

STARTUP_DEADLINE_SECONDS = 60.0
COMMAND_TIMEOUT_SECONDS = 120.0


def kefu_command() -> list[str]:
    script = Path(sys.executable).parent / "kefu"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "server.cli"]


def clean_env() -> dict[str, str]:
    """The caller's environment without KEFU_* settings, so only the arguments count."""
    return {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}


def kefu(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*kefu_command(), *args],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        env=clean_env(),
        check=False,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class Served:
    def __init__(self, process: subprocess.Popen[str], base_url: str, output: Path) -> None:
        self.process = process
        self.base_url = base_url
        self.output_path = output

    @property
    def output(self) -> str:
        return self.output_path.read_text()


@contextmanager
def serve(data_dir: Path, *extra: str) -> Iterator[Served]:
    """`kefu serve` in a subprocess; ready once /healthz answers; always stopped."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    output = data_dir.parent / f"serve-{port}.log"
    with output.open("w") as log:
        process = subprocess.Popen(
            [*kefu_command(), "serve", "--port", str(port), "--data-dir", str(data_dir), *extra],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env=clean_env(),
        )
    served = Served(process, base_url, output)
    try:
        deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
        while True:
            if process.poll() is not None:
                raise AssertionError(
                    f"kefu serve exited with {process.returncode}:\n{served.output}"
                )
            try:
                if httpx.get(base_url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"kefu serve was not ready in time:\n{served.output}")
            time.sleep(0.1)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def login(base_url: str, email: str, password: str) -> httpx.Response:
    return httpx.post(
        base_url + "/api/v1/auth/login", json={"email": email, "password": password}, timeout=30
    )


def test_db_upgrade_creates_the_schema_and_is_idempotent(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = kefu("db", "upgrade", "--data-dir", str(data))
    assert first.returncode == 0, first.stderr
    database = data / "kefu.db"
    assert database.exists()
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("select name from sqlite_master")}
        version = connection.execute("select version_num from alembic_version").fetchall()
    assert {"tenants", "agents", "visitors", "conversations", "events", "read_cursors"} <= tables
    assert len(version) == 1
    second = kefu("db", "upgrade", "--data-dir", str(data))
    assert second.returncode == 0, second.stderr


def test_tenant_and_agent_create_then_log_in_through_the_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    created = kefu(
        "tenant", "create", "Acme Shop", "--origin", "https://x.example", "--data-dir", str(data)
    )
    assert created.returncode == 0, created.stderr
    tenant = json.loads(created.stdout)
    assert tenant["name"] == "Acme Shop"
    assert tenant["widget_key"].startswith("wk_")
    assert len(tenant["identity_secret"]) >= 32
    assert tenant["allowed_origins"] == ["https://x.example"]

    agent = kefu(
        "agent", "create", "--tenant", "Acme Shop", "--email", "Sam@Acme.example",
        "--name", "Sam", "--password", "sam-password-1", "--role", "admin",
        "--data-dir", str(data),
    )  # fmt: skip
    assert agent.returncode == 0, agent.stderr
    agent_view = json.loads(agent.stdout)
    assert agent_view["email"] == "sam@acme.example"
    assert agent_view["role"] == "admin"
    assert "password" not in agent_view
    assert "password_hash" not in agent_view

    by_id = kefu(
        "agent", "create", "--tenant", tenant["id"], "--email", "kim@acme.example",
        "--name", "Kim", "--data-dir", str(data),
    )  # fmt: skip
    assert by_id.returncode == 0, by_id.stderr
    generated = json.loads(by_id.stdout)["password"]  # no tty: a password is generated

    duplicate = kefu(
        "agent", "create", "--tenant", "Acme Shop", "--email", "sam@acme.example",
        "--name", "Sam 2", "--password", "sam-password-2", "--data-dir", str(data),
    )  # fmt: skip
    assert duplicate.returncode == 1
    assert "email_taken" in duplicate.stderr
    unknown = kefu(
        "agent", "create", "--tenant", "No Such Shop", "--email", "x@acme.example",
        "--name", "X", "--password", "x-password-1", "--data-dir", str(data),
    )  # fmt: skip
    assert unknown.returncode == 1
    assert "tenant_not_found" in unknown.stderr
    short = kefu(
        "agent", "create", "--tenant", "Acme Shop", "--email", "y@acme.example",
        "--name", "Y", "--password", "short", "--data-dir", str(data),
    )  # fmt: skip
    assert short.returncode == 2

    with serve(data) as served:
        response = login(served.base_url, "sam@acme.example", "sam-password-1")
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        me = httpx.get(
            served.base_url + "/api/v1/tenant",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert me.json()["id"] == tenant["id"]
        assert me.json()["identity_secret"] == tenant["identity_secret"]
        assert login(served.base_url, "kim@acme.example", generated).status_code == 200
        assert login(served.base_url, "sam@acme.example", "sam-password-2").status_code == 401
        assert login(served.base_url, "y@acme.example", "short").status_code == 401
        session = httpx.post(
            served.base_url + "/api/v1/widget/sessions",
            json={"widget_key": tenant["widget_key"]},
            headers={"Origin": "https://x.example"},
            timeout=30,
        )
        assert session.status_code == 200, session.text
        # Without --demo there is no demo page.
        assert httpx.get(served.base_url + "/demo/config.json", timeout=30).status_code == 404
    secret = data / "secret.key"
    assert secret.exists()
    assert mode(secret) == 0o600


def test_agent_create_refuses_a_tenant_name_two_tenants_share(tmp_path: Path) -> None:
    data = tmp_path / "data"
    twins = []
    for _ in range(2):
        created = kefu("tenant", "create", "Twin", "--data-dir", str(data))
        assert created.returncode == 0, created.stderr
        twins.append(json.loads(created.stdout)["id"])
    assert twins[0] != twins[1]
    by_name = kefu(
        "agent", "create", "--tenant", "Twin", "--email", "t@twin.example",
        "--name", "T", "--password", "twin-password", "--data-dir", str(data),
    )  # fmt: skip
    assert by_name.returncode == 1
    assert "tenant_ambiguous" in by_name.stderr
    by_id = kefu(
        "agent", "create", "--tenant", twins[1], "--email", "t@twin.example",
        "--name", "T", "--password", "twin-password", "--data-dir", str(data),
    )  # fmt: skip
    assert by_id.returncode == 0, by_id.stderr
    with sqlite3.connect(data / "kefu.db") as connection:
        rows = connection.execute(
            "select tenant_id from agents where email = 't@twin.example'"
        ).fetchall()
    assert rows == [(twins[1],)]


def announced_agents(output: str) -> dict[str, str]:
    """email -> password from the lines `Name: email / password` that serve prints."""
    return dict(re.findall(r"^\s+[^:\n]+: (\S+@\S+) / (\S+)\s*$", output, re.MULTILINE))


def demo_session(base_url: str, widget_key: str) -> httpx.Response:
    return httpx.post(
        base_url + "/api/v1/widget/sessions",
        json={"widget_key": widget_key},
        headers={"Origin": base_url},
        timeout=30,
    )


def test_serve_demo_twice_keeps_the_store_and_logins(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serve(data, "--demo") as served:
        base = served.base_url
        output = served.output
        for path in ("/demo/", "/console/", "/docs"):
            assert base + path in output, output
        demo: dict[str, Any] = json.loads((data / "demo.json").read_text())
        assert set(demo) >= {"widget_key", "agents"}
        assert len(demo["agents"]) >= 2
        for agent in demo["agents"]:
            assert set(agent) >= {"email", "password", "name"}
        assert announced_agents(output) == {a["email"]: a["password"] for a in demo["agents"]}
        assert mode(data / "demo.json") == 0o600
        assert mode(data / "secret.key") == 0o600

        for agent in demo["agents"]:
            assert login(base, agent["email"], agent["password"]).status_code == 200
        assert httpx.get(base + "/demo/config.json", timeout=30).json() == {
            "widget_key": demo["widget_key"]
        }
        # The demo store accepts the server's own origin ("self"), whatever the port.
        assert demo_session(base, demo["widget_key"]).status_code == 200
        assert httpx.get(base + "/docs", timeout=30).status_code == 200
        schema = httpx.get(base + "/openapi.json", timeout=30)
        assert schema.status_code == 200
        assert "/api/v1/conversations" in schema.json()["paths"]
        assert httpx.get(base + "/demo/", timeout=30).status_code == 200
    assert served.process.returncode is not None
    # Loosened by hand between runs: the next run writes it back as 0600.
    (data / "demo.json").chmod(0o644)

    with serve(data, "--demo") as again:
        again_demo = json.loads((data / "demo.json").read_text())
        assert again_demo["widget_key"] == demo["widget_key"]
        assert again_demo["agents"] == demo["agents"]
        assert announced_agents(again.output) == announced_agents(output)
        for agent in demo["agents"]:
            response = login(again.base_url, agent["email"], agent["password"])
            assert response.status_code == 200, response.text
        assert demo_session(again.base_url, demo["widget_key"]).status_code == 200
    assert mode(data / "demo.json") == 0o600


def test_serve_refuses_workers_without_redis_or_with_the_demo(tmp_path: Path) -> None:
    """Several worker processes share events only through Redis; the demo is one process."""
    alone = kefu("serve", "--workers", "2", "--data-dir", str(tmp_path))
    assert alone.returncode != 0
    assert "--workers above 1 needs KEFU_REDIS_URL" in alone.stderr
    demo = subprocess.run(
        [*kefu_command(), "serve", "--workers", "2", "--demo", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        env={**clean_env(), "KEFU_REDIS_URL": "redis://127.0.0.1:6379/0"},
        check=False,
    )
    assert demo.returncode != 0
    assert "--demo runs in one process" in demo.stderr
    bad = kefu("serve", "--workers", "0", "--data-dir", str(tmp_path))
    assert bad.returncode == 2
    assert "error: setting workers (KEFU_WORKERS): Input should be greater than" in bad.stderr
    assert "Traceback" not in bad.stderr
