// The shared sign-in card (templates/consumer/_signin.html): phone, texted code, tokens.
//
// A page that needs a consumer calls `withSession(work)`: with no tokens the card is
// shown in place and `work` runs once the visitor has signed in; if the API says the
// session is gone (expired, revoked, a staff token), the tokens are forgotten and the
// card comes back. No redirect: a scanned code's page keeps its context.
//
// Inside WeChat (docs/wechat.md): the pages a scan opens call `weChatStart()` first.
// With no session they go straight to /wechat/signin (silent OAuth), which comes back
// with `#wx=<ticket>`; the ticket signs a returning consumer in at once, and keeps a
// first-time consumer's place until they tap to agree (`acceptWeChat`). `#phone`
// (from the WeChat error page) means: sign in by phone here, do not go to WeChat.

import { load, save } from "../frontend/api.js";
import {
  $,
  AUTH_CODES,
  ApiError,
  api,
  busy,
  clearAlert,
  fmt,
  focusOn,
  messageFor,
  show,
  showAlert,
  config,
  texts,
} from "./app.js";

const state = { phone: "", timer: null, waiting: null };

// A first-time consumer's ticket waiting for consent, kept for the tab so that reading
// the user agreement and coming back does not lose it (it dies after 10 minutes).
const WX_PENDING = "loyalty.wx.pending";
const WX_OFF = "loyalty.wx.phone";
export const inWeChat = /MicroMessenger/i.test(navigator.userAgent);

export const consentPending = () => Boolean(load("sessionStorage", WX_PENDING));

function here() {
  return window.location.pathname + window.location.search;
}

/**
 * Sign in with the WeChat ticket. Resolves with the consumer, or null when a first-time
 * consumer must agree first; throws ApiError for any other refusal (the ticket is gone).
 */
async function trySignInWithWeChat(ticket, acceptPolicies) {
  const { signInWithWeChat: result } = await api.call("SignInWithWeChat", {
    ticket,
    acceptPolicies,
  });
  const [error] = result.errors;
  if (error?.code === "CONSENT_REQUIRED") {
    save("sessionStorage", WX_PENDING, ticket);
    return null;
  }
  save("sessionStorage", WX_PENDING, null);
  api.check(result);
  api.tokens.save(result.tokens);
  return result.consumer;
}

/**
 * The WeChat hand-over, before the page's own work. Resolves once the page may go on
 * (signed in, consent pending, or phone sign-in); never resolves while leaving for WeChat.
 */
export async function weChatStart() {
  const { hash } = window.location;
  if (hash === "#phone") {
    save("sessionStorage", WX_OFF, "1");
    window.history.replaceState(window.history.state, "", here());
  }
  // Signed in already: a ticket here is not a sign-in (binding WeChat reads its own).
  if (api.tokens.present) return;
  if (hash.startsWith("#wx=")) {
    // The ticket stays out of the history, bookmarks and anything shared from here.
    window.history.replaceState(window.history.state, "", here());
  }
  const ticket = hash.startsWith("#wx=")
    ? decodeURIComponent(hash.slice(4))
    : load("sessionStorage", WX_PENDING);
  if (ticket) {
    try {
      await trySignInWithWeChat(ticket, false);
    } catch (error) {
      showAlert(messageFor(error)); // the phone card follows
    }
    return;
  }
  if (config.wechatSignin && inWeChat && !load("sessionStorage", WX_OFF)) {
    const target = `${config.wechatSignin}?next=${encodeURIComponent(here())}`;
    window.location.replace(target);
    await new Promise(() => {}); // the page is leaving
  }
}

/** The first-time consumer's tap: agree, and be signed in (throws ApiError if refused). */
export async function acceptWeChat() {
  const ticket = load("sessionStorage", WX_PENDING);
  const consumer = ticket ? await trySignInWithWeChat(ticket, true) : null;
  if (!consumer) throw new ApiError("WECHAT_TICKET_EXPIRED");
  show("signin", false);
  return consumer;
}

function showConsentForm() {
  show("signin");
  show("phone-form", false);
  show("otp-form", false);
  show("wechat-consent-form");
  show("wechat-consent");
  focusOn("wechat-agree");
}

/** "Signed in as …": the masked phone, or WeChat for a consumer without one. */
export function signedInAs(consumer) {
  if (!consumer) return "";
  return consumer.phone
    ? fmt(texts.signed_in_as, { phone: maskPhone(consumer.phone) })
    : texts.signed_in_wechat;
}

export function maskPhone(phone) {
  if (!phone) return "";
  return phone.length > 8 ? `${phone.slice(0, -8)}****${phone.slice(-4)}` : phone;
}

export const isAuthError = (error) => Boolean(error && AUTH_CODES.has(error.code));

function fieldError(id, text) {
  const input = $(id);
  input.setAttribute("aria-invalid", "true");
  showAlert(text);
  input.focus();
}

function startResendCountdown(seconds) {
  const button = $("resend");
  window.clearInterval(state.timer);
  let left = Math.max(0, Number(seconds) || 0);
  const tick = () => {
    button.disabled = left > 0;
    button.textContent = left > 0 ? fmt(texts.resend_in, { seconds: left }) : texts.resend;
    if (left <= 0) window.clearInterval(state.timer);
    left -= 1;
  };
  tick();
  if (left >= 0) state.timer = window.setInterval(tick, 1000);
}

function showPhoneForm({ focus = false } = {}) {
  show("signin");
  show("wechat-consent-form", false);
  show("phone-form");
  show("otp-form", false);
  if (focus) focusOn("phone");
}

async function requestCode() {
  const { requestSignInCode: result } = await api.call("RequestSignInCode", { phone: state.phone });
  const [error] = result.errors;
  if (error) {
    if (error.code === "INVALID_PHONE") {
      showPhoneForm();
      fieldError("phone", messageFor(error));
    } else {
      showAlert(messageFor(error));
    }
    return;
  }
  show("phone-form", false);
  show("otp-form");
  $("otp").value = "";
  $("otp-hint").textContent = fmt(texts.code_sent, {
    phone: state.phone,
    minutes: Math.max(1, Math.round(result.expiresIn / 60)),
  });
  startResendCountdown(result.resendAfter);
  focusOn("otp");
}

async function onPhoneSubmit(event) {
  event.preventDefault();
  const phone = $("phone").value.trim();
  if (!phone) {
    fieldError("phone", texts.enter_phone);
    return;
  }
  state.phone = phone;
  const button = $("phone-form").querySelector("button[type=submit]");
  await busy(button, texts.sending, requestCode).catch((error) => showAlert(messageFor(error)));
}

async function onOtpSubmit(event) {
  event.preventDefault();
  const code = $("otp").value.replace(/\D/g, "");
  if (code.length !== 6) {
    fieldError("otp", texts.enter_otp);
    return;
  }
  const button = $("otp-form").querySelector("button[type=submit]");
  await busy(button, texts.signing_in, async () => {
    const { signInWithCode: result } = await api.call("SignInWithCode", {
      phone: state.phone,
      code,
    });
    const [error] = result.errors;
    if (error) {
      if (error.code === "OTP_EXPIRED" || error.code === "OTP_TOO_MANY_ATTEMPTS") {
        startResendCountdown(0);
      }
      fieldError("otp", messageFor(error));
      return;
    }
    api.tokens.save(result.tokens);
    window.clearInterval(state.timer);
    show("signin", false);
    const resolve = state.waiting;
    state.waiting = null;
    resolve?.(result.consumer);
  }).catch((error) => showAlert(messageFor(error)));
}

let wired = false;

function wire() {
  if (wired) return;
  wired = true;
  $("phone-form").addEventListener("submit", onPhoneSubmit);
  $("otp-form").addEventListener("submit", onOtpSubmit);
  $("resend").addEventListener("click", () =>
    busy($("resend"), texts.sending, requestCode).catch((error) => showAlert(messageFor(error))),
  );
  $("change-phone").addEventListener("click", () => {
    window.clearInterval(state.timer);
    clearAlert();
    showPhoneForm({ focus: true });
  });
  $("wechat-agree").addEventListener("click", () =>
    busy($("wechat-agree"), texts.signing_in, async () => {
      const consumer = await acceptWeChat();
      const resolve = state.waiting;
      state.waiting = null;
      resolve?.(consumer);
    }).catch((error) => {
      showAlert(messageFor(error));
      showPhoneForm({ focus: true });
    }),
  );
  $("wechat-use-phone").addEventListener("click", () => {
    save("sessionStorage", WX_PENDING, null);
    save("sessionStorage", WX_OFF, "1");
    showPhoneForm({ focus: true });
  });
  for (const id of ["phone", "otp"]) {
    $(id).addEventListener("input", (event) => event.target.removeAttribute("aria-invalid"));
  }
}

/** Show the card; resolves with the consumer ({id, phone, name}) once signed in. */
export function signIn({ focus = false } = {}) {
  wire();
  if (consentPending()) showConsentForm();
  else showPhoneForm({ focus });
  return new Promise((resolve) => {
    state.waiting = resolve;
  });
}

/** Resolves at once when tokens are kept (the API will tell if they are stale). */
export async function ensureSignedIn(options) {
  if (api.tokens.present) return null;
  return signIn(options);
}

/**
 * Run `work` as a signed-in consumer: sign in first if needed, and again (then rerun
 * `work`) if the API says the session has ended.
 */
export async function withSession(work, { focus = false } = {}) {
  for (;;) {
    await ensureSignedIn({ focus });
    try {
      return await work();
    } catch (error) {
      if (!isAuthError(error)) throw error;
      api.tokens.clear();
      showAlert(messageFor(error));
      focus = true;
    }
  }
}

/** Revoke the session on the server (best effort) and forget the tokens. */
export async function signOut() {
  const token = api.tokens.access;
  api.tokens.clear();
  if (token) await api.send("SignOut", {}, token).catch(() => {});
}
