// /s/<code>: show what the code offers, sign in by phone if needed, claim once.
//
// Inside WeChat the page signs in through WeChat first (signin.js `weChatStart`): a
// returning consumer sees the one "collect" tap; a first-time consumer's one tap is
// "agree and collect", which signs in with consent and claims (decision 0159).
//
// The claim's idempotency key is kept for the tab's session (api.js sessionKey), so a
// retry after a lost answer, even after a reload, cannot claim twice and shows the
// first result instead of "already used".
//
// A prize code (the preview lists its tiers) draws: the claim sends ClaimPrizeCode with a
// nonce made here (crypto.getRandomValues), which the draw mixes with the server's
// committed seed, and the result is shown as a short draw (none with reduced motion).
//
// A printer's code whose label has a hidden code under a scratch-off (config.hidden,
// decision 0314) is described and claimed only with it: the page asks for it first,
// keeps it in memory only (never stored on the phone) and sends it with the preview and
// the claim; a wrong one asks again with the server's message.

import { forgetSessionKey, load, save, sessionKey } from "../frontend/api.js";
import {
  $,
  RETRYABLE,
  announce,
  api,
  clearAlert,
  config,
  fmt,
  focusOn,
  formatPoints,
  messageFor,
  pointsText,
  setText,
  show,
  showAlert,
  start,
  texts,
} from "./app.js";
import {
  acceptWeChat,
  consentPending,
  isAuthError,
  signIn,
  signOut,
  signedInAs,
  weChatStart,
} from "./signin.js";
import { drawNonce, revealDraw, showPrizeTiers } from "./prize-display.js";
import { inWeChat, ready as weChatReady, whereabouts } from "./wx.js";

const KEY_NAME = `claim.${config.code}`;
// shareWithMerchant: the consumer was asked to share their data with the code's merchant
// (the first claim with it is refused with MERCHANT_CONSENT_REQUIRED); the next tap on
// "agree and collect" sends the agreement with the claim (decision 0184).
const state = {
  preview: null,
  claiming: false,
  consent: false,
  shareWithMerchant: false,
  tapped: false,
  hiddenCode: null,
};

const HIDDEN_REFUSALS = new Set(["HIDDEN_CODE_REQUIRED", "HIDDEN_CODE_WRONG"]);
// With a hidden code, the limit on wrong ones answers RATE_LIMITED: the form stays.
const asksHiddenAgain = (error) =>
  config.hidden && (HIDDEN_REFUSALS.has(error.code) || error.code === "RATE_LIMITED");

function askHiddenCode(error = null) {
  state.hiddenCode = null;
  show("claim", false);
  $("offer-title").textContent = texts.hidden_title;
  show("hidden-code-form");
  if (error) showAlert(messageFor(error));
  focusOn("hidden-code");
}

const withHiddenCode = (variables) =>
  state.hiddenCode ? { ...variables, hiddenCode: state.hiddenCode } : variables;

async function loadPreview() {
  clearAlert();
  show("retry", false);
  if (config.hidden && !state.hiddenCode) {
    askHiddenCode();
    return;
  }
  $("offer").setAttribute("aria-busy", "true");
  announce(texts.loading);
  try {
    const { scanPreview } = await api.call("ScanPreview", withHiddenCode({ code: config.code }));
    state.preview = scanPreview;
    if (config.hidden) show("hidden-code-form", false);
    showPreview(scanPreview);
  } catch (error) {
    if (asksHiddenAgain(error)) {
      askHiddenCode(error);
      return;
    }
    $("offer-title").textContent = texts.unknown_title;
    showAlert(messageFor(error));
    if (RETRYABLE.has(error.code)) show("retry");
    return;
  } finally {
    $("offer").setAttribute("aria-busy", "false");
    announce("");
  }
  if (state.preview.status === "CLAIMABLE") await nextStep();
  else if (state.preview.status === "ALREADY_CLAIMED") await replayEarlierClaim();
}

const isPrize = () => Boolean(state.preview?.prizeTiers);

function showPreview(preview) {
  const known = preview.status !== "UNKNOWN";
  $("offer-title").textContent = known ? preview.campaignName : texts.unknown_title;
  setText("offer-merchant", known ? preview.merchantName : "");
  const points = isPrize()
    ? fmt(texts.prize_up_to, { points: formatPoints(preview.points) })
    : pointsText(preview.points);
  setText("offer-points", known ? points : "");
  showPrizeTiers(known ? preview.prizeTiers : null);
  // The first-scan guarantee is one of the published terms (decision 0280).
  const guarantee = known && preview.prizeGuarantee;
  setText("offer-guarantee", guarantee ? fmt(texts.prize_guarantee, { tier: guarantee }) : "");
  setText("offer-description", known ? preview.campaignDescription : "");
  setText("offer-status", preview.status === "CLAIMABLE" ? "" : texts[`status_${preview.status}`]);
}

// Signing in on a code's page is the consumer asking for its points: the claim they
// came for completes at once, with no second tap (decision 0234). Only a sign-in made
// here does so; a session that was already there still waits for the tap (0159).
async function askToSignIn({ focus = false } = {}) {
  show("claim", false);
  const consumer = await signIn({ focus });
  showClaim(consumer, { focus: true });
  await onClaim();
}

async function nextStep() {
  if (!api.tokens.present) {
    if (consentPending()) showClaim(null, { consent: true });
    else await askToSignIn();
    return;
  }
  try {
    const { me } = await api.call("Me", {}, { auth: true });
    if (me) {
      showClaim(me);
      return;
    }
    api.tokens.clear(); // a staff token, or a session that ended
  } catch (error) {
    if (!isAuthError(error)) {
      showClaim(null); // probably signed in; the claim itself will tell
      showAlert(messageFor(error));
      return;
    }
    api.tokens.clear();
  }
  await askToSignIn();
}

const claimLabel = () =>
  state.shareWithMerchant
    ? texts.agree_and_claim
    : isPrize()
      ? texts.draw
      : fmt(texts.claim, { points: formatPoints(state.preview.points) });

// Where the scan happened (issue 22): asked once, with a box that is never pre-ticked;
// the answer is remembered on this phone. With consent, the phone's location (WGS-84:
// WeChat's wx.getLocation type wgs84, or the browser's geolocation) goes with the claim;
// without it the server places the scan by the network address, approximately.
const LOCATION_CONSENT = "loyalty.location-consent";

function locationConsent() {
  return load("localStorage", LOCATION_CONSENT); // "granted", "declined" or null (not asked)
}

function showLocationConsent() {
  show("location-consent", locationConsent() === null);
}

// Remembered only from a tap on "collect" with the box in view: the claim that completes
// a sign-in by itself (decision 0234) has not asked anything yet.
function rememberLocationConsent() {
  if (locationConsent() !== null || !state.tapped || $("location-consent").hidden) return;
  save("localStorage", LOCATION_CONSENT, $("share-location").checked ? "granted" : "declined");
  show("location-consent", false);
}

function browserLocation() {
  if (!navigator.geolocation) return Promise.resolve(null);
  return new Promise((resolve) =>
    navigator.geolocation.getCurrentPosition(
      ({ coords }) => resolve({ latitude: coords.latitude, longitude: coords.longitude }),
      () => resolve(null),
      { timeout: 8000, maximumAge: 60000 },
    ),
  );
}

async function scanLocation() {
  const asked = state.tapped && !$("location-consent").hidden;
  const granted = locationConsent() === "granted" || (locationConsent() === null && asked && $("share-location").checked);
  if (!granted) return null;
  const found = inWeChat ? await whereabouts() : await browserLocation();
  return found ? { latitude: found.latitude, longitude: found.longitude } : null;
}

async function claimCall(idempotencyKey, { locate = true } = {}) {
  const variables = withHiddenCode({
    code: config.code,
    idempotencyKey,
    shareWithMerchant: state.shareWithMerchant,
  });
  const where = locate ? await scanLocation() : null;
  if (where) Object.assign(variables, where);
  if (locate) rememberLocationConsent();
  if (!isPrize()) return api.call("ClaimCode", variables, { auth: true });
  return api.call("ClaimPrizeCode", { ...variables, nonce: drawNonce() }, { auth: true });
}

function askMerchantConsent(error) {
  state.shareWithMerchant = true;
  setText("merchant-consent", messageFor(error));
  focusOn("merchant-consent");
}

// The first-time consumer's consent, given by the claim tap; false if it was refused.
async function agreeFirst() {
  try {
    const consumer = await acceptWeChat();
    state.consent = false;
    setText("signed-in-as", signedInAs(consumer));
    show("claim-consent", false);
    show("sign-out");
    return true;
  } catch (error) {
    showAlert(messageFor(error));
    return false;
  }
}

function showClaim(consumer, { focus = false, consent = false } = {}) {
  state.consent = consent;
  // A first-time consumer's one tap also agrees to share with this merchant (said on the
  // card): no second tap for the merchant's consent (decision 0184).
  if (consent) {
    state.shareWithMerchant = true;
    setText("merchant-consent", fmt(texts.share_with_merchant, { merchant: state.preview.merchantName }));
  }
  show("claim");
  showLocationConsent();
  setText("signed-in-as", signedInAs(consumer));
  show("claim-consent", consent);
  show("sign-out", !consent);
  const button = $("claim-button");
  button.textContent = consent ? texts.agree_and_claim : claimLabel();
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
  const reveal = () => {
    show("result-outcome");
    if (focus) focusOn("result-title");
  };
  if (result.prize) revealDraw(result.prize, state.preview?.prizeTiers, result.replayed, reveal);
  else reveal();
}

function finalRefusal(error) {
  // The code cannot be claimed (used, voided, ended, limit...): say so where the offer is.
  show("claim", false);
  setText("offer-status", messageFor(error));
  showAlert(messageFor(error));
  focusOn("offer-title");
}

// Claim with the tab's idempotency key; true when the session must be signed in again.
async function claim() {
  const { claimCode: result } = await claimCall(sessionKey(KEY_NAME));
  const [error] = result.errors;
  if (!error) {
    showResult(result);
  } else if (error.code === "MERCHANT_CONSENT_REQUIRED") {
    askMerchantConsent(error);
  } else if (asksHiddenAgain(error) && error.code !== "RATE_LIMITED") {
    askHiddenCode(error);
  } else if (isAuthError(error)) {
    showAlert(messageFor(error));
    return true;
  } else if (error.code === "INVALID_IDEMPOTENCY_KEY" || error.code === "IDEMPOTENCY_CONFLICT") {
    forgetSessionKey(KEY_NAME);
    showAlert(messageFor(error));
  } else if (RETRYABLE.has(error.code)) {
    showAlert(messageFor(error)); // same key on the next try
  } else {
    finalRefusal(error);
  }
  return false;
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
  let signInAgain = false;
  try {
    // One tap for a first-time consumer inside WeChat: agree (the account is created
    // with the consent), then claim. A refused ticket leaves the phone sign-in.
    if (state.consent && !(await agreeFirst())) signInAgain = true;
    else signInAgain = await claim();
  } catch (error) {
    signInAgain = isAuthError(error);
    showAlert(messageFor(error)); // a lost answer: retrying sends the same key
  } finally {
    state.claiming = false;
    button.disabled = false;
    button.textContent = state.consent ? label : claimLabel();
    button.removeAttribute("aria-busy");
    announce("");
  }
  if (signInAgain) {
    api.tokens.clear();
    await askToSignIn({ focus: true });
  }
}

// A claim from this tab whose answer was lost (or a reload afterwards): the same key
// replays the first result instead of saying "already used".
async function replayEarlierClaim() {
  const key = load("sessionStorage", `loyalty.key.${KEY_NAME}`);
  if (!key || !api.tokens.present) return;
  try {
    const { claimCode: result } = await claimCall(key, { locate: false });
    if (!result.errors.length) showResult(result, { focus: false });
  } catch {
    /* the "already used" notice stays */
  }
}

$("claim-button").addEventListener("click", () => {
  state.tapped = true;
  return onClaim();
});
$("sign-out").addEventListener("click", async () => {
  forgetSessionKey(KEY_NAME);
  await signOut();
  await askToSignIn({ focus: true });
});
$("retry").addEventListener("click", () => start(loadPreview));
if (config.hidden) {
  $("hidden-code-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const typed = $("hidden-code").value.trim();
    if (!typed) return;
    state.hiddenCode = typed;
    start(loadPreview);
  });
}

// The console's preview (decision 0324): the offer comes with the page and nothing is
// sent (no sign-in, no lookup, no claim): it shows what a consumer sees first.
if (config.preview) {
  start(async () => {
    state.preview = config.offer;
    showPreview(config.offer);
    $("offer").setAttribute("aria-busy", "false");
  });
} else {
  // Inside WeChat: configure the JS-SDK (location, scanner, sharing) while the code loads.
  weChatReady();
  start(async () => {
    await weChatStart();
    await loadPreview();
  });
}
