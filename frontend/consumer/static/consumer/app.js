// What every consumer page shares: its embedded data, the one API client and small DOM
// helpers. Plain ES module, no build step (docs/consumer-web.md).
//
// The server view embedded, as JSON: page-config (endpoint and page facts),
// page-operations (documents from graphql/operations/consumer/), page-messages (a human
// message per error code, in the page's language) and page-texts (the page's sentences).

import { Api, ApiError, AUTH_CODES, RETRYABLE, embedded, fmt } from "../frontend/api.js";

export { ApiError, AUTH_CODES, RETRYABLE, fmt };

export const $ = (id) => document.getElementById(id);
export const config = embedded("page-config") || {};
export const texts = embedded("page-texts") || {};
export const messages = embedded("page-messages") || {};
export const language = document.documentElement.lang || "zh-hans";

// The API answers in the page's language (its own messages: per-question errors).
export const api = new Api({
  endpoint: config.api || "/graphql/",
  operations: embedded("page-operations") || {},
  messages,
  prefix: "loyalty",
  headers: () => ({ "Accept-Language": language }),
});

const numbers = new Intl.NumberFormat(language);
const dates = new Intl.DateTimeFormat(language, { dateStyle: "medium" });
const times = new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short" });

export const formatPoints = (points) => numbers.format(Number(points));
export const pointsText = (points) => fmt(texts.points, { points: formatPoints(points) });
export const formatDate = (iso) => (iso ? dates.format(new Date(iso)) : "");
export const formatTime = (iso) => (iso ? times.format(new Date(iso)) : "");

/** The human message for an error (an ApiError, or a payload's `{code, message}`). */
export function messageFor(error) {
  if (!error) return messages.UNEXPECTED;
  return api.message(error.code || "UNEXPECTED", error.message || "");
}

export function show(id, visible = true) {
  $(id).hidden = !visible;
}

export function setText(id, text) {
  const element = $(id);
  element.textContent = text || "";
  element.hidden = !text;
}

/** Polite progress for screen readers ("Loading…"); the base layout's #progress. */
export function announce(text) {
  $("progress").textContent = text || "";
}

/** An assertive alert; cleared first, so the same message twice is read twice. */
export function showAlert(text) {
  const alert = $("alert");
  alert.textContent = "";
  if (text) window.setTimeout(() => (alert.textContent = text), 50);
}

export function clearAlert() {
  $("alert").textContent = "";
}

export function focusOn(id) {
  window.requestAnimationFrame(() => $(id)?.focus());
}

/** Disable a button and show `label` while `work` runs; errors are the caller's. */
export async function busy(button, label, work) {
  const original = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  if (label) button.textContent = label;
  announce(label);
  clearAlert();
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = original;
    announce("");
  }
}

/** Build an element: el("li", {className: "x"}, "text", child). */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name in element && name !== "list") element[name] = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== "") element.append(child);
  }
  return element;
}

/**
 * Page through a Relay connection: `load(after)` returns the connection; `render(node)`
 * returns an element for the list. The "Show more" button fetches the next page.
 */
export function pager({ list, more, empty, emptyText, load, render }) {
  let after = null;
  const next = async () => {
    const connection = await load(after);
    const nodes = connection.edges.map((edge) => edge.node).filter(Boolean);
    for (const node of nodes) $(list).append(render(node));
    after = connection.pageInfo.endCursor;
    show(more, connection.pageInfo.hasNextPage);
    if (empty) setText(empty, $(list).children.length ? "" : emptyText);
    $(list).removeAttribute("aria-busy");
    return nodes;
  };
  const reset = () => {
    after = null;
    $(list).replaceChildren();
    $(list).setAttribute("aria-busy", "true");
  };
  $(more).addEventListener("click", () =>
    busy($(more), texts.loading, next).catch((error) => showAlert(messageFor(error))),
  );
  return { next, reset };
}

/** Report an unexpected failure of page start-up instead of leaving a blank page. */
export function start(main) {
  main().catch((error) => {
    console.warn(error); // eslint-disable-line no-console
    showAlert(messageFor(error instanceof ApiError ? error : null));
  });
}
