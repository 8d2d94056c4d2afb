// seglab workbench page: plain JS over the JSON API (see seglab.web's docstring).
// No algorithm here: forms come from /api/methods, every result from /api/run, /api/jobs, /api/compare.
"use strict";

const CLASS_COLOURS = { 1: "#00b7ff", 2: "#ff3b8b", 3: "#ffd000", 4: "#38d94a" };
const PREVIEW_MAX = 1024;  // largest preview side (image pixels); the whole image runs as a job
const $ = (id) => document.getElementById(id);

// The token travels in the HttpOnly cookie the server set with this page; drop it from the address bar.
if (location.search.includes("token=")) history.replaceState(null, "", location.pathname);

const state = {
  specs: [], methods: {}, pre: {}, post: {},
  image: null, info: null, viewer: null,
  pipeline: { pre: [], method: { name: "otsu", params: {} }, post: [] },
  drawing: { strokes: [], rect: null, contour: null },
  undo: [], redo: [], tool: "pan", current: null, trainSeq: 0,
  result: null, layer: null, job: null, previewAbort: null, previewSeq: 0,
};
window.seglab = state;  // for scripts and tests

// -- helpers ------------------------------------------------------------------------------------
function encName(name) { return name.split("/").map(encodeURIComponent).join("/"); }
function showError(message) {
  const box = $("error");
  box.textContent = message; box.hidden = !message;
  document.body.dataset.error = message ? "1" : "";
}
function setStatus(text) { $("status").textContent = text; }
async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const error = new Error((body && body.error) || `${response.status} ${response.statusText}`);
    error.status = response.status; throw error;
  }
  return body;
}
function postJSON(path, body, signal) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal });
}
function debounce(fn, ms) { let t; return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); }; }
function fmt(v) {
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  if (Array.isArray(v)) return v.length > 6 ? `[${v.length} values]` : v.map(fmt).join(", ");
  if (v && typeof v === "object") return JSON.stringify(v).slice(0, 80);
  return String(v);
}

// -- images -------------------------------------------------------------------------------------
async function loadImages(select) {
  const data = await api("/api/images");
  const list = $("image-list"); list.innerHTML = "";
  const truth = $("truth"); const keep = truth.value; truth.innerHTML = '<option value="">(none)</option>';
  for (const item of data.images) {
    const li = document.createElement("li");
    li.dataset.name = item.name; li.title = item.name;
    li.innerHTML = `<img alt="" loading="lazy" src="/api/images/${encName(item.name)}/thumbnail?size=80"><span></span>`;
    li.querySelector("span").textContent = item.name;
    li.onclick = () => openImage(item.name);
    list.appendChild(li);
    // a long path is cut by the narrow menu: the tooltip (menu entry and closed menu) shows it whole
    const option = document.createElement("option"); option.value = option.textContent = option.title = item.name;
    truth.appendChild(option);
  }
  truth.value = keep; truth.title = truth.value;
  fillTrainFolders(data.images);
  if (select) openImage(select);
}

async function openImage(name) {
  showError("");
  const info = await api(`/api/images/${encName(name)}/info`).catch((e) => { showError(e.message); return null; });
  if (!info) return;
  state.image = name; state.info = info; state.result = null; state.layer = null;
  state.drawing = { strokes: [], rect: null, contour: null }; state.undo = []; state.redo = [];
  document.querySelectorAll("#image-list li").forEach((li) => li.classList.toggle("active", li.dataset.name === name));
  $("image-title").textContent = name;
  $("image-info").textContent = `${info.shape[1]} x ${info.shape[0]} px, ${info.dtype}${info.channels ? ", RGB" : ""}${info.lazy ? ", read by tiles" : ""}`;
  $("placeholder").hidden = true;
  const stem = name.split("/").pop().split(".")[0];
  const truthOption = [...$("truth").options].find((o) => o.value !== name && o.value.split("/").pop().startsWith(stem + ".truth."));
  $("truth").value = truthOption ? truthOption.value : ""; $("truth").title = $("truth").value;
  const viewer = state.viewer;
  viewer.open({
    height: info.shape[0], width: info.shape[1], tileSize: info.tile_size, tileOverlap: 0, minLevel: 0,
    maxLevel: info.max_level,
    getTileUrl: (level, x, y) => `/api/images/${encName(name)}/tile?level=${level}&x=${x}&y=${y}`,
  });
  viewer.addOnceHandler("open", () => {
    document.body.dataset.image = name;
    redraw();
    if ($("live").checked) schedulePreview();
  });
}

// -- method catalogue and forms -------------------------------------------------------------------
async function loadMethods() {
  state.specs = await api("/api/methods");
  for (const spec of state.specs) {
    (spec.kind === "method" ? state.methods : spec.kind === "pre" ? state.pre : state.post)[spec.name] = spec;
  }
  const select = $("method"); select.innerHTML = "";
  const families = {};
  for (const spec of Object.values(state.methods)) (families[spec.family] = families[spec.family] || []).push(spec);
  for (const family of Object.keys(families).sort()) {
    const group = document.createElement("optgroup"); group.label = family;
    for (const spec of families[family]) {
      const option = document.createElement("option"); option.value = spec.name; option.textContent = spec.name;
      option.title = spec.summary; group.appendChild(option);
    }
    select.appendChild(group);
  }
  for (const [id, table] of [["add-pre", state.pre], ["add-post", state.post]]) {
    for (const name of Object.keys(table).sort()) {
      const option = document.createElement("option"); option.value = name; option.textContent = name;
      option.title = table[name].summary; $(id).appendChild(option);
    }
  }
  for (const cmp of document.querySelectorAll("select.cmp")) {
    if (!cmp.options.length || cmp.options[0].value !== "@current") cmp.appendChild(new Option("—", ""));
    for (const name of Object.keys(state.methods).sort()) cmp.appendChild(new Option(name, name));
  }
  select.value = "otsu";
  setMethod("otsu");
}

function defaults(spec) {
  const params = {};
  for (const p of spec.params) params[p.name] = p.default;
  return params;
}

function setMethod(name) {
  const spec = state.methods[name];
  state.pipeline.method = { name, params: defaults(spec) };
  $("method-summary").textContent = spec.summary;
  const needs = [...spec.inputs, ...spec.optional_inputs.map((n) => n + " (optional)")];
  const hints = { seeds: "paint seeds: brush with class 1, 2, ...", rect: "draw a rectangle",
                  contour: "draw a polygon or a circle", scribbles: "brush class 1 on background, class 2 on objects; it retrains as you paint",
                  labels: "paint scribbles: brush with class 1, 2, ..." };
  if (name === "pixel_classifier") needs.push("scribbles");
  $("method-needs").textContent = needs.length ? "needs: " + needs.map((n) => hints[n.split(" ")[0]] ? `${n} — ${hints[n.split(" ")[0]]}` : n).join("; ") : "";
  buildForm($("params"), spec, state.pipeline.method.params);
  pipelineChanged();
}

function buildForm(form, spec, params) {
  form.innerHTML = "";
  for (const p of spec.params) {
    const row = document.createElement("div"); row.className = "param"; row.dataset.param = p.name; row.title = p.help || "";
    const label = document.createElement("span"); label.className = "pname"; label.textContent = p.name;
    const ctl = document.createElement("span"); ctl.className = "ctl";
    const value = params[p.name];
    const changed = (v) => { params[p.name] = v; pipelineChanged(); };
    if (p.choices) {
      const select = document.createElement("select"); select.name = p.name; select.title = p.help || "";
      for (const c of p.choices) select.appendChild(new Option(String(c), String(c)));
      select.value = String(value);
      select.onchange = () => changed(p.type === "str" ? select.value : Number(select.value));
      ctl.appendChild(select);
    } else if (p.type === "bool") {
      const box = document.createElement("input"); box.type = "checkbox"; box.name = p.name; box.checked = !!value;
      box.title = p.help || ""; box.onchange = () => changed(box.checked); ctl.appendChild(box);
    } else if ((p.type === "int" || p.type === "float") && !p.special && !p.nullable && value !== null) {
      const number = document.createElement("input"); number.type = "number"; number.name = p.name;
      number.step = p.type === "int" ? (p.odd ? 2 : 1) : "any"; number.value = value; number.title = p.help || "";
      if (p.min !== undefined) number.min = p.min;
      if (p.max !== undefined) number.max = p.max;
      if (p.min !== undefined && p.max !== undefined && isFinite(p.min) && isFinite(p.max)) {
        const slider = document.createElement("input"); slider.type = "range"; slider.name = p.name + "__slider";
        slider.min = p.min; slider.max = p.max; slider.title = p.help || "";
        slider.step = p.type === "int" ? (p.odd ? 2 : 1) : (p.max - p.min) / 200; slider.value = value;
        slider.oninput = () => { number.value = slider.value; changed(p.type === "int" ? parseInt(slider.value, 10) : parseFloat(slider.value)); };
        number.addEventListener("input", () => { slider.value = number.value; });
        ctl.appendChild(slider);
      }
      number.oninput = () => { if (number.value !== "") changed(p.type === "int" ? Number(number.value) : parseFloat(number.value)); };
      ctl.appendChild(number);
    } else {  // tuples, nullable numbers, 'auto' specials: text, coerced by the registry
      const text = document.createElement("input"); text.type = "text"; text.name = p.name; text.title = p.help || "";
      text.value = value === null ? "None" : Array.isArray(value) ? value.join(",") : String(value);
      text.placeholder = p.special ? p.special.join("/") : p.nullable ? "None" : "";
      if (p.name === "model") text.setAttribute("list", "model-list");
      text.oninput = () => changed(text.value);
      ctl.appendChild(text);
    }
    row.append(label, ctl);
    form.appendChild(row);
  }
}

function renderSteps(kind) {
  const box = $(kind + "-steps"); box.innerHTML = "";
  state.pipeline[kind].forEach((step, index) => {
    const spec = (kind === "pre" ? state.pre : state.post)[step.name];
    const div = document.createElement("div"); div.className = "step"; div.dataset.step = step.name;
    const head = document.createElement("header");
    head.innerHTML = `<span>${kind}: ${step.name}</span>`;
    const remove = document.createElement("button"); remove.textContent = "×"; remove.title = "Remove this step";
    remove.onclick = () => { state.pipeline[kind].splice(index, 1); renderSteps(kind); pipelineChanged(); };
    head.appendChild(remove);
    const form = document.createElement("form"); form.className = "params"; form.onsubmit = () => false;
    buildForm(form, spec, step.params);
    div.append(head, form); box.appendChild(div);
  });
}

function addStep(kind, name) {
  if (!name) return;
  const spec = (kind === "pre" ? state.pre : state.post)[name];
  state.pipeline[kind].push({ name, params: defaults(spec) });
  renderSteps(kind); pipelineChanged();
}

function pipelineBody() {
  return JSON.parse(JSON.stringify(state.pipeline));
}

const validate = debounce(async () => {
  document.querySelectorAll(".param.invalid").forEach((el) => el.classList.remove("invalid"));
  try {
    await postJSON("/api/validate", { pipeline: pipelineBody() });
    $("form-error").hidden = true; $("form-error").textContent = "";
    if ($("live").checked) schedulePreview();
  } catch (error) {
    $("form-error").hidden = false; $("form-error").textContent = error.message;
    const match = /`([A-Za-z_0-9]+)`/.exec(error.message);
    if (match) document.querySelectorAll(`.param[data-param="${match[1]}"]`).forEach((el) => el.classList.add("invalid"));
  }
}, 150);

function pipelineChanged() { validate(); }

// -- viewer and drawing -------------------------------------------------------------------------
function initViewer() {
  state.viewer = OpenSeadragon({
    element: $("viewer"), prefixUrl: "", showNavigationControl: false, animationTime: 0.25,
    maxZoomPixelRatio: 16, imageSmoothingEnabled: false, visibilityRatio: 0.2, immediateRender: true,
    gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: false }, zoomPerScroll: 1.4, timeout: 60000,
  });
  const v = state.viewer;
  for (const event of ["animation", "update-viewport", "resize", "open"]) v.addHandler(event, redraw);
  v.addHandler("animation-finish", () => { if ($("live").checked) schedulePreview(); refreshJobLayer(); });
  const canvas = $("draw");
  canvas.addEventListener("pointerdown", pointerDown);
  canvas.addEventListener("pointermove", pointerMove);
  canvas.addEventListener("pointerup", pointerUp);
  canvas.addEventListener("dblclick", finishPolygon);
  $("viewer-wrap").addEventListener("pointermove", (e) => {
    if (!state.info) return;
    const [r, c] = toImage(e); $("cursor").textContent = `row ${Math.floor(r)}, col ${Math.floor(c)}`;
  });
  new ResizeObserver(() => redraw()).observe($("viewer-wrap"));
}

function toImage(event) {
  const rect = $("draw").getBoundingClientRect();
  const point = state.viewer.viewport.viewerElementToImageCoordinates(
    new OpenSeadragon.Point(event.clientX - rect.left, event.clientY - rect.top));
  return [point.y, point.x];
}
function toScreen(row, col) {
  const p = state.viewer.viewport.imageToViewerElementCoordinates(new OpenSeadragon.Point(col, row));
  return [p.x, p.y];
}
function screenScale() {  // screen pixels per image pixel
  const a = toScreen(0, 0), b = toScreen(0, 1000);
  return (b[0] - a[0]) / 1000;
}

function setTool(tool) {
  state.tool = tool;
  document.querySelectorAll("#tools button").forEach((b) => b.classList.toggle("active", b.dataset.tool === tool));
  $("draw").classList.toggle("drawing", tool !== "pan");
  state.viewer.setMouseNavEnabled(tool === "pan");
  if (tool !== "polygon") state.current = null;
}

function snapshot() {
  state.undo.push(JSON.stringify(state.drawing)); state.redo = [];
  if (state.undo.length > 200) state.undo.shift();
}
function drawingChanged() {
  redraw();
  if (trainable() && state.drawing.strokes.length) { scheduleTrain(); return; }
  if ($("live").checked) schedulePreview();
}

// the pixel classifier learns from scribbles: paint, it retrains, then repaints the view
function trainable() { return state.pipeline.method.name === "pixel_classifier"; }
const scheduleTrain = debounce(() => train(), 300);
async function train() {
  const classes = new Set(state.drawing.strokes.filter((s) => !s.erase).map((s) => s.class));
  if (classes.size < 2) { setStatus("paint class 1 (background) and class 2 (objects) to train"); return; }
  const body = { image: state.image, drawing: state.drawing };
  const [h, w] = state.info.shape;
  if (h * w > PREVIEW_MAX * PREVIEW_MAX) body.region = visibleRegion();
  setStatus("training the pixel classifier…"); document.body.dataset.busy = "1";
  const seq = ++state.trainSeq;
  try {
    const answer = await postJSON("/api/train", body);
    if (seq !== state.trainSeq) return;
    state.pipeline.method.params.model = answer.model;
    const input = document.querySelector('#params input[name="model"]');
    if (input) input.value = answer.model;
    document.body.dataset.model = answer.model;
    setStatus(`trained on ${answer.labelled_pixels} pixels in ${answer.seconds} s`);
    showError("");
    await preview();
  } catch (error) { showError(error.message); document.body.dataset.busy = ""; }
}

function pointerDown(event) {
  if (!state.info || event.button !== 0) return;
  $("draw").setPointerCapture(event.pointerId);
  const [r, c] = toImage(event);
  const tool = state.tool;
  if (tool === "brush" || tool === "eraser") {
    state.current = { type: "stroke", stroke: { class: Number($("brush-class").value), width: Number($("brush-width").value),
                                                points: [[r, c]], erase: tool === "eraser" } };
  } else if (tool === "rect" || tool === "circle") {
    state.current = { type: tool, start: [r, c], end: [r, c] };
  } else if (tool === "polygon") {
    if (!state.current || state.current.type !== "polygon") state.current = { type: "polygon", points: [] };
    state.current.points.push([r, c]);
  }
  redraw();
}
function pointerMove(event) {
  const cur = state.current;
  if (!cur) return;
  const [r, c] = toImage(event);
  if (cur.type === "stroke" && event.buttons & 1) {
    const last = cur.stroke.points[cur.stroke.points.length - 1];
    if (Math.hypot(last[0] - r, last[1] - c) >= 0.5) cur.stroke.points.push([r, c]);
  } else if ((cur.type === "rect" || cur.type === "circle") && event.buttons & 1) {
    cur.end = [r, c];
  } else if (cur.type === "polygon") {
    cur.hover = [r, c];
  } else return;
  redraw();
}
function clampPoint([r, c]) {
  const [h, w] = state.info.shape;
  return [Math.min(Math.max(r, 0), h - 1), Math.min(Math.max(c, 0), w - 1)];
}
function pointerUp() {
  const cur = state.current;
  if (!cur || cur.type === "polygon") return;
  state.current = null;
  snapshot();
  if (cur.type === "stroke") {
    cur.stroke.points = cur.stroke.points.map(clampPoint).map(([r, c]) => [Math.round(r * 10) / 10, Math.round(c * 10) / 10]);
    state.drawing.strokes.push(cur.stroke);
  } else if (cur.type === "rect") {
    const [r0, c0] = clampPoint(cur.start), [r1, c1] = clampPoint(cur.end);
    const rect = [Math.round(Math.min(r0, r1)), Math.round(Math.min(c0, c1)), Math.round(Math.abs(r1 - r0)), Math.round(Math.abs(c1 - c0))];
    if (rect[2] < 2 || rect[3] < 2) { state.undo.pop(); redraw(); return; }
    state.drawing.rect = rect;
  } else if (cur.type === "circle") {
    const radius = Math.hypot(cur.end[0] - cur.start[0], cur.end[1] - cur.start[1]);
    if (radius < 2) { state.undo.pop(); redraw(); return; }
    state.drawing.contour = { circle: [cur.start[0], cur.start[1], radius] };
  }
  drawingChanged();
}
function finishPolygon() {
  const cur = state.current;
  if (!cur || cur.type !== "polygon") return;
  state.current = null;
  // a double click adds the same point twice: drop near-duplicates
  const points = cur.points.map(clampPoint).filter((p, i, a) => i === 0 || Math.hypot(p[0] - a[i - 1][0], p[1] - a[i - 1][1]) > 1);
  if (points.length < 3) { redraw(); return; }
  snapshot();
  state.drawing.contour = points;
  drawingChanged();
}
function undo() { if (!state.undo.length) return; state.redo.push(JSON.stringify(state.drawing)); state.drawing = JSON.parse(state.undo.pop()); drawingChanged(); }
function redo() { if (!state.redo.length) return; state.undo.push(JSON.stringify(state.drawing)); state.drawing = JSON.parse(state.redo.pop()); drawingChanged(); }

function redraw() {
  const canvas = $("draw"), wrap = $("viewer-wrap");
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(wrap.clientWidth * dpr) || canvas.height !== Math.round(wrap.clientHeight * dpr)) {
    canvas.width = Math.round(wrap.clientWidth * dpr); canvas.height = Math.round(wrap.clientHeight * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!state.info || !state.viewer.world.getItemCount()) return;
  const layer = state.layer;
  if (layer && layer.img && layer.img.complete && $("overlay-kind").value !== "none") {
    const [x0, y0] = toScreen(layer.row, layer.col), [x1, y1] = toScreen(layer.row + layer.height, layer.col + layer.width);
    ctx.save(); ctx.globalAlpha = Number($("opacity").value); ctx.imageSmoothingEnabled = false;
    ctx.drawImage(layer.img, x0, y0, x1 - x0, y1 - y0); ctx.restore();
  }
  const scale = screenScale();
  const strokeLine = (stroke) => {
    ctx.strokeStyle = stroke.erase ? "rgba(0,0,0,0.75)" : CLASS_COLOURS[stroke.class] || "#fff";
    ctx.lineWidth = Math.max(1, stroke.width * scale); ctx.lineCap = "round"; ctx.lineJoin = "round";
    ctx.beginPath();
    stroke.points.forEach(([r, c], i) => { const [x, y] = toScreen(r + 0.5, c + 0.5); i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
    if (stroke.points.length === 1) { const [x, y] = toScreen(stroke.points[0][0] + 0.5, stroke.points[0][1] + 0.5); ctx.lineTo(x + 0.01, y); }
    ctx.stroke();
  };
  state.drawing.strokes.forEach(strokeLine);
  const cur = state.current;
  if (cur && cur.type === "stroke") strokeLine(cur.stroke);
  ctx.lineWidth = 2; ctx.setLineDash([6, 4]);
  const rect = cur && cur.type === "rect" ? [Math.min(cur.start[0], cur.end[0]), Math.min(cur.start[1], cur.end[1]), Math.abs(cur.end[0] - cur.start[0]), Math.abs(cur.end[1] - cur.start[1])] : state.drawing.rect;
  if (rect) {
    const [x0, y0] = toScreen(rect[0], rect[1]), [x1, y1] = toScreen(rect[0] + rect[2], rect[1] + rect[3]);
    ctx.strokeStyle = "#22d3ee"; ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
  }
  let contour = state.drawing.contour;
  if (cur && cur.type === "circle") contour = { circle: [cur.start[0], cur.start[1], Math.hypot(cur.end[0] - cur.start[0], cur.end[1] - cur.start[1])] };
  ctx.strokeStyle = "#fde047";
  if (contour && contour.circle) {
    const [r, c, radius] = contour.circle; const [x, y] = toScreen(r, c);
    ctx.beginPath(); ctx.arc(x, y, radius * scale, 0, 2 * Math.PI); ctx.stroke();
  } else if (contour && contour.length) {
    ctx.beginPath(); contour.forEach(([r, c], i) => { const [x, y] = toScreen(r, c); i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
    ctx.closePath(); ctx.stroke();
  }
  if (cur && cur.type === "polygon" && cur.points.length) {
    ctx.beginPath(); [...cur.points, ...(cur.hover ? [cur.hover] : [])].forEach(([r, c], i) => { const [x, y] = toScreen(r, c); i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
    ctx.stroke();
  }
  ctx.setLineDash([]);
}

// -- running ------------------------------------------------------------------------------------
function visibleRegion() {
  const [h, w] = state.info.shape;
  const bounds = state.viewer.viewport.viewportToImageRectangle(state.viewer.viewport.getBounds(true));
  let r0 = Math.max(0, Math.floor(bounds.y)), c0 = Math.max(0, Math.floor(bounds.x));
  let r1 = Math.min(h, Math.ceil(bounds.y + bounds.height)), c1 = Math.min(w, Math.ceil(bounds.x + bounds.width));
  if (r1 <= r0 || c1 <= c0) return null;
  // a preview covers at most PREVIEW_MAX x PREVIEW_MAX pixels around the centre of the view
  if (r1 - r0 > PREVIEW_MAX) { const m = Math.floor((r0 + r1) / 2); r0 = Math.max(0, m - PREVIEW_MAX / 2); r1 = Math.min(h, r0 + PREVIEW_MAX); }
  if (c1 - c0 > PREVIEW_MAX) { const m = Math.floor((c0 + c1) / 2); c0 = Math.max(0, m - PREVIEW_MAX / 2); c1 = Math.min(w, c0 + PREVIEW_MAX); }
  return [r0, c0, r1 - r0, c1 - c0];
}

function requestBody(region) {
  const body = { image: state.image, pipeline: pipelineBody(), drawing: state.drawing };
  if (region) body.region = region;
  if ($("truth").value) body.truth = $("truth").value;
  return body;
}

function needsMissing() {
  const spec = state.methods[state.pipeline.method.name];
  const d = state.drawing;
  if (trainable() && !state.pipeline.method.params.model) return "paint scribbles (class 1 background, class 2 objects) to train the classifier";
  for (const need of spec.inputs) {
    if ((need === "seeds" || need === "scribbles" || need === "labels") && !d.strokes.some((s) => !s.erase)) return "paint seeds first";
    if (need === "rect" && !d.rect) return "draw a rectangle first";
    if (need === "contour" && !d.contour) return "draw a contour (polygon or circle) first";
  }
  return null;
}

const schedulePreview = debounce(() => preview(), 250);

async function preview() {
  if (!state.info || !state.viewer.world.getItemCount()) return;
  const missing = needsMissing();
  if (missing) { setStatus(missing); return; }
  const region = visibleRegion();
  if (!region) return;
  if (state.previewAbort) state.previewAbort.abort();
  const abort = new AbortController(); state.previewAbort = abort;
  const seq = ++state.previewSeq;
  document.body.dataset.busy = "1";
  setStatus(`previewing ${region[3]} x ${region[2]} px…`);
  const body = requestBody(region);
  // an image that fits a preview runs whole (exact); a larger one runs on the visible region first
  const wholeImage = state.info.shape[0] * state.info.shape[1] <= PREVIEW_MAX * PREVIEW_MAX ||
    (region[0] === 0 && region[1] === 0 && region[2] === state.info.shape[0] && region[3] === state.info.shape[1]);
  if (wholeImage) delete body.region;  // the whole image fits the view: run it exactly
  try {
    const result = await postJSON("/api/run", body, abort.signal);
    if (seq !== state.previewSeq) return;
    showError("");
    await showResult(result);
    setStatus(`${wholeImage ? "whole image" : "preview"}: ${result.seconds.toFixed(3)} s`);
  } catch (error) {
    if (error.name === "AbortError") return;
    showError(error.message); setStatus("");
  } finally {
    if (seq === state.previewSeq) document.body.dataset.busy = "";
  }
}

function loadImage(src) {
  return new Promise((resolve, reject) => { const img = new Image(); img.onload = () => resolve(img); img.onerror = reject; img.src = src; });
}

async function showResult(result) {
  state.result = result;
  const [row, col, height, width] = result.region;
  const kind = $("overlay-kind").value;
  let src = result.overlay;
  if (kind === "confusion" && result.truth) src = `/api/results/${result.id}/confusion.png`;
  if (kind === "outline") src = `/api/results/${result.id}/overlay?style=outline`;
  if ((kind === "probability" || kind === "uncertainty") && (result.layers || []).includes(kind)) src = `/api/results/${result.id}/overlay?layer=${kind}`;
  if (!src) src = `/api/results/${result.id}/overlay?style=${kind === "outline" ? "outline" : "fill"}`;
  const img = await loadImage(src);
  state.layer = { img, row, col, height, width, id: result.id };
  redraw();
  renderInfo(result);
  document.body.dataset.resultId = result.id;
}

function renderInfo(result) {
  const rows = [["output", result.output + (result.n_objects !== undefined ? ` (${result.n_objects} objects)` : "")],
                ["region", result.region.join(", ")]];
  for (const [k, v] of Object.entries(result.info || {})) {
    if (k === "seconds" || k === "contour" || k === "curves") continue;
    rows.push([k, fmt(v)]);
  }
  if (result.metrics) for (const k of ["f1", "iou", "precision", "recall", "ari", "vi"]) if (k in result.metrics) rows.push([k, fmt(result.metrics[k])]);
  const table = document.createElement("table"); table.id = "info-table";
  for (const [k, v] of rows) { const tr = table.insertRow(); tr.dataset.key = k; tr.insertCell().textContent = k; tr.insertCell().textContent = v; }
  $("result-info").innerHTML = ""; $("result-info").appendChild(table);
  $("result-info").dataset.id = result.id;
  drawHistogram(result);
  const exports = $("exports"); exports.innerHTML = "";
  for (const [name, url] of Object.entries(result.urls || {})) {
    const a = document.createElement("a"); a.href = url; a.textContent = name; a.download = ""; a.dataset.export = name;
    exports.appendChild(a);
  }
  for (const name of Object.keys(result.urls || {}).filter((n) => n.endsWith(".zarr.zip"))) {
    const button = document.createElement("button"); const file = name.replace(/\.zip$/, "");
    button.textContent = `save ${file} in workspace`; button.title = "Write the store into the workspace's exports/ folder";
    button.onclick = () => saveZarr(file); button.dataset.save = file; exports.appendChild(button);
  }
}

function drawHistogram(result) {
  const canvas = $("histogram"); const hist = result.histogram;
  const curves = (result.info || {}).curves;
  if (!hist && curves && curves.k_values && curves.inertias) { drawElbow(canvas, curves, result.info.n_clusters); return; }
  canvas.hidden = !hist;
  if (!hist) return;
  const ctx = canvas.getContext("2d"); const W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const counts = hist.counts; const top = Math.max(...counts.map((c) => Math.sqrt(c))) || 1;
  ctx.fillStyle = "#64748b";
  counts.forEach((c, i) => { const h = (Math.sqrt(c) / top) * (H - 12); ctx.fillRect((i / counts.length) * W, H - h, W / counts.length + 0.5, h); });
  const thresholds = [].concat(result.info.threshold ?? [], result.info.thresholds ?? []);
  ctx.strokeStyle = "#dc2626"; ctx.lineWidth = 2; ctx.fillStyle = "#dc2626"; ctx.font = "11px sans-serif";
  for (const t of thresholds) {
    const x = ((t - hist.lo) / (hist.hi - hist.lo)) * W;
    ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, H); ctx.stroke();
    ctx.fillText(fmt(t), Math.min(x + 3, W - 30), 11);
  }
  canvas.dataset.thresholds = JSON.stringify(thresholds);
}

// k-means' elbow: inertia against k, the chosen k marked
function drawElbow(canvas, curves, chosen) {
  canvas.hidden = false;
  const ctx = canvas.getContext("2d"); const W = canvas.width, H = canvas.height, pad = 14;
  ctx.clearRect(0, 0, W, H);
  const ks = curves.k_values, ys = curves.inertias;
  const kMin = Math.min(...ks), kMax = Math.max(...ks), yMax = Math.max(...ys) || 1;
  const px = (k) => pad + ((k - kMin) / Math.max(1, kMax - kMin)) * (W - 2 * pad);
  const py = (y) => H - pad - (y / yMax) * (H - 2 * pad);
  ctx.strokeStyle = "#334155"; ctx.lineWidth = 2; ctx.beginPath();
  ks.forEach((k, i) => (i ? ctx.lineTo(px(k), py(ys[i])) : ctx.moveTo(px(k), py(ys[i]))));
  ctx.stroke();
  ctx.fillStyle = "#334155"; ctx.font = "11px sans-serif";
  ks.forEach((k, i) => { ctx.fillRect(px(k) - 2, py(ys[i]) - 2, 4, 4); ctx.fillText(String(k), px(k) - 3, H - 2); });
  const i = ks.indexOf(chosen);
  if (i >= 0) { ctx.fillStyle = "#dc2626"; ctx.beginPath(); ctx.arc(px(chosen), py(ys[i]), 5, 0, 2 * Math.PI); ctx.fill();
                ctx.fillText(`k = ${chosen}`, Math.min(px(chosen) + 6, W - 40), py(ys[i]) - 6); }
  canvas.dataset.elbow = String(chosen);
  canvas.dataset.thresholds = "[]";
}

// whole image as a job, with progress over server-sent events
async function runWhole() {
  if (!state.image) return;
  const missing = needsMissing();
  if (missing) { showError(missing); return; }
  const body = requestBody(null);
  let job;
  try { job = await postJSON("/api/jobs", body); } catch (error) { showError(error.message); return; }
  showError("");
  state.job = job; $("job").hidden = false; $("job-progress").value = 0; $("job-stage").textContent = "starting";
  document.body.dataset.job = "running";
  const source = new EventSource(`/api/jobs/${job.id}/events`);
  state.jobSource = source;
  state.jobTiles = [];
  source.onmessage = async (event) => {
    const s = JSON.parse(event.data);
    $("job-progress").value = s.progress; $("job-stage").textContent = `${s.stage} (${s.elapsed.toFixed(1)} s)`;
    if (s.stage.includes(": tile ")) { state.jobTiles.push(s.progress); document.body.dataset.jobTiles = String(state.jobTiles.length); }
    if (s.state === "done" || s.state === "failed" || s.state === "cancelled") {
      source.close(); state.jobSource = null;
      if (s.state === "failed") showError(s.error);
      if (s.state === "done") {
        state.previewSeq++;  // a preview still in flight must not replace the whole-image result
        document.body.dataset.busy = "";
        const result = await api(`/api/results/${s.result_id}?overlay=false`);
        state.jobResult = result;
        await showJobResult(result);
        setStatus(`whole image: ${result.seconds.toFixed(2)} s`);
      }
      document.body.dataset.job = s.state;
      setTimeout(() => { $("job").hidden = true; }, 800);
    }
  };
  source.onerror = () => { /* the browser reconnects; the job goes on */ };
}

async function showJobResult(result) {
  state.result = result;
  renderInfo(result);
  document.body.dataset.resultId = result.id;
  await refreshJobLayer(true);
}

// a whole-image result is drawn for the visible part only, at screen resolution
async function refreshJobLayer(force) {
  const result = state.result;
  if (!result || !state.info || result.overlay || !state.viewer.world.getItemCount()) return;
  const bounds = state.viewer.viewport.viewportToImageRectangle(state.viewer.viewport.getBounds(true));
  const [h, w] = state.info.shape;
  const r0 = Math.max(0, Math.floor(bounds.y)), c0 = Math.max(0, Math.floor(bounds.x));
  const r1 = Math.min(h, Math.ceil(bounds.y + bounds.height)), c1 = Math.min(w, Math.ceil(bounds.x + bounds.width));
  if (r1 <= r0 || c1 <= c0) return;
  const scale = Math.max(1, Math.floor(1 / Math.max(screenScale(), 1e-6)));
  const kind = $("overlay-kind").value;
  const layer = (kind === "probability" || kind === "uncertainty") && (result.layers || []).includes(kind) ? `&layer=${kind}` : "";
  const url = kind === "confusion" && result.truth ? `/api/results/${result.id}/confusion.png`
    : `/api/results/${result.id}/overlay?style=${kind === "outline" ? "outline" : "fill"}${layer}&row=${r0}&col=${c0}&height=${r1 - r0}&width=${c1 - c0}&scale=${scale}`;
  const whole = kind === "confusion";
  const img = await loadImage(url).catch(() => null);
  if (!img || state.result !== result) return;
  state.layer = whole ? { img, row: 0, col: 0, height: h, width: w } : { img, row: r0, col: c0, height: r1 - r0, width: c1 - c0 };
  redraw();
}

function cancelJob() {
  if (!state.job) return;
  fetch(`/api/jobs/${state.job.id}`, { method: "DELETE", credentials: "same-origin" });
}

// -- training a U-Net on a workspace folder ------------------------------------------------------------
// "quick": a tiny network that trains in seconds (to try the data and the page); "default": seglab train's
const TRAIN_PRESETS = {
  quick: { features: [4, 8, 16, 32, 64, 4], patch: 32, batch_size: 4, steps_per_epoch: 6, window: 64, learning_rate: 0.01 },
  default: {},
};

function fillTrainFolders(images) {
  const folders = new Set();
  for (const item of images) {
    const cut = item.name.lastIndexOf("/");
    folders.add(cut < 0 ? "." : item.name.slice(0, cut));
  }
  const sorted = [...folders].sort();
  for (const [id, first] of [["train-images", null], ["train-truths", "beside them (NAME.truth.EXT)"]]) {
    const select = $(id); const keep = select.value; select.innerHTML = "";
    if (first) select.appendChild(new Option(first, ""));
    for (const f of sorted) {
      const option = new Option(f === "." ? "(workspace)" : f + "/", f); option.title = option.text;
      select.appendChild(option);
    }
    if ([...select.options].some((o) => o.value === keep)) select.value = keep;
  }
}

async function loadModels(pick) {
  const data = await api("/api/models");
  state.models = data.models;
  const select = $("train-model"); const keep = pick || select.value; select.innerHTML = "";
  if (!data.models.length) select.appendChild(new Option("(none yet)", ""));
  for (const m of data.models) {
    const score = m.best === null || m.best === undefined ? "" : ` (${m.metric} ${Number(m.best).toFixed(3)})`;
    select.appendChild(new Option(`${m.name.replace(/^models\//, "")} — ${m.methods[0] || m.kind}${score}`, m.name));
  }
  if (data.models.some((m) => m.name === keep)) select.value = keep;
  $("train-use").disabled = !select.value;
  // every model-taking parameter offers the workspace's models
  let list = $("model-list");
  if (!list) { list = document.createElement("datalist"); list.id = "model-list"; document.body.appendChild(list); }
  list.innerHTML = "";
  for (const m of data.models) list.appendChild(new Option(m.name, m.name));
}

async function startTraining() {
  const body = { images: $("train-images").value || ".", task: $("train-task").value,
                 epochs: Number($("train-epochs").value), options: TRAIN_PRESETS[$("train-size").value] || {} };
  if ($("train-truths").value) body.truths = $("train-truths").value;
  let job;
  try { job = await postJSON("/api/train/unet", body); } catch (error) { showError(error.message); return; }
  showError("");
  state.trainJob = job; document.body.dataset.train = "running";
  $("train-job").hidden = false; $("train-progress").value = 0;
  $("train-stage").textContent = `${job.detail.pairs} image/truth pairs; starting…`;
  $("train-start").disabled = true; $("train-cancel").disabled = false;
  const source = new EventSource(`/api/jobs/${job.id}/events`);
  source.onmessage = async (event) => {
    const s = JSON.parse(event.data);
    $("train-progress").value = s.progress;
    $("train-stage").textContent = s.state === "done"
      ? `done: ${s.model}, best validation ${s.detail.metric} ${Number(s.detail.best).toFixed(4)} at epoch ${s.detail.best_epoch} (${s.elapsed.toFixed(1)} s)`
      : `${s.stage} (${s.elapsed.toFixed(1)} s)`;
    if (s.detail && s.detail.epoch) document.body.dataset.trainEpoch = String(s.detail.epoch);
    if (s.state === "done" || s.state === "failed" || s.state === "cancelled") {
      source.close();
      $("train-start").disabled = false; $("train-cancel").disabled = true;
      if (s.state === "failed") showError(s.error);
      if (s.state === "done") { await loadModels(s.model); setStatus(`trained ${s.model}`); }
      document.body.dataset.train = s.state;
    }
  };
  source.onerror = () => { /* the browser reconnects; the job goes on */ };
}

function cancelTraining() {
  if (!state.trainJob) return;
  fetch(`/api/jobs/${state.trainJob.id}`, { method: "DELETE", credentials: "same-origin" });
}

// segment with a model: its method (unet / unet_instance / pixel_classifier) gets it as the `model` parameter
function useModel() {
  const name = $("train-model").value;
  const model = (state.models || []).find((m) => m.name === name);
  if (!model || !model.methods.length) return;
  const method = model.methods[0];
  $("method").value = method;
  setMethod(method);
  state.pipeline.method.params.model = name;
  const input = document.querySelector('#params input[name="model"]');
  if (input) input.value = name;
  document.body.dataset.model = name;
  pipelineChanged();
}

async function saveZarr(file) {
  const result = state.result;
  if (!result) return;
  try {
    const answer = await postJSON(`/api/results/${result.id}/save`, { file });
    setStatus(`saved ${answer.name}`); document.body.dataset.saved = answer.name;
    await loadImages();
  } catch (error) { showError(error.message); }
}

// -- compare and objects --------------------------------------------------------------------------
async function compare() {
  const truth = $("truth").value;
  if (!state.image) return;
  if (!truth) { showError("pick a ground truth first"); return; }
  const pipelines = []; const names = [];
  for (const select of document.querySelectorAll("select.cmp")) {
    if (!select.value) continue;
    if (select.value === "@current") { pipelines.push(pipelineBody()); names.push(`${state.pipeline.method.name} (current)`); }
    else { pipelines.push({ method: select.value }); names.push(select.value); }
  }
  if (!pipelines.length) return;
  const body = { image: state.image, truth, pipelines, drawing: state.drawing };
  const [h, w] = state.info.shape;
  if (h * w > PREVIEW_MAX * PREVIEW_MAX) body.region = visibleRegion();
  setStatus("comparing…"); document.body.dataset.busy = "1";
  try {
    const answer = await postJSON("/api/compare", body);
    showError("");
    renderCompare(answer, names);
    setStatus(`compared ${names.length} pipelines against ${truth}`);
  } catch (error) { showError(error.message); setStatus(""); }
  finally { document.body.dataset.busy = ""; }
}

function renderCompare(answer, names) {
  const table = $("metrics-table"); table.innerHTML = "";
  const first = answer.results[0].metrics || {};
  const keys = ["f1", "iou", "precision", "recall", "ari", "vi"].filter((k) => k in first);
  const head = table.createTHead().insertRow();
  for (const k of ["method", ...keys]) { const th = document.createElement("th"); th.textContent = k; head.appendChild(th); }
  const tbody = table.createTBody();
  answer.results.forEach((r, i) => {
    const tr = tbody.insertRow(); tr.dataset.method = r.pipeline.method.name; tr.dataset.resultId = r.id;
    tr.insertCell().textContent = names[i];
    for (const k of keys) { const td = tr.insertCell(); td.textContent = Number(r.metrics[k]).toFixed(4); td.dataset.key = k; td.dataset.value = r.metrics[k]; }
  });
  const views = $("compare-views"); views.innerHTML = "";
  answer.results.forEach((r, i) => {
    const fig = document.createElement("figure");
    fig.innerHTML = `<img alt=""><figcaption></figcaption>`;
    fig.querySelector("img").src = r.confusion;
    fig.querySelector("figcaption").textContent = names[i];
    views.appendChild(fig);
  });
  const legend = document.createElement("div"); legend.style.gridColumn = "1 / 3"; legend.style.fontSize = "11px";
  legend.innerHTML = '<span style="color:#009e73">■ TP</span> <span style="color:#d55e00">■ FP</span> <span style="color:#0072b2">■ FN</span> gray: TN';
  views.appendChild(legend);
  document.body.dataset.compared = "1";
}

async function measureObjects() {
  const result = state.result;
  if (!result) { showError("run a method first"); return; }
  try {
    const table = await api(`/api/results/${result.id}/objects?limit=200`);
    $("objects-summary").textContent = `${table.n_objects} objects${table.truncated ? " (first 200 shown)" : ""}; export objects.csv for all`;
    const el = $("objects-table"); el.innerHTML = "";
    const cols = ["area", "centroid_row", "centroid_col", "equivalent_diameter", "mean_intensity"].filter((c) => c in table.columns);
    const head = el.createTHead().insertRow();
    for (const c of ["#", ...cols]) { const th = document.createElement("th"); th.textContent = c; head.appendChild(th); }
    const body = el.createTBody();
    const n = table.columns[cols[0]] ? table.columns[cols[0]].length : 0;
    for (let i = 0; i < n; i++) {
      const tr = body.insertRow(); tr.insertCell().textContent = i + 1;
      for (const c of cols) tr.insertCell().textContent = fmt(table.columns[c][i]);
    }
    showError("");
  } catch (error) { showError(error.message); }
}

// -- wiring -------------------------------------------------------------------------------------
async function uploadFile(file) {
  const form = new FormData(); form.append("file", file);
  setStatus(`uploading ${file.name}…`);
  try {
    const answer = await api("/api/images", { method: "POST", body: form });
    showError(""); setStatus(`uploaded ${answer.name}`);
    await loadImages(answer.name);
  } catch (error) { showError(error.message); setStatus(""); }
}

function wire() {
  document.querySelectorAll("#tools button").forEach((b) => { b.onclick = () => setTool(b.dataset.tool); });
  $("method").onchange = () => setMethod($("method").value);
  $("add-pre").onchange = () => { addStep("pre", $("add-pre").value); $("add-pre").value = ""; };
  $("add-post").onchange = () => { addStep("post", $("add-post").value); $("add-post").value = ""; };
  $("preview").onclick = () => preview();
  $("run-whole").onclick = () => runWhole();
  $("job-cancel").onclick = () => cancelJob();
  $("undo").onclick = undo; $("redo").onclick = redo;
  $("clear-drawing").onclick = () => { snapshot(); state.drawing = { strokes: [], rect: null, contour: null }; drawingChanged(); };
  $("opacity").oninput = () => redraw();
  $("overlay-kind").onchange = () => { if (state.result) (state.result.overlay ? showResult(state.result) : refreshJobLayer(true)); };
  $("compare").onclick = () => compare();
  $("measure").onclick = () => measureObjects();
  $("truth").onchange = () => { $("truth").title = $("truth").value; if ($("live").checked) schedulePreview(); };
  $("upload").onchange = () => { if ($("upload").files.length) uploadFile($("upload").files[0]); };
  $("train-start").onclick = () => startTraining();
  $("train-cancel").onclick = () => cancelTraining();
  $("train-use").onclick = () => useModel();
  $("train-model").onchange = () => { $("train-use").disabled = !$("train-model").value; };
  const swatch = () => { $("class-swatch").style.background = CLASS_COLOURS[$("brush-class").value]; };
  $("brush-class").onchange = swatch; swatch();
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT" || e.target.tagName === "SELECT") return;
    if ((e.ctrlKey || e.metaKey) && e.key === "z") { e.preventDefault(); undo(); }
    if ((e.ctrlKey || e.metaKey) && e.key === "y") { e.preventDefault(); redo(); }
    if (e.key === "Escape") { state.current = null; redraw(); }
  });
}

(async function main() {
  initViewer();
  wire();
  try {
    await loadMethods();
    await loadImages();
    await loadModels();
    document.body.dataset.ready = "1";
  } catch (error) { showError(error.message); }
})();
