"""A real PostgreSQL server for tests: Debian's binaries (`make setup` installs the package), a
fresh cluster in a temporary folder, on a free loopback port, stopped afterwards. No mock and no
SQLite pretending. PostgreSQL refuses to run as root and CI runs as root: then the cluster runs
as the `postgres` user the Debian package creates, in a folder that user owns."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


def binaries() -> Path | None:
    """The newest /usr/lib/postgresql/<major>/bin holding initdb and pg_ctl, or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(folder: Path) -> list[str]:
    """The command prefix that runs the server's tools as a user it accepts."""
    if os.geteuid() != 0:
        return []
    user = pwd.getpwnam("postgres")
    for path in (folder, *folder.rglob("*")):
        os.chown(path, user.pw_uid, user.pw_gid)
    return ["runuser", "-u", "postgres", "--"]


@contextlib.contextmanager
def postgres(database: str = "emoheal") -> Iterator[str]:
    """Start a server with its data and socket in a new folder under the system's temporary
    directory (world-traversable, so the `postgres` user can reach it; a pytest tmp_path is not);
    yields a SQLAlchemy URL for `database` (created empty) as the cluster's superuser `emoheal`,
    trusted on loopback only. The folder goes when the server stops."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed: `make setup` installs Debian's postgresql package")
    folder = Path(tempfile.mkdtemp(prefix="emoheal-pg-"))
    data = folder / "data"
    prefix = _as_server_user(folder)
    made = subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "emoheal", "-A", "trust",
                           "--no-sync", "-E", "UTF8", "--locale", "C"], capture_output=True, text=True)
    if made.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {made.stderr or made.stdout}")
    port = _free_port()
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    log = folder / "server.log"
    started = subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log),
                              "-w", "-t", "60", "start"], capture_output=True, text=True)
    if started.returncode != 0:
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr}\n{log.read_text() if log.exists() else ''}")
    try:
        subprocess.run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "emoheal", database],
                       check=True, capture_output=True, text=True)
        yield f"postgresql+psycopg://emoheal@127.0.0.1:{port}/{database}"
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True, text=True)
        shutil.rmtree(folder, ignore_errors=True)
