// The questionnaire page: show the visible questions, sign in by phone, submit once.
//
// Plain ES module, no build step; it sends only the operations embedded in the page
// (graphql/operations/consumer/). Conditional questions are evaluated here from each
// When a choice changes, the page asks the API again for the questions visible given
// the answers so far (the server's own rule, so page and server cannot disagree). The idempotency key lives in
// sessionStorage so a retry after a lost answer cannot submit twice.

const $ = (id) => document.getElementById(id);
const embedded = (id) => JSON.parse($(id).textContent);
const config = embedded("q-config");
const operations = embedded("q-operations");
const messages = embedded("q-messages");
const texts = embedded("q-texts");
const numbers = new Intl.NumberFormat(document.documentElement.lang || undefined);
const fmt = (t, v) => t.replace(/%\((\w+)\)s/g, (m, k) => (k in v ? String(v[k]) : m));

function store(area, key, value) {
  try {
    if (value === undefined) return window[area].getItem(key);
    if (value === null) window[area].removeItem(key);
    else window[area].setItem(key, value);
  } catch {
    return null;
  }
  return value;
}
const token = () => store("localStorage", "loyalty.accessToken");
const KEY = `loyalty.questionnaireKey.${config.link}`;
function idempotencyKey() {
  let key = store("sessionStorage", KEY);
  if (!key) {
    key = window.crypto?.randomUUID ? window.crypto.randomUUID() : String(Math.random()).slice(2);
    store("sessionStorage", KEY, key);
  }
  return key;
}

const AUTH_CODES = new Set(["UNAUTHENTICATED", "TOKEN_INVALID", "TOKEN_EXPIRED", "SESSION_REVOKED"]);

function authFailed(result) {
  const errors = [...(result.errors || [])];
  for (const value of Object.values(result.data || {})) errors.push(...(value?.errors || []));
  return errors.some((e) => AUTH_CODES.has(e.code || e.extensions?.code));
}

function saveTokens(pair) {
  store("localStorage", "loyalty.accessToken", pair.accessToken);
  store("localStorage", "loyalty.refreshToken", pair.refreshToken);
  store("localStorage", "loyalty.accessExpiresAt", String(Date.now() + (pair.expiresIn - 30) * 1000));
}

// Send with the access token; on an expired session, refresh once (the refresh token
// rotates) and resend, or forget the tokens so the page asks to sign in again.
async function send(name, variables, auth = true) {
  const result = await post(name, variables, auth);
  if (!auth || !token() || !authFailed(result)) return result;
  const refreshToken = store("localStorage", "loyalty.refreshToken");
  const refreshed = refreshToken
    ? (await post("RefreshToken", { refreshToken }, false)).data?.refreshToken
    : null;
  if (refreshed?.tokens) {
    saveTokens(refreshed.tokens);
    return post(name, variables, true);
  }
  for (const key of ["accessToken", "refreshToken", "accessExpiresAt"]) {
    store("localStorage", `loyalty.${key}`, null);
  }
  return post(name, variables, false);
}

async function post(name, variables, auth) {
  const headers = { "Content-Type": "application/json" };
  if (auth && token()) headers.Authorization = `Bearer ${token()}`;
  let response;
  try {
    response = await fetch(config.api, {
      method: "POST",
      headers,
      credentials: "omit",
      body: JSON.stringify({ query: operations[name], variables, operationName: name }),
    });
    return await response.json();
  } catch {
    return { errors: [{ extensions: { code: "NETWORK" } }] };
  }
}

function alertText(text) {
  $("alert").textContent = text || "";
}
const messageFor = (code, fallback) => messages[code] || fallback || messages.UNEXPECTED;

// --- Rendering the questions --------------------------------------------------------

let questionnaire = null;
const answers = {};

function input(type, attrs) {
  const element = document.createElement(type === "textarea" ? "textarea" : "input");
  if (type !== "textarea") element.type = type;
  Object.assign(element, attrs);
  return element;
}

function renderQuestion(q) {
  const box = document.createElement("fieldset");
  box.className = "question";
  box.dataset.id = q.id;
  const legend = document.createElement("legend");
  legend.textContent = q.text;
  if (q.required) {
    const star = document.createElement("span");
    star.className = "required";
    star.textContent = "*";
    star.title = texts.required;
    legend.append(star);
  }
  box.append(legend);
  if (q.help) {
    const help = document.createElement("p");
    help.className = "help";
    help.textContent = q.help;
    box.append(help);
  }
  const name = `q-${q.id}`;
  const set = (value) => {
    answers[q.id] = value;
    clearError(q.id);
    if (q.type === "single_choice" || q.type === "multiple_choice") refresh();
  };
  if (q.type === "single_choice" || q.type === "multiple_choice") {
    const multiple = q.type === "multiple_choice";
    if (multiple && q.maxSelections < q.options.length) {
      const hint = document.createElement("p");
      hint.className = "help";
      hint.textContent = fmt(texts.choose_up_to, { n: q.maxSelections });
      box.append(hint);
    }
    for (const option of q.options) {
      const label = document.createElement("label");
      label.className = "choice";
      const box2 = input(multiple ? "checkbox" : "radio", { name, value: option.id });
      const current = answers[q.id];
      box2.checked = multiple ? (current || []).includes(option.id) : current === option.id;
      box2.addEventListener("change", () => {
        if (!multiple) return set(option.id);
        const chosen = new Set(answers[q.id] || []);
        if (box2.checked) chosen.add(option.id);
        else chosen.delete(option.id);
        return set([...chosen]);
      });
      label.append(box2, document.createTextNode(option.label));
      box.append(label);
    }
  } else if (q.type === "rating" || q.type === "nps") {
    const scale = document.createElement("div");
    scale.className = "scale";
    const [low, high] = q.type === "rating" ? [1, 5] : [0, 10];
    for (let value = low; value <= high; value += 1) {
      const label = document.createElement("label");
      const radio = input("radio", { name, value: String(value) });
      radio.checked = answers[q.id] === value;
      radio.addEventListener("change", () => set(value));
      const span = document.createElement("span");
      span.textContent = String(value);
      label.append(radio, span);
      scale.append(label);
    }
    box.append(scale);
  } else {
    const kinds = { short_text: "text", long_text: "textarea", number: "number", date: "date" };
    const field = input(kinds[q.type], { name, id: name });
    if (q.maxLength) field.maxLength = q.maxLength;
    if (q.min !== null && q.min !== undefined) field.min = q.min;
    if (q.max !== null && q.max !== undefined) field.max = q.max;
    if (q.type === "number") field.inputMode = "decimal";
    field.value = answers[q.id] ?? "";
    field.addEventListener("input", () => {
      const raw = field.value;
      answers[q.id] = q.type === "number" ? (raw === "" ? null : Number(raw)) : raw;
      clearError(q.id);
    });
    box.append(field);
  }
  const error = document.createElement("p");
  error.className = "error";
  error.id = `error-${q.id}`;
  error.hidden = true;
  box.append(error);
  return box;
}

let fetching = Promise.resolve();

// A choice changed: ask the API which questions are visible now and update the form in
// place (fieldsets of questions still shown are kept, so focus and typing survive).
function refresh() {
  fetching = fetching.then(async () => {
    const result = await send("Questionnaire", {
      link: config.link,
      answers: JSON.stringify(answers),
    });
    if (result.errors) return alertText(messageFor(result.errors[0].extensions?.code));
    renderVisible(result.data.questionnaire.questions);
    return undefined;
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

function clearError(id) {
  const error = $(`error-${id}`);
  if (error) {
    error.hidden = true;
    error.closest("fieldset").classList.remove("invalid");
  }
}

function showErrors(errors) {
  let first = null;
  for (const e of errors) {
    const box = e.field && document.querySelector(`fieldset[data-id="${CSS.escape(e.field)}"]`);
    if (!box) {
      alertText(messageFor(e.code, e.message));
      continue;
    }
    box.classList.add("invalid");
    const error = $(`error-${e.field}`);
    error.textContent = e.message || messageFor(e.code);
    error.hidden = false;
    first = first || box;
  }
  if (first) {
    alertText(texts.fix_errors);
    first.scrollIntoView({ behavior: "smooth", block: "center" });
  }
}

// --- Flow -----------------------------------------------------------------------------

async function loadQuestionnaire() {
  const result = await send("Questionnaire", { link: config.link, answers: JSON.stringify(answers) });
  $("intro").setAttribute("aria-busy", "false");
  if (result.errors) {
    const code = result.errors[0].extensions?.code;
    $("title").textContent = messageFor(code, result.errors[0].message);
    return null;
  }
  return result.data.questionnaire;
}

async function start() {
  const data = await loadQuestionnaire();
  if (!data) return;
  questionnaire = data;
  $("merchant").textContent = data.merchantName;
  $("title").textContent = data.campaignName;
  $("points").textContent = fmt(texts.points, { points: numbers.format(data.pointsPerResponse) });
  $("points").hidden = false;
  if (data.description) {
    $("description").textContent = data.description;
    $("description").hidden = false;
  }
  if (data.state !== "OPEN") {
    $("state").textContent = texts[`state_${data.state}`] || "";
    $("state").hidden = false;
    return;
  }
  if (!token()) {
    $("signin").hidden = false;
    $("phone").focus();
    return;
  }
  await showForm();
}

async function showForm() {
  renderVisible(questionnaire.questions);
  $("submit").textContent = fmt(texts.submit, {
    points: numbers.format(questionnaire.pointsPerResponse),
  });
  $("signin").hidden = true;
  $("answers").hidden = false;
}

$("answers").addEventListener("submit", async (event) => {
  event.preventDefault();
  alertText("");
  await fetching;
  const button = $("submit");
  button.disabled = true;
  button.textContent = texts.submitting;
  const result = await send("SubmitResponse", {
    link: config.link,
    answers: JSON.stringify(answers),
    idempotencyKey: idempotencyKey(),
  });
  button.disabled = false;
  button.textContent = fmt(texts.submit, { points: numbers.format(questionnaire.pointsPerResponse) });
  const payload = result.data?.submitResponse;
  if (!payload) return alertText(messageFor(result.errors?.[0]?.extensions?.code));
  if (payload.errors.some((e) => AUTH_CODES.has(e.code) || e.code === "PERMISSION_DENIED")) {
    $("signin").hidden = false;
    $("phone").focus();
  }
  if (payload.errors.length) return showErrors(payload.errors);
  $("answers").hidden = true;
  $("result").hidden = false;
  $("result-title").textContent = fmt(texts.earned, { points: numbers.format(payload.response.points) });
  $("result-balance").textContent = fmt(texts.balance, { balance: numbers.format(payload.balance) });
  $("result-title").focus();
  store("sessionStorage", KEY, null);
});

let phone = "";
$("phone-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  phone = $("phone").value.trim();
  const result = await send("RequestSignInCode", { phone }, false);
  const payload = result.data?.requestSignInCode;
  if (!payload || payload.errors.length) {
    return alertText(messageFor(payload?.errors[0]?.code || "UNEXPECTED"));
  }
  $("otp-hint").textContent = fmt(texts.code_sent, { phone });
  $("otp-form").hidden = false;
  $("otp").focus();
});

$("otp-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const result = await send("SignInWithCode", { phone, code: $("otp").value.trim() }, false);
  const payload = result.data?.signInWithCode;
  if (!payload || payload.errors.length) {
    return alertText(messageFor(payload?.errors[0]?.code || "UNEXPECTED"));
  }
  saveTokens(payload.tokens);
  alertText("");
  await start();
});

start();
