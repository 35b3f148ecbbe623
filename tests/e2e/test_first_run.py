"""README's quick start, followed word for word: its commands are read from README.md and run as
written, with three substitutions a reader makes too (`/path/to/clone` and `/path/to/ghostguard`
are this repository, `~` is a fresh directory, and the simulator's port is a free one so that
parallel runs cannot collide).

- *A first run against the simulator*: copy `config.example.json` and the sample strategy, start
  the simulator (it writes the config file that points Freqtrade at it), start `freqtrade trade`
  dry-run; then *Going live*: `"dry_run": false` in config.json and no `--dry-run`.
- *Install into an existing bot* and *One line in your strategy*: an existing Freqtrade venv
  (Freqtrade and ccxt already there, the guard not), README's `pip install` run in it, a strategy
  Freqtrade writes itself (`freqtrade new-strategy --template advanced`) given README's import and
  class line, and a dry-run start of that bot against the simulator.

Freqtrade's own config validation runs on the shipped example (it refused it before: an empty
`api_server.jwt_secret_key`).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest


REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
FREQTRADE = Path(sys.executable).with_name("freqtrade")
START_BOUND_S = 90.0


def readme_block(section: str, language: str) -> str:
    """The first ```language block under README's `## section` heading."""
    body = README.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(rf"```{language}\n(.*?)```", body, re.S)
    assert found, f"README: no {language} block under '## {section}'"
    return found.group(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(path: Path, text: str, process: subprocess.Popen, bound_s: float) -> str:
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        content = path.read_text(errors="replace") if path.exists() else ""
        if text in content:
            return content
        if process.poll() is not None:
            break
        time.sleep(0.2)
    content = path.read_text(errors="replace") if path.exists() else ""
    raise AssertionError(f"{text!r} not seen (exit={process.poll()}):\n{content[-4000:]}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class QuickStart:
    """README's first-run block, one command at a time: `cd` moves the next commands, a command
    ending in `&` starts in the background, `freqtrade trade` starts the bot."""

    def __init__(self, home: Path, freqtrade: str | None = None, strategy: str | None = None):
        self.home = home
        self.cwd = REPO
        self.env = {**os.environ, "HOME": str(home), "PYTHONUNBUFFERED": "1"}
        self.freqtrade = freqtrade  # another bot's freqtrade (an existing venv), else README's
        self.strategy = strategy
        self.port = _free_port()
        self.background: list[subprocess.Popen] = []
        self.bot: subprocess.Popen | None = None

    def commands(self, live: bool) -> list[str]:
        lines = []
        for line in readme_block("A first run against the simulator", "bash").splitlines():
            line = line.split("  #", 1)[0].strip()
            if not line:
                continue
            line = line.replace("/path/to/clone", str(REPO))
            line = line.replace("--port 8931", f"--port {self.port}")
            if " trade " in line:
                if self.freqtrade:
                    line = line.replace(f"{REPO}/.venv/bin/freqtrade", self.freqtrade)
                if self.strategy:
                    line += f" --strategy {self.strategy}"
                if live:
                    # Going live: "start without `--dry-run`"
                    line = line.replace(" --dry-run", "")
            lines.append(line)
        return lines

    def run(self, live: bool = False, before_bot=None) -> str:
        for line in self.commands(live):
            if line.startswith("cd "):
                self.cwd = Path(os.path.expanduser(line[3:].strip().replace("~", str(self.home))))
                continue
            if line.endswith("&"):
                out = (self.home / "sim.out").open("w")
                self.background.append(subprocess.Popen(
                    shlex.split(line[:-1]), cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT,
                    env=self.env,
                ))
                printed = _wait_for(self.home / "sim.out", "written to", self.background[-1], 30)
                assert "listening on https://127.0.0.1:" in printed
                assert "API key: " in printed and "secret: " in printed
                continue
            if " trade " in line:
                if before_bot is not None:
                    before_bot(self.cwd)
                out = (self.home / "bot.log").open("w")
                self.bot = subprocess.Popen(
                    shlex.split(line), cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT,
                    env=self.env,
                )
                return self._started(live)
            done = subprocess.run(
                ["bash", "-c", line], cwd=self.cwd, env=self.env, capture_output=True, text=True
            )
            assert done.returncode == 0, f"{line}: {done.stdout}{done.stderr}"
        raise AssertionError("README's first-run block starts no bot")

    def _started(self, live: bool) -> str:
        assert self.bot is not None
        log_path = self.home / "bot.log"
        log = _wait_for(log_path, "Changing state to: RUNNING", self.bot, START_BOUND_S)
        mode = "live" if live else "dry-run"
        assert f"installed on Binance ({mode}, futures" in log
        _wait_for(log_path, "Strategy", self.bot, 5)
        assert self.bot.poll() is None, "the bot stopped after start-up"
        log = log_path.read_text(errors="replace")
        errors = [line for line in log.splitlines() if " - ERROR - " in line]
        assert errors == [], errors
        # The simulator's certificate is trusted, not verification turned off (urllib3 warned
        # on every request of the bot).
        assert "InsecureRequestWarning" not in log
        return log

    def stop(self) -> None:
        if self.bot is not None:
            _stop(self.bot)
        for process in self.background:
            _stop(process)


def test_example_config_passes_freqtrades_own_validation(tmp_path: Path) -> None:
    shutil.copy(REPO / "config.example.json", tmp_path / "config.json")
    (tmp_path / "user_data" / "strategies").mkdir(parents=True)
    shutil.copy(REPO / "user_data" / "strategies" / "GhostMakerStrategy.py",
                tmp_path / "user_data" / "strategies")
    done = subprocess.run(
        [str(FREQTRADE), "show-config", "-c", "config.json", "--userdir", "user_data"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ConfigurationError" not in done.stderr and "is too short" not in done.stderr


def _go_live(cwd: Path) -> None:
    """README's *Going live*: set `"dry_run": false` in config.json."""
    assert '`"dry_run": false`' in README and "start without `--dry-run`" in README
    config = json.loads((cwd / "config.json").read_text())
    assert config["dry_run"] is True  # as shipped
    config["dry_run"] = False
    (cwd / "config.json").write_text(json.dumps(config, indent=4))


@pytest.mark.parametrize("mode", ["dry-run", "live"])
def test_the_readme_first_run_then_going_live(tmp_path: Path, mode: str) -> None:
    quick = QuickStart(tmp_path)
    try:
        log = quick.run(live=mode == "live", before_bot=_go_live if mode == "live" else None)
        assert "GhostMakerStrategy" in log
    finally:
        quick.stop()


def _existing_freqtrade_venv(path: Path) -> Path:
    """A venv holding a Freqtrade install and not the guard: a new venv that sees this
    environment's site-packages (Freqtrade, ccxt and their dependencies) through a path file.
    The guard installed here editable is not importable from it (its own path files are not
    read there). `make compat` does the same from a fresh `pip install freqtrade==<release>`."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    site = Path(subprocess.run(
        [str(path / "bin" / "python"), "-c",
         "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True,
    ).stdout.strip())
    (site / "existing-freqtrade.pth").write_text(sysconfig.get_path("purelib") + "\n")
    script = path / "bin" / "freqtrade"
    script.write_text(
        f"#!{path / 'bin' / 'python'}\nimport sys\nfrom freqtrade.main import main\n"
        "sys.exit(main())\n"
    )
    script.chmod(0o755)
    return path


def _versions(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c",
         "import ccxt, freqtrade; print(freqtrade.__version__, ccxt.__version__)"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()


def test_install_into_an_existing_bot_with_the_strategy_line(tmp_path: Path) -> None:
    venv = _existing_freqtrade_venv(tmp_path / "ftvenv")
    python = venv / "bin" / "python"
    assert subprocess.run([str(python), "-c", "import ghostguard"], capture_output=True).returncode
    before = _versions(python)

    # README: pip install /path/to/ghostguard, in the Python environment the Freqtrade runs in
    # (a copy of the clone, so that the build leaves nothing in this work tree).
    source = tmp_path / "ghostguard"
    shutil.copytree(REPO / "plugin", source / "plugin",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    line = readme_block("Install into an existing bot", "bash").split("#", 1)[0].strip()
    assert line == "pip install /path/to/ghostguard"
    env = {**os.environ, "VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        ["bash", "-c", line.replace("/path/to/ghostguard", str(source))],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    installed = [x for x in done.stdout.splitlines() if x.startswith("Successfully installed")]
    assert installed and installed[0].split()[2:] == ["ghostguard-0.2.0"], done.stdout
    assert _versions(python) == before  # pip left the bot's Freqtrade and ccxt as they were
    where = subprocess.run([str(python), "-c", "import ghostguard; print(ghostguard.__file__)"],
                           capture_output=True, text=True, check=True).stdout
    assert str(venv) in where

    # The user's strategy: Freqtrade's own advanced template, then README's two lines.
    home = tmp_path / "home"
    strategies = home / "gg" / "user_data" / "strategies"
    strategies.mkdir(parents=True)
    done = subprocess.run(
        [str(venv / "bin" / "freqtrade"), "new-strategy", "--strategy", "MyStrategy",
         "--template", "advanced", "--userdir", str(home / "gg" / "user_data")],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    snippet = readme_block("One line in your strategy", "python")
    import_line = next(x for x in snippet.splitlines() if "GhostGuardMixin" in x and "import" in x)
    class_line = next(x for x in snippet.splitlines() if x.startswith("class "))
    path = strategies / "MyStrategy.py"
    text = path.read_text()
    assert "class MyStrategy(IStrategy):" in text
    text = text.replace("class MyStrategy(IStrategy):", f"{import_line}\n\n\n{class_line}")
    path.write_text(text)

    quick = QuickStart(home, freqtrade=str(venv / "bin" / "freqtrade"), strategy="MyStrategy")
    quick.env.update(VIRTUAL_ENV=env["VIRTUAL_ENV"], PATH=env["PATH"])
    quick.env.pop("PYTHONPATH", None)
    try:
        # README's block copies the sample strategy too; the bot runs the user's own.
        log = quick.run()
        assert "Using resolved strategy MyStrategy" in log
    finally:
        quick.stop()
