"""What produced a result: tool and library versions, stored with every run."""
from __future__ import annotations

import platform

from review import __version__


def tool_versions() -> dict[str, str]:
    """Versions recorded with every run."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"review": __version__, "python": platform.python_version()}
    for pkg in ("pyalex", "scikit-learn", "rapidfuzz", "networkx", "bibtexparser"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out
