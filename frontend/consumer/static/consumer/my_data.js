// /my-data: the merchants the consumer shares their data with (PIPL), withdrawable; a
// copy of their data; deleting the account.

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


// --- A copy of the data, deleting the account (each after a fresh one-time code) -----

function showRequests({ dataCopy, deletion }) {
  setText("copy-status", dataCopy ? texts[`copy_${dataCopy.status}`] : "");
  const link = $("copy-link");
  link.hidden = !dataCopy?.download;
  if (dataCopy?.download) link.href = dataCopy.download.url;
  setText(
    "deletion-status",
    deletion ? fmt(texts.deletion_pending, { date: deletion.eraseAfter.slice(0, 10) }) : "",
  );
  show("ask-deletion", !deletion);
  show("cancel-deletion", Boolean(deletion));
  show("requests");
}

async function loadRequests() {
  const { personalData } = await api.call("PersonalData", {}, { auth: true });
  showRequests(personalData);
  // A copy being prepared: look again shortly (the task takes seconds).
  if (personalData.dataCopy?.status === "PENDING") setTimeout(() => withSession(loadRequests), 3000);
}

async function send(name, variables, after) {
  await withSession(async () => {
    const result = Object.values(await api.call(name, variables, { auth: true }))[0];
    if (result.errors.length) {
      showAlert(messageFor(result.errors[0]));
      return;
    }
    await after(result);
  }).catch((error) => showAlert(messageFor(error)));
}

$("send-code").addEventListener("click", () =>
  send("RequestPersonalDataCode", {}, async () => announce(texts.code_sent)),
);
$("ask-copy").addEventListener("click", () =>
  send("RequestDataCopy", { code: $("code").value.trim() }, async () => {
    $("code").value = "";
    await loadRequests();
  }),
);
$("ask-deletion").addEventListener("click", () => {
  if (!window.confirm(texts.deletion_confirm)) return;
  // The account is signed out everywhere once the request is taken.
  send("RequestAccountDeletion", { code: $("code").value.trim() }, async (result) => {
    showRequests(result.personalData);
    api.tokens.clear();
    announce(texts.deletion_requested);
  });
});
$("cancel-deletion").addEventListener("click", () =>
  send("CancelAccountDeletion", {}, async (result) => {
    showRequests(result.personalData);
    announce(texts.deletion_cancelled);
  }),
);

start(() =>
  withSession(async () => {
    await load();
    await loadRequests();
  }),
);
