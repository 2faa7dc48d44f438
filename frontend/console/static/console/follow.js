// 关注有礼: follow campaigns. The list with each one's stats, poster code and status
// buttons; a form for a new one. The rules are the API's (a verified service account).

import { $, announce, atLeast, el, fail, mutate, number, onSubmit, requiredInt, start, statusBadge, t, api, nodes } from "./console.js";

let role = "VIEWER";

function actions(item) {
  const id = item.campaign.id;
  const buttons = [];
  const add = (label, operation) =>
    buttons.push(
      el("button", { type: "button", class: "secondary", "data-op": operation, onclick: () => act(operation, id) }, t(label)),
    );
  if (item.status === "DRAFT" || item.status === "PAUSED") add("follow_activate", "ActivateCampaign");
  if (item.status === "ACTIVE") add("follow_pause", "PauseCampaign");
  if (item.status !== "ENDED") add("follow_end", "EndCampaign");
  if (!item.posterImageUrl && item.status !== "ENDED") {
    buttons.push(
      el("button", { type: "button", class: "secondary", onclick: () => poster(item.id) }, t("follow_poster")),
    );
  }
  return atLeast(role, "OPERATOR") ? el("p", { class: "actions" }, ...buttons) : "";
}

function card(item) {
  const s = item.stats;
  return el(
    "article",
    { class: "card follow-campaign", "data-id": item.id },
    el("h3", {}, item.name, " ", statusBadge("status", item.status)),
    el("p", {}, t("follow_points", { points: number(item.pointsPerFollow), cap: number(item.maxRewardedFollows) })),
    el(
      "p",
      { class: "follow-stats" },
      t("follow_stats", { new: s.newFollowers, credited: s.credited, unfollowed: s.unfollowedAfter }),
    ),
    el(
      "p",
      {},
      t("follow_share"),
      ": ",
      el("a", { href: item.shareUrl }, item.shareUrl),
      " · ",
      el("a", { href: item.campaign.previewUrl, target: "_blank", rel: "noopener" }, t("preview_page")),
    ),
    item.posterImageUrl
      ? el("img", { src: item.posterImageUrl, width: "160", height: "160", alt: t("follow_poster_alt") })
      : "",
    actions(item),
  );
}

async function load() {
  const data = await api.call("FollowCampaigns", { first: 50 }, { auth: true });
  const items = nodes(data.followCampaigns);
  $("#follow-list").replaceChildren(
    ...(items.length ? items.map(card) : [el("p", { class: "hint" }, t("follow_none"))]),
  );
}

async function act(operation, id) {
  try {
    await mutate(operation, { id });
    await load();
  } catch (error) {
    fail(error);
  }
}

async function poster(id) {
  try {
    await mutate("MakeFollowPoster", { id });
    await load();
  } catch (error) {
    fail(error);
  }
}

async function main() {
  ({ role } = await start());
  try {
    await load();
  } catch (error) {
    fail(error);
  }
  onSubmit($("#follow-form"), async (values) => {
    const { followCampaign } = await mutate("CreateFollowCampaign", {
      name: values.name,
      pointsPerFollow: requiredInt(values, "pointsPerFollow"),
      maxRewardedFollows: requiredInt(values, "maxRewardedFollows"),
    });
    announce(t("follow_created", { name: followCampaign.name }));
    await load();
  });
}

main();
