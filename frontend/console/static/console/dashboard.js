import {
  $, announce, api, chart, COLORS, date, el, fail, link, mutate, number, percent, points, shortDate, showBudget, start, statusBadge, t,
  table, timeOfDay, timeZone,
} from "./console.js";

function campaignLink(campaign) {
  // Questionnaires are opened by their campaign: the questionnaire screen finds it.
  return campaign.kind === "SCAN"
    ? link("campaign", { id: campaign.id })
    : link("campaigns");
}

async function main() {
  const session = await start();
  showBudget(session.budget);
  try {
    const { dashboard } = await api.call("Dashboard", { days: 30, timeZone, top: 5 }, { auth: true });
    $("#points-reserved").textContent = points(dashboard.pointsReserved);
    $("#points-awarded").textContent = points(dashboard.pointsAwarded);
    $("#points-returned").textContent = points(dashboard.pointsReturned);
    $("#active-consumers").textContent = number(dashboard.activeConsumers);
    const days = dashboard.earningsPerDay;
    chart(
      $("#earnings-chart"),
      "bar",
      days.map((d) => shortDate(d.day)),
      [
        { label: t("claims"), data: days.map((d) => d.claims), backgroundColor: COLORS[0] },
        { label: t("responses"), data: days.map((d) => d.responses), backgroundColor: COLORS[1] },
      ],
      { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
    );
    const claims = days.reduce((sum, d) => sum + d.claims, 0);
    const responses = days.reduce((sum, d) => sum + d.responses, 0);
    $("#chart-summary").textContent =
      claims + responses
        ? `${t("claims")}: ${number(claims)} · ${t("responses")}: ${number(responses)}`
        : t("no_earnings");
    const top = dashboard.topCampaigns;
    $("#top-campaigns").replaceChildren(
      top.length
        ? table(
            [
              [t("col_campaign"), (r) => el("a", { href: campaignLink(r.campaign) }, r.campaign.name)],
              [t("col_kind"), (r) => t(`kind_${r.campaign.kind}`)],
              [t("col_status"), (r) => statusBadge("status", r.campaign.status)],
              [t("col_earnings"), (r) => number(r.earnings)],
              [t("col_awarded"), (r) => points(r.points)],
            ],
            top,
          )
        : el("p", { class: "hint" }, t("none")),
    );
    const shown = await growth();
    refreshButton(shown);
  } catch (error) {
    fail(error);
  }
}

// "Refresh": the merchant's own figures are counted again by a queued rollup; the page
// asks every 5 seconds (for two minutes) until they say a later time, then redraws them.
function refreshButton(shown) {
  // (Shown to operators and up: start() applies the data-role of the page.)
  const button = $("#analytics-refresh");
  let counted = shown;
  // Disabled in the page until here: a tap before the figures had loaded did nothing.
  button.disabled = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await mutate("RefreshAnalytics", {});
      announce(t("refresh_queued"));
      $("#rolled-at").textContent = t("refresh_queued");
      for (let tries = 0; tries < 24; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 5000));
        const now = await growth(false);
        if (now && now !== counted) {
          counted = now;
          break;
        }
      }
    } catch (error) {
      fail(error);
    } finally {
      button.disabled = false;
    }
  });
}

// Active consumers from the analytics summaries (rolled up by a periodic task, or on
// the merchant's asking). Returns when they were counted.
async function growth(withCsv = true) {
  const day = (offset) => new Date(Date.now() - offset * 86400000).toISOString().slice(0, 10);
  const period = { from: day(29), to: day(0) };
  const { analytics } = await api.call("Analytics", period, { auth: true });
  const days = analytics.days;
  chart(
    $("#growth-chart"),
    "line",
    days.map((d) => shortDate(d.day)),
    [
      { label: t("dau"), data: days.map((d) => d.dau), borderColor: COLORS[0] },
      { label: t("wau"), data: days.map((d) => d.wau), borderColor: COLORS[1] },
      { label: t("mau"), data: days.map((d) => d.mau), borderColor: COLORS[2] },
    ],
    { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  );
  $("#reached").textContent = number(analytics.consumersReached);
  $("#repeat").textContent = number(analytics.repeatConsumers);
  $("#redeemed-share").textContent = percent(analytics.redeemedShare * 100);
  // Awards through the earning API (purchases, awards, bonuses) in the 30 days.
  $("#merchant-awards").textContent = number(analytics.merchantAwards);
  const funnel = t("funnel", {
    scans: number(analytics.funnel.scans),
    claims: number(analytics.funnel.claims),
    redemptions: number(analytics.funnel.redemptions),
  });
  // Counted for this merchant alone (its refresh) before any periodic run: no "not yet".
  const fresh = analytics.rolledTo
    ? t("rolled_to", { day: date(analytics.rolledTo) })
    : analytics.updatedAt
      ? ""
      : t("not_rolled");
  $("#growth-summary").textContent = fresh ? `${funnel} · ${fresh}` : funnel;
  $("#rolled-at").textContent = analytics.updatedAt ? t("rolled_at", { time: timeOfDay(analytics.updatedAt) }) : "";
  if (withCsv) await csvLink(period);
  return analytics.updatedAt;
}

// "Download CSV" is a real link to a signed URL that works for 15 minutes (the
// console does not download by script). A page left open gets a fresh link a minute
// before the old one dies, and when it comes back into view after that.
async function csvLink(period) {
  const anchor = $("#analytics-csv");
  let expires = 0;
  let timer = null;
  const refresh = async () => {
    clearTimeout(timer);
    const { analyticsCsv } = await api.call("AnalyticsCsv", period, { auth: true });
    anchor.href = analyticsCsv.url;
    anchor.hidden = false;
    expires = Date.parse(analyticsCsv.expiresAt);
    timer = setTimeout(() => refresh().catch(fail), Math.max(expires - Date.now() - 60000, 10000));
  };
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && Date.now() > expires - 60000) refresh().catch(fail);
  });
  await refresh();
}

main();
