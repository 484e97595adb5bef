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

// An error answer that names where it goes (the server set HX-Retarget, e.g. why an upload
// was refused) is shown there: htmx 2 swaps no 4xx/5xx answer by itself.
document.addEventListener("htmx:beforeSwap", (event) => {
  const xhr = event.detail.xhr;
  if (event.detail.isError && xhr && xhr.getResponseHeader("HX-Retarget")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// Upload progress: a form with data-upload-progress names the <progress> element to fill
// while htmx sends it; the plain form (no JavaScript) simply posts.
function uploadProgressBar(element) {
  const form = element && element.closest ? element.closest("form[data-upload-progress]") : null;
  return form ? document.getElementById(form.dataset.uploadProgress) : null;
}

document.addEventListener("htmx:beforeRequest", (event) => {
  const bar = uploadProgressBar(event.detail.elt);
  if (bar) {
    bar.value = 0;
    bar.removeAttribute("value");  // indeterminate until the first progress event
    bar.hidden = false;
  }
});

// htmx's own htmx:xhr:progress mixes the upload with the download of the answer: listen to
// the upload of this request alone.
document.addEventListener("htmx:beforeSend", (event) => {
  const bar = uploadProgressBar(event.detail.elt);
  const xhr = event.detail.xhr;
  if (!bar || !xhr || !xhr.upload) return;
  xhr.upload.addEventListener("progress", (progress) => {
    if (progress.lengthComputable && progress.total > 0) {
      bar.max = progress.total;
      bar.value = progress.loaded;
    }
  });
});

document.addEventListener("htmx:afterRequest", (event) => {
  const bar = uploadProgressBar(event.detail.elt);
  if (!bar) return;
  // By status, not `successful`: a refusal swapped in by the rule above counts as a success.
  const status = event.detail.xhr ? event.detail.xhr.status : 0;
  if (status >= 200 && status < 300) {
    bar.value = bar.max;
    event.detail.elt.closest("form").reset();  // the files are attached: clear the choice
  } else {
    bar.hidden = true;
  }
});
