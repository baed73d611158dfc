"""The hub's commands end to end, as an administrator runs them, and ``kruispunt serve`` answering HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx

from kruispunt import identity, network
from kruispunt.bootstrap import bootstrap
from kruispunt.config import Settings
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
    kbo = gen.kbo().number
    # Set-up through the service API (the commands below are the ones under test).
    engine = bootstrap(Settings(home=home)).engine
    identity.load_register(engine, write_register(tmp_path / "r.csv", rows))
    network.add_partner(engine, kbo, 17, "OCMW Herstal")
    network.add_deliberation(
        engine,
        number="21/042",
        decided_on=date(2021, 3, 2),
        title="",
        service="identity",
        purpose="social-inquiry",
        fields=["first_name"],
        capacities=[1],
        parties=[kbo],
    )
    network.register_integration(engine, kbo, rows[0]["insz"], 1, date(2020, 1, 1))
    engine.dispose()
    token = run(home, "partner", "token", kbo).stdout.strip()
    assert token.startswith("kp_")

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
