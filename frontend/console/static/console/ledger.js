// The merchant's ledger statement: budget and campaign reserve entries, newest first.

import { $, api, dateTime, el, fail, nodes, number, points, start, t, table } from "./console.js";

function amount(entry) {
  const value = Number(entry.amount);
  return el("span", { class: value < 0 ? "amount negative" : "amount positive" }, `${value > 0 ? "+" : ""}${number(value)}`);
}

async function main() {
  const { budget } = await start();
  $("#budget-available").textContent = points(budget.available);
  $("#budget-reserved").textContent = points(budget.reserved);
  const rows = [];
  let after = null;
  const more = $("#entries-more");
  async function load() {
    try {
      const { ledger } = await api.call("Ledger", { first: 50, after }, { auth: true });
      rows.push(...nodes(ledger));
      after = ledger.pageInfo.endCursor;
      more.hidden = !ledger.pageInfo.hasNextPage;
      $("#entries").replaceChildren(
        rows.length
          ? table(
              [
                [t("col_date"), (e) => dateTime(e.createdAt)],
                [t("col_kind"), (e) => t(`txn_${e.kind}`)],
                [t("col_account"), (e) => t(`account_${e.account}`)],
                [t("col_amount"), amount],
                [t("col_memo"), (e) => e.memo || "—"],
              ],
              rows,
            )
          : el("p", { class: "hint" }, t("none")),
      );
    } catch (error) {
      fail(error);
    }
  }
  more.addEventListener("click", load);
  await load();
}

main();
