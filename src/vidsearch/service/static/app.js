// vidsearch web page: search by words or a picture, play a moment from what matched, the
// library (delete with the key), upload with progress. Plain JS, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const KEY_STORE = "vidsearch_api_key";
const POLL_MS = 500;

function apiKey() {
  return $("api-key").value.trim() || localStorage.getItem(KEY_STORE) || "";
}

function rememberKey(key) {
  localStorage.setItem(KEY_STORE, key);
  // A cookie too, so <img> and <video> can load media when the server protects reads.
  document.cookie = `${KEY_STORE}=${encodeURIComponent(key)}; path=/; SameSite=Strict`;
}

function headers() {
  const key = apiKey();
  return key ? { "X-API-Key": key } : {};
}

function clock(seconds) {
  const s = Math.max(0, seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = (s % 60).toFixed(1).padStart(4, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    return body.message || response.statusText;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

// -- search -----------------------------------------------------------------------------
function showStatus(...parts) {
  $("status").replaceChildren(...parts);
}

// A query inside « »: <bdi> isolates it, so a right-to-left query stays between its marks.
function quoted(text) {
  const query = document.createElement("bdi");
  query.textContent = text;
  return ["«", query, "»"];
}

async function runSearch(request) {
  showStatus("Searching…");
  $("results").replaceChildren();
  try {
    const response = await fetch(request.url, { ...request.init, headers: headers() });
    if (!response.ok) {
      showStatus(`Error: ${await errorMessage(response)}`);
      return;
    }
    render(await response.json());
  } catch (err) {
    showStatus(`The server did not answer (${err.message}).`);
  }
}

function search(event) {
  event.preventDefault();
  const query = $("q").value.trim();
  if (!query) return;
  clearImage();
  const params = new URLSearchParams({ q: query, top_k: $("top-k").value });
  if ($("mode").value) params.set("mode", $("mode").value);
  runSearch({ url: `/search?${params}`, init: {} });
}

// -- search by picture: pick, drop or paste -----------------------------------------------
function isImage(file) {
  return file && file.type.startsWith("image/");
}

function clearImage() {
  const preview = $("image-preview");
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.removeAttribute("src");
  $("image-query").hidden = true;
  $("image-file").value = "";
}

function searchImage(file) {
  if (!isImage(file)) {
    showStatus("Not a picture: drop or paste an image (JPEG, PNG, WebP…).");
    return;
  }
  clearImage();
  $("image-preview").src = URL.createObjectURL(file);
  $("image-name").textContent = file.name || "pasted picture";
  $("image-query").hidden = false;
  const form = new FormData();
  form.append("image", file, file.name || "pasted.png");
  const params = new URLSearchParams({ top_k: $("top-k").value });
  runSearch({ url: `/search?${params}`, init: { method: "POST", body: form } });
}

function firstImage(transfer) {
  return [...(transfer?.files || [])].find(isImage);
}

function acceptDrops() {
  const form = $("search-form");
  document.addEventListener("dragover", (event) => {
    if (![...event.dataTransfer.types].includes("Files")) return;
    event.preventDefault(); // lets the drop happen here instead of opening the file
    form.classList.add("dropping");
  });
  document.addEventListener("dragleave", (event) => {
    if (event.relatedTarget === null) form.classList.remove("dropping");
  });
  document.addEventListener("drop", (event) => {
    form.classList.remove("dropping");
    const files = event.dataTransfer?.files;
    if (!files?.length) return;
    event.preventDefault(); // never navigate away to the dropped file
    if (event.target.closest?.("#upload-form")) {
      $("file").files = files; // a video for the upload form
      return;
    }
    searchImage(firstImage(event.dataTransfer) || files[0]);
  });
  document.addEventListener("paste", (event) => {
    const file = firstImage(event.clipboardData);
    if (!file) return; // text pastes into the box as usual
    event.preventDefault();
    searchImage(file);
  });
  $("image-file").addEventListener("change", () => {
    const file = $("image-file").files[0];
    if (file) searchImage(file);
  });
  $("image-clear").addEventListener("click", clearImage);
}

// Where clicking a moment plays from: the matched line's start when a line matched, else the
// best frame. Not `start`: a moment spans its whole shot, so a line spoken at 0:09 in a shot
// that begins at 0:00 would play from 0:00.
function playFrom(moment) {
  const line = (moment.dialogue || [])[0];
  if (line && moment.why !== "frame") return line.start;
  return moment.timestamp;
}

function render(result) {
  const count = result.moments.length;
  const like = $("image-query").hidden ? "for" : "like";
  showStatus(
    count ? `${count} moment${count > 1 ? "s" : ""} ${like} ` : `No moments ${like} `,
    ...quoted(result.query),
    count ? ` (${result.took_ms} ms)` : ". Upload a video below, or try other words.",
  );
  const template = $("moment-template");
  const cards = result.moments.map((moment) => {
    const card = template.content.firstElementChild.cloneNode(true);
    const img = card.querySelector("img");
    if (moment.thumbnail_url) img.src = moment.thumbnail_url;
    img.alt = `${moment.video} at ${clock(moment.timestamp)}`;
    card.querySelector(".video").textContent = moment.video;
    card.querySelector(".time").textContent = `${clock(moment.start)} – ${clock(moment.end)}`;
    card.querySelector(".at").textContent = `frame ${clock(moment.timestamp)}`;
    card.querySelector(".score").textContent = `score ${moment.score.toFixed(3)}`;
    showLine(card, moment);
    const from = playFrom(moment);
    card.title = `Play from ${clock(from)}`;
    card.dataset.start = String(moment.start);
    card.dataset.end = String(moment.end);
    card.dataset.timestamp = String(moment.timestamp);
    card.dataset.playFrom = String(from);
    card.dataset.video = moment.video;
    card.addEventListener("click", () => play(moment, card));
    return card;
  });
  $("results").replaceChildren(...cards);
}

// The lines that matched, under the thumbnail, each with its source (subtitle, speech, screen
// text) and time; what matched ("frame + speech"...) beside the score.
function showLine(card, moment) {
  const lines = moment.dialogue || [];
  card.dataset.why = moment.why || "frame";
  if (card.dataset.why !== "frame") card.querySelector(".why").textContent = card.dataset.why;
  if (!lines.length) return;
  const template = $("line-template");
  const items = lines.map((line) => {
    const item = template.content.firstElementChild.cloneNode(true);
    const source = line.source || "subtitle";
    item.dataset.source = source;
    item.querySelector(".source").textContent = `${source} ${clock(line.start)}`;
    const text = item.querySelector(".line");
    text.textContent = line.text;
    text.title = `${clock(line.start)} – ${clock(line.end)} (${line.language})`;
    return item;
  });
  const list = card.querySelector(".lines");
  list.replaceChildren(...items);
  list.hidden = false;
}

// -- playing ------------------------------------------------------------------------------
function play(moment, card) {
  const player = $("player");
  const src = moment.play_url.split("#")[0];
  const from = playFrom(moment);
  document.querySelectorAll(".moment.playing").forEach((c) => c.classList.remove("playing"));
  card.classList.add("playing");
  $("player-section").hidden = false;
  $("now-playing").textContent = `${moment.video} from ${clock(from)}`;
  const seek = () => {
    player.currentTime = from;
    player.play().catch(() => {}); // autoplay may be refused; the position is still right
  };
  if (player.dataset.src === src && player.readyState >= 1) {
    seek();
  } else {
    player.dataset.src = src;
    player.addEventListener("loadedmetadata", seek, { once: true });
    player.src = `${src}#t=${from.toFixed(3)}`; // starts there even before the seek
  }
  player.scrollIntoView({ behavior: "smooth", block: "nearest" });
}

// -- library ------------------------------------------------------------------------------
const CONFIRM_MS = 4000;

function subtitleFacts(video) {
  // `subtitle_lines` (the video's lines indexed: subtitles, speech, text on screen) is shown
  // where the server reports it.
  if (typeof video.subtitle_lines !== "number") return null;
  const n = video.subtitle_lines;
  return n ? `${n} line${n > 1 ? "s" : ""} of text` : "no text";
}

function videoRow(video) {
  const row = $("video-template").content.firstElementChild.cloneNode(true);
  row.dataset.name = video.name;
  row.dataset.complete = String(video.complete);
  row.querySelector(".name").textContent = video.name;
  row.querySelector(".duration").textContent = clock(video.duration);
  row.querySelector(".frames").textContent = `${video.frames} frames`;
  const subtitles = subtitleFacts(video);
  if (subtitles !== null) {
    row.querySelector(".subtitles").textContent = subtitles;
    row.querySelector(".subtitles").hidden = false;
  }
  const state = row.querySelector(".state");
  state.textContent = video.complete ? "complete" : "still indexing";
  state.classList.toggle("incomplete", !video.complete);
  const button = row.querySelector(".delete");
  button.addEventListener("click", () => askDelete(video.name, button));
  return row;
}

async function loadLibrary() {
  try {
    const response = await fetch("/videos", { headers: headers() });
    if (!response.ok) {
      $("library-status").textContent = `Error: ${await errorMessage(response)}`;
      return;
    }
    const { videos } = await response.json();
    $("library").replaceChildren(...videos.map(videoRow));
    const n = videos.length;
    $("library-status").textContent = n
      ? `${n} video${n > 1 ? "s" : ""} indexed.`
      : "No videos yet: add one below.";
  } catch (err) {
    $("library-status").textContent = `The server did not answer (${err.message}).`;
  }
}

// The first click arms the button, a second one within CONFIRM_MS deletes.
function disarm(button) {
  clearTimeout(Number(button.dataset.timer));
  button.dataset.armed = "false";
  button.textContent = "Delete";
}

function askDelete(name, button) {
  if (button.dataset.armed !== "true") {
    button.dataset.armed = "true";
    button.textContent = "Delete for good?";
    button.dataset.timer = String(setTimeout(() => disarm(button), CONFIRM_MS));
    return;
  }
  disarm(button);
  deleteVideo(name);
}

async function deleteVideo(name) {
  const key = apiKey();
  const status = $("library-status");
  if (!key) {
    status.textContent = "Deleting needs the API key: type it in the field under “Add a video”.";
    return;
  }
  try {
    const response = await fetch(`/videos/${encodeURIComponent(name)}`, {
      method: "DELETE",
      headers: { "X-API-Key": key },
    });
    if (!response.ok) {
      status.textContent = `Not deleted: ${await errorMessage(response)}`;
      return;
    }
    rememberKey(key);
    await loadLibrary();
    status.textContent = `Deleted ${name}.`;
  } catch (err) {
    status.textContent = `The server did not answer (${err.message}).`;
  }
}

// -- uploading ----------------------------------------------------------------------------
function showUpload(text, percent) {
  $("upload-status").textContent = text;
  const bar = $("upload-progress");
  bar.hidden = percent === null;
  if (percent !== null) bar.value = percent;
}

function upload(event) {
  event.preventDefault();
  const file = $("file").files[0];
  if (!file) return;
  const key = apiKey();
  if (key) rememberKey(key);
  const form = new FormData();
  form.append("file", file, file.name);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/videos");
  if (key) xhr.setRequestHeader("X-API-Key", key);
  xhr.upload.addEventListener("progress", (e) => {
    if (e.lengthComputable) {
      const percent = Math.round((100 * e.loaded) / e.total);
      showUpload(`Uploading ${file.name}: ${percent}%`, percent);
    }
  });
  xhr.addEventListener("load", () => {
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
    if (xhr.status !== 202) {
      showUpload(`Upload refused: ${body.message || xhr.statusText}`, null);
      return;
    }
    showUpload(`Indexing ${file.name}…`, 0);
    follow(body.id);
  });
  xhr.addEventListener("error", () => showUpload("The upload failed: no answer from the server.", null));
  showUpload(`Uploading ${file.name}: 0%`, 0);
  xhr.send(form);
}

async function follow(jobId) {
  let job;
  try {
    const response = await fetch(`/jobs/${jobId}`, { headers: headers() });
    if (!response.ok) {
      showUpload(`Error: ${await errorMessage(response)}`, null);
      return;
    }
    job = await response.json();
  } catch (err) {
    showUpload(`The server did not answer (${err.message}).`, null);
    return;
  }
  const percent = Math.round(job.progress * 100);
  if (job.state === "done") {
    const what = job.result === "skipped" ? "was already indexed" : "is searchable";
    showUpload(`Done: ${job.video} ${what} (${job.frames_indexed} frames).`, 100);
    $("upload-progress").dataset.state = "done";
    loadLibrary();
    return;
  }
  if (job.state === "failed" || job.state === "cancelled") {
    showUpload(`Indexing ${job.file} ${job.state}: ${job.error || ""}`, null);
    return;
  }
  const frames = job.frames_total ? ` (${job.frames_done}/${job.frames_total} frames)` : "";
  showUpload(`Indexing ${job.file}: ${percent}%${frames}`, percent);
  setTimeout(() => follow(jobId), POLL_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  $("search-form").addEventListener("submit", search);
  $("upload-form").addEventListener("submit", upload);
  $("library-refresh").addEventListener("click", loadLibrary);
  acceptDrops();
  const stored = localStorage.getItem(KEY_STORE);
  if (stored) $("api-key").value = stored;
  $("q").focus();
  loadLibrary();
});
