"""The dialogue state, pure: its model (``model``), the one update ``apply(state, event)`` (``update``)
and the turn's retrieval query with relaxation (``query``). No I/O: :mod:`recagent.agent.session_store`
persists it."""
