// The merchant's statement: one line per business movement (a ledger transaction),
// its postings folded into the budget's and the reserves' change and shown on demand;
// filtered by date, kind and campaign; the same lines as a CSV file.

import {
  $, announce, api, dateTime, el, fail, link, mutate, nodes, number, onSubmit, pager, showBudget, start, t, table,
} from "./console.js";

const KINDS = ["FUND_MONEY", "FUND_GOODS", "TRANSFER", "RESERVE", "RELEASE", "AWARD", "MERCHANT_AWARD", "REVERSAL"];

function change(value) {
  const n = Number(value);
  if (!n) return el("span", { class: "hint" }, "—");
  return el("span", { class: n < 0 ? "amount negative" : "amount positive" }, `${n > 0 ? "+" : ""}${number(n)}`);
}

// A movement of more than one posting on each side (a batch reserved over its buckets)
// opens to show them; a single posting per side says it all on the line.
function postings(movement) {
  const list = movement.postings;
  if (list.length <= 2) return el("span", { class: "hint" }, t("postings_count", { count: number(list.length) }));
  return el(
    "details",
    { class: "postings" },
    el("summary", {}, t("postings_count", { count: number(list.length) })),
    el(
      "ul",
      {},
      list.map((p) =>
        el("li", {}, `${t(`account_${p.account}`)}${p.reference ? ` ${p.reference}` : ""}: `, change(p.amount)),
      ),
    ),
  );
}

// The day inputs are local days: from the start of "from" to the end of "to".
function filters() {
  const form = $("#statement-filters");
  const day = (value, next) => {
    if (!value) return null;
    const d = new Date(`${value}T00:00:00`);
    if (next) d.setDate(d.getDate() + 1);
    return d.toISOString();
  };
  return {
    since: day(form.from.value, false),
    until: day(form.to.value, true),
    kind: form.kind.value || null,
    campaign: form.campaign.value || null,
  };
}

async function campaignsById() {
  const { campaigns } = await api.call("Campaigns", { first: 100 }, { auth: true });
  const select = $("#filter-campaign");
  const names = new Map();
  for (const c of nodes(campaigns)) {
    names.set(c.id, c.name);
    select.append(el("option", { value: c.id }, c.name));
  }
  return names;
}

// "Download CSV" is a real link to a signed URL (15 minutes): made again when a filter
// changes, and when the page comes back into view after it expired.
function csvLink() {
  const anchor = $("#ledger-csv");
  let expires = 0;
  let asked = 0;
  const refresh = async () => {
    // Filters changed twice quickly: only the last answer names the filters shown.
    const mine = ++asked;
    const { ledgerCsv } = await api.call("LedgerCsv", filters(), { auth: true });
    if (mine !== asked) return;
    anchor.href = ledgerCsv.url;
    anchor.hidden = false;
    expires = Date.parse(ledgerCsv.expiresAt);
  };
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && Date.now() > expires - 60000) refresh().catch(fail);
  });
  return refresh;
}

// 申请充值: the operators are told and record the payment; the points come with it.
function topUp() {
  const form = $("#top-up");
  onSubmit(form, async (values) => {
    // The field is named for the API's argument (errors land on it); it takes yuan.
    const yuan = Number(values.amountMinor);
    const amountMinor = Number.isFinite(yuan) ? Math.round(yuan * 100) : 0;
    await mutate("RequestTopUp", { amountMinor, note: values.note.trim() || null });
    form.reset();
    $("#top-up-done").hidden = false;
    announce(t("top_up_requested"));
  });
}

async function main() {
  const { budget } = await start();
  showBudget(budget);
  topUp();
  const kind = $("#filter-kind");
  for (const k of KINDS) kind.append(el("option", { value: k }, t(`txn_${k}`)));
  let names = new Map();
  const campaign = (m) =>
    m.campaign ? el("a", { href: link("campaign", { id: m.campaign }) }, names.get(m.campaign) || m.memo) : "—";
  const entries = pager(
    $("#entries-more"),
    async (after) =>
      (await api.call("LedgerMovements", { first: 50, after, ...filters() }, { auth: true })).ledgerMovements,
    (rows) =>
      $("#entries").replaceChildren(
        rows.length
          ? table(
              [
                [t("col_date"), (m) => dateTime(m.createdAt)],
                [t("col_kind"), (m) => t(`txn_${m.kind}`)],
                [t("col_campaign"), campaign],
                [t("col_budget_change"), (m) => change(m.budgetChange)],
                [t("col_reserve_change"), (m) => change(m.reserveChange)],
                [t("col_memo"), (m) => m.memo || "—"],
                [t("col_postings"), postings],
              ],
              rows,
            )
          : el("p", { class: "hint" }, t("none")),
      ),
  );
  const csv = csvLink();
  try {
    names = await campaignsById();
  } catch (error) {
    fail(error);
  }
  $("#statement-filters").addEventListener("change", () => {
    entries(true);
    csv().catch(fail);
  });
  $("#statement-filters").addEventListener("submit", (event) => event.preventDefault());
  await Promise.all([entries(), csv().catch(fail)]);
}

main();
