// The merchant's ledger statement: budget and campaign reserve entries, newest first.

import { $, api, dateTime, el, number, pager, points, start, t, table } from "./console.js";

function amount(entry) {
  const value = Number(entry.amount);
  return el("span", { class: value < 0 ? "amount negative" : "amount positive" }, `${value > 0 ? "+" : ""}${number(value)}`);
}

async function main() {
  const { budget } = await start();
  $("#budget-available").textContent = points(budget.available);
  $("#budget-reserved").textContent = points(budget.reserved);
  const entries = pager(
    $("#entries-more"),
    async (after) => (await api.call("Ledger", { first: 50, after }, { auth: true })).ledger,
    (rows) =>
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
      ),
  );
  await entries();
}

main();
