import { $, api, config, mutate, onSubmit, param } from "./console.js";

// The invitation email links here with ?uid=…&token=…; the server checks both.
const form = $("#accept");
$("#booting").remove();
$("#screen").hidden = false;
$("#password").focus();

onSubmit(form, async ({ password }) => {
  const payload = await mutate("AcceptInvitation", {
    uid: param("uid") || "",
    token: param("token") || "",
    password,
  });
  api.tokens.save(payload.tokens);
  window.location.assign(config.urls.dashboard);
});
