// The demo frontend: reads health and records from the API and adds or deletes records.
"use strict";

const PAGE_SIZE = 10;
let offset = 0;

const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const response = await fetch(path, {
    headers: { "Content-Type": "application/json" },
    ...options,
  });
  const body = response.status === 204 ? null : await response.json();
  if (!response.ok) {
    throw new Error((body && body.error) || `HTTP ${response.status}`);
  }
  return body;
}

function say(text, bad = false) {
  const message = $("message");
  message.textContent = text;
  message.className = bad ? "bad" : "";
}

async function showHealth() {
  const line = $("health");
  try {
    const health = await api("/health");
    const hitRate = (health.cache.hit_rate * 100).toFixed(1);
    line.textContent = `Service ${health.status}, version ${health.version}; ` +
      `cache ${health.cache.hits} hits, ${health.cache.misses} misses (${hitRate}% hit rate)`;
    line.className = "ok";
  } catch (error) {
    line.textContent = `Service unreachable: ${error.message}`;
    line.className = "bad";
  }
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

async function showRecords() {
  const page = await api(`/api/records?limit=${PAGE_SIZE}&offset=${offset}`);
  const rows = page.items.map((record) => {
    const tr = document.createElement("tr");
    tr.append(cell(record.id, "num"), cell(record.name), cell(record.value, "num"),
      cell(new Date(record.updated_at).toLocaleString()));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link";
    remove.textContent = "Delete";
    remove.setAttribute("aria-label", `Delete ${record.name}`);
    remove.addEventListener("click", () => removeRecord(record.id));
    const actions = document.createElement("td");
    actions.append(remove);
    tr.append(actions);
    return tr;
  });
  $("records").replaceChildren(...rows);
  const last = Math.min(offset + page.items.length, page.total);
  $("page-info").textContent = page.total
    ? `${offset + 1}\u2013${last} of ${page.total}` : "No records";
  $("prev").disabled = offset === 0;
  $("next").disabled = page.next === null;
}

async function removeRecord(id) {
  try {
    await api(`/api/records/${id}`, { method: "DELETE" });
    say(`Deleted record ${id}.`);
    await refresh();
  } catch (error) {
    say(`Could not delete record ${id}: ${error.message}`, true);
  }
}

async function addRecord(event) {
  event.preventDefault();
  const form = event.target;
  try {
    const record = await api("/api/records", {
      method: "POST",
      body: JSON.stringify({ name: $("name").value, value: Number($("value").value) }),
    });
    form.reset();
    say(`Added record ${record.id}.`);
    await refresh();
  } catch (error) {
    say(`Could not add the record: ${error.message}`, true);
  }
}

async function refresh() {
  await Promise.all([showRecords(), showHealth()]);
}

document.addEventListener("DOMContentLoaded", () => {
  $("prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE_SIZE); refresh(); });
  $("next").addEventListener("click", () => { offset += PAGE_SIZE; refresh(); });
  $("add").addEventListener("submit", addRecord);
  refresh().catch((error) => say(`Could not load records: ${error.message}`, true));
});
