// idcard-ocr page: one POST /ui/read per image; the answer is drawn here. No libraries, nothing stored.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const LOW = 0.9; // confidence under this is marked low
  const FIELDS = [
    ["name", "Name", "姓名"], ["name_en", "Name (English)", ""], ["sex", "Sex", "性别"], ["nation", "Ethnicity", "民族"],
    ["nationality", "Nationality", "国籍"], ["birth", "Birth", "出生"], ["address", "Address", "住址"],
    ["number", "ID number", "公民身份号码"], ["authority", "Issued by", "签发机关"],
    ["valid_from", "Valid from", "有效期限"], ["valid_to", "Valid to", "有效期限"],
    ["pass_number", "Pass number", "通行证号码"], ["issue_count", "Times issued", "签发次数"],
  ];
  const LABEL = Object.fromEntries(FIELDS.map(([key, en, zh]) => [key, zh ? `${en} ${zh}` : en]));
  const ORDER = FIELDS.map(([key]) => key);
  const SIDES = { front: "the front (photo side)", back: "the back (emblem side)", both: "both sides", none: "no ID card" };
  const CARD_TYPES = {
    resident: "Resident ID card (居民身份证)", temporary: "Temporary ID card (临时居民身份证)",
    permit: "Residence permit for Hong Kong, Macao or Taiwan residents", foreign: "Foreigner's permanent residence card",
    unknown: "not determined",
  };
  const RISK = {
    original: "an original card", photocopy: "a photocopy", screen: "a photo of a screen",
    edited: "an edited image", temporary: "a temporary card",
  };
  const QUALITY_FLAGS = {
    blur: "blurred", over_exposure: "over-exposed", under_exposure: "under-exposed", glare: "glare over a field",
    cut_off: "card cut off by the frame", covered: "part of the card covered", too_small: "card too small to read well",
  };
  const WARNINGS = {
    expired: "the card has expired", validity_term_mismatch: "the validity term does not fit the holder's age",
    number_mismatch: "the number disagrees with the printed birth date or sex", multiple_cards: "several cards in the image",
    incomplete: "key fields missing or the card cut off",
  };

  let upload = 0; // the latest upload; answers to older ones are dropped
  let selectedDialect = null;
  let objectUrl = null;

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role" || key === "lang") {
        node.setAttribute(key, value);
      } else node[key] = value;
    }
    for (const child of children) node.append(child);
    return node;
  }

  // ---------------------------------------------------------------- messages

  function status(text) { $("status").textContent = text; }

  function showError(text, notice = false) {
    const box = $("error");
    box.textContent = text;
    box.classList.toggle("notice", notice);
    box.hidden = false;
  }

  function clearError() { $("error").hidden = true; $("error").textContent = ""; }

  function problem(res, body) {
    const code = body && body.error ? body.error.code : "";
    switch (code || res.status) {
      case "undecodable":
      case 415:
        return "This file is not an image the server can read. Send a photo or scan as JPEG, PNG, WebP, HEIC or TIFF.";
      case "empty_image": return "The file is empty.";
      case "image_too_small": return "The image is too small to read. Take the photo closer, with the card filling most of it.";
      case "image_too_large": return "The image has too many pixels. Send a smaller one (at most 8192 pixels a side).";
      case "body_too_large":
      case 413:
        return "The file is too large for this server. Send a smaller image.";
      case "busy":
      case 429: {
        const wait = res.headers.get("Retry-After") || "a few";
        return `The server is busy reading other images. Try again in ${wait} second${wait === "1" ? "" : "s"}.`;
      }
      case "auth_missing":
        $("key-box").open = true;
        return "This server needs an API key. Enter it under “API key” and send the image again.";
      case "auth_refused":
        $("key-box").open = true;
        return "The server did not accept this API key.";
      default: {
        const id = res.headers.get("X-Request-Id");
        const what = body && body.error ? body.error.message : `HTTP ${res.status}`;
        return `The server could not read this image: ${what}.${id ? ` (request ${id})` : ""}`;
      }
    }
  }

  // ---------------------------------------------------------------- upload

  function canShow(url) {
    // Whether this browser can display the file itself (most cannot show HEIC or TIFF).
    return new Promise((resolve) => {
      const probe = new Image();
      probe.onload = () => resolve(probe.naturalWidth > 0);
      probe.onerror = () => resolve(false);
      probe.src = url;
    });
  }

  async function send(file) {
    if (!file) return;
    const mine = ++upload;
    clearError();
    $("result").hidden = true;
    status("Reading the image…");
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = URL.createObjectURL(file);
    const shown = await canShow(objectUrl);
    const form = new FormData();
    form.append("image", file, file.name || "image");
    form.append("side", $("side").value);
    if (!shown) form.append("preview", "true");
    const headers = {};
    const key = $("key").value.trim();
    if (key) headers.Authorization = `Bearer ${key}`;
    let res;
    let body = null;
    try {
      res = await fetch("/ui/read", { method: "POST", body: form, headers });
      body = await res.json().catch(() => null);
    } catch {
      if (mine === upload) { status(""); showError("The server could not be reached. Is it running?"); }
      return;
    }
    if (mine !== upload) return;
    status("");
    if (!res.ok || !body || !body.reading) {
      showError(problem(res, body));
      return;
    }
    const src = shown ? objectUrl : body.preview ? `data:image/jpeg;base64,${body.preview}` : null;
    render(body, src);
  }

  function fileOf(list) {
    return list && list.length ? list[0] : null;
  }

  function wire() {
    for (const id of ["file", "camera"]) {
      $(id).addEventListener("change", (event) => { send(fileOf(event.target.files)); event.target.value = ""; });
    }
    const drop = $("drop");
    drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (event) => {
      event.preventDefault();
      drop.classList.remove("over");
      send(fileOf(event.dataTransfer.files));
    });
    // a file dropped beside the zone must not make the browser leave the page to open it
    window.addEventListener("dragover", (event) => event.preventDefault());
    window.addEventListener("drop", (event) => event.preventDefault());
    document.addEventListener("paste", (event) => {
      const file = fileOf(event.clipboardData && event.clipboardData.files);
      if (file) { event.preventDefault(); send(file); }
    });
  }

  // ---------------------------------------------------------------- result

  function light(name) {
    for (const node of document.querySelectorAll("[data-field].lit")) node.classList.remove("lit");
    if (!name) return;
    for (const node of document.querySelectorAll(`[data-field="${CSS.escape(name)}"]`)) node.classList.add("lit");
  }

  function hoverable(node, name) {
    node.addEventListener("mouseenter", () => light(name));
    node.addEventListener("mouseleave", () => light(null));
    node.addEventListener("focus", () => light(name));
    node.addEventListener("blur", () => light(null));
    node.addEventListener("click", () => light(name));
  }

  function points(quad) { return quad.map(([x, y]) => `${x},${y}`).join(" "); }

  function drawOverlay(reading) {
    const svg = $("overlay");
    const ns = svg.namespaceURI;
    const [width, height] = reading.image_size;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.replaceChildren();
    const shape = (tag, attrs) => {
      const node = document.createElementNS(ns, tag);
      for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
      svg.append(node);
      return node;
    };
    const dot = Math.max(width, height) / 150;
    for (const card of reading.cards) {
      shape("polygon", { class: "card", points: points(card.quad), "data-side": card.side });
      shape("circle", { class: "corner", cx: card.quad[0][0], cy: card.quad[0][1], r: dot });
    }
    if (reading.portrait) shape("polygon", { class: "portrait", points: points(reading.portrait.quad) });
    for (const [name, field] of Object.entries(reading.fields)) {
      const box = shape("polygon", { class: "field", points: points(field.box), "data-field": name });
      const title = document.createElementNS(ns, "title");
      title.textContent = LABEL[name] || name;
      box.append(title);
      hoverable(box, name);
    }
  }

  function fieldRows(reading) {
    const body = $("fields").tBodies[0];
    body.replaceChildren();
    const names = Object.keys(reading.fields).sort((a, b) => rank(a) - rank(b));
    let low = false;
    for (const name of names) {
      const field = reading.fields[name];
      const conf = el("td", { class: "conf", text: `${(field.confidence * 100).toFixed(1)} %` });
      if (field.confidence < LOW) {
        low = true;
        conf.classList.add("low");
        conf.append(el("span", { class: "badge", text: "low" }));
      }
      const row = el("tr", { "data-field": name, tabIndex: 0 },
        el("th", { scope: "row", text: LABEL[name] || name }),
        el("td", { class: "value", lang: "zh", text: field.value }),
        conf);
      hoverable(row, name);
      body.append(row);
    }
    if (!names.length) body.append(el("tr", {}, el("td", { colSpan: 3, text: "No field was read." })));
    $("low-note").hidden = !low;
  }

  function rank(name) {
    const i = ORDER.indexOf(name);
    return i < 0 ? ORDER.length : i;
  }

  function check(list, state, text) {
    const mark = state === true ? "✓" : state === false ? "✗" : "–";
    const cls = state === true ? "yes" : state === false ? "no" : "unknown";
    list.append(el("li", { class: cls }, el("span", { class: "mark", "aria-hidden": "true", text: mark }), text));
  }

  function checkList(reading) {
    const list = $("checks");
    list.replaceChildren();
    const c = reading.checks;
    const has = (name) => name in reading.fields;
    if (!has("number") && !has("valid_to")) {
      check(list, null, "Nothing to check: no ID number or validity term was read.");
      return;
    }
    if (has("number")) {
      check(list, c.checksum, c.checksum === true ? "Checksum correct (GB 11643)"
        : c.checksum === false ? "Checksum wrong: the number was misread or is not valid" : "Checksum not checked");
      if (c.area) {
        const parts = [c.area.province, c.area.city, c.area.district].filter((p, i, all) => p && all.indexOf(p) === i);
        const where = parts.length ? ` ${parts.join(" ")}` : "";
        const old = c.area.historical ? " (a code since abolished, valid on older cards)" : "";
        check(list, c.area_known, c.area_known ? `Area ${c.area.code}:${where}${old}` : `Area code ${c.area.code} unknown`);
      } else if (c.area_known === false) {
        check(list, false, "Area code unknown");
      }
      check(list, c.birth_matches, c.birth_matches === true ? "Birth date agrees with the number"
        : c.birth_matches === false ? "Birth date differs from the number's" : "Birth date not compared");
      check(list, c.sex_matches, c.sex_matches === true ? "Sex agrees with the number"
        : c.sex_matches === false ? "Sex differs from the number's" : "Sex not compared");
      if (c.number_repaired) check(list, null, "Look-alike characters in the number were repaired");
    }
    if (has("valid_to") || has("valid_from")) {
      check(list, c.validity_term_ok, c.validity_term_ok === true ? "Validity term fits the holder's age (居民身份证法 §5)"
        : c.validity_term_ok === false ? "Validity term does not fit the holder's age (居民身份证法 §5)"
          : "Validity term not checked against the age (needs the birth date from the front)");
    }
  }

  function fact(list, term, ...detail) {
    list.append(el("dt", { text: term }), el("dd", {}, ...detail));
  }

  function cardChecks(reading) {
    const list = $("card-checks");
    list.replaceChildren();
    fact(list, "Card type", CARD_TYPES[reading.card_type] || reading.card_type || "not determined");
    const risk = reading.risk;
    fact(list, "Photographed", risk ? `${RISK[risk.class] || risk.class}${risk.reasons.length ? ` (${risk.reasons.join("; ")})` : ""}`
      : "not judged (no card)");
    if (risk && risk.edit_tool) fact(list, "Edited with", risk.edit_tool);
    const q = reading.quality;
    if (q && q.score !== null) {
      const flags = Object.keys(QUALITY_FLAGS).filter((k) => q[k] === true).map((k) => QUALITY_FLAGS[k]);
      fact(list, "Image quality", `${q.score} / 100`);
      fact(list, "Quality flags", flags.length ? flags.join("; ") : "none");
    } else {
      fact(list, "Image quality", "not measured (no card)");
    }
    const w = reading.warnings;
    const warned = w ? Object.keys(WARNINGS).filter((k) => w[k] === true).map((k) => WARNINGS[k]) : [];
    fact(list, "Warnings", warned.length ? warned.join("; ") : "none");
    const body = $("risk-scores").tBodies[0];
    body.replaceChildren();
    $("risk-scores").hidden = !risk;
    if (risk) {
      for (const [name, score] of Object.entries(risk.scores)) {
        const meter = el("meter", { min: 0, max: 1, value: score });
        body.append(el("tr", {}, el("th", { scope: "row", text: name }),
          el("td", { class: "conf" }, meter, `${(score * 100).toFixed(1)} %`)));
      }
    }
  }

  function crops(reading) {
    for (const [key, id] of [["portrait_image", "portrait"], ["card_image", "card"]]) {
      const data = reading[key];
      $(`${id}-fig`).hidden = !data;
      $(id).src = data ? `data:image/jpeg;base64,${data}` : "";
    }
  }

  // ---------------------------------------------------------------- dialects

  function pretty(value, indent = "") {
    // JSON.stringify(value, null, 2), but arrays of numbers (boxes, corners) stay on one line
    const flat = (v) => v === null || typeof v !== "object" || (Array.isArray(v) && v.every(flat));
    if (flat(value)) return JSON.stringify(value);
    const inner = `${indent}  `;
    if (Array.isArray(value)) {
      return `[\n${value.map((v) => inner + pretty(v, inner)).join(",\n")}\n${indent}]`;
    }
    const keys = Object.keys(value);
    if (!keys.length) return "{}";
    return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)}: ${pretty(value[k], inner)}`).join(",\n")}\n${indent}}`;
  }

  function shorten(text) {
    // long base64 runs (images) are cut for reading; the copy button takes the whole answer
    return text.replace(/[A-Za-z0-9+/=]{160,}/g, (run) => `${run.slice(0, 48)}…[${run.length} characters]`);
  }

  async function copy(text, note) {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // plain http to another host is not a secure context: no async clipboard there
      const area = el("textarea", { value: text, readOnly: true });
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    note.textContent = "Copied";
    setTimeout(() => { note.textContent = ""; }, 2000);
  }

  function selectTab(tab, focus) {
    for (const other of $("tabs").children) {
      const on = other === tab;
      other.setAttribute("aria-selected", String(on));
      other.tabIndex = on ? 0 : -1;
      $(other.getAttribute("aria-controls")).hidden = !on;
    }
    selectedDialect = tab.dataset.name;
    if (focus) tab.focus();
  }

  function dialectTabs(dialects) {
    const tabs = $("tabs");
    const panels = $("panels");
    tabs.replaceChildren();
    panels.replaceChildren();
    dialects.forEach((dialect, i) => {
      const tab = el("button", {
        type: "button", role: "tab", id: `tab-${i}`, "aria-controls": `panel-${i}`, "data-name": dialect.name,
        text: dialect.name,
      });
      const full = dialect.answer === null ? "" : pretty(dialect.answer);
      const note = el("span", { class: "copied", role: "status" });
      const button = el("button", { type: "button", class: "copy", text: "Copy JSON" });
      button.addEventListener("click", () => copy(full, note));
      const panel = el("div", { role: "tabpanel", id: `panel-${i}`, "aria-labelledby": `tab-${i}`, tabIndex: 0 },
        dialect.answer === null ? el("p", { text: "This API's answer could not be made for this image." })
          : el("div", {}, button, note, el("pre", {}, el("code", { text: shorten(full) }))));
      tab.addEventListener("click", () => selectTab(tab, false));
      tab.addEventListener("keydown", (event) => {
        const all = [...tabs.children];
        const at = all.indexOf(tab);
        const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: all.length - 1 }[event.key];
        if (next === undefined) return;
        event.preventDefault();
        selectTab(all[(next + all.length) % all.length], true);
      });
      tabs.append(tab);
      panels.append(panel);
    });
    const keep = [...tabs.children].find((tab) => tab.dataset.name === selectedDialect);
    if (tabs.children.length) selectTab(keep || tabs.children[0], false);
  }

  // ---------------------------------------------------------------- all of it

  function render(body, src) {
    const reading = body.reading;
    const cards = reading.cards.map((c) => (c.rotation ? `${c.side} turned ${c.rotation}° clockwise` : c.side));
    const parts = [`Found ${SIDES[reading.side] || reading.side}`];
    if (cards.length > 1 || reading.rotation) parts.push(`cards: ${cards.join(", ")}`);
    parts.push(`read in ${Math.round(reading.time_ms)} ms`);
    $("summary").textContent = `${parts.join(" · ")}.`;
    if (reading.side === "none") {
      showError("No ID card was found in this image. Send a sharp, well-lit photo with the whole card in it.", true);
    }
    const photo = $("photo");
    photo.hidden = !src;
    photo.src = src || "";
    drawOverlay(reading);
    fieldRows(reading);
    checkList(reading);
    cardChecks(reading);
    crops(reading);
    dialectTabs(body.dialects);
    $("result").hidden = false;
    status(reading.side === "none" ? "" : "Done.");
  }

  wire();
})();
