"""`--learn`: an accepted optimization becomes a knowledge-base record (slow context → fast context,
rate = the verified speedup, an offline summary of the change), so retrieval improves with use.

What is learned: the targets a run optimized, when the settings say `learn = true` (`--learn`); see
`learn_accepted`.

Where it goes: `learn_kb` if set, else the `kb` you retrieve from if you named one, else the user
KB in the user data directory (`kb.paths.user_kb_dir()`), created on first use as a copy of the
shipped default KB; once it exists, runs without an explicit `kb` retrieve from it (see
`retrieval_kb`)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from graph.config import FasterPyConfig
from graph.result import OptimizeResult


def user_kb_path(cfg: FasterPyConfig) -> Path:
    return cfg.learn_kb_path()


def learn_target(cfg: FasterPyConfig) -> Path:
    if cfg.learn_kb:
        return Path(cfg.learn_kb).expanduser()
    if cfg.kb:
        return Path(cfg.kb).expanduser()
    return user_kb_path(cfg)


def retrieval_kb(cfg: FasterPyConfig) -> str | None:
    """The KB to retrieve from: `kb` if set, else the learned user KB if one exists, else None (shipped)."""
    if cfg.kb:
        return cfg.kb
    user = user_kb_path(cfg)
    return str(user) if (user / "manifest.json").is_file() else None


def _open_for_learning(path: Path) -> Any:
    from kb.store import KnowledgeBase, default_kb_path

    if not (path / "manifest.json").is_file():
        shipped = default_kb_path()
        if (shipped / "manifest.json").is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp-copy")
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(shipped, tmp)
            tmp.rename(path)
        else:
            return KnowledgeBase.create(path)
    return KnowledgeBase.open(path, writable=True)


def records_from_result(result: OptimizeResult) -> list[Any]:
    """One record per accepted target group: the extracted context before and after."""
    from kb.builders.summarize import OfflineSummarizer
    from kb.preprocess import extract_context
    from kb.records import Record

    summarizer = OfflineSummarizer()
    out = []
    for t in result.targets:
        b = t.best
        if t.status != "optimized" or b is None or not b.speedup:
            continue
        slow = t.context or result.original_source
        try:
            fast = extract_context(b.code, t.targets or None)
        except Exception:  # the accepted code always parses; be lenient about context extraction
            fast = b.code
        key = "learned:" + hashlib.sha1((slow + "\0" + fast).encode()).hexdigest()[:16]
        out.append(Record(
            id=0,
            summary=summarizer.summarize(slow, fast),
            rate=round(float(b.speedup), 4),
            slow_code=slow,
            slow_code_len=len(slow),
            target=fast,
            source="user",
            problem_id=f"user:{Path(result.path).name}:{t.target}",
            meta={"key": key, "summarizer": summarizer.name, "ci": [b.ci_low, b.ci_high], "run_id": result.run_id},
        ))
    return out


def learn_from_result(result: OptimizeResult, cfg: FasterPyConfig) -> list[int]:
    """Add the accepted optimizations of `result` to the learning KB; returns the new record ids
    (empty when nothing was accepted or the same change was learned before)."""
    records = records_from_result(result)
    if not records:
        return []
    kb = _open_for_learning(learn_target(cfg))
    try:
        return kb.add(records)
    finally:
        kb.close()


def learn_accepted(result: OptimizeResult, cfg: FasterPyConfig) -> list[int]:
    """The `--learn` policy: when `cfg.learn` is on and the run optimized something, add its accepted
    targets to the learning KB (`learn_target`); returns the new record ids, else []."""
    if not (result.optimized and cfg.learn):
        return []
    return learn_from_result(result, cfg)
