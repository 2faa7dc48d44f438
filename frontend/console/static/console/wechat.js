// 微信公众号: the merchant's official account, authorised to the platform's WeChat
// third-party platform. WeChat's page sends the browser back here with ?state=&auth_code=,
// which this screen hands to the API once (then drops from the address bar).

import { $, announce, api, atLeast, badge, dateTime, el, fail, mutate, param, start, t } from "./console.js";

function facts(account) {
  const rows = [
    [t("wechat_name"), account.name || account.appId],
    [t("wechat_principal"), account.principalName],
    [t("wechat_app_id"), el("span", { class: "code" }, account.appId)],
    [t("wechat_kind"), t(`wechat_kind_${account.kind}`)],
    [t("wechat_verification"), t(account.verified ? "wechat_verified" : "wechat_unverified")],
    [t("wechat_authorized_at"), dateTime(account.authorizedAt)],
  ];
  return el(
    "dl",
    { class: "facts" },
    ...rows.flatMap(([label, value]) => [el("dt", {}, label), el("dd", {}, value)]),
  );
}

function show(data) {
  $("#wechat-not-configured").hidden = data.officialAccountPlatformEnabled;
  const account = data.officialAccount;
  const slot = $("#wechat-account");
  if (!account) {
    slot.replaceChildren(el("p", { class: "hint", id: "wechat-none" }, t("wechat_none")));
    return;
  }
  const cancelled = account.status === "UNAUTHORIZED";
  const status = cancelled
    ? badge(t("wechat_status_UNAUTHORIZED"), "status-revoked")
    : badge(t("wechat_status_AUTHORIZED"), "status-active");
  const verdict = cancelled
    ? t("wechat_cancelled", { date: dateTime(account.unauthorizedAt) })
    : account.canUseServiceApis
      ? t("wechat_can")
      : t("wechat_cannot");
  slot.replaceChildren(
    el("p", { id: "wechat-status" }, status),
    facts(account),
    el("p", { id: "wechat-verdict", class: account.canUseServiceApis ? "" : "warning" }, verdict),
  );
  $("#wechat-authorize").textContent = t(cancelled ? "wechat_authorize_again" : "wechat_authorize_other");
}

async function load() {
  show(await api.call("OfficialAccount", {}, { auth: true }));
}

async function main() {
  const { role } = await start();
  const state = param("state");
  const authCode = param("auth_code");
  if (state && authCode) {
    // The code is single-use: a reload must not send it again.
    window.history.replaceState(null, "", window.location.pathname);
    try {
      const { officialAccount } = await mutate("OfficialAccountAuthorizeComplete", { state, authCode });
      announce(t("wechat_authorized", { name: officialAccount.name || officialAccount.appId }));
    } catch (error) {
      fail(error);
    }
  }
  try {
    await load();
  } catch (error) {
    fail(error);
  }
  if (!atLeast(role, "ADMIN")) return;
  const button = $("#wechat-authorize");
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      const { url } = await mutate("OfficialAccountAuthorizeStart", {});
      window.location.assign(url);
    } catch (error) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
      fail(error);
    }
  });
}

main();
