// /my-data: the merchants the consumer shares their data with (PIPL), withdrawable.

import {
  $,
  announce,
  api,
  el,
  fmt,
  messageFor,
  setText,
  show,
  showAlert,
  start,
  texts,
} from "./app.js";
import { withSession } from "./signin.js";

function item(consent) {
  const withdraw = el("button", { type: "button", className: "link danger" }, texts.withdraw);
  withdraw.addEventListener("click", () => stopSharing(consent));
  return el(
    "li",
    {},
    el("p", {}, consent.merchantName),
    el("p", { className: "hint" }, fmt(texts.since, { date: consent.givenAt.slice(0, 10) })),
    withdraw,
  );
}

async function load() {
  const { merchantConsents } = await api.call("MerchantConsents", { first: 50 }, { auth: true });
  const nodes = merchantConsents.edges.map((edge) => edge.node);
  $("consents").replaceChildren(...nodes.map(item));
  setText("consents-empty", nodes.length ? "" : texts.no_consents);
  show("sharing");
}

async function stopSharing(consent) {
  if (!window.confirm(fmt(texts.withdraw_confirm, { merchant: consent.merchantName }))) return;
  await withSession(async () => {
    const { withdrawMerchantConsent: result } = await api.call(
      "WithdrawMerchantConsent",
      { id: consent.id },
      { auth: true },
    );
    if (result.errors.length) {
      showAlert(messageFor(result.errors[0]));
      return;
    }
    await load();
    announce(texts.withdrawn);
  }).catch((error) => showAlert(messageFor(error)));
}

start(() => withSession(load));
