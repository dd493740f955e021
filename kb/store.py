"""A knowledge base on disk: records in SQLite (paper Table 1 plus slow code, target, source and
problem id), vectors in an hnswlib index, and a manifest naming the embedder that made them.

Layout of a KB directory:
    manifest.json    embedder name and dim, index parameters, retrieval defaults, counts, index sha256
    records.sqlite   the records; a `schema_version` table drives migrations
    index.bin        the hnswlib index (labels = record ids)
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import FasterPyError
from harness.files import atomic_write, file_digest
from kb.index import IndexParams, VectorIndex
from kb.paths import data_dir
from kb.records import Record, Suggestion
from kb.retrieval import RetrievalParams, select

MANIFEST = "manifest.json"
RECORDS_DB = "records.sqlite"
INDEX_FILE = "index.bin"
FORMAT_VERSION = 1

# Each entry upgrades the schema by one version; never edit a released entry, append a new one.
MIGRATIONS: list[str] = [
    # v1: paper Table 1 (id, slow_code_len, summary, rate; vector lives in the index) + extras.
    """
    CREATE TABLE records (
        id INTEGER PRIMARY KEY,
        key TEXT UNIQUE,
        slow_code_len INTEGER NOT NULL,
        summary TEXT NOT NULL,
        rate REAL NOT NULL,
        slow_code TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT '',
        problem_id TEXT NOT NULL DEFAULT '',
        meta TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX records_problem ON records(problem_id);
    CREATE INDEX records_source ON records(source);
    """,
    # v2: which summarizer wrote the summary (llm / offline / human-validated).
    "ALTER TABLE records ADD COLUMN summarizer TEXT NOT NULL DEFAULT '';",
]
SCHEMA_VERSION = len(MIGRATIONS)


def default_kb_path() -> Path:
    """The shipped knowledge base (env FASTERPY_KB overrides)."""
    env = os.environ.get("FASTERPY_KB")
    return Path(env) if env else data_dir() / "kb" / "default"


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to SCHEMA_VERSION; returns the version found before migrating."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    current = row[0] if row else 0
    if current > SCHEMA_VERSION:
        raise FasterPyError(
            f"this knowledge base uses schema v{current}, newer than this FasterPy (v{SCHEMA_VERSION}) — upgrade fasterpy"
        )
    for version in range(current, SCHEMA_VERSION):
        conn.executescript(MIGRATIONS[version])
    if current != SCHEMA_VERSION:
        conn.execute("DELETE FROM schema_version")
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        conn.commit()
    return current


_COLUMNS = "id, key, slow_code_len, summary, rate, slow_code, target, source, problem_id, meta, summarizer"


def _row_to_record(row: Sequence[Any]) -> Record:
    meta = json.loads(row[9] or "{}")
    if row[1]:
        meta.setdefault("key", row[1])
    if row[10]:
        meta.setdefault("summarizer", row[10])
    return Record(id=row[0], slow_code_len=row[2], summary=row[3], rate=row[4], slow_code=row[5],
                  target=row[6], source=row[7], problem_id=row[8], meta=meta)


class KnowledgeBase:
    """Open with `KnowledgeBase.open(path)` or create with `KnowledgeBase.create(path, embedder)`."""

    def __init__(self, path: Path, manifest: dict[str, Any], conn: sqlite3.Connection,
                 index: VectorIndex, embedder: Any, writable: bool) -> None:
        self.path = path
        self.manifest = manifest
        self._conn = conn
        self.index = index
        self.embedder = embedder
        self.writable = writable

    # ------------------------------------------------------------------ opening and creating
    @classmethod
    def create(cls, path: str | Path, embedder: Any | str | None = None, params: IndexParams | None = None,
               retrieval: RetrievalParams | None = None) -> KnowledgeBase:
        """A new, empty KB at `path` (the directory must not hold one already)."""
        from kb.embedders import get_embedder

        path = Path(path)
        if (path / MANIFEST).exists():
            raise FasterPyError(f"{path} already holds a knowledge base — use `fasterpy kb add` or another directory")
        path.mkdir(parents=True, exist_ok=True)
        emb = get_embedder(embedder) if embedder is None or isinstance(embedder, str) else embedder
        params = params or IndexParams()
        conn = sqlite3.connect(path / RECORDS_DB)
        migrate(conn)
        index = VectorIndex(emb.dim, params)
        manifest = {
            "format": FORMAT_VERSION,
            "embedder": emb.name,
            "dim": int(emb.dim),
            "index": params.to_dict(),
            "retrieval": (retrieval or RetrievalParams()).to_dict(),
            "count": 0,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        kb = cls(path, manifest, conn, index, emb, writable=True)
        kb._save()
        return kb

    @classmethod
    def open(cls, path: str | Path | None = None, embedder: Any | str | None = None,
             writable: bool = False, repair: bool = False) -> KnowledgeBase:
        """Open a KB (None = the shipped default). `embedder` (a name or object), when given, must be
        the one the KB was built with. `repair` re-embeds records the index lacks (resumed builds)."""
        from kb.embedders import get_embedder

        path = Path(path) if path is not None else default_kb_path()
        mpath = path / MANIFEST
        if not mpath.exists():
            raise FasterPyError(
                f"no knowledge base at {path} (manifest.json missing) — build one with `fasterpy kb build --out {path}`"
            )
        try:
            manifest = json.loads(mpath.read_text())
            name, dim = manifest["embedder"], int(manifest["dim"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise FasterPyError(f"the manifest {mpath} is damaged ({exc}) — rebuild the knowledge base") from exc
        if embedder is not None:
            wanted = embedder if isinstance(embedder, str) else embedder.name
            if wanted != name:
                raise FasterPyError(
                    f"the knowledge base at {path} was built with embedder '{name}', not '{wanted}' — "
                    f"query it with --embedder {name} or rebuild it with `fasterpy kb build --embedder {wanted}`"
                )
        emb = embedder if embedder is not None and not isinstance(embedder, str) else get_embedder(name)
        if name.startswith("lexical") and emb.dim != dim:
            raise FasterPyError(f"embedder '{name}' gives {emb.dim}-d vectors but the index holds {dim}-d — rebuild the knowledge base")
        dbpath = path / RECORDS_DB
        if not dbpath.exists():
            raise FasterPyError(f"{dbpath} is missing — rebuild the knowledge base")
        if writable:
            conn = sqlite3.connect(dbpath)
            migrate(conn)
        else:
            conn = sqlite3.connect(f"file:{dbpath}?mode=ro", uri=True)
            try:
                row = conn.execute("SELECT version FROM schema_version").fetchone()
            except sqlite3.DatabaseError as exc:
                raise FasterPyError(f"{dbpath} is not a knowledge-base database ({exc}) — rebuild it") from exc
            if not row or row[0] != SCHEMA_VERSION:
                # Older schema: migrate in place when we can write, else say what to do.
                conn.close()
                try:
                    rw = sqlite3.connect(dbpath)
                    migrate(rw)
                    rw.close()
                except sqlite3.OperationalError as exc:
                    raise FasterPyError(f"{dbpath} needs a schema upgrade but is read-only — open it with write access") from exc
                conn = sqlite3.connect(f"file:{dbpath}?mode=ro", uri=True)
        params = IndexParams(**manifest.get("index", {}))
        ipath = path / INDEX_FILE
        count = conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]
        if not ipath.exists():
            if count and not repair:
                raise FasterPyError(f"the vector index {ipath} is missing — rebuild it with `fasterpy kb reindex --kb {path}`")
            index = VectorIndex(dim, params)
        else:
            sha = manifest.get("index_sha256")
            damaged = bool(sha) and sha != file_digest(ipath)
            if damaged and not repair:
                raise FasterPyError(
                    f"the vector index {ipath} is damaged or does not belong to these records (checksum mismatch) — "
                    f"rebuild it with `fasterpy kb reindex --kb {path}`"
                )
            if damaged:
                # Never hand a damaged file to hnswlib (it may crash); start empty and re-embed.
                index = VectorIndex(dim, params)
            else:
                try:
                    index = VectorIndex.load(ipath, dim, params)
                except FasterPyError:
                    if not repair:
                        raise
                    index = VectorIndex(dim, params)
        kb = cls(path, manifest, conn, index, emb, writable=writable or repair)
        if repair:
            kb._reconcile()
        elif len(index) != count:
            raise FasterPyError(
                f"the vector index holds {len(index)} vectors but the store has {count} records — "
                f"rebuild it with `fasterpy kb reindex --kb {path}`"
            )
        return kb

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writing
    def _require_writable(self) -> None:
        if not self.writable:
            self._conn.close()
            self._conn = sqlite3.connect(self.path / RECORDS_DB)
            migrate(self._conn)
            self.writable = True

    def _save(self) -> None:
        ipath = self.path / INDEX_FILE
        self.index.save(ipath)
        self.manifest["count"] = len(self.index)
        self.manifest["index_sha256"] = file_digest(ipath)
        self.manifest["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        atomic_write(self.path / MANIFEST, json.dumps(self.manifest, indent=2, sort_keys=True) + "\n")

    def has_key(self, key: str) -> bool:
        return self._conn.execute("SELECT 1 FROM records WHERE key = ?", (key,)).fetchone() is not None

    def keys(self) -> set[str]:
        return {r[0] for r in self._conn.execute("SELECT key FROM records WHERE key IS NOT NULL")}

    def add(self, records: Iterable[Record], vectors: np.ndarray | None = None, save: bool = True) -> list[int]:
        """Embed and add records (no rebuild). Records whose `meta['key']` is already stored are
        skipped, so an interrupted build resumes. Returns the ids given to the added records."""
        self._require_writable()
        records = list(records)
        seen: set[str] = set()
        todo: list[tuple[int, Record]] = []
        for i, r in enumerate(records):
            key = r.meta.get("key") if r.meta else None
            if key and (key in seen or self.has_key(key)):
                continue
            if key:
                seen.add(key)
            todo.append((i, r))
        if not todo:
            return []
        if vectors is None:
            vecs = self.embedder.embed([r.slow_code for _, r in todo])
        else:
            vecs = np.asarray(vectors, dtype=np.float32)[[i for i, _ in todo]]
        if vecs.shape[1] != int(self.manifest["dim"]):
            raise FasterPyError(
                f"embedder '{self.embedder.name}' gives {vecs.shape[1]}-d vectors, the KB holds "
                f"{self.manifest['dim']}-d — use the embedder the KB was built with"
            )
        next_id = (self._conn.execute("SELECT MAX(id) FROM records").fetchone()[0] or 0) + 1
        ids: list[int] = []
        rows = []
        for _, r in todo:
            rid = r.id if r.id and r.id > 0 and not self._id_exists(r.id) and r.id not in ids else next_id
            next_id = max(next_id, rid) + 1
            ids.append(rid)
            meta = dict(r.meta or {})
            key = meta.pop("key", None)
            summarizer = meta.pop("summarizer", "")
            rows.append((rid, key, r.slow_code_len or len(r.slow_code), r.summary, float(r.rate), r.slow_code,
                         r.target, r.source, r.problem_id, json.dumps(meta, sort_keys=True), summarizer))
        # Store first, index second: a crash in between leaves records the index lacks, which
        # `open(repair=True)` (used by builds) re-embeds.
        with self._conn:
            self._conn.executemany(f"INSERT INTO records ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
        self.index.add(vecs, ids)
        if save:
            self._save()
        return ids

    def flush(self) -> None:
        self._require_writable()
        self._save()

    def _id_exists(self, rid: int) -> bool:
        return self._conn.execute("SELECT 1 FROM records WHERE id = ?", (rid,)).fetchone() is not None

    def _reconcile(self) -> None:
        """Make the index hold exactly the stored records (after an interrupted build)."""
        stored = {r[0] for r in self._conn.execute("SELECT id FROM records")}
        indexed = self.index.labels()
        if indexed - stored:
            self.reindex()
            return
        missing = sorted(stored - indexed)
        if missing:
            for start in range(0, len(missing), 256):
                chunk = missing[start : start + 256]
                recs = self.get(chunk)
                self.index.add(self.embedder.embed([recs[i].slow_code for i in chunk]), chunk)
            self._save()

    def reindex(self, params: IndexParams | None = None) -> None:
        """Re-embed every record into a fresh index (after damage, or to change index parameters)."""
        self._require_writable()
        if params is not None:
            self.manifest["index"] = params.to_dict()
        params = IndexParams(**self.manifest.get("index", {}))
        ids = [r[0] for r in self._conn.execute("SELECT id FROM records ORDER BY id")]
        index = VectorIndex(int(self.manifest["dim"]), params, capacity=max(len(ids), 16))
        for start in range(0, len(ids), 256):
            chunk = ids[start : start + 256]
            recs = self.get(chunk)
            index.add(self.embedder.embed([recs[i].slow_code for i in chunk]), chunk)
        self.index = index
        self._save()

    # ------------------------------------------------------------------ reading
    def get(self, ids: Sequence[int]) -> dict[int, Record]:
        out: dict[int, Record] = {}
        ids = [int(i) for i in ids]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            q = f"SELECT {_COLUMNS} FROM records WHERE id IN ({','.join('?' * len(chunk))})"
            for row in self._conn.execute(q, chunk):
                out[row[0]] = _row_to_record(row)
        return out

    def records(self, source: str | None = None) -> list[Record]:
        q = f"SELECT {_COLUMNS} FROM records" + (" WHERE source = ?" if source else "") + " ORDER BY id"
        return [_row_to_record(r) for r in self._conn.execute(q, (source,) if source else ())]

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM records").fetchone()[0])

    @property
    def retrieval_defaults(self) -> RetrievalParams:
        return RetrievalParams(**self.manifest.get("retrieval", {}))

    def _ids_for_problems(self, problems: Iterable[str]) -> set[int]:
        problems = [p for p in problems if p]
        if not problems:
            return set()
        q = f"SELECT id FROM records WHERE problem_id IN ({','.join('?' * len(problems))})"
        return {r[0] for r in self._conn.execute(q, problems)}

    def search(self, vector: np.ndarray, m: int, exclude_ids: Iterable[int] = ()) -> list[tuple[Record, float]]:
        """The top-m (record, similarity) pairs for one query vector, excluded ids filtered in the index."""
        excluded = set(exclude_ids)
        allow = (lambda label: label not in excluded) if excluded else None
        labels, sims = self.index.query(vector, m, allow)
        recs = self.get(labels.tolist())
        return [(recs[int(label)], float(s)) for label, s in zip(labels, sims) if int(label) in recs]

    def retrieve(self, code: str, k: int = 2, m: int | None = None, delta: float | None = None,
                 threshold: float | None = None, exclude_problems: Iterable[str] = (),
                 exclude_ids: Iterable[int] = ()) -> list[Suggestion]:
        """Suggestions for `code` (the extracted context): top-m above `threshold`, then Algorithm 2.
        Unset parameters come from the KB's manifest (tuned for its embedder)."""
        return self.retrieve_many([code], k, m, delta, threshold, exclude_problems, exclude_ids)[0]

    def retrieve_many(self, codes: Sequence[str], k: int = 2, m: int | None = None, delta: float | None = None,
                      threshold: float | None = None, exclude_problems: Iterable[str] = (),
                      exclude_ids: Iterable[int] = ()) -> list[list[Suggestion]]:
        d = self.retrieval_defaults
        m = d.m if m is None else m
        delta = d.delta if delta is None else delta
        threshold = d.threshold if threshold is None else threshold
        if k < 1 or m < 1:
            raise FasterPyError(f"k and m must be at least 1 (got k={k}, m={m})")
        m = max(m, k)
        excluded = self._ids_for_problems(exclude_problems) | set(exclude_ids)
        vecs = self.embedder.embed(list(codes))
        if vecs.shape[1] != int(self.manifest["dim"]):
            raise FasterPyError(
                f"embedder '{self.embedder.name}' gives {vecs.shape[1]}-d vectors but this KB holds "
                f"{self.manifest['dim']}-d — use the embedder it was built with ({self.manifest['embedder']})"
            )
        return [select(self.search(v, m, excluded), k, delta, threshold) for v in vecs]

    def stats(self) -> dict[str, Any]:
        by_source = dict(self._conn.execute("SELECT source, COUNT(*) FROM records GROUP BY source ORDER BY source"))
        problems = self._conn.execute("SELECT COUNT(DISTINCT problem_id) FROM records").fetchone()[0]
        rates = [r[0] for r in self._conn.execute("SELECT rate FROM records")]
        size = sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())
        return {
            "path": str(self.path),
            "records": len(rates),
            "indexed": len(self.index),
            "problems": problems,
            "by_source": by_source,
            "rate_median": statistics.median(rates) if rates else None,
            "rate_max": max(rates) if rates else None,
            "embedder": self.manifest["embedder"],
            "dim": self.manifest["dim"],
            "index": self.manifest.get("index", {}),
            "retrieval": self.manifest.get("retrieval", {}),
            "schema_version": SCHEMA_VERSION,
            "size_bytes": size,
        }
