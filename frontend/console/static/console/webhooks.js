// Webhooks: the merchant's endpoints (admins add, change, rotate the secret of and
// delete them), and every delivery with its status, attempts and last answer
// (admins redeliver). A new or rotated secret is shown once.

import {
  $, announce, api, atLeast, badge, checkboxes, checkedValues, clearErrors, config, dateTime, el,
  fail, mutate, number, onSubmit, pager, secretBox, start, statusBadge, t, table, ApiError,
} from "./console.js";

const EVENT_TYPES = config.eventTypes; // [{ value: "CODE_CLAIMED", type: "code.claimed" }]
const eventChoices = EVENT_TYPES.map((e) => ({ value: e.value, label: t(`event_${e.value}`), hint: e.type }));
const POLL_MS = 1000;
const POLL_LIMIT = 60; // about a minute: a worker that is down leaves the row pending

let role = "VIEWER";
let live = new Map(); // the endpoints not deleted, by id
let reloadEndpoints = null;
let reloadDeliveries = null;

function shortId(id) {
  return id.replace(/[^A-Za-z0-9]/g, "");
}

function eventBadges(values) {
  return el(
    "span",
    { class: "badges" },
    values.map((value) => {
      const type = EVENT_TYPES.find((e) => e.value === value);
      const item = badge(type?.type ?? value);
      item.title = t(`event_${value}`);
      return item;
    }),
  );
}

// --- Endpoints ---------------------------------------------------------------------

function editForm(endpoint, item) {
  const base = `edit-${shortId(endpoint.id)}`;
  const form = el(
    "form",
    { class: "endpoint-edit", novalidate: true },
    el(
      "div",
      { class: "field" },
      el("label", { for: `${base}-url` }, t("url")),
      el("input", { id: `${base}-url`, name: "url", type: "url", inputmode: "url", maxlength: "500", value: endpoint.url, required: true }),
    ),
    el(
      "div",
      { class: "field" },
      el("label", { for: `${base}-description` }, t("description_optional")),
      el("input", { id: `${base}-description`, name: "description", maxlength: "200", value: endpoint.description }),
    ),
    checkboxes("eventTypes", t("events"), eventChoices, endpoint.eventTypes, `${base}-event`),
    el(
      "div",
      { class: "field checkbox-inline" },
      el("input", { type: "checkbox", id: `${base}-active`, name: "isActive", checked: endpoint.isActive }),
      el("label", { for: `${base}-active` }, t("endpoint_active_label")),
    ),
    el(
      "div",
      { class: "actions" },
      el("button", { type: "submit", class: "button" }, t("save")),
      el("button", { type: "button", class: "link", onclick: () => { form.remove(); item.querySelector(".edit")?.focus(); } }, t("cancel")),
    ),
  );
  onSubmit(form, async (values) => {
    const eventTypes = checkedValues(form, "eventTypes");
    if (!eventTypes.length) throw new ApiError("INVALID_EVENT_TYPES", "", "eventTypes");
    await mutate("WebhookEndpointUpdate", {
      id: endpoint.id,
      url: values.url.trim(),
      description: values.description.trim(),
      eventTypes,
      isActive: Boolean(values.isActive),
    });
    announce(t("saved"));
    await reloadEndpoints(true);
  });
  return form;
}

function endpointActions(endpoint, item) {
  const actions = [];
  const show = el("button", { type: "button", class: "button secondary" }, t("show_deliveries"));
  show.addEventListener("click", () => {
    $("#d-endpoint").value = endpoint.id;
    reloadDeliveries(true);
    $("#deliveries-title").scrollIntoView({ block: "start" });
  });
  actions.push(show);
  if (!atLeast(role, "ADMIN")) return actions;

  const edit = el("button", { type: "button", class: "button secondary edit" }, t("edit"));
  edit.addEventListener("click", () => {
    const open = item.querySelector(".endpoint-edit");
    if (open) return open.querySelector("input")?.focus();
    const form = editForm(endpoint, item);
    item.append(form);
    form.querySelector("input").focus();
  });
  const rotate = el("button", { type: "button", class: "button secondary" }, t("rotate_secret"));
  rotate.addEventListener("click", async () => {
    if (!window.confirm(t("confirm_rotate", { url: endpoint.url }))) return;
    rotate.disabled = true;
    try {
      const { endpoint: changed, secret } = await mutate("WebhookEndpointUpdate", { id: endpoint.id, rotateSecret: true });
      secretBox($("#new-secret"), {
        title: t("secret_rotated", { url: changed.url }),
        secret,
        hint: t("secret_usage"),
      });
      await reloadEndpoints(true);
    } catch (error) {
      rotate.disabled = false;
      fail(error);
    }
  });
  const remove = el("button", { type: "button", class: "button danger" }, t("delete"));
  remove.addEventListener("click", async () => {
    if (!window.confirm(t("confirm_delete_endpoint", { url: endpoint.url }))) return;
    remove.disabled = true;
    try {
      await mutate("WebhookEndpointDelete", { id: endpoint.id });
      announce(t("endpoint_deleted", { url: endpoint.url }));
      await reloadEndpoints(true);
      await reloadDeliveries(true);
    } catch (error) {
      remove.disabled = false;
      fail(error);
    }
  });
  actions.push(edit, rotate, remove);
  return actions;
}

function showEndpoints(rows) {
  live = new Map(rows.map((e) => [e.id, e]));
  const filter = $("#d-endpoint");
  const chosen = filter.value;
  filter.replaceChildren(
    el("option", { value: "" }, t("all_endpoints")),
    ...rows.map((e) => el("option", { value: e.id, selected: e.id === chosen }, e.url)),
  );
  $("#endpoints").replaceChildren(
    rows.length
      ? el(
          "ul",
          { class: "endpoints" },
          rows.map((endpoint) => {
            const item = el(
              "li",
              { class: "endpoint", "data-endpoint": endpoint.id },
              el(
                "div",
                { class: "endpoint-head" },
                el("h3", { class: "code endpoint-url" }, endpoint.url),
                endpoint.isActive ? badge(t("endpoint_active"), "status-active") : badge(t("endpoint_paused"), "status-paused"),
              ),
              endpoint.description ? el("p", { class: "description" }, endpoint.description) : null,
              el("p", {}, eventBadges(endpoint.eventTypes)),
              el("p", { class: "hint" }, t("endpoint_meta", { hint: endpoint.secretHint, date: dateTime(endpoint.createdAt) })),
            );
            item.append(el("div", { class: "actions" }, endpointActions(endpoint, item)));
            return item;
          }),
        )
      : el("p", { class: "hint" }, t("no_endpoints")),
  );
}

// --- Deliveries ------------------------------------------------------------------

function lastAnswer(d) {
  if (d.lastStatusCode) {
    const tone = d.lastStatusCode >= 200 && d.lastStatusCode < 300 ? "status-succeeded" : "status-failed";
    const status = `HTTP ${d.lastStatusCode}`;
    // The error of an HTTP failure is just its status; say it once.
    const error = d.lastError && d.lastError !== status ? el("span", { class: "hint block" }, d.lastError) : null;
    return el("span", {}, badge(status, tone), error);
  }
  return d.lastError ? el("span", { class: "hint" }, d.lastError) : "—";
}

function payloadText(d) {
  try {
    return JSON.stringify(typeof d.payload === "string" ? JSON.parse(d.payload) : d.payload, null, 2);
  } catch {
    return String(d.payload); // shown as received
  }
}

/** Show or hide the delivery's body in a full-width row under it. */
function payloadToggle(d) {
  if (d.payload === null || d.payload === undefined) return el("span", { class: "hint" }, t("payload_hidden"));
  const button = el(
    "button",
    { type: "button", class: "link", "aria-expanded": "false", "aria-controls": `payload-${shortId(d.id)}` },
    t("show_payload"),
  );
  button.addEventListener("click", () => {
    const row = document.getElementById(`payload-${shortId(d.id)}`);
    const open = row.hidden;
    row.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    button.textContent = open ? t("hide_payload") : t("show_payload");
  });
  return button;
}

function payloadRow(d, span) {
  return el(
    "tr",
    { class: "payload-row", id: `payload-${shortId(d.id)}`, hidden: true },
    el(
      "td",
      { colspan: String(span) },
      el("p", { class: "hint" }, t("payload_of", { id: d.eventId })),
      el("pre", { class: "payload" }, payloadText(d)),
    ),
  );
}

function nextAttempt(d) {
  if (d.status === "FAILED" || d.status === "PENDING") return dateTime(d.nextAttemptAt);
  return "—";
}

function redeliverButton(d) {
  if (!atLeast(role, "ADMIN")) return null;
  if (!live.has(d.endpoint.id)) return el("span", { class: "hint" }, t("endpoint_deleted_short"));
  const button = el("button", { type: "button", class: "button secondary" }, t("redeliver"));
  button.setAttribute("aria-label", t("redeliver_event", { type: eventName(d.eventType), id: d.eventId }));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const { delivery } = await mutate("WebhookRedeliver", { id: d.id });
      Object.assign(d, delivery);
      updateRow(d);
      announce(t("redelivering"));
      await follow(d);
    } catch (error) {
      button.disabled = false;
      fail(error);
    }
  });
  return button;
}

function eventName(value) {
  return EVENT_TYPES.find((e) => e.value === value)?.type ?? value;
}

// The endpoint column only when deliveries of every endpoint are listed.
function columns() {
  const all = !$("#d-endpoint").value;
  return [
    [t("col_created"), (d) => el("span", { class: "nowrap" }, dateTime(d.createdAt))],
    [t("col_event"), (d) => el("span", {}, el("span", { class: "code" }, eventName(d.eventType)), el("br"), el("span", { class: "code hint small" }, d.eventId))],
    all ? [t("col_endpoint"), (d) => el("span", { class: "code break" }, d.endpoint.url)] : null,
    [t("col_status"), (d) => statusBadge("delivery", d.status)],
    [t("col_attempts"), (d) => number(d.attempts)],
    [t("col_next_attempt"), nextAttempt],
    [t("col_last_answer"), lastAnswer],
    [t("col_actions"), (d) => el("div", { class: "order-actions" }, payloadToggle(d), redeliverButton(d))],
  ].filter(Boolean);
}

/** Rows of the deliveries, each followed by its (hidden) payload row. */
function deliveryRows(rows) {
  const shown = columns();
  const wrap = table(shown, rows, t("deliveries"));
  [...wrap.querySelector("tbody").rows].forEach((tr, i) => {
    tr.dataset.delivery = rows[i].id;
    tr.after(payloadRow(rows[i], shown.length));
  });
  return wrap;
}

function showDeliveries(rows) {
  $("#deliveries").replaceChildren(rows.length ? deliveryRows(rows) : el("p", { class: "hint" }, t("no_deliveries")));
}

/** Redraw one delivery's row in place (after redelivering, while it is being sent). */
function updateRow(d) {
  const row = document.querySelector(`#deliveries tr[data-delivery="${CSS.escape(d.id)}"]`);
  if (!row) return;
  const wasOpen = row.nextElementSibling?.hidden === false;
  const [fresh, payload] = deliveryRows([d]).querySelectorAll("tbody tr");
  row.nextElementSibling?.remove();
  row.replaceWith(fresh);
  fresh.after(payload);
  if (wasOpen) fresh.querySelector("[aria-controls]")?.click();
}

/**
 * Read one delivery again until its attempt is over (not PENDING), redrawing its row.
 * Read at least once: the redelivery's answer may already be out of date (a fast
 * worker), and it does not carry the last HTTP status.
 */
async function follow(d) {
  for (let i = 0; i < POLL_LIMIT; i += 1) {
    const { node } = await api.call("WebhookDelivery", { id: d.id }, { auth: true });
    if (!node) return;
    Object.assign(d, node);
    updateRow(d);
    if (d.status !== "PENDING") break;
    await new Promise((resolve) => { setTimeout(resolve, POLL_MS); });
  }
  announce(t(`delivery_${d.status}`));
}

async function main() {
  ({ role } = await start());
  reloadEndpoints = pager(
    $("#endpoints-more"),
    async (after) => (await api.call("WebhookEndpoints", { first: 20, after }, { auth: true })).webhookEndpoints,
    showEndpoints,
  );
  const endpointFilter = $("#d-endpoint");
  const statusFilter = $("#d-status");
  reloadDeliveries = pager(
    $("#deliveries-more"),
    async (after) =>
      (
        await api.call(
          "WebhookDeliveries",
          { first: 20, after, endpointId: endpointFilter.value || null, status: statusFilter.value || null },
          { auth: true },
        )
      ).webhookDeliveries,
    showDeliveries,
  );
  endpointFilter.addEventListener("change", () => reloadDeliveries(true));
  statusFilter.addEventListener("change", () => reloadDeliveries(true));

  const form = $("#create-endpoint");
  $("#event-choices").replaceChildren(checkboxes("eventTypes", t("events"), eventChoices, [], "w-event"));
  onSubmit(form, async (values) => {
    const eventTypes = checkedValues(form, "eventTypes");
    if (!eventTypes.length) throw new ApiError("INVALID_EVENT_TYPES", "", "eventTypes");
    const { endpoint, secret } = await mutate("WebhookEndpointCreate", {
      url: values.url.trim(),
      description: values.description.trim(),
      eventTypes,
    });
    form.reset();
    clearErrors(form);
    secretBox($("#new-secret"), {
      title: t("endpoint_created", { url: endpoint.url }),
      secret,
      hint: t("secret_usage"),
    });
    await reloadEndpoints(true);
  });
  await reloadEndpoints();
  await reloadDeliveries();
}

main();
