"""``--reporter NAME[=PATH]``: which reporter a command line asks for, with which options.

``perfgate run`` and ``perfgate report`` take the same argument; both resolve it here, so
the same text means the same reporter and the same problem gets the same message.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from perfgate.components import Reporter
from perfgate.errors import ConfigError
from perfgate.plugins import PluginHost
from perfgate.targets import ComponentUse


def parse_reporter(text: str) -> tuple[str, str | None]:
    """``junit=out.xml`` → ``("junit", "out.xml")``; ``console`` → ``("console", None)``."""
    name, sep, path = text.partition("=")
    if not name.strip() or (sep and not path.strip()):
        raise ConfigError(f"--reporter {text!r}: expected NAME=PATH (junit=out.xml) or NAME "
                          "for a reporter that writes no file")
    return name.strip(), path.strip() if sep else None


#: A reporter as a run uses it.
ReporterUse = ComponentUse[Reporter[Any]]


def reporter_use(text: str, host: PluginHost,
                 configured: ReporterUse | None = None) -> ReporterUse:
    """The reporter ``--reporter text`` asks for, its options checked (:class:`ConfigError`).

    ``configured`` is the same reporter as a targets file has it: its options stay and
    ``PATH`` replaces its ``path``. Otherwise ``NAME`` is any installed reporter.
    """
    name, path = parse_reporter(text)
    cls = configured.cls if configured is not None else host.registry.find(Reporter, name)
    if cls is None:
        installed = ", ".join(host.registry.names("reporter")) or "none"
        raise ConfigError(f"--reporter {text!r}: unknown reporter {name!r}. Installed "
                          f"reporters: {installed}.{host.broken_hint()}")
    options = configured.config.model_dump(by_alias=True) if configured is not None else {}
    if path is not None:
        if "path" not in cls.Config.model_fields:
            raise ConfigError(f"--reporter {text!r}: the {cls.name} reporter writes no file; "
                              f"give --reporter {name} without a path")
        options["path"] = path
    try:
        config = cls.Config.model_validate(options)
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]
        raise ConfigError(f"--reporter {text!r}: {problem['msg']}",
                          key=".".join(str(p) for p in problem["loc"]) or None) from None
    return ComponentUse(name, cls, config)
