/* Buttons marked data-print print the page (a static file: the CSP allows no inline handler). */
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) { window.print(); }
});
