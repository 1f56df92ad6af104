// Site-wide behaviour that is not htmx: move focus to swapped-in content that asks for it.
document.body.addEventListener("htmx:afterSwap", (event) => {
  const target = event.detail.target.querySelector("[data-autofocus]") || (event.detail.target.matches("[data-autofocus]") ? event.detail.target : null);
  if (target) target.focus();
});
