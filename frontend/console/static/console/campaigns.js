import {
  $, api, dateTime, fail, el, instantOrNull, intOrNull, link, mutate, number, onSubmit, pager, percent,
  points, start, statusBadge, t, table,
} from "./console.js";

function showScan(rows) {
  $("#scan-list").replaceChildren(
    rows.length
      ? table(
          [
            [t("col_name"), (c) => el("a", { href: link("campaign", { id: c.id }) }, c.name)],
            [t("col_status"), (c) => statusBadge("status", c.status)],
            [t("col_codes"), (c) => number(c.stats.codesIssued)],
            [t("col_claimed"), (c) => `${number(c.stats.codesClaimed)} (${percent(c.stats.claimRate * 100)})`],
            [t("col_awarded"), (c) => points(c.stats.pointsAwarded)],
            [t("col_created"), (c) => dateTime(c.createdAt)],
          ],
          rows,
        )
      : el("p", { class: "hint" }, t("none")),
  );
}

function showQuestionnaires(rows) {
  $("#questionnaire-list").replaceChildren(
    rows.length
      ? table(
          [
            [t("col_name"), (q) => el("a", { href: link("questionnaire", { id: q.id }) }, q.name)],
            [t("col_status"), (q) => statusBadge("status", q.status)],
            [t("col_responses"), (q) => `${number(q.rewardedResponses)} / ${number(q.maxRewardedResponses)}`],
            [t("col_points_each"), (q) => points(q.pointsPerResponse)],
            [t("results_link"), (q) => el("a", { href: link("results", { id: q.id }) }, t("results_link"))],
          ],
          rows,
        )
      : el("p", { class: "hint" }, t("none")),
  );
}

async function main() {
  await start();
  onSubmit($("#create-campaign"), async (values) => {
    const { campaign } = await mutate("CreateScanCampaign", {
      name: values.name.trim(),
      description: values.description,
      startsAt: instantOrNull(values.startsAt),
      endsAt: instantOrNull(values.endsAt),
      maxClaimsPerDay: intOrNull(values.maxClaimsPerDay),
      maxClaimsPerConsumer: intOrNull(values.maxClaimsPerConsumer),
    });
    window.location.assign(link("campaign", { id: campaign.id }));
  });
  const scan = pager(
    $("#scan-more"),
    async (after) => {
      const search = $("#scan-search").value.trim() || null;
      const status = $("#scan-status").value || null;
      const variables = { first: 20, after, kind: "SCAN", search, status };
      return (await api.call("Campaigns", variables, { auth: true })).campaigns;
    },
    showScan,
  );
  // A new filter starts the list again; typing waits for a pause.
  let typing = null;
  $("#scan-search").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => scan(true).catch(fail), 300);
  });
  $("#scan-status").addEventListener("change", () => scan(true).catch(fail));
  const surveys = pager(
    $("#questionnaire-more"),
    async (after) =>
      (await api.call("Questionnaires", { first: 20, after }, { auth: true })).questionnaires,
    showQuestionnaires,
  );
  await Promise.all([scan(), surveys()]);

}

main();
