"""The registry of components: which plugin registered which collector, driver, validator or
reporter under which name, and the :class:`Register` callback plugins fill it through."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from perfgate.components import Collector, Component, LoadDriver, Reporter, Validator
from perfgate.errors import PluginError

#: The role base classes by role name, as the registry and ``result.errors`` name them.
ROLES: dict[str, type[Component[Any]]] = {
    "collector": Collector,
    "load_driver": LoadDriver,
    "validator": Validator,
    "reporter": Reporter,
}

C = TypeVar("C", bound=type[Component[Any]])
R = TypeVar("R", bound=Component[Any])


@dataclass
class PluginInfo:
    """One plugin: entry-point name, distribution, version and what it registered."""

    name: str
    distribution: str | None = None
    version: str | None = None
    components: list[tuple[str, str]] = field(default_factory=list)  # (role, name)
    error: str | None = None


class Register:
    """The callable handed to ``perfgate_register_components``: ``register(ComponentClass)``.

    It returns the class, so it can also be used as a decorator.
    """

    def __init__(self, registry: ComponentRegistry, plugin: PluginInfo | None) -> None:
        self._registry = registry
        self._plugin = plugin

    def __call__(self, component: C) -> C:
        self._registry.add(component, self._plugin)
        return component


class ComponentRegistry:
    """Registered components by role and name."""

    def __init__(self) -> None:
        self.by_role: dict[str, dict[str, type[Component[Any]]]] = {role: {} for role in ROLES}
        self.owner: dict[tuple[str, str], PluginInfo | None] = {}

    def add(self, component: type[Component[Any]], plugin: PluginInfo | None) -> None:
        role = getattr(component, "role", None)
        if role not in ROLES or not isinstance(component, type) or not issubclass(
                component, ROLES[role]):
            raise PluginError(f"{component!r} is not a Collector, LoadDriver, Validator or "
                              "Reporter subclass")
        if not component.name:
            raise PluginError(f"{component.__qualname__} has no name")
        existing = self.by_role[role].get(component.name)
        if existing is not None and existing is not component:
            owner = self.owner.get((role, component.name))
            raise PluginError(
                f"two plugins register the {role.replace('_', ' ')} {component.name!r}: "
                f"{owner.name if owner else '?'} and {plugin.name if plugin else '?'}")
        self.by_role[role][component.name] = component
        self.owner[(role, component.name)] = plugin
        if plugin is not None:
            plugin.components.append((role, component.name))

    def get(self, role: str, name: str) -> type[Component[Any]] | None:
        return self.by_role[role].get(name)

    def find(self, base: type[R], name: str) -> type[R] | None:
        """The component of the role ``base`` (``Collector``...) registered under ``name``."""
        found = self.by_role[base.role].get(name)
        return found if found is not None and issubclass(found, base) else None

    def names(self, role: str) -> list[str]:
        return sorted(self.by_role[role])
