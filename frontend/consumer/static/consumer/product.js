// /mall/<pk>: one product, with a link to redeem it. Public.

import { $, api, config, el, fmt, formatDate, pointsText, setText, start, texts } from "./app.js";
import { availability } from "./catalog.js";

async function main() {
  const { node: product } = await api.call("Product", { id: config.product });
  $("product").setAttribute("aria-busy", "false");
  if (!product || !product.title) {
    $("title").textContent = texts.not_found;
    return;
  }
  document.title = product.title;
  $("title").textContent = product.title;
  setText("category", product.category.name);
  $("price").textContent = pointsText(product.pointsPrice);
  $("description").textContent = product.description;
  if (product.imageUrl) {
    $("image").src = product.imageUrl;
    $("image").hidden = false;
  }
  const facts = [
    product.supplierName ? fmt(texts.by, { supplier: product.supplierName }) : texts.platform,
    product.kind === "COUPON" ? texts.coupon : texts.physical,
    product.stock > 0 ? fmt(texts.left, { n: product.stock }) : "",
    product.perConsumerLimit ? fmt(texts.limit, { n: product.perConsumerLimit }) : "",
    product.availableUntil ? fmt(texts.until, { date: formatDate(product.availableUntil) }) : "",
  ];
  $("facts").replaceChildren(...facts.filter(Boolean).map((fact) => el("li", {}, fact)));
  const blocked = availability(product);
  setText("availability", blocked);
  if (!blocked) {
    $("redeem").href = config.redeem;
    $("redeem").hidden = false;
  }
}

start(main);
