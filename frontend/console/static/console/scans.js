// Suspicious codes (防伪): the merchant's codes that look copied, and any code's latest
// scans. No scanner is named: a device tag tells devices apart, "signed in" says no more.

import { $, api, badge, date, dateTime, el, number, onSubmit, pager, start, t, table } from "./console.js";

function reason(row) {
  if (!row.suspicion) return "—";
  const why = badge(t(`suspicion_${row.suspicion}`), "status-failed");
  return row.distanceKm ? el("span", {}, why, " ", t("far_apart_km", { km: number(row.distanceKm) })) : why;
}

function place(name, approximate) {
  if (!name) return "—";
  return approximate ? `${name} (${t("approximate")})` : name;
}

async function showHistory(code) {
  const { codeScans } = await api.call("CodeScans", { code, latest: 50 }, { auth: true });
  const rows = codeScans.events;
  const summary = codeScans.summary;
  $("#history").replaceChildren(
    el("h3", {}, t("history_of", { code: codeScans.code })),
    codeScans.productName
      ? el("p", { class: "hint" }, t("history_product", { product: [codeScans.productName, codeScans.sku].filter(Boolean).join(" · ") }))
      : null,
    summary ? el("p", {}, reason(summary)) : null,
    rows.length
      ? table(
          [
            [t("col_when"), (e) => el("span", { class: "nowrap" }, dateTime(e.scannedAt))],
            [t("col_source"), (e) => t(`source_${e.source}`)],
            [t("col_result"), (e) => el("span", { class: "code" }, e.outcome)],
            [t("col_place"), (e) => place(e.regionName, e.approximate)],
            [t("col_device"), (e) => el("span", {}, el("span", { class: "code" }, e.device), " ", t(`agent_${e.agent}`), e.signedIn ? ` · ${t("signed_in")}` : "")],
            [t("col_counted"), (e) => (e.counted ? t("yes") : t("no"))],
          ],
          rows,
          t("history_of", { code: codeScans.code }),
        )
      : el("p", { class: "hint" }, t("no_scans")),
  );
}

async function main() {
  await start();
  const suspicious = pager(
    $("#suspicious-more"),
    async (after) => (await api.call("SuspiciousCodes", { first: 50, after }, { auth: true })).suspiciousCodes,
    (rows) =>
      $("#suspicious").replaceChildren(
        rows.length
          ? table(
              [
                [t("col_code"), (r) => el("span", { class: "code" }, r.code)],
                [t("col_reason"), reason],
                [t("col_flagged"), (r) => el("span", { class: "nowrap" }, dateTime(r.suspectedAt))],
                [t("col_lookups"), (r) => number(r.lookups)],
                [t("col_first_scan"), (r) => el("span", {}, dateTime(r.firstScannedAt), " · ", r.firstRegionName || "—")],
                [t("col_last_place"), (r) => r.regionName || "—"],
                [
                  "",
                  (r) =>
                    el(
                      "button",
                      {
                        type: "button",
                        class: "link",
                        onclick: () => {
                          $("#h-code").value = r.code;
                          showHistory(r.code).catch((error) => $("#history").replaceChildren(el("p", { class: "alert" }, api.message(error.code, error.message))));
                        },
                      },
                      t("show_history"),
                    ),
                ],
              ],
              rows,
              t("suspicious_codes"),
            )
          : el("p", { class: "hint" }, t("no_suspicious_codes")),
      ),
  );
  onSubmit($("#history-form"), (values) => showHistory(values.code.trim()));
  const { scansPerDay } = await api.call("ScansPerDay", { days: 7 }, { auth: true });
  $("#days").replaceChildren(
    scansPerDay.length
      ? table(
          [
            [t("col_day"), (d) => date(d.day)],
            [t("col_scans"), (d) => number(d.scans)],
            [t("col_lookups"), (d) => number(d.lookups)],
            [t("col_crawlers"), (d) => number(d.crawlers)],
            [t("col_claims"), (d) => number(d.claims)],
          ],
          scansPerDay,
          t("scans_per_day"),
        )
      : el("p", { class: "hint" }, t("no_scans_yet")),
  );
  await suspicious();
}

main();
