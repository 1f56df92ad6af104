// Mock interview countdown. The server owns the deadline; this only displays it, warns at
// 5 and 1 minute (once each, through a live region) and submits the interview at 0:00.
const timer = document.querySelector("[data-countdown]");

if (timer) {
  const display = timer.querySelector("[data-countdown-display]");
  const announce = document.querySelector("[data-countdown-announce]");
  const form = document.getElementById(timer.dataset.submitForm);
  const deadline = Date.parse(timer.dataset.deadline);
  // Correct for a client clock that differs from the server's.
  const offset = Date.parse(timer.dataset.serverNow) - Date.now();
  const warnings = [
    { at: 300, text: "5 minutes left in the mock interview." },
    { at: 60, text: "1 minute left. Your answers are submitted automatically at 0:00." },
  ];
  let submitted = false;

  const format = (seconds) => `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;

  const tick = () => {
    const remaining = Math.max(0, Math.round((deadline - (Date.now() + offset)) / 1000));
    display.textContent = format(remaining);
    timer.classList.toggle("is-warning", remaining <= 300 && remaining > 60);
    timer.classList.toggle("is-critical", remaining <= 60);
    // Announce only the most recent threshold crossed, once: a reload past 5:00 says nothing about 5 minutes.
    const due = warnings.filter((w) => remaining <= w.at && !w.done);
    if (due.length) {
      for (const w of due) w.done = true;
      if (remaining > 0) announce.textContent = due[due.length - 1].text;
    }
    if (remaining === 0 && !submitted && form) {
      submitted = true;
      announce.textContent = "Time is up. Submitting your answers.";
      form.querySelector("[data-auto-flag]").value = "1";
      for (const control of document.querySelectorAll("[data-mock-question] :is(input, select, textarea, button)")) {
        control.disabled = true;
      }
      form.requestSubmit();
      return;
    }
    window.setTimeout(tick, 1000 - ((Date.now() + offset) % 1000) + 5);
  };

  // Thresholds already behind us at load are not announced again.
  const initial = Math.round((deadline - (Date.now() + offset)) / 1000);
  for (const w of warnings) if (initial <= w.at) w.done = initial < w.at - 2;
  tick();
}

// Submitting by hand ends the interview: ask once, unless the clock is doing it.
const submitForm = document.getElementById("mock-submit-form");
submitForm?.addEventListener("submit", (event) => {
  const automatic = submitForm.querySelector("[data-auto-flag]").value === "1";
  if (!automatic && !window.confirm("Submit the interview now? You cannot change your answers afterwards.")) {
    event.preventDefault();
  }
});
