// Pictor Cloud's job page: follows the job live over Server-Sent Events, and plays the accepted
// frames' previews as a flipbook. No framework, no inline script (the Content-Security-Policy
// allows only same-origin files).
"use strict";
(function () {
  const main = document.querySelector("main[data-events]");
  if (!main || !window.EventSource) {
    return;
  }
  const frameTile = (frame) => document.getElementById("frame-" + frame);
  const setText = (id, text) => {
    const element = document.getElementById(id);
    if (element) {
      element.textContent = text;
    }
  };
  const framesOfTask = new Map();
  const mark = (frames, state, detail) => {
    for (const frame of frames || []) {
      const tile = frameTile(frame);
      if (!tile || tile.dataset.state === "accepted") {
        continue;
      }
      tile.dataset.state = state;
      tile.className = "frame " + state;
      tile.querySelector(".state").textContent = detail || state;
    }
  };
  // An accepted frame's tile gets its download link and its preview (made by the network).
  const addDownload = (frame) => {
    const tile = frameTile(frame);
    if (!tile || tile.querySelector("a.download")) {
      return;
    }
    const link = document.createElement("a");
    link.className = "download";
    link.href = tile.dataset.href;
    link.setAttribute("download", "");
    link.textContent = "Download";
    tile.appendChild(link);
    const picture = document.createElement("img");
    picture.loading = "lazy";
    picture.src = tile.dataset.preview;
    picture.alt = "Frame " + frame;
    tile.appendChild(picture);
  };
  // The cost so far, in micro-credits (the events carry integers), shown with six decimals.
  const addSpent = (micros) => {
    const spent = document.getElementById("job-spent");
    if (!spent || !Number.isSafeInteger(micros)) {
      return;
    }
    const total = Number(spent.dataset.micros || 0) + micros;
    spent.dataset.micros = String(total);
    spent.textContent = Math.floor(total / 1e6) + "." + String(total % 1e6).padStart(6, "0");
  };
  const countAccepted = () =>
    document.querySelectorAll('.frames [data-state="accepted"]').length;
  const handlers = {
    task_leased: (data) => {
      framesOfTask.set(data.task, data.frames);
      mark(data.frames, "rendering", "rendering on worker " + data.worker);
    },
    task_uploaded: (data) => mark(framesOfTask.get(data.task), "verifying"),
    task_accepted: (data) => {
      mark(data.frames, "accepted");
      addSpent(data.cost);
      for (const frame of data.frames || []) {
        addDownload(frame);
      }
      flipbook.refresh();
      setText("accepted-count", String(countAccepted()));
    },
    task_rejected: (data) =>
      mark(framesOfTask.get(data.task), "rejected", "rejected: " + data.reason),
    task_failed: (data) => mark(framesOfTask.get(data.task), "queued", "queued again"),
    task_expired: (data) => mark(framesOfTask.get(data.task), "queued", "queued again"),
  };
  const flipbook = startFlipbook();
  const finalKinds = ["completed", "failed", "cancelled"];
  const source = new EventSource(main.dataset.events);
  for (const [kind, handle] of Object.entries(handlers)) {
    source.addEventListener(kind, (message) => handle(JSON.parse(message.data).data));
  }
  for (const kind of ["started", "paused", "resumed"].concat(finalKinds)) {
    source.addEventListener(kind, () => {
      setText("job-state", kind === "started" || kind === "resumed" ? "running" : kind);
      if (finalKinds.includes(kind)) {
        source.close();
        // A finished job can no longer be paused or cancelled.
        for (const controls of document.querySelectorAll(".controls form")) {
          controls.remove();
        }
      }
    });
  }
  main.dataset.live = "on";

  // The flipbook: the accepted frames' medium previews in frame order, at the chosen rate.
  function startFlipbook() {
    const picture = document.getElementById("flipbook-picture");
    const play = document.getElementById("flipbook-play");
    const rate = document.getElementById("flipbook-fps");
    const caption = document.getElementById("flipbook-frame");
    if (!picture || !play || !rate) {
      return { refresh() {} };
    }
    let frames = [];
    let at = 0;
    let timer = null;
    const preloaded = new Map();
    const show = () => {
      if (!frames.length) {
        return;
      }
      at %= frames.length;
      const tile = frames[at];
      picture.src = tile.dataset.medium;
      picture.alt = "Frame " + tile.dataset.frame;
      caption.textContent = "Frame " + tile.dataset.frame + " (" + (at + 1) + " of " + frames.length + ")";
      picture.dataset.frame = tile.dataset.frame;
    };
    const refresh = () => {
      frames = Array.from(document.querySelectorAll('.frames [data-state="accepted"]'));
      for (const tile of frames) {
        if (!preloaded.has(tile.dataset.medium)) {
          const image = new Image();
          image.src = tile.dataset.medium;
          preloaded.set(tile.dataset.medium, image);
        }
      }
      play.disabled = frames.length === 0;
      if (!timer) {
        show();
      }
    };
    const framesPerSecond = () => Math.min(60, Math.max(1, Number(rate.value) || 12));
    const stop = () => {
      clearInterval(timer);
      timer = null;
      play.textContent = "Play";
      play.setAttribute("aria-pressed", "false");
    };
    const start = () => {
      timer = setInterval(() => {
        at += 1;
        show();
      }, 1000 / framesPerSecond());
      play.textContent = "Pause";
      play.setAttribute("aria-pressed", "true");
    };
    play.addEventListener("click", () => (timer ? stop() : start()));
    rate.addEventListener("change", () => {
      if (timer) {
        stop();
        start();
      }
    });
    refresh();
    return { refresh };
  }
})();
