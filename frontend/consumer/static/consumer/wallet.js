// /: the wallet. Balance, points expiring within 30 days and the history, 20 at a time.

import {
  $,
  api,
  el,
  fmt,
  formatDate,
  formatPoints,
  formatTime,
  pager,
  pointsText,
  setText,
  show,
  start,
  texts,
} from "./app.js";
import { bindHandedOver, showBindings } from "./bind.js";
import { signOut, signedInAs, weChatStart, withSession } from "./signin.js";

function entry(node) {
  const amount = Number(node.amount);
  const label = texts[`kind_${node.kind}`] || node.kind;
  const detail = [node.merchantName, node.memo].filter(Boolean).join(" · ");
  return el(
    "li",
    { className: "entry" },
    el(
      "div",
      {},
      el("strong", {}, label),
      detail ? el("p", { className: "hint" }, detail) : null,
      el("p", { className: "hint" }, el("time", { dateTime: node.createdAt }, formatTime(node.createdAt))),
    ),
    el(
      "span",
      { className: amount >= 0 ? "amount plus" : "amount minus" },
      `${amount >= 0 ? "+" : "−"}${formatPoints(Math.abs(amount))}`,
    ),
  );
}

let first = null;

const history = pager({
  list: "history",
  more: "history-more",
  empty: "history-empty",
  emptyText: texts.empty,
  load: async (after) => {
    if (first && !after) return first; // the first page came with the balance
    const { wallet } = await api.call("Wallet", { after }, { auth: true });
    return wallet.history;
  },
  render: entry,
});

async function main() {
  await withSession(async () => {
    await bindHandedOver(); // back from "Bind WeChat" with #wx=<ticket>
    const [{ wallet }, { me }] = await Promise.all([
      api.call("Wallet", {}, { auth: true }),
      api.call("Me", {}, { auth: true }),
    ]);
    if (!me) {
      // A staff token: not a consumer's wallet.
      throw Object.assign(new Error("UNAUTHENTICATED"), { code: "UNAUTHENTICATED" });
    }
    $("balance").textContent = pointsText(wallet.balance);
    setText(
      "expiring",
      Number(wallet.expiringSoon) > 0
        ? fmt(texts.expiring, {
            points: formatPoints(wallet.expiringSoon),
            date: formatDate(wallet.nextExpiry),
          })
        : texts.no_expiry,
    );
    setText("signed-in-as", signedInAs(me));
    showBindings(me, () => window.location.reload());
    $("summary").setAttribute("aria-busy", "false");
    show("summary");
    show("history-card");
    show("account");
    first = wallet.history;
    history.reset();
    await history.next();
    first = null;
  });
}

$("sign-out").addEventListener("click", async () => {
  await signOut();
  for (const id of ["summary", "history-card", "account", "bindings"]) show(id, false);
  start(main); // no WeChat round trip: that would sign the same person straight back in
});

start(async () => {
  await weChatStart();
  await main();
});
