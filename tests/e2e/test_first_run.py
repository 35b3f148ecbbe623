"""A first run as the README tells a new user to do it: copy `config.example.json` and the
sample strategy into a directory of one's own, start the simulator on its own (it writes the
config file that points Freqtrade at it), and start `freqtrade trade` from the copy, dry-run and
live.

Freqtrade's own config validation runs on the shipped example (it refused it before: an empty
`api_server.jwt_secret_key`), and the bot starts with the guard installed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


REPO = Path(__file__).resolve().parents[2]
FREQTRADE = Path(sys.executable).with_name("freqtrade")
START_BOUND_S = 90.0


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


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    shutil.copy(REPO / "config.example.json", tmp_path / "config.json")
    strategies = tmp_path / "user_data" / "strategies"
    strategies.mkdir(parents=True)
    shutil.copy(REPO / "user_data" / "strategies" / "GhostMakerStrategy.py", strategies)
    return tmp_path


def test_example_config_passes_freqtrades_own_validation(user_dir: Path) -> None:
    done = subprocess.run(
        [str(FREQTRADE), "show-config", "-c", "config.json", "--userdir", "user_data"],
        cwd=user_dir, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ConfigurationError" not in done.stderr and "is too short" not in done.stderr


@pytest.mark.parametrize("mode", ["dry-run", "live"])
def test_a_run_from_the_example_config_against_the_simulator(user_dir: Path, mode: str) -> None:
    """Dry-run as shipped; live as the README says: `"dry_run": false` in config.json and no
    `--dry-run` (dropping the flag alone leaves the example's `"dry_run": true` in force)."""
    if mode == "live":
        config = json.loads((user_dir / "config.json").read_text())
        config["dry_run"] = False
        (user_dir / "config.json").write_text(json.dumps(config, indent=4))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server_log = user_dir / "sim.out"
    with server_log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "ghostsim.server", "--port", "0", "--tls",
             "--write-config", "sim.json"],
            cwd=user_dir, stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    bot: subprocess.Popen | None = None
    try:
        printed = _wait_for(server_log, "written to", server, 30)
        # Everything a live run needs is printed: the URL, the key and the secret.
        assert "listening on https://127.0.0.1:" in printed
        assert "API key: " in printed and "secret: " in printed
        overlay = json.loads((user_dir / "sim.json").read_text())
        assert overlay["exchange"]["key"] and overlay["exchange"]["secret"]
        bot_log = user_dir / "bot.log"
        with bot_log.open("w") as out:
            bot = subprocess.Popen(
                [str(FREQTRADE), "trade", "-c", "config.json", "-c", "sim.json",
                 "--userdir", "user_data", *(["--dry-run"] if mode == "dry-run" else [])],
                cwd=user_dir, stdout=out, stderr=subprocess.STDOUT, env=env,
            )
        log = _wait_for(bot_log, "Changing state to: RUNNING", bot, START_BOUND_S)
        assert f"installed on Binance ({mode}, futures" in log  # "; adapter ...)" since 563e6ec
        _wait_for(bot_log, "GhostMakerStrategy", bot, 5)
        assert bot.poll() is None, "the bot stopped after start-up"
        log = bot_log.read_text(errors="replace")
        errors = [line for line in log.splitlines() if " - ERROR - " in line]
        assert errors == [], errors
        # The simulator's certificate is trusted, not verification turned off (urllib3 warned
        # on every request of the bot).
        assert "InsecureRequestWarning" not in log
    finally:
        if bot is not None:
            _stop(bot)
        _stop(server)
