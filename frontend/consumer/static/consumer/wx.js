// WeChat's JS-SDK, inside WeChat only (user agent MicroMessenger): the SDK script is
// loaded on demand (vendor/jweixin.js, from npm jweixin-module: WeChat's jweixin 1.6.0)
// and configured with the signature the API makes for this page's address
// (weChatJsConfig). Elsewhere nothing is loaded.

import { api, config } from "./app.js";

export const inWeChat = /MicroMessenger/i.test(navigator.userAgent);

function loadSdk() {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = config.jweixin;
    script.onload = () => resolve(window.wx);
    script.onerror = reject;
    document.head.append(script);
  });
}

let configured = null;

/** `wx`, configured for this page; null outside WeChat or when WeChat refused. */
export function ready() {
  if (!inWeChat || !config.jweixin) return Promise.resolve(null);
  configured ??= (async () => {
    const url = location.href.split("#")[0];
    const [{ weChatJsConfig: c }, wx] = await Promise.all([
      api.call("WeChatJsConfig", { url }),
      loadSdk(),
    ]);
    if (!c || !wx) return null;
    wx.config({ appId: c.appId, timestamp: c.timestamp, nonceStr: c.nonceStr, signature: c.signature, jsApiList: c.jsApiList });
    return new Promise((resolve) => {
      wx.ready(() => resolve(wx));
      wx.error(() => resolve(null));
    });
  })().catch(() => null);
  return configured;
}

/**
 * Where the phone is (WGS-84), asked of WeChat (it asks the person); null if refused.
 * Sent with a claim once the consumer agreed on the scan page (scan.js scanLocation).
 */
export async function whereabouts() {
  const wx = await ready();
  if (!wx) return null;
  return new Promise((resolve) =>
    wx.getLocation({
      type: "wgs84",
      success: ({ latitude, longitude, accuracy }) => resolve({ latitude, longitude, accuracy }),
      fail: () => resolve(null),
      cancel: () => resolve(null),
    }),
  );
}
