// Taskdeck's only script of its own. Pages work without it; it adds keyboard shortcuts,
// focus management around htmx swaps, drag and drop on the board, the Undo toast and the
// viewer's time zone.
"use strict";

// --- Time zone: the browser's, reported once so server-rendered pages use it -------------
(() => {
  let zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  if (!zone) return;
  document.querySelectorAll("input.browser-time-zone").forEach((input) => { input.value = zone; });
  const meta = document.querySelector('meta[name="viewer-time-zone"]');
  if (meta && meta.content !== zone) {
    const token = document.querySelector('meta[name="csrf-token"]').content;
    fetch(meta.dataset.url, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": token, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ time_zone: zone }),
    }).then((resp) => { if (resp.ok) meta.content = zone; }).catch(() => {});
  }
})();

// --- Helpers -------------------------------------------------------------------------------
const isTyping = (el) => !!el && (el.isContentEditable ||
  ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
const tasks = () => Array.from(document.querySelectorAll("[data-task]"))
  .filter((el) => el.offsetParent !== null);
const selected = () => document.querySelector("[data-task].selected");
const listHeading = () => document.getElementById("list-heading");

function select(el) {
  document.querySelectorAll("[data-task].selected").forEach((other) => {
    other.classList.remove("selected");
    other.removeAttribute("aria-current");
  });
  if (!el) return;
  el.classList.add("selected");
  el.setAttribute("aria-current", "true");
  el.focus();
  el.scrollIntoView({ block: "nearest" });
}

// Where focus goes when a task leaves the list or is done: the next task, else the
// previous one, else the list's heading.
function neighbourOf(el) {
  const all = tasks();
  const index = all.indexOf(el);
  return all[index + 1] || all[index - 1] || null;
}

function focusTaskOrHeading(id) {
  const el = id && document.querySelector(`[data-task="${id}"]`);
  if (el) { select(el); return; }
  const heading = listHeading();
  if (heading) heading.focus();
}

function post(url, values, target, swap) {
  return htmx.ajax("POST", url, { values, target, swap: swap || "outerHTML" });
}

// --- Focus around htmx swaps ---------------------------------------------------------------
// What a request is about, noted before it leaves: the row it came from and what happens to
// focus once its answer is in place.
let pending = null;

document.addEventListener("htmx:beforeRequest", (event) => {
  const elt = event.detail.elt;
  const row = elt.closest && elt.closest("[data-task]");
  if (!row) return;
  if (elt.matches(".toggle, form.inline") && row.querySelector(".toggle")) {
    const next = neighbourOf(row);
    pending = { kind: "next", id: row.dataset.task, next: next && next.dataset.task };
  } else if (elt.matches(".delete-link")) {
    const next = neighbourOf(row);
    pending = { kind: "next", id: row.dataset.task, next: next && next.dataset.task };
  } else if (elt.matches(".edit-link, .task-title, .due-link, .labels-link")) {
    pending = { kind: "open-edit", id: row.dataset.task };
  } else {
    pending = { kind: "row", id: row.dataset.task };
  }
});

document.addEventListener("htmx:afterSettle", (event) => {
  const target = event.detail.target;
  if (target && target.id === "quick-preview") return;
  const note = pending;
  pending = null;
  if (event.detail.elt && event.detail.elt.id === "task-rows") {
    // After a quick add, the cursor goes back into the field for the next task.
    const title = document.getElementById("quick-title");
    if (title) title.focus();
    return;
  }
  if (target && target.id === "board") {
    enableDragAndDrop();
    const moved = target.dataset.moved || (document.getElementById("board") || {}).dataset?.moved;
    if (moved) focusTaskOrHeading(moved);
    return;
  }
  if (!note) return;
  if (note.kind === "next") {
    focusTaskOrHeading(note.next);
  } else if (note.kind === "open-edit") {
    const row = document.querySelector(`[data-task="${note.id}"]`) ||
      document.getElementById(`task-${note.id}`);
    const field = row && row.querySelector(
      "form input:not([type=hidden]), form select, form textarea");
    if (field) field.focus();
  } else if (note.kind === "row") {
    const row = document.querySelector(`[data-task="${note.id}"]`);
    if (row && !row.contains(document.activeElement)) select(row);
  }
});

// Escape cancels an inline edit (title, due date, whole row, a card's labels) and puts
// focus back on the task.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const editing = event.target.closest && event.target.closest(
    ".field-edit, tr.editing, .card-labels.editing");
  if (!editing) return;
  const cancel = editing.querySelector(".cancel-edit") ||
    (editing.closest("tr.editing") || editing).querySelector(".form-actions a");
  if (!cancel) return;
  event.preventDefault();
  const row = editing.closest("[data-task], tr.editing");
  const id = row && (row.dataset.task || row.id.replace("task-", ""));
  pending = { kind: "row", id };
  htmx.trigger(cancel, "click");
  if (!cancel.hasAttribute("hx-get")) cancel.click();
});

// --- Undo ----------------------------------------------------------------------------------
function undoButton() {
  return document.querySelector("#undo .undo-button, #flash .undo-button");
}

document.body.addEventListener("taskdeck:restored", (event) => {
  // The list or the board is drawn again, so the task returns to its place.
  const id = event.detail && event.detail.id;
  const region = document.getElementById("task-list") ? "#task-list"
    : document.getElementById("board") ? "#board" : null;
  if (!region) return;
  htmx.ajax("GET", window.location.href, { target: region, swap: "outerHTML" })
    .then(() => { if (region === "#board") enableDragAndDrop(); focusTaskOrHeading(id); });
});

// The toast stays at least until replaced; it goes by itself after 30 s unless it has
// focus or the pointer; "×" closes it.
let toastTimer = null;
function watchToast() {
  const toast = document.querySelector("#undo .toast");
  clearTimeout(toastTimer);
  if (!toast) return;
  const close = toast.querySelector(".toast-close");
  if (close) {
    close.hidden = false;
    close.addEventListener("click", () => toast.remove());
  }
  const hide = () => {
    if (toast.matches(":hover, :focus-within")) { toastTimer = setTimeout(hide, 5000); return; }
    toast.remove();
  };
  toastTimer = setTimeout(hide, 30000);
}
document.addEventListener("htmx:oobAfterSwap", (event) => {
  if (event.detail.target && event.detail.target.id === "undo") watchToast();
});

// --- Board: drag and drop (SortableJS) -----------------------------------------------------
function enableDragAndDrop() {
  if (typeof Sortable === "undefined") return;
  document.querySelectorAll(".board .cards").forEach((list) => {
    if (list.dataset.sortable) return;
    list.dataset.sortable = "1";
    Sortable.create(list, {
      group: "board",
      animation: 150,
      filter: "a, button, select, input, label",
      preventOnFilter: false,
      onEnd: (event) => {
        const card = event.item;
        const status = event.to.dataset.status;
        if (event.from === event.to) return;
        pending = null;
        moveCard(card, status);
      },
    });
  });
}

function moveCard(card, status) {
  document.getElementById("board").dataset.moved = card.dataset.task;
  return post(card.dataset.moveUrl, { status, version: card.dataset.version }, "#board");
}

document.addEventListener("DOMContentLoaded", () => {
  enableDragAndDrop();
  watchToast();
});

// --- Forms that ask first (data-confirm), where htmx does not post them -------------------
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// --- The phone menu: Escape closes it and gives focus back to "Menu" --------------------
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const menu = document.getElementById("nav-menu");
  if (menu && menu.open && menu.contains(event.target)) {
    menu.open = false;
    menu.querySelector("summary").focus();
  }
});

// --- Keyboard shortcuts (listed by "?"; never while typing in a field) ---------------------
function toggleView() {
  const other = document.querySelector('.view-switch a:not([aria-current]):not(.new-task)');
  if (other) window.location.href = other.href;
}

function completeSelected(el) {
  const toggle = el.querySelector(".toggle");
  if (toggle) { toggle.click(); return; }
  if (el.dataset.moveUrl) {  // a board card: move it to Completed, or back to Pending
    const done = el.classList.contains("status-completed");
    moveCard(el, done ? "pending" : "completed");
  }
}

function editSelected(el) {
  const edit = el.querySelector(".edit-link");
  if (edit) { edit.click(); return; }
  if (el.dataset.editUrl) window.location.href = el.dataset.editUrl;
}

function deleteSelected(el) {
  const link = el.querySelector(".delete-link");
  if (link) { link.click(); return; }
  if (el.dataset.deleteUrl) {
    const next = neighbourOf(el);
    pending = { kind: "next", id: el.dataset.task, next: next && next.dataset.task };
    post(el.dataset.deleteUrl, {}, `#${el.id}`);
  }
}

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if (isTyping(event.target)) return;
  const dialog = document.getElementById("shortcuts");
  if (dialog && dialog.open) return;
  const current = selected();
  switch (event.key) {
    case "n": {
      const field = document.getElementById("quick-title");
      if (!field) return;
      event.preventDefault();  // focus the field without typing an "n" into it
      field.focus();
      break;
    }
    case "/": {
      const field = document.getElementById("filter-q");
      if (!field) return;
      event.preventDefault();
      field.focus();
      break;
    }
    case "j":
    case "k": {
      const all = tasks();
      if (!all.length) return;
      event.preventDefault();
      const index = all.indexOf(current);
      let next;
      if (index < 0) next = all[0];  // the first j (or k) on a page selects the first task
      else if (event.key === "j") next = all[Math.min(index + 1, all.length - 1)];
      else next = all[Math.max(index - 1, 0)];
      select(next);
      break;
    }
    case "x":
      if (!current) return;
      event.preventDefault();
      completeSelected(current);
      break;
    case "e":
      if (!current) return;
      event.preventDefault();
      editSelected(current);
      break;
    case "Delete":
      if (!current) return;
      event.preventDefault();
      deleteSelected(current);
      break;
    case "z": {
      const undo = undoButton();
      if (!undo) return;
      event.preventDefault();
      undo.click();
      break;
    }
    case "b":
      event.preventDefault();
      toggleView();
      break;
    case "?":
      if (!dialog) return;
      event.preventDefault();
      dialog.showModal();
      break;
    default:
  }
});

// Clicking a task selects it, so the keys then act on it.
document.addEventListener("click", (event) => {
  const row = event.target.closest && event.target.closest("[data-task]");
  if (row && !row.classList.contains("selected")) {
    document.querySelectorAll("[data-task].selected").forEach((other) => {
      other.classList.remove("selected");
      other.removeAttribute("aria-current");
    });
    row.classList.add("selected");
    row.setAttribute("aria-current", "true");
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
