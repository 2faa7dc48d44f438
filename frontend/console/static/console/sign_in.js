import { $, api, config, mutate, onSubmit, param } from "./console.js";

// Only a path on this site: never send a signed-in member to another host.
function next() {
  const target = param("next") || "";
  return target.startsWith("/") && !target.startsWith("//") ? target : config.urls.dashboard;
}

const form = $("#sign-in");
$("#booting").remove();
$("#screen").hidden = false;
$("#email").focus();

onSubmit(form, async ({ email, password }) => {
  const payload = await mutate("StaffSignIn", { email: email.trim(), password });
  api.tokens.save(payload.tokens);
  window.location.assign(next());
});

// Already signed in (a valid or refreshable session): straight on.
if (api.tokens.present) {
  api
    .call("Me", {}, { auth: true })
    .then(({ me }) => {
      if (me) window.location.assign(next());
    })
    .catch(() => api.tokens.clear());
}
