// /follow/<link>: "关注领积分" → (silent OAuth under the merchant's app when we do not know
// the consumer there yet) → a QR code to long-press; WeChat tells the server of the follow.
// /f/<token>: the official account's reply link: sign in, the same OAuth, collect.

import { $, api, config, fmt, formatPoints, messageFor, show, showAlert, start, texts } from "./app.js";
import { weChatStart, withSession } from "./signin.js";

const here = () => window.location.pathname;

/** The merchant-app OpenID is needed: WeChat's silent OAuth, back to `next`. */
async function learnOpenid(next) {
  $("status").textContent = texts.connecting;
  const { merchantOpenidLinkStart: started } = await api.call(
    "MerchantOpenidLinkStart",
    { merchant: config.merchant, next },
    { auth: true },
  );
  if (started.errors.length) {
    $("status").textContent = "";
    showAlert(messageFor(started.errors[0]));
    return;
  }
  window.location.replace(started.url);
  await new Promise(() => {}); // the page is leaving
}

async function showCode() {
  const { followCode: result } = await api.call("FollowCode", { link: config.link }, { auth: true });
  const [error] = result.errors;
  if (error && error.code === "MERCHANT_OPENID_REQUIRED") return learnOpenid(`${here()}?go=1`);
  if (error) return showAlert(messageFor(error));
  $("qr").src = result.code.imageUrl;
  $("code-hint").textContent = `${texts.long_press} ${texts.waiting}`;
  show("code");
  $("code-title").focus();
}

async function collect() {
  const { claimFollowReward: result } = await api.call(
    "ClaimFollowReward",
    { token: config.token },
    { auth: true },
  );
  const [error] = result.errors;
  if (error && error.code === "MERCHANT_OPENID_REQUIRED") return learnOpenid(here());
  if (error) return showAlert(messageFor(error));
  $("result-title").textContent = fmt(texts.collected, {
    points: formatPoints(result.points),
    balance: formatPoints(result.balance),
  });
  show("result");
  $("result-title").focus();
}

start(async () => {
  if (!config.preview) await weChatStart();
  if (config.mode === "reply") return withSession(collect);
  $("points").textContent = fmt(texts.points_for_follow, {
    account: config.account,
    points: formatPoints(config.points),
  });
  const button = $("follow");
  if (!button) return;
  if (config.preview) {
    button.disabled = true; // a preview follows nothing and collects nothing (0324)
    return;
  }
  button.addEventListener("click", () => withSession(showCode).catch((e) => showAlert(messageFor(e))));
  // Disabled in the page until now: a tap during the sign-in above would do nothing.
  button.disabled = false;
  // Back from the OAuth: carry on where the tap left off.
  if (new URLSearchParams(window.location.search).get("go") === "1") await withSession(showCode);
});
