// What every console screen shares: the API client, the session and merchant, roles,
// forms with inline errors, formatting, charts. Plain ES module, no build step.
//
// The page embeds (frontend/console/views.py): the operations it may send, one error
// message per API code and the console's texts, all in the page's language.

import { Api, ApiError, AUTH_CODES, embedded, fmt, load, save } from "/static/frontend/api.js";

export { ApiError, fmt };

export const config = embedded("console-config");
export const texts = embedded("texts") || {};
const MERCHANT_KEY = "loyalty.console.merchant";
const language = document.documentElement.lang || "zh-hans";

export const api = new Api({
  endpoint: config.api,
  operations: embedded("operations"),
  messages: embedded("error-messages") || {},
  // Separate from the consumer web's tokens: a consumer session never signs in staff.
  prefix: "loyalty.console",
  headers: () => {
    const slug = load("localStorage", MERCHANT_KEY);
    return slug ? { "X-Merchant": slug } : {};
  },
});

export function t(key, values = {}) {
  return fmt(texts[key] ?? key, values);
}

// --- Roles (the server remains the authority; the console only hides what would fail) ---

export const ROLES = ["VIEWER", "OPERATOR", "ADMIN", "OWNER"];

export function atLeast(role, needed) {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** Hide elements marked `data-role="OPERATOR"` (etc.) from members below that role. */
export function applyRoles(root, role) {
  for (const element of root.querySelectorAll("[data-role]")) {
    element.hidden = !atLeast(role, element.dataset.role);
  }
}

// --- DOM --------------------------------------------------------------------------

/** `el("a", { href: "/x", class: "button" }, "text", child)`; null/false children skipped. */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

/** Status messages for screen readers (and a visible alert for failures). */
export function announce(message) {
  $("#progress").textContent = message;
}

export function alertError(message) {
  const alert = $("#alert");
  alert.textContent = message;
  if (message) alert.scrollIntoView({ block: "nearest" });
}

// --- Formatting ---------------------------------------------------------------------

const numbers = new Intl.NumberFormat(language);
const dateTimes = new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short" });
const dates = new Intl.DateTimeFormat(language, { dateStyle: "medium" });
const clock = new Intl.DateTimeFormat(language, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

export function number(value) {
  return numbers.format(Number(value ?? 0));
}

export function points(value) {
  return t("points", { points: number(value) });
}

/** Money in minor units: "¥1,000.00". */
export function money(minor, currency) {
  const digits = currency === "JPY" ? 0 : 2;
  return new Intl.NumberFormat(language, { style: "currency", currency, minimumFractionDigits: digits })
    .format(Number(minor) / 10 ** digits);
}

/** The budget figures of the dashboard and the ledger: points, and what they cost. */
export function showBudget(budget) {
  const figure = (id, value, minor) => {
    const cell = $(id);
    cell.replaceChildren(points(value));
    if (budget.money) {
      cell.append(" ", el("span", { class: "hint money" }, t("budget_money", { money: money(minor, budget.money.currency) })));
    }
  };
  figure("#budget-available", budget.available, budget.money?.availableMinor);
  figure("#budget-reserved", budget.reserved, budget.money?.reservedMinor);
}

export function dateTime(value) {
  return value ? dateTimes.format(new Date(value)) : "—";
}

export function date(value) {
  return value ? dates.format(new Date(`${value}T00:00:00`)) : "—";
}

/** A time of day, "14:05" (for "counted at"). */
export function timeOfDay(value) {
  return value ? clock.format(new Date(value)) : "—";
}

/** A day on a chart's axis, short: "11/5" (month/day, the year is in the title). */
export function shortDate(value) {
  if (!value) return "—";
  const day = new Date(`${value}T00:00:00`);
  return `${day.getMonth() + 1}/${day.getDate()}`;
}

export function percent(value, digits = 1) {
  return `${Number(value ?? 0).toFixed(digits)}%`;
}

/**
 * A Copy button for a read-only `field` (a secret, a share link): copies its value and
 * says so in `status` (an element with role=status). Returns the button.
 */
export function copyButton(field, status) {
  const copy = el("button", { type: "button", class: "button secondary" }, t("copy"));
  copy.addEventListener("click", async () => {
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      status.textContent = t("copied");
    } catch {
      // No clipboard API (plain http, or permission refused): the text is selected.
      status.textContent = document.execCommand?.("copy") ? t("copied") : t("copy_yourself");
    }
  });
  return copy;
}

/**
 * A secret shown once (an API key, a webhook signing secret): a read-only field to copy
 * from, a Copy button and the warning that it will not be shown again. `Done` removes
 * it from the page. Put into `slot` (emptied first); returns the box.
 */
export function secretBox(slot, { title, secret, hint }) {
  const id = `secret-${Math.random().toString(36).slice(2, 8)}`;
  const field = el("input", {
    id,
    class: "code secret-value",
    readonly: true,
    value: secret,
    spellcheck: "false",
    autocomplete: "off",
  });
  const copied = el("span", { class: "hint", role: "status" });
  const copy = copyButton(field, copied);
  const done = el("button", { type: "button", class: "link" }, t("secret_done"));
  const box = el(
    "div",
    { class: "secret-box", role: "region", "aria-labelledby": `${id}-title` },
    el("h3", { id: `${id}-title` }, title),
    el("p", { class: "notice" }, t("secret_once")),
    hint ? el("p", { class: "hint" }, hint) : null,
    el("label", { for: id }, t("secret_label")),
    el("div", { class: "secret-row" }, field, copy),
    el("div", { class: "actions" }, copied, done),
  );
  done.addEventListener("click", () => {
    if (!window.confirm(t("confirm_secret_done"))) return;
    box.remove();
  });
  slot.replaceChildren(box);
  box.scrollIntoView({ block: "nearest" });
  field.focus();
  field.select();
  return box;
}

/**
 * Checkboxes for a list of choices, in a fieldset marked `data-field=name`: an API error
 * on that field (e.g. `scopes`) is shown after the whole group, not after one box.
 */
export function checkboxes(name, legend, choices, checked = [], idPrefix = name) {
  return el(
    "fieldset",
    { class: "choices", "data-field": name, id: `${idPrefix}-group`, tabindex: "-1" },
    el("legend", {}, legend),
    choices.map((choice) => {
      const id = `${idPrefix}-${choice.value}`;
      return el(
        "div",
        { class: "choice" },
        el("input", { type: "checkbox", id, name: `choice-${name}`, value: choice.value, checked: checked.includes(choice.value) }),
        el("label", { for: id }, choice.label, choice.hint ? el("span", { class: "hint" }, ` ${choice.hint}`) : null),
      );
    }),
  );
}

/** The values of the checked boxes named `name` inside `form`. */
export function checkedValues(form, name) {
  return [...form.querySelectorAll(`input[name="choice-${CSS.escape(name)}"]:checked`)].map((box) => box.value);
}

export function badge(text, tone = "") {
  return el("span", { class: `badge ${tone}` }, text);
}

export function statusBadge(prefix, status) {
  return badge(t(`${prefix}_${status}`), `status-${String(status).toLowerCase()}`);
}

export function bytes(size) {
  if (!size) return "";
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(0)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

export function nodes(connection) {
  return (connection?.edges || []).map((edge) => edge.node);
}

/**
 * Page through a connection with a "Load more" button.
 * `fetch(after)` returns the connection; `show(rows)` draws every row loaded so far.
 * Returns `more(reset)`: `more(true)` starts again (a filter changed); an answer to an
 * older request that arrives late is dropped, so rows of two filters never mix.
 */
export function pager(button, fetch, show) {
  let after = null;
  let rows = [];
  let generation = 0;
  async function more(reset = false) {
    if (reset) {
      generation += 1;
      after = null;
      rows = [];
    }
    const asked = generation;
    try {
      const page = await fetch(after);
      if (asked !== generation) return;
      rows.push(...nodes(page));
      after = page.pageInfo.endCursor;
      button.hidden = !page.pageInfo.hasNextPage;
      show(rows);
    } catch (error) {
      fail(error);
    }
  }
  button.addEventListener("click", () => more());
  return more;
}

export function param(name) {
  return new URLSearchParams(window.location.search).get(name);
}

export function link(urlName, query = null) {
  const base = config.urls[urlName];
  return query ? `${base}?${new URLSearchParams(query)}` : base;
}

// --- Session ------------------------------------------------------------------------

function toSignIn() {
  const next = window.location.pathname + window.location.search;
  window.location.assign(`${config.urls.sign_in}?${new URLSearchParams({ next })}`);
}

/** Failures that end the screen: sign-in needed, merchant gone, or a message. */
export function fail(error) {
  const code = error instanceof ApiError ? error.code : "UNEXPECTED";
  if (AUTH_CODES.has(code) && code !== "PERMISSION_DENIED") {
    api.tokens.clear();
    toSignIn();
    return;
  }
  if (code === "MERCHANT_NOT_FOUND" || code === "MERCHANT_REQUIRED") {
    // The stored merchant is not one of the member's (removed, or another account).
    save("localStorage", MERCHANT_KEY, null);
  }
  if (!(error instanceof ApiError)) console.warn(error); // eslint-disable-line no-console
  alertError(api.message(code, error.message));
}

export function setMerchant(slug) {
  save("localStorage", MERCHANT_KEY, slug);
}

// Language links keep the page's other query parameters (the object's ?id=).
function keepQueryInLanguageLinks() {
  for (const anchor of document.querySelectorAll(".languages a[hreflang]")) {
    const query = new URLSearchParams(window.location.search);
    query.set("lang", anchor.hreflang);
    anchor.href = `?${query}`;
  }
}

/**
 * Start a signed-in screen: who is signed in, at which merchant, with which role.
 * Resolves to `{ me, merchant, role, budget }`, or never (sent to sign-in).
 */
export async function start() {
  keepQueryInLanguageLinks();
  if (!api.tokens.present) {
    toSignIn();
    return new Promise(() => {});
  }
  try {
    const { me } = await api.call("Me", {}, { auth: true });
    if (!me) throw new ApiError("UNAUTHENTICATED");
    const memberships = nodes(me.memberships);
    if (!memberships.length) throw new ApiError("MERCHANT_NOT_FOUND");
    const stored = load("localStorage", MERCHANT_KEY);
    const current =
      memberships.find((m) => m.merchant.slug === stored) || memberships[0];
    setMerchant(current.merchant.slug);
    if (APPLICATIONS.has(current.merchant.status)) {
      // Not approved: the API refuses everything but who and where, so say where it stands.
      renderAccount(me, memberships, current, current.role);
      showApplication(me, current.merchant);
      return new Promise(() => {});
    }
    const data = await api.call("Merchant", {}, { auth: true });
    renderAccount(me, memberships, current, data.myRole);
    document.body.dataset.role = data.myRole;
    const screen = $("#screen");
    applyRoles(screen, data.myRole);
    applyRoles($("nav.screens") || document.createElement("nav"), data.myRole);
    $("#booting").remove();
    screen.hidden = false;
    return { me, merchant: data.merchant, role: data.myRole, budget: data.budget };
  } catch (error) {
    $("#booting").textContent = "";
    fail(error);
    return new Promise(() => {});
  }
}

// A merchant that is only an application (a self-service sign-up): under review, or declined.
const APPLICATIONS = new Set(["PENDING", "REJECTED"]);

function showApplication(me, merchant) {
  const pending = merchant.status === "PENDING";
  const values = { name: merchant.name, email: me.email };
  document.body.classList.add("bare");
  document.querySelector("nav.screens")?.remove(); // no screen opens before approval
  const screen = $("#screen");
  screen.replaceChildren(
    el(
      "section",
      { class: "card narrow", id: "application", "aria-labelledby": "application-title" },
      el(
        "h1",
        { id: "application-title" },
        t(pending ? "application_pending_title" : "application_rejected_title"),
      ),
      el("p", {}, t(pending ? "application_pending" : "application_rejected", values)),
    ),
  );
  $("#booting").remove();
  screen.hidden = false;
}

function renderAccount(me, memberships, current, role) {
  const select = $("#merchant-switch");
  select.replaceChildren(
    ...memberships.map((m) =>
      el("option", { value: m.merchant.slug, selected: m === current }, m.merchant.name),
    ),
  );
  // A member of one merchant has nothing to switch: show the name only.
  select.disabled = memberships.length < 2;
  select.addEventListener("change", () => {
    setMerchant(select.value);
    // Objects belong to one merchant: go to the dashboard of the one chosen.
    window.location.assign(config.urls.dashboard);
  });
  $("#role-badge").textContent = t(`role_${role}`);
  $("#role-badge").title = t("signed_in_as", { email: me.email });
  $("#sign-out").addEventListener("click", async () => {
    try {
      await api.call("SignOut", {}, { auth: true });
    } catch {
      /* signed out locally either way */
    }
    api.tokens.clear();
    window.location.assign(config.urls.sign_in);
  });
  $("#account").hidden = false;
}

// --- Forms --------------------------------------------------------------------------

function errorSlot(form) {
  let slot = form.querySelector(".form-error");
  if (!slot) {
    slot = el("p", { class: "form-error", role: "alert" });
    form.prepend(slot);
  }
  return slot;
}

export function clearErrors(form) {
  errorSlot(form).textContent = "";
  for (const field of form.querySelectorAll("[aria-invalid]")) {
    field.removeAttribute("aria-invalid");
    const note = document.getElementById(`${field.id}-error`);
    if (note) note.remove();
    const described = (field.getAttribute("aria-describedby") || "")
      .split(" ")
      .filter((id) => id && id !== `${field.id}-error`)
      .join(" ");
    if (described) field.setAttribute("aria-describedby", described);
    else field.removeAttribute("aria-describedby");
  }
}

// A field by name or data-field; `questions[2].options` falls back to `questions[2]`.
function findField(form, name) {
  for (let candidate = name; candidate; ) {
    const found =
      form.querySelector(`[name="${CSS.escape(candidate)}"]`) ||
      form.querySelector(`[data-field="${CSS.escape(candidate)}"]`);
    if (found) return found;
    const cut = Math.max(candidate.lastIndexOf("."), candidate.lastIndexOf("["));
    candidate = cut > 0 ? candidate.slice(0, cut) : "";
  }
  return null;
}

/** Show an API error next to its field (by `name`, or `data-field`), else on top. */
export function showError(form, error) {
  const code = error instanceof ApiError ? error.code : "UNEXPECTED";
  const message = api.message(code, error.message);
  const field = error.field ? findField(form, error.field) : null;
  if (field && field.id) {
    field.setAttribute("aria-invalid", "true");
    const note = el("p", { class: "field-error", id: `${field.id}-error` }, message);
    field.insertAdjacentElement("afterend", note);
    const described = field.getAttribute("aria-describedby");
    field.setAttribute("aria-describedby", described ? `${described} ${note.id}` : note.id);
    field.focus();
  } else {
    errorSlot(form).textContent = message;
  }
}

/**
 * Run a form's submission: button disabled meanwhile, errors shown inline.
 * `action(values)` returns a mutation payload (checked) or anything.
 */
export function onSubmit(form, action) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const button = form.querySelector("button[type=submit]");
    const label = button?.textContent;
    if (button) {
      button.disabled = true;
      button.textContent = t("saving");
    }
    try {
      await action(Object.fromEntries(new FormData(form)));
    } catch (error) {
      if (error instanceof ApiError && (AUTH_CODES.has(error.code) && error.code !== "PERMISSION_DENIED")) {
        fail(error);
      } else {
        showError(form, error);
      }
    } finally {
      if (button) {
        button.disabled = false;
        button.textContent = label;
      }
    }
  });
}

/** A mutation that must succeed: its payload, or the payload's first error thrown. */
export async function mutate(name, variables) {
  const data = await api.call(name, variables, { auth: true });
  return api.check(Object.values(data)[0]);
}

/** A whole number the form must have: else REQUIRED on that field (before any request). */
export function requiredInt(values, name) {
  const value = intOrNull(values[name]);
  if (value === null || Number.isNaN(value)) throw new ApiError("REQUIRED", "", name);
  return value;
}

export function intOrNull(value) {
  const text = String(value ?? "").trim();
  return text === "" ? null : Number.parseInt(text, 10);
}

/** A `datetime-local` value as an ISO instant in the browser's zone, or null. */
export function instantOrNull(value) {
  return value ? new Date(value).toISOString() : null;
}

export function localInput(value) {
  if (!value) return "";
  const d = new Date(value);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

// --- Charts (Chart.js, loaded by the page as a classic script on chart screens) ----

const charts = new Map();

/** Draw (or redraw) a chart on `canvas`; the canvas keeps a text alternative. */
export function chart(canvas, type, labels, datasets, options = {}) {
  charts.get(canvas)?.destroy();
  const instance = new window.Chart(canvas, {
    type,
    data: { labels, datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: datasets.length > 1 } },
      scales: type === "bar" || type === "line" ? { y: { beginAtZero: true, ticks: { precision: 0 } } } : {},
      ...options,
    },
  });
  charts.set(canvas, instance);
  return instance;
}

export const COLORS = ["#0b57d0", "#146c2e", "#b3261e", "#8a4f00", "#6b3fa0", "#00696f"];

/** A table of rows; `columns` is a list of [header, (row) => cell]. */
export function table(columns, rows, caption = null) {
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      {},
      caption ? el("caption", { class: "visually-hidden" }, caption) : null,
      el("thead", {}, el("tr", {}, columns.map(([header]) => el("th", { scope: "col" }, header)))),
      el(
        "tbody",
        {},
        rows.map((row) =>
          el(
            "tr",
            {},
            columns.map(([header, cell]) => el("td", { "data-label": header }, cell(row))),
          ),
        ),
      ),
    ),
  );
}
