// The scan page: show what the code offers, sign in with a phone if needed, claim.
//
// Plain ES module, no build step. It sends only the operations the server embedded
// in the page (read from graphql/operations/consumer/), so it cannot drift from the
// schema without tests/test_schema_snapshots.py failing. Tokens are kept in
// localStorage (memory if storage is blocked); the claim's idempotency key in
// sessionStorage, so a retry after a lost answer, even after a reload, cannot claim
// twice and shows the first result.

const $ = (id) => document.getElementById(id);
const embedded = (id) => JSON.parse($(id).textContent);

const config = embedded("scan-config");
const operations = embedded("scan-operations");
const messages = embedded("scan-messages");
const texts = embedded("scan-texts");
const numbers = new Intl.NumberFormat(document.documentElement.lang || undefined);

const AUTH_CODES = new Set([
  "UNAUTHENTICATED",
  "PERMISSION_DENIED",
  "TOKEN_INVALID",
  "TOKEN_EXPIRED",
  "SESSION_REVOKED",
  "ACCOUNT_DISABLED",
]);
// Claim refusals worth retrying with the same key; every other refusal is final.
const RETRYABLE = new Set(["RATE_LIMITED", "SERVICE_UNAVAILABLE", "NETWORK", "UNEXPECTED"]);

// --- Small helpers ----------------------------------------------------------------

function fmt(template, values) {
  return template.replace(/%\((\w+)\)s/g, (match, name) =>
    name in values ? String(values[name]) : match,
  );
}

function formatPoints(points) {
  return numbers.format(Number(points));
}

function maskPhone(phone) {
  if (!phone) return "";
  return phone.length > 8 ? `${phone.slice(0, -8)}****${phone.slice(-4)}` : phone;
}

function show(id, visible = true) {
  $(id).hidden = !visible;
}

function setText(id, text) {
  const element = $(id);
  element.textContent = text || "";
  element.hidden = !text;
}

function announce(text) {
  $("progress").textContent = text || "";
}

function showAlert(text) {
  // Cleared first, so that the same message twice is announced twice.
  const alert = $("alert");
  alert.textContent = "";
  if (text) window.setTimeout(() => (alert.textContent = text), 50);
}

function clearAlert() {
  $("alert").textContent = "";
}

function focusOn(id) {
  window.requestAnimationFrame(() => $(id).focus());
}

// --- Storage (never throws: private modes and blocked storage fall back to memory) ---

const memory = new Map();

function storageArea(name) {
  try {
    return window[name];
  } catch {
    return null;
  }
}

function load(area, key) {
  try {
    const value = storageArea(area)?.getItem(key);
    if (value !== null && value !== undefined) return value;
  } catch {
    /* fall back to memory */
  }
  return memory.get(`${area}:${key}`) ?? null;
}

function save(area, key, value) {
  const memoryKey = `${area}:${key}`;
  if (value === null) memory.delete(memoryKey);
  else memory.set(memoryKey, value);
  try {
    const store = storageArea(area);
    if (value === null) store?.removeItem(key);
    else store?.setItem(key, value);
  } catch {
    /* memory only */
  }
}

const tokens = {
  get access() {
    return load("localStorage", "loyalty.accessToken");
  },
  get refresh() {
    return load("localStorage", "loyalty.refreshToken");
  },
  // True when the access token is (about to be) expired: refresh before using it.
  get stale() {
    const expires = Number(load("localStorage", "loyalty.accessExpiresAt"));
    return !this.access || !expires || Date.now() >= expires;
  },
  save(pair) {
    save("localStorage", "loyalty.accessToken", pair.accessToken);
    save("localStorage", "loyalty.refreshToken", pair.refreshToken);
    const expiresAt = Date.now() + (Number(pair.expiresIn) - 30) * 1000;
    save("localStorage", "loyalty.accessExpiresAt", String(expiresAt));
  },
  clear() {
    save("localStorage", "loyalty.accessToken", null);
    save("localStorage", "loyalty.refreshToken", null);
    save("localStorage", "loyalty.accessExpiresAt", null);
  },
};

const CLAIM_KEY = `loyalty.claimKey.${config.code}`;

function newKey() {
  if (window.crypto?.randomUUID) return window.crypto.randomUUID();
  // crypto.randomUUID needs a secure context (https); plain http on a LAN does not have it.
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function claimKey() {
  let key = load("sessionStorage", CLAIM_KEY);
  if (!key) {
    key = newKey();
    save("sessionStorage", CLAIM_KEY, key);
  }
  return key;
}

// --- The API ------------------------------------------------------------------------

class ApiError extends Error {
  constructor(code, message = "") {
    super(message || code);
    this.code = code;
  }
}

function messageFor(code, serverMessage = "") {
  if (code === "RATE_LIMITED") {
    const seconds = /(\d+)/.exec(serverMessage);
    return seconds ? fmt(messages.RATE_LIMITED, { seconds: seconds[1] }) : messages.RATE_LIMITED_SOON;
  }
  return messages[code] || serverMessage || messages.UNEXPECTED;
}

async function send(name, variables, token) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(config.api, {
      method: "POST",
      headers,
      credentials: "omit",
      body: JSON.stringify({ query: operations[name], variables, operationName: name }),
    });
  } catch {
    throw new ApiError("NETWORK");
  }
  try {
    return { status: response.status, body: await response.json() };
  } catch {
    throw new ApiError(response.status >= 500 ? "SERVICE_UNAVAILABLE" : "UNEXPECTED");
  }
}

let refreshing = null;

// Exchange the refresh token (it rotates). True when new tokens were stored.
function refreshTokens() {
  const refreshToken = tokens.refresh;
  if (!refreshToken) return Promise.resolve(false);
  if (!refreshing) {
    refreshing = send("RefreshToken", { refreshToken }, null)
      .then(({ body }) => {
        const pair = body.data?.refreshToken?.tokens;
        if (pair) tokens.save(pair);
        else tokens.clear();
        return Boolean(pair);
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

async function call(name, variables = {}, { auth = false } = {}) {
  if (auth && tokens.stale && tokens.refresh) await refreshTokens();
  let { status, body } = await send(name, variables, auth ? tokens.access : null);
  if (status === 401 && auth) {
    // The access token expired (15 minutes) or was revoked: refresh once, then retry.
    if (!(await refreshTokens())) {
      tokens.clear();
      throw new ApiError("UNAUTHENTICATED");
    }
    ({ status, body } = await send(name, variables, tokens.access));
  }
  const error = body.errors?.[0];
  if (error) throw new ApiError(error.extensions?.code || "UNEXPECTED", error.message);
  if (!body.data) throw new ApiError("UNEXPECTED");
  return body.data;
}

// --- Steps ----------------------------------------------------------------------------

const state = { preview: null, phone: "", resendTimer: null, claiming: false };

async function loadPreview() {
  clearAlert();
  show("retry", false);
  $("offer").setAttribute("aria-busy", "true");
  announce(texts.loading);
  try {
    const { scanPreview } = await call("ScanPreview", { code: config.code });
    state.preview = scanPreview;
    showPreview(scanPreview);
  } catch (error) {
    $("offer-title").textContent = texts.unknown_title;
    showAlert(messageFor(error.code, error.message));
    if (RETRYABLE.has(error.code)) show("retry");
    return;
  } finally {
    $("offer").setAttribute("aria-busy", "false");
    announce("");
  }
  if (state.preview.status === "CLAIMABLE") {
    await nextStep();
  } else if (state.preview.status === "ALREADY_CLAIMED") {
    await replayEarlierClaim();
  }
}

function showPreview(preview) {
  const known = preview.status !== "UNKNOWN";
  $("offer-title").textContent = known ? preview.campaignName : texts.unknown_title;
  setText("offer-merchant", known ? preview.merchantName : "");
  setText("offer-points", known ? fmt(texts.points, { points: formatPoints(preview.points) }) : "");
  setText("offer-description", known ? preview.campaignDescription : "");
  setText("offer-status", preview.status === "CLAIMABLE" ? "" : texts[`status_${preview.status}`]);
}

async function nextStep() {
  if (!tokens.access && !tokens.refresh) {
    showSignIn();
    return;
  }
  try {
    const { me } = await call("Me", {}, { auth: true });
    if (me) {
      showClaim(me.phone);
      return;
    }
    tokens.clear(); // a staff token, or a session that ended
    showSignIn();
  } catch (error) {
    if (AUTH_CODES.has(error.code)) {
      tokens.clear();
      showSignIn();
    } else {
      showClaim(null); // probably signed in; the claim itself will tell
      showAlert(messageFor(error.code, error.message));
    }
  }
}

function showSignIn({ focus = false } = {}) {
  show("claim", false);
  show("signin");
  show("phone-form");
  show("otp-form", false);
  if (focus) focusOn("phone");
}

function showOtpForm(expiresIn, resendAfter) {
  show("phone-form", false);
  show("otp-form");
  $("otp").value = "";
  $("otp-hint").textContent = fmt(texts.code_sent, {
    phone: state.phone,
    minutes: Math.max(1, Math.round(expiresIn / 60)),
  });
  startResendCountdown(resendAfter);
  focusOn("otp");
}

function startResendCountdown(seconds) {
  const button = $("resend");
  window.clearInterval(state.resendTimer);
  let left = Math.max(0, Number(seconds) || 0);
  const tick = () => {
    button.disabled = left > 0;
    button.textContent = left > 0 ? fmt(texts.resend_in, { seconds: left }) : texts.resend;
    if (left <= 0) window.clearInterval(state.resendTimer);
    left -= 1;
  };
  tick();
  if (left >= 0) state.resendTimer = window.setInterval(tick, 1000);
}

function showClaim(phone, { focus = false } = {}) {
  show("signin", false);
  show("claim");
  setText("signed-in-as", phone ? fmt(texts.signed_in_as, { phone: maskPhone(phone) }) : "");
  const button = $("claim-button");
  button.textContent = fmt(texts.claim, { points: formatPoints(state.preview.points) });
  button.disabled = false;
  if (focus) focusOn("claim-button");
}

function showResult(result, { focus = true } = {}) {
  show("signin", false);
  show("claim", false);
  setText("offer-status", "");
  const { claim } = result;
  $("result-title").textContent = fmt(texts.earned, { points: formatPoints(claim.points) });
  $("result-detail").textContent = fmt(texts.earned_from, {
    merchant: claim.merchantName,
    campaign: claim.campaignName,
  });
  $("result-balance").textContent = fmt(texts.balance, { balance: formatPoints(result.balance) });
  show("result");
  if (focus) focusOn("result-title");
}

function fieldError(id, text) {
  const input = $(id);
  input.setAttribute("aria-invalid", "true");
  showAlert(text);
  input.focus();
}

async function busy(button, label, work) {
  const original = button.textContent;
  button.disabled = true;
  button.textContent = label;
  announce(label);
  clearAlert();
  try {
    await work();
  } finally {
    button.disabled = false;
    button.textContent = original;
    announce("");
  }
}

function handleError(error) {
  if (AUTH_CODES.has(error.code) && !$("claim").hidden) {
    tokens.clear();
    showSignIn({ focus: true });
  }
  showAlert(messageFor(error.code, error.message));
}

// --- Event handlers -----------------------------------------------------------------

async function requestCode() {
  const { requestSignInCode: result } = await call("RequestSignInCode", { phone: state.phone });
  if (result.errors.length) {
    const [error] = result.errors;
    if (error.code === "INVALID_PHONE") {
      showSignIn();
      fieldError("phone", messageFor(error.code, error.message));
    } else {
      showAlert(messageFor(error.code, error.message));
    }
    return;
  }
  showOtpForm(result.expiresIn, result.resendAfter);
}

async function onPhoneSubmit(event) {
  event.preventDefault();
  const phone = $("phone").value.trim();
  if (!phone) {
    fieldError("phone", texts.enter_phone);
    return;
  }
  state.phone = phone;
  const button = event.submitter || $("phone-form").querySelector("button[type=submit]");
  await busy(button, texts.sending, requestCode).catch((error) => handleError(error));
}

async function onResend() {
  await busy($("resend"), texts.sending, requestCode).catch((error) => handleError(error));
}

async function onOtpSubmit(event) {
  event.preventDefault();
  const code = $("otp").value.replace(/\D/g, "");
  if (code.length !== 6) {
    fieldError("otp", texts.enter_otp);
    return;
  }
  const button = event.submitter || $("otp-form").querySelector("button[type=submit]");
  await busy(button, texts.signing_in, async () => {
    const { signInWithCode: result } = await call("SignInWithCode", { phone: state.phone, code });
    if (result.errors.length) {
      const [error] = result.errors;
      if (error.code === "OTP_EXPIRED" || error.code === "OTP_TOO_MANY_ATTEMPTS") {
        startResendCountdown(0);
      }
      fieldError("otp", messageFor(error.code, error.message));
      return;
    }
    tokens.save(result.tokens);
    window.clearInterval(state.resendTimer);
    showClaim(result.consumer.phone, { focus: true });
  }).catch((error) => handleError(error));
}

function finalRefusal(error) {
  // The code cannot be claimed (used, voided, ended, limit...): say so where the offer is.
  show("claim", false);
  setText("offer-status", messageFor(error.code, error.message));
  showAlert(messageFor(error.code, error.message));
  focusOn("offer-title");
}

async function onClaim() {
  if (state.claiming) return;
  state.claiming = true;
  const button = $("claim-button");
  const label = button.textContent;
  button.disabled = true;
  button.textContent = texts.claiming;
  button.setAttribute("aria-busy", "true");
  announce(texts.claiming);
  clearAlert();
  try {
    const variables = { code: config.code, idempotencyKey: claimKey() };
    const { claimCode: result } = await call("ClaimCode", variables, { auth: true });
    const [error] = result.errors;
    if (!error) {
      showResult(result);
    } else if (AUTH_CODES.has(error.code)) {
      handleError(error);
    } else if (error.code === "INVALID_IDEMPOTENCY_KEY" || error.code === "IDEMPOTENCY_CONFLICT") {
      save("sessionStorage", CLAIM_KEY, null);
      showAlert(messageFor(error.code, error.message));
    } else if (RETRYABLE.has(error.code)) {
      showAlert(messageFor(error.code, error.message)); // same key on the next try
    } else {
      finalRefusal(error);
    }
  } catch (error) {
    handleError(error); // a lost answer: retrying sends the same key
  } finally {
    state.claiming = false;
    button.disabled = false;
    button.textContent = label;
    button.removeAttribute("aria-busy");
    announce("");
  }
}

// A claim from this browser whose answer was lost (or a reload afterwards): the
// same key replays the first result instead of saying "already used".
async function replayEarlierClaim() {
  const key = load("sessionStorage", CLAIM_KEY);
  if (!key || !(tokens.access || tokens.refresh)) return;
  try {
    const { claimCode: result } = await call(
      "ClaimCode",
      { code: config.code, idempotencyKey: key },
      { auth: true },
    );
    if (!result.errors.length) showResult(result, { focus: false });
  } catch {
    /* the "already used" notice stays */
  }
}

async function onSignOut() {
  const token = tokens.access;
  tokens.clear();
  save("sessionStorage", CLAIM_KEY, null);
  showSignIn({ focus: true });
  if (token) await send("SignOut", {}, token).catch(() => {});
}

function onChangePhone() {
  window.clearInterval(state.resendTimer);
  clearAlert();
  showSignIn({ focus: true });
}

function clearInvalid(event) {
  event.target.removeAttribute("aria-invalid");
}

$("phone-form").addEventListener("submit", onPhoneSubmit);
$("otp-form").addEventListener("submit", onOtpSubmit);
$("resend").addEventListener("click", onResend);
$("change-phone").addEventListener("click", onChangePhone);
$("claim-button").addEventListener("click", onClaim);
$("sign-out").addEventListener("click", onSignOut);
$("retry").addEventListener("click", () => loadPreview().catch(() => showAlert(messages.UNEXPECTED)));
$("phone").addEventListener("input", clearInvalid);
$("otp").addEventListener("input", clearInvalid);

loadPreview().catch(() => showAlert(messages.UNEXPECTED));
