// The grading page: keyboard-first, prefetching, never losing a grade.
//
// Items come from the REST API (audit/api.py). One item is shown, the next one is
// already loaded (its image too), so a grade shows the next item at once; the grade
// itself is queued in an outbox and posted in order, retried on network failure,
// with a visible warning until it is saved. Grade keys are bound by physical key
// (KeyboardEvent.code), so 1/2/3 work on AZERTY keyboards where they type & é ".
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("grader-config").textContent);
  const csrf = document.querySelector("#grader input[name=csrfmiddlewaretoken]").value;
  const $ = (id) => document.getElementById(id);
  const KEYS = { Digit1: "high", Numpad1: "high", Digit2: "moderate", Numpad2: "moderate", Digit3: "low", Numpad3: "low" };
  const RETRY_DELAYS = [300, 1000, 2000, 4000];
  let current = null;        // the item on screen
  const buffer = [];         // prefetched items, in order
  const outbox = [];         // grades not yet acknowledged by the server
  let shownAt = performance.now();
  let sending = false;
  let fetching = null;
  let finished = false;
  let lastGradeAt = 0;

  function url(name, id) { return config.urls[name].replace("/0/", "/" + id + "/"); }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {}),
    });
    let data = null;
    if (response.status !== 204) { try { data = await response.json(); } catch (e) { data = null; } }
    return { status: response.status, data: data };
  }

  function say(text, isError) {
    const box = $("message");
    box.textContent = text || "";
    box.classList.toggle("error", !!isError);
  }

  function warnNetwork(text) {
    const box = $("net-warning");
    box.hidden = !text;
    box.textContent = text || "";
  }

  const gone = [];          // assignments graded or skipped here: the server may still hold their lease
  function held() {
    return [current, ...buffer].filter(Boolean).map((item) => item.assignment).concat(gone.slice(-20));
  }
  function fresh(item) { return item && !held().includes(item.assignment); }

  let shownMine = -1;
  function showProgress(p, force) {
    // Answers can arrive out of order: a slow "next" may carry counts from before a grade.
    if (!p || (!force && p.mine < shownMine)) return;
    shownMine = p.mine;
    const bar = $("progress");
    bar.max = Math.max(p.campaign_total, 1);
    bar.value = p.campaign_done;
    bar.dataset.mine = p.mine;
    $("progress-text").textContent = "You: " + p.mine + " graded · campaign " + p.campaign_done + " / " +
      p.campaign_total + " (" + p.remaining + " remaining)";
  }

  function cell(tag, text, attrs) {
    const node = document.createElement(tag);
    node.textContent = text;
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    return node;
  }

  function render(item) {
    current = item;
    shownAt = performance.now();
    $("workspace").hidden = !item;
    $("done").hidden = !!item || !finished;
    $("grader").dataset.state = item ? "ready" : (finished ? "done" : "loading");
    if (!item) return;
    $("grader").dataset.assignment = item.assignment;
    const image = $("item-image");
    image.hidden = !item.image_url;
    if (item.image_url) image.src = item.image_url;
    $("task-type").textContent = item.task_type.replace("_", " ");
    const turns = $("turns");
    turns.replaceChildren();
    const edit = $("post-edit");
    edit.replaceChildren();
    item.turns.forEach((turn, index) => {
      const row = document.createElement("tr");
      row.append(cell("th", turn.role === "question" ? "Question" : "Answer", { scope: "row" }),
        cell("td", turn.source, { lang: "en" }), cell("td", turn.target, { lang: "fr", class: "target" }));
      turns.append(row);
      const label = cell("label", (turn.role === "question" ? "Question " : "Answer ") + (index + 1), { for: "pe-" + index });
      const area = cell("textarea", turn.target, { id: "pe-" + index, lang: "fr", rows: "2", "data-original": turn.target });
      area.value = turn.target;
      edit.append(label, area);
    });
    $("post-edit-box").open = false;
    const choices = $("choices");
    choices.replaceChildren();
    $("choices-box").hidden = !item.choices;
    (item.choices || []).forEach((choice, index) => {
      const row = document.createElement("tr");
      const letter = String.fromCharCode(65 + index) + (index === item.answer_index ? " ✓" : "");
      row.append(cell("th", letter, { scope: "row" }), cell("td", choice.source, { lang: "en" }), cell("td", choice.target, { lang: "fr" }));
      choices.append(row);
    });
    document.querySelectorAll(".toggle").forEach((b) => b.setAttribute("aria-pressed", "false"));
    $("comment").value = "";
  }

  function preload(item) {
    if (item && item.image_url) { const img = new Image(); img.src = item.image_url; }
  }

  async function refill() {
    // Keep one item ready behind the one on screen.
    if (fetching || finished || buffer.length >= 1) return fetching;
    fetching = (async () => {
      try {
        const { status, data } = await post(config.urls.next, { exclude: held() });
        if (status === 204) { finished = true; }
        else if (status === 200 && fresh(data.item)) { buffer.push(data.item); preload(data.item); showProgress(data.progress); markBuffer(); }
        else { say((data && data.detail) || "Could not load the next item (" + status + ").", true); }
      } catch (e) {
        warnNetwork("Network problem: cannot load the next item. Retrying…");
        setTimeout(() => { warnNetwork(""); refill(); }, 2000);
      } finally { fetching = null; }
      if (!current) advance();
    })();
    return fetching;
  }

  function advance() {
    render(buffer.shift() || null);
    markBuffer();
    refill();
  }

  function markBuffer() { $("grader").dataset.buffered = String(buffer.length); }

  function collect(grade) {
    const categories = [...document.querySelectorAll(".toggle[aria-pressed=true]")].map((b) => b.dataset.category);
    const areas = [...document.querySelectorAll("#post-edit textarea")];
    const edited = areas.some((a) => a.value !== a.dataset.original);
    return {
      grade: grade, categories: categories, comment: $("comment").value,
      post_edit: edited ? areas.map((a) => a.value) : null,
      seconds: Math.round(performance.now() - shownAt) / 1000,
    };
  }

  function grade(value) {
    if (!current) return;
    const assignment = current.assignment;
    gone.push(assignment);
    outbox.push({ assignment: assignment, body: collect(value) });
    say("Graded " + value + ".");
    advance();
    flush();
  }

  async function flush() {
    if (sending) return;
    sending = true;
    while (outbox.length) {
      const job = outbox[0];
      const body = Object.assign({}, job.body, { next: buffer.length < 1 && !fetching, exclude: held() });
      let result = null;
      for (let attempt = 0; ; attempt++) {
        try {
          result = await post(url("grade", job.assignment), body);
          if (result.status < 500) break;
        } catch (e) { result = null; }
        if (attempt >= RETRY_DELAYS.length - 1) {
          warnNetwork("Your last grade is not saved yet (network problem). Keep this page open: retrying…");
        }
        await new Promise((r) => setTimeout(r, RETRY_DELAYS[Math.min(attempt, RETRY_DELAYS.length - 1)]));
      }
      warnNetwork("");
      outbox.shift();
      if (result.status === 201) {
        lastGradeAt = Date.now();
        showProgress(result.data.progress);
        showUndo();
        if (fresh(result.data.next)) {
          buffer.push(result.data.next); preload(result.data.next); markBuffer();
          if (!current) advance();
        }
      } else {
        say("Grade refused: " + ((result.data && result.data.detail) || result.status), true);
      }
    }
    sending = false;
    refill();
  }

  function showUndo() {
    $("undo").hidden = false;
    clearTimeout(showUndo.timer);
    showUndo.timer = setTimeout(() => { $("undo").hidden = true; }, config.undoSeconds * 1000);
  }

  async function undo() {
    if (outbox.length || sending) { say("Saving your last grade first…"); return; }
    const { status, data } = await post(config.urls.undo, {});
    if (status !== 200) { say((data && data.detail) || "Nothing to undo.", true); return; }
    if (current) buffer.unshift(current);
    gone.splice(gone.indexOf(data.item.assignment), 1);
    render(data.item);
    markBuffer();
    showProgress(data.progress, true);
    $("undo").hidden = true;
    say("Last grade undone: grade the item again.");
  }

  async function skip(flag) {
    if (!current) return;
    const reason = flag ? (window.prompt("What is wrong with this item?") || "") : "";
    const assignment = current.assignment;
    gone.push(assignment);
    advance();
    const { status, data } = await post(url("skip", assignment), { flag: flag, reason: reason });
    say(status === 200 ? (flag ? "Flagged for reviewers and skipped." : "Skipped.") : ((data && data.detail) || "Skip refused."), status !== 200);
  }

  document.addEventListener("keydown", (event) => {
    const tag = event.target.tagName;
    if (tag === "TEXTAREA" || tag === "INPUT" || event.ctrlKey || event.metaKey || event.altKey) return;
    const value = KEYS[event.code];
    if (value) { event.preventDefault(); grade(value); }
  });
  document.querySelectorAll(".grade").forEach((b) => b.addEventListener("click", () => grade(b.dataset.grade)));
  document.querySelectorAll(".toggle").forEach((b) => b.addEventListener("click", () => {
    b.setAttribute("aria-pressed", b.getAttribute("aria-pressed") === "true" ? "false" : "true");
  }));
  $("undo").addEventListener("click", undo);
  $("skip").addEventListener("click", () => skip(false));
  $("flag").addEventListener("click", () => skip(true));
  window.addEventListener("beforeunload", (event) => { if (outbox.length) { event.preventDefault(); event.returnValue = ""; } });
  refill();
})();
