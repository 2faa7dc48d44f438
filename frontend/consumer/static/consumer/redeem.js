// /mall/<pk>/redeem: quantity, delivery address (choose or add one), confirm once.
//
// The idempotency key is kept for the tab until the order is placed: a retry after a
// lost answer (even after a reload) replays the first order instead of placing two.

import { forgetSessionKey, sessionKey } from "../frontend/api.js";
import {
  $,
  api,
  busy,
  config,
  el,
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
import { showBindings } from "./bind.js";
import { addressLine, editAddress } from "./address-form.js";
import { availability } from "./catalog.js";
import { isAuthError, withSession } from "./signin.js";

const KEY_NAME = `redeem.${config.product}`;
const state = { product: null, balance: 0 };

function quantity() {
  const value = Number.parseInt($("quantity").value, 10);
  return Number.isFinite(value) ? value : 0;
}

function updateTotal() {
  const total = state.product.pointsPrice * Math.max(quantity(), 0);
  $("total").textContent = fmt(texts.total, { points: formatPoints(total) });
  const short = total - state.balance;
  setText(
    "have",
    short > 0
      ? `${fmt(texts.have, { points: formatPoints(state.balance) })} ${fmt(texts.short, { points: formatPoints(short) })}`
      : fmt(texts.have, { points: formatPoints(state.balance) }),
  );
  $("confirm").textContent = fmt(texts.confirm, { points: formatPoints(total) });
}

async function loadAddresses(selectId = null) {
  const { addresses } = await api.call("Addresses", { first: 50 }, { auth: true });
  const nodes = addresses.edges.map((edge) => edge.node);
  const chosen = selectId || nodes.find((a) => a.isDefault)?.id || nodes[0]?.id;
  $("address-choices").replaceChildren(
    ...nodes.map((address) =>
      el(
        "label",
        { className: "choice" },
        el("input", { type: "radio", name: "address", value: address.id, checked: address.id === chosen }),
        addressLine(address),
      ),
    ),
  );
}

async function load() {
  const [{ node: product }, { wallet }] = await Promise.all([
    api.call("Product", { id: config.product }),
    api.call("Wallet", { first: 1 }, { auth: true }),
  ]);
  if (!product || !product.title) {
    setText("product-title", texts.not_found);
    show("redeem-form");
    show("confirm", false);
    return;
  }
  state.product = product;
  state.balance = Number(wallet.balance);
  $("product-title").textContent = product.title;
  $("unit-price").textContent = pointsText(product.pointsPrice);
  if (product.perConsumerLimit) $("quantity").max = Math.min(100, product.perConsumerLimit);
  if (product.kind === "PHYSICAL") {
    await loadAddresses();
    show("address-box");
  }
  updateTotal();
  show("redeem-form");
  const blocked = availability(product);
  if (blocked) {
    showAlert(blocked);
    $("confirm").disabled = true;
  }
  focusOn("page-title");
}

function chosenAddress() {
  return document.querySelector('input[name="address"]:checked')?.value || null;
}

function addressError(text) {
  setText("address-error", text);
  $("address-box").classList.toggle("invalid", Boolean(text));
}

async function redeem() {
  addressError("");
  $("quantity").removeAttribute("aria-invalid");
  const count = quantity();
  const max = Number($("quantity").max) || 100;
  if (count < 1 || count > max) {
    $("quantity").setAttribute("aria-invalid", "true");
    showAlert(messageFor({ code: "INVALID_QUANTITY" }));
    $("quantity").focus();
    return;
  }
  const physical = state.product.kind === "PHYSICAL";
  const addressId = physical ? chosenAddress() : null;
  if (physical && !addressId) {
    addressError(texts.choose_address);
    $("new-address").focus();
    return;
  }
  const { redeem: result } = await api.call(
    "Redeem",
    { productId: config.product, quantity: count, addressId, idempotencyKey: sessionKey(KEY_NAME) },
    { auth: true },
  );
  const [error] = result.errors;
  if (error) {
    if (isAuthError(error)) throw Object.assign(new Error(error.code), { code: error.code });
    if (error.code === "IDEMPOTENCY_CONFLICT" || error.code === "INVALID_IDEMPOTENCY_KEY") {
      forgetSessionKey(KEY_NAME);
    }
    if (error.code === "PHONE_REQUIRED") {
      // Goods ship to a phone: bind one here, then redeem again.
      showBindings({ phone: null, wechat: true }, () => show("bindings", false));
    }
    if (error.code === "ADDRESS_REQUIRED" || error.field === "addressId") {
      addressError(messageFor(error));
    }
    showAlert(messageFor(error));
    return;
  }
  forgetSessionKey(KEY_NAME);
  show("redeem-form", false);
  $("done-title").textContent = texts.done;
  $("done-balance").textContent = fmt(texts.balance, { balance: formatPoints(result.balance) });
  const codes = result.order.couponCodes || [];
  if (codes.length) {
    $("done-coupons").replaceChildren(
      el("p", {}, texts.coupon_codes),
      el("ul", { className: "codes" }, ...codes.map((code) => el("li", { className: "code" }, code))),
    );
  }
  show("done");
  focusOn("done-title");
}

$("quantity").addEventListener("input", () => {
  $("quantity").removeAttribute("aria-invalid");
  updateTotal();
});
$("new-address").addEventListener("click", async () => {
  show("redeem-form", false);
  const saved = await editAddress();
  show("redeem-form");
  if (saved) {
    addressError("");
    await withSession(() => loadAddresses(saved.id)).catch((error) => showAlert(messageFor(error)));
  }
  focusOn(saved ? "confirm" : "new-address");
});
$("redeem-form").addEventListener("submit", (event) => {
  event.preventDefault();
  withSession(() => busy($("confirm"), texts.redeeming, redeem)).catch((error) =>
    showAlert(messageFor(error)),
  );
});

start(() => withSession(load));
