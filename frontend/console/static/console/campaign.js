// One scan campaign: status, figures, code batches (live generation progress, exports
// as CSV / ZIP / PDF through signed links), claims per day, details.

import {
  $, alertError, announce, api, ApiError, atLeast, bytes, chart, COLORS, date, dateTime, el, fail,
  instantOrNull, intOrNull, link, localInput, mutate, nodes, number, onSubmit, param, percent, points,
  requiredInt, shortDate, start, statusBadge, t, timeZone,
} from "./console.js";
import { currentTerms, initPrizeEditor, reserveFor, showPrizeTable } from "./prize_table.js";

const POLL_MS = 1000;
const FORMATS = ["CSV", "ZIP", "PDF"];
const id = param("id");
let role = "VIEWER";
let campaign = null;
const polling = new Set(); // batch IDs being polled
const latestExports = new Map(); // `${batchId}:${format}` -> export

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function load() {
  const { node } = await api.call("Campaign", { id, batches: 50 }, { auth: true });
  if (!node || node.kind !== "SCAN") {
    alertError(api.message("NOT_FOUND"));
    return;
  }
  campaign = node;
  renderCampaign();
  // The terms can change only in a draft without batches (they reserved by them).
  const editable = atLeast(role, "OPERATOR") && node.status === "DRAFT" && !nodes(node.batches).length;
  await showPrizeTable(node, { editable, changed: showPrizeBatchForm });
  renderBatches(nodes(node.batches));
}

// A campaign that pays a prize table: its batches take no points per code, they reserve
// by the saved terms.
function showPrizeBatchForm() {
  const prizes = currentTerms() !== null;
  $("#b-points-field").hidden = prizes;
  $("#b-points").required = !prizes;
  $("#create-batch").dispatchEvent(new Event("input"));
}

function batchCost(size, pointsPerCode) {
  const terms = currentTerms();
  return terms ? reserveFor(terms, size).total : size * pointsPerCode;
}

function renderCampaign() {
  const c = campaign;
  $("#campaign-name").textContent = c.name;
  document.title = `${c.name} · ${document.title.split(" · ").pop()}`;
  $("#campaign-status").replaceChildren(statusBadge("status", c.status));
  $("#campaign-description").textContent = c.description;
  // A signed link for 15 minutes: opening it is no scan and collects nothing (0324).
  $("#preview-link").href = c.previewUrl;
  $("#preview-link").hidden = false;
  const s = c.stats;
  $("#s-issued").textContent = number(s.codesIssued);
  $("#s-claimed").textContent = `${number(s.codesClaimed)} (${percent(s.claimRate * 100)})`;
  $("#s-consumers").textContent = number(s.uniqueConsumers);
  $("#s-reserved").textContent = points(s.pointsReserved);
  $("#s-awarded").textContent = points(s.pointsAwarded);
  $("#s-returned").textContent = points(s.pointsReturned);

  const ended = c.status === "ENDED";
  const operator = atLeast(role, "OPERATOR");
  $("#activate").hidden = !(operator && (c.status === "DRAFT" || c.status === "PAUSED"));
  $("#activate").textContent = c.status === "PAUSED" ? t("resume") : t("activate");
  $("#pause").hidden = !(operator && c.status === "ACTIVE");
  $("#end").hidden = !(atLeast(role, "ADMIN") && !ended);
  $("#create-batch").hidden = !operator || ended;
  $("#batch-hint").hidden = !operator || ended;
  $("#import-codes").hidden = !operator || ended;
  $("#import-codes").href = link("imports", { campaign: c.id });
  $("#edit-section").hidden = !operator || ended;

  const form = $("#edit-campaign");
  form.elements.name.value = c.name;
  form.elements.description.value = c.description;
  form.elements.startsAt.value = localInput(c.startsAt);
  form.elements.endsAt.value = localInput(c.endsAt);
  form.elements.maxClaimsPerDay.value = c.maxClaimsPerDay ?? "";
  form.elements.maxClaimsPerConsumer.value = c.maxClaimsPerConsumer ?? "";
}

// --- Batches -----------------------------------------------------------------------

// Global IDs are base64 (with = + /): keep letters and digits for element ids.
function domId(globalId) {
  return `batch-${globalId.replace(/[^A-Za-z0-9]/g, "")}`;
}

function batchItem(batch) {
  const item = el("li", { class: "batch", id: domId(batch.id), "data-status": batch.status });
  fillBatch(item, batch);
  return item;
}

function fillBatch(item, batch) {
  item.dataset.status = batch.status;
  const title = t("codes", { count: number(batch.size) });
  const heading = el(
    "div",
    { class: "batch-head" },
    el(
      "h3",
      {},
      batch.name ? el("span", { class: "batch-name" }, batch.name, " · ") : null,
      title,
      " · ",
      // A prize batch pays by its table: what it reserved says what it may cost.
      currentTerms() ? t("prize_batch", { points: number(batch.reservedPoints) }) : points(batch.pointsPerCode),
    ),
    batch.sku ? el("span", { class: "badge sku" }, t("sku", { sku: batch.sku })) : null,
    statusBadge("batch", batch.status),
  );
  const meta = el(
    "p",
    { class: "hint" },
    dateTime(batch.createdAt),
    batch.status !== "GENERATING" ? ` · ${t("col_claimed")}: ${number(batch.claimedCount)}` : "",
  );
  const parts = [heading, meta];
  if (batch.status === "GENERATING" || batch.status === "READY") {
    const done = batch.status === "READY" ? batch.size : batch.generated;
    const pct = batch.status === "READY" ? 100 : batch.progressPercent;
    const text =
      batch.status === "READY"
        ? t("generated", { size: number(batch.size) })
        : t("generating", { done: number(done), size: number(batch.size), percent: pct.toFixed(1) });
    const labelId = `progress-${item.id}`;
    parts.push(
      el(
        "div",
        { class: "progress-row" },
        el("progress", { max: "100", value: String(pct), "aria-labelledby": labelId }),
        el("span", { id: labelId, class: "progress-text" }, text),
      ),
    );
  }
  if (batch.status === "FAILED") {
    parts.push(el("p", { class: "notice" }, t("generation_failed", { reason: batch.failureReason || "" })));
  }
  if (batch.status === "READY" && atLeast(role, "OPERATOR")) {
    parts.push(exportRow(batch));
  }
  if (atLeast(role, "ADMIN") && (batch.status === "READY" || batch.status === "GENERATING")) {
    parts.push(
      el(
        "p",
        {},
        el(
          "button",
          { type: "button", class: "link danger-text", onclick: () => voidBatch(batch) },
          t("void"),
        ),
      ),
    );
  }
  item.replaceChildren(...parts);
}

function exportRow(batch) {
  const row = el("div", { class: "exports" });
  for (const format of FORMATS) {
    const slot = el("div", { class: "export", "data-format": format });
    const existing = latestExports.get(`${batch.id}:${format}`);
    if (existing && existing.status === "READY" && existing.downloadUrl) {
      slot.append(downloadLink(existing, format));
    } else if (format === "PDF") {
      slot.append(
        el(
          "button",
          { type: "button", class: "button secondary", "aria-expanded": "false", onclick: (event) => openLabels(batch, slot, event.currentTarget) },
          t("labels_button"),
        ),
      );
    } else {
      slot.append(
        el(
          "button",
          { type: "button", class: "button secondary", onclick: () => requestExport(batch, format, slot) },
          format,
        ),
      );
    }
    row.append(slot);
  }
  return row;
}

function downloadLink(exported, format) {
  return el(
    "a",
    { class: "button", href: exported.downloadUrl, download: "" },
    t("download", { format }),
    exported.fileSize ? ` (${bytes(exported.fileSize)})` : "",
  );
}

// --- Labels: stock, grid, a live preview (the server's own rendering), then the PDF ----

const STOCKS = ["A4", "ROLL_30X20", "ROLL_40X30", "ROLL_50X30"];
const PREVIEW_DELAY_MS = 250;

function openLabels(batch, slot, button) {
  const item = document.getElementById(domId(batch.id));
  const open = item.querySelector(".labels-panel");
  if (open) {
    open.remove();
    button.setAttribute("aria-expanded", "false");
    return;
  }
  button.setAttribute("aria-expanded", "true");
  const prefix = `l-${item.id}`;
  const stock = el(
    "select",
    { id: `${prefix}-stock`, name: "stock" },
    STOCKS.map((value) => el("option", { value }, t(`stock_${value}`))),
  );
  const columns = el("input", { id: `${prefix}-columns`, name: "columns", type: "number", min: "1", max: "6", value: "4", inputmode: "numeric" });
  const rows = el("input", { id: `${prefix}-rows`, name: "rows", type: "number", min: "1", max: "12", value: "6", inputmode: "numeric" });
  const grid = el(
    "div",
    { class: "grid-2 label-grid" },
    el("div", { class: "field" }, el("label", { for: columns.id }, t("label_columns")), columns),
    el("div", { class: "field" }, el("label", { for: rows.id }, t("label_rows")), rows),
  );
  const image = el("img", { class: "label-preview", alt: t("label_preview_alt"), hidden: true });
  const caption = el("figcaption", { class: "hint", role: "status" }, t("loading"));
  const exportButton = el("button", { type: "submit", class: "primary" }, t("labels_export"));
  const form = el(
    "form",
    { class: "labels-panel", novalidate: true, "aria-label": t("labels_title") },
    el("h4", {}, t("labels_title")),
    el("div", { class: "field" }, el("label", { for: stock.id }, t("label_stock")), stock),
    grid,
    el("figure", { class: "label-figure" }, image, caption),
    exportButton,
  );
  if (atLeast(role, "ADMIN")) form.insertBefore(logoField(prefix, () => refresh()), grid.nextSibling);
  const options = () => {
    const values = { stock: stock.value };
    if (stock.value === "A4") {
      values.columns = intOrNull(columns.value);
      values.rows = intOrNull(rows.value);
    }
    return values;
  };
  let timer = null;
  let asked = 0;
  const refresh = () => {
    grid.hidden = stock.value !== "A4";
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const mine = ++asked;
      caption.textContent = t("loading");
      try {
        const { labelPreview: p } = await api.call("LabelPreview", { batchId: batch.id, ...options() }, { auth: true });
        if (mine !== asked) return; // a newer choice is on its way
        image.src = p.image;
        image.hidden = false;
        caption.textContent = t("label_preview_caption", {
          width: number(p.widthMm),
          height: number(p.heightMm),
          perPage: number(p.labelsPerPage),
          pages: number(p.pages),
        });
      } catch (error) {
        if (mine !== asked) return;
        image.hidden = true;
        caption.textContent = api.message(error.code, error.message);
      }
    }, PREVIEW_DELAY_MS);
  };
  for (const input of [stock, columns, rows]) input.addEventListener("input", refresh);
  stock.addEventListener("change", refresh);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    requestExport(batch, "PDF", slot, options());
    form.remove();
  });
  item.append(form);
  refresh();
  stock.focus();
}

// The brand's logo beside its name on every label (owners and admins): the file goes to
// the signed link merchantLogoUpload gives, as code imports' files do.
function logoField(prefix, changed) {
  const input = el("input", { id: `${prefix}-logo`, name: "logo", type: "file", accept: "image/png,image/jpeg" });
  const thumb = el("img", { class: "label-logo", alt: t("label_logo_alt"), hidden: true });
  const remove = el("button", { type: "button", class: "link danger-text", hidden: true }, t("label_logo_remove"));
  const status = el("p", { class: "hint", role: "status" });
  const show = (logo) => {
    thumb.hidden = remove.hidden = !logo;
    if (logo) thumb.src = logo;
  };
  api.call("MerchantLogo", {}, { auth: true }).then(({ merchant }) => show(merchant.logo), () => {});
  input.addEventListener("change", async () => {
    const file = input.files[0];
    if (!file) return;
    status.textContent = t("loading");
    try {
      const { uploadUrl } = await mutate("MerchantLogoUpload", {});
      const body = new FormData();
      body.append("file", file);
      const response = await fetch(uploadUrl, { method: "POST", body });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) {
        const error = (answer.errors || [])[0] || {};
        throw new ApiError(error.code || "UNEXPECTED", error.message || "", "file");
      }
      show(answer.logo);
      status.textContent = t("label_logo_saved");
      changed();
    } catch (error) {
      status.textContent = api.message(error.code, error.message);
    }
    input.value = "";
  });
  remove.addEventListener("click", async () => {
    try {
      await mutate("MerchantLogoRemove", {});
      show(null);
      status.textContent = t("label_logo_removed");
      changed();
    } catch (error) {
      status.textContent = api.message(error.code, error.message);
    }
  });
  return el(
    "div",
    { class: "field label-logo-field" },
    el("label", { for: input.id }, t("label_logo")),
    el("div", { class: "label-logo-row" }, thumb, input, remove),
    status,
  );
}

async function requestExport(batch, format, slot, options = {}) {
  const status = el("span", { class: "progress-text", role: "status" }, t("preparing", { format, percent: 0 }));
  slot.replaceChildren(status);
  try {
    const payload = await mutate("RequestBatchExport", { batchId: batch.id, format, ...options });
    let exported = payload.export;
    while (exported.status === "PENDING" || exported.status === "RUNNING") {
      await sleep(POLL_MS);
      exported = (await api.call("BatchExport", { id: exported.id }, { auth: true })).node;
      status.textContent = t("preparing", { format, percent: exported.progressPercent.toFixed(0) });
    }
    if (exported.status === "READY" && exported.downloadUrl) {
      latestExports.set(`${batch.id}:${format}`, exported);
      const anchor = downloadLink(exported, format);
      slot.replaceChildren(anchor);
      anchor.focus();
      announce(t("download", { format }));
    } else {
      slot.replaceChildren(el("p", { class: "notice" }, t("export_failed", { format, error: exported.error || "" })));
    }
  } catch (error) {
    slot.replaceChildren(el("p", { class: "notice" }, api.message(error.code, error.message)));
  }
}

async function voidBatch(batch) {
  if (!window.confirm(t("confirm_void"))) return;
  try {
    const payload = await mutate("VoidCodeBatch", { id: batch.id });
    replaceBatch(payload.batch);
    await loadStats();
  } catch (error) {
    fail(error);
  }
}

function replaceBatch(batch) {
  const item = document.getElementById(domId(batch.id));
  if (item) fillBatch(item, batch);
}

function renderBatches(batches) {
  const list = $("#batches");
  list.replaceChildren(...batches.map(batchItem));
  if (!batches.length) list.append(el("li", { class: "hint" }, t("none")));
  for (const batch of batches) {
    if (batch.status === "GENERATING") watch(batch);
  }
}

/** Poll a generating batch about every second until it is READY or FAILED. */
async function watch(batch) {
  if (polling.has(batch.id)) return;
  polling.add(batch.id);
  let current = batch;
  try {
    while (current.status === "GENERATING") {
      await sleep(POLL_MS);
      const { node } = await api.call("CodeBatch", { id: batch.id }, { auth: true });
      if (!node) break;
      current = node;
      replaceBatch(current);
    }
    if (current.status === "READY") announce(t("generated", { size: number(current.size) }));
    await loadStats();
  } catch (error) {
    fail(error);
  } finally {
    polling.delete(batch.id);
  }
}

async function loadExports() {
  // The merchant's latest exports, newest first: the newest ready one per batch and format.
  const { batchExports } = await api.call("BatchExports", { first: 100 }, { auth: true });
  for (const exported of nodes(batchExports)) {
    const key = `${exported.batch.id}:${exported.format}`;
    if (!latestExports.has(key) && exported.status === "READY") latestExports.set(key, exported);
  }
}

async function loadStats() {
  const { node } = await api.call("CampaignStats", { id, days: 30, hours: 1, timeZone }, { auth: true });
  if (!node) return;
  campaign = { ...campaign, stats: node.stats };
  renderCampaign();
  const days = node.stats.claimsPerDay;
  chart(
    $("#claims-chart"),
    "bar",
    days.map((d) => shortDate(d.bucket.slice(0, 10))),
    [{ label: t("claims"), data: days.map((d) => d.claims), backgroundColor: COLORS[0] }],
  );
}

// --- Actions -----------------------------------------------------------------------

async function changeStatus(operation) {
  if (operation === "EndCampaign" && !window.confirm(t("confirm_end"))) return;
  alertError("");
  try {
    const payload = await mutate(operation, { id });
    campaign = { ...campaign, status: payload.campaign.status };
    renderCampaign();
    announce(t(`status_${payload.campaign.status}`));
    // Activation locks the prize terms and publishes the seed's commitment.
    if (operation === "ActivateCampaign") await showPrizeTable(campaign, { editable: false, changed: showPrizeBatchForm });
    if (operation === "EndCampaign") await load();
  } catch (error) {
    fail(error);
  }
}

async function main() {
  ({ role } = await start());
  initPrizeEditor();
  // Handlers first: the screen is visible (and clickable) while data loads.
  $("#activate").addEventListener("click", () => changeStatus("ActivateCampaign"));
  $("#pause").addEventListener("click", () => changeStatus("PauseCampaign"));
  $("#end").addEventListener("click", () => changeStatus("EndCampaign"));

  const batchForm = $("#create-batch");
  const showCost = () => {
    const size = intOrNull(batchForm.elements.size.value);
    const each = currentTerms() ? 1 : intOrNull(batchForm.elements.pointsPerCode.value);
    $("#batch-cost").textContent =
      size > 0 && each > 0 ? t("batch_cost", { points: number(batchCost(size, each)), size: number(size) }) : "";
  };
  batchForm.addEventListener("input", showCost);
  batchForm.addEventListener("reset", () => setTimeout(showCost));
  onSubmit(batchForm, async (values) => {
    const size = requiredInt(values, "size");
    const pointsPerCode = currentTerms() ? null : requiredInt(values, "pointsPerCode");
    // Creating a batch takes its points from the budget at once: say how many first.
    if (!window.confirm(t("confirm_batch", { points: number(batchCost(size, pointsPerCode)), size: number(size) }))) return;
    const { batch } = await mutate("CreateCodeBatch", {
      campaignId: id,
      size,
      pointsPerCode,
      name: values.name.trim() || null,
      sku: values.sku.trim() || null,
      hiddenCode: Boolean(values.hiddenCode),
    });
    const list = $("#batches");
    list.querySelector(".hint")?.remove();
    list.prepend(batchItem(batch));
    $("#create-batch").reset();
    watch(batch);
    // The first batch locks the prize terms.
    if (currentTerms()) await showPrizeTable(campaign, { editable: false, changed: showPrizeBatchForm });
  });

  onSubmit($("#edit-campaign"), async (values) => {
    const payload = await mutate("UpdateCampaign", {
      id,
      name: values.name.trim(),
      description: values.description,
      startsAt: instantOrNull(values.startsAt),
      endsAt: instantOrNull(values.endsAt),
      maxClaimsPerDay: intOrNull(values.maxClaimsPerDay),
      maxClaimsPerConsumer: intOrNull(values.maxClaimsPerConsumer),
    });
    campaign = { ...campaign, ...payload.campaign };
    renderCampaign();
    announce(t("saved"));
  });
  try {
    if (atLeast(role, "OPERATOR")) await loadExports();
    await load();
    if (!campaign) return;
    await loadStats();
  } catch (error) {
    fail(error);
    return;
  }
}

main();
