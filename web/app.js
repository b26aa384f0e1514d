// Product inventory page: list, add, edit and delete products through the workshop's REST API.
//
// Plain JavaScript with no build step, so learners can read every line. Each call is a
// cross-origin request (the page and the API have different origins), which is why the API needs
// CORS: a GET without custom headers is a "simple" request, but POST, PATCH and DELETE with a
// JSON body make the browser first send an OPTIONS "preflight" and only send the real request
// when the answer allows it.
"use strict";

const STORAGE_KEY = "inventory-api-url";

const state = {
  apiUrl: "",
  nextToken: null, // the token of the page after the one on screen, or null on the last page
  currentToken: null, // the token that fetched the page on screen (null for the first page)
  pageNumber: 0,
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------------------
// Talking to the API
// ---------------------------------------------------------------------------------------------

/** The request reached the API and it answered with an error status. */
class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** The browser could not read any answer: network down, wrong host, or blocked by CORS. */
class NetworkError extends Error {}

/**
 * Send one request and return the parsed JSON body of a 2xx answer.
 *
 * Throws ApiError with the API's own `message` for any other status, and NetworkError when
 * `fetch` itself fails. The browser deliberately hides *why* a cross-origin request failed from
 * JavaScript (a CORS refusal and an unreachable host both surface as a TypeError), so the page
 * can only say "network or CORS"; the browser console names the exact reason.
 */
async function callApi(method, path, { query = {}, body } = {}) {
  if (!state.apiUrl) {
    throw new NetworkError("No API URL yet: enter your API's invoke URL above first.");
  }
  const url = new URL(state.apiUrl + path);
  for (const [key, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, value);
  }
  const options = { method, headers: {} };
  if (method !== "GET") {
    // Lab 08: the write methods need an API key and the authorizer's token. Reads stay
    // "simple" requests (no custom header, so no preflight).
    const apiKey = $("api-key").value.trim();
    const token = $("api-token").value.trim();
    if (apiKey) options.headers["x-api-key"] = apiKey;
    if (token) options.headers["Authorization"] = `Bearer ${token}`;
  }
  if (body !== undefined) {
    // application/json is not a CORS "simple" content type: this header alone triggers the
    // preflight, even for POST.
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (error) {
    throw new NetworkError(
      `${method} ${url} failed before any answer could be read (${error.message}). ` +
        "Either the API cannot be reached (check the URL and that the API is deployed), or " +
        "the browser blocked the answer because of CORS: the resource needs an OPTIONS method " +
        "that allows this origin, and every response needs an Access-Control-Allow-Origin " +
        "header. The browser console (F12) names the exact reason.",
    );
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    // API Gateway writes an authorizer's Deny as {"Message": ...}, with a capital M.
    const words = data && typeof data === "object" ? (data.message ?? data.Message) : undefined;
    const apiMessage =
      typeof words === "string" ? words : text || response.statusText || "(empty body)";
    throw new ApiError(response.status, apiMessage, data);
  }
  return data;
}

/** A sentence that helps with the few gateway errors whose wording puzzles learners. */
function hintFor(error) {
  if (error.status === 403 && /Missing Authentication Token/i.test(error.message)) {
    return "API Gateway says this for a path or method the API does not have, or an API not " +
      "deployed to this stage: check that the URL ends with the stage (for example /prod).";
  }
  if (error.status === 401) {
    return "No valid token: lab 08's authorizer wants Authorization: Bearer <token> (Credentials above).";
  }
  if (error.status === 403 && /Forbidden/.test(error.message)) {
    return "No valid API key for this stage: fill in the key of lab 08's usage plan (Credentials above).";
  }
  if (error.status === 429) {
    return "The usage plan's throttle or quota refused this key: slow down, or try again later.";
  }
  if (error.status === 502 || error.status === 500) {
    return "The Lambda function failed or could not be invoked: its CloudWatch log says why.";
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Status line: what the last request did
// ---------------------------------------------------------------------------------------------

function showStatus(stateName, text) {
  const status = $("status");
  status.dataset.state = stateName;
  status.textContent = text;
}

/** Run one API action, showing progress, then success or the error as the API words it. */
async function run(label, action) {
  showStatus("busy", `${label}…`);
  try {
    const result = await action();
    showStatus("ok", `${label}: done.${result ? " " + result : ""}`);
    return true;
  } catch (error) {
    if (error instanceof ApiError) {
      const hint = hintFor(error);
      showStatus("error", `${label}: the API answered ${error.status}: ${error.message}` +
        (hint ? ` (${hint})` : ""));
    } else if (error instanceof NetworkError) {
      showStatus("network-error", `${label}: ${error.message}`);
    } else {
      showStatus("error", `${label}: ${error.message}`);
    }
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Products list with paging
// ---------------------------------------------------------------------------------------------

async function loadPage(token, pageNumber = token ? state.pageNumber + 1 : 1) {
  const limit = $("page-size").value;
  const data = await callApi("GET", "/products", { query: { limit, nextToken: token } });
  const products = Array.isArray(data && data.products) ? data.products : [];
  state.currentToken = token;
  state.nextToken = data && data.nextToken ? data.nextToken : null;
  state.pageNumber = pageNumber;
  renderProducts(products);
  $("next-page").disabled = !state.nextToken;
  $("page-info").textContent =
    `Page ${state.pageNumber}: ${products.length} product(s)` +
    (state.nextToken ? ", more on the next page." : ", last page.");
  return `${products.length} product(s) on page ${state.pageNumber}.`;
}

function renderProducts(products) {
  const body = $("products-body");
  body.replaceChildren();
  if (products.length === 0) {
    const row = body.insertRow();
    const cell = row.insertCell();
    cell.colSpan = 3;
    cell.className = "hint";
    cell.textContent = "No products on this page.";
    return;
  }
  const template = $("product-row");
  for (const product of products) {
    const row = template.content.firstElementChild.cloneNode(true);
    row.dataset.productId = product.productId;
    row.querySelector(".product-id").textContent = product.productId;
    const list = row.querySelector(".attributes");
    for (const [key, value] of Object.entries(product)) {
      if (key === "productId") continue;
      const term = document.createElement("dt");
      term.textContent = key;
      const detail = document.createElement("dd");
      detail.textContent = typeof value === "string" ? value : JSON.stringify(value);
      list.append(term, detail);
    }
    row.querySelector(".edit").addEventListener("click", () => {
      $("edit-productId").value = product.productId;
      $("edit-key").focus();
    });
    row.querySelector(".delete").addEventListener("click", () => deleteProduct(product.productId));
    body.append(row);
  }
}

async function refreshList() {
  // Stay on the page on screen after a change, so the learner sees its effect. The status line
  // keeps the change's own result; a failed reload is reported beside the list instead.
  try {
    await loadPage(state.currentToken, state.pageNumber || 1);
  } catch (error) {
    $("page-info").textContent = `Could not reload the list: ${error.message}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Add, edit, delete
// ---------------------------------------------------------------------------------------------

function numberOrUndefined(raw) {
  return raw.trim() === "" ? undefined : Number(raw);
}

/** Text typed as an attribute value: JSON when it parses, plain text otherwise. */
function parseValue(raw) {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

async function addProduct(event) {
  event.preventDefault();
  const form = event.target;
  const ok = await run(`Add product ${form.productId.value}`, async () => {
    let item = {};
    if (form.extra.value.trim()) {
      try {
        item = JSON.parse(form.extra.value);
      } catch (error) {
        throw new Error(`"more attributes" is not valid JSON (${error.message}).`);
      }
      if (item === null || typeof item !== "object" || Array.isArray(item)) {
        throw new Error('"more attributes" must be a JSON object, like {"color": "blue"}.');
      }
    }
    item.productId = form.productId.value.trim();
    if (form.name.value.trim()) item.name = form.name.value.trim();
    const price = numberOrUndefined(form.price.value);
    if (price !== undefined) item.price = price;
    const quantity = numberOrUndefined(form.quantity.value);
    if (quantity !== undefined) item.quantity = quantity;
    const data = await callApi("POST", "/product", { body: item });
    return data && data.Item ? `Saved ${JSON.stringify(data.Item)}` : "";
  });
  if (ok) {
    form.reset();
    await refreshList();
  }
}

async function editProduct(event) {
  event.preventDefault();
  const form = event.target;
  const body = {
    productId: form.productId.value.trim(),
    updateKey: form.updateKey.value.trim(),
    updateValue: parseValue(form.updateValue.value),
  };
  const ok = await run(`Update ${body.productId}`, async () => {
    const data = await callApi("PATCH", "/product", { body });
    return data && data.UpdatedAttributes
      ? `Updated attributes: ${JSON.stringify(data.UpdatedAttributes)}`
      : "";
  });
  if (ok) await refreshList();
}

async function deleteProduct(productId) {
  const ok = await run(`Delete ${productId}`, async () => {
    await callApi("DELETE", "/product", { body: { productId } });
    return "";
  });
  if (ok) await refreshList();
}

// ---------------------------------------------------------------------------------------------
// Choosing the API
// ---------------------------------------------------------------------------------------------

function normaliseApiUrl(raw) {
  const url = new URL(raw.trim()); // throws on a malformed URL
  // "localhost:4567/abc/prod" parses as a URL with the scheme "localhost:": insist on http(s).
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http(s)");
  return url.href.replace(/\/+$/, "");
}

function describeOrigins() {
  let apiOrigin = "";
  try {
    apiOrigin = new URL(state.apiUrl).origin;
  } catch {
    apiOrigin = "";
  }
  $("origins").textContent = apiOrigin
    ? `This page's origin is ${location.origin}; the API's is ${apiOrigin}` +
      (apiOrigin === location.origin
        ? " (the same: no CORS involved)."
        : " (another origin: CORS applies).")
    : `This page's origin is ${location.origin}.`;
}

function useApi(raw, { remember = true } = {}) {
  try {
    state.apiUrl = normaliseApiUrl(raw);
  } catch {
    showStatus("error", `"${raw}" is not a URL: paste your API's invoke URL, starting with ` +
      "http:// or https://, e.g. http://127.0.0.1:4567/abc123defg/prod.");
    return false;
  }
  $("api-url").value = state.apiUrl;
  if (remember) {
    localStorage.setItem(STORAGE_KEY, state.apiUrl);
    // Keep ?api= in the address bar so a reload or a shared link opens the same API.
    const address = new URL(location.href);
    address.searchParams.set("api", state.apiUrl);
    history.replaceState(null, "", address);
  }
  describeOrigins();
  return true;
}

function start() {
  $("api-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (useApi($("api-url").value)) await run("Load products", () => loadPage(null));
  });
  $("health-check").addEventListener("click", async () => {
    if (!useApi($("api-url").value)) return;
    await run("GET /health", async () => JSON.stringify(await callApi("GET", "/health")));
  });
  $("first-page").addEventListener("click", () => run("Load products", () => loadPage(null)));
  $("next-page").addEventListener("click", () =>
    run("Load next page", () => loadPage(state.nextToken)),
  );
  $("page-size").addEventListener("change", () => run("Load products", () => loadPage(null)));
  $("add-form").addEventListener("submit", addProduct);
  $("edit-form").addEventListener("submit", editProduct);

  // serve_frontend.py puts lab 08's key and token in the fragment (#apiKey=...&token=...), which
  // the browser never sends to any server. They are kept only while the page is open.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("apiKey")) $("api-key").value = fragment.get("apiKey");
  if (fragment.get("token")) $("api-token").value = fragment.get("token");
  if (fragment.get("apiKey") || fragment.get("token")) $("credentials").open = true;
  const fromQuery = new URLSearchParams(location.search).get("api");
  const initial = fromQuery || localStorage.getItem(STORAGE_KEY);
  describeOrigins();
  if (initial && useApi(initial)) {
    run("Load products", () => loadPage(null));
  }
}

start();
