"""LangChain integration points, offline: a tool and a BaseRetriever over the real Recommender."""

from __future__ import annotations

import json

from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import BaseTool

from recagent.agent.langchain import RecommenderRetriever, recommender_tool
from recagent.agent.schema import RecommendationResponse


def test_tool_returns_validated_recommendations(llm_rec):
    tool = recommender_tool(llm_rec)
    assert isinstance(tool, BaseTool) and tool.name == "recommend_items"
    assert set(tool.args) == {"query", "likes", "user_id", "k"}
    out = tool.invoke({"query": "toys that come alive", "likes": ["Jumanji"], "k": 3})
    resp = RecommendationResponse.model_validate(json.loads(out))
    assert len(resp.recommendations) == 3 and resp.source == "llm" and resp.attempts >= 1, resp.error
    assert "2" not in [r.item_id for r in resp.recommendations], "a liked title is never recommended back"


def test_retriever_returns_documents(llm_rec):
    retriever = RecommenderRetriever(recommender=llm_rec, k=4)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("animated toys come to life")
    assert len(docs) == 4 and all(isinstance(d, Document) for d in docs)
    assert [d.metadata["rank"] for d in docs] == [1, 2, 3, 4]
    assert "Toy Story (1995)" in [d.metadata["title"] for d in docs]
    assert all(d.page_content.split(": ", 1)[1] for d in docs)
