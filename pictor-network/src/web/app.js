// Pictor Cloud's one script: a job's page follows the job live over Server-Sent Events.
// No framework, no inline script (the Content-Security-Policy allows only this same-origin file).
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
  const pictures = document.querySelector(".frames[data-pictures]") !== null;
  // An accepted frame's tile gets its download link and, for PNG frames, its picture.
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
    if (pictures) {
      const picture = document.createElement("img");
      picture.loading = "lazy";
      picture.src = tile.dataset.href;
      picture.alt = "Frame " + frame;
      tile.appendChild(picture);
    }
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
      for (const frame of data.frames || []) {
        addDownload(frame);
      }
      setText("accepted-count", String(countAccepted()));
    },
    task_rejected: (data) =>
      mark(framesOfTask.get(data.task), "rejected", "rejected: " + data.reason),
    task_failed: (data) => mark(framesOfTask.get(data.task), "queued", "queued again"),
    task_expired: (data) => mark(framesOfTask.get(data.task), "queued", "queued again"),
  };
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
      }
    });
  }
  main.dataset.live = "on";
})();
