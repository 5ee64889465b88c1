// The adjudication page's keys. The page works without this file (plain form POST and
// links); this only binds keys to the same buttons and links:
//   1 / 2 / 3  final grade high / moderate / low (then the server shows the next item)
//   J or →     next item,  K or ←  previous item
// Keys are read by physical position (KeyboardEvent.code), so the digit row works on
// AZERTY keyboards where it types & é ". A held key repeats keydown events: those are
// ignored, and so is every key once a decision is on its way, so one press is one grade.
"use strict";
(function () {
  const root = document.getElementById("adjudicator");
  const form = document.getElementById("decide");
  if (!root || !form) return;
  const GRADES = { Digit1: "high", Numpad1: "high", Digit2: "moderate", Numpad2: "moderate", Digit3: "low", Numpad3: "low" };
  const MOVES = { KeyJ: "next", ArrowRight: "next", KeyK: "previous", ArrowLeft: "previous" };

  function typing(target) {
    // Radios take digits (a reviewer clicks "post-edit of …" then presses 2) but keep their arrow keys.
    return target.matches && target.matches("textarea, select, [contenteditable], input:not([type=radio]):not([type=hidden])");
  }

  form.addEventListener("submit", () => { root.dataset.state = "submitting"; });

  document.addEventListener("keydown", (event) => {
    if (event.repeat || event.ctrlKey || event.metaKey || event.altKey || root.dataset.state === "submitting") return;
    if (typing(event.target)) return;
    const grade = GRADES[event.code];
    if (grade) {
      event.preventDefault();
      const button = form.querySelector("button[name=grade][value=" + grade + "]");
      root.dataset.state = "submitting";
      form.requestSubmit(button);  // the button's name/value travel with the form, as on a click
      return;
    }
    const move = MOVES[event.code];
    if (move && !(event.code.startsWith("Arrow") && event.target.type === "radio")) {
      const link = document.getElementById(move);
      if (link) { event.preventDefault(); root.dataset.state = "submitting"; window.location.assign(link.href); }
    }
  });
  root.dataset.state = "ready";
})();
