// The audit log (owners): every mutation made for the merchant, newest first, by staff
// or by an API key, with its outcome and the address it came from.

import {
  $,
  api,
  ApiError,
  atLeast,
  badge,
  clearErrors,
  config,
  dateTime,
  el,
  pager,
  showError,
  start,
  t,
  table,
} from "./console.js";

// Arguments that name what a mutation acted on, most telling first.
const TARGET_ARGUMENTS = ["id", "campaignId", "batchId", "questionnaireId", "orderId", "productId", "endpointId"];
const LABEL_ARGUMENTS = ["email", "name", "title", "url"];

function parsed(value) {
  if (typeof value !== "string") return value ?? {};
  try {
    return JSON.parse(value);
  } catch {
    return {};
  }
}

/** "Campaign 7" from a global ID ("Campaign:7", base64), else the ID as it is. */
function objectName(globalId) {
  try {
    const [type, ...rest] = atob(String(globalId)).split(":");
    if (/^[A-Z][A-Za-z]+$/.test(type) && rest.length) return `${type} ${rest[rest.length - 1]}`;
  } catch {
    /* not base64: shown as given */
  }
  return String(globalId);
}

function target(event) {
  const input = parsed(event.input);
  const parts = [];
  const idName = TARGET_ARGUMENTS.find((name) => typeof input[name] === "string" && input[name]);
  if (idName) parts.push(objectName(input[idName]));
  const labelName = LABEL_ARGUMENTS.find((name) => typeof input[name] === "string" && input[name]);
  if (labelName) parts.push(input[labelName]);
  return parts.length ? parts.join(" · ") : "—";
}

function who(event) {
  if (event.actorKind === "API_KEY") {
    return el("span", {}, badge(t("actor_api_key")), " ", el("span", { class: "code" }, event.actor), event.apiKeyName ? ` (${event.apiKeyName})` : "");
  }
  return event.actor || t("actor_anonymous");
}

function outcome(event) {
  if (event.result === "ok") return badge(t("outcome_ok"), "status-succeeded");
  return el(
    "span",
    {},
    badge(t("outcome_refused", { code: event.result }), "status-failed wrap"),
    el("span", { class: "hint block" }, api.message(event.result, "")),
  );
}

function details(event) {
  const input = parsed(event.input);
  return el(
    "details",
    { class: "payload" },
    el("summary", {}, t("details")),
    el("pre", {}, JSON.stringify(input, null, 2)),
    event.userAgent ? el("p", { class: "hint" }, t("user_agent", { agent: event.userAgent })) : null,
  );
}

/** A date input's day as the instant its day starts in the browser's zone; `next` gives
 * the start of the following day (the end of a day included). */
function dayStart(value, next = false) {
  if (!value) return null;
  const [year, month, day] = value.split("-").map(Number);
  return new Date(year, month - 1, day + (next ? 1 : 0)).toISOString();
}

/** The filter's period, or INVALID_DATES on the last day when it comes first. */
function period(values) {
  const since = dayStart(values.since);
  const until = dayStart(values.until, true);
  if (since && until && since >= until) throw new ApiError("INVALID_DATES", "", "until");
  return { since, until };
}

async function main() {
  const { role } = await start();
  if (!atLeast(role, "OWNER")) {
    $("#audit-not-allowed").hidden = false; // the API answers the log to owners only
    return;
  }
  const select = $("#a-mutation");
  select.append(...config.mutations.map((name) => el("option", { value: name }, name)));
  const form = $("#audit-filter");
  const events = pager(
    $("#events-more"),
    async (after) => {
      const values = Object.fromEntries(new FormData(form));
      const { auditLog } = await api.call(
        "AuditLog",
        {
          first: 50,
          after,
          mutation: values.mutation || null,
          actor: values.actor.trim() || null,
          ...period(values),
        },
        { auth: true },
      );
      return auditLog;
    },
    (rows) =>
      $("#events").replaceChildren(
        rows.length
          ? table(
              [
                [t("col_when"), (e) => el("span", { class: "nowrap" }, dateTime(e.createdAt))],
                [t("col_who"), who],
                [t("col_operation"), (e) => el("span", { class: "code" }, e.mutation)],
                [t("col_target"), target],
                [t("col_outcome"), outcome],
                [t("col_ip"), (e) => e.ip || "—"],
                [t("col_details"), details],
              ],
              rows,
              t("audit_log"),
            )
          : el("p", { class: "hint" }, t("no_events")),
      ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      period(Object.fromEntries(new FormData(form)));
    } catch (error) {
      showError(form, error); // the days in the wrong order: said at the field, no request
      return;
    }
    events(true);
  });
  select.addEventListener("change", () => form.requestSubmit());
  await events();
}

main();
