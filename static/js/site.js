// Site-wide behaviour that is not htmx: move focus to swapped-in content that asks for it.
document.body.addEventListener("htmx:afterSwap", (event) => {
  const target = event.detail.target.querySelector("[data-autofocus]") || (event.detail.target.matches("[data-autofocus]") ? event.detail.target : null);
  if (target) target.focus();
});

// A table wider than the screen scrolls inside its .table-wrap; keyboard users can scroll it only if
// the wrapper can take focus. Only wrappers that actually scroll and hold no control become tab stops
// (named after the table's caption), so narrow tables add no extra Tab presses.
const FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]";
function keyboardScrollableTables() {
  for (const wrap of document.querySelectorAll(".table-wrap")) {
    const added = wrap.dataset.scrollFocus === "added";
    const needs = wrap.scrollWidth > wrap.clientWidth + 1 && !wrap.querySelector(FOCUSABLE);
    if (needs && !added && !wrap.hasAttribute("tabindex")) {
      const caption = wrap.querySelector("caption");
      wrap.tabIndex = 0;
      wrap.setAttribute("role", "region");
      wrap.setAttribute("aria-label", caption ? caption.textContent.trim() : "Table, scrolls sideways");
      wrap.dataset.scrollFocus = "added";
    } else if (!needs && added) {
      wrap.removeAttribute("tabindex");
      wrap.removeAttribute("role");
      wrap.removeAttribute("aria-label");
      delete wrap.dataset.scrollFocus;
    }
  }
}
// Re-check when a wrapper or its table changes size (window resize, live rows) and after htmx swaps.
const observed = new WeakSet();
const resizes = new ResizeObserver(() => keyboardScrollableTables());
function watchTables() {
  for (const element of document.querySelectorAll(".table-wrap, .table-wrap > table")) {
    if (!observed.has(element)) {
      observed.add(element);
      resizes.observe(element);
    }
  }
  keyboardScrollableTables();
}
watchTables();
document.body.addEventListener("htmx:afterSettle", watchTables);
