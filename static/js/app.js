// Taskdeck's only script of its own. Pages work without it; it polishes htmx swaps.
document.addEventListener("htmx:afterSwap", (event) => {
  // After a quick add, put the cursor back into the title for the next task.
  if (event.detail.elt && event.detail.elt.id === "task-rows") {
    const title = document.querySelector("#quick-add input[name=title]");
    if (title) title.focus();
  }
});
