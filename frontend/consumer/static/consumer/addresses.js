// /addresses: the address book. Add, edit, make default, delete.

import { $, announce, api, el, messageFor, setText, show, showAlert, start, texts } from "./app.js";
import { addressLine, editAddress } from "./address-form.js";
import { withSession } from "./signin.js";


function item(address) {
  const edit = el("button", { type: "button", className: "link" }, texts.edit);
  const remove = el("button", { type: "button", className: "link danger" }, texts.delete);
  edit.addEventListener("click", () => change(address));
  remove.addEventListener("click", () => destroy(address));
  return el(
    "li",
    { className: "card" },
    el("p", {}, addressLine(address)),
    address.isDefault ? el("p", { className: "badge" }, texts.default) : null,
    el("div", { className: "row" }, edit, remove),
  );
}

async function load() {
  // At most 50 addresses (the API's cap), so one page holds the whole book.
  const { addresses } = await api.call("Addresses", { first: 50 }, { auth: true });
  const nodes = addresses.edges.map((edge) => edge.node);
  $("addresses").replaceChildren(...nodes.map(item));
  setText("addresses-empty", nodes.length ? "" : texts.empty_addresses);
  show("book");
}

async function change(address) {
  show("book", false);
  const saved = await editAddress(address);
  await withSession(load);
  if (saved) announce(texts.saved);
  $("page-title").focus();
}

async function destroy(address) {
  if (!window.confirm(texts.delete_confirm)) return;
  await withSession(async () => {
    const { deleteAddress: result } = await api.call("DeleteAddress", { id: address.id }, { auth: true });
    if (result.errors.length) {
      showAlert(messageFor(result.errors[0]));
      return;
    }
    await load();
    announce(texts.deleted);
  }).catch((error) => showAlert(messageFor(error)));
}


$("add-address").addEventListener("click", () => change(null));

start(() => withSession(load));
