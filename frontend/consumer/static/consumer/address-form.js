// The shared address form (templates/consumer/_address_form.html): add or edit one
// address with SaveAddress; each refusal is shown at its field.

import { $, api, busy, focusOn, messageFor, setText, show, showAlert, texts } from "./app.js";

const FIELDS = { recipient: "recipient", phone: "address-phone", region: "region", street: "street", postalCode: "postal-code" };

let pending = null;

function clearErrors() {
  for (const [field, id] of Object.entries(FIELDS)) {
    $(id).removeAttribute("aria-invalid");
    setText(`${field}-error`, "");
  }
}

function fieldError(field, text) {
  const id = FIELDS[field];
  if (!id) return false;
  $(id).setAttribute("aria-invalid", "true");
  setText(`${field}-error`, text);
  return true;
}

function finish(address) {
  show("address-form", false);
  const resolve = pending;
  pending = null;
  resolve?.(address);
}

async function save(event) {
  event.preventDefault();
  clearErrors();
  const values = Object.fromEntries(
    Object.entries(FIELDS).map(([field, id]) => [field, $(id).value.trim()]),
  );
  // Inline: the required fields, before asking the server.
  const missing = ["recipient", "phone", "region", "street"].filter((field) => !values[field]);
  if (missing.length) {
    for (const field of missing) fieldError(field, texts.fill_in);
    $(FIELDS[missing[0]]).focus();
    return;
  }
  const variables = { ...values, isDefault: $("is-default").checked };
  if ($("address-id").value) variables.id = $("address-id").value;
  const button = $("address-form").querySelector("button[type=submit]");
  await busy(button, texts.saving, async () => {
    const { saveAddress: result } = await api.call("SaveAddress", variables, { auth: true });
    if (result.errors.length) {
      let focused = false;
      for (const error of result.errors) {
        const shown = fieldError(error.field, messageFor(error));
        if (shown && !focused) {
          $(FIELDS[error.field]).focus();
          focused = true;
        }
        if (!shown) showAlert(messageFor(error));
      }
      return;
    }
    finish(result.address);
  }).catch((error) => showAlert(messageFor(error)));
}

// The province / city / district picker (decision 0240): the provinces once, a
// province's cities and districts when it is chosen (one cached request each); a choice
// writes the region field, which stays the value sent and can still be typed.
const regionRequests = new Map();
let cities = [];

function regionData(code = "") {
  if (!regionRequests.has(code)) {
    const request = fetch(`/regions/${code}`, { credentials: "omit" }).then((answer) => {
      if (!answer.ok) throw new Error(`regions ${answer.status}`);
      return answer.json();
    });
    request.catch(() => regionRequests.delete(code)); // a later choice asks again
    regionRequests.set(code, request);
  }
  return regionRequests.get(code);
}

function fillSelect(id, rows) {
  const select = $(id);
  select.replaceChildren(select.options[0], ...rows.map(([code, name]) => new Option(name, code)));
  select.disabled = rows.length === 0;
}

function chosenRegion() {
  const names = ["region-province", "region-city", "region-district"]
    .map((id) => $(id))
    .filter((select) => select.value)
    .map((select) => select.selectedOptions[0].text);
  // A municipality is its own city (北京市 北京市): named once.
  return names.filter((name, i) => name !== names[i - 1]).join(" ");
}

async function provinceChosen() {
  fillSelect("region-city", []);
  fillSelect("region-district", []);
  const code = $("region-province").value;
  cities = code ? await regionData(code) : [];
  fillSelect("region-city", cities);
  $("region").value = chosenRegion();
}

function cityChosen() {
  const city = cities.find(([code]) => code === $("region-city").value);
  fillSelect("region-district", city ? city[2] : []);
  $("region").value = chosenRegion();
}

async function startPicker() {
  try {
    fillSelect("region-province", await regionData());
    show("region-picker");
  } catch {
    /* the typed field is enough: the picker only helps */
  }
}

// A new address is most often the consumer's own: their number, to be changed if not.
async function prefillPhone() {
  try {
    const { me } = await api.call("Me", {}, { auth: true });
    if (me?.phone && !$("address-phone").value) $("address-phone").value = me.phone.replace(/^\+86/, "");
  } catch {
    /* typed by hand, as before */
  }
}

let wired = false;

/** Show the form (empty, or filled with `address`); resolves with the saved address,
 * or null when cancelled. */
export function editAddress(address = null) {
  if (!wired) {
    wired = true;
    $("address-form").addEventListener("submit", save);
    $("address-cancel").addEventListener("click", () => finish(null));
    for (const id of Object.values(FIELDS)) {
      $(id).addEventListener("input", () => $(id).removeAttribute("aria-invalid"));
    }
    $("region-province").addEventListener("change", () => provinceChosen().catch(() => {}));
    $("region-city").addEventListener("change", cityChosen);
    $("region-district").addEventListener("change", () => ($("region").value = chosenRegion()));
    startPicker();
  }
  $("region-province").value = "";
  fillSelect("region-city", []);
  fillSelect("region-district", []);
  clearErrors();
  $("address-form-title").textContent = address ? texts.edit_title : texts.add;
  $("address-id").value = address?.id || "";
  $("recipient").value = address?.recipient || "";
  $("address-phone").value = address?.phone || "";
  $("region").value = address?.region || "";
  $("street").value = address?.street || "";
  $("postal-code").value = address?.postalCode || "";
  $("is-default").checked = Boolean(address?.isDefault);
  if (!address) prefillPhone();
  show("address-form");
  focusOn("address-form-title");
  return new Promise((resolve) => {
    pending?.(null);
    pending = resolve;
  });
}

export function addressLine(address) {
  return [address.recipient, address.phone, address.region, address.street, address.postalCode]
    .filter(Boolean)
    .join(", ");
}
