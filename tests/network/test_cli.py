"""The hub's commands end to end, as an administrator runs them, and ``kruispunt serve`` answering HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from kruispunt.identity import NumberGenerator
from tests.factories import household, write_register


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KRUISPUNT_HOME": str(home)}
    env.pop("KRUISPUNT_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "kruispunt", *args], capture_output=True, text=True, env=env, check=False
    )


def test_administration_serve_consult_and_audit(tmp_path: Path) -> None:
    home = tmp_path / "home"
    gen = NumberGenerator(5)
    rows = household(gen)
    assert run(home, "register", "load", str(write_register(tmp_path / "r.csv", rows))).returncode == 0
    kbo = gen.kbo().number
    assert run(home, "partner", "add", kbo, "--sector", "17", "--name", "OCMW Herstal").returncode == 0
    token = run(home, "partner", "token", kbo).stdout.strip()
    assert token.startswith("kp_")
    added = run(
        home, "deliberation", "add", "21/042", "--decided-on", "2021-03-02", "--service", "identity",
        "--purpose", "social-inquiry", "--field", "first_name", "--capacity", "1", "--party", kbo,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    wrong = run(
        home, "directory", "register", kbo, rows[0]["insz"], "--capacity", "55", "--start", "2024-01-01"
    )
    assert wrong.returncode == 1 and "capacity 55 is not a capacity of sector 17" in wrong.stderr
    registered = run(
        home, "directory", "register", kbo, rows[0]["insz"], "--capacity", "1", "--start", "2020-01-01"
    )
    assert registered.returncode == 0, registered.stderr

    port = _free_port()
    env = {**os.environ, "KRUISPUNT_HOME": str(home)}
    env.pop("KRUISPUNT_DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "kruispunt", "serve", "--port", str(port), "--log-level", "warning"], env=env
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base)
        sent = {
            "Authorization": f"Bearer {token}",
            "X-Message-Id": "cli-1",
            "X-End-User": "sw-1",
            "X-Case-Reference": "case-1",
            "X-Purpose": "social-inquiry",
        }
        answer = httpx.get(f"{base}/v1/persons/{rows[0]['insz']}/identity", headers=sent, timeout=10)
        assert answer.status_code == 200 and answer.json()["person"] == {
            "insz": rows[0]["insz"],
            "first_name": "Jan",
        }
    finally:
        server.terminate()
        server.wait(20)

    verified = run(home, "audit", "verify")
    assert verified.returncode == 0 and "intact: 1 record(s)" in verified.stdout
    report = json.loads(run(home, "audit", "who-consulted", rows[0]["insz"], "--json").stdout)
    assert [(r["requester"], r["service"], r["outcome"]) for r in report] == [(kbo, "identity", "answered")]
    listed = json.loads(run(home, "partner", "list", "--json").stdout)
    assert listed[0]["kbo"] == kbo and listed[0]["active_tokens"] == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("kruispunt serve did not become healthy")
