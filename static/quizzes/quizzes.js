// Quiz pages: let htmx swap the "refused" answers (400 wrong shape, 409 too late / already answered)
// into the quiz region so the learner sees the message in place, as the no-JS page would show it.
const SWAP_STATUSES = new Set([400, 409]);

document.body.addEventListener("htmx:beforeSwap", (event) => {
  const { xhr, target } = event.detail;
  if (SWAP_STATUSES.has(xhr.status) && target.closest("[data-quiz-region]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// Ordering questions use one <select> per position. Choosing an item that another position
// already holds swaps the two, so every item stays in exactly one position.
document.body.addEventListener("focusin", (event) => {
  const select = event.target;
  if (select.matches?.("[data-ordering-select]")) select.dataset.previous = select.value;
});
document.body.addEventListener("change", (event) => {
  const select = event.target;
  if (!select.matches?.("[data-ordering-select]")) return;
  const previous = select.dataset.previous;
  const fieldset = select.closest("fieldset");
  for (const other of fieldset.querySelectorAll("[data-ordering-select]")) {
    if (other !== select && other.value === select.value && previous) {
      other.value = previous;
    }
  }
  select.dataset.previous = select.value;
});
