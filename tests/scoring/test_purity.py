"""The scoring package is a pure core: no web framework, no database, no files, no clock."""

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "scoring").glob("*.py"))
ALLOWED_IMPORTS = {
    "__future__",
    "collections",
    "dataclasses",
    "decimal",
    "difflib",
    "enum",
    "fractions",
    "functools",
    "hashlib",
    "json",
    "math",
    "numpy",
    "pandas",
    "pydantic",
    "re",
    "scoring",
    "typing",
    "urllib",
    "yaml",
}


def test_importing_scoring_loads_neither_fastapi_nor_sqlalchemy() -> None:
    probe = (
        "import sys, scoring\n"
        "loaded = {name.split('.')[0] for name in sys.modules}\n"
        "print(sorted(loaded & {'fastapi', 'sqlalchemy', 'starlette', 'app'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_scoring_imports_only_pure_modules_and_never_opens_a_file() -> None:
    for source in SOURCES:
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                names = []
            for name in names:
                assert name.split(".")[0] in ALLOWED_IMPORTS, f"{source.name} imports {name}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"open", "print", "input"} or source.name == "schema.py", (
                    source.name
                )
