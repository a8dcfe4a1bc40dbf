// The playground page: a live log, a timeline, talking, recordings and metrics.
// Everything arrives over one WebSocket from the process that owns the session
// (see protocol.py); the filter is matched there, by the session's own matcher.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const MAX_ROWS = 5000;
const AUDIO_EVENTS = new Set(["response.output_audio.delta", "response.audio.delta"]);

const state = {
  ws: null, hello: null, rate: 24000, view: "live",
  live: { entries: [], rows: new Map() },
  recording: { entries: [], rows: new Map(), name: null, duration: 0 },
  played: [],            // live playback intervals: {item, start, end} in session seconds
  metrics: [],
  clockOffset: null,     // session t minus performance.now()/1000, from the first entry
};

// ---------------------------------------------------------------- connection

function connect() {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  state.ws = ws;
  ws.onopen = () => setStatus("open", "connected");
  ws.onclose = (e) => setStatus("closed", `closed (${e.code}${e.reason ? ": " + e.reason : ""})`);
  ws.onerror = () => setStatus("error", "connection error");
  ws.onmessage = (e) => receive(JSON.parse(e.data));
}

function send(message) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
}

function setStatus(kind, text) {
  $("status").dataset.state = kind;
  $("status").textContent = text;
}

function receive(m) {
  switch (m.type) {
    case "hello":
      state.hello = m; state.rate = m.rate;
      $("session-info").textContent = `${m.model || "default model"} · ${m.url} · ${m.dialect}`;
      setStatus("open", "session open");
      break;
    case "entry": liveEntry(m); break;
    case "filter": applyFilter(m); break;
    case "recording": openRecording(m); break;
    case "state": setStatus(m.state === "closed" ? "closed" : "open", `session ${m.state}`); break;
    case "error": showError(m.message, m.about); break;
  }
}

function showError(message, about) {
  if (about === "filter") { $("filter-error").textContent = message; return; }
  const li = document.createElement("li");
  li.textContent = message;
  $("errors").append(li);
  while ($("errors").children.length > 5) $("errors").firstElementChild.remove();
}

// ---------------------------------------------------------------- the log

function row(view, m) {
  const li = document.createElement("li");
  li.className = `entry kind-${m.kind}`;
  li.dataset.seq = m.seq;
  li.dataset.name = m.name;
  li.dataset.match = m.match === false ? "false" : "true";
  const t = document.createElement("span"); t.className = "t"; t.textContent = m.t.toFixed(3);
  const k = document.createElement("span"); k.className = "kind"; k.textContent = m.kind;
  const n = document.createElement("span"); n.className = "name"; n.textContent = m.name;
  li.append(t, k, n, summary(m));
  li.addEventListener("click", (e) => {
    if (e.target.tagName === "PRE") return;
    const pre = li.querySelector("pre");
    if (pre) { pre.remove(); return; }
    const full = document.createElement("pre");
    full.textContent = JSON.stringify(m.event, null, 2);
    li.append(full);
  });
  view.rows.set(m.seq, li);
  return li;
}

function summary(m) {
  const s = document.createElement("span");
  s.className = "summary";
  const e = m.event;
  const bits = [];
  if (e.delta && typeof e.delta === "string" && !AUDIO_EVENTS.has(m.name)) bits.push(JSON.stringify(e.delta));
  if (e.transcript) bits.push(JSON.stringify(e.transcript));
  if (e.text && typeof e.text === "string") bits.push(JSON.stringify(e.text));
  if (e.item_id) bits.push(e.item_id);
  if (e.error && e.error.message) bits.push(e.error.message);
  s.textContent = bits.length ? "  " + bits.join(" ").slice(0, 120) : "";
  return s;
}

function liveEntry(m) {
  if (state.clockOffset === null) state.clockOffset = m.t - performance.now() / 1000;
  state.live.entries.push(m);
  const log = $("log");
  const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 30;
  log.append(row(state.live, m));
  while (log.children.length > MAX_ROWS) {
    const old = log.firstElementChild; state.live.rows.delete(Number(old.dataset.seq)); old.remove();
    state.live.entries.shift();
  }
  if (stick) log.scrollTop = log.scrollHeight;
  onLiveEvent(m);
  scheduleDraw();
  $("counts").textContent = `${state.live.entries.length} events`;
}

function applyFilter(m) {
  $("filter-error").textContent = "";
  for (const [view, seqs] of [[state.live, m.live], [state.recording, m.recording]]) {
    const hits = new Set(seqs);
    for (const [seq, li] of view.rows) li.dataset.match = hits.has(seq) ? "true" : "false";
    for (const e of view.entries) e.match = hits.has(e.seq);
  }
}

$("filter").addEventListener("change", () => send({ type: "filter", pattern: $("filter").value }));
$("filter").addEventListener("keydown", (e) => { if (e.key === "Enter") $("filter").dispatchEvent(new Event("change")); });

// ---------------------------------------------------------------- live events

function onLiveEvent(m) {
  const e = m.event;
  if (AUDIO_EVENTS.has(m.name) && m.audio) player.enqueue(e.item_id, e.content_index || 0, m.audio);
  if (m.name === "vad.interrupted" || (m.name === "input_audio_buffer.speech_started" && player.playing())) {
    player.clear();
  }
  if (m.name === "metrics.response") addMetric(e);
  transcriptEvent(m);
}

function transcriptEvent(m) {
  const e = m.event;
  if (m.name === "conversation.item.input_audio_transcription.completed") line("user", e.item_id, e.transcript, true);
  else if (m.name === "response.output_audio_transcript.delta" || m.name === "response.audio_transcript.delta"
    || m.name === "response.output_text.delta" || m.name === "response.text.delta") line("assistant", e.item_id, e.delta, false);
  else if (m.name === "conversation.item.added" || m.name === "conversation.item.created") {
    const item = e.item || {};
    if (item.role === "user") for (const c of item.content || []) if (c.type === "input_text") line("user", item.id, c.text, true);
  }
}

function line(who, id, text, replace) {
  if (!text) return;
  let p = document.querySelector(`#transcript p[data-id="${CSS.escape(id || "")}"]`);
  if (!p) {
    p = document.createElement("p"); p.className = who; p.dataset.id = id || "";
    const b = document.createElement("b"); b.textContent = who + ": ";
    p.append(b, document.createElement("span"));
    $("transcript").append(p);
  }
  const span = p.querySelector("span");
  span.textContent = replace ? text : span.textContent + text;
  $("transcript").scrollTop = $("transcript").scrollHeight;
}

// ---------------------------------------------------------------- audio out

function b64ToInt16(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length & ~1);
  for (let i = 0; i < bytes.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Int16Array(bytes.buffer);
}

let audioContext = null;
function context() {
  if (!audioContext) audioContext = new AudioContext({ sampleRate: state.rate });
  if (audioContext.state === "suspended") audioContext.resume();
  return audioContext;
}

// Plays the assistant's audio as it arrives, and reports what was actually
// heard, item by item, so that a barge-in truncates where the user stopped hearing.
const player = {
  next: 0, items: new Map(), sources: [], cut: new Set(),
  enqueue(itemId, contentIndex, b64) {
    if (this.cut.has(itemId)) return;  // interrupted: the rest of it is never heard
    const ctx = context();
    const pcm = b64ToInt16(b64);
    if (!pcm.length) return;
    const buffer = ctx.createBuffer(1, pcm.length, state.rate);
    const data = buffer.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) data[i] = pcm[i] / 32768;
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(ctx.destination);
    const start = Math.max(ctx.currentTime + 0.02, this.next);
    source.start(start);
    this.next = start + buffer.duration;
    const key = `${itemId}/${contentIndex}`;
    let item = this.items.get(key);
    if (!item) { item = { itemId, contentIndex, chunks: [], reported: 0 }; this.items.set(key, item); }
    const chunk = { start, duration: buffer.duration, source, stoppedAt: null };
    item.chunks.push(chunk);
    this.sources.push(source);
    source.onended = () => { this.sources = this.sources.filter((s) => s !== source); };
    const t0 = sessionTime(start, ctx);
    state.played.push({ item: itemId, start: t0, end: t0 + buffer.duration, chunk });
  },
  playing() { return audioContext !== null && this.next > audioContext.currentTime; },
  heardMs(item, now) {
    let s = 0;
    for (const c of item.chunks) {
      const end = c.stoppedAt !== null ? c.stoppedAt : now;
      s += Math.max(0, Math.min(end - c.start, c.duration));
    }
    return s * 1000;
  },
  report() {
    if (!audioContext) return;
    const now = audioContext.currentTime;
    for (const item of this.items.values()) {
      const heard = this.heardMs(item, now);
      const more = heard - item.reported;
      if (more >= 1) {
        send({ type: "played", item_id: item.itemId, content_index: item.contentIndex, ms: Math.round(more * 10) / 10 });
        item.reported += Math.round(more * 10) / 10;
      }
      const last = item.chunks[item.chunks.length - 1];
      if (last && (last.stoppedAt !== null || now > last.start + last.duration + 5)) this.items.delete(`${item.itemId}/${item.contentIndex}`);
    }
  },
  clear() {
    if (!audioContext) return;
    const now = audioContext.currentTime;
    this.report();
    for (const item of this.items.values()) this.cut.add(item.itemId);
    for (const item of this.items.values()) for (const c of item.chunks) {
      if (c.stoppedAt === null) c.stoppedAt = Math.min(Math.max(now, c.start), c.start + c.duration);
    }
    for (const p of state.played) {
      if (p.chunk && p.chunk.stoppedAt !== null) p.end = p.start + Math.max(0, p.chunk.stoppedAt - p.chunk.start);
    }
    for (const s of this.sources) { try { s.stop(); } catch (_) { /* already ended */ } }
    this.sources = []; this.items.clear(); this.next = now;
    send({ type: "cleared" });
    scheduleDraw();
  },
};
setInterval(() => player.report(), 100);

function sessionTime(ctxTime, ctx) {
  const offset = state.clockOffset === null ? 0 : state.clockOffset;
  return performance.now() / 1000 + (ctxTime - ctx.currentTime) + offset;
}

// ---------------------------------------------------------------- microphone

const mic = { stream: null, node: null, source: null, mute: null, sent: 0 };

async function startMic() {
  const ctx = context();
  await ctx.audioWorklet.addModule("/static/worklet.js");
  mic.stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  mic.source = ctx.createMediaStreamSource(mic.stream);
  mic.node = new AudioWorkletNode(ctx, "pcm16-capture");
  mic.node.port.onmessage = (e) => {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) { state.ws.send(e.data); mic.sent += e.data.byteLength; }
    $("mic-level").textContent = `${(mic.sent / 2 / state.rate).toFixed(1)} s sent`;
  };
  mic.source.connect(mic.node);
  // A node nobody listens to may not be pulled: route it, silenced, to the speaker.
  mic.mute = ctx.createGain();
  mic.mute.gain.value = 0;
  mic.node.connect(mic.mute).connect(ctx.destination);
  $("mic").setAttribute("aria-pressed", "true");
  $("mic").textContent = "■ stop microphone";
}

function stopMic() {
  if (mic.source) mic.source.disconnect();
  if (mic.node) mic.node.disconnect();
  if (mic.mute) mic.mute.disconnect();
  if (mic.stream) for (const track of mic.stream.getTracks()) track.stop();
  mic.stream = mic.node = mic.source = null;
  $("mic").setAttribute("aria-pressed", "false");
  $("mic").textContent = "● start microphone";
}

$("mic").addEventListener("click", () => {
  if (mic.stream) stopMic();
  else startMic().catch((e) => showError(`microphone: ${e.message || e}`));
});

$("text-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  context();
  send({ type: "text", text });
  $("text").value = "";
});

// ---------------------------------------------------------------- timeline

const LANES = ["user", "received", "played", "tools", "responses"];
const LANE_LABEL = { user: "user speech", received: "audio received", played: "audio played", tools: "tool calls", responses: "responses" };

let drawPending = false;
function scheduleDraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => { drawPending = false; draw(); });
}

function timeline(entries, upto, livePlayed) {
  const marks = [];
  const open = { speech: null, received: new Map(), responses: new Map(), calls: new Map() };
  const estimate = [];  // recordings: the played lane, estimated as real-time playback
  let playEnd = 0;
  for (const m of entries) {
    if (m.t > upto) break;
    const e = m.event;
    const name = m.name;
    if (name === "input_audio_buffer.speech_started") open.speech = m;
    else if (name === "input_audio_buffer.speech_stopped" && open.speech) {
      marks.push({ lane: "user", cls: "user-speech", start: open.speech.t, end: m.t, m, label: "speech" });
      open.speech = null;
    } else if (AUDIO_EVENTS.has(name)) {
      const r = open.received.get(e.item_id) || { start: m.t, end: m.t, m, ms: 0 };
      r.end = m.t; r.ms += m.audio ? (atob(m.audio).length / 2 / state.rate) * 1000 : 0;
      open.received.set(e.item_id, r);
      if (!livePlayed) {
        const dur = m.audio ? atob(m.audio).length / 2 / state.rate : 0;
        const start = Math.max(m.t, playEnd);
        playEnd = start + dur;
        estimate.push({ item: e.item_id, start, end: playEnd, m });
      }
      const resp = open.responses.get(e.response_id);
      if (resp && resp.ttfa === undefined) resp.ttfa = m.t - resp.start;
    } else if (name === "response.created") {
      open.responses.set(e.response && e.response.id, { start: m.t, m });
    } else if (name === "response.done") {
      const id = e.response && e.response.id;
      const r = open.responses.get(id) || { start: m.t, m };
      const ttfa = r.ttfa !== undefined ? ` · TTFA ${Math.round(r.ttfa * 1000)} ms` : "";
      marks.push({ lane: "responses", cls: "response", start: r.start, end: m.t, m, label: `${id} ${e.response && e.response.status}${ttfa}` });
      open.responses.delete(id);
    } else if (name === "response.function_call_arguments.done") {
      open.calls.set(e.call_id, { start: m.t, m, name: e.name });
    } else if (name === "conversation.item.create" && m.kind === "client" && e.item && e.item.type === "function_call_output") {
      const c = open.calls.get(e.item.call_id);
      if (c) { marks.push({ lane: "tools", cls: "tool", start: c.start, end: m.t, m: c.m, label: `${c.name} ${Math.round((m.t - c.start) * 1000)} ms` }); }
    } else if (name === "conversation.item.truncate" && m.kind === "client") {
      marks.push({ lane: null, cls: "barge-in", start: m.t, end: m.t, m, label: `barge-in: ${e.item_id} cut at ${e.audio_end_ms} ms` });
      for (const p of estimate) if (p.item === e.item_id && p.end > m.t) p.end = Math.max(p.start, m.t);
      playEnd = Math.min(playEnd, m.t);
    }
  }
  if (open.speech) marks.push({ lane: "user", cls: "user-speech", start: open.speech.t, end: upto, m: open.speech, label: "speech (ongoing)" });
  for (const r of open.received.values()) marks.push({ lane: "received", cls: "received", start: r.start, end: r.end, m: r.m, label: `${r.m.event.item_id} received ${Math.round(r.ms)} ms of audio` });
  for (const r of open.responses.values()) marks.push({ lane: "responses", cls: "response", start: r.start, end: upto, m: r.m, label: "response (in progress)" });
  const played = livePlayed || estimate;
  for (const p of mergePlayed(played)) if (p.start <= upto) marks.push({ lane: "played", cls: "played", start: p.start, end: Math.min(p.end, upto), m: p.m, label: `${p.item} played ${Math.round((Math.min(p.end, upto) - p.start) * 1000)} ms` });
  return marks;
}

function mergePlayed(list) {
  const out = [];
  for (const p of list) {
    const last = out[out.length - 1];
    if (last && last.item === p.item && p.start - last.end < 0.05) last.end = Math.max(last.end, p.end);
    else out.push({ item: p.item, start: p.start, end: p.end, m: p.m || { name: "audio played", seq: "", event: { item_id: p.item } } });
  }
  return out;
}

function draw() {
  const svg = $("timeline");
  const recording = state.view === "recording";
  const view = recording ? state.recording : state.live;
  const upto = recording ? Number($("scrub").value) : (view.entries.length ? view.entries[view.entries.length - 1].t : 0);
  const marks = timeline(view.entries, upto, recording ? null : state.played);
  const W = svg.width.baseVal.value, H = svg.height.baseVal.value, left = 92, laneH = (H - 20) / LANES.length;
  const end = Math.max(recording ? state.recording.duration : upto, 1);
  const x = (t) => left + (Math.max(0, t) / end) * (W - left - 6);
  svg.replaceChildren();
  LANES.forEach((lane, i) => {
    const y = 4 + i * laneH;
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("x", 4); label.setAttribute("y", y + laneH / 2 + 3); label.textContent = LANE_LABEL[lane];
    const ln = document.createElementNS(SVG, "line");
    ln.setAttribute("class", "lane-line"); ln.setAttribute("x1", left); ln.setAttribute("x2", W); ln.setAttribute("y1", y + laneH); ln.setAttribute("y2", y + laneH);
    svg.append(label, ln);
  });
  const axis = document.createElementNS(SVG, "text");
  axis.setAttribute("x", W - 60); axis.setAttribute("y", H - 4); axis.textContent = `${end.toFixed(1)} s`;
  svg.append(axis);
  for (const mk of marks) {
    let el;
    if (mk.lane === null) {
      el = document.createElementNS(SVG, "line");
      el.setAttribute("x1", x(mk.start)); el.setAttribute("x2", x(mk.start)); el.setAttribute("y1", 0); el.setAttribute("y2", H - 16);
      const flag = document.createElementNS(SVG, "text");
      flag.setAttribute("class", "mark barge-in-label"); flag.setAttribute("x", x(mk.start) + 2); flag.setAttribute("y", H - 4); flag.textContent = "✂ barge-in";
      svg.append(flag);
    } else {
      const i = LANES.indexOf(mk.lane);
      el = document.createElementNS(SVG, "rect");
      el.setAttribute("x", x(mk.start)); el.setAttribute("y", 6 + i * laneH);
      el.setAttribute("width", Math.max(2, x(mk.end) - x(mk.start))); el.setAttribute("height", laneH - 6); el.setAttribute("rx", 2);
    }
    el.setAttribute("class", `mark ${mk.cls}`);
    el.dataset.seq = mk.m.seq;
    el.addEventListener("mouseenter", (ev) => showTip(ev, mk));
    el.addEventListener("mouseleave", hideTip);
    el.addEventListener("click", () => reveal(view, mk.m.seq));
    svg.append(el);
  }
  if (recording) {
    const c = document.createElementNS(SVG, "line");
    c.setAttribute("class", "cursor"); c.setAttribute("x1", x(upto)); c.setAttribute("x2", x(upto)); c.setAttribute("y1", 0); c.setAttribute("y2", H);
    svg.append(c);
  }
}

function showTip(ev, mk) {
  const tip = $("tip");
  const m = mk.m;
  tip.textContent = `${mk.label}\n${m.name || ""} #${m.seq} at ${(m.t || mk.start).toFixed(3)} s`;
  const box = $("timeline").getBoundingClientRect(), panel = tip.parentElement.getBoundingClientRect();
  tip.style.left = `${ev.clientX - panel.left + 10}px`;
  tip.style.top = `${box.bottom - panel.top + 4}px`;
  tip.hidden = false;
  const li = (state.view === "recording" ? state.recording : state.live).rows.get(m.seq);
  for (const old of document.querySelectorAll(".entry.highlight")) old.classList.remove("highlight");
  if (li) li.classList.add("highlight");
}
function hideTip() { $("tip").hidden = true; }
function reveal(view, seq) { const li = view.rows.get(seq); if (li) li.scrollIntoView({ block: "center" }); }

// ---------------------------------------------------------------- metrics

function addMetric(e) {
  state.metrics.push({
    ttfa: typeof e.time_to_first_audio === "number" ? e.time_to_first_audio * 1000 : null,
    input: e.input_tokens || 0, output: e.output_tokens || 0, id: e.response_id,
  });
  drawMetrics(state.metrics);
}

function bars(svg, values, classes, unit) {
  svg.replaceChildren();
  const W = svg.width.baseVal.value, H = svg.height.baseVal.value;
  const n = values.length, groups = Math.max(n, 1), gw = (W - 8) / groups;
  const max = Math.max(1, ...values.flat().filter((v) => v !== null));
  values.forEach((group, i) => group.forEach((v, j) => {
    if (v === null) return;
    const h = (v / max) * (H - 16), w = Math.max(2, gw / group.length - 2);
    const r = document.createElementNS(SVG, "rect");
    r.setAttribute("x", 4 + i * gw + j * (w + 1)); r.setAttribute("y", H - 12 - h); r.setAttribute("width", w); r.setAttribute("height", h);
    r.setAttribute("class", classes[j]);
    const title = document.createElementNS(SVG, "title"); title.textContent = `${Math.round(v)} ${unit}`;
    r.append(title); svg.append(r);
  }));
  const t = document.createElementNS(SVG, "text");
  t.setAttribute("x", 4); t.setAttribute("y", H - 2); t.textContent = `max ${Math.round(max)} ${unit} · ${n} responses`;
  svg.append(t);
}

function drawMetrics(list) {
  bars($("latency-chart"), list.map((m) => [m.ttfa]), ["bar-latency"], "ms");
  bars($("tokens-chart"), list.map((m) => [m.input, m.output]), ["bar-in", "bar-out"], "tokens");
}

// ---------------------------------------------------------------- recordings

$("recording-file").addEventListener("change", async () => {
  const file = $("recording-file").files[0];
  if (!file) return;
  const limit = state.hello ? state.hello.max_recording : 32 * 1024 * 1024;
  if (file.size > limit) { showError(`${file.name}: ${file.size} bytes, more than the ${limit} a recording may have`); return; }
  $("recording-info").textContent = `reading ${file.name}…`;
  send({ type: "recording", name: file.name, text: await file.text() });
});

function openRecording(m) {
  const view = state.recording;
  view.entries = m.entries; view.rows = new Map(); view.name = m.name;
  view.duration = m.entries.length ? m.entries[m.entries.length - 1].t : 0;
  const log = $("log-recording");
  log.replaceChildren(...m.entries.map((e) => row(view, e)));
  const metrics = [];
  for (const e of m.entries) if (e.name === "response.done" && e.event.response) {
    const u = e.event.response.usage || {};
    metrics.push({ ttfa: null, input: u.input_tokens || 0, output: u.output_tokens || 0 });
  }
  const scrub = $("scrub");
  scrub.max = view.duration; scrub.value = view.duration; scrub.disabled = false;
  $("play-recording").disabled = false;
  $("recording-info").textContent = `${m.name}: ${m.entries.length} frames, ${view.duration.toFixed(2)} s`;
  setView("recording");
  drawMetrics(metrics);
  scrubTo(view.duration);
}

function setView(view) {
  state.view = view;
  $("log").hidden = view !== "live";
  $("log-recording").hidden = view !== "recording";
  $("live").hidden = view === "live";
  $("view-label").textContent = view === "live" ? "live" : `recording: ${state.recording.name}`;
  if (view === "live") drawMetrics(state.metrics);
  draw();
}

function scrubTo(t) {
  // The slider's end is the recording's end, whatever rounding the slider does.
  if (t >= Number($("scrub").max)) t = state.recording.duration;
  $("scrub").value = t;
  $("scrub-time").textContent = `${Number(t).toFixed(2)} s`;
  let last = null;
  for (const e of state.recording.entries) {
    const li = state.recording.rows.get(e.seq);
    const future = e.t > t;
    li.classList.toggle("future", future);
    if (!future) last = li;
  }
  if (last) last.scrollIntoView({ block: "end" });
  draw();
}

$("scrub").addEventListener("input", () => { stopRecordingPlayback(); scrubTo(Number($("scrub").value)); });
$("live").addEventListener("click", () => { stopRecordingPlayback(); setView("live"); });

const replay = { sources: [], timer: null };
function stopRecordingPlayback() {
  for (const s of replay.sources) { try { s.stop(); } catch (_) { /* ended */ } }
  replay.sources = [];
  if (replay.timer) { clearInterval(replay.timer); replay.timer = null; }
  $("play-recording").textContent = "▶ play";
}

$("play-recording").addEventListener("click", () => {
  if (replay.timer) { stopRecordingPlayback(); return; }
  const ctx = context();
  const from = Number($("scrub").value) >= state.recording.duration ? 0 : Number($("scrub").value);
  const t0 = ctx.currentTime + 0.05;
  const next = { client: t0, server: t0 };
  for (const e of state.recording.entries) {
    if (e.t < from || !e.audio) continue;
    const pcm = b64ToInt16(e.audio);
    if (!pcm.length) continue;
    const buffer = ctx.createBuffer(1, pcm.length, state.rate);
    const data = buffer.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) data[i] = pcm[i] / 32768;
    const src = ctx.createBufferSource(); src.buffer = buffer; src.connect(ctx.destination);
    const at = Math.max(t0 + (e.t - from), next[e.kind]);
    src.start(at); next[e.kind] = at + buffer.duration;
    replay.sources.push(src);
  }
  $("play-recording").textContent = "❚❚ pause";
  replay.timer = setInterval(() => {
    const t = from + (ctx.currentTime - t0);
    if (t >= state.recording.duration) { scrubTo(state.recording.duration); stopRecordingPlayback(); return; }
    scrubTo(Math.max(from, t));
  }, 100);
});

connect();
