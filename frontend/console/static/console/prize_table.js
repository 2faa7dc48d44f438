// A scan campaign's prize table on the campaign screen: the editor while the campaign is
// a draft without batches (tiers paying points or one of the merchant's mall coupons,
// weights, caps, "thank you" last, the first-scan guarantee), each tier's odds and what
// a batch of N codes would reserve; once the terms are locked, the published table with
// its seed commitment, the public verifier and the stats per tier.

import { $, api, announce, clearErrors, el, intOrNull, mutate, nodes, number, onSubmit, percent, points, showError, t, table } from "./console.js";

const MAX_TIERS = 10;
let campaignId = null;
let published = null; // the PrizeTable from the API, or null
let coupons = []; // the merchant's listed coupon products: { id, title, pointsPrice }
let draft = []; // tiers being edited, "thank you" last
let onChange = () => {};

const newTier = () => ({ name: "", kind: "points", points: "", coupon: "", weight: "1", cap: "" });
const thankYou = () => ({ name: t("prize_thank_you"), kind: "none", points: "0", coupon: "", weight: "1", cap: "" });

function couponPrice(id) {
  return coupons.find((c) => c.id === id)?.pointsPrice ?? null;
}

/** A tier's points: a coupon tier is worth its coupon's mall price. */
function tierPoints(tier) {
  if (tier.kind === "coupon") return Number(couponPrice(tier.coupon) ?? intOrNull(tier.points) ?? 0);
  return Number(intOrNull(tier.points) ?? 0);
}

/** What a batch of `size` codes reserves: Σ over tiers of min(cap, size) x points. */
export function reserveFor(tiers, size) {
  let total = 0;
  let couponCount = 0;
  for (const tier of tiers) {
    const cap = intOrNull(tier.cap);
    const units = Math.min(cap ?? size, size);
    total += units * tierPoints(tier);
    if (tier.kind === "coupon") couponCount += units;
  }
  return { total, couponCount };
}

function odds(tiers) {
  const weights = tiers.map((tier) => Math.max(intOrNull(tier.weight) ?? 0, 0));
  const sum = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => (sum > 0 ? (w * 100) / sum : 0));
}

// --- The editor ---------------------------------------------------------------------

function input(i, field, attributes) {
  return el("input", {
    id: `p-${i}-${field}`,
    name: `tiers.${i}.${field}`,
    value: draft[i][field],
    oninput: (event) => {
      draft[i][field] = event.target.value;
      refresh();
    },
    ...attributes,
  });
}

function prizeCell(i) {
  const tier = draft[i];
  if (tier.kind === "none") return el("span", { class: "hint" }, t("prize_none"));
  const kind = el(
    "select",
    {
      id: `p-${i}-kind`,
      "aria-label": t("prize_kind"),
      onchange: (event) => {
        draft[i].kind = event.target.value;
        renderRows();
        refresh();
      },
    },
    el("option", { value: "points", selected: tier.kind === "points" }, t("prize_kind_points")),
    el("option", { value: "coupon", selected: tier.kind === "coupon", disabled: !coupons.length }, t("prize_kind_coupon")),
  );
  const value =
    tier.kind === "coupon"
      ? el(
          "select",
          {
            id: `p-${i}-coupon`,
            name: `tiers.${i}.coupon`,
            "aria-label": t("prize_coupon"),
            onchange: (event) => {
              draft[i].coupon = event.target.value;
              refresh();
            },
          },
          el("option", { value: "" }, t("prize_choose_coupon")),
          coupons.map((c) =>
            el("option", { value: c.id, selected: c.id === tier.coupon }, t("prize_coupon_worth", { title: c.title, points: number(c.pointsPrice) })),
          ),
        )
      : input(i, "points", { type: "number", min: "1", max: "5000000", inputmode: "numeric", "aria-label": t("prize_points") });
  return el("div", { class: "prize-cell" }, kind, value);
}

function renderRows() {
  const last = draft.length - 1;
  const rows = draft.map((tier, i) =>
    el(
      "tr",
      { "data-field": `tiers.${i}`, id: `p-${i}` },
      el("td", { "data-label": t("prize_tier") }, input(i, "name", { maxlength: "40", "aria-label": t("prize_tier_name", { n: i + 1 }) })),
      el("td", { "data-label": t("prize_prize") }, prizeCell(i)),
      el("td", { "data-label": t("prize_weight") }, input(i, "weight", { type: "number", min: "1", max: "1000000", inputmode: "numeric", "aria-label": t("prize_weight") })),
      el(
        "td",
        { "data-label": t("prize_cap") },
        i === last ? el("span", { class: "hint" }, t("prize_no_cap")) : input(i, "cap", { type: "number", min: "1", max: "10000000", inputmode: "numeric", "aria-label": t("prize_cap") }),
      ),
      el("td", { class: "odds", "data-label": t("prize_odds"), id: `p-${i}-odds` }),
      el(
        "td",
        {},
        i === last || draft.length <= 2
          ? null
          : el(
              "button",
              {
                type: "button",
                class: "link danger-text",
                onclick: () => {
                  draft.splice(i, 1);
                  renderRows();
                  refresh();
                },
              },
              t("prize_remove"),
            ),
      ),
    ),
  );
  $("#prize-rows").replaceChildren(...rows);
  $("#prize-add").disabled = draft.length >= MAX_TIERS;
}

function refresh() {
  const shares = odds(draft);
  shares.forEach((share, i) => {
    const cell = document.getElementById(`p-${i}-odds`);
    if (cell) cell.textContent = percent(share, 2);
  });
  const size = intOrNull($("#p-batch").value);
  if (size > 0) {
    const { total, couponCount } = reserveFor(draft, size);
    $("#prize-reserve").textContent = couponCount
      ? t("prize_reserve_coupons", { size: number(size), points: number(total), coupons: number(couponCount) })
      : t("prize_reserve", { size: number(size), points: number(total) });
  } else {
    $("#prize-reserve").textContent = "";
  }
  onChange();
}

function tiersFromTable(table) {
  return table.tiers.map((tier, i) => ({
    name: tier.name,
    kind: tier.couponId ? "coupon" : i === table.tiers.length - 1 ? "none" : "points",
    points: String(tier.points),
    coupon: tier.couponId ?? "",
    weight: String(tier.weight),
    cap: tier.cap === null ? "" : String(tier.cap),
  }));
}

function payload() {
  const last = draft.length - 1;
  return draft.map((tier, i) => {
    const out = { name: tier.name.trim(), weight: intOrNull(tier.weight) ?? 0 };
    if (tier.kind === "coupon") out.coupon = tier.coupon || null;
    else out.points = i === last ? 0 : intOrNull(tier.points) ?? 0;
    out.cap = i === last ? null : intOrNull(tier.cap);
    if (out.coupon === null) delete out.coupon;
    return out;
  });
}

// --- The published table -------------------------------------------------------------

function renderPublished(locked) {
  const shares = odds(published.tiers.map((tier) => ({ weight: String(tier.weight) })));
  const last = published.tiers.length - 1;
  const prize = (tier) => {
    if (tier.couponId) {
      const coupon = coupons.find((c) => c.id === tier.couponId);
      return t("prize_coupon_worth", { title: coupon ? coupon.title : t("prize_kind_coupon"), points: number(tier.points) });
    }
    return tier.position - 1 === last ? t("prize_none") : points(tier.points);
  };
  $("#prize-stats").replaceChildren(
    el("h3", {}, t("prize_stats")),
    table(
      [
        [t("prize_tier"), (tier) => tier.name],
        [t("prize_prize"), prize],
        [t("prize_odds"), (tier) => percent(shares[tier.position - 1], 2)],
        [t("prize_cap"), (tier) => (tier.cap === null ? t("prize_no_cap") : number(tier.cap))],
        [t("prize_drawn"), (tier) => number(tier.drawn)],
        [t("prize_won"), (tier) => number(tier.won)],
        [t("prize_remaining"), (tier) => (tier.remaining === null ? "—" : number(tier.remaining))],
      ],
      published.tiers,
      t("prize_stats"),
    ),
    ...(published.firstScanGuarantee ? [el("p", { class: "hint" }, t("prize_guarantee_on"))] : []),
  );
  const box = $("#prize-published");
  box.hidden = !locked;
  if (!locked) return;
  const seed = published.seeds[published.seeds.length - 1];
  $("#prize-locked-note").textContent = t("prize_locked");
  $("#prize-commitment").textContent = seed ? seed.commitment : "—";
  $("#prize-draws").textContent = number(published.draws);
  $("#prize-head").textContent = published.head;
  $("#prize-verify").href = published.verifyUrl;
}

// --- Entry ---------------------------------------------------------------------------

/**
 * Show the campaign's prize table. `editable`: a draft campaign without batches, and a
 * role that may change it. `changed()` is called when the table's terms change (the
 * batch form then computes its cost from them).
 */
export async function showPrizeTable(campaign, { editable, changed }) {
  campaignId = campaign.id;
  onChange = changed;
  const section = $("#prize-section");
  const [{ prizeTable }, supplied] = await Promise.all([
    api.call("PrizeTable", { campaignId }, { auth: true }),
    editable ? api.call("SuppliedProducts", { first: 100, status: "LISTED" }, { auth: true }) : { suppliedProducts: null },
  ]);
  published = prizeTable;
  coupons = supplied.suppliedProducts ? nodes(supplied.suppliedProducts).filter((p) => p.kind === "COUPON") : [];
  const locked = Boolean(published?.lockedAt) || campaign.status !== "DRAFT";
  // A campaign that pays fixed points and can no longer change shows nothing here.
  section.hidden = !published && !editable;
  const form = $("#prize-table");
  form.hidden = !editable || locked;
  if (published) renderPublished(locked);
  if (form.hidden) {
    onChange();
    return;
  }
  startDraft();
}

/** The editor on the saved table, or on a new one (top prize and "thank you"). */
function startDraft() {
  draft = published ? tiersFromTable(published) : [{ ...newTier(), name: t("prize_first") }, thankYou()];
  $("#prize-table").elements.firstScanGuarantee.checked = Boolean(published?.firstScanGuarantee);
  // A saved table can be removed while the terms are open: the campaign pays fixed points.
  $("#prize-clear").hidden = !published;
  renderRows();
  refresh();
}

/** Back to fixed points (ClearPrizeTable); the server refuses once the terms are locked. */
async function clearTable() {
  if (!window.confirm(t("confirm_prize_clear"))) return;
  const form = $("#prize-table");
  clearErrors(form);
  try {
    await mutate("ClearPrizeTable", { campaignId });
  } catch (error) {
    showError(form, error);
    return;
  }
  published = null;
  $("#prize-stats").replaceChildren();
  startDraft();
  announce(t("prize_cleared"));
}

/** The terms being edited or published, for the batch form: null when none. */
export function currentTerms() {
  return published ? tiersFromTable(published) : null;
}

export function initPrizeEditor() {
  $("#prize-add").addEventListener("click", () => {
    draft.splice(draft.length - 1, 0, newTier());
    renderRows();
    refresh();
    document.getElementById(`p-${draft.length - 2}-name`)?.focus();
  });
  $("#p-batch").addEventListener("input", refresh);
  $("#prize-clear").addEventListener("click", clearTable);
  onSubmit($("#prize-table"), async (values) => {
    const result = await mutate("SetPrizeTable", {
      campaignId,
      tiers: JSON.stringify(payload()),
      // Seed periods are set through the API only: a save here keeps them.
      periodDays: published?.periodDays ?? null,
      firstScanGuarantee: $("#prize-table").elements.firstScanGuarantee.checked,
    });
    const { prizeTable } = await api.call("PrizeTable", { campaignId }, { auth: true });
    published = prizeTable ?? result.prizeTable;
    renderPublished(false);
    $("#prize-clear").hidden = false;
    announce(t("prize_saved"));
    onChange();
  });
}
