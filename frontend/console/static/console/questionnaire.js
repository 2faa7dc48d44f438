// The questionnaire builder: details (on creation), questions with their type, text,
// required flag, options and condition ("show only if an earlier choice question has
// this option chosen", the API's showIf); a live phone-sized preview of the draft;
// status actions, share link and poster once it exists.

import {
  $, alertError, announce, api, applyRoles, atLeast, copyButton, el, fail, link, mutate, number,
  onSubmit, param, points, requiredInt, start, statusBadge, t, ApiError,
} from "./console.js";

const TYPES = [
  "single_choice",
  "multiple_choice",
  "short_text",
  "long_text",
  "rating",
  "nps",
  "number",
  "date",
];
const CHOICES = new Set(["single_choice", "multiple_choice"]);
const id = param("id");
let role = "VIEWER";
let questionnaire = null;
// The editor's model: the questions as the API knows them, edited in place.
let questions = [];
let counter = 0; // makes element ids unique as questions are added and removed
// The preview's answers (question id → option id or ids): they drive its conditions.
let previewAnswers = {};

function nextQuestionId() {
  const taken = new Set(questions.map((q) => q.id));
  let n = questions.length + 1;
  while (taken.has(`q${n}`)) n += 1;
  return `q${n}`;
}

function newQuestion(type = "single_choice") {
  return { id: nextQuestionId(), type, text: "", required: true, options: [] , key: counter++ };
}

// Option lines to options, keeping the ids of unchanged labels (results stay comparable).
function optionsFrom(lines, previous) {
  const byLabel = new Map((previous || []).map((o) => [o.label, o.id]));
  const used = new Set();
  const options = [];
  for (const label of lines.split("\n").map((line) => line.trim()).filter(Boolean)) {
    let optionId = byLabel.get(label);
    if (!optionId || used.has(optionId)) {
      let n = options.length + 1;
      while (used.has(`o${n}`) || [...byLabel.values()].includes(`o${n}`)) n += 1;
      optionId = `o${n}`;
    }
    used.add(optionId);
    options.push({ id: optionId, label });
  }
  return options;
}

// A condition must name an earlier choice question and one of its options (as the API
// checks): one left pointing elsewhere by a move, a removal or an edited option goes.
function dropBrokenConditions() {
  const earlier = new Map();
  for (const q of questions) {
    const target = q.showIf && earlier.get(q.showIf.question);
    if (q.showIf && !(target && (target.options || []).some((o) => o.id === q.showIf.option))) {
      delete q.showIf;
    }
    if (CHOICES.has(q.type)) earlier.set(q.id, q);
  }
}

function conditionField(q, index, base, editable) {
  const choices = questions.slice(0, index).filter((e) => CHOICES.has(e.type) && (e.options || []).length);
  if (!choices.length) return null;
  const select = el(
    "select",
    { id: `${base}-show-if`, "data-field": `questions[${index}].showIf`, disabled: !editable },
    el("option", { value: "" }, t("show_always")),
    ...choices.flatMap((e) =>
      e.options.map((o) =>
        el(
          "option",
          {
            value: `${e.id}|${o.id}`,
            selected: q.showIf && q.showIf.question === e.id && q.showIf.option === o.id,
          },
          t("show_if_option", { n: questions.indexOf(e) + 1, option: o.label }),
        ),
      ),
    ),
  );
  select.addEventListener("change", () => {
    const [question, option] = select.value.split("|");
    if (question) q.showIf = { question, option };
    else delete q.showIf;
    renderPreview();
  });
  return el("div", { class: "field" }, el("label", { for: `${base}-show-if` }, t("question_show_if")), select);
}

function renderQuestions() {
  dropBrokenConditions();
  const list = $("#questions");
  const editable = atLeast(role, "OPERATOR");
  list.replaceChildren(
    ...questions.map((q, index) => {
      const n = index + 1;
      const base = `q-${q.key}`;
      const field = `questions[${index}]`;
      const typeSelect = el(
        "select",
        { id: `${base}-type`, "data-field": `${field}.type`, disabled: !editable },
        TYPES.map((type) => el("option", { value: type, selected: type === q.type }, t(`qtype_${type}`))),
      );
      typeSelect.addEventListener("change", () => {
        q.type = typeSelect.value;
        renderQuestions();
        document.getElementById(`${base}-type`).focus();
      });
      const text = el("input", {
        id: `${base}-text`,
        "data-field": `${field}.text`,
        value: q.text,
        required: true,
        maxlength: "500",
        disabled: !editable,
      });
      text.addEventListener("input", () => {
        q.text = text.value;
        renderPreview();
      });
      const required = el("input", {
        id: `${base}-required`,
        type: "checkbox",
        checked: q.required,
        disabled: !editable,
      });
      required.addEventListener("change", () => {
        q.required = required.checked;
        renderPreview();
      });
      const parts = [
        el("legend", {}, t("question_n", { n })),
        el("div", { class: "field" }, el("label", { for: `${base}-text` }, t("question_text")), text),
        el(
          "div",
          { class: "grid-2" },
          el("div", { class: "field" }, el("label", { for: `${base}-type` }, t("question_type")), typeSelect),
          el(
            "div",
            { class: "field checkbox" },
            required,
            el("label", { for: `${base}-required` }, t("question_required")),
          ),
        ),
      ];
      if (CHOICES.has(q.type)) {
        const options = el("textarea", {
          id: `${base}-options`,
          "data-field": `${field}.options`,
          rows: "4",
          disabled: !editable,
        });
        options.value = (q.options || []).map((o) => o.label).join("\n");
        options.addEventListener("change", () => {
          q.options = optionsFrom(options.value, q.options);
          // Later questions' conditions offer these options: redraw, keeping the focus.
          const focused = document.activeElement && document.activeElement.id;
          renderQuestions();
          if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
        });
        parts.push(
          el("div", { class: "field" }, el("label", { for: `${base}-options` }, t("question_options")), options),
        );
      }
      const condition = conditionField(q, index, base, editable);
      if (condition) parts.push(condition);
      if (editable) {
        const move = (delta) => () => {
          const target = index + delta;
          [questions[index], questions[target]] = [questions[target], questions[index]];
          renderQuestions();
          document.getElementById(`${base}-text`).focus();
        };
        parts.push(
          el(
            "div",
            { class: "question-tools" },
            el("button", { type: "button", class: "link", disabled: index === 0, "aria-label": t("move_up", { n }), onclick: move(-1) }, "↑"),
            el("button", { type: "button", class: "link", disabled: index === questions.length - 1, "aria-label": t("move_down", { n }), onclick: move(1) }, "↓"),
            el(
              "button",
              {
                type: "button",
                class: "link danger-text",
                onclick: () => {
                  questions.splice(index, 1);
                  delete previewAnswers[q.id];
                  renderQuestions();
                  $("#add-question").focus();
                },
              },
              t("remove_question", { n }),
            ),
          ),
        );
      }
      return el("li", {}, el("fieldset", { class: "question" }, parts));
    }),
  );
  renderPreview();
}

// --- The phone preview: the draft as a consumer would answer it ------------------------

function chosen(q) {
  const answer = previewAnswers[q.id];
  if (q.type === "single_choice") return answer ? [answer] : [];
  return Array.isArray(answer) ? answer : [];
}

// The consumer page's rule (campaigns.questionnaires.questions.is_visible): shown when
// its condition's question is shown and has the option chosen.
function visible(q, byId) {
  if (!q.showIf) return true;
  const target = byId.get(q.showIf.question);
  return Boolean(target) && visible(target, byId) && chosen(target).includes(q.showIf.option);
}

function previewInput(q) {
  const name = `pv-${q.key}`;
  const pick = (value, multiple) => () => {
    if (!multiple) previewAnswers[q.id] = value;
    else {
      const set = new Set(chosen(q));
      if (set.has(value)) set.delete(value);
      else set.add(value);
      previewAnswers[q.id] = [...set];
    }
    renderPreview();
    const again = document.getElementById(`${name}-${value}`);
    if (again) again.focus();
  };
  if (CHOICES.has(q.type)) {
    const multiple = q.type === "multiple_choice";
    return (q.options || []).map((o) =>
      el(
        "div",
        { class: "pv-choice" },
        el("input", {
          type: multiple ? "checkbox" : "radio",
          name,
          id: `${name}-${o.id}`,
          checked: chosen(q).includes(o.id),
          onchange: pick(o.id, multiple),
        }),
        el("label", { for: `${name}-${o.id}` }, o.label),
      ),
    );
  }
  if (q.type === "rating" || q.type === "nps") {
    const [low, high] = q.type === "rating" ? [1, 5] : [0, 10];
    const values = Array.from({ length: high - low + 1 }, (_, i) => String(low + i));
    return [
      el(
        "div",
        { class: "pv-scale" },
        values.map((v) =>
          el("label", {}, el("input", { type: "radio", name, value: v }), v),
        ),
      ),
    ];
  }
  if (q.type === "long_text") return [el("textarea", { name, rows: "3", "aria-label": q.text })];
  const type = { number: "number", date: "date" }[q.type] || "text";
  return [el("input", { type, name, "aria-label": q.text })];
}

function renderPreview() {
  const frame = $("#preview");
  if (!frame) return;
  const byId = new Map(questions.map((q) => [q.id, q]));
  const title = questionnaire ? questionnaire.name : ($("#q-name") && $("#q-name").value) || "";
  const description = questionnaire
    ? questionnaire.description || ""
    : ($("#q-description") && $("#q-description").value) || "";
  const shown = questions.filter((q) => visible(q, byId));
  frame.replaceChildren(
    // Not a heading: the page's own h1 carries the same name.
    el("p", { class: "pv-title" }, title || t("new_questionnaire_title")),
    ...(description ? [el("p", {}, description)] : []),
    ...(shown.length
      ? shown.map((q) =>
          el(
            "fieldset",
            { class: "pv-question", "data-question": q.id },
            el(
              "legend",
              {},
              // (Not "Question n": the builder's own fieldsets are named so.)
              q.text || "…",
              ...(q.required ? [el("span", { class: "pv-required", "aria-hidden": "true" }, " *")] : []),
            ),
            ...previewInput(q),
          ),
        )
      : [el("p", { class: "hint" }, t("preview_empty"))]),
    el("button", { type: "button", class: "primary pv-submit", disabled: true }, t("preview_submit")),
  );
}

// The questions as the API takes them (JSON), without the editor's bookkeeping.
function definition() {
  return questions.map((q) => {
    const item = { id: q.id, type: q.type, text: q.text.trim(), required: q.required };
    if (q.help) item.help = q.help;
    if (CHOICES.has(q.type)) item.options = q.options || [];
    for (const key of ["minSelections", "maxSelections", "minLength", "maxLength", "min", "max"]) {
      if (q[key] !== null && q[key] !== undefined) item[key] = q[key];
    }
    if (q.showIf) item.showIf = q.showIf;
    return item;
  });
}

function renderExisting() {
  const q = questionnaire;
  $("#q-title").textContent = q.name;
  $("#q-status").replaceChildren(statusBadge("status", q.status));
  $("#q-existing").hidden = false;
  $("#details").hidden = true;
  $("#versions-hint").hidden = false;
  $("#q-responses").textContent = `${number(q.rewardedResponses)} / ${number(q.maxRewardedResponses)}`;
  $("#q-points").textContent = points(q.pointsPerResponse);
  $("#q-version").textContent = number(q.version);
  $("#share-url").value = q.shareUrl;
  $("#share-copy").replaceChildren(copyButton($("#share-url"), $("#share-copied")));
  $("#share-link").href = q.shareUrl;
  $("#poster-link").href = q.posterUrl;
  $("#results-link").href = link("results", { id: q.id });
  // A signed link for 15 minutes: opening it is no response and collects nothing (0324).
  $("#preview-link").href = q.campaign.previewUrl;
  $("#preview-link").hidden = false;
  const operator = atLeast(role, "OPERATOR");
  $("#activate").hidden = !(operator && (q.status === "DRAFT" || q.status === "PAUSED"));
  $("#activate").textContent = q.status === "PAUSED" ? t("resume") : t("activate");
  $("#pause").hidden = !(operator && q.status === "ACTIVE");
  $("#end").hidden = !(atLeast(role, "ADMIN") && q.status !== "ENDED");
  if (q.status === "ENDED") {
    for (const element of document.querySelectorAll("[data-role]")) element.hidden = true;
    role = "VIEWER"; // an ended questionnaire is read-only
  }
}

async function changeStatus(operation) {
  if (operation === "EndCampaign" && !window.confirm(t("confirm_end"))) return;
  alertError("");
  try {
    const payload = await mutate(operation, { id: questionnaire.campaign.id });
    questionnaire = { ...questionnaire, status: payload.campaign.status };
    renderExisting();
    renderQuestions();
    announce(t(`status_${payload.campaign.status}`));
  } catch (error) {
    fail(error);
  }
}

async function main() {
  ({ role } = await start());
  if (id) {
    try {
      const { node } = await api.call("Questionnaire", { id }, { auth: true });
      if (!node || !node.questions) {
        alertError(api.message("NOT_FOUND"));
        $("#questionnaire-form").hidden = true;
        return;
      }
      questionnaire = node;
      questions = node.questions.map((q) => ({ ...q, key: counter++ }));
      renderExisting();
    } catch (error) {
      fail(error);
      return;
    }
  } else if (!atLeast(role, "OPERATOR")) {
    alertError(api.message("PERMISSION_DENIED"));
    $("#questionnaire-form").hidden = true;
    return;
  } else {
    questions = [newQuestion()];
  }
  applyRoles($("#screen"), role);
  renderQuestions();
  for (const input of ["#q-name", "#q-description"]) $(input).addEventListener("input", renderPreview);

  $("#add-question").addEventListener("click", () => {
    const question = newQuestion();
    questions.push(question);
    renderQuestions();
    document.getElementById(`q-${question.key}-text`).focus();
  });
  $("#activate").addEventListener("click", () => changeStatus("ActivateCampaign"));
  $("#pause").addEventListener("click", () => changeStatus("PauseCampaign"));
  $("#end").addEventListener("click", () => changeStatus("EndCampaign"));

  onSubmit($("#questionnaire-form"), async (values) => {
    // Options typed but not yet committed by a change event.
    for (const q of questions) {
      const box = document.getElementById(`q-${q.key}-options`);
      if (box) q.options = optionsFrom(box.value, q.options);
    }
    if (!questions.length) throw new ApiError("INVALID_QUESTION", t("add_question_first"), "questions");
    const json = JSON.stringify(definition());
    if (!questionnaire) {
      const payload = await mutate("CreateQuestionnaire", {
        name: values.name.trim(),
        description: values.description,
        pointsPerResponse: requiredInt(values, "pointsPerResponse"),
        maxRewardedResponses: requiredInt(values, "maxRewardedResponses"),
        questions: json,
      });
      window.location.assign(link("questionnaire", { id: payload.questionnaire.id }));
      return;
    }
    const payload = await mutate("EditQuestions", { id: questionnaire.id, questions: json });
    questionnaire = { ...questionnaire, version: payload.questionnaire.version };
    questions = payload.questionnaire.questions.map((q) => ({ ...q, key: counter++ }));
    renderExisting();
    renderQuestions();
    announce(t("saved"));
  });
}

main();
