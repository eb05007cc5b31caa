"""The web chat page end to end: headless Chromium (Debian's, driven by Playwright) against the app
served by uvicorn on a loopback port, on the slice with the real llama.cpp reranker.

Screenshots of the page are saved to test-artifacts/ (web-chat*.png). Every test watches the browser's
console, page errors and requests (:func:`watch`) and checks by element geometry that the newest card
sits above the fixed input bar after each answer (:func:`assert_newest_card_above_bar`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recagent.server.app import create_app
from tests.support.serving import fast_chat_recommender, uvicorn_server

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = [
    pytest.mark.slow,  # a browser and a uvicorn server
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (scripts/install_system.sh)"),
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def watch(page) -> list[str]:
    """What the browser reports as going wrong on ``page``: console errors (Chromium logs every 4xx/5xx
    resource as one), uncaught page errors, requests that failed or answered 4xx/5xx."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.method} {r.url} {r.failure}"))
    page.on(
        "response", lambda r: problems.append(f"{r.status}: {r.request.method} {r.url}") if r.status >= 400 else None
    )
    return problems


def send(page, text: str, turn: int) -> list:
    """Type a message, send it, wait for the ``turn``-th answer (and the page to be done with it: the
    send button is enabled again once the status line is set and the page has scrolled); return its cards."""
    page.fill("#message", text)
    page.click("#send")
    answer = page.locator(".turn.assistant").nth(turn - 1)
    answer.locator(".card").first.wait_for(timeout=60_000)
    page.locator("#send:enabled").wait_for(timeout=10_000)
    return answer.locator(".card").all()


def assert_newest_card_above_bar(page) -> None:
    """The newest answer's last card's Like and Dislike buttons lie inside the viewport, wholly above
    the fixed input bar (by their bounding boxes, in viewport coordinates)."""
    view = page.viewport_size
    bar = page.locator("footer").bounding_box()
    assert bar["y"] + bar["height"] <= view["height"] + 0.5, (bar, view)
    newest = page.locator(".turn.assistant").last.locator(".card").last
    for name in ("like", "dislike"):
        box = newest.locator(f"button.{name}").bounding_box()
        where = f"{name} {box}, bar top {bar['y']}, viewport {view}"
        assert box["x"] >= 0 and box["x"] + box["width"] <= view["width"], where
        assert box["y"] >= 0, where
        assert box["y"] + box["height"] <= bar["y"], f"under the input bar: {where}"


def model_name(rec) -> str:
    """The model's name as the page writes it (the GGUF file name without .gguf)."""
    return rec.backend.model.removesuffix(".gguf")


def test_chat_cards_and_dislike(browser, llm_rec):
    """A 1200x900 window, the issue's: cards, a dislike that holds, the answer in words, a reload."""
    rec = fast_chat_recommender(llm_rec)
    assert rec.reranker.uses_llm(), "llm_rec pins a weight above 0: the local model scores the candidates"
    with uvicorn_server(create_app(rec.settings, recommender=rec)) as base:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        problems = watch(page)
        page.goto(base + "/")
        page.locator("#ready", has_text="ready").wait_for(timeout=30_000)

        cards = send(page, "only comedies please", 1)  # a hard filter: "funny movies" alone is a soft wish
        assert len(cards) == 5
        assert_newest_card_above_bar(page)
        first = cards[0]
        item = rec.catalog.get(first.get_attribute("data-item-id"))
        assert item.title.endswith(f" ({item.year})"), "MovieLens titles carry the year"
        assert first.locator("h3").inner_text().endswith(item.title.removesuffix(f" ({item.year})"))
        assert first.locator(".year").inner_text() == str(item.year)
        heading = first.locator("h3").inner_text() + " " + first.locator(".year").inner_text()
        assert heading.count(str(item.year)) == 1, "the year is shown once"
        assert [g.inner_text() for g in first.locator(".genre").all()] == list(item.genres)
        assert "Comedy" in item.genres and first.locator(".why").inner_text().strip()
        assert page.locator(".turn.assistant .badge.fallback").count() == 0

        # the local model ranked it: the page says so in words and names the model in the status line
        answer = page.locator(".turn.assistant").first
        assert answer.get_attribute("data-source") == "llm"
        assert answer.locator(".badge").inner_text() == "ranked with the local model"
        status = page.locator("#status").inner_text()
        assert status.startswith("Answered in ") and "llama_cpp" not in status, status
        assert f"ranked by retrieval and the local model {model_name(rec)}" in status, status

        shown = [c.get_attribute("data-item-id") for c in cards]
        disliked = shown[1]
        cards[1].locator("button.dislike").click()
        page.locator(f'.card.disliked[data-item-id="{disliked}"]').wait_for(timeout=10_000)
        session_id = page.locator("#session-id").inner_text()
        assert disliked in rec.sessions.get(session_id).disliked_ids, "the click reached the session"

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "web-chat.png"), full_page=True)

        again = [c.get_attribute("data-item-id") for c in send(page, "show them again", 2)]
        assert_newest_card_above_bar(page)
        page.screenshot(path=str(ARTIFACTS / "web-chat-window.png"))  # what the 900-px window shows
        assert disliked not in again, "a disliked movie is absent from the next answer"
        assert set(again) & set(shown), "repeats were asked for, so the rest of the list may come back"
        page.screenshot(path=str(ARTIFACTS / "web-chat-after-dislike.png"), full_page=True)

        page.reload()  # the page resumes the stored session from the server
        page.locator(".turn.assistant").nth(1).locator(".card").first.wait_for(timeout=30_000)
        assert page.locator(".turn.user").count() == 2
        assert page.locator(f'.card.disliked[data-item-id="{disliked}"]').count() == 1
        assert_newest_card_above_bar(page)
        assert not problems, problems


def test_the_answer_is_told_in_words(browser, llm_rec):
    """describeAnswer, the page's one source of the badge and status words, on the responses the API can
    send: the model is named only when it was called."""
    rec = fast_chat_recommender(llm_rec)
    with uvicorn_server(create_app(rec.settings, recommender=rec)) as base:
        page = browser.new_page()
        problems = watch(page)
        page.goto(base + "/")
        local = {"backend": "llama_cpp", "model": "SmolLM2-135M-Instruct.Q4_1.gguf", "checks": []}
        read = [{"valid": True, "stage": "understanding"}]

        def said(**response) -> dict:
            return page.evaluate("(r) => describeAnswer(r)", {"mode": "none", **local, **response})

        assert said(source="llm", mode="scoring") == {
            "badge": "ranked with the local model",
            "footer": "ranked by retrieval and the local model SmolLM2-135M-Instruct.Q4_1",
        }
        assert said(source="llm", backend="openai", model="qwen2.5:7b")["footer"] == (
            "ranked by retrieval and the language model qwen2.5:7b"
        )
        assert said(source="retrieval") == {
            "badge": "ranked by retrieval",
            "footer": "ranked by retrieval; the local model was not needed",
        }
        reading = said(source="retrieval", checks=read)["footer"]
        assert reading == (
            "ranked by retrieval; the local model SmolLM2-135M-Instruct.Q4_1 read your message; "
            "it was not needed for the ranking"
        )
        assert said(source="retrieval", backend=None, model=None)["footer"] == (
            "ranked by retrieval; no language model is set up"
        )
        failed = said(source="fallback", mode="generative", error="timeout after 0.01 s")
        assert failed["badge"] == "fallback: retrieval order, the local model failed"
        assert "SmolLM2-135M-Instruct.Q4_1 was asked but failed (timeout after 0.01 s)" in failed["footer"]
        for words in (said(source=s) for s in ("llm", "retrieval", "fallback")):
            assert "·" not in words["badge"] and "none" not in words["badge"] and "llama_cpp" not in str(words)
        assert not problems, problems


def test_a_small_window_like_and_reload(browser, llm_rec):
    """A phone-sized window (390x700), where a whole answer is taller than the window and the status line
    wraps: the newest card's buttons still end above the bar; a like holds over a reload. The LLM's weight
    is 0 here (as the shipped calibration has it for the bundled model): the page says it was not needed."""
    rec = fast_chat_recommender(llm_rec, llm_weight=0.0)
    assert not rec.reranker.uses_llm()
    with uvicorn_server(create_app(rec.settings, recommender=rec)) as base:
        page = browser.new_page(viewport={"width": 390, "height": 700})
        problems = watch(page)
        page.goto(base + "/")
        page.locator("#ready", has_text="ready").wait_for(timeout=30_000)
        assert page.locator(".turn").count() == 0, "a new page has no session to resume"

        assert len(send(page, "funny movies from the 90s", 1)) == 5
        assert_newest_card_above_bar(page)
        answer = page.locator(".turn.assistant").first
        assert answer.get_attribute("data-source") == "retrieval"
        assert answer.locator(".badge").inner_text() == "ranked by retrieval"
        status = page.locator("#status").inner_text()
        assert "ranked by retrieval; the local model was not needed" in status, status
        assert model_name(rec) not in status and "none" not in status, status
        cards = send(page, "more like the first one", 2)
        assert_newest_card_above_bar(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "web-chat-small.png"))

        liked = cards[-1].get_attribute("data-item-id")
        cards[-1].locator("button.like").click()
        page.locator(f'.turn.assistant >> nth=1 >> .card[data-item-id="{liked}"] .like.on').wait_for(timeout=10_000)
        assert liked in rec.sessions.get(page.locator("#session-id").inner_text()).liked_ids

        page.reload()
        page.locator(".turn.assistant").nth(1).locator(".card").first.wait_for(timeout=30_000)
        assert page.locator(f'.turn.assistant >> nth=1 >> .card[data-item-id="{liked}"] .like.on').count() == 1
        assert_newest_card_above_bar(page)
        assert not problems, problems


def test_a_fallback_answer_is_marked(browser, llm_rec):
    """The LLM times out (real llama.cpp, generative mode, a 10 ms limit): the answer comes from
    retrieval order and the page says so, naming the model that was asked."""
    from recagent.agent.backends.llama_cpp import LlamaCppBackend

    rec = fast_chat_recommender(
        llm_rec, backend=LlamaCppBackend("bundled", context=2048, timeout=0.01), mode="generative"
    )
    with uvicorn_server(create_app(rec.settings, recommender=rec)) as base:
        page = browser.new_page()  # Playwright's default 1280x720 window
        problems = watch(page)
        page.goto(base + "/")
        page.locator("#ready", has_text="ready").wait_for(timeout=30_000)
        cards = send(page, "dramas from the 90s", 1)
        assert len(cards) == 5
        assert_newest_card_above_bar(page)
        badge = page.locator(".turn.assistant .badge.fallback")
        assert badge.is_visible() and "fallback" in badge.inner_text()
        assert "timeout" in badge.get_attribute("title")
        status = page.locator("#status").inner_text()
        assert f"the local model {model_name(rec)} was asked but failed" in status, status
        assert not problems, problems
