// 防窜货: goods scanned outside their dealer's sales regions, by province, city or dealer
// (tables with CSS bars: no map), scans by region or dealer with a CSV export, and the
// diverted codes themselves, newest first.

import { $, api, dateTime, el, fail, number, pager, percent, start, t, table } from "./console.js";

const state = { days: 30, by: "PROVINCE" };

// A bar drawn with CSS (a share of the largest row), beside the figure it shows.
function bar(value, largest, label) {
  const width = largest ? Math.max(2, Math.round((value / largest) * 100)) : 0;
  return el(
    "span",
    { class: "bar-cell" },
    el("span", { class: "bar-track", "aria-hidden": "true" }, el("span", { class: "bar-fill", style: `width: ${width}%` })),
    el("span", { class: "bar-value" }, label ?? number(value)),
  );
}

async function showTotals() {
  const { diversionTotals: rows } = await api.call("DiversionTotals", { by: state.by, days: state.days }, { auth: true });
  const largest = Math.max(0, ...rows.map((r) => r.diversions));
  $("#totals").replaceChildren(
    rows.length
      ? table(
          [
            [t(state.by === "DEALER" ? "col_dealer" : "col_region"), (r) => r.name],
            [t("col_diversions"), (r) => bar(r.diversions, largest)],
            [t("col_scans"), (r) => number(r.scans)],
            [t("col_precise"), (r) => number(r.precise)],
            [t("col_refused"), (r) => number(r.refused)],
          ],
          rows,
          t("suspected_diversion"),
        )
      : el("p", { class: "hint" }, t("no_diversion")),
  );
}

async function showStats() {
  const by = $("#stats-by").value;
  const { scanStats: rows } = await api.call("ScanStats", { by, days: state.days }, { auth: true });
  $("#stats").replaceChildren(
    rows.length
      ? table(
          [
            [t(by === "DEALER" ? "col_dealer" : "col_region"), (r) => r.name],
            [t("col_scans"), (r) => number(r.scans)],
            [t("col_claims"), (r) => number(r.claims)],
            [t("col_consumers"), (r) => number(r.consumers)],
            [t("col_diversion_share"), (r) => bar(r.diversionShare, 1, percent(r.diversionShare * 100))],
          ],
          rows,
          t("scans_by_region"),
        )
      : el("p", { class: "hint" }, t("no_scans_yet")),
  );
}

async function downloadCsv() {
  const by = $("#stats-by").value;
  const { scanStatsCsv } = await api.call("ScanStatsCsv", { by, days: state.days }, { auth: true });
  const url = URL.createObjectURL(new Blob([scanStatsCsv], { type: "text/csv;charset=utf-8" }));
  const anchor = el("a", { href: url, download: `scan-stats-${by.toLowerCase()}-${state.days}d.csv` });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  URL.revokeObjectURL(url);
}

function place(r) {
  const name = r.region.fullName;
  return r.approximate ? `${name} (${t("approximate")})` : name;
}

async function main() {
  await start();
  const events = pager(
    $("#events-more"),
    async (after) => (await api.call("DiversionEvents", { first: 50, after }, { auth: true })).diversionEvents,
    (rows) =>
      $("#events").replaceChildren(
        rows.length
          ? table(
              [
                [t("col_code"), (r) => el("span", { class: "code" }, r.code)],
                [t("col_place"), place],
                [t("col_dealer"), (r) => r.dealer.name],
                [t("col_first_scan"), (r) => el("span", { class: "nowrap" }, dateTime(r.firstScannedAt))],
                [t("col_scans"), (r) => number(r.scans)],
                [t("col_refused"), (r) => (r.refused ? t("yes") : t("no"))],
              ],
              rows,
              t("diverted_codes"),
            )
          : el("p", { class: "hint" }, t("no_diversion")),
      ),
  );
  for (const button of document.querySelectorAll("[data-by]")) {
    button.addEventListener("click", () => {
      state.by = button.dataset.by;
      for (const other of document.querySelectorAll("[data-by]")) other.setAttribute("aria-pressed", String(other === button));
      showTotals().catch(fail);
    });
  }
  $("#period").addEventListener("change", (event) => {
    state.days = Number(event.target.value);
    Promise.all([showTotals(), showStats()]).catch(fail);
  });
  $("#stats-by").addEventListener("change", () => showStats().catch(fail));
  $("#stats-csv").addEventListener("click", () => downloadCsv().catch(fail));
  await Promise.all([showTotals(), showStats(), events()]);
}

main();
