// One account, one wallet (templates/consumer/_bindings.html): a WeChat-only consumer binds
// a phone (a texted code proves it); a phone consumer inside WeChat binds WeChat through
// /wechat/signin, which comes back with `#wx=<ticket>`. When the phone or the WeChat user
// is another account that holds points or orders, the API asks to confirm the merge.

import { $, api, busy, config, fmt, formatPoints, messageFor, show, showAlert, texts } from "./app.js";
import { maskPhone } from "./signin.js";
import { inWeChat } from "./wx.js";

let done = () => {};

function answered(result) {
  const [error] = result.errors;
  if (result.tokens) api.tokens.save(result.tokens); // this account joined the other one
  if (error?.code === "ACCOUNT_MERGE_REQUIRED") {
    const { otherHolds, otherPhone, token, keepsSignedInAccount } = result.merge;
    const keeps = keepsSignedInAccount ? texts.merge_keeps_this : texts.merge_keeps_other;
    $("merge-text").textContent = `${fmt(texts.merge_required, {
      account: otherPhone || texts.wechat_account,
      points: formatPoints(otherHolds.points),
      orders: otherHolds.orders,
    })} ${keeps}`;
    $("merge-confirm").onclick = () =>
      busy($("merge-confirm"), texts.merging, async () => {
        const { confirmAccountMerge: merged } = await api.call(
          "ConfirmAccountMerge",
          { token },
          { auth: true },
        );
        show("merge", false);
        answered(merged);
      }).catch((e) => showAlert(messageFor(e)));
    show("merge");
    return;
  }
  if (error) {
    showAlert(messageFor(error));
    return;
  }
  showAlert(texts.bound);
  done(result.consumer);
}

/** Show what `me` has bound and offer the rest; `then(consumer)` runs after a binding. */
export function showBindings(me, then) {
  done = then || done;
  show("bindings");
  $("bound").textContent = [
    me.phone ? fmt(texts.bound_phone, { phone: maskPhone(me.phone) }) : "",
    me.wechat ? texts.bound_wechat : "",
  ].filter(Boolean).join(" · ");
  show("bind-phone-form", !me.phone);
  const wechat = $("bind-wechat");
  wechat.href = `${config.wechat_signin || "/wechat/signin"}?next=${encodeURIComponent(location.pathname)}`;
  show("bind-wechat", inWeChat && !me.wechat);
}

/** The `#wx=<ticket>` hand-over: bind it to the signed-in account (once). */
export async function bindHandedOver() {
  const match = location.hash.match(/[#&]wx=([^&]+)/);
  if (!match || !api.tokens.present) return;
  history.replaceState(null, "", location.pathname + location.search);
  const { bindWeChat: result } = await api.call(
    "BindWeChat",
    { ticket: decodeURIComponent(match[1]) },
    { auth: true },
  );
  show("bindings");
  answered(result);
}

$("bind-send").addEventListener("click", () =>
  busy($("bind-send"), texts.sending, async () => {
    const { requestSignInCode: sent } = await api.call("RequestSignInCode", {
      phone: $("bind-phone").value.trim(),
    });
    showAlert(sent.errors.length ? messageFor(sent.errors[0]) : fmt(texts.code_sent, {
      phone: $("bind-phone").value.trim(),
      minutes: Math.round(sent.expiresIn / 60),
    }));
  }).catch((e) => showAlert(messageFor(e))),
);
$("bind-phone-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const button = $("bind-phone-form").querySelector("button[type=submit]");
  busy(button, texts.saving, async () => {
    const { bindPhone: result } = await api.call(
      "BindPhone",
      { phone: $("bind-phone").value.trim(), code: $("bind-otp").value.replace(/\D/g, "") },
      { auth: true },
    );
    answered(result);
  }).catch((e) => showAlert(messageFor(e)));
});
$("merge-cancel").addEventListener("click", () => show("merge", false));
