"""Produce the foreign strategies from the installed Freqtrade, plain and guarded.

- ``advanced``: what ``freqtrade new-strategy --template advanced`` writes (every callback
  stubbed, among them ``bot_loop_start`` and ``adjust_order_price``).
- ``sample``: Freqtrade's shipped ``freqtrade/templates/sample_strategy.py``, copied as it is.
- ``entry_exit``: the advanced template with its ``adjust_order_price`` turned into
  ``adjust_entry_price`` and ``adjust_exit_price`` (Freqtrade refuses a strategy that
  overrides ``adjust_order_price`` together with either of those).

The guarded variant of each is what a user does: edit the class line
``class X(IStrategy):`` into ``class X(GhostGuardMixin, IStrategy):`` and add
``from ghostguard import GhostGuardMixin`` after the file's imports. The guarded file keeps the
class name and lives in its own directory, so one strategy name resolves to the plain or the
guarded class depending on ``strategy_path`` only.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import freqtrade.templates


GUARD_IMPORT = "from ghostguard import GhostGuardMixin"

ADVANCED = "ForeignAdvanced"
ENTRY_EXIT = "ForeignEntryExit"
SAMPLE = "SampleStrategy"  # the shipped file's own class name, kept


@dataclass(frozen=True)
class ForeignStrategy:
    key: str  # advanced | sample | entry_exit
    class_name: str
    plain_dir: Path
    guarded_dir: Path

    def strategy_dir(self, guarded: bool) -> Path:
        return self.guarded_dir if guarded else self.plain_dir


def advanced_template(userdir: Path, class_name: str) -> str:
    """Run ``freqtrade new-strategy --template advanced`` (the installed CLI) and read the file."""
    userdir.mkdir(parents=True, exist_ok=True)  # it fills an existing directory only
    completed = subprocess.run(
        [
            sys.executable, "-m", "freqtrade", "new-strategy",
            "--strategy", class_name, "--template", "advanced", "--userdir", str(userdir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    written = userdir / "strategies" / f"{class_name}.py"
    if completed.returncode != 0 or not written.is_file():
        raise RuntimeError(
            f"freqtrade new-strategy failed ({completed.returncode}):\n"
            f"{completed.stdout}\n{completed.stderr}"
        )
    return written.read_text(encoding="utf-8")


def sample_template_path() -> Path:
    return Path(freqtrade.templates.__file__).parent / "sample_strategy.py"


def _class_line(class_name: str) -> re.Pattern[str]:
    return re.compile(rf"^class {re.escape(class_name)}\(IStrategy\):", re.MULTILINE)


def add_mixin(source: str, class_name: str) -> str:
    """The user's edit: the mixin in front on the class line, and its import."""
    pattern = _class_line(class_name)
    if len(pattern.findall(source)) != 1:
        raise ValueError(f"expected exactly one 'class {class_name}(IStrategy):' line")
    source = pattern.sub(f"class {class_name}(GhostGuardMixin, IStrategy):", source)
    last_import = max(
        node.end_lineno or node.lineno
        for node in ast.parse(source).body
        if isinstance(node, ast.Import | ast.ImportFrom)
    )
    lines = source.splitlines(keepends=True)
    lines.insert(last_import, GUARD_IMPORT + "\n")
    return "".join(lines)


def rename_class(source: str, old: str, new: str) -> str:
    pattern = _class_line(old)
    if len(pattern.findall(source)) != 1:
        raise ValueError(f"expected exactly one 'class {old}(IStrategy):' line")
    return pattern.sub(f"class {new}(IStrategy):", source)


def entry_exit_variant(source: str) -> str:
    """Replace the ``adjust_order_price`` method by ``adjust_entry_price`` and
    ``adjust_exit_price`` with the same body (and without the ``is_entry`` parameter, which
    Freqtrade passes to ``adjust_order_price`` only)."""
    method = next(
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef) and node.name == "adjust_order_price"
    )
    lines = source.splitlines(keepends=True)
    first = method.lineno - 1 - len(method.decorator_list)
    block = lines[first : method.end_lineno]
    text = "".join(line for line in block if line.strip() != "is_entry: bool,")
    if "is_entry" in text.split('"""', 1)[0]:
        raise ValueError("could not drop the is_entry parameter from adjust_order_price")
    entry = text.replace("def adjust_order_price(", "def adjust_entry_price(", 1)
    exit_ = text.replace("def adjust_order_price(", "def adjust_exit_price(", 1)
    return "".join(lines[:first]) + entry + "\n" + exit_ + "".join(lines[method.end_lineno :])


def write_strategies(root: Path) -> dict[str, ForeignStrategy]:
    """Produce every foreign strategy under ``root`` (``plain/`` and ``guarded/``)."""
    plain_dir, guarded_dir = root / "plain", root / "guarded"
    plain_dir.mkdir(parents=True)
    guarded_dir.mkdir(parents=True)
    advanced = advanced_template(root / "userdir", ADVANCED)
    entry_exit = entry_exit_variant(rename_class(advanced, ADVANCED, ENTRY_EXIT))
    sample_path = plain_dir / sample_template_path().name
    shutil.copyfile(sample_template_path(), sample_path)  # the shipped file, byte for byte
    sources = {
        ADVANCED: (f"{ADVANCED}.py", advanced),
        ENTRY_EXIT: (f"{ENTRY_EXIT}.py", entry_exit),
        SAMPLE: (sample_path.name, sample_path.read_text(encoding="utf-8")),
    }
    for class_name, (filename, source) in sources.items():
        if not (plain_dir / filename).exists():
            (plain_dir / filename).write_text(source, encoding="utf-8")
        (guarded_dir / filename).write_text(add_mixin(source, class_name), encoding="utf-8")
    return {
        key: ForeignStrategy(key, class_name, plain_dir, guarded_dir)
        for key, class_name in (
            ("advanced", ADVANCED), ("sample", SAMPLE), ("entry_exit", ENTRY_EXIT)
        )
    }


__all__ = [
    "ADVANCED",
    "ENTRY_EXIT",
    "GUARD_IMPORT",
    "SAMPLE",
    "ForeignStrategy",
    "add_mixin",
    "advanced_template",
    "entry_exit_variant",
    "rename_class",
    "sample_template_path",
    "write_strategies",
]
