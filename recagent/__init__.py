"""recagent: a conversational recommender built around an LLM agent.

The public Python API::

    from recagent import Recommender
    rec = Recommender.from_settings()          # bundled MovieLens demo catalog
    rec.index()                                # incremental; a no-op when nothing changed
    rec.candidates(likes=["Heat", "The Matrix"], k=10)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["Recommender", "Settings", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from recagent.recommender import Recommender
    from recagent.settings import Settings


def __getattr__(name: str):
    # Lazy so that `import recagent.errors` stays cheap for the lower layers.
    if name == "Recommender":
        from recagent.recommender import Recommender

        return Recommender
    if name == "Settings":
        from recagent.settings import Settings

        return Settings
    raise AttributeError(name)
