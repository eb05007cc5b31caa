"""The deterministic reader of one chat message (no LLM): :func:`recagent.agent.reading.parser.parse_message`.

``model`` holds what a reading is (:class:`~recagent.agent.reading.model.Understanding`); ``patterns``
the compiled cues; ``text`` the span and sentence helpers; one module per thing read: ``people``,
``titles`` (with stances), ``references``, ``genres``, ``years``, ``critiques`` (and topics).
The words they share with the rest of the agent are :mod:`recagent.agent.vocabulary`.
"""
