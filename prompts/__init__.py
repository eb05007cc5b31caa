"""Prompt templates: files with a name and a version, rendered strictly.

Templates live in ``prompts/templates/NAME.vVERSION.yaml``. Each response records
the template's name, version and content hash, so evals can compare prompt versions.
"""

from recagent.prompts.registry import (
    PromptRenderError,
    PromptTemplate,
    RenderedPrompt,
    list_templates,
    load_template,
)

__all__ = ["PromptRenderError", "PromptTemplate", "RenderedPrompt", "list_templates", "load_template"]
