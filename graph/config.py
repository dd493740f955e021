"""FasterPy settings: defaults < `[tool.fasterpy]` in the nearest pyproject.toml or `fasterpy.toml`
< command-line flags.

Layout of the file (every key optional):

    [tool.fasterpy]              # or the top level of fasterpy.toml
    attempts = 3
    mode = "each"
    [tool.fasterpy.generation]   # graph.backends.base.GenerationConfig
    backend = "rules"
    [tool.fasterpy.retrieval]    # RetrievalSettings (paper Alg. 2)
    k = 2

The schema is a strict pydantic model (a string is not a number, an unknown key is an error); a
validation error becomes one FasterPyError line naming the key, where it was set and the fix. The
generation table is checked against GenerationConfig's own fields, so a field added there is a
setting here with no second list to keep.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Annotated, Any, Literal

import tomlkit
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetPydanticSchema,
    PrivateAttr,
    ValidationError,
    create_model,
)
from pydantic_core import core_schema

from graph.backends.base import GenerationConfig
from harness.errors import FasterPyError
from harness.files import atomic_write
from harness.verify.equality import FLOAT_TOLERANCE

CONFIG_FILE = "fasterpy.toml"
Mode = Literal["together", "each"]
MODES: tuple[str, ...] = typing.get_args(Mode)
PromptMode = Literal["summaries", "examples"]
_STRICT = ConfigDict(strict=True, extra="forbid")


def _plain(value: Any) -> Any:
    """What the schema checks: a GenerationConfig as its fields, paths as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: os.fspath(v) if isinstance(v, os.PathLike) else v for k, v in value.items()}
    return value


def _schema_of(dc: type) -> type[BaseModel]:
    """A strict pydantic model with the fields, types and defaults of the dataclass `dc`."""
    hints = typing.get_type_hints(dc)
    spec: dict[str, Any] = {}
    for f in dataclasses.fields(dc):
        if f.default_factory is not dataclasses.MISSING:
            default = Field(default_factory=f.default_factory)
        else:
            default = f.default
        spec[f.name] = (hints[f.name], default)
    return create_model(f"{dc.__name__}Settings", __config__=_STRICT, **spec)


_GenerationSettings = _schema_of(GenerationConfig)


def _generation_schema(_source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
    # Checked field by field as _GenerationSettings (so errors keep their `generation.<key>` path),
    # kept as the plain GenerationConfig the backends take.
    checked = core_schema.no_info_after_validator_function(
        lambda settings: GenerationConfig(**dict(settings)), handler.generate_schema(_GenerationSettings)
    )
    return core_schema.no_info_before_validator_function(
        _plain, checked, serialization=core_schema.plain_serializer_function_ser_schema(dataclasses.asdict)
    )


GenerationSection = Annotated[GenerationConfig, GetPydanticSchema(_generation_schema)]


class RetrievalSettings(BaseModel):
    """Algorithm 2's parameters; None = the value tuned for the KB's embedder (its manifest)."""

    model_config = _STRICT

    k: int = 2
    m: int | None = None
    delta: float | None = None
    threshold: float | None = None


class FasterPyConfig(BaseModel):
    model_config = _STRICT

    generation: GenerationSection = Field(default_factory=GenerationConfig)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    kb: str | None = None  # knowledge-base directory; None = the shipped default
    use_retrieval: bool = True  # False: prompt without suggestions (ablation)
    attempts: int = Field(default=3, ge=1)  # generate→verify rounds per target group
    candidates: int = Field(default=2, ge=1)  # candidates generated per attempt
    speedup_threshold: float = Field(default=1.1, gt=0)  # accept when the CI lower bound of the speedup clears this
    repeats: int = Field(default=8, ge=2)  # interleaved timing rounds (more are added when the CI straddles the threshold)
    timeout_s: float = Field(default=10.0, gt=0)  # per sandboxed run
    memory_mb: int = 1024  # per sandboxed run
    float_tolerance: float = FLOAT_TOLERANCE  # relative and absolute tolerance when comparing float results
    mode: Mode = "together"  # "together": all targets in one prompt; "each": one target at a time
    budget_s: float = Field(default=180.0, gt=0)  # seconds of search per target group (generate + verify), besides `attempts`
    early_stop: float = Field(default=1.5, ge=1)  # stop searching once a candidate's CI low ≥ early_stop × speedup_threshold
    prompt_mode: PromptMode = "summaries"  # "summaries": the paper's suggestions | "examples": retrieved slow/fast code pairs
    driver: str | None = None  # command whose run supplies the target functions' inputs
    test_cmd: str | None = None  # the user's tests, also run against the candidate in a temp copy
    min_coverage_warn: float = Field(default=0.6, ge=0, le=1)  # below this share of the original's lines the checks execute, a result rests on thin evidence
    min_coverage: float = Field(default=0.0, ge=0, le=1)  # below this share a faster candidate is rejected (thin_evidence); 0 = never
    generated_inputs: int = Field(default=30, ge=0)  # function mode: inputs generated per target from the captured ones, checked too; 0 = none
    generated_seed: int = 0  # the same seed generates the same inputs
    generated_budget_s: float = Field(default=3.0, gt=0)  # the original's estimated seconds on all generated inputs (fewer inputs when slow)
    learn: bool = False  # add accepted optimizations to the user's knowledge base
    learn_kb: str | None = None  # where --learn adds records; None = kb.paths.user_kb_dir()
    state_db: str | None = None  # SQLite checkpoint database; None = <cache>/runs.sqlite
    _source: str = PrivateAttr("defaults")

    @property
    def source(self) -> str:
        """Where the file settings came from: a path, or "defaults". Not a setting."""
        return self._source

    @source.setter
    def source(self, value: str) -> None:
        self._source = value

    # -- loading -----------------------------------------------------------------------------

    @classmethod
    def load(cls, start: str | os.PathLike[str] | None = None, overrides: dict[str, Any] | None = None) -> FasterPyConfig:
        """Defaults, then the nearest config file at or above `start` (a file or directory; default
        the working directory), then `overrides` (dotted keys such as "generation.backend"; None
        values are ignored so unset flags do not override the file)."""
        found = find_config_file(start)
        path, table = found if found is not None else (None, {})
        given = _nested({k: v for k, v in (overrides or {}).items() if v is not None})
        flags = set(_dotted(given))
        file_where = _describe(path) if path is not None else "defaults"
        cfg = _validated(
            _merged(_nested(table), given),
            lambda key: "command-line options" if any(p in flags for p in _prefixes(key)) else file_where,
        )
        if path is not None:
            cfg.source = str(path)
        return cfg

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FasterPyConfig:
        """The inverse of `to_dict` (what a run's checkpoint holds); dotted keys are accepted too."""
        return _validated(_nested(data), lambda _key: "settings")

    def to_dict(self) -> dict[str, Any]:
        """Every setting as plain values and dicts (no `source`)."""
        return self.model_dump(warnings=False)

    def update(self, data: Mapping[str, Any], where: str = "settings") -> None:
        """Apply a (possibly nested or dotted) mapping; unknown keys and wrong values are errors."""
        fresh = _validated(_merged(self.to_dict(), _nested(data)), lambda _key: where)
        for name in type(self).model_fields:
            setattr(self, name, getattr(fresh, name))

    def validate(self) -> None:  # type: ignore[override]  # pydantic's deprecated classmethod of that name
        """Check the current values again (after attributes were set directly)."""
        _validated(self.to_dict(), lambda _key: "your settings")

    # -- derived paths ---------------------------------------------------------------------

    def state_db_path(self) -> Path:
        from kb.paths import cache_dir

        return Path(self.state_db).expanduser() if self.state_db else cache_dir() / "runs.sqlite"

    def learn_kb_path(self) -> Path:
        from kb.paths import user_kb_dir

        return Path(self.learn_kb).expanduser() if self.learn_kb else user_kb_dir()

    def limits(self) -> Any:
        from harness.limits import Limits

        return Limits(timeout_s=self.timeout_s, memory_mb=self.memory_mb)

    # -- saving ----------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str] = CONFIG_FILE) -> Path:
        """Write the settings to a fasterpy.toml, atomically. A new file gets every setting. An
        existing one keeps its comments, layout and key order: the settings it has are changed in
        place (or removed when now unset), and those it lacks are added only when not at their
        default. A file with a [tool.fasterpy] table is written inside that table."""
        path = Path(path)
        existing = path.is_file()
        if existing:
            doc = _parse_for_update(path)
        else:
            doc = tomlkit.document()
            doc.add(tomlkit.comment('FasterPy settings (see README "Configuration").'))
        tool = doc.get("tool")
        table = tool["fasterpy"] if isinstance(tool, Mapping) and isinstance(tool.get("fasterpy"), Mapping) else doc
        _write_table(table, self.to_dict(), type(self)().to_dict(), every=not existing)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, tomlkit.dumps(doc).encode("utf-8"))
        return path


_SECTIONS: dict[str, type[BaseModel]] = {"generation": _GenerationSettings, "retrieval": RetrievalSettings}
_KINDS = {  # pydantic's error type → what the value must be
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
}
_WHY = {"repeats": " to tell a speedup from noise"}


def _validated(data: dict[str, Any], where: typing.Callable[[str], str]) -> FasterPyConfig:
    """The config for `data`, or a one-line FasterPyError; `where(key)` says where a key was set."""
    try:
        return FasterPyConfig.model_validate(_plain(data))
    except ValidationError as exc:
        raise FasterPyError(_one_line(exc.errors(include_url=False)[0], where)) from None


def _one_line(err: Any, where: typing.Callable[[str], str]) -> str:
    loc = [str(part) for part in err["loc"]]
    section = _SECTIONS.get(loc[0]) if loc else None
    key = ".".join(loc[:2] if section is not None else loc[:1])
    place, kind, value, ctx = where(key), err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "extra_forbidden":
        known = (section if section is not None and len(loc) > 1 else FasterPyConfig).model_fields
        return f"unknown setting '{key}' in {place} — known: {', '.join(sorted(known))}"
    if section is not None and len(loc) == 1:
        return f"'{key}' in {place} must be a table of settings — e.g. [tool.fasterpy.{key}]"
    if kind == "literal_error":
        field = FasterPyConfig.model_fields.get(key)
        choices = ", ".join(typing.get_args(field.annotation)) if field is not None else ctx.get("expected")
        return f"{key} must be one of {choices}, not {value!r} — fix `{key}` in {place}"
    if kind == "greater_than_equal":
        return f"`{key}` must be at least {ctx.get('ge')}{_WHY.get(key, '')} — fix it in {place}"
    if kind == "greater_than" and ctx.get("gt") == 0:
        return f"`{key}` must be positive — fix it in {place}"
    if kind in _KINDS:
        return f"'{key}' in {place} must be {_KINDS[kind]}, not {value!r} — fix the value"
    return f"'{key}' in {place}: {err['msg']} — fix the value"


def _nested(data: Mapping[str, Any]) -> dict[str, Any]:
    """{"generation.backend": x} → {"generation": {"backend": x}}, merged with nested tables."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if "." in key:
            head, rest = key.split(".", 1)
            value, key = {rest: value}, head
        if isinstance(value, Mapping):
            value = _nested(value)
        out = _merged(out, {key: value})
    return out


def _merged(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        old = out.get(key)
        if isinstance(value, Mapping) and (isinstance(old, Mapping) or dataclasses.is_dataclass(old)):
            out[key] = _merged(_plain(old), value)
        else:
            out[key] = value
    return out


def _dotted(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key, value in data.items():
        keys.append(prefix + key)
        if isinstance(value, Mapping):
            keys.extend(_dotted(value, f"{prefix}{key}."))
    return keys


def _prefixes(key: str) -> list[str]:
    parts = key.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _describe(path: Path) -> str:
    return f"[tool.fasterpy] of {path}" if path.name == "pyproject.toml" else str(path)


def find_config_file(start: str | os.PathLike[str] | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The nearest fasterpy.toml, or pyproject.toml with a [tool.fasterpy] table, at or above
    `start`; in one directory fasterpy.toml wins. Returns (path, settings table)."""
    here = Path(start or Path.cwd()).expanduser().resolve()
    if here.is_file() and here.suffix == ".toml":  # an explicit settings file (e.g. --config)
        data = _read_toml(here)
        tool = data.get("tool")
        nested = tool.get("fasterpy") if isinstance(tool, dict) else None
        return here, nested if isinstance(nested, dict) else data
    if here.is_file() or not here.exists():
        here = here.parent
    for directory in (here, *here.parents):
        own = directory / CONFIG_FILE
        if own.is_file():
            data = _read_toml(own)
            nested = data.get("tool", {}).get("fasterpy") if isinstance(data.get("tool"), dict) else None
            return own, nested if isinstance(nested, dict) else data
        project = directory / "pyproject.toml"
        if project.is_file():
            table = _read_toml(project).get("tool", {}).get("fasterpy")
            if isinstance(table, dict):
                return project, table
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise FasterPyError(f"{path} is not valid TOML: {exc} — fix the file") from exc
    except OSError as exc:
        raise FasterPyError(f"cannot read {path}: {exc.strerror} — check its permissions") from exc


def _parse_for_update(path: Path) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise FasterPyError(f"cannot read {path} to update it: {exc} — check the file") from None
    except tomlkit.exceptions.ParseError as exc:
        raise FasterPyError(f"cannot save to {path}: it is not valid TOML ({exc}) — fix or remove the file") from None


def _write_table(table: MutableMapping[str, Any], values: dict[str, Any], defaults: dict[str, Any], every: bool) -> None:
    """Bring a tomlkit table up to `values`, touching only what changed (None = unset: removed)."""
    for key, value in sorted(values.items(), key=lambda kv: isinstance(kv[1], dict)):  # tables last
        current = table.get(key)
        if isinstance(value, dict):
            sub = current if isinstance(current, MutableMapping) else tomlkit.table()
            _write_table(sub, value, defaults.get(key, {}), every)
            if current is None and len(sub):
                table[key] = sub
        elif value is None:
            table.pop(key, None)
        elif current is not None:
            if (current.unwrap() if hasattr(current, "unwrap") else current) != value:
                table[key] = value
        elif every or value != defaults.get(key):
            table[key] = value
