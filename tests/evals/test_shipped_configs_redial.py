"""The shipped ReDial eval configs run end to end on two users (slow tier; see
tests/support/shipped_configs.py)."""

from __future__ import annotations

import pytest

from tests.support.shipped_configs import configs, run_shipped_config


@pytest.mark.slow  # every shipped eval config, LLM variants included
@pytest.mark.parametrize("config", configs(redial=True))
def test_the_shipped_config_runs_on_a_few_users(config, tmp_path, data_dir):
    run_shipped_config(config, tmp_path, data_dir)
