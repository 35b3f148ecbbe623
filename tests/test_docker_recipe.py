"""The Docker recipe (docker/Dockerfile, docker/docker-compose.yml) has the shape that keeps the
image's Freqtrade and ccxt: FROM the official image at a release of the declared range, and one
`pip install --user` of this repository, with nothing that could replace freqtrade or ccxt.

Docker does not run here; `make compat` runs the Dockerfile's pip install line itself (the
extraction tested below) in a fresh venv holding the newest release and its ccxt, and checks
both versions are unchanged afterwards.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version

from compat.run import (
    adapt_pip_install,
    dockerfile_freqtrade_version,
    dockerfile_instructions,
    dockerfile_pip_install,
)


ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "docker-compose.yml"
# pip options that would re-install or upgrade what the image already holds.
REPLACING_OPTIONS = {"-U", "--upgrade", "--force-reinstall", "-I", "--ignore-installed",
                     "--upgrade-strategy", "-r", "--requirement", "-e", "--editable"}


def _declared_range():  # -> SpecifierSet
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return next(r for r in map(Requirement, dependencies) if r.name == "freqtrade").specifier


def test_builds_on_the_official_image_at_a_declared_release() -> None:
    instructions = dockerfile_instructions(DOCKERFILE)
    assert instructions[0] == ("ARG", f"FREQTRADE_VERSION={dockerfile_freqtrade_version()}")
    assert instructions[1] == ("FROM", "freqtradeorg/freqtrade:${FREQTRADE_VERSION}")
    assert [k for k, _ in instructions].count("FROM") == 1  # one stage: the image users run
    assert Version(dockerfile_freqtrade_version(DOCKERFILE)) in _declared_range()


def test_installs_as_the_images_user() -> None:
    instructions = dockerfile_instructions(DOCKERFILE)
    keywords = [k for k, _ in instructions]
    run_at = next(i for i, (k, rest) in enumerate(instructions)
                  if k == "RUN" and "pip install" in rest)
    users = [rest for k, rest in instructions[:run_at] if k == "USER"]
    assert users and users[-1] == "ftuser"  # the pip install runs as ftuser (--user site)
    assert [rest for k, rest in instructions if k == "USER"][-1] == "ftuser"  # and so does the bot
    assert keywords.count("RUN") == 1


def test_the_pip_install_line_installs_this_repository_and_nothing_else() -> None:
    argv, copies = dockerfile_pip_install(DOCKERFILE)
    assert argv[:2] == ["pip", "install"] and "--user" in argv and "--no-cache-dir" in argv
    assert not REPLACING_OPTIONS & set(argv), argv
    assert not any(a.startswith(("--upgrade", "--force", "--ignore-installed", "--requirement=",
                                 "--constraint", "-c")) for a in argv), argv
    targets = [a for a in argv[2:] if not a.startswith("-")]
    assert targets == ["/tmp/ghostguard"]
    # The one target is the build context's root (the repository), COPYed as the image's user.
    assert copies == {"/tmp/ghostguard": "."}
    copy = next(rest for k, rest in dockerfile_instructions(DOCKERFILE) if k == "COPY")
    assert shlex.split(copy) == ["--chown=ftuser:ftuser", ".", "/tmp/ghostguard"]
    for target in targets:  # a path, never a requirement such as freqtrade / ccxt
        try:
            name = Requirement(target).name.lower()
        except InvalidRequirement:
            continue
        assert name not in {"freqtrade", "ccxt"}, target
    # ... and the repository it installs asks for nothing but a freqtrade range: no ccxt pin.
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert [Requirement(d).name for d in dependencies] == ["freqtrade"]


def test_the_build_fails_if_the_install_changed_freqtrade_or_ccxt() -> None:
    run = next(rest for k, rest in dockerfile_instructions(DOCKERFILE)
               if k == "RUN" and "pip install" in rest)
    steps = re.split(r"\s*&&\s*", run)
    pip_at = next(i for i, step in enumerate(steps) if step.startswith("pip install"))
    show = "pip show freqtrade ccxt | grep -E '^(Name|Version):'"
    assert steps[pip_at - 1] == f"{show} > /tmp/kept-before.txt"
    assert steps[pip_at + 1] == f"{show} | diff /tmp/kept-before.txt -"


def test_make_compat_runs_the_same_line_in_a_venv() -> None:
    argv, copies = dockerfile_pip_install(DOCKERFILE)
    python = Path("/venv/bin/python")
    assert adapt_pip_install(argv, copies, python, ROOT) == [
        str(python), "-m", "pip", "install", "--no-cache-dir", str(ROOT)]


def test_the_build_context_leaves_venvs_out() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", ".compat"} <= ignored
    for needed in ("pyproject.toml", "README.md", "plugin"):  # what `pip install .` reads
        assert not any(needed == pattern or needed.startswith(f"{pattern}/")
                       for pattern in ignored), needed


def test_compose_builds_the_recipe_at_the_same_release() -> None:
    compose = COMPOSE.read_text()
    version = dockerfile_freqtrade_version(DOCKERFILE)
    assert re.search(r"^\s+context: \.\.$", compose, re.M)
    assert re.search(r"^\s+dockerfile: docker/Dockerfile$", compose, re.M)
    assert re.search(rf'^\s+FREQTRADE_VERSION: "{re.escape(str(version))}"$', compose, re.M)
    assert re.search(r"^\s+image: freqtrade-ghostguard:" + re.escape(str(version)) + "$",
                     compose, re.M)
    assert '"../user_data:/freqtrade/user_data"' in compose
