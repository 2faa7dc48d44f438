// The earning rule (积分规则): points per yuan, rounding, a daily cap, the welcome and
// birthday bonuses. Admins save it; the others read it.

import { $, announce, api, atLeast, fail, intOrNull, mutate, number, onSubmit, start, t } from "./console.js";

const EXAMPLE_YUAN = 99.9;
const ROUND = { DOWN: Math.floor, UP: Math.ceil, NEAREST: (x) => Math.floor(x + 0.5) };

function fill(form, rule) {
  form.elements.pointsPerUnit.value = rule ? rule.pointsPerUnit : "1";
  form.elements.rounding.value = rule ? rule.rounding : "DOWN";
  form.elements.dailyCap.value = rule?.dailyCap ?? "";
  form.elements.welcomeBonus.value = rule ? rule.welcomeBonus : 0;
  form.elements.birthdayBonus.value = rule ? rule.birthdayBonus : 0;
  form.elements.pendingDays.value = rule ? rule.pendingDays : 30;
  $("#rule-state").textContent = rule ? "" : t("earning_rule_missing");
}

// What a sample purchase earns, as the server computes it (amount x rate, rounded).
function showExample(form) {
  const rate = Number(form.elements.pointsPerUnit.value);
  const round = ROUND[form.elements.rounding.value];
  $("#rule-example").textContent =
    rate > 0 && round
      ? t("earning_example", { amount: EXAMPLE_YUAN.toFixed(2), points: number(round(Math.round(EXAMPLE_YUAN * rate * 10000) / 10000)) })
      : "";
}

async function main() {
  const { role } = await start();
  const form = $("#earning-rule");
  const admin = atLeast(role, "ADMIN");
  for (const input of form.elements) if (input.tagName !== "BUTTON") input.disabled = !admin;
  form.addEventListener("input", () => showExample(form));
  onSubmit(form, async (values) => {
    const payload = await mutate("SetEarningRule", {
      pointsPerUnit: values.pointsPerUnit.trim(),
      rounding: values.rounding,
      dailyCap: intOrNull(values.dailyCap),
      welcomeBonus: intOrNull(values.welcomeBonus) ?? 0,
      birthdayBonus: intOrNull(values.birthdayBonus) ?? 0,
      pendingDays: intOrNull(values.pendingDays),
    });
    fill(form, payload.rule);
    showExample(form);
    announce(t("saved"));
    $("#rule-state").textContent = t("saved");
  });
  try {
    const { earningRule } = await api.call("EarningRule", {}, { auth: true });
    fill(form, earningRule);
    showExample(form);
  } catch (error) {
    fail(error);
  }
}

main();
