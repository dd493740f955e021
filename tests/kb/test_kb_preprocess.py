"""Algorithm 1 (context extraction) and its definition walk on real tree-sitter parses."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from harness.errors import FasterPyError
from kb.preprocess import apply_patch, definitions, deletion_patch, extract_context

SOURCE = (Path(__file__).resolve().parents[1] / "fixtures" / "sample_module.py").read_text(encoding="utf-8")


def _defs(code: str) -> set[str]:
    return {d.qualname for d in definitions(code) if d.kind == "function"}


def test_function_target_keeps_callees_callers_globals_and_main():
    ctx = extract_context(SOURCE, ["target"])
    kept = _defs(ctx)
    # target + recursive callees (inner → deep → helper) + caller main; unrelated ones removed
    assert {"target", "target.inner", "deep", "helper", "main"} <= kept
    assert not kept & {"unrelated", "fetch", "run_box", "Box.get", "Box.other"}
    assert "LIMIT = 10" in ctx and "import sys" in ctx and "@lru_cache(maxsize=None)" in ctx
    assert 'if __name__ == "__main__":' in ctx
    compile(ctx, "ctx.py", "exec")


def test_method_target_keeps_class_dunders_and_used_methods():
    ctx = extract_context(SOURCE, ["Box.get"])
    kept = _defs(ctx)
    assert {"Box.get", "Box._calc", "Box.__init__", "run_box"} <= kept
    assert "Box.other" not in kept and "target" not in kept and "unrelated" not in kept
    assert "size = 3" in ctx
    compile(ctx, "ctx.py", "exec")


def test_async_and_nested_targets():
    ctx = extract_context(SOURCE, ["fetch"])
    assert {"fetch", "helper"} <= _defs(ctx) and "target" not in _defs(ctx)
    assert "async def fetch" in ctx
    nested = extract_context(SOURCE, ["target.inner"])
    assert {"target", "target.inner", "deep", "helper"} <= _defs(nested)


def test_black_formatting_applied():
    ctx = extract_context("def f(a,b):\n  return a+b\nprint(f(1,2))\n", ["f"])
    assert ctx == "def f(a, b):\n    return a + b\n\n\nprint(f(1, 2))\n"


def test_no_targets_gives_whole_file_formatted():
    ctx = extract_context(SOURCE, [])
    assert _defs(ctx) == _defs(SOURCE)


def test_syntax_error_elsewhere_still_extracts():
    broken = SOURCE + "\ndef broken(:\n    pass\n"
    ctx = extract_context(broken, ["target"])
    assert "def target" in ctx and "broken" not in ctx


def test_errors_for_unknown_lambda_class_and_broken_target():
    with pytest.raises(FasterPyError, match=r"no function named 'nope'.*available functions: .*Box.get"):
        extract_context(SOURCE, ["nope"])
    with pytest.raises(FasterPyError, match="is a class"):
        extract_context(SOURCE, ["Box"])
    with pytest.raises(FasterPyError, match="lambda"):
        extract_context("sq = lambda x: x * x\nprint(sq(3))\n", ["sq"])
    with pytest.raises(FasterPyError, match="could not be parsed"):
        extract_context("def ok():\n    return 1\n\ndef bad(x:\n    return x\n", ["bad"])


def test_deletion_patch_is_a_real_unified_diff():
    lines = [f"line {i}\n" for i in range(10)]
    ranges = [(1, 2), (5, 5), (8, 9)]
    patch = deletion_patch(lines, ranges)
    assert patch.startswith("--- a/code.py\n+++ b/code.py\n@@ -2,2 +1,0 @@")
    out = apply_patch(lines, patch)
    assert out == [lines[i] for i in (0, 3, 4, 6, 7)]
    # difflib's own patch for the same change applies identically with our applier
    ref = "".join(difflib.unified_diff(lines, out, "a", "b"))
    assert apply_patch(lines, ref) == out
    with pytest.raises(FasterPyError, match="does not apply"):
        apply_patch([line.upper() for line in lines], patch)
