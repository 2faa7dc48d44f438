import { $, api, ApiError, onSubmit, showError, t } from "./console.js";

// Self-service sign-up: no session needed. The server checks every field and answers
// every problem at once, each shown at its field (named like the API's arguments).
const form = $("#sign-up");
$("#booting").remove();
$("#screen").hidden = false;
$("#name").focus();

// Suggest the short name from the business name until the applicant types one.
let slugTyped = false;
$("#slug").addEventListener("input", () => {
  slugTyped = true;
});
$("#name").addEventListener("input", () => {
  if (slugTyped) return;
  $("#slug").value = $("#name")
    .value.normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^[^a-z]+|-+$/g, "")
    .slice(0, 40);
});

onSubmit(form, async (values) => {
  const language = document.documentElement.lang;
  const { merchantSignUp: payload } = await api.call("MerchantSignUp", { ...values, language });
  if (payload.errors.length) {
    // Reversed, so that the first field at fault is the one left with the focus.
    for (const error of [...payload.errors].reverse()) {
      showError(form, new ApiError(error.code, error.message, error.field));
    }
    return;
  }
  $("#apply").hidden = true;
  $("#applied-text").textContent = t("application_received", {
    name: payload.merchant.name,
    email: payload.merchant.contactEmail,
  });
  const applied = $("#applied");
  applied.hidden = false;
  applied.focus();
});
