// Live updates on the task list, a task's page and the dashboard (templates/_live.html).
// htmx's SSE extension holds the connection to /live/events; this file decides what an event
// means for the page: the regions marked data-live-refresh re-fetch themselves (through their
// normal routes), an inline edit keeps what was typed and says the task changed elsewhere.
// Where the stream cannot get through (a proxy that buffers it, an error), the page polls
// /live/poll instead, which answers 204 while nothing changed.
(function () {
  "use strict";
  const root = document.querySelector("[data-live]");
  if (!root || typeof htmx === "undefined") return;

  const pollUrl = root.dataset.livePoll;
  const pollMs = Number(root.dataset.livePollMs) || 3000;
  const connectMs = Number(root.dataset.liveConnectMs) || 5000;
  let position = root.dataset.liveSince || "";
  let source = null;
  let ready = false;
  let sawError = false;
  let pollTimer = null;
  let polling = false;
  const deletedTasks = new Set();
  const pending = new WeakMap();

  // One re-fetch per region for a burst of events: the first event schedules it, the ones
  // arriving before it starts ride along, later ones schedule the next.
  function schedule(element) {
    if (pending.has(element)) return;
    pending.set(element, window.setTimeout(() => {
      pending.delete(element);
      if (document.body.contains(element)) htmx.trigger(element, "live:refresh");
    }, 200));
  }

  function refreshAll() {
    document.querySelectorAll("[data-live-refresh]").forEach(schedule);
  }

  // Remember where the page stands, so that a new connection (the extension makes one after
  // an error) resumes there instead of missing what happened in between.
  function advance(id) {
    if (!id) return;
    position = id;
    const url = root.getAttribute("sse-connect");
    if (url) {
      const next = new URL(url, window.location.href);
      next.searchParams.set("after", id);
      root.setAttribute("sse-connect", next.pathname + next.search);
    }
  }

  function reveal(form, selector) {
    form.querySelectorAll("[data-live-changed], [data-live-deleted]").forEach((note) => {
      note.hidden = !note.matches(selector);
    });
  }

  // change: {type, taskId, version}
  function onChange(change) {
    const id = String(change.taskId);
    const gone = change.type === "task.deleted";
    if (gone) deletedTasks.add(id);
    document.querySelectorAll(`form[data-live-task="${id}"]`).forEach((form) => {
      const field = form.querySelector("input[name=version]");
      const loaded = Number(field ? field.value : 0);
      if (gone) reveal(form, "[data-live-deleted]");
      else if (change.version > loaded) reveal(form, "[data-live-changed]");
    });
    if (gone) {
      document.querySelectorAll(`[data-live-gone="${id}"]`).forEach((note) => {
        note.hidden = false;
      });
    }
    document.querySelectorAll("[data-live-refresh]").forEach((element) => {
      const only = element.dataset.liveTask;
      if (only && (only !== id || gone)) return; // a gone task's page has nothing to fetch
      schedule(element);
    });
  }

  // --- The stream (htmx-ext-sse) ---------------------------------------------------------
  document.body.addEventListener("htmx:sseOpen", (event) => {
    const opened = event.detail.source;
    if (opened === source) return; // the same EventSource reconnecting by itself
    source = opened;
    opened.addEventListener("ready", () => {
      ready = true;
      stopPolling();
      root.dataset.liveState = "stream";
    });
    opened.addEventListener("task", (message) => {
      advance(message.lastEventId);
      onChange(JSON.parse(message.data));
    });
    opened.addEventListener("reset", (message) => {
      advance(message.lastEventId);
      refreshAll();
    });
  });

  document.body.addEventListener("htmx:sseError", () => {
    // The extension reconnects with a growing delay; poll meanwhile.
    ready = false;
    sawError = true;
    startPolling();
  });

  function giveUpOnStream() {
    // Connected (or still connecting) but no first message: something between us and the
    // server holds the stream back. Poll for the life of this page.
    root.removeAttribute("sse-connect");
    if (source) source.close();
    startPolling();
  }

  if (root.hasAttribute("sse-connect")) {
    window.setTimeout(() => {
      if (!ready && !sawError) giveUpOnStream();
    }, connectMs);
  } else {
    startPolling();
  }

  // --- Polling -----------------------------------------------------------------------------
  function startPolling() {
    if (pollTimer === null) pollTimer = window.setInterval(poll, pollMs);
    root.dataset.liveState = "polling";
  }

  function stopPolling() {
    if (pollTimer !== null) window.clearInterval(pollTimer);
    pollTimer = null;
  }

  async function poll() {
    if (polling) return;
    polling = true;
    const known = position;
    try {
      const url = pollUrl + (known ? `?after=${encodeURIComponent(known)}` : "");
      const resp = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (resp.status === 401) {
        stopPolling(); // logged out: nothing more to follow
      } else if (resp.status === 204) {
        advance(resp.headers.get("X-Live-Position"));
      } else if (resp.ok) {
        const body = await resp.json();
        if (body.reset || !known) refreshAll();
        else body.events.forEach(onChange);
        advance(body.lastEventId);
      }
    } catch (error) {
      // Offline or the server is restarting: the next poll tries again.
    } finally {
      polling = false;
    }
  }

  // --- Regions being refreshed -------------------------------------------------------------
  // A row being edited inline (the whole row, or its title or due date) is not overwritten by
  // a refresh of the list: it is taken out before the swap (so htmx does not clean it up)
  // and put back in place of its new row, keeping what was typed. Focus stays on the control
  // it was on, and the keyboard's selection on its task.
  // A refresh that was asked for before one of the page's own writes answered may carry what
  // the page showed before that write: count the writes, and drop such an answer.
  let writesAnswered = 0;
  const refreshAskedAt = new WeakMap();
  document.body.addEventListener("htmx:beforeRequest", (event) => {
    const elt = event.detail.elt;
    if (!elt || !elt.hasAttribute("data-live-refresh")) return;
    if (leaving) event.preventDefault();
    else refreshAskedAt.set(elt, writesAnswered);
  });

  // Once the page is being left (a plain form such as Log out was sent), a refresh answering
  // meanwhile must not act: after a logout its answer is "log in again" (HX-Redirect), which
  // would take the browser to the login page with ?next= instead of where the form leads.
  let leaving = false;
  window.addEventListener("beforeunload", () => { leaving = true; });
  window.addEventListener("pageshow", () => { leaving = false; }); // back from the cache
  document.body.addEventListener("htmx:beforeOnLoad", (event) => {
    const elt = event.detail.elt;
    if (leaving && elt && elt.hasAttribute("data-live-refresh")) event.preventDefault();
  });
  document.body.addEventListener("htmx:afterRequest", (event) => {
    const config = event.detail.requestConfig;
    if (config && config.verb && config.verb.toLowerCase() !== "get") writesAnswered += 1;
  });

  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    if (!event.detail.shouldSwap || !target) return;
    const source = event.detail.requestConfig && event.detail.requestConfig.elt;
    const isRefresh = source && source.hasAttribute("data-live-refresh");
    const busy = Array.from(target.querySelectorAll(".htmx-request")).some((el) => el !== source);
    if (isRefresh && (busy || refreshAskedAt.get(source) !== writesAnswered)) {
      // A row action (opening an edit, a save, a complete) is on its way, or answered while
      // this refresh was: its result would be overwritten by older rows. Refresh again.
      event.detail.shouldSwap = false;
      schedule(source);
      return;
    }
    if (target.id !== "task-list") return;
    // Rows being edited: the whole row (Edit), or one field of it (the title, the due date).
    // Found by data-editing, not by class: for a moment after the edit row is swapped in, htmx
    // "settles" it with the class of the row it replaced, and a refresh landing then would not
    // see it as being edited.
    const editing = Array.from(new Set([
      ...target.querySelectorAll("tr[data-editing]"),
      ...Array.from(target.querySelectorAll("tr .field-edit"), (form) => form.closest("tr")),
    ]));
    const places = editing.map((row) => Array.prototype.indexOf.call(row.parentNode.children, row));
    const focus = focusedControl(target);
    editing.forEach((row) => row.remove());
    // htmx swaps right after this event, in the same task: put things back just after it.
    queueMicrotask(() => {
      restoreEditing(editing, places);
      restoreFocus(focus);
    });
    // htmx settles the new rows a moment later, giving them the class the server sent: the
    // keyboard's selection goes back on its task then too.
    settledSelection = focus.selectedId;
  });

  let settledSelection = null;
  document.body.addEventListener("htmx:afterSettle", (event) => {
    const target = event.detail.target;
    if (!settledSelection || !target || target.id !== "task-list") return;
    restoreSelection(settledSelection);
    settledSelection = null;
  });

  function restoreEditing(rows, places) {
    const body = document.getElementById("task-rows");
    if (!body) return;
    rows.forEach((row, index) => {
      const fresh = document.getElementById(row.id);
      if (fresh) fresh.replaceWith(row);
      else if (!deletedTasks.has(row.id.replace("task-", ""))) {
        body.insertBefore(row, body.children[places[index]] || null);
      }
    });
  }

  const CONTROLS = "a, button, input, select, textarea";

  // What the keyboard is on: the selected task (j/k) and the focused row or control in it.
  function focusedControl(target) {
    const active = document.activeElement;
    const row = active && target.contains(active) ? active.closest("tr[id]") : null;
    const chosen = target.querySelector("[data-task].selected");
    return {
      rowId: row ? row.id : null,
      // -1: the row itself has the focus (a task selected with j/k).
      index: row ? Array.from(row.querySelectorAll(CONTROLS)).indexOf(active) : -1,
      selectedId: chosen ? chosen.id : null,
    };
  }

  function restoreSelection(id) {
    const chosen = id && document.getElementById(id);
    if (chosen && !document.querySelector("[data-task].selected")) {
      chosen.classList.add("selected");
      chosen.setAttribute("aria-current", "true");
    }
  }

  function restoreFocus(focus) {
    restoreSelection(focus.selectedId);
    if (!focus.rowId || document.activeElement !== document.body) return;
    const row = document.getElementById(focus.rowId);
    if (!row) return;
    const control = focus.index < 0 ? row : row.querySelectorAll(CONTROLS)[focus.index];
    if (control) control.focus();
  }

  // A successful htmx write on the list (quick add, complete, edit, delete): refresh the
  // list's rows, count and pager even when no stream is connected.
  document.body.addEventListener("taskdeck:tasks-changed", refreshAll);
})();
