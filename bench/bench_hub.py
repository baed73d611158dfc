"""Exchange hub throughput (issue 7): an authorised, logged status consultation against a bare "hello".

    .venv/bin/python -m bench.bench_hub [--engines sqlite,postgresql] [--connections 32] [--duration 10]
                                        [--persons 1000] [--workers 1] [--loader wrk|python]

Starts ``kruispunt serve`` (one worker by default) on a fresh database holding ``--persons`` integrated
persons with statuses, then drives ``/hello`` and ``GET /v1/persons/{insz}/statuses`` with the same number
of concurrent connections. Every consultation carries a fresh message id, so each one is authenticated,
authorised against the deliberation and the reference directory, answered and chained into the audit log.
Prints both throughputs, their ratio, the consultation's latency percentiles and the server's CPU time per
request of each (and, on PostgreSQL, the database server's per consultation), then verifies the chain.

The load comes from ``wrk`` (Debian: ``apt-get install wrk``) when it is installed, otherwise from a
Python asyncio + httpx generator (which needs more CPU per request, so its figures are lower).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from bench.bench_register import database, register_frame
from kruispunt import identity, network, statuses
from kruispunt.bootstrap import bootstrap
from kruispunt.config import Settings

AT = "2024-06-15"
PURPOSE = "social-inquiry"


@dataclass(frozen=True)
class Load:
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int


def prepare(settings: Settings, persons: int, folder: Path) -> tuple[str, list[str]]:
    """A register, LEEFLOON periods, an OCMW with a deliberation and integrations; returns token, INSZ."""
    engine = bootstrap(settings).engine
    frame = register_frame(persons)
    register = folder / "register.csv"
    frame.write_csv(register)
    identity.load_register(engine, register, as_of=date(2024, 1, 1))
    numbers = frame.get_column("insz").to_list()
    feed = folder / "statuses.csv"
    with feed.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(statuses.STATUS_COLUMNS)
        writer.writerows([n, "LEEFLOON", "2023-01-01", "", "OCMW"] for n in numbers[::2])
    statuses.load_status_feed(engine, feed, source="OCMW")
    ocmw = identity.NumberGenerator(99).kbo().number
    network.add_partner(engine, ocmw, 17, "OCMW (benchmark)")
    network.add_deliberation(
        engine,
        number="20/123",
        decided_on=date(2020, 6, 2),
        title="benchmark",
        service="statuses",
        purpose=PURPOSE,
        fields=["LEEFLOON", "EQUIV_LEEFLOON"],
        capacities=[2],
        parties=[ocmw],
    )
    for number in numbers:
        network.register_integration(engine, ocmw, number, 2, date(2023, 1, 1))
    token = network.issue_token(engine, ocmw, label="benchmark").token
    engine.dispose()
    return token, numbers


def server_cpu(pid: int) -> float:
    """CPU seconds (user and system) the server process has used so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_cpu(settings: Settings) -> float:
    """CPU seconds used so far by the benchmark's own PostgreSQL server (its postmaster and the processes
    it started, found through ``postmaster.pid`` beside the socket directory); 0 on SQLite, NaN where
    unknown. Processes that have ended are not counted (the hub's connections live as long as it does)."""
    if not settings.database_url:
        return 0.0
    socket_dir = parse_qs(urlsplit(settings.database_url).query).get("host", [""])[0]
    try:
        postmaster = int((Path(socket_dir).parent / "data" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == postmaster or int(fields[1]) == postmaster:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(settings: Settings, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KRUISPUNT_HOME": str(settings.home)}
    env.pop("KRUISPUNT_DATABASE_URL", None)
    if settings.database_url:
        env["KRUISPUNT_DATABASE_URL"] = settings.database_url
    command = [sys.executable, "-m", "kruispunt", "serve", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen([*command, "--log-level", "warning"], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not become healthy within 60 s")


WRK_SCRIPT = """
local paths = {%(paths)s}
local counter = 0
wrk.headers["Authorization"] = "Bearer %(token)s"
wrk.headers["X-End-User"] = "bench-user"
wrk.headers["X-Case-Reference"] = "bench-case"
wrk.headers["X-Purpose"] = "%(purpose)s"
request = function()
  counter = counter + 1
  wrk.headers["X-Message-Id"] = "bench-%(run)s-" .. counter
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


def _wrk(url: str, connections: int, duration: int, script: Path | None) -> Load:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    percentiles = {p: _ms(re.search(rf"^\s+{p}%\s+(\S+)", output, re.M).group(1)) for p in (50, 90, 99)}  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Load(rps, percentiles[50], percentiles[90], percentiles[99], int(errors.group(1)) if errors else 0)


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


async def _python_load(url: str, connections: int, duration: int, headers: dict[str, str] | None) -> Load:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)

    async def worker(client: httpx.AsyncClient, index: int) -> None:
        nonlocal errors
        count = 0
        while time.perf_counter() < stop:
            count += 1
            sent = {**headers, "X-Message-Id": f"py-{index}-{count}-{time.time_ns()}"} if headers else None
            started = time.perf_counter()
            response = await client.get(url, headers=sent)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += response.status_code >= 300

    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        begun = time.perf_counter()
        await asyncio.gather(*(worker(client, i) for i in range(connections)))
        elapsed = time.perf_counter() - begun
    latencies.sort()

    def pick(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))]

    return Load(len(latencies) / elapsed, pick(0.5), pick(0.9), pick(0.99), errors)


def drive(kind: str, args: argparse.Namespace, workdir: Path) -> None:
    with database(kind, workdir) as settings:
        token, numbers = prepare(settings, args.persons, workdir)
        port = free_port()
        server = start_server(settings, port, args.workers)
        base = f"http://127.0.0.1:{port}"
        paths = [f"/v1/persons/{n}/statuses?at={AT}" for n in numbers]
        try:
            if args.loader == "wrk":
                script, warm_up = workdir / f"{kind}.lua", workdir / f"{kind}-warm-up.lua"
                for file, run in ((script, kind), (warm_up, f"{kind}-warm-up")):
                    quoted = ", ".join(f'"{p}"' for p in paths)
                    values = {"paths": quoted, "token": token, "purpose": PURPOSE, "run": run}
                    file.write_text(WRK_SCRIPT % values)
                # Warm-up of both endpoints (message ids of their own, so the measured calls are all new):
                # the first calls open the database connections and load the policy cache.
                _wrk(f"{base}/hello", args.connections, 2, None)
                _wrk(base + paths[0], args.connections, 2, warm_up)
                before = server_cpu(server.pid)
                hello = _wrk(f"{base}/hello", args.connections, args.duration, None)
                between, db_before = server_cpu(server.pid), database_cpu(settings)
                consult = _wrk(base + paths[0], args.connections, args.duration, script)
                after, db_after = server_cpu(server.pid), database_cpu(settings)
                calls = consult.requests_per_second * args.duration
                cpu = (
                    (between - before) / (hello.requests_per_second * args.duration),
                    (after - between) / calls,
                    (db_after - db_before) / calls,
                )
            else:
                metadata = {
                    "Authorization": f"Bearer {token}",
                    "X-End-User": "bench-user",
                    "X-Case-Reference": "bench-case",
                    "X-Purpose": PURPOSE,
                }
                cpu = (float("nan"), float("nan"), float("nan"))
                hello = asyncio.run(_python_load(f"{base}/hello", args.connections, args.duration, None))
                consult = asyncio.run(
                    _python_load(base + paths[0], args.connections, args.duration, metadata)
                )
        finally:
            server.terminate()
            server.wait(30)
        engine = bootstrap(settings).engine
        chain = network.verify_audit(engine)
        engine.dispose()
    ratio = consult.requests_per_second / hello.requests_per_second
    print(
        f"{kind}: hello {hello.requests_per_second:,.0f} req/s (p99 {hello.p99_ms:.2f} ms); "
        f"status consultation {consult.requests_per_second:,.0f} req/s, "
        f"p50 {consult.p50_ms:.2f} ms, p90 {consult.p90_ms:.2f} ms, p99 {consult.p99_ms:.2f} ms, "
        f"{consult.errors} non-2xx; ratio {ratio:.2f}; "
        f"audit chain {'intact' if chain.intact else 'BROKEN'} with {chain.records:,} records; "
        f"server CPU per request: hello {cpu[0] * 1e6:.0f} us, consultation {cpu[1] * 1e6:.0f} us "
        f"(and the database server's {cpu[2] * 1e6:.0f} us); "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", default="sqlite")
    parser.add_argument("--persons", type=int, default=1_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=10, help="Seconds per measurement.")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--loader", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python"
    )
    args = parser.parse_args()
    print(
        f"hub: {args.connections} connections, {args.duration} s each, {args.workers} worker(s), "
        f"{args.persons:,} integrated persons, load from {args.loader}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="kruispunt-bench-hub-") as tmp:
        for kind in args.engines.split(","):
            drive(kind, args, Path(tmp))


if __name__ == "__main__":
    main()
