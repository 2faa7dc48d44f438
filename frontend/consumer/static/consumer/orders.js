// /orders: the consumer's orders, newest first, 20 at a time; cancel before shipping.

import {

  announce,
  api,
  busy,
  el,
  fmt,
  formatPoints,
  formatTime,
  messageFor,
  pager,
  showAlert,
  start,
  texts,
} from "./app.js";
import { addressLine } from "./address-form.js";
import { withSession } from "./signin.js";

function order(node) {
  const status = el("span", { className: `badge status-${node.status.toLowerCase()}` }, texts[`status_${node.status}`] || node.status);
  const item = el(
    "li",
    { className: "card order", "data-id": node.id },
    el("h2", {}, node.product.title),
    el("p", {}, status, " ", fmt(texts.placed_at, { date: formatTime(node.placedAt) })),
    el(
      "p",
      { className: "hint" },
      fmt(texts.quantity, {
        n: node.quantity,
        points: formatPoints(Number(node.totalPoints) / node.quantity),
      }),
    ),
    el("p", { className: "points small" }, fmt(texts.points, { points: formatPoints(node.totalPoints) })),
  );
  if (node.address) item.append(el("p", { className: "hint" }, fmt(texts.ship_to, { address: addressLine(node.address) })));
  if (node.trackingNumber) {
    item.append(el("p", {}, fmt(texts.tracking, { carrier: node.carrier, number: node.trackingNumber })));
  }
  if (node.couponCodes?.length) {
    item.append(
      el("p", {}, texts.coupon_codes),
      el("ul", { className: "codes" }, ...node.couponCodes.map((code) => el("li", { className: "code" }, code))),
    );
  }
  if (node.status === "PLACED" && node.product.kind === "PHYSICAL") {
    const cancel = el("button", { type: "button", className: "link danger" }, texts.cancel);
    cancel.addEventListener("click", () => cancelOrder(node, item, cancel));
    item.append(cancel);
  }
  return item;
}

async function cancelOrder(node, item, button) {
  if (!window.confirm(texts.cancel_confirm)) return;
  await withSession(() =>
    busy(button, texts.sending, async () => {
      const { cancelOrder: result } = await api.call("CancelOrder", { id: node.id }, { auth: true });
      if (result.errors.length) {
        showAlert(messageFor(result.errors[0]));
        return;
      }
      const updated = order({ ...node, ...result.order });
      item.replaceWith(updated);
      announce(fmt(texts.cancelled, { balance: formatPoints(result.balance) }));
      updated.querySelector("h2").setAttribute("tabindex", "-1");
      updated.querySelector("h2").focus();
    }),
  ).catch((error) => showAlert(messageFor(error)));
}

const orders = pager({
  list: "orders",
  more: "orders-more",
  empty: "orders-empty",
  emptyText: texts.empty,
  load: async (after) => (await api.call("Orders", { after }, { auth: true })).orders,
  render: order,
});

start(() =>
  withSession(async () => {
    orders.reset();
    await orders.next();
  }),
);

