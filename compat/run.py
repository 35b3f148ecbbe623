"""Compatibility run: prove GhostGuard on every Freqtrade release its declared range admits.

For each release V (default: every release on the package index that the `freqtrade` requirement
in pyproject.toml admits; or the ones named by --releases / RELEASES="2026.8 2026.9"):

  1. `.compat/V` is a venv of its own (reused when it exists) holding `freqtrade==V` together with
     the ccxt of its time: the `ccxt==` pin of that release's requirements.txt when its sdist
     carries one, else the newest ccxt uploaded to PyPI before that Freqtrade release was (PEP 691
     JSON of the simple index: upload times). A user's Freqtrade runs with the ccxt it was
     installed with (the Docker image pins it); a fresh `pip install freqtrade==V` would bring
     the newest ccxt instead, which is not what an existing install holds. Plus what the release
     imports without declaring it (UNDECLARED_IMPORTS: scipy for 2026.6);
  2. this project is installed into it the way a user would (`pip install -e . -e ./simulator`
     and the `test` extra's tools, no constraint): `pip show freqtrade` and `pip show ccxt`
     before and after must name the same versions, which proves that installing GhostGuard
     leaves the user's Freqtrade and ccxt alone;
  3. the FAST suite runs against it (tests/ less tests/e2e and tests/test_chaos.py).

For the newest release of the declared range (when it is among those run) one more step: the
Docker recipe. The `pip install` line of docker/Dockerfile (what the image build runs as ftuser,
on top of freqtradeorg/freqtrade:V) is run, `--user` dropped and the COPY destination mapped
back to the source tree, in a fresh venv `.compat/docker-V` holding freqtrade==V + its ccxt;
both versions must be unchanged after it.

Then a table: release | ccxt | install kept versions | passed | failed | result. Exit status 1 if
any release is red. Logs stay in .compat/V/ (install.log, pytest.log, junit.xml, result.json).

The work tree is copied to .compat/src when the run starts (tracked and untracked, not ignored
files), so edits made while a run of hours goes on do not mix into it; the run prints the commit
and the files that differ from it.

    python compat/run.py                       # the declared range
    python compat/run.py --releases 2026.8 2026.9
    python compat/run.py --ref HEAD            # test a commit (git archive), not the work tree
    python compat/run.py --ref HEAD --plus pyproject.toml tests/test_x.py   # ... with a change
    python compat/run.py --table-only          # the table from the last saved results

Stdlib only; run it with any Python the releases accept (3.11 here).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
COMPAT = ROOT / ".compat"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
FAST_SUITE = ["tests", "--ignore=tests/e2e", "--ignore=tests/test_chaos.py"]
TEST_TOOLS = ["pytest>=8", "pytest-mock>=3.12"]  # when pyproject.toml names no `test` extra
PIN_TEST = "tests/test_freqtrade_pins.py::test_running_freqtrade_is_in_the_declared_range"
SIMPLE_INDEX = "https://pypi.org/simple"


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


# --- the ccxt of a release's time --------------------------------------------------------------

_INDEX_CACHE: dict[str, list[dict[str, object]]] = {}


def index_files(project: str) -> list[dict[str, object]]:
    """The files of a project on PyPI (PEP 691 JSON: filename, url, upload-time, yanked)."""
    if project not in _INDEX_CACHE:
        request = urllib.request.Request(
            f"{SIMPLE_INDEX}/{project}/",
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        )
        with urllib.request.urlopen(request, timeout=120) as answer:
            _INDEX_CACHE[project] = json.load(answer)["files"]
    return _INDEX_CACHE[project]


def file_version(project: str, filename: str) -> str | None:
    """The version in a wheel's or an sdist's file name (None for anything else)."""
    if filename.endswith(".whl"):
        return filename.split("-")[1]
    for suffix in (".tar.gz", ".zip"):
        if filename.endswith(suffix) and filename.startswith(f"{project}-"):
            return filename[len(project) + 1: -len(suffix)]
    return None


def release_files(project: str, version: str) -> list[dict[str, object]]:
    return [f for f in index_files(project)
            if file_version(project, str(f["filename"])) == version]


def release_upload_time(project: str, version: str) -> str:
    """When `project==version` reached PyPI: its first file's upload time (ISO 8601, UTC)."""
    times = [str(f["upload-time"]) for f in release_files(project, version)]
    if not times:
        raise RuntimeError(f"{project}=={version} is not on {SIMPLE_INDEX}")
    return min(times)


def newest_before(project: str, moment: str) -> str:
    """The newest final, not yanked, release of `project` with a file uploaded before `moment`."""
    candidates = set()
    for f in index_files(project):
        version = file_version(project, str(f["filename"]))
        if version is None or f.get("yanked") or str(f["upload-time"]) >= moment:
            continue
        try:
            parsed = _version(version)
        except Exception:  # noqa: BLE001 - a file name that is no version
            continue
        if not (parsed.is_prerelease or parsed.is_devrelease):
            candidates.add(parsed)
    if not candidates:
        raise RuntimeError(f"no {project} release on PyPI before {moment}")
    return str(max(candidates))


def pinned_ccxt_of_sdist(release: str) -> str | None:
    """`ccxt==X` from the requirements.txt in freqtrade==release's sdist, if it carries one."""
    sdists = [f for f in release_files("freqtrade", release)
              if str(f["filename"]).endswith(".tar.gz")]
    if not sdists:
        return None
    with urllib.request.urlopen(str(sdists[0]["url"]), timeout=300) as answer:
        data = answer.read()
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive.getmembers():
            parts = member.name.split("/")
            if len(parts) == 2 and parts[1] == "requirements.txt":
                text = archive.extractfile(member).read().decode()  # type: ignore[union-attr]
                match = re.search(r"^ccxt==([0-9][^\s;#]*)", text, re.M)
                if match:
                    return match.group(1)
    return None


def ccxt_of_its_time(release: str) -> dict[str, str]:
    """The ccxt a Freqtrade release was shipped with, and how we know (cached in .compat/V)."""
    cache = COMPAT / release / "ccxt.json"
    if cache.exists():
        return json.loads(cache.read_text())
    uploaded = release_upload_time("freqtrade", release)
    pinned = pinned_ccxt_of_sdist(release)
    if pinned:
        found = {"ccxt": pinned, "source": f"ccxt=={pinned} in the requirements.txt of the "
                                           f"freqtrade {release} sdist"}
    else:
        newest = newest_before("ccxt", uploaded)
        found = {"ccxt": newest,
                 "source": f"the newest ccxt on PyPI before freqtrade {release} was uploaded "
                           f"({uploaded[:16]}Z; its sdist carries no requirements.txt)"}
    found["freqtrade_uploaded"] = uploaded
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(found, indent=2))
    return found


# --- venvs -------------------------------------------------------------------------------------

def venv_python(release: str) -> Path:
    return COMPAT / release / "bin" / "python"


def pip_show_version(python: Path, package: str = "freqtrade") -> str | None:
    out = subprocess.run(
        [str(python), "-m", "pip", "show", package], capture_output=True, text=True
    ).stdout
    match = re.search(r"^Version:\s*(\S+)", out, re.M)
    return match.group(1) if match else None


def installed(python: Path) -> dict[str, str | None]:
    """The freqtrade and ccxt versions a venv holds (`pip show`)."""
    return {"freqtrade": pip_show_version(python, "freqtrade"),
            "ccxt": pip_show_version(python, "ccxt")}


# What a release imports without declaring it: a venv with only `pip install freqtrade==V`
# could not start a bot, so no user runs that; every install that runs holds it.
UNDECLARED_IMPORTS: dict[str, tuple[str, ...]] = {
    # 2026.6 imports scipy at start-up (freqtrade/data/metrics.py, reached from freqtradebot via
    # rpc) but declares it only in its `hyperopt` extra; 2026.7 declares it. The Docker image and
    # `pip install freqtrade[hyperopt]==2026.6` hold it.
    "2026.6": ("scipy",),
}


def ensure_venv(venv: Path, release: str, ccxt: str, logfile: Path, python: str) -> None:
    """`venv` with freqtrade==release and ccxt==ccxt (created, or repaired if something moved
    either); both pinned in one pip command so the resolver never picks a newer ccxt; plus what
    the release imports without declaring it (UNDECLARED_IMPORTS)."""
    vpy = venv / "bin" / "python"
    if not vpy.exists():
        log(f"{release}: creating {venv.relative_to(ROOT)}")
        if run([python, "-m", "venv", str(venv)], logfile) != 0:
            raise RuntimeError("venv creation failed")
        run([str(vpy), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], logfile)
    have = installed(vpy)
    want = {"freqtrade": release, "ccxt": ccxt}
    missing = [name for name in UNDECLARED_IMPORTS.get(release, ())
               if pip_show_version(vpy, name) is None]
    if have != want or missing:
        pins = [f"freqtrade=={release}", f"ccxt=={ccxt}", *missing]
        log(f"{release}: installing {' '.join(pins)} (venv has "
            f"freqtrade {have['freqtrade']}, ccxt {have['ccxt']})")
        if run([str(vpy), "-m", "pip", "install", *pins], logfile) != 0:
            raise RuntimeError(f"pip install {' '.join(pins)} failed")
    else:
        log(f"{release}: reusing {venv.relative_to(ROOT)} (freqtrade {release}, ccxt {ccxt})")


def undeclared_installed(vpy: Path, release: str) -> dict[str, str | None]:
    return {name: pip_show_version(vpy, name) for name in UNDECLARED_IMPORTS.get(release, ())}


def suite_tools(source: Path) -> list[str]:
    """The project's `test` extra (pytest, and the PostgreSQL server the registry tests start)."""
    project = tomllib.loads((source / "pyproject.toml").read_text())["project"]
    return list(project.get("optional-dependencies", {}).get("test", TEST_TOOLS))


def install_project(release: str, logfile: Path, source: Path) -> tuple[dict, dict, int]:
    """Install ghostguard + simulator + test tools as a user would: (before, after, pip rc)."""
    vpy = venv_python(release)
    before = installed(vpy)
    rc = run(
        [str(vpy), "-m", "pip", "install", "-e", str(source), "-e", str(source / "simulator"),
         *suite_tools(source)],
        logfile,
    )
    return before, installed(vpy), rc


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
    passed = failed = skipped_count = 0
    failures: list[str] = []
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            name = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
            bad = case.find("failure") is not None or case.find("error") is not None
            skipped = case.find("skipped") is not None
            if bad:
                failed += 1
                failures.append(name)
            elif skipped:
                skipped_count += 1
            else:
                passed += 1
    result: dict[str, object] = {"rc": rc, "passed": passed, "failed": failed,
                                 "skipped": skipped_count, "failures": failures,
                                 "seconds": round(seconds, 1)}
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
        return "RED (install changed freqtrade or ccxt)" if result.get("after") else "RED"
    if result.get("rc") != 0 or result.get("failed"):
        failures = result.get("failures") or []
        if failures and all(f == PIN_TEST for f in failures):  # type: ignore[union-attr]
            return "RED (only the declared-range test)"
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
        pin = ccxt_of_its_time(release)
        result.update({"ccxt": pin["ccxt"], "ccxt_source": pin["source"]})
        log(f"{release}: ccxt {pin['ccxt']} ({pin['source']})")
        want = {"freqtrade": release, "ccxt": pin["ccxt"]}
        ensure_venv(COMPAT / release, release, pin["ccxt"], logfile, python)
        before, after, rc = install_project(release, logfile, source)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        result.update({"kept": False, "error": str(e), "before": None, "after": None})
        log(f"{release}: install failed: {e} (see {logfile.relative_to(ROOT)})")
        return result
    kept = before == want and after == want and rc == 0
    print(f"  pip show in .compat/{release}: before install: freqtrade {before['freqtrade']}, "
          f"ccxt {before['ccxt']} | after install: freqtrade {after['freqtrade']}, "
          f"ccxt {after['ccxt']}" + ("" if rc == 0 else f" (pip failed rc={rc})"), flush=True)
    result.update({"before": before, "after": after, "kept": kept, "pip_rc": rc})
    if release in UNDECLARED_IMPORTS:
        result["undeclared"] = undeclared_installed(venv_python(release), release)
    if not kept:
        log(f"{release}: installing this project changed {before} -> {after} (pip rc={rc}); "
            "tests not run")
        if after != want:  # put the venv back so it can be reused
            ensure_venv(COMPAT / release, release, pin["ccxt"], logfile, python)
        return result
    log(f"{release}: fast suite running")
    result.update(run_fast_suite(release, source))
    log(f"{release}: {result['passed']} passed, {result['failed']} failed "
        f"in {result['seconds']}s")
    return result


# --- the Docker recipe -------------------------------------------------------------------------

def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    if pending.strip():
        keyword, _, rest = pending.strip().partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def dockerfile_freqtrade_version(path: Path = DOCKERFILE) -> str | None:
    """The default of `ARG FREQTRADE_VERSION=...` (the Freqtrade image the recipe builds on)."""
    for keyword, rest in dockerfile_instructions(path):
        match = re.fullmatch(r"FREQTRADE_VERSION=(\S+)", rest) if keyword == "ARG" else None
        if match:
            return match.group(1).strip("\"'")
    return None


def dockerfile_pip_install(path: Path = DOCKERFILE) -> tuple[list[str], dict[str, str]]:
    """The Dockerfile's `pip install` command (argv, shell form, one command) and the COPYs
    before it (image path -> build-context path)."""
    copies: dict[str, str] = {}
    for keyword, rest in dockerfile_instructions(path):
        if keyword == "COPY":
            args = [a for a in shlex.split(rest) if not a.startswith("--")]
            *sources, destination = args
            if len(sources) == 1:
                copies[destination.rstrip("/") or "/"] = sources[0]
        if keyword == "RUN" and re.search(r"\bpip3? install\b", rest):
            if rest.startswith("["):
                raise ValueError("the pip install RUN is in exec form; expected shell form")
            commands = re.split(r"\s*(?:&&|;)\s*", rest)
            pips = [c for c in commands if re.search(r"\bpip3? install\b", c)]
            if len(pips) != 1:
                raise ValueError(f"expected one pip install in {rest!r}")
            return shlex.split(pips[0]), copies
    raise ValueError(f"no RUN ... pip install in {path}")


def adapt_pip_install(argv: list[str], copies: dict[str, str], python: Path,
                      context: Path) -> list[str]:
    """The image's `pip install --user ...` as a venv's `python -m pip install ...`: --user
    dropped (a venv has no user site), paths COPYed into the image mapped to the context."""
    words = list(argv)
    start = words.index("install")
    if words[:start] not in (["pip"], ["pip3"], ["python", "-m", "pip"], ["python3", "-m", "pip"]):
        raise ValueError(f"unexpected pip invocation {words[:start]}")
    out = [str(python), "-m", "pip", "install"]
    for word in words[start + 1:]:
        if word == "--user":
            continue
        target = word.rstrip("/")
        if target in copies:
            out.append(str((context / copies[target]).resolve()))
        else:
            out.append(word)
    return out


def check_docker_recipe(release: str, python: str, source: Path) -> dict[str, object]:
    """Run docker/Dockerfile's pip install line in a fresh venv holding freqtrade==release and
    its ccxt; both must be unchanged afterwards."""
    name = f"docker-{release}"
    venv = COMPAT / name
    shutil.rmtree(venv, ignore_errors=True)  # fresh: nothing left from an earlier run
    venv.mkdir(parents=True)
    logfile = venv / "install.log"
    logfile.write_text("")
    result: dict[str, object] = {"release": name, "docker": True}
    try:
        pin = ccxt_of_its_time(release)
        want = {"freqtrade": release, "ccxt": pin["ccxt"]}
        result["ccxt"] = pin["ccxt"]
        argv, copies = dockerfile_pip_install(source / "docker" / "Dockerfile")
        result["dockerfile_line"] = " ".join(argv)
        ensure_venv(venv, release, pin["ccxt"], logfile, python)
        vpy = venv / "bin" / "python"
        command = adapt_pip_install(argv, copies, vpy, source)
        result["command"] = " ".join(command)
        before = installed(vpy)
        log(f"{name}: {' '.join(command)}")
        rc = run(command, logfile)
        after = installed(vpy)
        guard = pip_show_version(vpy, "ghostguard")
        imports = subprocess.run(
            [str(vpy), "-c", "import ghostguard, ghostguard.compat as c; "
             "print(c.declared_range())"], capture_output=True, text=True, cwd=venv,
        )
    except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as e:
        result.update({"kept": False, "error": str(e), "before": None, "after": None})
        log(f"{name}: failed: {e}")
        return result
    kept = before == want and after == want and rc == 0
    result.update({"before": before, "after": after, "kept": kept, "pip_rc": rc,
                   "ghostguard": guard, "declared": imports.stdout.strip(),
                   "rc": 0 if kept and guard and imports.returncode == 0 else 1,
                   "failed": 0, "passed": 0})
    if imports.returncode != 0:
        result["error"] = (imports.stderr.strip().splitlines() or ["import failed"])[-1]
    print(f"  pip show in .compat/{name}: before: freqtrade {before['freqtrade']}, ccxt "
          f"{before['ccxt']} | after: freqtrade {after['freqtrade']}, ccxt {after['ccxt']}; "
          f"ghostguard {guard} (declares freqtrade{result['declared']})", flush=True)
    return result


# --- results -----------------------------------------------------------------------------------

def save(result: dict[str, object]) -> None:
    target = COMPAT / str(result["release"]) / "result.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2))


def load(release: str) -> dict[str, object] | None:
    path = COMPAT / release / "result.json"
    return json.loads(path.read_text()) if path.exists() else None


def _kept_cell(r: dict[str, object]) -> str:
    if r.get("kept"):
        return "yes"
    before, after = r.get("before"), r.get("after")
    if not after:
        return "-"
    changed = [f"{k} {before.get(k) if before else None} -> {v}"  # type: ignore[union-attr]
               for k, v in after.items() if not before or before.get(k) != v]  # type: ignore
    return f"no ({', '.join(changed) or 'pip failed'})"


def table(results: list[dict[str, object]]) -> str:
    rows = [("release", "ccxt (of its time)", "install kept versions", "passed", "failed",
             "result")]
    for r in results:
        if r.get("docker"):
            rows.append((
                f"{r['release']} (Dockerfile pip line)", str(r.get("ccxt", "-")),
                _kept_cell(r), "-", "-",
                "green" if r.get("kept") and r.get("rc") == 0 else "RED",
            ))
            continue
        ran = "passed" in r
        rows.append((
            str(r["release"]), str(r.get("ccxt", "-")), _kept_cell(r),
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
        for name, version in dict(r.get("undeclared") or {}).items():  # type: ignore[call-overload]
            lines.append(f"  {r['release']}: also holds {name} {version} (imported by this "
                         "Freqtrade, not declared by it)")
        if r.get("docker") and r.get("command"):
            lines.append(f"  {r['release']}: ran {r['command']}")
        if (not r.get("docker") and verdict(r) != "green"
                and ("passed" in r or r.get("error"))):  # this run's log
            for cause in known_causes(str(r["release"])):
                lines.append(f"  {r['release']}: known cause: {cause}")
    return "\n".join(lines)


def red(result: dict[str, object]) -> bool:
    if result.get("docker"):
        return not (result.get("kept") and result.get("rc") == 0)
    return verdict(result) != "green"


# --- what is tested ----------------------------------------------------------------------------

def export_ref(ref: str) -> Path:
    """`git archive REF` into .compat/src (a clean tree, untouched by uncommitted edits)."""
    target = COMPAT / "src"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def snapshot_work_tree() -> tuple[Path, list[str]]:
    """The work tree (tracked and untracked files git does not ignore) copied to .compat/src;
    with `git status --porcelain` at that moment (what differs from HEAD)."""
    target = COMPAT / "src"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        origin = ROOT / name
        if origin.is_file():  # a tracked file deleted in the work tree is left out
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target / name)
    status = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.splitlines()
    return target, status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--releases", nargs="*", default=os.environ.get("RELEASES", "").split(),
                        help="releases to check (default: all the declared range admits)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter the venvs are made from (default: this one)")
    parser.add_argument("--ref", default=os.environ.get("REF") or None,
                        help="test this git commit (exported to .compat/src), not the work tree")
    parser.add_argument("--plus", nargs="*", default=[], metavar="PATH",
                        help="with --ref: these work-tree files/folders copied over the exported "
                             "commit (a change not committed yet), nothing else of the work tree")
    parser.add_argument("--table-only", action="store_true",
                        help="print the table of the last saved results, run nothing")
    parser.add_argument("--no-docker", action="store_true",
                        help="leave out the Docker recipe step")
    args = parser.parse_args(argv)

    requirement = freqtrade_requirement()
    declared = declared_releases(requirement)
    releases = sorted(args.releases or declared, key=_version)
    log(f"declared: {requirement}")
    log(f"releases: {' '.join(releases)}")
    COMPAT.mkdir(exist_ok=True)
    source = ROOT
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip()
    if args.table_only:
        pass
    elif args.ref:
        source = export_ref(args.ref)
        commit = subprocess.run(["git", "rev-parse", args.ref], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        log(f"testing {args.ref} = {commit} (exported to {source.relative_to(ROOT)})")
        for name in args.plus:
            origin = ROOT / name
            if origin.is_dir():
                shutil.copytree(origin, source / name, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__"))
            elif origin.is_file():
                (source / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, source / name)
            else:
                raise SystemExit(f"--plus {name}: no such file or folder in the work tree")
            log(f"  plus the work tree's {name}")
    else:
        source, status = snapshot_work_tree()
        log(f"testing the work tree of {head} (copied to {source.relative_to(ROOT)}); "
            f"{len(status)} path(s) differ from it" + "".join(f"\n    {s}" for s in status))

    # The Docker step: on the newest release of the declared range, if this run includes it.
    docker_release = declared[-1] if declared and declared[-1] in releases else None
    if args.no_docker:
        docker_release = None

    results: list[dict[str, object]] = []
    for release in releases:
        if args.table_only:
            saved = load(release)
            results.append(saved or {"release": release, "kept": False, "error": "not run"})
            continue
        result = check_release(release, args.python, source)
        save(result)
        results.append(result)
    if docker_release:
        if args.table_only:
            saved = load(f"docker-{docker_release}")
            if saved:
                results.append(saved)
        elif (source / "docker" / "Dockerfile").exists():
            result = check_docker_recipe(docker_release, args.python, source)
            save(result)
            results.append(result)

    print()
    print(f"GhostGuard compatibility ({requirement}; fast suite: pytest {' '.join(FAST_SUITE)})")
    print(table(results))
    reds = [r["release"] for r in results if red(r)]
    print(f"\n{len(results) - len(reds)} green, {len(reds)} red"
          + (f": {' '.join(map(str, reds))}" if reds else ""))
    return 1 if reds else 0


if __name__ == "__main__":
    sys.exit(main())
