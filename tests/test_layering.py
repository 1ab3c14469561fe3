"""The import layering of ARCHITECTURE.md, checked from the source of every module.

Each module of qworkbench, simulators, tasks and agents is found from its package's
folder (``pkgutil.walk_packages`` cross-checks the list) and the checks import none of
them: they parse each file's import statements with ``ast``, function-level imports
included, so they are quick and see imports that only run on some code paths.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("qworkbench", "simulators", "tasks", "agents")
# Subpackages of qworkbench that are packages of their own for the private-module rule.
QWB_SUBPACKAGES = ("circuit", "optim", "hardware", "experiments", "cli", "utils")
# (importer's top-level package, forbidden import prefixes)
FORBIDDEN = {
    "simulators": ("tasks", "agents", "qworkbench.experiments", "qworkbench.cli"),
    "tasks": ("agents", "qworkbench.experiments", "qworkbench.cli"),
    "agents": ("qworkbench.experiments", "qworkbench.cli"),
}
# The core (qworkbench outside experiments and cli) imports no layer above it at module
# level; hardware and the CLI's helpers may import simulators inside functions.
ABOVE_CORE = ("simulators", "tasks", "agents", "qworkbench.experiments", "qworkbench.cli")


def _modules():
    """(dotted name, source path) of every module in PACKAGES, without importing them."""
    found = []
    for package in PACKAGES:
        init = ROOT / package / "__init__.py"
        found.append((package, init))
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts
            if "__pycache__" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join(parts)
            if name != package:
                found.append((name, path))
    return found


def _package_of(module: str) -> str:
    """The top-level package a dotted module name belongs to for the layering rules."""
    parts = module.split(".")
    if parts[0] == "qworkbench" and len(parts) > 1 and parts[1] in QWB_SUBPACKAGES:
        return f"qworkbench.{parts[1]}"
    return parts[0]


def _imports(name: str, path: Path):
    """(imported dotted name, line, at module level) for each import in the module's
    source; a ``from M import n`` gives ``M`` and ``M.n`` (a submodule or a name of M)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        level = id(node) in top_level
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, level
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield module, node.lineno, level
            for alias in node.names:
                if alias.name != "*":
                    yield f"{module}.{alias.name}", node.lineno, level


def _under(dotted: str, prefix: str) -> bool:
    return dotted == prefix or dotted.startswith(prefix + ".")


def _private(dotted: str) -> bool:
    """A path component starting with ``_`` that is not a dunder (``__init__``,
    ``__future__``, ``__version__``)."""
    return any(
        part.startswith("_") and not (part.startswith("__") and part.endswith("__"))
        for part in dotted.split(".")
    )


def _violations():
    problems = []
    for name, path in _modules():
        own = _package_of(name)
        top = name.split(".")[0]
        in_cli = _under(name, "qworkbench.cli")
        in_core = top == "qworkbench" and not (in_cli or _under(name, "qworkbench.experiments"))
        for target, line, module_level in _imports(name, path):
            where = f"{path.relative_to(ROOT)}:{line} imports {target}"
            if target.split(".")[0] not in PACKAGES:
                continue  # the standard library and third-party packages
            for prefix in FORBIDDEN.get(top, ()):
                if _under(target, prefix):
                    problems.append(f"{where} ({top} is below {prefix})")
            if in_core and name != "qworkbench.__main__":
                for prefix in ABOVE_CORE:
                    experiments = prefix == "qworkbench.experiments"
                    if _under(target, prefix) and (module_level or experiments):
                        problems.append(f"{where} (the core is below {prefix})")
            if _under(target, "qworkbench.cli") and not in_cli and name != "qworkbench.__main__":
                problems.append(f"{where} (only qworkbench.cli and __main__ import the CLI)")
            if _package_of(target) != own and _private(target):
                problems.append(f"{where} (a private name of another package)")
    return problems


def test_every_module_is_found():
    """``pkgutil.walk_packages`` (which imports the packages, not their modules) lists
    the same modules as the folder walk the checks use."""
    names = {name for name, _ in _modules()}
    assert {"qworkbench.utils", "simulators.statevector", "tasks.vqe", "agents.env"} <= names
    walked = set(PACKAGES)
    for package in PACKAGES:
        path = importlib.import_module(package).__path__
        walked |= {info.name for info in pkgutil.walk_packages(path, prefix=f"{package}.")}
    assert walked == names


def test_imports_follow_the_layers():
    problems = _violations()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("importer", "target", "ok"),
    [
        ("qworkbench.experiments.results", "qworkbench.hardware._store.append_line", False),
        ("qworkbench.hardware._submit", "qworkbench.hardware._store.JobStore", True),
        ("simulators.frames", "qworkbench._memory.check_allocation", False),
        ("qworkbench.pauli", "qworkbench._memory.check_allocation", True),
        ("simulators.frames", "qworkbench.utils.check_allocation", True),
        ("tasks.qsvt._gates", "qworkbench.circuit._gates.GATES", False),
    ],
)
def test_private_rule(importer, target, ok):
    assert (_package_of(target) == _package_of(importer) or not _private(target)) == ok
