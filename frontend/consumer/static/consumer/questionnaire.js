// /q/<link>: show the visible questions, check answers inline, sign in, submit once.
//
// Conditional questions: when a choice changes the page asks the API which questions are
// visible given the answers so far (the server's own rule, so page and server cannot
// disagree); fieldsets still shown are kept, so typing and focus survive. The checks
// here (required, counts, lengths, ranges) only spare a round trip: the server checks
// again and its per-question errors are shown the same way.

import { forgetSessionKey, sessionKey } from "../frontend/api.js";
import {
  $,
  api,
  busy,
  clearAlert,
  config,
  el,
  fmt,
  focusOn,
  formatPoints,
  messageFor,
  setText,
  show,
  showAlert,
  start,
  texts,
} from "./app.js";
import { drawNonce, revealDraw, showPrizeTiers } from "./prize-display.js";
import { isAuthError, weChatStart, withSession } from "./signin.js";

const KEY_NAME = `questionnaire.${config.link}`;
const CHOICE = new Set(["single_choice", "multiple_choice"]);
let questionnaire = null;
const answers = {};

// --- Rendering ------------------------------------------------------------------------

function hintFor(q) {
  if (q.type === "multiple_choice") {
    const parts = [];
    if (q.minSelections) parts.push(fmt(texts.choose_at_least, { n: q.minSelections }));
    if (q.maxSelections && q.maxSelections < q.options.length) {
      parts.push(fmt(texts.choose_up_to, { n: q.maxSelections }));
    }
    return parts.join(" · ");
  }
  if (q.type === "rating") return texts.rating_low;
  if (q.type === "nps") return texts.nps_low;
  if (q.type === "number" && q.min !== null && q.max !== null) {
    return fmt(texts.range, { min: q.min, max: q.max });
  }
  if ((q.type === "short_text" || q.type === "long_text") && q.maxLength) {
    return fmt(texts.at_most_chars, { n: q.maxLength });
  }
  return "";
}

function renderQuestion(q) {
  const errorId = `error-${q.id}`;
  const helpId = `help-${q.id}`;
  const box = el("fieldset", { className: "question", "data-id": q.id });
  const legend = el("legend", {}, q.text);
  if (q.required) legend.append(el("span", { className: "required", "aria-hidden": "true" }, " *"));
  legend.append(el("span", { className: "visually-hidden" }, q.required ? ` (${texts.required})` : ""));
  box.append(legend);
  const help = [q.help, hintFor(q)].filter(Boolean).join(" — ");
  if (help) box.append(el("p", { className: "help", id: helpId }, help));
  const describedBy = [help ? helpId : "", errorId].filter(Boolean).join(" ");
  const name = `q-${q.id}`;
  const set = (value) => {
    answers[q.id] = value;
    clearError(q.id);
    if (CHOICE.has(q.type)) refresh();
  };
  if (CHOICE.has(q.type)) {
    const multiple = q.type === "multiple_choice";
    for (const option of q.options) {
      const current = answers[q.id];
      const input = el("input", {
        type: multiple ? "checkbox" : "radio",
        name,
        value: option.id,
        checked: multiple ? (current || []).includes(option.id) : current === option.id,
        "aria-describedby": describedBy,
      });
      input.addEventListener("change", () => {
        if (!multiple) return set(option.id);
        const chosen = new Set(answers[q.id] || []);
        if (input.checked) chosen.add(option.id);
        else chosen.delete(option.id);
        return set([...chosen]);
      });
      box.append(el("label", { className: "choice" }, input, option.label));
    }
  } else if (q.type === "rating" || q.type === "nps") {
    const scale = el("div", { className: "scale" });
    const [low, high] = q.type === "rating" ? [1, 5] : [0, 10];
    for (let value = low; value <= high; value += 1) {
      const radio = el("input", {
        type: "radio",
        name,
        value: String(value),
        checked: answers[q.id] === value,
        "aria-describedby": describedBy,
      });
      radio.addEventListener("change", () => set(value));
      scale.append(el("label", {}, radio, el("span", {}, String(value))));
    }
    box.append(scale);
  } else {
    const kinds = { short_text: "text", long_text: "textarea", number: "number", date: "date" };
    const field = el(kinds[q.type] === "textarea" ? "textarea" : "input", {
      id: name,
      name,
      "aria-describedby": describedBy,
    });
    if (kinds[q.type] !== "textarea") field.type = kinds[q.type] || "text";
    if (q.maxLength) field.maxLength = q.maxLength;
    if (q.min !== null && q.min !== undefined) field.min = q.min;
    if (q.max !== null && q.max !== undefined) field.max = q.max;
    if (q.type === "number") field.inputMode = "decimal";
    field.value = answers[q.id] ?? "";
    field.addEventListener("input", () => {
      const raw = field.value;
      if (raw === "") delete answers[q.id];
      else answers[q.id] = q.type === "number" ? Number(raw) : raw;
      clearError(q.id);
    });
    // Inline check when leaving the field, not on every key.
    field.addEventListener("blur", () => {
      const problem = check(q);
      if (problem && answers[q.id] !== undefined) markError(q.id, problem);
    });
    // A visible label for the field: the legend names the fieldset for screen readers.
    box.append(el("label", { htmlFor: name, className: "visually-hidden" }, q.text), field);
  }
  box.append(el("p", { className: "error", id: errorId, hidden: true }));
  return box;
}

let fetching = Promise.resolve();

function refresh() {
  fetching = fetching.then(async () => {
    try {
      const data = await api.call("Questionnaire", {
        link: config.link,
        answers: JSON.stringify(answers),
      });
      renderVisible(data.questionnaire.questions);
    } catch (error) {
      showAlert(messageFor(error));
    }
  });
  return fetching;
}

function renderVisible(questions) {
  questionnaire.questions = questions;
  const wanted = new Set(questions.map((q) => q.id));
  for (const id of Object.keys(answers)) if (!wanted.has(id)) delete answers[id];
  const container = $("questions");
  const existing = new Map(
    [...container.querySelectorAll("fieldset[data-id]")].map((box) => [box.dataset.id, box]),
  );
  for (const [id, box] of existing) if (!wanted.has(id)) box.remove();
  let previous = null;
  for (const q of questions) {
    const box = existing.get(q.id) || renderQuestion(q);
    if (previous) previous.after(box);
    else container.prepend(box);
    previous = box;
  }
}

// --- Inline validation ----------------------------------------------------------------

function check(q) {
  const value = answers[q.id];
  const empty = value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length);
  if (empty) return q.required ? messageFor({ code: "REQUIRED" }) : "";
  if (q.type === "multiple_choice") {
    if (q.maxSelections && value.length > q.maxSelections) {
      return fmt(texts.choose_up_to, { n: q.maxSelections });
    }
    if (q.minSelections && value.length < q.minSelections) {
      return fmt(texts.choose_at_least, { n: q.minSelections });
    }
  }
  if (q.type === "number") {
    if (Number.isNaN(value)) return messageFor({ code: "INVALID_ANSWER" });
    const low = q.min ?? -Infinity;
    const high = q.max ?? Infinity;
    if (value < low || value > high) return fmt(texts.range, { min: q.min, max: q.max });
  }
  if (typeof value === "string") {
    if (q.maxLength && value.length > q.maxLength) return fmt(texts.at_most_chars, { n: q.maxLength });
    if (q.minLength && value.trim().length < q.minLength) {
      return fmt(texts.at_least_chars, { n: q.minLength });
    }
  }
  return "";
}

function box(id) {
  return document.querySelector(`fieldset[data-id="${CSS.escape(id)}"]`);
}

function markError(id, text) {
  const fieldset = box(id);
  if (!fieldset) return false;
  fieldset.classList.add("invalid");
  for (const input of fieldset.querySelectorAll("input, textarea")) {
    input.setAttribute("aria-invalid", "true");
  }
  setText(`error-${id}`, text);
  return true;
}

function clearError(id) {
  const fieldset = box(id);
  if (!fieldset) return;
  fieldset.classList.remove("invalid");
  for (const input of fieldset.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
  }
  setText(`error-${id}`, "");
}

/** Mark each error at its question; focus the first; true when any was shown inline. */
function showErrors(errors) {
  let first = null;
  for (const error of errors) {
    if (error.field && markError(error.field, error.message || messageFor(error))) {
      first = first || error.field;
    } else {
      showAlert(messageFor(error));
    }
  }
  if (first) {
    showAlert(texts.fix_errors);
    box(first).querySelector("input, textarea")?.focus();
  }
  return Boolean(first);
}

// --- Flow -------------------------------------------------------------------------------

async function loadQuestionnaire() {
  const variables = { link: config.link, answers: JSON.stringify(answers) };
  // A preview asks as no one: a signed-in consumer's look would count as an open.
  if (config.preview) return (await api.call("Questionnaire", variables)).questionnaire;
  try {
    // Signed in, the state says whether this consumer has already answered.
    return (await api.call("Questionnaire", variables, { auth: api.tokens.present }))
      .questionnaire;
  } catch (error) {
    if (!isAuthError(error)) throw error;
    api.tokens.clear();
    return (await api.call("Questionnaire", variables)).questionnaire;
  }
}

async function main() {
  // inside WeChat: signed in (or asked to agree) before anything; a preview signs no one in
  if (!config.preview) await weChatStart();
  let data;
  try {
    data = await loadQuestionnaire();
  } finally {
    $("intro").setAttribute("aria-busy", "false");
  }
  questionnaire = data;
  $("merchant").textContent = data.merchantName;
  $("title").textContent = data.campaignName;
  // A prize questionnaire (decision 0283): the odds before the answers, a draw after.
  const prize = Boolean(data.prizeTiers);
  const topPrize = prize ? Math.max(...data.prizeTiers.map((tier) => tier.points)) : 0;
  setText(
    "points",
    prize
      ? fmt(texts.prize_up_to, { points: formatPoints(topPrize) })
      : fmt(texts.earn, { points: formatPoints(data.pointsPerResponse) }),
  );
  showPrizeTiers(data.prizeTiers);
  setText("offer-guarantee", data.prizeGuarantee ? fmt(texts.prize_guarantee, { tier: data.prizeGuarantee }) : "");
  setText("description", data.description);
  if (config.preview) {
    // The questions as a consumer would answer them (the conditions follow the
    // choices), whatever the state; the button sends nothing (decision 0324).
    if (data.state !== "OPEN") setText("state", texts[`state_${data.state}`] || "");
    showForm();
    $("submit").disabled = true;
    return;
  }
  if (data.state !== "OPEN") {
    setText("state", texts[`state_${data.state}`] || "");
    return;
  }
  const signedInNow = !api.tokens.present;
  await withSession(async () => {
    if (signedInNow) {
      // Signed in just now: has this consumer answered already?
      const fresh = await api.call("Questionnaire", { link: config.link, answers: "{}" }, { auth: true });
      if (fresh.questionnaire.state !== "OPEN") {
        setText("state", texts[`state_${fresh.questionnaire.state}`] || "");
        return;
      }
    }
    showForm();
  });
}

function submitLabel() {
  if (questionnaire.prizeTiers) return texts.draw;
  return fmt(texts.submit, { points: formatPoints(questionnaire.pointsPerResponse) });
}

function showForm() {
  renderVisible(questionnaire.questions);
  $("submit").textContent = submitLabel();
  show("answers");
  focusOn("title");
}

// Set once the consumer was asked to share their data with the merchant (see submit).
let shareWithMerchant = false;

async function submit() {
  await fetching; // the visible questions match the answers
  const problems = questionnaire.questions
    .map((q) => ({ field: q.id, message: check(q) }))
    .filter((problem) => problem.message);
  if (problems.length) {
    showErrors(problems);
    return;
  }
  const { submitResponse: payload } = await api.call(
    "SubmitResponse",
    {
      link: config.link,
      answers: JSON.stringify(answers),
      idempotencyKey: sessionKey(KEY_NAME),
      shareWithMerchant,
      ...(questionnaire.prizeTiers ? { nonce: drawNonce() } : {}),
    },
    { auth: true },
  );
  const authError = payload.errors.find((error) => isAuthError(error));
  if (authError) throw Object.assign(new Error(authError.code), { code: authError.code });
  if (payload.errors.length) {
    const [first] = payload.errors;
    if (first.code === "ALREADY_RESPONDED" || first.code === "BUDGET_EXHAUSTED") {
      show("answers", false);
      setText("state", messageFor(first));
      focusOn("title");
      return;
    }
    if (first.code === "MERCHANT_CONSENT_REQUIRED") {
      // PIPL art. 23: asked the first time with each merchant; the next tap agrees.
      shareWithMerchant = true;
      setText("merchant-consent", messageFor(first));
      focusOn("merchant-consent");
      return;
    }
    if (first.code === "IDEMPOTENCY_CONFLICT") forgetSessionKey(KEY_NAME);
    showErrors(payload.errors);
    return;
  }
  forgetSessionKey(KEY_NAME);
  show("answers", false);
  $("result-title").textContent = fmt(texts.earned, {
    points: formatPoints(payload.response.points),
  });
  $("result-balance").textContent = fmt(texts.balance, { balance: formatPoints(payload.balance) });
  show("result");
  const reveal = () => {
    show("result-outcome");
    focusOn("result-title");
  };
  if (payload.prize) revealDraw(payload.prize, questionnaire.prizeTiers, payload.replayed, reveal);
  else reveal();
}

$("answers").addEventListener("submit", (event) => {
  event.preventDefault();
  if (config.preview) return;
  clearAlert();
  withSession(() => busy($("submit"), texts.submitting, submit)).catch((error) =>
    showAlert(messageFor(error)),
  );
});

start(main);
