// Dealers (经销商): their sales regions (GB/T 2260 provinces, cities, districts, picked from
// the same division data as the consumers' address picker), the batches or serial ranges
// each received, and what a campaign does with a claim outside the region.

import {
  $, ApiError, api, config, dateTime, el, fail, intOrNull, mutate, nodes, number, onSubmit, pager, start, t, table,
} from "./console.js";

const state = { regions: new Map(), dealers: [], role: "VIEWER" };

async function regionsOf(code = "") {
  const response = await fetch(`${config.regionsUrl}${code}`);
  if (!response.ok) throw new ApiError("UNEXPECTED");
  return response.json();
}

function options(select, first, rows) {
  select.replaceChildren(el("option", { value: "" }, first), ...rows.map(([code, name]) => el("option", { value: code }, name)));
}

let cities = [];

async function pickerSetUp() {
  options($("#d-province"), t("region_province"), await regionsOf());
  $("#d-province").addEventListener("change", async (event) => {
    const code = event.target.value;
    cities = code ? await regionsOf(code) : [];
    options($("#d-city"), t("region_whole_province"), cities);
    options($("#d-district"), t("region_whole_city"), []);
  });
  $("#d-city").addEventListener("change", (event) => {
    const city = cities.find(([code]) => code === event.target.value);
    options($("#d-district"), t("region_whole_city"), city ? city[2] : []);
  });
  $("#d-add-region").addEventListener("click", () => {
    const chosen = [$("#d-district"), $("#d-city"), $("#d-province")].find((s) => s.value);
    if (!chosen) return;
    const names = [$("#d-province"), $("#d-city"), $("#d-district")]
      .filter((s) => s.value)
      .map((s) => s.selectedOptions[0].textContent);
    state.regions.set(chosen.value, [...new Set(names)].join(""));
    showChosen();
  });
}

function showChosen() {
  $("#d-regions").replaceChildren(
    ...[...state.regions].map(([code, name]) =>
      el(
        "li",
        {},
        `${name} (${code}) `,
        el("button", { type: "button", class: "link", "aria-label": t("remove_region", { name }), onclick: () => { state.regions.delete(code); showChosen(); } }, "×"),
      ),
    ),
  );
}

function editDealer(dealer) {
  const form = $("#dealer-form");
  form.elements.id.value = dealer.id;
  form.elements.name.value = dealer.name;
  state.regions = new Map(dealer.regions.map((r) => [r.code, r.fullName]));
  showChosen();
  $("#dealer-form-title").textContent = t("edit_dealer", { name: dealer.name });
  $("#d-cancel").hidden = false;
  form.elements.name.focus();
}

function resetDealerForm() {
  const form = $("#dealer-form");
  form.reset();
  form.elements.id.value = "";
  state.regions = new Map();
  showChosen();
  $("#dealer-form-title").textContent = t("add_dealer");
  $("#d-cancel").hidden = true;
}

function dealerSelect() {
  const select = $("#a-dealer");
  select.replaceChildren(...state.dealers.map((d) => el("option", { value: d.id }, d.name)));
}

async function main() {
  const session = await start();
  state.role = session.role;
  const dealers = pager(
    $("#dealers-more"),
    async (after) => (await api.call("Dealers", { first: 100, after }, { auth: true })).dealers,
    (rows) => {
      state.dealers = rows;
      dealerSelect();
      $("#dealer-list").replaceChildren(
        rows.length
          ? table(
              [
                [t("col_name"), (d) => d.name],
                [t("col_regions"), (d) => d.regions.map((r) => r.fullName).join("、")],
                [t("col_created"), (d) => dateTime(d.createdAt)],
                [
                  "",
                  (d) =>
                    ["OPERATOR", "ADMIN", "OWNER"].includes(state.role)
                      ? el(
                          "span",
                          {},
                          el("button", { type: "button", class: "link", onclick: () => editDealer(d) }, t("edit")),
                          " ",
                          el("button", { type: "button", class: "link", onclick: () => removeDealer(d) }, t("delete")),
                        )
                      : "",
                ],
              ],
              rows,
              t("dealers"),
            )
          : el("p", { class: "hint" }, t("no_dealers")),
      );
    },
  );
  async function removeDealer(dealer) {
    if (!window.confirm(t("confirm_delete_dealer", { name: dealer.name }))) return;
    try {
      await mutate("DeleteDealer", { id: dealer.id });
      await dealers(true);
    } catch (error) {
      window.alert(api.message(error.code, error.message));
    }
  }
  const assignments = pager(
    $("#assignments-more"),
    async (after) => (await api.call("DealerAssignments", { first: 100, after }, { auth: true })).dealerAssignments,
    (rows) =>
      $("#assignment-list").replaceChildren(
        rows.length
          ? table(
              [
                [t("col_dealer"), (a) => a.dealer.name],
                [t("col_campaign"), (a) => a.batch.campaign.name],
                [t("col_batch"), (a) => a.batch.name || t("batch_of", { size: number(a.batch.size) })],
                [t("col_serials"), (a) => `${number(a.firstSerial)} – ${number(a.lastSerial)}`],
                [t("col_created"), (a) => dateTime(a.createdAt)],
                [
                  "",
                  (a) =>
                    ["OPERATOR", "ADMIN", "OWNER"].includes(state.role)
                      ? el(
                          "button",
                          {
                            type: "button",
                            class: "link",
                            onclick: async () => {
                              await mutate("UnassignFromDealer", { id: a.id }).catch(fail);
                              await assignments(true);
                            },
                          },
                          t("unassign"),
                        )
                      : "",
                ],
              ],
              rows,
              t("assignments"),
            )
          : el("p", { class: "hint" }, t("no_assignments")),
      ),
  );

  onSubmit($("#dealer-form"), async (values) => {
    const variables = { name: values.name.trim(), regions: [...state.regions.keys()] };
    if (values.id) await mutate("UpdateDealer", { id: values.id, ...variables });
    else await mutate("CreateDealer", variables);
    resetDealerForm();
    await dealers(true);
  });
  $("#d-cancel").addEventListener("click", resetDealerForm);
  onSubmit($("#assign-form"), async (values) => {
    await mutate("AssignToDealer", {
      dealerId: values.dealerId,
      batchId: values.batchId,
      firstSerial: intOrNull(values.firstSerial),
      lastSerial: intOrNull(values.lastSerial),
    });
    $("#assign-form").reset();
    dealerSelect();
    await assignments(true);
  });

  const campaigns = nodes((await api.call("DealerCampaigns", {}, { auth: true })).campaigns);
  $("#a-batch").replaceChildren(
    ...campaigns.flatMap((c) =>
      nodes(c.batches).map((b) => el("option", { value: b.id }, `${c.name} · ${b.name || t("batch_of", { size: number(b.size) })}`)),
    ),
  );
  $("#p-campaign").replaceChildren(...campaigns.map((c) => el("option", { value: c.id }, c.name)));
  async function showAction() {
    const campaignId = $("#p-campaign").value;
    if (!campaignId) return;
    const { campaignDiversionAction } = await api.call("CampaignDiversionAction", { campaignId }, { auth: true });
    $("#p-action").value = campaignDiversionAction;
  }
  $("#p-campaign").addEventListener("change", () => showAction().catch(fail));
  onSubmit($("#policy-form"), async (values) => {
    await mutate("SetCampaignDiversionAction", { campaignId: values.campaignId, action: values.action });
  });
  await Promise.all([dealers(), assignments(), showAction(), pickerSetUp()]);
}

main();
