"""The HTTP API on the slice: real retrieval, real llama.cpp (bundled model), real SQLite sessions,
through FastAPI's TestClient (the ASGI app in-process, with its lifespan)."""

from __future__ import annotations

import json
import threading
import time

import pytest
from fastapi.testclient import TestClient

from recagent.recommender import Recommender
from recagent.server.app import create_app, warm_up
from recagent.settings import ServerSettings
from tests.support.serving import fast_chat_recommender


@pytest.fixture(scope="module")
def server_rec(llm_rec) -> Recommender:
    return fast_chat_recommender(llm_rec)


def app_for(rec: Recommender, **server) -> TestClient:
    settings = rec.settings.model_copy(update={"server": ServerSettings(**server)})
    return TestClient(create_app(settings, recommender=rec), raise_server_exceptions=False)


def wait_ready(client: TestClient, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, client.get("/readyz").json()
        time.sleep(0.05)


@pytest.fixture(scope="module")
def client(server_rec):
    with app_for(server_rec) as c:
        wait_ready(c)
        yield c


def error_of(resp) -> dict:
    body = resp.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] and body["error"]["message"], body
    assert "Traceback" not in resp.text and 'File "' not in resp.text
    return body["error"]


def genres_of(rec, response: dict) -> list[tuple[str, ...]]:
    return [rec.catalog.get(r["item_id"]).genres for r in response["recommendations"]]


# --------------------------------------------------------------------------- readiness


def test_readyz_is_503_until_the_index_and_model_are_loaded(server_rec):
    release = threading.Event()

    def slow_warm(rec):
        assert release.wait(30)
        warm_up(rec)

    app = create_app(server_rec.settings, recommender=server_rec, warm=slow_warm)
    with TestClient(app, raise_server_exceptions=False) as c:
        health = c.get("/healthz")  # alive and loading: 200, the state in words (the page polls this)
        assert health.status_code == 200 and health.json() == {"status": "loading", "detail": None, "llm": None}
        r = c.get("/readyz")
        assert r.status_code == 503 and error_of(r)["code"] == "not_ready" and r.headers["Retry-After"] == "5"
        r = c.post("/v1/chat", json={"session_id": "early", "message": "comedies"})
        assert r.status_code == 503 and error_of(r)["code"] == "not_ready"
        release.set()
        wait_ready(c)
        assert c.get("/healthz").json()["status"] == "ok"
        ready = c.get("/readyz").json()
        assert ready["status"] == "ok" and ready["llm"]["concurrency"] == 1  # in-process llama.cpp: one at a time


def test_a_failed_load_is_reported_by_readyz(slice_dir, tmp_path, embedder):
    from recagent.settings import Settings

    rec = Recommender.from_parts(Settings(catalog=str(slice_dir), data_dir=tmp_path), embedder=embedder)  # not indexed
    with TestClient(create_app(rec.settings, recommender=rec), raise_server_exceptions=False) as c:
        deadline = time.monotonic() + 30
        while (r := c.get("/readyz")).json()["error"]["code"] == "not_ready" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert r.status_code == 503
        err = error_of(r)
        assert err["code"] == "index_not_built" and "recagent index" in err["message"]
        health = c.get("/healthz")
        assert health.status_code == 200 and health.json()["status"] == "failed"


# --------------------------------------------------------------------------- endpoints


def test_recommend_without_and_with_the_llm(client, server_rec):
    body = {"likes": ["Toy Story"], "k": 5, "rerank": False, "filters": {"exclude_genres": ["Comedy"]}}
    r = client.post("/v1/recommend", json=body)
    assert r.status_code == 200, r.text
    plain = r.json()
    assert plain["source"] == "retrieval" and len(plain["recommendations"]) == 5
    assert "1" not in [x["item_id"] for x in plain["recommendations"]]  # the liked item itself is not recommended
    assert all("Comedy" not in g for g in genres_of(server_rec, plain))

    r = client.post("/v1/recommend", json={**body, "rerank": True, "mode": "scoring"})
    ranked = r.json()
    assert r.status_code == 200 and ranked["source"] == "llm" and ranked["mode"] == "scoring"
    assert ranked["backend"] == "llama_cpp" and ranked["prompt"]["name"] == "rerank_scoring"
    assert all("Comedy" not in g for g in genres_of(server_rec, ranked))


def test_recommend_errors_are_structured(client):
    r = client.post("/v1/recommend", json={"user_id": "no-such-user", "rerank": False})
    assert r.status_code == 404 and error_of(r)["code"] == "unknown_user"

    r = client.post("/v1/recommend", json={"likes": ["Qwzxv Plorkt Vbnmq"], "rerank": False})
    err = error_of(r)
    assert r.status_code == 422 and err["code"] == "unresolved_title"
    assert "Qwzxv Plorkt Vbnmq" in err["details"]["unresolved"]

    r = client.post("/v1/recommend", json={"query": "fun", "filters": {"genres": ["Comdy"]}, "rerank": False})
    err = error_of(r)
    assert r.status_code == 422 and err["code"] == "invalid_filter" and "Comedy" in err["message"]

    r = client.post("/v1/recommend", json={"query": "fun", "filters": {"year_min": 2000, "year_max": 1990}})
    assert r.status_code == 422 and error_of(r)["code"] == "invalid_request"

    r = client.post("/v1/recommend", json={"query": "fun", "kk": 3})  # extra="forbid": a typo fails loudly
    err = error_of(r)
    assert r.status_code == 422 and err["code"] == "invalid_request" and err["details"][0]["field"] == "kk"

    # a whole dialogue as the query is folded to its recent turns, not refused (the chat keeps its
    # per-message limit); only a query past max_query_chars is
    dialogue = "\n".join(["I loved Toy Story (1995), it is one of my favourites."] * 30 + ["any good comedies?"])
    assert len(dialogue) > 1500
    r = client.post("/v1/recommend", json={"query": dialogue + " " + "y" * 600, "rerank": False, "k": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["recommendations"]) == 5
    assert "1" not in [x["item_id"] for x in body["recommendations"]]  # the liked Toy Story is not recommended back
    r = client.post("/v1/recommend", json={"query": "x" * 60001, "rerank": False})
    assert r.status_code == 422 and error_of(r)["code"] == "message_too_long"


def test_chat_session_and_feedback(client, server_rec):
    sid = "api-chat"
    r = client.post("/v1/chat", json={"session_id": sid, "message": "only comedies please", "k": 5})
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["source"] == "llm" and len(first["recommendations"]) == 5 and first["message"]
    assert all("Comedy" in g for g in genres_of(server_rec, first))

    view = client.get(f"/v1/sessions/{sid}").json()
    assert [t["role"] for t in view["turns"]] == ["user", "assistant"]
    assert view["turns"][0]["content"] == "only comedies please"
    assert view["turns"][1]["response"] == first
    assert view["state"]["genres"] == ["Comedy"] and view["state"]["last_shown"] == [
        x["item_id"] for x in first["recommendations"]
    ]

    shown = [x["item_id"] for x in first["recommendations"]]
    r = client.post(f"/v1/sessions/{sid}/feedback", json={"item_id": shown[1], "kind": "dislike"})
    assert r.status_code == 200 and shown[1] in r.json()["state"]["disliked_ids"]

    again = client.post("/v1/chat", json={"session_id": sid, "message": "show them again", "k": 5}).json()
    ids = [x["item_id"] for x in again["recommendations"]]
    assert shown[1] not in ids, "a disliked item never comes back"
    assert set(ids) & set(shown), "repeats are allowed when asked, so the rest of the list can come back"

    r = client.post(f"/v1/sessions/{sid}/feedback", json={"item_id": shown[1], "kind": "like"})  # changed my mind
    state = r.json()["state"]
    assert shown[1] in state["liked_ids"] and shown[1] not in state["disliked_ids"]
    assert len(r.json()["turns"]) == 4, "feedback changes the state, it is not a turn"


def test_session_and_feedback_errors(client):
    r = client.get("/v1/sessions/never-seen")
    err = error_of(r)
    assert r.status_code == 404 and err["code"] == "unknown_session" and "never-seen" in err["message"]

    r = client.post("/v1/sessions/never-seen/feedback", json={"item_id": "1", "kind": "like"})
    assert r.status_code == 404 and error_of(r)["code"] == "unknown_session"

    client.post("/v1/chat", json={"session_id": "fb-errors", "message": "dramas", "k": 2})
    r = client.post("/v1/sessions/fb-errors/feedback", json={"item_id": "999999999", "kind": "like"})
    assert r.status_code == 404 and error_of(r)["code"] == "unknown_item"
    r = client.post("/v1/sessions/fb-errors/feedback", json={"item_id": "1", "kind": "love"})
    assert r.status_code == 422 and error_of(r)["details"][0]["field"] == "kind"

    r = client.post("/v1/chat", json={"session_id": "bad id with spaces", "message": "hi"})
    assert r.status_code == 422 and error_of(r)["details"][0]["field"] == "session_id"
    r = client.post("/v1/chat", json={"session_id": "long-msg", "message": "y" * 2001})
    assert r.status_code == 422 and error_of(r)["code"] == "message_too_long"


def test_search_and_items(client):
    r = client.get("/v1/items/search", params={"q": "toy story animated", "k": 3})
    hits = r.json()
    assert r.status_code == 200 and len(hits) == 3 and hits[0]["title"].startswith("Toy Story")
    assert hits[0]["score"] >= hits[-1]["score"]

    r = client.get("/v1/items/search", params={"q": ""})
    assert r.status_code == 422 and error_of(r)["details"][0]["field"] == "query.q"

    items = client.get("/v1/items", params={"ids": "1,2"}).json()
    assert [(i["item_id"], i["year"]) for i in items] == [("1", 1995), ("2", 1995)]
    assert "Animation" in items[0]["genres"]
    r = client.get("/v1/items", params={"ids": "1,nope"})
    assert r.status_code == 404 and error_of(r)["code"] == "unknown_item"


def test_chat_streams_server_sent_events(client):
    with client.stream("POST", "/v1/chat/stream", json={"session_id": "sse", "message": "dramas", "k": 3}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        raw = "".join(r.iter_text())
    events = []
    for block in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    names = [e for e, _ in events]
    assert names == ["status", "message", "recommendation", "recommendation", "recommendation", "done"]
    done = events[-1][1]
    assert [d["item_id"] for e, d in events if e == "recommendation"] == [x["item_id"] for x in done["recommendations"]]
    assert client.get("/v1/sessions/sse").json()["turns"][-1]["response"] == done


# --------------------------------------------------------------------------- structured errors


def test_every_error_is_structured(client):
    r = client.get("/no/such/route")
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"
    r = client.get("/v1/chat")
    assert r.status_code == 405 and error_of(r)["code"] == "method_not_allowed"

    r = client.post(
        "/v1/chat", content=b'{"session_id": "x", "message": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and error_of(r)["code"] == "malformed_json"

    bad = b'{"session_id": "x", "message": "caf\xe9 movies"}'  # latin-1, not UTF-8
    r = client.post("/v1/chat", content=bad, headers={"content-type": "application/json"})
    err = error_of(r)
    assert r.status_code == 400 and err["code"] == "invalid_utf8" and "byte 35" in err["message"]

    big = json.dumps({"session_id": "x", "message": "z" * 70_000}).encode()
    r = client.post("/v1/chat", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and error_of(r)["code"] == "body_too_large"

    def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(20):
            yield b"a" * 8192

    r = client.post("/v1/chat", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and error_of(r)["code"] == "body_too_large"

    r = client.post("/v1/chat", json=["not", "an", "object"])
    assert r.status_code == 422 and error_of(r)["code"] == "invalid_request"


# --------------------------------------------------------------------------- strict requests (issue 21)


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/v1/recommend", {"user_id": True, "k": 3, "rerank": False}, "user_id"),
        ("/v1/recommend", {"query": "comedies", "rerank": 0}, "rerank"),
        ("/v1/recommend", {"query": "comedies", "k": True, "rerank": False}, "k"),
        ("/v1/recommend", {"query": "comedies", "filters": {"year_min": True}, "rerank": False}, "filters.year_min"),
        ("/v1/chat", {"session_id": "strict-1", "message": "hi", "user_id": False}, "user_id"),
        ("/v1/chat", {"session_id": "strict-2", "message": "hi", "k": "2"}, "k"),
        ("/v1/chat", {"session_id": "strict-3", "message": "hi", "k": 2.5}, "k"),
    ],
)
def test_no_bool_or_string_is_coerced_on_the_boundary(client, path, body, field):
    r = client.post(path, json=body)
    err = error_of(r)
    assert r.status_code == 422 and err["code"] == "invalid_request", r.text
    assert all(d["field"].startswith(field) for d in err["details"]), err


def test_a_user_id_may_be_a_string_or_an_integer_and_3_0_is_an_integer(client, server_rec):
    known = server_rec.dataset.interactions.users[0]
    for uid in (known, int(known)) if known.isdigit() else (known,):
        r = client.post("/v1/recommend", json={"user_id": uid, "k": 3, "rerank": False})
        assert r.status_code == 200, r.text
    r = client.post("/v1/recommend", json={"query": "comedies", "k": 3.0, "rerank": False})  # JSON Schema's integer
    assert r.status_code == 200 and len(r.json()["recommendations"]) == 3, r.text


@pytest.mark.parametrize("blank", ["   \n\t ", "\u200b\u202e\u0007", "\ufeff\u2060 "])
def test_blank_text_is_the_same_422_on_every_endpoint(client, blank):
    answers = [
        client.get("/v1/items/search", params={"q": blank}),
        client.post("/v1/chat", json={"session_id": "blank-text", "message": blank}),
        client.post("/v1/recommend", json={"query": blank, "rerank": False}),
    ]
    for r, field in zip(answers, ["q", "message", "query"]):
        err = error_of(r)
        assert r.status_code == 422 and err["code"] == "invalid_request", r.text
        assert err["details"][0]["field"].endswith(field) and err["details"][0]["type"] == "blank_text"
    assert client.get("/v1/sessions/blank-text").status_code == 404, "no empty user turn is stored"


def test_an_unknown_user_is_a_404_on_every_endpoint_and_nothing_is_stored(client):
    for r in (
        client.post("/v1/chat", json={"session_id": "nobody-chat", "message": "dramas", "user_id": "nobody"}),
        client.post("/v1/chat/stream", json={"session_id": "nobody-chat", "message": "dramas", "user_id": "nobody"}),
        client.post("/v1/recommend", json={"user_id": "nobody", "rerank": False}),
        client.post("/v1/recommend", json={"user_id": "nobody", "query": "dramas", "rerank": False}),
    ):
        assert r.status_code == 404 and error_of(r)["code"] == "unknown_user", r.text
    assert client.get("/v1/sessions/nobody-chat").status_code == 404, "the unknown user's session is not stored"


def test_echoed_identifiers_are_short_and_have_no_raw_control_characters(client):
    r = client.get("/v1/sessions/" + "s" * 10_000)
    err = error_of(r)
    assert r.status_code == 404 and err["code"] == "unknown_session"
    assert len(err["message"]) < 160 and "\u2026" in err["message"]

    r = client.post("/v1/recommend", json={"user_id": "a\u0007b\u202ec\x1b[31m", "rerank": False})
    err = error_of(r)
    assert r.status_code == 404 and err["code"] == "unknown_user"
    assert not any(ord(c) < 32 or c in "\u202e\x7f" for c in r.text), r.text
    assert "\\x07" in err["message"] or "\\u0007" in err["message"]

    r = client.get("/v1/items", params={"ids": "x\u0007" * 500})
    assert r.status_code == 404 and len(error_of(r)["message"]) < 200


@pytest.mark.parametrize(
    "content, kind",
    [
        (b"session_id=x&message=hi", "application/x-www-form-urlencoded"),
        (b'{"session_id": "x", "message": "hi"}', "text/plain"),
        (b'{"session_id": "x", "message": "hi"}', None),
    ],
)
def test_a_body_that_is_not_json_is_a_415(client, content, kind):
    headers = {"content-type": kind} if kind else {}
    r = client.post("/v1/chat", content=content, headers=headers)
    assert r.status_code == 415 and error_of(r)["code"] == "unsupported_media_type", r.text
    r = client.post(
        "/v1/chat",
        json={"session_id": "json-ok", "message": "hi"},
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 200, r.text


def test_every_status_an_operation_answers_is_in_the_openapi_document(client):
    spec = client.get("/openapi.json").json()
    documented = {
        (method.upper(), path): set(op["responses"])
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    }
    for op in [("POST", "/v1/recommend"), ("POST", "/v1/chat"), ("POST", "/v1/chat/stream")]:
        assert {"200", "400", "401", "404", "413", "415", "422", "429", "500", "503"} <= documented[op], op
    assert {"409"} <= documented[("POST", "/v1/chat")] & documented[("POST", "/v1/sessions/{session_id}/feedback")]
    assert {"422", "500", "503"} <= documented[("GET", "/v1/items/search")]
    assert "400" not in documented[("GET", "/v1/items/search")] and "415" not in documented[("GET", "/healthz")]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for status, answer in op["responses"].items():
                if status != "200":
                    ref = answer["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorBody"), (method, path, status, ref)


def test_an_unexpected_exception_is_a_plain_500(client, server_rec, monkeypatch, caplog):
    def broken(*a, **kw):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(server_rec, "search", broken)
    with caplog.at_level("ERROR", logger="recagent.server"):
        r = client.get("/v1/items/search", params={"q": "anything"})
    err = error_of(r)
    assert r.status_code == 500 and err["code"] == "internal" and "secret" not in r.text
    assert "secret internal detail" in caplog.text, "logged server-side, with the exception"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ("prompt", 500),  # a template that does not render is the server's bug, not the request's
        ("vector_store", 503),
        ("llm", 502),
        ("unknown_item", 404),
        ("config", 400),
    ],
)
def test_library_errors_answer_the_status_their_class_carries(client, server_rec, monkeypatch, error, status):
    from recagent.agent.backends.base import LLMError
    from recagent.errors import ConfigError, UnknownItemError, VectorStoreError
    from recagent.prompts import PromptRenderError

    raised = {
        "prompt": PromptRenderError("prompt rerank_scoring v3 needs variable(s) history"),
        "vector_store": VectorStoreError("Chroma at 127.0.0.1:1 did not answer"),
        "llm": LLMError("the model server answered 500"),
        "unknown_item": UnknownItemError("nope"),
        "config": ConfigError("bad setting"),
    }[error]

    def broken(*a, **kw):
        raise raised

    monkeypatch.setattr(server_rec, "search", broken)
    r = client.get("/v1/items/search", params={"q": "anything"})
    assert r.status_code == status and error_of(r)["code"] == raised.code


def test_docs_and_page_are_served(client):
    assert "swagger" in client.get("/docs").text.lower()
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/recommend", "/v1/chat", "/v1/sessions/{session_id}", "/v1/items/search"} <= set(paths)
    page = client.get("/")
    assert page.status_code == 200 and "<title>recagent chat</title>" in page.text
    for path in ("/", "/static/app.js", "/static/style.css"):  # no CDN: nothing loaded from elsewhere
        r = client.get(path)
        assert r.status_code == 200 and "http://" not in r.text and "https://" not in r.text
    assert '<link rel="icon" href="/static/favicon.svg"' in page.text
    icon, default = client.get("/static/favicon.svg"), client.get("/favicon.ico")  # a browser asks for the latter
    assert default.status_code == 200 and default.headers["content-type"] == "image/svg+xml"
    assert default.content == icon.content and icon.content.startswith(b"<svg")


# --------------------------------------------------------------------------- key, CORS


def test_api_key_is_required_when_set(server_rec):
    with app_for(server_rec, api_key="s3cret") as c:
        wait_ready(c)
        r = c.get("/v1/items", params={"ids": "1"})
        assert (
            r.status_code == 401
            and error_of(r)["code"] == "unauthorized"
            and "X-API-Key" in r.json()["error"]["message"]
        )
        r = c.get("/v1/items", params={"ids": "1"}, headers={"X-API-Key": "wrong"})
        assert r.status_code == 401 and "does not match" in error_of(r)["message"]
        r = c.get("/v1/items", params={"ids": "1"}, headers={"X-API-Key": "s3cret"})
        assert r.status_code == 200 and r.json()[0]["item_id"] == "1"
        assert c.get("/healthz").status_code == 200 and c.get("/").status_code == 200  # probes and page stay open


def test_cors_allows_only_the_configured_origins(server_rec):
    with app_for(server_rec, api_key="k", cors_origins=["http://app.example"]) as c:
        wait_ready(c)
        ok = c.get("/v1/items", params={"ids": "1"}, headers={"Origin": "http://app.example", "X-API-Key": "k"})
        assert ok.headers["access-control-allow-origin"] == "http://app.example"
        other = c.get("/v1/items", params={"ids": "1"}, headers={"Origin": "http://evil.example", "X-API-Key": "k"})
        assert "access-control-allow-origin" not in other.headers
        pre = c.options(
            "/v1/chat",
            headers={
                "Origin": "http://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-api-key",
            },
        )
        assert pre.status_code == 200, "a preflight carries no key and must not be refused"
        assert "x-api-key" in pre.headers["access-control-allow-headers"].lower()
        denied = c.get("/v1/items", params={"ids": "1"}, headers={"Origin": "http://app.example"})
        assert denied.status_code == 401 and denied.headers["access-control-allow-origin"] == "http://app.example"


# --------------------------------------------------------------------------- overload


def _hold_chat(rec, monkeypatch):
    """Make rec.chat block until released: a slow LLM call in flight."""
    entered, release = threading.Event(), threading.Event()
    real = rec.chat

    def slow_chat(*a, **kw):
        entered.set()
        assert release.wait(30)
        return real(*a, **kw)

    monkeypatch.setattr(rec, "chat", slow_chat)
    return entered, release


def test_overload_is_refused_fast_with_retry_after(server_rec, monkeypatch):
    entered, release = _hold_chat(server_rec, monkeypatch)
    with app_for(server_rec, queue_size=0) as c:
        wait_ready(c)
        first: dict = {}
        t = threading.Thread(
            target=lambda: first.update(r=c.post("/v1/chat", json={"session_id": "busy-1", "message": "dramas"}))
        )
        t.start()
        assert entered.wait(10)

        t0 = time.perf_counter()
        r = c.post("/v1/chat", json={"session_id": "busy-2", "message": "comedies"})
        assert r.status_code == 429 and error_of(r)["code"] == "overloaded" and int(r.headers["Retry-After"]) >= 1
        r = c.post("/v1/chat/stream", json={"session_id": "busy-3", "message": "comedies"})
        assert r.status_code == 429 and r.headers["content-type"] == "application/json"
        r = c.post("/v1/recommend", json={"query": "comedies", "rerank": True})
        assert r.status_code == 429
        assert time.perf_counter() - t0 < 2, "refused at once, not after waiting"

        # the event loop is free while the LLM call runs in a worker thread; non-LLM work goes on
        t0 = time.perf_counter()
        assert c.get("/healthz").status_code == 200
        assert c.post("/v1/recommend", json={"query": "comedies", "rerank": False, "k": 3}).status_code == 200
        assert time.perf_counter() - t0 < 5

        release.set()
        t.join(30)
        assert first["r"].status_code == 200 and first["r"].json()["recommendations"]
        assert c.get("/readyz").json()["llm"]["refused"] == 3
        assert c.post("/v1/chat", json={"session_id": "busy-2", "message": "comedies"}).status_code == 200


def test_a_request_waiting_past_the_queue_timeout_gets_503(server_rec, monkeypatch):
    entered, release = _hold_chat(server_rec, monkeypatch)
    with app_for(server_rec, queue_size=4, queue_timeout=0.5) as c:
        wait_ready(c)
        t = threading.Thread(target=lambda: c.post("/v1/chat", json={"session_id": "slow-1", "message": "dramas"}))
        t.start()
        assert entered.wait(10)
        t0 = time.perf_counter()
        r = c.post("/v1/chat", json={"session_id": "slow-2", "message": "dramas"})
        waited = time.perf_counter() - t0
        assert r.status_code == 503 and error_of(r)["code"] == "queue_timeout" and "Retry-After" in r.headers
        assert 0.4 < waited < 3
        release.set()
        t.join(30)


def test_a_dead_session_store_is_a_503_that_names_no_path(server_rec, tmp_path):
    """The store's own message names the database file (or host): the API answers in general terms."""
    import shutil

    from recagent.agent.session_store import SessionStore

    folder = tmp_path / "private-sessions-dir"
    folder.mkdir()
    dead = SessionStore(folder / "s.sqlite")
    dead._engine.dispose()
    shutil.rmtree(folder)  # the database is gone: every new connection fails
    parts = {k: v for k, v in server_rec.built_parts().items() if k not in ("sessions", "agent")}
    rec = Recommender.from_parts(server_rec.settings, dataset=server_rec.dataset, **parts, sessions=dead)
    with app_for(rec) as client:
        wait_ready(client)
        r = client.get("/v1/sessions/anything")
    err = error_of(r)
    assert r.status_code == 503 and err["code"] == "session_store_error", r.text
    assert "private-sessions-dir" not in r.text and "session store is unavailable" in err["message"]


def test_a_session_held_by_another_process_is_a_409_with_retry_after(client, server_rec, monkeypatch):
    """Another app process sharing the session store is in the middle of a turn of this session: a
    message or a like here waits ``lock_timeout`` for it, then answers 409 ``session_busy``."""
    from recagent.agent.session_store import SessionStore

    sid = "held-elsewhere"
    assert client.post("/v1/chat", json={"session_id": sid, "message": "dramas", "k": 2}).status_code == 200
    monkeypatch.setattr(server_rec.agent, "lock_timeout", 0.3)
    other_process = SessionStore(server_rec.sessions.path)
    with other_process.session_lock(sid):
        busy = [
            client.post(f"/v1/sessions/{sid}/feedback", json={"item_id": "1", "kind": "like"}),
            client.post("/v1/chat", json={"session_id": sid, "message": "comedies", "k": 2}),
        ]
    for r in busy:
        err = error_of(r)
        assert r.status_code == 409 and err["code"] == "session_busy" and sid in err["message"], r.text
        assert int(r.headers["Retry-After"]) >= 1
    r = client.post(f"/v1/sessions/{sid}/feedback", json={"item_id": "1", "kind": "like"})
    assert r.status_code == 200 and "1" in r.json()["state"]["liked_ids"]
    users = [t["content"] for t in r.json()["turns"] if t["role"] == "user"]
    assert users == ["dramas"], "a refused message is not a turn"
