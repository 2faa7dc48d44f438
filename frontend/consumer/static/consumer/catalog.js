// Helpers for the mall's pages (list, product, redeem).

import { fmt, formatDate, texts } from "./app.js";

/** Why a product cannot be redeemed now ("" when it can). */
export function availability(product) {
  const now = Date.now();
  if (product.availableFrom && Date.parse(product.availableFrom) > now) {
    return fmt(texts.coming, { date: formatDate(product.availableFrom) });
  }
  if (product.availableUntil && Date.parse(product.availableUntil) <= now) {
    return texts.not_found;
  }
  if (product.stock <= 0) return texts.sold_out;
  return "";
}

/** The numeric key of a global ID ("Product:12" in base64), for the page's address. */
export function productPk(id) {
  return atob(id).split(":").pop();
}
