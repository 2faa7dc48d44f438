// /earn ("赚积分"): active campaigns where points can be earned, 20 at a time, merchants
// the consumer earned from first. Public; signed in, answered questionnaires are left out.
//
// Kinds are shown generically: a kind this page has no label for (one added later) still
// appears, under the generic label, and opens its page when it has one.

import { api, el, fmt, formatPoints, pager, start, texts } from "./app.js";

function kindLabel(kind) {
  return texts[`kind_${kind}`] || texts.kind_other;
}

function card(way) {
  const points = way.points == null ? texts.points_vary : fmt(texts.points, { points: formatPoints(way.points) });
  const body = [
    el("span", { className: "kind" }, kindLabel(way.kind)),
    el("span", { className: "title" }, way.name),
    el("span", { className: "merchant" }, way.merchantName),
    el("span", { className: "price" }, points),
    way.fromKnownMerchant ? el("span", { className: "notice" }, texts.known) : null,
  ];
  return el(
    "li",
    { className: "way", "data-kind": way.kind },
    way.url ? el("a", { href: way.url }, ...body) : el("div", {}, ...body),
  );
}

const ways = pager({
  list: "ways",
  more: "ways-more",
  empty: "ways-empty",
  emptyText: texts.empty,
  load: async (after) => {
    const { waysToEarn } = await api.call("WaysToEarn", { after });
    return waysToEarn;
  },
  render: card,
});

start(() => ways.next());
