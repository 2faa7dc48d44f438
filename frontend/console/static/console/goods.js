// Goods the merchant supplies to the mall, their orders (ship, refund), consignment
// of new goods and the monthly settlement.

import {
  $, announce, api, atLeast, dateTime, el, fail, intOrNull, mutate, nodes, number, onSubmit,
  pager, points, requiredInt, showError, clearErrors, start, statusBadge, t, table, ApiError,
} from "./console.js";

let role = "VIEWER";

function address(order) {
  const a = order.address;
  if (!a) return "—";
  return el("span", { class: "address" }, `${a.recipient} ${a.phone}`, el("br"), `${a.region} ${a.street} ${a.postalCode}`);
}

function shipForm(order) {
  const base = `ship-${order.id.replace(/[^A-Za-z0-9]/g, "")}`;
  const form = el(
    "form",
    { class: "ship-form", novalidate: true },
    el("div", { class: "field" }, el("label", { for: `${base}-carrier` }, t("carrier")), el("input", { id: `${base}-carrier`, name: "carrier", required: true })),
    el("div", { class: "field" }, el("label", { for: `${base}-tracking` }, t("tracking")), el("input", { id: `${base}-tracking`, name: "trackingNumber", required: true })),
    el("button", { type: "submit", class: "button" }, t("ship")),
  );
  onSubmit(form, async (values) => {
    const { order: shipped } = await mutate("ShipOrder", {
      id: order.id,
      carrier: values.carrier.trim(),
      trackingNumber: values.trackingNumber.trim(),
    });
    form.replaceWith(el("span", {}, statusBadge("order", shipped.status), " ", `${shipped.carrier} ${shipped.trackingNumber}`));
    announce(t("shipped"));
  });
  return form;
}

function orderActions(order) {
  const parts = [];
  if (order.status === "PLACED" && order.product.kind === "PHYSICAL" && atLeast(role, "OPERATOR")) {
    parts.push(shipForm(order));
  } else if (order.carrier) {
    parts.push(`${order.carrier} ${order.trackingNumber}`);
  }
  if (["PLACED", "SHIPPED", "DELIVERED", "COMPLETED"].includes(order.status) && atLeast(role, "ADMIN")) {
    const button = el("button", { type: "button", class: "link danger-text" }, t("refund"));
    button.addEventListener("click", async () => {
      if (!window.confirm(t("confirm_refund"))) return;
      try {
        const { order: refunded } = await mutate("RefundOrder", { id: order.id });
        button.closest("tr").querySelector("[data-status]").replaceChildren(statusBadge("order", refunded.status));
        button.remove();
      } catch (error) {
        fail(error);
      }
    });
    parts.push(button);
  }
  return el("div", { class: "order-actions" }, parts);
}

function showOrders(rows) {
  $("#orders").replaceChildren(
    rows.length
      ? table(
          [
            [t("col_product"), (o) => `${o.product.title} × ${o.quantity}`],
            [t("col_status"), (o) => el("span", { "data-status": o.status }, statusBadge("order", o.status))],
            [t("col_points"), (o) => points(o.totalPoints)],
            [t("col_consumer"), (o) => o.consumerPhone],
            [t("col_address"), address],
            [t("col_placed"), (o) => dateTime(o.placedAt)],
            [t("col_actions"), orderActions],
          ],
          rows,
        )
      : el("p", { class: "hint" }, t("none")),
  );
}

function showProducts(rows) {
  $("#products").replaceChildren(
    rows.length
      ? table(
          [
            [t("col_product"), (p) => p.title],
            [t("col_status"), (p) => statusBadge("product", p.status)],
            [t("col_kind"), (p) => t(`kind_${p.kind}`)],
            [t("col_category"), (p) => p.category?.name ?? "—"],
            [t("col_price"), (p) => points(p.pointsPrice)],
            [t("col_stock"), (p) => number(p.stock)],
          ],
          rows,
        )
      : el("p", { class: "hint" }, t("none")),
  );
}

async function showSettlement(year, month) {
  const { settlement } = await api.call("Settlement", { year, month }, { auth: true });
  const rows = settlement.rows;
  $("#settlement").replaceChildren(
    rows.length
      ? table(
          [
            [t("col_product"), (r) => r.productTitle],
            [t("col_units"), (r) => number(r.units)],
            [t("col_points"), (r) => points(r.points)],
          ],
          rows,
        )
      : el("p", { class: "hint" }, t("none")),
    el("p", {}, `${t("col_units")}: ${number(settlement.totalUnits)} · ${points(settlement.totalPoints)}`),
    el("p", {}, el("a", { class: "button secondary", href: settlement.downloadUrl }, t("download", { format: "CSV" }))),
  );
}

async function main() {
  ({ role } = await start());
  const orderStatus = $("#order-status");
  const orders = pager(
    $("#orders-more"),
    async (after) =>
      (await api.call("SupplierOrders", { first: 20, after, status: orderStatus.value || null }, { auth: true }))
        .supplierOrders,
    showOrders,
  );
  orderStatus.addEventListener("change", () => orders(true));
  const products = pager(
    $("#products-more"),
    async (after) => (await api.call("SuppliedProducts", { first: 20, after }, { auth: true })).suppliedProducts,
    showProducts,
  );
  onSubmit($("#consign"), async (values) => {
    if (!values.categoryId) throw new ApiError("REQUIRED", "", "categoryId");
    await mutate("ConsignProduct", {
      title: values.title.trim(),
      description: values.description,
      categoryId: values.categoryId,
      pointsPrice: requiredInt(values, "pointsPrice"),
      kind: values.kind,
      perConsumerLimit: intOrNull(values.perConsumerLimit),
    });
    $("#consign").reset();
    announce(t("saved"));
    await products(true);
  });
  await Promise.all([orders(), products()]);

  if (atLeast(role, "OPERATOR")) {
    try {
      const { mallCategories } = await api.call("MallCategories", { first: 50 }, { auth: true });
      const categories = nodes(mallCategories);
      $("#p-category").replaceChildren(...categories.map((c) => el("option", { value: c.id }, c.name)));
      if (!categories.length) {
        // Nothing can be consigned without a category: say what is missing and who adds it,
        // rather than let the form fail.
        const form = $("#consign");
        form.prepend(el("p", { class: "notice", id: "no-categories", role: "status" }, t("no_categories_consign")));
        form.querySelector("button[type=submit]").disabled = true;
      }
    } catch (error) {
      fail(error);
    }
  }

  const now = new Date();
  const monthInput = $("#s-month");
  monthInput.value = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
  const settlementForm = $("#settlement-form");
  settlementForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(settlementForm);
    const [year, month] = monthInput.value.split("-").map(Number);
    try {
      if (!year || !month) throw new ApiError("REQUIRED", "", "month");
      await showSettlement(year, month);
    } catch (error) {
      showError(settlementForm, error);
    }
  });
  await showSettlement(now.getFullYear(), now.getMonth() + 1).catch(fail);
}

main();
