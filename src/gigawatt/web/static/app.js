// The dashboard's only script: sortable tables, the run page's live progress, the editor's
// error line, the start-run form's fields by kind. Plain DOM, no framework, no network but this server.
"use strict";

function sortTable(table, column, th) {
  const body = table.tBodies[0];
  const ascending = th.getAttribute("aria-sort") !== "ascending";
  for (const other of table.tHead.rows[0].cells) other.removeAttribute("aria-sort");
  th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  const key = (row) => {
    const cell = row.cells[column];
    const raw = cell.dataset.sort;
    return raw !== undefined ? Number(raw) : cell.textContent.trim().toLowerCase();
  };
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const x = key(a), y = key(b);
    const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return ascending ? order : -order;
  });
  body.append(...rows);
}

function setupSortable() {
  for (const table of document.querySelectorAll("table.sortable")) {
    Array.from(table.tHead.rows[0].cells).forEach((th, i) => {
      th.tabIndex = 0;
      th.addEventListener("click", () => sortTable(table, i, th));
      th.addEventListener("keydown", (e) => { if (e.key === "Enter") sortTable(table, i, th); });
    });
  }
}

function setupLive() {
  const live = document.getElementById("live");
  if (!live) return;
  const id = live.dataset.run;
  const log = document.getElementById("log");
  let after = 0;
  const started = Date.now();
  async function poll() {
    let data;
    try {
      const response = await fetch(`/runs/${id}/live?after=${after}`, { headers: { Accept: "application/json" } });
      if (response.status === 401) { window.location = "/signin"; return; }
      data = await response.json();
    } catch (e) {
      setTimeout(poll, 2000);   // the server restarting: try again
      return;
    }
    const status = document.getElementById("status");
    status.textContent = data.status;
    status.className = `badge ${data.status}`;
    document.getElementById("phase").textContent = data.phase || "";
    document.getElementById("progress").value = data.progress;
    document.getElementById("percent").textContent = `${Math.round(data.progress * 100)}%`;
    if (data.running_s !== null) document.getElementById("elapsed").textContent = `${data.running_s.toFixed(1)} s`;
    const error = document.getElementById("error");
    error.hidden = !data.error;
    error.textContent = data.error || "";
    if (data.lines.length) {
      const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.append(data.lines.map((l) => `${new Date(l.at * 1000).toISOString().slice(11, 19)}  ${l.line}\n`).join(""));
      if (atEnd) log.scrollTop = log.scrollHeight;
      after = data.next_after;
    }
    if (data.finished) {
      document.getElementById("result-link").hidden = !data.result_url;
      const cancel = document.getElementById("cancel-form");
      if (cancel) cancel.remove();
      live.dataset.finished = "true";
      live.dataset.polled = "done";   // the log is complete on the page
      return;
    }
    const cancel = document.getElementById("cancel");
    if (cancel && data.cancel_requested) cancel.textContent = "Cancel requested";
    setTimeout(poll, Date.now() - started < 60000 ? 500 : 2000);
  }
  poll();
}

function setupEditor() {
  const area = document.getElementById("yaml");
  if (!area || !area.dataset.errorLine) return;
  const line = Number(area.dataset.errorLine);
  const lines = area.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  area.focus();
  area.setSelectionRange(start, start + (lines[line - 1] || "").length);
  const lineHeight = area.scrollHeight / Math.max(lines.length, 1);
  area.scrollTop = Math.max(0, (line - 5) * lineHeight);
  const bad = document.querySelector(".bad-line");
  if (bad) bad.scrollIntoView({ block: "center" });
}

function setupStartForm() {
  const kind = document.getElementById("run-kind");
  if (!kind) return;
  const show = () => {
    for (const set of document.querySelectorAll("fieldset[data-kind]")) {
      set.hidden = set.dataset.kind !== kind.value;
      set.disabled = set.hidden;     // hidden fields are not sent
    }
  };
  kind.addEventListener("change", show);
  show();
}

function setupLiveRows() {
  // queued and running rows of a runs list: one request for all of them every 2 s until they finish
  async function poll() {
    const rows = new Map(Array.from(document.querySelectorAll("tr[data-live]")).map((r) => [r.dataset.live, r]));
    if (!rows.size) return;
    try {
      const response = await fetch(`/runs/progress?ids=${Array.from(rows.keys()).join(",")}`);
      if (!response.ok) return;
      const data = await response.json();
      for (const [id, run] of Object.entries(data)) {
        const row = rows.get(id);
        const badge = row.querySelector(".badge");
        badge.textContent = run.status;
        badge.className = `badge ${run.status}`;
        row.querySelector("td.progress").textContent = `${Math.round(run.progress * 100)}%`;
        if (run.finished) {
          row.removeAttribute("data-live");
          if (run.status === "succeeded") badge.insertAdjacentHTML("afterend", ` <a href="/runs/${id}/result">result</a>`);
        }
      }
    } catch (e) {
      // the server restarting: try again on the next tick
    }
    setTimeout(poll, 2000);
  }
  setTimeout(poll, 2000);
}

document.addEventListener("DOMContentLoaded", () => {
  setupSortable();
  setupLive();
  setupLiveRows();
  setupEditor();
  setupStartForm();
});
