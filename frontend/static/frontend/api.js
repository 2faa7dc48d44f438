// The one GraphQL client of both front ends (consumer web and merchant console).
//
// Plain ES module, no build step. A page's server view embeds, as JSON:
//   - the operation documents the page may send (from graphql/operations/<api>/),
//   - a human message for every error code the page can meet, in the page's language.
// The client posts those documents verbatim, so the front ends cannot drift from the
// schema without tests/test_schema_snapshots.py failing.
//
// Tokens: a short access token and a rotating refresh token (accounts/tokens.py),
// kept in localStorage under a prefix per API (memory if storage is blocked). A 401
// refreshes once and retries; a reused refresh token has revoked the session.

export const AUTH_CODES = new Set([
  "UNAUTHENTICATED",
  "PERMISSION_DENIED",
  "TOKEN_INVALID",
  "TOKEN_EXPIRED",
  "SESSION_REVOKED",
  "ACCOUNT_DISABLED",
]);

// Failures worth retrying with the same idempotency key; any other refusal is final.
export const RETRYABLE = new Set(["RATE_LIMITED", "SERVICE_UNAVAILABLE", "NETWORK", "UNEXPECTED"]);

export class ApiError extends Error {
  constructor(code, message = "", field = null) {
    super(message || code);
    this.code = code;
    this.field = field;
  }
}

/** Fill `%(name)s` placeholders (the Python-format strings the server translated). */
export function fmt(template, values) {
  return String(template).replace(/%\((\w+)\)s/g, (match, name) =>
    name in values ? String(values[name]) : match,
  );
}

/** JSON the server embedded in `<script type="application/json" id=...>`. */
export function embedded(id) {
  const element = document.getElementById(id);
  return element ? JSON.parse(element.textContent) : null;
}

export function newKey() {
  if (window.crypto?.randomUUID) return window.crypto.randomUUID();
  // crypto.randomUUID needs a secure context (https); plain http on a LAN does not have it.
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// --- Storage (never throws: private modes and blocked storage fall back to memory) ---

const memory = new Map();

function storageArea(name) {
  try {
    return window[name];
  } catch {
    return null;
  }
}

export function load(area, key) {
  try {
    const value = storageArea(area)?.getItem(key);
    if (value !== null && value !== undefined) return value;
  } catch {
    /* fall back to memory */
  }
  return memory.get(`${area}:${key}`) ?? null;
}

export function save(area, key, value) {
  const memoryKey = `${area}:${key}`;
  if (value === null) memory.delete(memoryKey);
  else memory.set(memoryKey, value);
  try {
    const store = storageArea(area);
    if (value === null) store?.removeItem(key);
    else store?.setItem(key, value);
  } catch {
    /* memory only */
  }
}

/** An idempotency key kept for the tab's session: a retry after a lost answer, even
 * after a reload, sends the same key and gets the first result. */
export function sessionKey(name) {
  const key = `loyalty.key.${name}`;
  let value = load("sessionStorage", key);
  if (!value) {
    value = newKey();
    save("sessionStorage", key, value);
  }
  return value;
}

export function forgetSessionKey(name) {
  save("sessionStorage", `loyalty.key.${name}`, null);
}

class Tokens {
  constructor(prefix) {
    this.prefix = prefix;
  }
  get access() {
    return load("localStorage", `${this.prefix}.accessToken`);
  }
  get refresh() {
    return load("localStorage", `${this.prefix}.refreshToken`);
  }
  // True when the access token is (about to be) expired: refresh before using it.
  get stale() {
    const expires = Number(load("localStorage", `${this.prefix}.accessExpiresAt`));
    return !this.access || !expires || Date.now() >= expires;
  }
  get present() {
    return Boolean(this.access || this.refresh);
  }
  save(pair) {
    save("localStorage", `${this.prefix}.accessToken`, pair.accessToken);
    save("localStorage", `${this.prefix}.refreshToken`, pair.refreshToken);
    const expiresAt = Date.now() + (Number(pair.expiresIn) - 30) * 1000;
    save("localStorage", `${this.prefix}.accessExpiresAt`, String(expiresAt));
  }
  clear() {
    for (const name of ["accessToken", "refreshToken", "accessExpiresAt"]) {
      save("localStorage", `${this.prefix}.${name}`, null);
    }
  }
}

/**
 * A client for one endpoint.
 *
 *   const api = new Api({ endpoint: "/graphql/", operations, messages, prefix: "loyalty" });
 *   const data = await api.call("Wallet", {}, { auth: true });
 *
 * `headers()` adds per-call headers (the merchant console's `X-Merchant`).
 * `call` throws ApiError for transport and top-level GraphQL errors; a mutation's
 * expected failures come back as data (`payload.errors`): `api.check(payload)` turns
 * the first into an ApiError with its field.
 */
export class Api {
  constructor({ endpoint, operations, messages = {}, prefix = "loyalty", headers = null }) {
    this.endpoint = endpoint;
    this.operations = operations;
    this.messages = messages;
    this.tokens = new Tokens(prefix);
    this.headers = headers;
    this.refreshing = null;
  }

  message(code, serverMessage = "") {
    if (code === "RATE_LIMITED") {
      const seconds = /(\d+)/.exec(serverMessage);
      if (seconds && this.messages.RATE_LIMITED) {
        return fmt(this.messages.RATE_LIMITED, { seconds: seconds[1] });
      }
      return this.messages.RATE_LIMITED_SOON || serverMessage || code;
    }
    return this.messages[code] || serverMessage || this.messages.UNEXPECTED || code;
  }

  async send(name, variables, token) {
    const document = this.operations[name];
    if (!document) throw new ApiError("UNEXPECTED", `Operation ${name} is not on this page`);
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (this.headers) Object.assign(headers, this.headers());
    let response;
    try {
      response = await fetch(this.endpoint, {
        method: "POST",
        headers,
        credentials: "omit",
        body: JSON.stringify({ query: document, variables, operationName: name }),
      });
    } catch {
      throw new ApiError("NETWORK");
    }
    try {
      return { status: response.status, body: await response.json() };
    } catch {
      throw new ApiError(response.status >= 500 ? "SERVICE_UNAVAILABLE" : "UNEXPECTED");
    }
  }

  // Exchange the refresh token (it rotates). True when new tokens were stored.
  refreshTokens() {
    const refreshToken = this.tokens.refresh;
    if (!refreshToken) return Promise.resolve(false);
    if (!this.refreshing) {
      this.refreshing = this.send("RefreshToken", { refreshToken }, null)
        .then(({ body }) => {
          const pair = body.data?.refreshToken?.tokens;
          if (pair) this.tokens.save(pair);
          else this.tokens.clear();
          return Boolean(pair);
        })
        .finally(() => {
          this.refreshing = null;
        });
    }
    return this.refreshing;
  }

  async call(name, variables = {}, { auth = false } = {}) {
    if (auth && this.tokens.stale && this.tokens.refresh) await this.refreshTokens();
    let { status, body } = await this.send(name, variables, auth ? this.tokens.access : null);
    if (status === 401 && auth) {
      // The access token expired (15 minutes) or was revoked: refresh once, then retry.
      if (!(await this.refreshTokens())) {
        this.tokens.clear();
        throw new ApiError("UNAUTHENTICATED");
      }
      ({ status, body } = await this.send(name, variables, this.tokens.access));
    }
    const error = body.errors?.[0];
    if (error) throw new ApiError(error.extensions?.code || "UNEXPECTED", error.message);
    if (!body.data) throw new ApiError("UNEXPECTED");
    return body.data;
  }

  /** Throw the first expected failure of a mutation payload; return the payload. */
  check(payload) {
    const error = payload?.errors?.[0];
    if (error) throw new ApiError(error.code, error.message, error.field);
    return payload;
  }
}
