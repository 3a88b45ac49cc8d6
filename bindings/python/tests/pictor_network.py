"""A real Pictor network for tests: `pictor serve` on 127.0.0.1 (port 0), accounts made with the
`pictor account` CLI, real `pictor worker run` and `pictor checker run` processes.

The binary comes from ``PICTOR_BIN``, else ``${CARGO_TARGET_DIR:-target}/debug/pictor``. API keys
are kept in memory and passed to child processes through files or the environment; never printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[3]


def pictor_bin() -> Path:
    """The `pictor` binary the tests drive."""
    explicit = os.environ.get("PICTOR_BIN")
    if explicit:
        return Path(explicit)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    if not target.is_absolute():
        target = REPO / target
    return target / "debug" / "pictor"


class Network:
    """A coordinator plus the agents a test starts; `close()` stops them all."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.bin = pictor_bin()
        if not self.bin.is_file():
            raise RuntimeError(
                f"no pictor binary at {self.bin}: build it (cargo build -p pictor-network) "
                "or set PICTOR_BIN"
            )
        self._processes: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []
        data = workdir / "data"
        serve = self._spawn(
            "serve",
            [str(self.bin), "serve", "--listen", "127.0.0.1:0", "--data", str(data), "--json"],
            stdout=subprocess.PIPE,
        )
        assert serve.stdout is not None
        line = serve.stdout.readline()
        if not line:
            self.close()
            raise RuntimeError(f"pictor serve exited: see {workdir / 'serve.log'}")
        started = json.loads(line)
        self.url: str = started["listen"]
        self._admin_key = Path(started["admin_key_file"]).read_text().strip()

    def _spawn(
        self, name: str, argv: list[str], stdout: int | None = None, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "wb")
        self._logs.append(log)
        process = subprocess.Popen(
            argv,
            stdout=stdout if stdout is not None else log,
            stderr=log,
            env={**os.environ, **(env or {})},
        )
        self._processes.append(process)
        return process

    def _cli(self, args: list[str], key: str | None = None) -> str:
        env = {**os.environ, "PICTOR_NETWORK": self.url, "PICTOR_ADMIN_KEY": self._admin_key}
        if key is not None:
            env["PICTOR_API_KEY"] = key
        done = subprocess.run(
            [str(self.bin), *args], env=env, capture_output=True, check=False
        )
        if done.returncode != 0:
            # stderr never holds a key: the CLI does not print them on failure.
            raise RuntimeError(f"pictor {args[0]} {args[1]} failed: {done.stderr.decode()}")
        return done.stdout.decode()

    def install_models(self, wheel: Path) -> Path:
        """`pictor model install --wheel WHEEL` into this network's folder; answers the folder."""
        models = self.workdir / "models"
        self._cli(["model", "install", "--wheel", str(wheel), "--dir", str(models)])
        return models

    def account(self, role: str, name: str, credits: str | None = None) -> tuple[int, str]:
        """Opens an account (with `credits` deposited); answers its id and API key."""
        args = ["account", "create", "--role", role, "--name", name, "--json"]
        if credits is not None:
            args += ["--credits", credits]
        created = json.loads(self._cli(args))
        return int(created["id"]), str(created["api_key"])

    def start_worker(
        self, name: str, price: str = "2", renderer: str = "builtin", models: Path | None = None
    ) -> None:
        """Registers a worker (`pictor worker init`, offering upscaling with `models`) and runs it
        (`pictor worker run`)."""
        _, key = self.account("worker", name)
        config = self.workdir / f"{name}.toml"
        offer = ["--models", str(models)] if models is not None else []
        self._cli(
            [
                "worker", "init", "--name", name, "--price", price,
                "--out", str(config), "--renderer", renderer, *offer,
            ],
            key=key,
        )
        self._spawn(
            name, [str(self.bin), "worker", "run", "--poll-secs", "0.2", "--config", str(config)]
        )

    def start_checker(self, name: str = "checker", models: Path | None = None) -> None:
        """Runs a checker (`pictor checker run`, verifying upscales too with `models`)."""
        _, key = self.account("checker", name)
        offer = ["--models", str(models)] if models is not None else []
        self._spawn(
            name,
            [
                str(self.bin), "checker", "run", "--poll-secs", "0.2",
                "--cache-dir", str(self.workdir / f"{name}-cache"), *offer,
            ],
            env={"PICTOR_NETWORK": self.url, "PICTOR_API_KEY": key},
        )

    def close(self) -> None:
        """Stops every process this network started."""
        for process in reversed(self._processes):
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for process in self._processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self._logs:
            log.close()
