// Staff and roles: members, role changes and removal (admins; owners for owners),
// invitations by email.

import {
  $, announce, api, atLeast, dateTime, el, fail, mutate, nodes, onSubmit, ROLES, start, t, table,
} from "./console.js";

let role = "VIEWER";
let me = null;

// Which roles this member may give: admins up to admin, owners all.
function assignable() {
  return ROLES.filter((r) => (r === "OWNER" ? role === "OWNER" : atLeast(role, "ADMIN")));
}

function roleCell(member) {
  const self = member.email === me.email;
  const editable = atLeast(role, "ADMIN") && !self && (member.role !== "OWNER" || role === "OWNER");
  if (!editable) return t(`role_${member.role}`);
  const selectId = `role-${member.id.replace(/[^A-Za-z0-9]/g, "")}`;
  const select = el(
    "select",
    { id: selectId },
    assignable().map((r) => el("option", { value: r, selected: r === member.role }, t(`role_${r}`))),
  );
  select.addEventListener("change", async () => {
    try {
      const { member: changed } = await mutate("StaffChangeRole", { id: member.id, role: select.value });
      member.role = changed.role;
      announce(t("saved"));
    } catch (error) {
      select.value = member.role;
      fail(error);
    }
  });
  return el("span", {}, el("label", { for: selectId, class: "visually-hidden" }, t("change_role", { email: member.email })), select);
}

function removeCell(member) {
  const self = member.email === me.email;
  if (self || !atLeast(role, "ADMIN") || (member.role === "OWNER" && role !== "OWNER")) return "";
  const button = el("button", { type: "button", class: "link danger-text" }, t("remove"));
  button.addEventListener("click", async () => {
    if (!window.confirm(t("confirm_remove", { email: member.email }))) return;
    try {
      await mutate("StaffRemove", { id: member.id });
      await load();
    } catch (error) {
      fail(error);
    }
  });
  return button;
}

async function load() {
  try {
    const { staff } = await api.call("Staff", { first: 100 }, { auth: true });
    $("#members").replaceChildren(
      table(
        [
          [t("col_email"), (m) => el("span", {}, m.email, m.email === me.email ? ` ${t("you")}` : "")],
          [t("col_name"), (m) => m.name || "—"],
          [t("col_role"), roleCell],
          [t("col_since"), (m) => dateTime(m.createdAt)],
          [t("col_actions"), removeCell],
        ],
        nodes(staff),
      ),
    );
  } catch (error) {
    fail(error);
  }
}

async function main() {
  ({ role, me } = await start());
  onSubmit($("#invite"), async (values) => {
    const { member } = await mutate("StaffInvite", {
      email: values.email.trim(),
      role: values.role,
      name: values.name.trim(), // "" not null: the API takes a string
    });
    $("#invite").reset();
    announce(t("invited", { email: member.email }));
    await load();
  });
  await load();
}

main();
