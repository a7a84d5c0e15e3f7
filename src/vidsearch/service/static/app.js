// vidsearch web page: search, play a moment, upload with progress. Plain JS, no build step.
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
async function search(event) {
  event.preventDefault();
  const query = $("q").value.trim();
  if (!query) return;
  const params = new URLSearchParams({ q: query, top_k: $("top-k").value });
  if ($("mode").value) params.set("mode", $("mode").value);
  $("status").textContent = "Searching…";
  $("results").replaceChildren();
  try {
    const response = await fetch(`/search?${params}`, { headers: headers() });
    if (!response.ok) {
      $("status").textContent = `Error: ${await errorMessage(response)}`;
      return;
    }
    const result = await response.json();
    render(result);
  } catch (err) {
    $("status").textContent = `The server did not answer (${err.message}).`;
  }
}

function render(result) {
  const count = result.moments.length;
  const query = document.createElement("bdi"); // keeps a right-to-left query in its place
  query.textContent = result.query;
  $("status").replaceChildren(
    count ? `${count} moment${count > 1 ? "s" : ""} for «` : "No moments for «",
    query,
    count ? `» (${result.took_ms} ms)` : "». Upload a video below, or try other words.",
  );
  const template = $("moment-template");
  const cards = result.moments.map((moment) => {
    const card = template.content.firstElementChild.cloneNode(true);
    const img = card.querySelector("img");
    if (moment.thumbnail_url) img.src = moment.thumbnail_url;
    img.alt = `${moment.video} at ${clock(moment.timestamp)}`;
    card.querySelector(".video").textContent = moment.video;
    card.querySelector(".time").textContent = `${clock(moment.start)} – ${clock(moment.end)}`;
    card.querySelector(".score").textContent = `score ${moment.score.toFixed(3)}`;
    showLine(card, moment);
    card.dataset.start = String(moment.start);
    card.dataset.video = moment.video;
    card.addEventListener("click", () => play(moment, card));
    return card;
  });
  $("results").replaceChildren(...cards);
}

// The subtitle line that matched, under the thumbnail; what matched (picture, words, both).
const WHY = { frame: "picture", dialogue: "dialogue", both: "picture + dialogue" };

function showLine(card, moment) {
  const line = (moment.dialogue || [])[0];
  card.dataset.why = moment.why || "frame";
  if (card.dataset.why !== "frame") card.querySelector(".why").textContent = WHY[card.dataset.why];
  if (!line) return;
  const element = card.querySelector(".line");
  element.textContent = line.text;
  element.title = `${clock(line.start)} – ${clock(line.end)} (${line.language})`;
  element.hidden = false;
}

// -- playing ------------------------------------------------------------------------------
function play(moment, card) {
  const player = $("player");
  const src = moment.play_url.split("#")[0];
  document.querySelectorAll(".moment.playing").forEach((c) => c.classList.remove("playing"));
  card.classList.add("playing");
  $("player-section").hidden = false;
  $("now-playing").textContent = `${moment.video} from ${clock(moment.start)}`;
  const seek = () => {
    player.currentTime = moment.start;
    player.play().catch(() => {}); // autoplay may be refused; the position is still right
  };
  if (player.dataset.src === src && player.readyState >= 1) {
    seek();
  } else {
    player.dataset.src = src;
    player.addEventListener("loadedmetadata", seek, { once: true });
    player.src = moment.play_url; // the #t= fragment starts it at the moment too
  }
  player.scrollIntoView({ behavior: "smooth", block: "nearest" });
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
  const stored = localStorage.getItem(KEY_STORE);
  if (stored) $("api-key").value = stored;
  $("q").focus();
});
