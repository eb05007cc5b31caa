"""The ``recagent`` command line (:mod:`recagent.cli.app`) and what its commands share (:mod:`recagent.cli.common`)."""
