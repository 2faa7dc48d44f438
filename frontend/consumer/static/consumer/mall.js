// /mall: categories, search and products, 20 at a time. Public: no sign-in needed.
//
// The category and search live in the address (?category=&search=), so a reload, the
// back button and a shared link show the same list.

import { $, api, el, fmt, formatPoints, pager, setText, start, texts } from "./app.js";
import { availability, productPk } from "./catalog.js";

const params = new URLSearchParams(window.location.search);
const filters = { category: params.get("category"), search: params.get("search") || "" };

function card(product) {
  const href = `/mall/${productPk(product.id)}`;
  const note = availability(product);
  return el(
    "li",
    { className: "product" },
    el(
      "a",
      { href },
      product.imageUrl
        ? el("img", { src: product.imageUrl, alt: "", loading: "lazy", width: 160, height: 160 })
        : el("span", { className: "placeholder", "aria-hidden": "true" }, product.title.slice(0, 1)),
      el("span", { className: "title" }, product.title),
      el("span", { className: "price" }, fmt(texts.points, { points: formatPoints(product.pointsPrice) })),
      note ? el("span", { className: "notice" }, note) : null,
    ),
  );
}

const products = pager({
  list: "products",
  more: "products-more",
  empty: "products-empty",
  emptyText: texts.empty,
  load: async (after) => {
    const variables = { after, category: filters.category, search: filters.search || null };
    const { products: connection } = await api.call("Products", variables);
    return connection;
  },
  render: card,
});

function chip(label, category) {
  const url = new URL(window.location.href);
  if (category) url.searchParams.set("category", category);
  else url.searchParams.delete("category");
  const current = (filters.category || null) === (category || null);
  return el("a", { href: url.pathname + url.search, "aria-current": current ? "page" : null }, label);
}

async function loadCategories() {
  const { categories } = await api.call("Categories", {});
  const chips = [chip(texts.all, null)];
  for (const { node } of categories.edges) chips.push(chip(node.name, node.id));
  $("categories").replaceChildren(...chips);
}

async function main() {
  $("search").value = filters.search;
  const [, shown] = await Promise.all([loadCategories(), products.next()]);
  if (filters.search || filters.category) {
    setText("results", fmt(texts.results, { n: shown.length }));
  }
}

$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const url = new URL(window.location.href);
  const search = $("search").value.trim();
  if (search) url.searchParams.set("search", search);
  else url.searchParams.delete("search");
  window.location.assign(url.pathname + url.search);
});

start(main);
