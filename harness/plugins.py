"""Named plugins found through package entry points: the one registry mechanism behind generation
backends (`fasterpy.backends`), embedders (`fasterpy.embedders`) and summarizers
(`fasterpy.summarizers`).

A package adds a plugin by declaring an entry point in its pyproject.toml, for example

    [project.entry-points."fasterpy.backends"]
    mine = "my_package.backend:MyBackend"

Listing names reads installed packages' metadata only; a plugin's module is imported when that
plugin is asked for by name, so heavy libraries load only for the plugin that needs them."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

from harness.errors import FasterPyError


def plugin_names(group: str) -> list[str]:
    """The names registered in `group`, sorted; nothing is imported."""
    return sorted({ep.name for ep in entry_points(group=group)})


def find_plugin(group: str, name: str) -> EntryPoint | None:
    """The entry point registered as `name` in `group` (the first one on sys.path), or None."""
    found = entry_points(group=group, name=name)
    return next(iter(found), None)


def load_plugin(group: str, name: str, *, kind: str, hint: str = "") -> Any:
    """The object behind `name` in `group`. `kind` ("backend", "embedder", ...) and `hint` (text
    after the list of names) make the one-line error for a name nobody registered."""
    ep = find_plugin(group, name)
    if ep is None:
        names = plugin_names(group)
        if not names:  # even the built-in ones are missing: the package metadata is stale or absent
            raise FasterPyError(
                f"no {kind}s are registered (entry point group {group}) — reinstall fasterpy "
                "(`pip install -e .` in a checkout) so its entry points are recorded"
            )
        raise FasterPyError(f"unknown {kind} {name!r} — choose one of: {', '.join(names)}{hint}")
    try:
        return ep.load()
    except FasterPyError:
        raise
    except Exception as exc:  # a broken third-party package must not end in a traceback
        raise FasterPyError(
            f"cannot load {kind} {name!r} from {ep.value} ({exc.__class__.__name__}: {exc}) — "
            "reinstall the package that provides it"
        ) from exc
