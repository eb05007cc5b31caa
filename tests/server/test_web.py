"""The web chat page end to end: headless Chromium (Debian's, driven by Playwright) against the app
served by uvicorn on a loopback port, on the slice with the real llama.cpp reranker.

A screenshot of the page is saved to test-artifacts/web-chat.png.
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


def send(page, text: str, turn: int) -> list:
    """Type a message, send it, wait for the ``turn``-th answer; return its cards."""
    page.fill("#message", text)
    page.click("#send")
    answer = page.locator(".turn.assistant").nth(turn - 1)
    answer.locator(".card").first.wait_for(timeout=60_000)
    return answer.locator(".card").all()


def test_chat_cards_and_dislike(browser, llm_rec):
    rec = fast_chat_recommender(llm_rec)
    with uvicorn_server(create_app(rec.settings, recommender=rec)) as base:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/")
        page.locator("#ready", has_text="ready").wait_for(timeout=30_000)

        cards = send(page, "only comedies please", 1)  # a hard filter: "funny movies" alone is a soft wish
        assert len(cards) == 5
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

        shown = [c.get_attribute("data-item-id") for c in cards]
        disliked = shown[1]
        cards[1].locator("button.dislike").click()
        page.locator(f'.card.disliked[data-item-id="{disliked}"]').wait_for(timeout=10_000)
        session_id = page.locator("#session-id").inner_text()
        assert disliked in rec.sessions.get(session_id).disliked_ids, "the click reached the session"

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "web-chat.png"), full_page=True)

        again = [c.get_attribute("data-item-id") for c in send(page, "show them again", 2)]
        assert disliked not in again, "a disliked movie is absent from the next answer"
        assert set(again) & set(shown), "repeats were asked for, so the rest of the list may come back"
        page.screenshot(path=str(ARTIFACTS / "web-chat-after-dislike.png"), full_page=True)

        page.reload()  # the page resumes the stored session from the server
        page.locator(".turn.assistant").nth(1).locator(".card").first.wait_for(timeout=30_000)
        assert page.locator(".turn.user").count() == 2
        assert page.locator(f'.card.disliked[data-item-id="{disliked}"]').count() == 1
        assert not errors, errors


def test_a_fallback_answer_is_marked(browser, llm_rec):
    """The LLM times out (real llama.cpp, generative mode, a 10 ms limit): the answer comes from
    retrieval order and the page says so."""
    from recagent.agent.backends.llama_cpp import LlamaCppBackend

    rec = fast_chat_recommender(
        llm_rec, backend=LlamaCppBackend("bundled", context=2048, timeout=0.01), mode="generative"
    )
    with uvicorn_server(create_app(rec.settings, recommender=rec)) as base:
        page = browser.new_page()
        page.goto(base + "/")
        page.locator("#ready", has_text="ready").wait_for(timeout=30_000)
        cards = send(page, "dramas from the 90s", 1)
        assert len(cards) == 5
        badge = page.locator(".turn.assistant .badge.fallback")
        assert badge.is_visible() and "fallback" in badge.inner_text()
        assert "timeout" in badge.get_attribute("title")
