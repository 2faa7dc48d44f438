// A questionnaire's results: completion, responses per day, a chart per question
// (choices, rating and NPS distributions), figures, text answers on demand, exports.

import {
  $, alertError, api, chart, COLORS, dateTime, el, fail, link, mutate, nodes, number, param, percent, shortDate, start, t,
} from "./console.js";

const id = param("id");

function questionCard(result, index) {
  const items = result.options || result.distribution || [];
  const facts = [t("answered", { count: number(result.answered) })];
  if (result.mean !== null && result.mean !== undefined) facts.push(t("mean", { value: result.mean.toFixed(2) }));
  if (result.nps !== null && result.nps !== undefined) facts.push(t("nps_score", { value: result.nps.toFixed(0) }));
  const card = el(
    "section",
    { class: "card", "aria-labelledby": `qr-${index}` },
    el("h2", { id: `qr-${index}` }, `${index + 1}. ${result.text}`),
    el("p", { class: "hint" }, facts.join(" · ")),
  );
  if (items.length) {
    const canvas = el("canvas", { role: "img", "aria-label": result.text });
    card.append(el("div", { class: "chart small" }, canvas));
    // The figures as a list too: the chart's text alternative.
    card.append(
      el(
        "ul",
        { class: "answer-counts" },
        items.map((o) => el("li", {}, `${o.label}: ${number(o.count)} (${percent(o.percent)})`)),
      ),
    );
    queueMicrotask(() =>
      chart(
        canvas,
        "bar",
        items.map((o) => o.label),
        [{ label: t("responses"), data: items.map((o) => o.count), backgroundColor: COLORS[index % COLORS.length] }],
        { indexAxis: result.options ? "y" : "x" },
      ),
    );
  }
  if (result.type === "short_text" || result.type === "long_text") {
    const list = el("ul", { class: "text-answers" });
    const button = el("button", { type: "button", class: "link" }, t("show_answers"));
    let after = null;
    button.addEventListener("click", async () => {
      try {
        const { node } = await api.call(
          "QuestionnaireTextAnswers",
          { id, questionId: result.questionId, first: 20, after },
          { auth: true },
        );
        for (const answer of nodes(node.textAnswers)) {
          list.append(el("li", {}, el("q", {}, answer.text), " ", el("span", { class: "hint" }, dateTime(answer.submittedAt))));
        }
        after = node.textAnswers.pageInfo.endCursor;
        button.hidden = !node.textAnswers.pageInfo.hasNextPage;
        button.textContent = t("load_more");
      } catch (error) {
        fail(error);
      }
    });
    card.append(list, button);
  }
  return card;
}

async function exportAs(format) {
  alertError("");
  try {
    const { downloadUrl } = await mutate("RequestQuestionnaireExport", { id, format });
    // The link answers 202 until the worker has written the file (a few seconds).
    $("#export-links").replaceChildren(el("a", { class: "button", href: downloadUrl }, t("download", { format })));
    $("#export-links a").focus();
  } catch (error) {
    fail(error);
  }
}

async function main() {
  await start();
  $("#builder-link").href = link("questionnaire", { id });
  try {
    const { node } = await api.call("QuestionnaireResults", { id }, { auth: true });
    if (!node || !node.results) {
      alertError(api.message("NOT_FOUND"));
      return;
    }
    $("#r-title").textContent = node.name;
    $("#r-submitted").textContent = number(node.completion.submitted);
    $("#r-opened").textContent = number(node.completion.opened);
    $("#r-rate").textContent = percent(node.completion.rate);
    const days = node.responsesOverTime;
    chart(
      $("#over-time"),
      "line",
      days.map((d) => shortDate(d.day)),
      [{ label: t("responses"), data: days.map((d) => d.responses), borderColor: COLORS[1], backgroundColor: COLORS[1] }],
    );
    $("#questions-results").replaceChildren(...node.results.map(questionCard));
  } catch (error) {
    fail(error);
  }
  $("#export-csv").addEventListener("click", () => exportAs("CSV"));
  $("#export-xlsx").addEventListener("click", () => exportAs("XLSX"));
}

main();
