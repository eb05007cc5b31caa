"""One settings object for the whole of recagent.

Values come from (highest first): explicit keyword arguments (CLI flags),
environment variables prefixed ``RECAGENT_`` (nested fields use ``__``, e.g.
``RECAGENT_MF__FACTORS=128``), a ``.env`` file, then the defaults below.
Nothing deeper in the code reads the environment: components receive the
values they need from this object.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED = "bundled"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MFSettings(_Strict):
    """Alternating least squares (implicit) on the interaction matrix."""

    # defaults tuned on ml-latest-small-loo's validation targets (the bundled catalog's protocol; never the test
    # targets; experiments/tune_fusion.py); ml100k-loo's configs pin their own (regularization 0.1).
    # See docs/evaluation.md
    factors: int = Field(32, ge=1)
    iterations: int = Field(15, ge=1)
    regularization: float = Field(1.0, ge=0)
    alpha: float = Field(1.0, gt=0, description="confidence weight of an interaction (implicit's alpha)")
    seed: int = 0


class EASESettings(_Strict):
    """EASE (closed-form item-item regression), queried with recency-weighted histories."""

    # l2, half_life and max_items tuned on ml-latest-small-loo's validation targets (experiments/tune_fusion.py; 3,650
    # covers that protocol's whole catalog); ml100k-loo's configs pin their own (1000, 4, 3000). See docs/evaluation.md
    l2: float = Field(300.0, gt=0, description="L2 regularisation of the closed-form solve")
    half_life: float = Field(1.0, ge=0, description="query weight halves every this many items back (0: no decay)")
    max_items: int = Field(3650, ge=1, description="the model covers the most-interacted items, bounding the solve")


class SequentialSettings(_Strict):
    """Next-item linear model: a closed-form regression from a user's recent items to the item that came next."""

    # window, half_life, l2 and max_items tuned on ml-latest-small-loo's validation targets
    # (experiments/tune_fusion.py); ml100k-loo's configs pin their own (50, 8, 300, 3000)
    window: int = Field(100, ge=1, description="how many preceding items predict the next one")
    half_life: float = Field(16.0, ge=0, description="an item's weight halves every this many steps back (0: no decay)")
    l2: float = Field(30.0, gt=0, description="L2 regularisation of the closed-form solve")
    max_items: int = Field(3650, ge=1, description="the model covers the most-interacted items, bounding the solve")


class FusionSettings(_Strict):
    """Reciprocal-rank fusion of the candidate sources."""

    # grid-searched on ml-latest-small-loo's validation targets (experiments/tune_fusion.py, 768 settings): the
    # next-item model leads, EASE, the vector source and ALS add a little; the best settings form a plateau (NDCG@10
    # 0.103-0.105) and these are its best with every source weighted (ALS serves liked titles and online updates;
    # the best without ALS, 0.1053, is within noise). Popularity adds nothing for known users (it stays the
    # cold-start fallback). ml100k-loo's configs pin their own (rrf_k 30, vector 0.25)
    rrf_k: float = Field(5.0, gt=0)
    vector_weight: float = Field(0.1, ge=0)
    mf_weight: float = Field(0.25, ge=0)
    popularity_weight: float = Field(0.0, ge=0)
    ease_weight: float = Field(0.5, ge=0)
    sequential_weight: float = Field(1.0, ge=0)
    per_source: int = Field(100, ge=1, description="candidates fetched from each source before fusion")
    # A known user's history query (no liked titles, text or soft preferences) is ranked by the learned ranker
    # (retrieval/learned_ranker.py, shipped model retrieval/data/learned-ranker/ml-latest-small.json; bundled
    # MovieLens catalogs only) over the sources' pool instead of by the RRF above: on ml-latest-small-loo
    # validation NDCG@10 0.1173 vs 0.1045 for this RRF, +0.0128 [+0.0018, +0.0239] (fitted on two stages carved
    # from the training part; docs/evals/ml-latest-small-loo/learned-fusion-2026-12-01.md). Everything else is RRF
    learned_ranker: bool = Field(True, description="rank a known user's history query with the learned ranker")
    # Conversational sources and soft preferences (retrieval/preferences.py, retrieval/comentions.py). They
    # fire only on conversational input (context turns, topics, critiques, soft genres, avoided items, liked
    # mentions), so a known user's ranking without them is unchanged. text_weight, text_prior, comention_weight
    # and dialogue_popularity_weight were grid-searched on ReDial valid_data_subset100 (never test) through
    # HybridRetriever.candidates (experiments/tune_conversational.py: new-item Recall@10 0.160 vs popularity 0.043;
    # experiments/results/tune-conversational.json). The grid's best (0.163) had a prior of 0.5, within one case of this
    # one, but let popular titles drown the latest turn; 0.3 keeps what was said in charge. The re-ranking
    # strengths are set by hand on the critique tests (tests/retrieval/test_preferences.py).
    text_weight: float = Field(1.0, ge=0, description="the recency-weighted context turns, with the prior")
    text_prior: float = Field(0.3, ge=0, description="popularity/quality prior added to the text source's cosines")
    topic_prior: float = Field(0.3, ge=0, description="popularity/quality prior added to the topic source's cosines")
    unread_text_prior: float = Field(
        0.05,
        ge=0,
        description="text_prior when the request says what a film is about and no facet answers it ('a movie set "
        "in a hospital'): the words' own nearness orders the list, the popular films do not",
    )
    topic_weight: float = Field(1.0, ge=0, description="items near the topical wishes, with the prior")
    comention_weight: float = Field(1.5, ge=0, description="movies co-mentioned with liked ones in ReDial train")
    dialogue_popularity_weight: float = Field(
        1.0, ge=0, description="in a conversation: how often ReDial train recommenders suggested each movie"
    )
    comention_half_life: float = Field(2.0, ge=0, description="a liked movie's weight halves this many back")
    dialogue_popularity_genre_boost: float = Field(
        1.0, ge=0, description="the dialogue-popularity prior scaled by 1 + this x the item's soft-genre match"
    )
    shown_weight: float = Field(
        1.0, ge=0, description="co-mentions of the items shown so far that the user said nothing about"
    )
    dialogue_weight: float = Field(
        0.75, ge=0, description="what ReDial train recommenders suggested in the dialogues nearest to this one"
    )
    dialogue_neighbours: int = Field(150, ge=1, description="train dialogue contexts that vote (dialogue source)")
    specific_text_gap: tuple[float, float] = Field(
        (0.08, 0.16),
        description="the text source's best-minus-10th score gap at which the context-free sources (dialogue "
        "popularity, dialogue votes) start to step back, and at which they are out: a described film wins "
        "(set both equal to turn this off)",
    )
    dialogue_sharpness: float = Field(3.0, ge=0, description="a neighbour's vote is its cosine to this power")
    # the dialogue source and its two parameters: chosen on the two halves of train_data_subset500, each scored
    # against co-mentions and dialogues built from the other half (experiments/chat_queries.py; never test): new-item
    # Recall@10 0.131 -> 0.141 through the chat's own queries (1,746 cases); weights 0.5-1 form a plateau
    # (0.140, 0.141, 0.139), 1.5 loses (0.126); 150 neighbours and cosine**3 were the best of 20-2000 and 1-10.
    # It fires only when the query has no liked titles (see HybridRetriever.conversational_results)
    # dialogue_popularity_genre_boost and shown_weight: chosen on ReDial valid_data_subset100 through the chat
    # agent's own queries (experiments/chat_queries.py; new-item Recall@10 0.156 -> 0.185) and checked on half of
    # train_data_subset500 scored against co-mentions built from the other half (never test)
    critique_strength: float = Field(0.2, ge=0, description="re-rank shift per standard deviation of an attribute")
    genre_strength: float = Field(0.15, ge=0, description="re-rank shift for a soft genre of weight 1")
    topic_strength: float = Field(0.1, ge=0, description="re-rank shift per standard deviation of topic similarity")
    avoid_strength: float = Field(0.3, ge=0, description="re-rank penalty for closeness to an avoided item")
    rerank_pool: int = Field(200, ge=1, description="fused candidates the soft preferences re-rank")
    # request facets (retrieval/facets.py, retrieval/facet_reading.py): what a request names (genres, tags, Wikidata
    # genres and subjects, moods, audiences) decides what is eligible; every source only orders within that. Off
    # when the request names no facet, so a known user's history query ranks exactly as before
    request_facets: bool = Field(
        True, description="items meeting more of the request's facets outrank the others (a tier, not a filter)"
    )
    facet_weight: float = Field(
        1.0, ge=0, description="the facet source: items meeting the request's facets, by match x quality prior"
    )
    nearest_rest: bool = Field(
        False,
        description="when fewer films than asked meet the request's facets, the rest come by their fused rank plus "
        "their rank by the words said (or the liked items), not by the fused order alone (off: it cost redial-chat "
        "new-item Recall@10 0.005-0.007 for +0.02 on the dev request probes' topics)",
    )
    anchor_facet_strength: float = Field(
        1.0,
        ge=0,
        description="'like X but Y': re-rank lift for sharing X's own most specific facets (crime film, heist film "
        "for Heat), so the critique re-orders X's neighbourhood",
    )
    anchored_critique_scale: float = Field(
        2.0,
        gt=0,
        description="'like X but Y': the critique's strength times this within X's neighbourhood (set by hand on "
        "the README's 'like Heat but less violent' example, judged by TMDB keywords)",
    )
    anchored_critiques: bool = Field(
        True,
        description="'like X but less violent': with liked items in the query, a critique's lift of a candidate is "
        "scaled by how strongly the liked-item sources (vector, ALS, EASE, next-item, co-mentions) retrieved it "
        "(what goes against the wish still sinks in full), so the critique re-orders X's neighbourhood instead of "
        "replacing it",
    )
    context_without_titles: bool = Field(
        True,
        description="the text source embeds the context turns without the titles of the movies the query names "
        "(liked, disliked, shown): those are item-to-item anchors, and their words pull look-alike titles",
    )
    conversational_rrf_k: float = Field(
        30.0,
        gt=0,
        description="rrf_k for conversational input (context turns or topics): the conversational weights above "
        "were tuned at 30; rrf_k (5) was tuned for known users' histories on ml-latest-small-loo, and at 5 the "
        "context-free dialogue-popularity source's top ranks crowd out what the user just said",
    )


class LLMSettings(_Strict):
    """Which LLM reranks and chats. The embedded default always works offline."""

    backend: Literal["auto", "llama_cpp", "openai"] = Field(
        "auto", description="auto: an OpenAI-compatible server when OPENAI_BASE_URL is set, else local llama.cpp"
    )
    gguf: str = Field(BUNDLED, description="'bundled' (SmolLM2-135M-Instruct) or a path to any GGUF model")
    model: str = Field("gpt-4o-mini", description="model name for an OpenAI-compatible server")
    threads: int | None = Field(
        None,
        ge=1,
        description="llama.cpp threads (default: the physical cores this process may use, minus one, at least "
        "one: llama.cpp's threads spin-wait, so one per core slows every turn when other work holds a core)",
    )
    context: int = Field(4096, ge=512, description="llama.cpp context size in tokens")
    timeout: float = Field(30.0, gt=0, description="seconds before a call is abandoned for the fallback")
    max_retries: int = Field(2, ge=0, description="hosted: retries with backoff on 429/5xx")
    temperature: float = Field(0.0, ge=0)
    seed: int = 0


class RerankSettings(_Strict):
    mode: Literal["auto", "generative", "scoring"] = Field(
        "auto",
        description="auto: scoring with the bundled 135M model (too weak to write useful explanations), "
        "generative with any other model",
    )
    candidates: int = Field(20, ge=2, le=26, description="retrieval candidates shown to the LLM")
    bootstrap: int = Field(1, ge=1, le=16, description="rerank this many shuffled permutations and aggregate")
    explain: Literal["auto", "llm", "deterministic"] = Field(
        "auto",
        description="scoring mode's explanations: written by the LLM (one more call) or built from the retrieval "
        "sources; auto: deterministic with the bundled 135M model, the LLM with any other",
    )
    template: str | None = Field(
        None,
        description="prompt template name for the mode (default: rerank for generative, rerank_scoring for scoring)",
    )
    template_version: int | None = Field(None, description="prompt version (default: newest)")
    prompt_budget: int = Field(800, ge=200, description="token budget of the rerank prompt")
    history_summary: Literal["llm", "deterministic"] = "llm"
    domain: str = Field("movies", description="what the catalog holds, for the prompts")
    llm_weight: float | None = Field(
        None,
        ge=0,
        le=1,
        description="the LLM score's weight when fused with retrieval, for every model (0: never call the LLM "
        "to rerank); default: the calibrated weight of the model, template and mode (recagent eval calibrate)",
    )
    calibration: Path | None = Field(
        None, description="a calibration file read before DATA_DIR/calibration.json and the shipped one"
    )


class ServerSettings(_Strict):
    """The HTTP API (``recagent serve``)."""

    api_key: SecretStr | None = Field(None, description="when set, /v1/* requires this value in the X-API-Key header")
    cors_origins: list[str] = Field(default_factory=list, description="origins allowed to call the API from a browser")
    max_body_bytes: int = Field(65536, ge=1024, description="larger request bodies are refused with 413")
    llm_concurrency: int = Field(
        2, ge=1, description="concurrent LLM requests (chat, reranked recommend); in-process llama.cpp always uses 1"
    )
    queue_size: int = Field(16, ge=0, description="LLM requests that may wait for a slot; more are refused with 429")
    queue_timeout: float = Field(30.0, gt=0, description="seconds a request may wait for a slot before a 503")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RECAGENT_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    data_dir: Path = Field(
        default_factory=lambda: platformdirs.user_data_path("recagent"),
        description="where the vector store, models and sessions live",
    )
    catalog: str = Field(BUNDLED, description="'bundled' or a path to a catalog folder or file")
    catalog_format: Literal["auto", "movielens", "ml100k", "table"] = "auto"
    interactions: Path | None = Field(None, description="interaction log for a 'table' catalog")
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="column mapping for a 'table' catalog, e.g. {'id': 'asin', 'title': 'name'}",
    )
    embedding_model: str = Field(BUNDLED, description="'bundled' (all-MiniLM-L6-v2) or a local model path")
    embedding_batch_size: int = Field(64, ge=1)
    chroma_host: str | None = Field(None, description="use a Chroma server instead of the embedded store")
    chroma_port: int = 8000
    collection: str | None = Field(None, description="Chroma collection name; derived from the catalog if unset")
    sessions_url: str | None = Field(
        None,
        description="chat sessions database URL, e.g. postgresql+psycopg://user:pw@host/db to share sessions "
        "between app processes; default: SQLite at data_dir/sessions.sqlite",
    )
    candidates: int = Field(50, ge=1, description="how many fused candidates retrieval returns")
    blas_threads: int | None = Field(
        1,
        ge=1,
        description="BLAS threads while the CLI runs a command or the server serves (None: leave as is); "
        "applied by those entry points, never by building a Recommender. One is fastest for per-request "
        "scoring on small machines: idle BLAS threads take ~4-8 ms to wake. ALS training and torch use "
        "their own OpenMP threads and are not affected.",
    )
    mf: MFSettings = Field(default_factory=MFSettings)
    ease: EASESettings = Field(default_factory=EASESettings)
    sequential: SequentialSettings = Field(default_factory=SequentialSettings)
    fusion: FusionSettings = Field(default_factory=FusionSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    rerank: RerankSettings = Field(default_factory=RerankSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("openai_api_key", "RECAGENT_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        None, validation_alias=AliasChoices("openai_base_url", "RECAGENT_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )
    max_message_chars: int = Field(2000, ge=10, description="longer chat messages are rejected")
    max_query_chars: int = Field(
        60000,
        ge=10,
        description="a recommend query (which may be a whole dialogue) longer than this is rejected; one longer "
        "than max_message_chars is folded to its recent turns (the HTTP body limit still applies)",
    )
    shared_data: Path = Field(Path("../shared/data"), description="where evals find ml-100k, ReDial, TMDB")
    understanding: Literal["parser", "learned", "hybrid", "llm"] = Field(
        "parser",
        description="chat message understanding: the deterministic parser alone (the default; no LLM call), learned "
        "(the parser finds year and genre spans, a small classifier over MiniLM embeddings decides which are hard "
        "constraints, soft genres or nothing; no LLM call; not the default: it loses ReDial recall, see "
        "docs/evals/understanding/learned-reader.md), the parser merged "
        "with an LLM reading (hybrid: ~2.5 s more a turn with the bundled model), or the LLM's reading with the "
        "parser's follow-up moves (llm)",
    )
    dialogue_turns: int = Field(
        8, ge=1, description="a dialogue given as one long query keeps this many recent turns as text"
    )

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def sessions_path(self) -> Path:
        return self.data_dir / "sessions.sqlite"

    @property
    def llm_cache_dir(self) -> Path:
        return self.data_dir / "llm-cache"

    @property
    def llm_backend(self) -> str:
        if self.llm.backend != "auto":
            return self.llm.backend
        return "openai" if self.openai_base_url else "llama_cpp"
