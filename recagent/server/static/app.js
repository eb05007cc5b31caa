// recagent web chat: plain JS over the HTTP API (/v1/chat, /v1/items, /v1/sessions/{id}[/feedback]).
// Everything the server sends is put in the page with textContent, never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const logEl = $("log");
const statusEl = $("status");
const K = 5;

function newSessionId() {
  if (window.crypto && crypto.randomUUID) return "web-" + crypto.randomUUID().slice(0, 18);
  return "web-" + Math.random().toString(16).slice(2, 14);
}

// localStorage keeps only a session the server has answered in, so a fresh page never looks up a session
// that cannot exist (a 404 is logged in the browser console even when the page expects it)
const SESSION_KEY = "recagent.session";
const storedSession = localStorage.getItem(SESSION_KEY);
let sessionId = storedSession || newSessionId();
$("session-id").textContent = sessionId;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

// ---------------------------------------------------------------- API calls

async function api(method, path, body) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const headers = { "Content-Type": "application/json" };
    const key = localStorage.getItem("recagent.apiKey");
    if (key) headers["X-API-Key"] = key;
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (res.status === 401 && attempt === 0) {
      const given = window.prompt("This server needs an API key (X-API-Key):");
      if (given) { localStorage.setItem("recagent.apiKey", given); continue; }
    }
    if (!res.ok) {
      const err = (data && data.error) || { code: "http_" + res.status, message: res.statusText };
      const retry = res.headers.get("Retry-After");
      const e = new Error(err.message + (retry ? ` (retry in ${retry} s)` : ""));
      e.code = err.code; e.status = res.status;
      throw e;
    }
    return data;
  }
}

// ---------------------------------------------------------------- rendering

// "SmolLM2-135M-Instruct.Q4_1.gguf" -> "SmolLM2-135M-Instruct.Q4_1"; a path -> its file name
function modelName(model) {
  return (model || "").split("/").pop().replace(/\.gguf$/i, "");
}

// What happened to an answer, in words, from the chat response alone: which part ranked it, and
// whether a language model was called (and which) for the ranking or for reading the message.
// The model is named only when it was called. Pure: the browser test calls it on made-up responses.
function describeAnswer(response) {
  const local = response.backend === "llama_cpp";
  const what = local ? "the local model" : "the language model";
  const named = response.model ? `${what} ${modelName(response.model)}` : what;
  const read = (response.checks || []).some((c) => c.stage === "understanding");
  const reading = read ? `; ${named} read your message` : "";
  if (response.source === "llm") {
    return { badge: `ranked with ${what}`, footer: `ranked by retrieval and ${named}` + reading };
  }
  if (response.source === "fallback") {
    const why = response.error ? ` (${response.error})` : "";
    return {
      badge: `fallback: retrieval order, ${what} failed`,
      footer: `ranked by retrieval; ${named} was asked but failed${why}, so its ranking was not used` + reading,
    };
  }
  if (!response.backend) return { badge: "ranked by retrieval", footer: "ranked by retrieval; no language model is set up" };
  if (read) return { badge: "ranked by retrieval", footer: `ranked by retrieval${reading}; it was not needed for the ranking` };
  return { badge: "ranked by retrieval", footer: `ranked by retrieval; ${what} was not needed` };
}

function took(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`;
}

function addTurn(role, text, extra) {
  const turn = el("div", { class: "turn " + role });
  const bubble = el("div", { class: "bubble", text });
  turn.append(bubble);
  if (extra) extra(turn, bubble);
  logEl.append(turn);
  showNewest();
  return turn;
}

// The input bar is fixed over the bottom of the window: its height (which changes with the window's
// width, as the status line wraps) is the scroll padding, so scrolling to the newest turn's end puts
// that end, the last card's Like/Dislike buttons, above the bar rather than under it.
function fitToBar() {
  const bar = document.querySelector("footer").getBoundingClientRect().height;
  document.documentElement.style.setProperty("--bar-height", `${Math.ceil(bar)}px`);
}

function showNewest() {
  fitToBar();
  const last = logEl.lastElementChild;
  if (last) last.scrollIntoView({ block: "end" });
}

new ResizeObserver(fitToBar).observe(document.querySelector("footer"));

async function feedback(card, itemId, kind) {
  try {
    await api("POST", `/v1/sessions/${encodeURIComponent(sessionId)}/feedback`, { item_id: itemId, kind });
    card.querySelector(".like").classList.toggle("on", kind === "like");
    card.querySelector(".dislike").classList.toggle("on", kind === "dislike");
    card.classList.toggle("disliked", kind === "dislike");
    card.dataset.feedback = kind;
    statusEl.textContent = `${kind === "like" ? "Liked" : "Disliked"} “${card.dataset.title}”.`;
  } catch (e) {
    statusEl.textContent = `Could not record that: ${e.message}`;
  }
}

// MovieLens titles carry the year ("Heat (1995)"); the card shows it once, on its own line
function titleWithoutYear(title, year) {
  const suffix = ` (${year})`;
  return year && title.endsWith(suffix) ? title.slice(0, -suffix.length) : title;
}

function card(rec, item, state) {
  const year = item && item.year ? item.year : null;
  const genres = el("div", { class: "genres" });
  for (const g of (item && item.genres) || []) genres.append(el("span", { class: "genre", text: g }));
  const like = el("button", { type: "button", class: "like", "aria-label": `like ${rec.title}`, text: "Like" });
  const dislike = el("button", { type: "button", class: "dislike", "aria-label": `dislike ${rec.title}`, text: "Dislike" });
  const node = el(
    "article",
    { class: "card", "data-item-id": rec.item_id, "data-title": rec.title },
    el("h3", {}, el("span", { class: "rank", text: `${rec.rank}.` }), document.createTextNode(titleWithoutYear(rec.title, year))),
    el("span", { class: "year", text: year ? String(year) : "" }),
    genres,
    el("p", { class: "why", text: rec.explanation }),
    el("div", { class: "actions" }, like, dislike),
  );
  like.addEventListener("click", () => feedback(node, rec.item_id, "like"));
  dislike.addEventListener("click", () => feedback(node, rec.item_id, "dislike"));
  if (state && state.liked_ids.includes(rec.item_id)) like.classList.add("on");
  if (state && state.disliked_ids.includes(rec.item_id)) { dislike.classList.add("on"); node.classList.add("disliked"); }
  return node;
}

async function showResponse(response, state) {
  const ids = response.recommendations.map((r) => r.item_id);
  let items = {};
  if (ids.length) {
    try {
      for (const it of await api("GET", "/v1/items?ids=" + encodeURIComponent(ids.join(",")))) items[it.item_id] = it;
    } catch (e) { items = {}; }
  }
  addTurn("assistant", response.message || "", (turn, bubble) => {
    const said = describeAnswer(response);
    const badge = el("span", { class: `badge ${response.source === "fallback" ? "fallback" : "source"}`, text: said.badge });
    badge.title = said.footer;
    bubble.append(badge);
    turn.dataset.source = response.source;
    const cards = el("div", { class: "cards" });
    for (const r of response.recommendations) cards.append(card(r, items[r.item_id], state));
    turn.append(cards);
  });
}

// ---------------------------------------------------------------- chat

async function send(message) {
  const button = $("send");
  button.disabled = true;
  statusEl.textContent = "Thinking…";
  addTurn("user", message);
  try {
    const response = await api("POST", "/v1/chat", { session_id: sessionId, message, k: K });
    localStorage.setItem(SESSION_KEY, sessionId); // the server has it now: a reload resumes it
    await showResponse(response);
    statusEl.textContent = `Answered in ${took(response.latency_ms)}: ${describeAnswer(response).footer}.`;
  } catch (e) {
    addTurn("error", e.message);
    statusEl.textContent = e.code || "error";
  } finally {
    button.disabled = false;
    $("message").focus({ preventScroll: true });
    showNewest(); // the status line may have wrapped and made the bar taller
  }
}

$("chat-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = $("message");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  send(text);
});

$("new-session").addEventListener("click", () => {
  sessionId = newSessionId();
  localStorage.removeItem(SESSION_KEY);
  $("session-id").textContent = sessionId;
  for (const t of logEl.querySelectorAll(".turn")) t.remove();
  statusEl.textContent = "New chat.";
});

// resume the stored session: its turns come from the server's session store. A new page has none to
// look up; a stored one the server no longer has (its store was reset) is forgotten quietly.
async function resume() {
  if (!storedSession) return;
  try {
    const view = await api("GET", `/v1/sessions/${encodeURIComponent(sessionId)}`);
    for (const t of view.turns) {
      if (t.role === "user") addTurn("user", t.content);
      else if (t.response) await showResponse(t.response, view.state);
    }
  } catch (e) {
    if (e.status !== 404) statusEl.textContent = e.message;
    else if (localStorage.getItem(SESSION_KEY) === sessionId) localStorage.removeItem(SESSION_KEY);
  }
}

async function waitReady() {
  for (;;) {
    // /healthz is always 200 and says how the load stands; /readyz's 503s would log a console error per poll
    const res = await fetch("/healthz").catch(() => null);
    const health = res && res.ok ? await res.json().catch(() => null) : null;
    if (health && health.status === "ok") { $("ready").textContent = "ready"; return; }
    $("ready").textContent = health && health.status === "failed"
      ? "loading failed: see the server log" : "loading the index and the model…";
    await new Promise((r) => setTimeout(r, 1500));
  }
}

waitReady().then(resume);
