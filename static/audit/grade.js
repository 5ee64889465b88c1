// The grading page: keyboard-first, prefetching, never stalling, never losing a grade.
//
// One state at a time (data-state on #grader, one view shown, the others [hidden]):
//   loading  no item yet, one is being fetched (keys say so instead of doing nothing);
//   item     an item is on screen and can be graded;
//   saving   nothing left on screen while grades are still on their way;
//   end      the server has nothing more for this annotator: the end card counts graded / skipped / flagged;
//   error    the server refused to give an item (4xx): the reason and a retry button.
// Items come from the REST API (audit/api.py). DEPTH items wait behind the one on screen
// (their images preloaded), so a grade shows the next item at once; the grade itself goes
// to an outbox, posted in order, retried on network failure with a visible warning, and
// given up on a 4xx with the reason shown. Keys are bound by physical key
// (KeyboardEvent.code), so the number row works on AZERTY too; a held key acts once.
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("grader-config").textContent);
  const csrf = document.querySelector("#grader input[name=csrfmiddlewaretoken]").value;
  const $ = (id) => document.getElementById(id);
  const DEPTH = 3; // prefetched items; audit/assignment.py's MAX_HELD leaves room for them
  const PARALLEL = 2; // grades posted at once
  const RETRY_DELAYS = [300, 1000, 2000, 4000];
  const IMAGE_BOX = 320; // px: small images are enlarged by whole steps (pixelated) up to this box
  const VIEWS = { loading: "loading-view", item: "workspace", saving: "saving-view", end: "done", error: "error-view" };
  const GRADES = { Digit1: "high", Digit2: "moderate", Digit3: "low" };
  const CATEGORIES = {}; // Digit4.. -> its toggle button, as the template numbers them
  document.querySelectorAll(".toggle[data-code]").forEach((b) => { CATEGORIES[b.dataset.code] = b; });
  const LETTERS = {
    KeyS: () => skip(false), KeyF: () => skip(true), KeyU: undo, Backspace: undo, KeyV: toggleZoom,
    KeyG: () => togglePanel("guidelines"), KeyH: () => togglePanel("key-help"), KeyE: openPostEdit,
    KeyC: () => $("comment").focus(),
  };

  let state = "loading";
  let current = null;        // the item on screen
  const buffer = [];         // prefetched items, in order
  const outbox = [];         // grades and skips not yet acknowledged: {kind, item, body, form}
  const inFlight = new Set(); // their assignments: the server may still count them as leased to us
  const history = [];        // grades the server stored, newest last: the undo stack
  let fetching = null;
  let sending = 0;           // posts on their way
  let undoing = false;
  let drained = false;       // the server had nothing more while nothing of ours was in flight
  let actualSize = false;
  let shownAt = performance.now();
  let shownMine = -1;

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  function url(name, id) { return config.urls[name].replace("/0/", "/" + id + "/"); }

  async function request(method, path, body) {
    const response = await fetch(path, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: method === "GET" ? undefined : JSON.stringify(body || {}),
    });
    let data = null;
    if (response.status !== 204) { try { data = await response.json(); } catch (e) { data = null; } }
    return { status: response.status, data: data };
  }
  const post = (path, body) => request("POST", path, body);
  const reason = (result) => (result.data && result.data.detail) || "HTTP " + result.status;

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

  // --- states -----------------------------------------------------------------------
  function setState(next) {
    state = next;
    Object.entries(VIEWS).forEach(([name, id]) => { $(id).hidden = name !== next; });
    $("grader").dataset.state = next;
    if (next === "end") showTally();
  }

  // Nothing on screen: say why, and never show an empty or stale item.
  function settle() {
    if (current) return;
    if (outbox.length || sending || undoing) setState("saving");
    else if (drained) setState("end");
    else if (state !== "error") {
      setState("loading");
      // Nothing on screen, nothing on its way and nothing asked yet: ask, so the page never waits
      // on "Loading" for an answer no request will bring. (A 204 now means drained: no loop.)
      if (!fetching && !inFlight.size) refill();
    }
  }

  function show(item) {
    current = item || null;
    if (!current) { settle(); return; }
    fill(current);
    setState("item");
  }

  function advance() {
    show(buffer.shift());
    markBuffer();
    refill();
  }

  function markBuffer() { $("grader").dataset.buffered = String(buffer.length); }

  function held() { return [current, ...buffer].filter(Boolean).map((item) => item.assignment).concat([...inFlight]); }
  // A request answered before the server knew of a skip made since may bring back the skipped item
  // (still leased then): such an answer is stale for that item. skippedAt holds each skip's number.
  let skips = 0;
  const skippedAt = new Map();
  function take(item, asked) {
    // A duplicate answer (already shown, queued, or being graded) is dropped. An item whose skip is
    // still on its way is not a duplicate: every request excluded it, so the server can only be
    // serving it back (assignment.claim_skipped), possibly before the skip's answer arrives here.
    const graded = outbox.filter((job) => job.kind === "grade" && !job.done).map((job) => job.item.assignment);
    const taken = [current, ...buffer].filter(Boolean).map((one) => one.assignment).concat(graded);
    if (!item || taken.includes(item.assignment)) return;
    if ((skippedAt.get(item.assignment) || 0) > asked) return;
    buffer.push(item);
    if (item.image_url) { const img = new Image(); img.src = item.image_url; }
    markBuffer();
  }

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

  async function showTally() {
    const box = $("tally");
    try {
      const { status, data } = await request("GET", config.urls.tally);
      if (status !== 200) { box.textContent = "Could not count your grades (" + reason({ status, data }) + ")."; return; }
      Object.assign(box.dataset, { graded: data.graded, skipped: data.skipped, flagged: data.flagged });
      let text = data.graded + " graded, " + data.skipped + " skipped, " + data.flagged + " flagged.";
      if (data.skipped) text += " Skipped items came back once at the end; these were skipped again, or others graded them meanwhile.";
      if (data.flagged) text += " Flagged items wait for a reviewer.";
      box.textContent = text;
      showProgress(data.progress, true);
    } catch (e) { box.textContent = "Could not count your grades (network problem)."; }
  }

  // --- one item on screen ---------------------------------------------------------------
  function cell(tag, text, attrs) {
    const node = document.createElement(tag);
    node.textContent = text;
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    return node;
  }

  function fill(item) {
    shownAt = performance.now();
    $("grader").dataset.assignment = item.assignment;
    $("grader").dataset.label = item.label;
    delete $("grader").dataset.previousGrade;
    $("item-label").textContent = item.label;
    $("task-type").textContent = item.task_type.replace("_", " ");
    const image = $("item-image");
    image.closest(".picture").hidden = !item.image_url;
    image.style.width = image.style.height = "";
    $("image-size").textContent = "";
    if (item.image_url) image.src = item.image_url; else image.removeAttribute("src");
    if (image.complete) fitImage();
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
      const area = cell("textarea", turn.target, { id: "pe-" + index, lang: "fr", rows: "1", "data-original": turn.target });
      area.value = turn.target;
      area.addEventListener("input", () => grow(area));
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
    document.querySelectorAll(".grade").forEach((b) => b.classList.remove("was"));
    $("comment").value = "";
    grow($("comment"));
  }

  // A text box as tall as its text (no inner scroll bar hiding the third line of a question).
  function grow(area) {
    area.style.height = "auto";
    if (area.scrollHeight) area.style.height = area.scrollHeight + 2 + "px";
  }

  function openPostEdit() {
    if (state !== "item") return nudge();
    $("post-edit-box").open = true;
    document.querySelectorAll("#post-edit textarea").forEach(grow);
    const first = document.querySelector("#post-edit textarea");
    if (first) first.focus();
  }

  // Small images are enlarged by a whole factor (pixelated, never blurred or stretched) to
  // fit IMAGE_BOX; large ones shrink to fit it. V shows the real pixels.
  function fitImage() {
    const image = $("item-image");
    const w = image.naturalWidth, h = image.naturalHeight;
    if (!w || !h || !current || !current.image_url) return;
    let scale = Math.min(IMAGE_BOX / w, IMAGE_BOX / h);
    scale = scale >= 1 ? Math.floor(scale) : scale;
    if (actualSize) scale = 1;
    image.style.width = Math.round(w * scale) + "px";
    image.style.height = Math.round(h * scale) + "px";
    image.classList.toggle("pixelated", scale > 1);
    $("image-size").textContent = w + " × " + h + " px · " + (scale === 1 ? "actual size" : "shown ×" + (+scale.toFixed(2)));
    $("zoom").setAttribute("aria-pressed", String(actualSize));
  }

  function toggleZoom() { actualSize = !actualSize; fitImage(); }

  function togglePanel(id) {
    const panel = $(id);
    panel.hidden = !panel.hidden;
    const button = $(id === "guidelines" ? "toggle-guidelines" : "toggle-help");
    button.setAttribute("aria-expanded", String(!panel.hidden));
  }

  function formState() {
    const areas = [...document.querySelectorAll("#post-edit textarea")];
    const edited = areas.some((a) => a.value !== a.dataset.original);
    return {
      categories: [...document.querySelectorAll(".toggle[aria-pressed=true]")].map((b) => b.dataset.category),
      comment: $("comment").value,
      post_edit: edited ? areas.map((a) => a.value) : null,
    };
  }

  // Put back a grade taken back by undo: the grade it had, its categories, comment and post-edit.
  function restoreForm(old) {
    $("grader").dataset.previousGrade = old.grade;
    document.querySelectorAll(".grade").forEach((b) => b.classList.toggle("was", b.dataset.grade === old.grade));
    document.querySelectorAll(".toggle").forEach((b) => {
      b.setAttribute("aria-pressed", String((old.categories || []).includes(b.dataset.category)));
    });
    $("comment").value = old.comment || "";
    grow($("comment"));
    if (old.post_edit) {
      $("post-edit-box").open = true;
      document.querySelectorAll("#post-edit textarea").forEach((area, i) => {
        area.value = old.post_edit[i] !== undefined ? old.post_edit[i] : area.value;
        grow(area);
      });
    }
  }

  function nudge() {
    const why = { loading: "Loading the next item…", saving: "Saving your last grades…",
      end: "Nothing left to grade.", error: "No item on screen: see the message above." };
    say(why[state] || "");
  }

  // --- talking to the server ------------------------------------------------------------
  function refill() {
    if (fetching || state === "error" || buffer.length >= DEPTH) return fetching;
    // A queued grade asks for the next item itself (grade-next): one request per key, not two
    // racing for the database, unless the queue runs low. send() calls back here once the outbox is empty.
    if (buffer.length >= DEPTH - 1 && outbox.some((job) => job.kind === "grade")) return null;
    if (drained && current) return null; // asked already; asked again once the screen is empty
    fetching = (async () => {
      const quiet = () => !outbox.length && !inFlight.size;
      const wasQuiet = quiet();
      let again = false;
      try {
        const asked = skips;
        const result = await post(config.urls.next, { exclude: held() });
        if (result.status === 200) {
          warnNetwork("");
          drained = false;
          take(result.data.item, asked);
          showProgress(result.data.progress);
          again = true;
        } else if (result.status === 204) {
          // With grades in flight a 204 may only mean "you hold enough leases": ask again once
          // they are stored (here if they already are, else at the end of flush()).
          drained = wasQuiet && quiet();
          again = !drained && quiet();
        } else if (result.status >= 500) {
          throw new Error(reason(result));
        } else {
          $("error-text").textContent = reason(result);
          current = null;
          setState("error");
        }
      } catch (e) {
        warnNetwork("Cannot reach the server to load the next item: retrying…");
        await sleep(2000);
        again = true;
      } finally { fetching = null; }
      if (!current && buffer.length) advance();
      else if (!current) settle();
      if (again) refill();
    })();
    return fetching;
  }

  // Posts up to PARALLEL grades or skips at once (each retried on its own), so the server keeps
  // pace with the keys even when one round trip takes longer than the gap between two keys.
  // Acknowledged grades join the undo history in the order they were given.
  function flush() {
    outbox.filter((job) => !job.sent).slice(0, Math.max(0, PARALLEL - sending)).forEach(send);
  }

  function newKey() { // a v4 UUID; crypto.randomUUID needs HTTPS, getRandomValues does not
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  async function send(job) {
    job.sent = true;
    sending++;
    const isGrade = job.kind === "grade";
    const path = url(isGrade ? "grade" : "skip", job.item.assignment);
    // One key per grade, the same on every retry: a retry of a grade stored but whose answer was lost
    // gets that grade back (201) instead of a 409 "already graded" (audit/grade_next.py).
    if (isGrade) job.key = job.key || newKey();
    let result = null;
    let asked = skips;
    for (let attempt = 0; ; attempt++) {
      // Ask for the next item even while a "next" request is out: with grades queued that request may
      // get nothing (leases at MAX_HELD), and this grade frees one. A duplicate is dropped by take().
      const body = isGrade ? Object.assign({}, job.body, { next: buffer.length < DEPTH, exclude: held(), key: job.key }) : job.body;
      try {
        asked = skips;
        result = await post(path, body);
        if (result.status < 500) break; // 2xx stored, 4xx refused for a reason: retrying would not help
      } catch (e) { result = null; }
      if (attempt >= 1) {
        warnNetwork("Your last " + (isGrade ? "grade" : "skip") + " is not saved yet (network problem). Keep this page open: retrying…");
      }
      await sleep(RETRY_DELAYS[Math.min(attempt, RETRY_DELAYS.length - 1)]);
    }
    sending--;
    job.done = true;
    inFlight.delete(job.item.assignment);
    if (!outbox.some((other) => other.sent && !other.done)) warnNetwork("");
    if (isGrade && result.status === 201) {
      job.stored = true;
      showProgress(result.data.progress);
      take(result.data.next, asked);
    } else if (!isGrade && result.status === 200) {
      drained = false; // a skipped item comes back once everything else is done
    } else {
      say((isGrade ? "Grade" : "Skip") + " of item " + job.item.label + " refused: " + reason(result), true);
    }
    while (outbox.length && outbox[0].done) {
      const head = outbox.shift();
      if (head.stored) history.push({ item: head.item, form: head.form });
    }
    if (history.length > 50) history.splice(0, history.length - 50);
    updateUndo();
    if (!current && buffer.length) advance();
    flush();
    if (!outbox.length) {
      await refill();
      if (!current) settle();
    }
  }

  function updateUndo() { $("undo").disabled = !history.length && !outbox.length; }

  function grade(value) {
    if (state !== "item") return nudge();
    const item = current;
    const form = formState();
    const body = Object.assign({ grade: value, seconds: Math.round(performance.now() - shownAt) / 1000 }, form);
    inFlight.add(item.assignment);
    outbox.push({ kind: "grade", item: item, body: body, form: form });
    say("Graded item " + item.label + " " + value + ".");
    advance();
    updateUndo();
    flush();
  }

  function skip(flag) {
    if (state !== "item") return nudge();
    let why = "";
    if (flag) {
      const answer = window.prompt("What is wrong with this item? (Cancel keeps it on screen.)");
      if (answer === null) { say("Flag cancelled: the item stays."); return; }
      why = answer;
    }
    const item = current;
    inFlight.add(item.assignment);
    skippedAt.set(item.assignment, ++skips);
    outbox.push({ kind: "skip", item: item, body: { flag: flag, reason: why } });
    say(flag ? "Item " + item.label + " flagged for reviewers." : "Item " + item.label + " skipped: it comes back at the end.");
    advance();
    flush();
  }

  // Undo takes back the newest stored grade (after any still on their way), one step per press.
  async function undo() {
    if (undoing || state === "error") return;
    undoing = true;
    say("Undoing…");
    while (outbox.length || sending) await sleep(30);
    const top = history[history.length - 1];
    let result = null;
    try { result = await post(config.urls.undo, top ? { assignment: top.item.assignment } : {}); }
    catch (e) { result = { status: 0, data: { detail: "network problem, try again" } }; }
    undoing = false;
    if (result.status === 200) {
      if (top) history.pop();
      if (current) { buffer.unshift(current); markBuffer(); }
      drained = false;
      show(result.data.item);
      restoreForm(result.data.undone);
      showProgress(result.data.progress, true);
      say("Grade of item " + result.data.item.label + " undone (it was " + result.data.undone.grade + "): grade it again.");
    } else {
      if (top && result.status === 404) history.pop(); // gone from the server: do not offer it again
      say("Cannot undo: " + reason(result), true);
      settle();
    }
    updateUndo();
  }

  // --- keys -------------------------------------------------------------------------------
  function actionFor(event) {
    let code = event.code;
    if (/^Numpad[0-9]$/.test(code)) {
      // NumLock off: the key is End, ArrowDown... (event.key), not a digit: it must not grade.
      if (!/^[0-9]$/.test(event.key)) return null;
      code = "Digit" + event.key;
    }
    if (GRADES[code]) return () => grade(GRADES[code]);
    if (CATEGORIES[code]) return () => (state === "item" ? toggle(CATEGORIES[code]) : nudge());
    if (event.key === "?") return () => togglePanel("key-help");
    if (event.shiftKey) return null;
    return LETTERS[code] || null;
  }

  function toggle(button) {
    button.setAttribute("aria-pressed", button.getAttribute("aria-pressed") === "true" ? "false" : "true");
  }

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    const typing = target.tagName === "TEXTAREA" || target.tagName === "INPUT" || target.tagName === "SELECT" || target.isContentEditable;
    if (event.key === "Escape") {
      if (typing) target.blur(); // keys grade again
      else { $("guidelines").hidden = true; $("key-help").hidden = true; }
      return;
    }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const action = actionFor(event);
    if (!action) return;
    event.preventDefault();
    if (event.repeat) return; // a held key acts once, however long it is held
    action();
  });
  document.querySelectorAll(".grade").forEach((b) => b.addEventListener("click", () => grade(b.dataset.grade)));
  document.querySelectorAll(".toggle").forEach((b) => b.addEventListener("click", () => toggle(b)));
  $("undo").addEventListener("click", undo);
  $("skip").addEventListener("click", () => skip(false));
  $("flag").addEventListener("click", () => skip(true));
  $("zoom").addEventListener("click", toggleZoom);
  $("toggle-guidelines").addEventListener("click", () => togglePanel("guidelines"));
  $("toggle-help").addEventListener("click", () => togglePanel("key-help"));
  $("retry").addEventListener("click", () => { setState("loading"); refill(); });
  $("item-image").addEventListener("load", fitImage);
  $("post-edit-box").addEventListener("toggle", () => document.querySelectorAll("#post-edit textarea").forEach(grow));
  $("comment").addEventListener("input", () => grow($("comment")));
  window.addEventListener("beforeunload", (event) => { if (outbox.length) { event.preventDefault(); event.returnValue = ""; } });
  // Key labels as this keyboard prints them (A for KeyQ on AZERTY); digits keep their numbers.
  if (navigator.keyboard && navigator.keyboard.getLayoutMap) {
    navigator.keyboard.getLayoutMap().then((map) => {
      document.querySelectorAll("kbd[data-code^=Key]").forEach((kbd) => {
        const label = map.get(kbd.dataset.code);
        if (label && /^[a-z]$/i.test(label)) kbd.textContent = label.toUpperCase();
      });
    }).catch(() => {});
  }
  setState("loading");
  refill();
})();
