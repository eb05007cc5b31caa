"""LangChain integration points (langchain-core): the recommender as a tool and as a retriever.

from recagent.agent.langchain import recommender_tool, RecommenderRetriever
tool = recommender_tool(rec)                    # for an agent's tool list
retriever = RecommenderRetriever(recommender=rec, k=5)
docs = retriever.invoke("heist movies from the 90s")
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import StructuredTool
from pydantic import BaseModel, ConfigDict, Field

from recagent.retrieval.titles import display_title


class RecommendArgs(BaseModel):
    query: str | None = Field(None, description="what the user is in the mood for, in their words")
    likes: list[str] = Field(default_factory=list, description="titles the user likes")
    user_id: str | None = Field(None, description="a known user id, if any")
    k: int = Field(5, ge=1, le=50, description="how many recommendations")


def recommender_tool(recommender, rerank: bool = True) -> StructuredTool:
    """A LangChain tool returning the recommendation response as JSON."""

    def recommend(
        query: str | None = None, likes: list[str] | None = None, user_id: str | None = None, k: int = 5
    ) -> str:
        response = recommender.recommend(user_id=user_id, likes=likes or [], query=query, k=k, rerank=rerank)
        return response.model_dump_json()

    return StructuredTool.from_function(
        func=recommend,
        name="recommend_items",
        description=(
            "Recommend catalog items (movies) for a user. Give a free-text query, liked titles and/or a "
            "known user id. Returns JSON with ranked recommendations and an explanation for each."
        ),
        args_schema=RecommendArgs,
    )


class RecommenderRetriever(BaseRetriever):
    """A LangChain retriever: a query in, recommended items out as Documents."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    recommender: Any
    k: int = 5
    rerank: bool = True

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        response = self.recommender.recommend(query=query, k=self.k, rerank=self.rerank)
        catalog = self.recommender.catalog
        docs = []
        for r in response.recommendations:
            item = catalog.get(r.item_id)
            docs.append(
                Document(
                    page_content=f"{display_title(item.title)}: {r.explanation}",
                    metadata={
                        "item_id": r.item_id,
                        "title": item.title,
                        "rank": r.rank,
                        "score": r.score,
                        "year": item.year,
                        "genres": list(item.genres),
                        "source": response.source,
                    },
                )
            )
        return docs
