// /wechat/merchant-openid: WeChat's OAuth on a merchant's behalf came back with a
// single-use code and our signed state; finish with the consumer's own token, then go on.

import { $, api, config, messageFor, showAlert, start, texts } from "./app.js";
import { withSession } from "./signin.js";

start(() =>
  withSession(async () => {
    $("link-status").textContent = texts.linking;
    const { merchantOpenidLinkComplete: result } = await api.call(
      "MerchantOpenidLinkComplete",
      { state: config.state, code: config.code },
      { auth: true },
    );
    if (result.errors.length) {
      $("link-status").textContent = "";
      $("link-back").hidden = false;
      showAlert(messageFor(result.errors[0]));
      return;
    }
    $("link-status").textContent = texts.linked;
    window.location.replace(result.next || "/");
  }),
);
