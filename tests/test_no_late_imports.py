"""Imports sit at the top of a module: an import inside a function is allowed only where docs/architecture.md
says why (the CLI's commands, and large or optional third-party engines loaded on first use).

A function-level import of our own code is how a layer leak or a module cycle hides from a reader and from
import-linter's intent; this test fails on the first new one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import salesnav

PACKAGE = Path(salesnav.__file__).parent
OURS = ("salesnav", "")  # "": a relative import

# Third-party modules that may be imported inside a function, and why (each such line says so too).
LAZY_THIRD_PARTY = {
    "av": "speech: PyAV (FFmpeg) decodes audio",
    "pysilk": "speech: WeChat's SILK codec",
    "aip": "speech/OCR: Baidu's SDK, only when that engine is chosen",
    "sherpa_onnx": "speech engine",
    "faster_whisper": "speech engine",
    "rapidocr_onnxruntime": "OCR engine",
    "numpy": "with the OCR engine",
    "rq": "the job queue, only when REDIS_URL is set",
    "cn2an": "Chinese numerals: a second to load",
    "PIL": "the demo's files",
    "reportlab": "the demo's files",
    "sklearn": "win probability: scikit-learn, only when a model is trained",
}


def late_imports(root: Path = PACKAGE) -> list[tuple[str, int, str]]:
    """(file, line, module) of every import inside a function, outside the CLI's entry points (cli*.py)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.parent == root and path.name.startswith("cli"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    found += [(str(path.relative_to(root)), inner.lineno, alias.name) for alias in inner.names]
                elif isinstance(inner, ast.ImportFrom):
                    module = "." * inner.level + (inner.module or "")
                    found.append((str(path.relative_to(root)), inner.lineno, module))
    return sorted(set(found))


def test_no_module_imports_our_own_code_inside_a_function():
    ours = [
        f"{file}:{line} {module}" for file, line, module in late_imports() if module.split(".")[0] in ("salesnav", "")
    ]
    assert ours == [], "import these at the top of the module (docs/architecture.md, Function-level imports)"


def test_only_the_listed_engines_are_loaded_on_first_use():
    others = [
        f"{file}:{line} {module}"
        for file, line, module in late_imports()
        if module.split(".")[0] not in OURS and module.split(".")[0] not in LAZY_THIRD_PARTY
    ]
    assert others == [], "import at the top of the module, or add the engine to LAZY_THIRD_PARTY with the reason"


def test_every_late_import_says_why():
    silent = []
    for file, line, _module in late_imports():
        text = (PACKAGE / file).read_text(encoding="utf-8").splitlines()
        # the reason is a comment on the import's lines, or in the comment just above the imports
        statement = range(line - 1, min(line + 3, len(text)))
        on_the_line = any("#" in text[i] for i in statement if "import" in text[i])
        above = line - 2
        while above >= 0 and text[above].strip().startswith(("import ", "from ")):
            above -= 1
        if not on_the_line and not (above >= 0 and text[above].strip().startswith("#")):
            silent.append(f"{file}:{line}")
    assert silent == []


def test_the_walk_finds_a_late_import_and_spares_the_cli(tmp_path):
    """The check itself can fail: a function that imports our own code or an unlisted library is reported."""
    (tmp_path / "leaky.py").write_text(
        "import json\n\n\ndef f():\n    from salesnav.bot import outbox\n    import yaml\n"
    )
    (tmp_path / "cli_extra.py").write_text("def command():\n    from salesnav.models import session\n")
    assert late_imports(tmp_path) == [("leaky.py", 5, "salesnav.bot"), ("leaky.py", 6, "yaml")]
