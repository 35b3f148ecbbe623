"""Compatibility run: prove GhostGuard on every Freqtrade release its declared range admits.

For each release V (default: every release on the package index that the `freqtrade` requirement
in pyproject.toml admits; or the ones named by --releases / RELEASES="2026.8 2026.9"):

  1. `.compat/V` is a venv of its own (reused when it exists) holding `freqtrade==V`;
  2. this project is installed into it the way a user would (`pip install -e . -e ./simulator
     pytest pytest-mock`, no constraint): `pip show freqtrade` before and after must name the same
     version, which proves that installing GhostGuard leaves the user's Freqtrade alone;
  3. the FAST suite runs against it (tests/ less tests/e2e and tests/test_chaos.py).

Then a table: release | install kept version | passed | failed | result. Exit status 1 if any
release is red. Logs stay in .compat/V/ (install.log, pytest.log, junit.xml, result.json).

    python compat/run.py                       # the declared range
    python compat/run.py --releases 2026.8 2026.9
    python compat/run.py --ref HEAD            # test a commit (git archive), not the work tree
    python compat/run.py --table-only          # the table from the last saved results

Stdlib only; run it with any Python the releases accept (3.11 here).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
COMPAT = ROOT / ".compat"
FAST_SUITE = ["tests", "--ignore=tests/e2e", "--ignore=tests/test_chaos.py"]
TEST_TOOLS = ["pytest>=8", "pytest-mock>=3.12"]
PIN_TEST = "tests/test_freqtrade_pins.py::test_pinned_version"


def log(msg: str) -> None:
    print(f"[compat {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd: list[str], logfile: Path | None = None, cwd: Path = ROOT, timeout: int = 3600) -> int:
    """Run a command; its output goes to logfile (appended) or to our stdout."""
    if logfile is None:
        return subprocess.run(cmd, cwd=cwd, timeout=timeout).returncode
    with logfile.open("a") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        return subprocess.run(
            cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout
        ).returncode


def freqtrade_requirement(root: Path = ROOT) -> str:
    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        if re.match(r"^freqtrade\b", dep.strip()):
            return dep.strip()
    raise SystemExit("pyproject.toml declares no freqtrade dependency")


def _specifier_set(spec: str):  # noqa: ANN202 - packaging may be pip's vendored copy
    try:
        from packaging.specifiers import SpecifierSet
    except ImportError:  # a bare interpreter: pip vendors packaging
        from pip._vendor.packaging.specifiers import SpecifierSet
    return SpecifierSet(spec)


def _version(text: str):  # noqa: ANN202
    try:
        from packaging.version import Version
    except ImportError:
        from pip._vendor.packaging.version import Version
    return Version(text)


def declared_releases(requirement: str) -> list[str]:
    """Every freqtrade release on the index that the requirement admits, oldest first."""
    out = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "freqtrade"],
        capture_output=True, text=True, check=True,
    ).stdout
    match = re.search(r"Available versions:\s*(.+)", out)
    if not match:
        raise SystemExit(f"cannot read `pip index versions freqtrade`:\n{out}")
    spec = _specifier_set(requirement[len("freqtrade"):].strip())
    versions = [v.strip() for v in match.group(1).split(",")]
    return sorted((v for v in versions if v in spec), key=_version)


def venv_python(release: str) -> Path:
    return COMPAT / release / "bin" / "python"


def pip_show_version(python: Path, package: str = "freqtrade") -> str | None:
    out = subprocess.run(
        [str(python), "-m", "pip", "show", package], capture_output=True, text=True
    ).stdout
    match = re.search(r"^Version:\s*(\S+)", out, re.M)
    return match.group(1) if match else None


def ensure_venv(release: str, logfile: Path, python: str) -> None:
    """`.compat/V` with freqtrade==V (created, or repaired if something moved it)."""
    vpy = venv_python(release)
    if not vpy.exists():
        log(f"{release}: creating {vpy.parent.parent.relative_to(ROOT)}")
        if run([python, "-m", "venv", str(COMPAT / release)], logfile) != 0:
            raise RuntimeError("venv creation failed")
        run([str(vpy), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], logfile)
    have = pip_show_version(vpy)
    if have != release:
        log(f"{release}: installing freqtrade=={release} (venv has {have})")
        if run([str(vpy), "-m", "pip", "install", f"freqtrade=={release}"], logfile) != 0:
            raise RuntimeError(f"pip install freqtrade=={release} failed")
    else:
        log(f"{release}: reusing venv (freqtrade {have})")


def install_project(release: str, logfile: Path, source: Path) -> tuple[str | None, str | None]:
    """Install ghostguard + simulator + test tools as a user would; (before, after) versions."""
    vpy = venv_python(release)
    before = pip_show_version(vpy)
    rc = run(
        [str(vpy), "-m", "pip", "install", "-e", str(source), "-e", str(source / "simulator"),
         *TEST_TOOLS],
        logfile,
    )
    after = pip_show_version(vpy)
    if rc != 0:
        after = f"{after} (pip failed rc={rc})"
    return before, after


def run_fast_suite(release: str, source: Path) -> dict[str, object]:
    vdir = COMPAT / release
    junit = vdir / "junit.xml"
    junit.unlink(missing_ok=True)
    pytest_log = vdir / "pytest.log"
    pytest_log.write_text("")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    cmd = [str(venv_python(release)), "-m", "pytest", "-q", "-p", "no:cacheprovider",
           f"--junitxml={junit}", *FAST_SUITE]
    started = time.monotonic()
    with pytest_log.open("a") as out:
        rc = subprocess.run(cmd, cwd=source, stdout=out, stderr=subprocess.STDOUT, env=env,
                            timeout=3600).returncode
    seconds = time.monotonic() - started
    passed = failed = 0
    failures: list[str] = []
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            name = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
            bad = case.find("failure") is not None or case.find("error") is not None
            skipped = case.find("skipped") is not None
            if bad:
                failed += 1
                failures.append(name)
            elif not skipped:
                passed += 1
    result: dict[str, object] = {"rc": rc, "passed": passed, "failed": failed,
                                 "failures": failures, "seconds": round(seconds, 1)}
    if rc != 0 and not failures:  # nothing ran (e.g. the conftest did not import): say why
        errors = [line.strip() for line in pytest_log.read_text().splitlines()
                  if line.startswith("E ")]
        result["error"] = errors[-1] if errors else f"pytest exit status {rc}"
    return result


# Causes already run down (see the commit that added them); named when their trace shows up.
KNOWN_CAUSES: tuple[tuple[str, str], ...] = (
    ("Could not set margin mode due to MarginModeAlreadySet",
     "Binance -4046 on a repeated marginType POST: ccxt >= 4.5.65 raises MarginModeAlreadySet, "
     "Freqtrade < 2026.7 makes it TemporaryError for an initial entry (as in production)"),
    ("No module named 'scipy'",
     "this Freqtrade imports scipy without requiring it (pip install freqtrade cannot trade)"),
    ("E             '/fapi/v1/fundingRate'",
     "tests/test_sim_smoke.py::test_dry_run_uses_only_market_data allows 4 paths; this "
     "Freqtrade's dry-run also reads /fapi/v1/fundingRate and /fapi/v1/markPriceKlines"),
    ("['open', 'high', 'low', 'close', 'volume'] not in index",
     "tests/foreign/candles.py writes funding rates in the 2026.8+ layout (funding_rate column); "
     "this Freqtrade stores them as OHLCV rows"),
)


def known_causes(release: str) -> list[str]:
    log_path = COMPAT / release / "pytest.log"
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    return [cause for needle, cause in KNOWN_CAUSES if needle in text]


def verdict(result: dict[str, object]) -> str:
    if not result.get("kept"):
        return "RED (install changed freqtrade)"
    if result.get("rc") != 0 or result.get("failed"):
        failures = result.get("failures") or []
        if failures and all(f.endswith("test_freqtrade_pins.py::test_pinned_version")
                            for f in failures):  # type: ignore[union-attr]
            return "RED (only the 2026.9 version pin test)"
        if not failures:
            return f"RED (pytest rc={result.get('rc')}, no test ran)"
        return "RED"
    return "green"


def check_release(release: str, python: str, source: Path) -> dict[str, object]:
    vdir = COMPAT / release
    vdir.mkdir(parents=True, exist_ok=True)
    logfile = vdir / "install.log"
    logfile.write_text("")
    result: dict[str, object] = {"release": release}
    try:
        ensure_venv(release, logfile, python)
        before, after = install_project(release, logfile, source)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        result.update({"kept": False, "error": str(e), "before": None, "after": None})
        log(f"{release}: install failed: {e} (see {logfile.relative_to(ROOT)})")
        return result
    kept = before == release and after == release
    print(f"  pip show freqtrade in .compat/{release}: before install: Version: {before}"
          f" | after install: Version: {after}", flush=True)
    result.update({"before": before, "after": after, "kept": kept})
    if not kept:
        log(f"{release}: installing this project changed freqtrade {before} -> {after}; "
            "tests not run")
        if after != release:  # put the venv back so it can be reused
            run([str(venv_python(release)), "-m", "pip", "install", f"freqtrade=={release}"],
                logfile)
        return result
    log(f"{release}: fast suite running")
    result.update(run_fast_suite(release, source))
    log(f"{release}: {result['passed']} passed, {result['failed']} failed "
        f"in {result['seconds']}s")
    return result


def save(result: dict[str, object]) -> None:
    (COMPAT / str(result["release"]) / "result.json").write_text(json.dumps(result, indent=2))


def load(release: str) -> dict[str, object] | None:
    path = COMPAT / release / "result.json"
    return json.loads(path.read_text()) if path.exists() else None


def table(results: list[dict[str, object]]) -> str:
    rows = [("release", "install kept version", "passed", "failed", "result")]
    for r in results:
        kept = "yes" if r.get("kept") else f"no ({r.get('before')} -> {r.get('after')})"
        ran = "passed" in r
        rows.append((
            str(r["release"]), kept,
            str(r["passed"]) if ran else "-", str(r["failed"]) if ran else "-", verdict(r),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    for r in results:
        failures: list[str] = list(r.get("failures") or [])  # type: ignore[call-overload]
        if len(failures) > 10:  # many: per test file (the full list is in .compat/V/pytest.log)
            per_file: dict[str, int] = {}
            for failure in failures:
                per_file[failure.split("::")[0]] = per_file.get(failure.split("::")[0], 0) + 1
            failures = [f"{name} ({count})" for name, count in per_file.items()]
        for failure in failures:
            lines.append(f"  {r['release']}: FAILED {failure}")
        if r.get("error"):
            lines.append(f"  {r['release']}: ERROR {r['error']}")
        if verdict(r) != "green" and ("passed" in r or r.get("error")):  # this run's log
            for cause in known_causes(str(r["release"])):
                lines.append(f"  {r['release']}: known cause: {cause}")
    return "\n".join(lines)


def export_ref(ref: str) -> Path:
    """`git archive REF` into .compat/src (a clean tree, untouched by uncommitted edits)."""
    target = COMPAT / "src"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--releases", nargs="*", default=os.environ.get("RELEASES", "").split(),
                        help="releases to check (default: all the declared range admits)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter the venvs are made from (default: this one)")
    parser.add_argument("--ref", default=os.environ.get("REF") or None,
                        help="test this git commit (exported to .compat/src), not the work tree")
    parser.add_argument("--table-only", action="store_true",
                        help="print the table of the last saved results, run nothing")
    args = parser.parse_args(argv)

    requirement = freqtrade_requirement()
    releases = args.releases or declared_releases(requirement)
    log(f"declared: {requirement}")
    log(f"releases: {' '.join(releases)}")
    COMPAT.mkdir(exist_ok=True)
    source = ROOT
    if args.ref and not args.table_only:
        source = export_ref(args.ref)
        commit = subprocess.run(["git", "rev-parse", args.ref], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        log(f"testing {args.ref} = {commit} (exported to {source.relative_to(ROOT)})")
    else:
        log("testing the work tree")

    results: list[dict[str, object]] = []
    for release in releases:
        if args.table_only:
            saved = load(release)
            results.append(saved or {"release": release, "kept": False, "error": "not run"})
            continue
        result = check_release(release, args.python, source)
        save(result)
        results.append(result)

    print()
    print(f"GhostGuard compatibility ({requirement}; fast suite: pytest {' '.join(FAST_SUITE)})")
    print(table(results))
    red = [r["release"] for r in results if verdict(r) != "green"]
    print(f"\n{len(results) - len(red)} green, {len(red)} red"
          + (f": {' '.join(map(str, red))}" if red else ""))
    return 1 if red else 0


if __name__ == "__main__":
    sys.exit(main())
