"""A throw-away PostgreSQL + PostGIS server for the database tests (no mocks).

:func:`start` runs ``initdb`` on a temporary folder, starts ``postgres`` on a free TCP port of
127.0.0.1 (password authentication, SCRAM) with its Unix socket in the same folder (trust), creates
a database with the ``postgis`` extension, and returns a :class:`Server`; :meth:`Server.stop`
stops it and removes the folder. The binaries are the Debian ``postgresql-15`` ones, whose
extension folder is where ``postgresql-15-postgis-3`` installs PostGIS (``make postgis``).

PostgreSQL refuses to run as root: as root (CI, containers) the server runs as the ``postgres``
user that the Debian package creates.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: Where the server binaries are looked for, first match wins (GEOSUFF_PG_BINDIR overrides).
BINDIRS = [Path("/usr/lib/postgresql/15/bin"), Path("/usr/local/bin"), Path("/usr/bin")]

USER = "geosuff"
PASSWORD = "geosuff-test-password"
DBNAME = "geosuff"


def find_bindir() -> tuple[Path | None, str]:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres`` whose server has PostGIS, or
    None and why not."""
    env = os.environ.get("GEOSUFF_PG_BINDIR")
    dirs = [Path(env)] if env else BINDIRS
    why = "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found"
    for d in dirs:
        if not all((d / b).exists() for b in ("initdb", "pg_ctl", "postgres")):
            continue
        real = (d / "postgres").resolve().parent
        pg_config = real / "pg_config"
        share = None
        if pg_config.exists():
            out = subprocess.run(
                [str(pg_config), "--sharedir"], capture_output=True, text=True, check=False
            )
            share = Path(out.stdout.strip()) if out.returncode == 0 else None
        if share is None:
            share = Path("/usr/share/postgresql") / real.parent.name
        if not (share / "extension" / "postgis.control").exists():
            why = f"PostGIS is not installed for the server in {real} (no {share}/extension/postgis.control)"
            continue
        return real, ""
    return None, why + "; install Debian postgresql-15-postgis-3 (make postgis)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running test server."""

    bindir: Path
    root: Path
    port: int
    run_as: str | None

    @property
    def password(self) -> str:
        """The password of the TCP connections (give it in PGPASSWORD)."""
        return PASSWORD

    @property
    def socket_dir(self) -> Path:
        return self.root

    def url(self, **params: str) -> str:
        """``postgresql://geosuff@127.0.0.1:<port>/geosuff`` (no password) with ``params``."""
        q = "&".join(f"{k}={v}" for k, v in params.items())
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{DBNAME}" + (f"?{q}" if q else "")

    @property
    def conninfo(self) -> str:
        """A libpq URL over the Unix socket (trust: no password needed)."""
        return f"postgresql://{USER}@/{DBNAME}?host={self.socket_dir}&port={self.port}"

    def stop(self) -> None:
        _run(
            [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.root / "data"),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            self.run_as,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def _run(
    cmd: list[str], run_as: str | None, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, capture_output=True, text=True, check=check, user=run_as, group=run_as, timeout=120
    )


def start() -> Server:
    """initdb, start and set up a server (raises RuntimeError with the server's log on failure)."""
    bindir, why = find_bindir()
    if bindir is None:
        raise FileNotFoundError(why)
    run_as = None
    root = Path(tempfile.mkdtemp(prefix="geosuff-pg-"))
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError(
                "running as root and there is no 'postgres' user to run the server"
            ) from None
        run_as = "postgres"
        os.chown(root, pw.pw_uid, pw.pw_gid)
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if run_as:
        os.chown(pwfile, pwd.getpwnam(run_as).pw_uid, -1)
    port = _free_port()
    server = Server(bindir, root, port, run_as)
    try:
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(root / "data"),
                "-U",
                USER,
                "--pwfile",
                str(pwfile),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            run_as,
        )
        opts = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        _run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(root / "data"),
                "-l",
                str(root / "log"),
                "-o",
                opts,
                "-w",
                "-t",
                "60",
                "start",
            ],
            run_as,
        )
    except subprocess.CalledProcessError as err:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        server.stop()
        raise RuntimeError(f"could not start PostgreSQL: {err.stderr}\n{log}") from None
    import psycopg

    base = f"postgresql://{USER}@/postgres?host={root}&port={port}"
    with psycopg.connect(base, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {DBNAME}")
    with psycopg.connect(server.conninfo, autocommit=True) as con:
        con.execute("CREATE EXTENSION postgis")
    return server
