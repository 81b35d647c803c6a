"""The layers of docs/architecture.md, held by the import contracts of pyproject.toml
([tool.importlinter]), and no private name shared between modules."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from importlinter import api
from importlinter.cli import lint_imports

TOP = Path(__file__).resolve().parent.parent
PYPROJECT = TOP / "pyproject.toml"
PACKAGE = TOP / "cpcm"
CONTRACTS = {"layers", "pure", "store-knows-no-rules", "crypto-alone", "errors-below-everything"}


def test_import_contracts__every_contract_is_kept(capsys):
    """domain ← workflow ← {render, reports, store} ← service ← cli, crypto below the store;
    domain, workflow and reports import no clock and no I/O; the store applies no rule."""
    ids = {c.get("id") for c in api.read_configuration(str(PYPROJECT))["contracts_options"]}
    assert ids == CONTRACTS  # a contract taken out of the file is a test to change, not a silent pass
    code = lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True)
    assert code == 0, capsys.readouterr().out


def test_import_contracts__a_broken_contract_fails(tmp_path, capsys):
    """The check above can fail: an import the contracts forbid is reported."""
    config = tmp_path / "contracts.toml"
    config.write_text('[tool.importlinter]\nroot_package = "cpcm"\n\n[[tool.importlinter.contracts]]\n'
                      'name = "service without rules"\ntype = "forbidden"\n'
                      'source_modules = ["cpcm.service"]\nforbidden_modules = ["cpcm.workflow"]\n')
    assert lint_imports(config_filename=str(config), no_cache=True, no_logo=True) == 1
    assert "cpcm.service.planning -> cpcm.workflow.approvals" in capsys.readouterr().out


def private_names_shared(path: Path, source: str | None = None) -> list[str]:
    """`from cpcm.x import _name`, and `module._name` on a cpcm module imported here."""
    tree = ast.parse(path.read_text() if source is None else source)
    module = ".".join(path.relative_to(TOP).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module.removesuffix(".__init__")
    modules: set[str] = set()  # local names bound to a cpcm module
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                source = f"{base}.{source}" if source else base
            if not source.startswith("cpcm"):
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{path.relative_to(TOP)}:{node.lineno} imports {source}.{alias.name}")
                if (PACKAGE.parent / source.replace(".", "/") / f"{alias.name}.py").exists() or \
                        (PACKAGE.parent / source.replace(".", "/") / alias.name / "__init__.py").exists():
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("cpcm"):
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in modules and root.id not in ("self", "cls"):
                found.append(f"{path.relative_to(TOP)}:{node.lineno} uses {ast.unparse(node)}")
    return found


def test_no_private_name_crosses_a_module():
    """What modules share is public: an underscore name stays in the module that defines it."""
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in private_names_shared(path)]
    assert found == []


@pytest.mark.parametrize("source, expected", [
    ("from cpcm.store.casestore import _remove\n", "imports cpcm.store.casestore._remove"),
    ("from cpcm.render import views\nviews._progress([], None)\n", "uses views._progress"),
    ("import cpcm.store.lock\ncpcm.store.lock._x\n", "uses cpcm.store.lock._x"),
    ("from ..store import casestore as cs\ncs._remove\n", "uses cs._remove"),
])
def test_no_private_name_crosses_a_module__sees_each_way_of_reaching_one(source, expected):
    found = private_names_shared(PACKAGE / "service" / "cases.py", source)
    assert len(found) == 1 and found[0].endswith(expected)
