// A scan campaign's code imports (码包导入): start one (the file goes to the signed upload
// link the API gives), follow its check and write, download the refused lines.

import {
  $, alertError, announce, api, ApiError, atLeast, dateTime, el, fail, link, mutate, nodes,
  number, onSubmit, param, requiredInt, start, statusBadge, t,
} from "./console.js";

const POLL_MS = 1000;
const FINISHED = new Set(["IMPORTED", "REFUSED", "FAILED"]);
const campaignId = param("campaign");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function domId(globalId) {
  return `import-${globalId.replace(/[^A-Za-z0-9]/g, "")}`;
}

function fill(item, imported) {
  item.dataset.status = imported.status;
  const parts = [
    el(
      "div",
      { class: "batch-head" },
      el("h3", {}, imported.name || dateTime(imported.createdAt)),
      statusBadge("import_status", imported.status),
    ),
    el("p", { class: "hint" }, dateTime(imported.createdAt), " · ", t("import_lines", { lines: number(imported.linesRead) })),
  ];
  if (imported.status !== "UPLOADING") {
    parts.push(
      el("p", { class: "import-counts" }, t("import_counts", {
        accepted: number(imported.accepted), refused: number(imported.refused),
      })),
    );
  }
  if (imported.bitsPerCode !== null && imported.bitsPerCode !== undefined) {
    parts.push(el("p", { class: "hint" }, t("import_bits", { bits: imported.bitsPerCode, min: imported.minBitsPerCode })));
  }
  if (!FINISHED.has(imported.status)) {
    parts.push(el("progress", { "aria-label": t(`import_status_${imported.status}`) }));
  }
  if (imported.status === "IMPORTED" && imported.batch) {
    parts.push(el("p", { class: "hint" }, t("import_done", { size: number(imported.batch.size) })));
  }
  if (imported.failureCode) {
    parts.push(el("p", { class: "notice" }, api.message(imported.failureCode, imported.failureReason || "")));
  }
  if (imported.reportUrl) {
    parts.push(el("p", {}, el("a", { class: "button", href: imported.reportUrl, download: "" }, t("import_report"))));
  }
  item.replaceChildren(...parts);
}

function show(imported) {
  let item = document.getElementById(domId(imported.id));
  if (!item) {
    item = el("li", { class: "batch", id: domId(imported.id) });
    $("#imports").querySelector(".hint")?.remove();
    $("#imports").prepend(item);
  }
  fill(item, imported);
  return item;
}

async function follow(imported) {
  let current = imported;
  while (!FINISHED.has(current.status)) {
    await sleep(POLL_MS);
    const { node } = await api.call("CodeImport", { id: current.id }, { auth: true });
    if (!node) return;
    current = node;
    show(current);
  }
  announce(t(`import_status_${current.status}`));
}

async function upload(url, file) {
  const body = new FormData();
  body.append("file", file);
  const response = await fetch(url, { method: "POST", body });
  if (response.status !== 202) {
    const answer = await response.json().catch(() => ({}));
    const error = (answer.errors || [])[0] || {};
    throw new ApiError(error.code || "UNEXPECTED", error.message || "", "file");
  }
}

async function main() {
  const { role } = await start();
  try {
    const { node } = await api.call("Campaign", { id: campaignId, batches: 1 }, { auth: true });
    if (!node || node.kind !== "SCAN") {
      alertError(api.message("NOT_FOUND"));
      return;
    }
    $("#campaign-link").textContent = node.name;
    $("#campaign-link").href = link("campaign", { id: node.id });
    $("#new-import").hidden = !atLeast(role, "OPERATOR") || node.status === "ENDED";
    const { codeImports } = await api.call("CodeImports", { campaignId, first: 20 }, { auth: true });
    const found = nodes(codeImports);
    if (!found.length) $("#imports").append(el("li", { class: "hint" }, t("import_none")));
    for (const imported of [...found].reverse()) show(imported);
    for (const imported of found) if (!FINISHED.has(imported.status)) follow(imported);
  } catch (error) {
    fail(error);
    return;
  }
  const form = $("#create-import");
  onSubmit(form, async (values) => {
    const file = form.elements.file.files[0];
    if (!file) throw new ApiError("REQUIRED", t("import_choose_file"), "file");
    const payload = await mutate("CreateCodeImport", {
      campaignId,
      layout: values.layout,
      format: /\.xlsx$/i.test(file.name) ? "XLSX" : "CSV",
      pointsPerCode: requiredInt(values, "pointsPerCode"),
      urlPattern: values.layout === "URLS" ? values.urlPattern : null,
      hasHeader: Boolean(values.hasHeader),
      name: values.name || null,
      sku: values.sku || null,
      hiddenCode: Boolean(values.hiddenCode),
    });
    const started = payload.codeImport;
    announce(t("import_uploading"));
    await upload(started.uploadUrl, file);
    const { node } = await api.call("CodeImport", { id: started.id }, { auth: true });
    show(node);
    form.reset();
    follow(node);
  });
}

main();
