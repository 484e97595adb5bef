// Taskdeck's only script of its own. Pages work without it; it polishes htmx swaps.
document.addEventListener("htmx:afterSwap", (event) => {
  // After a quick add, put the cursor back into the title for the next task.
  if (event.detail.elt && event.detail.elt.id === "task-rows") {
    const title = document.querySelector("#quick-add input[name=title]");
    if (title) title.focus();
  }
});

// A refused CSRF token (the session changed, e.g. a logout in another tab): htmx does not
// swap the 400, so the server names a fresh token in an HX-Trigger event. Put it wherever
// the page keeps one and say what happened; the user's typed values stay in place.
document.body.addEventListener("taskdeck:csrf-refused", (event) => {
  const { message, token } = event.detail;
  if (token) {
    document.body.setAttribute("hx-headers", JSON.stringify({ "X-CSRFToken": token }));
    const meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) meta.setAttribute("content", token);
    document.querySelectorAll('input[name="csrf_token"]').forEach((input) => { input.value = token; });
  }
  const flash = document.getElementById("flash");
  if (flash && message) {
    const p = document.createElement("p");
    p.className = "flash flash-warning";
    p.setAttribute("role", "alert");
    p.textContent = message;
    flash.replaceChildren(p);
  }
});
