"""A throwaway PostgreSQL cluster for tests and benchmarks (never for production)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg


def find_postgres_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    return None


class PostgresCluster:
    """initdb + pg_ctl on a private directory; Unix socket only, no TCP listener."""

    def __init__(self, binaries: Path, base: Path, port: int = 54329) -> None:
        self.binaries = binaries
        self.base = base
        self.data = base / "data"
        self.socket_dir = base / "sock"
        self.port = port
        self._as_root = os.geteuid() == 0

    @classmethod
    @contextmanager
    def temporary(cls, binaries: Path) -> Iterator[PostgresCluster]:
        """A started cluster in a fresh directory under the system temp dir, removed afterwards.

        Not under pytest's tmp_path: that is private to root, and the server runs as ``postgres``.
        """
        base = Path(tempfile.mkdtemp(prefix="kruispunt-pg-"))
        cluster = cls(binaries, base, port=50000 + os.getpid() % 10000)
        try:
            cluster.start()
            yield cluster
        finally:
            try:
                cluster.stop()
            finally:
                shutil.rmtree(base, ignore_errors=True)

    def _run(self, *args: str) -> None:
        command = [str(self.binaries / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {result.stderr or result.stdout}")

    def start(self) -> None:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self._as_root:
            shutil.chown(self.base, "postgres")
            shutil.chown(self.socket_dir, "postgres")
            os.chmod(self.base, 0o755)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        options = (
            f"-k {self.socket_dir} -c listen_addresses='' -p {self.port} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.base / "log"), "-w", "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(
            host=str(self.socket_dir), port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
