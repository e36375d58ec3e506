"""Optional developer tools chosen when the project was generated, one module each.

A tool module defines ``TOOL``: the app, middleware and URLs it adds, its settings, and the environments it may
run in. Each environment's settings module ends with ``install_tools(globals(), "<environment>")``, which turns on
the tools named by ``DJANGO_TOOLS`` (by default, those the tool itself enables there). The template's
post-generation hook deleted the modules of tools that were not chosen; delete one yourself to drop a tool later.
"""

import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import environ

# Tool middleware goes right after these, so static files are served before any tool looks at a request.
EARLY_MIDDLEWARE = ("django.middleware.security.SecurityMiddleware", "whitenoise.middleware.WhiteNoiseMiddleware")


@dataclass(frozen=True)
class Tool:
    """An optional tool: what it adds to the settings and where it may run."""

    name: str
    app: str
    middleware: str
    url_prefix: str
    urlconf: str
    settings: Callable[[str], Mapping[str, Any]]
    default_in: frozenset[str]
    allowed_in: frozenset[str]
    # The page the landing page links for the tool, as (URL, description), or None.
    page: tuple[str, str] | None = None


def available_tools() -> dict[str, Tool]:
    """Return the tools generated with this project, by name."""
    modules = [import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__)]
    return {module.TOOL.name: module.TOOL for module in modules}


def enabled_tools(environment: str) -> list[Tool]:
    """Return the tools to enable in an environment, refusing one that is unknown or does not belong there."""
    tools = available_tools()
    default = [name for name, tool in tools.items() if environment in tool.default_in]
    names: list[str] = environ.Env().list("DJANGO_TOOLS", default=default)
    for name in names:
        if name not in tools:
            raise SystemExit(f"DJANGO_TOOLS names {name!r}, which this project does not have: use {sorted(tools)}.")
        if environment not in tools[name].allowed_in:
            raise SystemExit(f"DJANGO_TOOLS names {name!r}, which must not run in {environment}: remove it.")
    return [tools[name] for name in names]


def install_tools(namespace: dict[str, Any], environment: str) -> None:
    """Add the enabled tools' apps, middleware, URLs and settings to a settings module's namespace."""
    tools = enabled_tools(environment)
    middleware = list(namespace["MIDDLEWARE"])
    anchor = max(middleware.index(name) for name in EARLY_MIDDLEWARE if name in middleware) + 1
    middleware[anchor:anchor] = [tool.middleware for tool in tools]
    namespace["MIDDLEWARE"] = middleware
    namespace["INSTALLED_APPS"] = [*namespace["INSTALLED_APPS"], *(tool.app for tool in tools)]
    namespace["TOOL_URLS"] = [(tool.url_prefix, tool.urlconf) for tool in tools]
    namespace["TOOL_PAGES"] = [(tool.name, tool.page) for tool in tools if tool.page]
    for tool in tools:
        namespace.update(tool.settings(environment))
