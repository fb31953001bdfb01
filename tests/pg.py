"""A real PostgreSQL for the tests: Debian's ``postgresql`` package, ``initdb`` in a temporary
folder, listening on 127.0.0.1 only, trust authentication (nothing else can reach it), stopped
at the end. Run as the ``postgres`` user when the tests run as root (PostgreSQL refuses root).
Without the package, or without psycopg, ``start`` says why and the tests that need it skip."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def missing() -> str | None:
    """Why no PostgreSQL can be started here (None: it can)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'realorai[postgres]')"
    if binaries() is None:
        return "no PostgreSQL here: install Debian's postgresql package (.ci/run does when it can)"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root without runuser: PostgreSQL will not run as root"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One PostgreSQL cluster; ``url(schema)`` a URL whose tables live in that schema."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="realorai-pg-"))
        self.port = _free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres")
        bin_ = binaries()
        data, log = self.dir / "data", self.dir / "log"
        self._run([str(bin_ / "initdb"), "-D", str(data), "-U", "realorai", "--auth=trust", "-E", "UTF8"])
        options = f"-h 127.0.0.1 -p {self.port} -k {self.dir} -F -c fsync=off -c max_connections=200"
        self.bin, self.options, self.log = bin_, options, log
        self.start()
        self.base = f"postgresql://realorai@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-o", self.options, "-l", str(self.log),
                   "-w", "start"])  # fmt: skip

    def halt(self) -> None:
        """Stop the server, keeping its data (``start`` brings it back)."""
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop"])

    def _run(self, command: list[str]) -> None:
        done = subprocess.run(self.as_user + command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    def url(self, schema: str, create: bool = True) -> str:
        import psycopg

        if create:
            with psycopg.connect(self.base, autocommit=True) as con:
                con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        return f"{self.base}?options=-csearch_path%3D{schema}"

    def has_schema(self, schema: str) -> bool:
        import psycopg

        with psycopg.connect(self.base, autocommit=True) as con:
            return bool(con.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone())

    def stop(self) -> None:
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop"])
        shutil.rmtree(self.dir, ignore_errors=True)
