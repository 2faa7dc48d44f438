// API keys: the merchant's keys for server-to-server calls (admins and owners).
// A new key's secret is shown once, in a box to copy from; the API keeps only its hash.

import {
  $, announce, api, atLeast, badge, checkboxes, checkedValues, config, dateTime, el, fail, mutate,
  onSubmit, pager, secretBox, start, t, table, ApiError,
} from "./console.js";

const SCOPES = config.scopes; // [{ value: "CAMPAIGNS_READ", scope: "campaigns:read", label }]
const byValue = new Map(SCOPES.map((s) => [s.value, s]));

function scopeBadges(key) {
  return el(
    "span",
    { class: "badges" },
    key.scopes.map((value) => {
      const scope = byValue.get(value);
      const item = badge(scope?.scope ?? value);
      if (scope) item.title = scope.label;
      return item;
    }),
  );
}

function keyStatus(key) {
  if (key.revokedAt) return badge(t("key_revoked_on", { date: dateTime(key.revokedAt) }), "status-revoked");
  if (!key.active) return badge(t("key_expired"), "status-expired");
  return badge(t("key_active"), "status-active");
}

function revokeButton(key, reload) {
  if (!key.active) return "";
  const button = el("button", { type: "button", class: "link danger-text" }, t("revoke"));
  button.setAttribute("aria-label", t("revoke_key", { name: key.name }));
  button.addEventListener("click", async () => {
    if (!window.confirm(t("confirm_revoke", { name: key.name, prefix: key.prefix }))) return;
    button.disabled = true;
    try {
      await mutate("ApiKeyRevoke", { id: key.id });
      announce(t("key_revoked", { name: key.name }));
      await reload(true);
    } catch (error) {
      button.disabled = false;
      fail(error);
    }
  });
  return button;
}

function showKeys(rows, reload) {
  $("#keys").replaceChildren(
    rows.length
      ? table(
          [
            [t("col_name"), (k) => k.name],
            [t("col_key"), (k) => el("span", { class: "code" }, `${k.prefix}_…`)],
            [t("col_scopes"), scopeBadges],
            [t("col_created"), (k) => el("span", {}, dateTime(k.createdAt), k.createdBy ? el("br") : null, k.createdBy ? el("span", { class: "hint" }, k.createdBy) : null)],
            [t("col_last_used"), (k) => (k.lastUsedAt ? dateTime(k.lastUsedAt) : t("never"))],
            [t("col_expires"), (k) => (k.expiresAt ? dateTime(k.expiresAt) : t("never"))],
            [t("col_status"), keyStatus],
            [t("col_actions"), (k) => revokeButton(k, reload)],
          ],
          rows,
          t("api_keys"),
        )
      : el("p", { class: "hint" }, t("no_keys")),
  );
}

/** A `date` input as the end of that day in the browser's zone, as an ISO instant. */
function endOfDay(value) {
  return value ? new Date(`${value}T23:59:59`).toISOString() : null;
}

async function main() {
  const { role } = await start();
  if (!atLeast(role, "ADMIN")) {
    $("#keys-not-allowed").hidden = false; // the API would refuse every call of this screen
    return;
  }
  const form = $("#create-key");
  $("#scope-choices").replaceChildren(
    checkboxes(
      "scopes",
      t("permissions"),
      SCOPES.map((s) => ({ value: s.value, label: s.scope, hint: s.label })),
      [],
      "k-scope",
    ),
  );
  const keys = pager(
    $("#keys-more"),
    async (after) => (await api.call("ApiKeys", { first: 50, after }, { auth: true })).apiKeys,
    (rows) => showKeys(rows, keys),
  );
  onSubmit(form, async (values) => {
    const scopes = checkedValues(form, "scopes");
    // Checked here too so that the message sits on the group before any request.
    if (!scopes.length) throw new ApiError("INVALID_SCOPE", "", "scopes");
    const { apiKey, secret } = await mutate("ApiKeyCreate", {
      name: values.name.trim(),
      scopes,
      expiresAt: endOfDay(values.expiresAt),
    });
    form.reset();
    secretBox($("#new-secret"), {
      title: t("key_created", { name: apiKey.name }),
      secret,
      hint: t("key_usage", { endpoint: new URL(config.api, window.location.href).href }),
    });
    await keys(true);
  });
  await keys();
}

main();
