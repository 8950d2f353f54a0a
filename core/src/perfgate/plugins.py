"""Finding, loading and registering plugins; the registry of components they bring.

Plugins come from the entry-point group ``perfgate``; perfgate's own components (the ``system``
collector, the ``thresholds`` and ``baseline`` validators, the ``console`` and ``json``
reporters) are plugins registered the same way, from :data:`BUILTIN_PLUGINS`.

- ``PERFGATE_DISABLE_PLUGINS=a,b`` blocks the plugins named ``a`` and ``b`` (entry-point names).
- ``PERFGATE_NO_ENTRYPOINTS=1`` loads no installed plugin at all (only the built-ins): tests
  register their own with :func:`extra_plugins` or the ``perfgate_plugin`` fixture of
  :mod:`perfgate.testing`.
- ``PERFGATE_PLUGINS=pkg.module,other`` also loads these modules as plugins, installed or not
  (like ``pytest -p``): handy for a plugin that lives next to the targets file.

A plugin that fails to import, or whose hook implementations match no hookspec, is recorded
as broken (:attr:`PluginHost.failures`) instead of stopping the run: it only matters if the
targets file needs a component it would have brought, and then the error names it.

Hook implementations follow pluggy's markers: ``specname=`` names the hook an implementation
is for, and lifecycle hooks are called in pluggy's order (``tryfirst`` ones first,
``trylast`` ones last, otherwise the plugin registered last first). Each implementation is
called on its own, so one that raises does not keep the others from running; a wrapper
(``wrapper=True`` or ``hookwrapper=True``) could not wrap them, and is refused: its plugin is
recorded as broken, with a message saying so. Components are registered in the order plugins
load (the built-ins, entry points by name, ``PERFGATE_PLUGINS``, extra ones), so the first
plugin to register a name keeps it.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata as md
import os
from collections.abc import Iterator
from typing import Any

import pluggy

from perfgate import hookspecs
from perfgate.errors import PluginError
from perfgate.registry import ComponentRegistry, PluginInfo, Register

ENTRY_POINT_GROUP = "perfgate"
#: perfgate's own plugins, by plugin name: loaded first, like installed ones, unless disabled.
BUILTIN_PLUGINS = {
    "system": "perfgate.builtin.system",
    "thresholds": "perfgate.builtin.thresholds",
    "baseline": "perfgate.builtin.baseline",
    "console": "perfgate.builtin.console",
    "json": "perfgate.builtin.json_report",
}

_extra: list[tuple[str, Any]] = []


@contextlib.contextmanager
def extra_plugins(*plugins: Any) -> Iterator[None]:
    """Register plugin objects (modules, classes, instances) for every host made inside."""
    added = [(getattr(p, "__name__", type(p).__name__), p) for p in plugins]
    _extra.extend(added)
    try:
        yield
    finally:
        for item in added:
            _extra.remove(item)


def disabled_plugins() -> set[str]:
    """Plugin names blocked with ``PERFGATE_DISABLE_PLUGINS``."""
    raw = os.environ.get("PERFGATE_DISABLE_PLUGINS", "")
    return {part.strip() for part in raw.split(",") if part.strip()}


def _env_modules() -> list[str]:
    raw = os.environ.get("PERFGATE_PLUGINS", "")
    return [part.strip() for part in raw.split(",") if part.strip()]


def _entry_points() -> list[md.EntryPoint]:
    if os.environ.get("PERFGATE_NO_ENTRYPOINTS"):
        return []
    return sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


class PluginHost:
    """A typed facade over the pluggy plugin manager: one method per hook."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: list[PluginInfo] = []
        self.registry = ComponentRegistry()
        self._objects: dict[str, Any] = {}

    @property
    def failures(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.error]

    @classmethod
    def load(cls) -> PluginHost:
        """Load every installed, non-disabled plugin and the extra ones; register components."""
        host = cls()
        disabled = disabled_plugins()
        for name, module in BUILTIN_PLUGINS.items():
            if name not in disabled:
                host._add_module(PluginInfo(name, "perfgate", _version("perfgate")), module)
        for ep in _entry_points():
            if ep.name in disabled:
                continue
            dist = ep.dist.name if ep.dist else None
            info = PluginInfo(ep.name, dist, ep.dist.version if ep.dist else None)
            try:
                plugin = ep.load()
            except Exception as exc:  # any import failure is the plugin's, not ours
                info.error = f"Error importing plugin {ep.name!r} ({dist}): " \
                             f"{type(exc).__name__}: {exc}"
                host.plugins.append(info)
                continue
            host._register(info, plugin)
        for module in _env_modules():
            info = PluginInfo(module, None, None)
            try:
                plugin = importlib.import_module(module)
            except Exception as exc:
                info.error = f"Error importing plugin {module!r} (PERFGATE_PLUGINS): " \
                             f"{type(exc).__name__}: {exc}"
                host.plugins.append(info)
                continue
            host._register(info, plugin)
        for name, plugin in list(_extra):
            host._register(PluginInfo(name, None, None), plugin)
        host._register_components()
        return host

    def _add_module(self, info: PluginInfo, module_name: str) -> None:
        self._register(info, importlib.import_module(module_name))

    def _register(self, info: PluginInfo, plugin: Any) -> None:
        if self.pm.is_registered(plugin):  # e.g. an installed plugin a test registers again
            return
        self.plugins.append(info)
        try:
            self.pm.register(plugin, name=f"{info.name}:{id(plugin)}")
            # A hook implementation with a typo in its name is an error, not silence.
            self.pm.check_pending()
            _refuse_wrappers(self.pm, plugin)
        except Exception as exc:
            with contextlib.suppress(Exception):
                self.pm.unregister(plugin)
            info.error = f"Error registering plugin {info.name!r} ({info.distribution}): {exc}"
            return
        info.error = None
        self._objects[info.name] = plugin

    def _register_components(self) -> None:
        impls = {impl.plugin_name: impl
                 for impl in self.pm.hook.perfgate_register_components.get_hookimpls()}
        for info in self.plugins:
            plugin = self._objects.get(info.name)
            if plugin is None or info.error:
                continue
            impl = impls.get(self.pm.get_name(plugin) or "")
            if impl is None:
                continue
            try:
                impl.function(**_arguments(impl, register=Register(self.registry, info)))
            except Exception as exc:
                info.error = f"Error in plugin {info.name!r} ({info.distribution}) while " \
                             f"registering components: {type(exc).__name__}: {exc}"

    def activate(self, used: set[tuple[str, str]]) -> None:
        """Keep lifecycle hooks only of plugins the targets file uses.

        A plugin that brings components but none of the used ``(role, name)`` pairs is
        deactivated, so an installed plugin the file does not use cannot break the run. A
        plugin that brings no component (one that only watches runs) stays active.
        """
        for info in self.plugins:
            plugin = self._objects.get(info.name)
            if plugin is None or not info.components:
                continue
            if not used.intersection(info.components):
                with contextlib.suppress(Exception):
                    self.pm.unregister(plugin)

    def _call(self, hook: str, **kwargs: Any) -> list[tuple[str, BaseException]]:
        """Call every implementation of ``hook`` in pluggy's order; one that raises does not
        stop the others.

        :return: (plugin name, exception) for each implementation that raised.
        """
        failures: list[tuple[str, BaseException]] = []
        # pluggy keeps implementations in reverse call order: trylast first, tryfirst last.
        for impl in reversed(getattr(self.pm.hook, hook).get_hookimpls()):
            try:
                impl.function(**_arguments(impl, **kwargs))
            except Exception as exc:
                failures.append((impl.plugin_name.rsplit(":", 1)[0], exc))
        return failures

    # -- one method per lifecycle hook -----------------------------------------------------
    def run_started(self, context: Any) -> list[tuple[str, BaseException]]:
        return self._call("perfgate_run_started", context=context)

    def scenario_finished(self, context: Any, scenario: str, metrics: Any,
                          error: str | None) -> list[tuple[str, BaseException]]:
        return self._call("perfgate_scenario_finished", context=context, scenario=scenario,
                          metrics=metrics, error=error)

    def result_ready(self, context: Any, result: Any) -> list[tuple[str, BaseException]]:
        return self._call("perfgate_result_ready", context=context, result=result)

    def run_finished(self, context: Any, result: Any,
                     exit_code: int) -> list[tuple[str, BaseException]]:
        return self._call("perfgate_run_finished", context=context, result=result,
                          exit_code=exit_code)

    def keeps_history(self) -> bool:
        """True if a loaded plugin keeps a run history (implements ``perfgate_history_runs``)."""
        return bool(self.pm.hook.perfgate_history_runs.get_hookimpls())

    def history_runs(self, context: Any, runs: int, branch: str | None) -> list[Any] | None:
        """Earlier runs from the first plugin that keeps a run history, newest first; None
        if no plugin keeps one."""
        answer: list[Any] | None = self.pm.hook.perfgate_history_runs(
            context=context, runs=runs, branch=branch)
        return answer

    def broken_hint(self) -> str:
        """A sentence naming plugins that failed to load, for 'unknown component' errors."""
        if not self.failures:
            return ""
        return " Plugins that failed to load: " + "; ".join(p.error or p.name
                                                             for p in self.failures)


def _arguments(impl: pluggy.HookImpl, **kwargs: Any) -> dict[str, Any]:
    """The hook's arguments an implementation asks for (it may take any subset of them)."""
    return {name: kwargs[name] for name in impl.argnames}


def _refuse_wrappers(pm: pluggy.PluginManager, plugin: object) -> None:
    """Unregister ``plugin`` and raise if one of its hook implementations is a wrapper."""
    for caller in pm.get_hookcallers(plugin) or []:
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin and (impl.wrapper or impl.hookwrapper):
                raise PluginError(
                    f"{impl.function.__qualname__} is a hook wrapper (wrapper=True or "
                    f"hookwrapper=True) for {caller.name}; perfgate calls each implementation "
                    "on its own, so that one that raises cannot stop the others, and a wrapper "
                    "could not wrap them: implement the hook without wrapper=, with "
                    "tryfirst=True or trylast=True to run before or after the others")


def _version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None
