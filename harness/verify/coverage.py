"""Coverage of the evidence: which lines of the original target functions the checks executed.

A target's lines are the statements of its body (docstring, `def` line and decorators excluded)
that compile to code — nested functions and comprehensions included. Executed lines come from
harness/verify/_tracer.py's LineRecorder: on a traced replay of the original on every checked input
(`replay_lines`), and in the user's tests run against the original (`project_tests.lines_under_tests`).
Program mode measures the whole program's lines on its test inputs (`program_run_lines`). None of
them depends on the candidate, so each is cached per original and inputs."""

from __future__ import annotations

import ast
import hashlib
import json
import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.verify.verdict import Verdict

PROGRAM = "program"  # the LineCoverage key of program mode's one "target"
_PROGRAM_FILE = "main.py"
_CACHE_SIZE = 32
_cache: dict[str, dict[str, set[int]]] = {}


def _find_def(tree: ast.Module, qualname: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    scope: list[ast.stmt] = tree.body
    found: ast.AST | None = None
    for name in qualname.split("."):
        found = next((n for n in scope if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                      and n.name == name), None)
        if found is None:
            return None
        scope = found.body
    return found if isinstance(found, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


def _code_lines(code: types.CodeType, qualname: str) -> set[int]:
    """Lines with bytecode in the code object named `qualname` and every code object nested in it."""
    lines: set[int] = set()
    stack = [code]
    inside = False
    while stack:
        c = stack.pop()
        qual = getattr(c, "co_qualname", c.co_name)
        if qual == qualname or qual.startswith(qualname + "."):
            inside = True
            lines.update(line for _, _, line in c.co_lines() if line is not None)
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return lines if inside else set()


def body_lines(source: str, path: str, qualname: str) -> set[int]:
    """The executable lines of `qualname`'s body in `source` (empty when it is not a plain def there)."""
    try:
        tree = ast.parse(source)
        code = compile(source, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return set()
    node = _find_def(tree, qualname)
    if node is None:
        return set()
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    statements = {n.lineno for stmt in body for n in ast.walk(stmt) if isinstance(n, ast.stmt)}
    return statements & _code_lines(code, qualname)


def program_lines(source: str) -> set[int]:
    """Program mode: every statement of the program that compiles to code."""
    try:
        tree = ast.parse(source)
        code = compile(source, _PROGRAM_FILE, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return set()
    lines: set[int] = set()
    stack = [code]
    while stack:
        c = stack.pop()
        lines.update(line for _, _, line in c.co_lines() if line is not None)
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return {n.lineno for n in ast.walk(tree) if isinstance(n, ast.stmt)} & lines


@dataclass
class LineCoverage:
    """Executable lines per target and those the evidence executed."""

    lines: dict[str, set[int]]
    executed: dict[str, set[int]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)  # what ran: "checked inputs", "tests", "test inputs"
    checks: int = 0  # inputs the candidate was checked on

    @classmethod
    def of(cls, source: str, path: str, targets: Iterable[str]) -> LineCoverage:
        return cls({t: body_lines(source, path, t) for t in targets})

    def add(self, target: str, lines: Iterable[int]) -> None:
        if target in self.lines:
            self.executed.setdefault(target, set()).update(set(lines) & self.lines[target])

    def add_all(self, executed: dict[str, set[int]], source: str) -> None:
        for target, lines in executed.items():
            self.add(target, lines)
        if source not in self.sources:
            self.sources.append(source)

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.lines.values())

    @property
    def covered(self) -> int:
        return sum(len(self.executed.get(t, set())) for t in self.lines)

    @property
    def fraction(self) -> float | None:
        """Covered share of the lines, None when no line could be located."""
        return self.covered / self.total if self.total else None

    def missing(self) -> dict[str, list[int]]:
        return {t: sorted(v - self.executed.get(t, set())) for t, v in self.lines.items()
                if v - self.executed.get(t, set())}

    def as_details(self) -> dict[str, Any]:
        return {"checks": self.checks, "lines": self.total, "covered": self.covered, "fraction": self.fraction,
                "missing": self.missing(), "sources": list(self.sources)}

    def describe_missing(self, source: str, limit: int = 8) -> str:
        """The lines no check executed, quoted, for feedback."""
        text = source.splitlines()
        out: list[str] = []
        for target, lines in self.missing().items():
            for line in lines[:limit]:
                quoted = text[line - 1].strip() if 0 < line <= len(text) else ""
                out.append(f"  {target}, line {line}: {quoted[:100]}")
            if len(lines) > limit:
                out.append(f"  {target}: … {len(lines) - limit} more line(s)")
        return "\n".join(out)


def cached(key_parts: Iterable[str | bytes], compute: Any) -> dict[str, set[int]]:
    """`compute()`'s result, kept per key (the original and its inputs: no candidate in it)."""
    h = hashlib.sha256()
    for part in key_parts:
        h.update(part if isinstance(part, bytes) else part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    key = h.hexdigest()
    if key not in _cache:
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = compute()
    return _cache[key]


def replay_lines(replay: Any, orig_src: str, checked: list[tuple[str, bytes]], limits: Any) -> dict[str, set[int]]:
    """The lines each target executed when the original ran on `checked` (target, args pickle),
    traced; `replay(source, jobs, limits)` runs them with line tracing on. A call that fails under the tracer adds no lines."""
    def compute() -> dict[str, set[int]]:
        jobs = [(t, blob, 1) for t, blob in checked]
        outs = replay(orig_src, jobs, limits)
        lines: dict[str, set[int]] = {}
        for (target, _), out in zip(checked, outs, strict=False):
            lines.setdefault(target, set()).update(out.get("lines") or ())
        return lines

    return cached(["replay", orig_src, *(p for t, blob in checked for p in (t, blob))], compute)


def program_run_lines(original: str, inputs: list[str], limits: Any, pool: Any) -> dict[str, set[int]]:
    """The program's lines executed over all `inputs`, the original run once more under the tracer."""
    from harness.program import run_program
    from harness.verify._tracer import PROGRAM_LINES_MARKER
    from harness.verify.capture import TRACER

    def compute() -> dict[str, set[int]]:
        # The tracer runs as a module of its own, so its `if __name__ == "__main__"` stays asleep.
        wrapper = (f"_ns = {{'__name__': '_fasterpy_tracer'}}\n"
                   f"exec(compile({TRACER.read_text(encoding='utf-8')!r}, '_fasterpy_tracer', 'exec'), _ns)\n"
                   f"_ns['_trace_program']({original!r}, {_PROGRAM_FILE!r})\n")
        res = run_program(wrapper, inputs, runs=1, drop=0, limits=limits, pool=pool, filename="_fasterpy_trace.py")
        lines: set[int] = set()
        for test in res.tests:
            tail_text = test.stderr_tail or ""
            at = tail_text.rfind(PROGRAM_LINES_MARKER)
            if at >= 0:
                try:
                    lines.update(json.loads(tail_text[at + len(PROGRAM_LINES_MARKER):].splitlines()[0]))
                except (ValueError, IndexError):
                    continue
        return {PROGRAM: lines}

    return cached(["program", original, *inputs], compute)


def mark_verdict(verdict: Verdict, coverage: LineCoverage | None, cfg: Any, original_source: str) -> Verdict:
    """Mark a timed verdict with its coverage; an accepted one below `cfg.min_coverage` becomes
    thin_evidence, its feedback naming the lines no check runs."""
    if coverage is None or coverage.fraction is None:
        return verdict
    verdict.coverage = coverage.fraction
    verdict.checks = coverage.checks
    verdict.thin_evidence = coverage.fraction < cfg.min_coverage_warn
    verdict.details["coverage"] = coverage.as_details()
    if verdict.accepted and coverage.fraction < cfg.min_coverage:
        verdict.status = "thin_evidence"
        verdict.feedback = (f"The candidate is correct and faster on the checks ({verdict.feedback.split(': ', 1)[-1]}), "
                            f"but the checks execute only {coverage.fraction:.0%} of the original's lines, below the "
                            f"required {cfg.min_coverage:.0%}. No check runs:\n{coverage.describe_missing(original_source)}\n"
                            "Add inputs (a --driver, --test-cmd tests, or test inputs) that reach these lines, or lower "
                            "--min-coverage.")
    return verdict
