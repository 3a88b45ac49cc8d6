// Pictor Cloud's new-job page: reads the chosen scene (one file, a folder, or a zip archive of a
// folder), hashes each file with BLAKE3, uploads what the network lacks through the API in
// resumable chunks (the session cookie plus its CSRF token in a header stand for the API key),
// commits the scene's manifest, then posts the form for the quote. Pressing the button again
// after a failure resumes: chunks already received are not sent twice.
"use strict";
(function () {
  const form = document.getElementById("new-job");
  if (!form) {
    return;
  }
  const CHUNK = 4 << 20;
  const csrf = form.querySelector('input[name="csrf"]').value;
  const sceneField = form.querySelector('input[name="scene"]');
  const labelField = form.querySelector('input[name="scene_label"]');
  const fileInput = document.getElementById("scene-file");
  const folderInput = document.getElementById("scene-folder");
  const mainSelect = document.getElementById("main-file");
  const renderer = document.getElementById("renderer");
  const output = document.getElementById("output");
  const bar = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  const button = document.getElementById("get-quote");
  let files = [];
  let label = "";

  const say = (text) => {
    status.textContent = text;
  };
  const megabytes = (bytes) => (bytes / 1e6).toFixed(1) + " MB";
  const ignored = (path) =>
    path.startsWith("__MACOSX/") ||
    path.split("/").some((part) => part === ".DS_Store" || part === "Thumbs.db") ||
    path.endsWith(".blend1");
  // Drops the folder every path starts with (a chosen folder, or a zipped one).
  const withoutCommonFolder = (list) => {
    const first = list.length && list[0].path.split("/")[0];
    if (first && list.every((file) => file.path.startsWith(first + "/"))) {
      for (const file of list) {
        file.path = file.path.slice(first.length + 1);
      }
    }
    return list;
  };

  // The scene files a job may name as its main file (or, with no scene, the images an upscale
  // reads), top-level ones first.
  const offerMainFiles = () => {
    mainSelect.replaceChildren();
    const paths = files.map((file) => file.path);
    let scenes = paths.filter((path) => /\.(blend|toml)$/i.test(path));
    if (!scenes.length) {
      scenes = paths.filter((path) => /\.(png|jpe?g|exr)$/i.test(path));
    }
    scenes = scenes
      .sort((a, b) => a.split("/").length - b.split("/").length || a.localeCompare(b));
    for (const path of scenes) {
      const option = document.createElement("option");
      option.value = path;
      option.textContent = path;
      mainSelect.appendChild(option);
    }
    mainSelect.disabled = scenes.length === 0;
    matchRenderer();
    if (!scenes.length && files.length) {
      say("No .blend, scene.toml or image in what you chose.");
    }
  };
  // The renderer that reads the main file.
  const matchRenderer = () => {
    const main = mainSelect.value || "";
    if (/\.blend$/i.test(main)) {
      renderer.value = "blender";
    } else if (/\.toml$/i.test(main)) {
      renderer.value = "builtin";
      if (output.value === "scene") {
        output.value = "png8";
      }
    } else if (/\.(png|jpe?g|exr)$/i.test(main)) {
      renderer.value = "upscale";
      if (output.value !== "png16") {
        output.value = "png8";
      }
    }
  };
  mainSelect.addEventListener("change", matchRenderer);

  // The entries of a zip archive, read from its central directory (ZIP64 included).
  async function zipEntries(file) {
    const bytesOf = async (start, end) => new DataView(await file.slice(start, end).arrayBuffer());
    const tailSize = Math.min(file.size, 65557);
    const tail = await bytesOf(file.size - tailSize, file.size);
    let end = -1;
    for (let at = tailSize - 22; at >= 0; at--) {
      if (tail.getUint32(at, true) === 0x06054b50) {
        end = at;
        break;
      }
    }
    if (end < 0) {
      throw new Error(file.name + " is not a zip archive");
    }
    let count = tail.getUint16(end + 10, true);
    let directorySize = tail.getUint32(end + 12, true);
    let directoryAt = tail.getUint32(end + 16, true);
    if (count === 0xffff || directoryAt === 0xffffffff || directorySize === 0xffffffff) {
      const locator = end - 20;
      if (locator < 0 || tail.getUint32(locator, true) !== 0x07064b50) {
        throw new Error(file.name + ": damaged ZIP64 records");
      }
      const recordAt = Number(tail.getBigUint64(locator + 8, true));
      const record = await bytesOf(recordAt, recordAt + 56);
      count = Number(record.getBigUint64(32, true));
      directorySize = Number(record.getBigUint64(40, true));
      directoryAt = Number(record.getBigUint64(48, true));
    }
    const directory = await bytesOf(directoryAt, directoryAt + directorySize);
    const decoder = new TextDecoder();
    const entries = [];
    let at = 0;
    for (let n = 0; n < count; n++) {
      if (directory.getUint32(at, true) !== 0x02014b50) {
        throw new Error(file.name + ": damaged zip directory");
      }
      const flags = directory.getUint16(at + 8, true);
      const method = directory.getUint16(at + 10, true);
      let compressed = directory.getUint32(at + 20, true);
      let size = directory.getUint32(at + 24, true);
      const nameLength = directory.getUint16(at + 28, true);
      const extraLength = directory.getUint16(at + 30, true);
      const commentLength = directory.getUint16(at + 32, true);
      let local = directory.getUint32(at + 42, true);
      const name = decoder.decode(
        new Uint8Array(directory.buffer, directory.byteOffset + at + 46, nameLength)
      );
      let extra = at + 46 + nameLength;
      const extraEnd = extra + extraLength;
      while (extra + 4 <= extraEnd) {
        const id = directory.getUint16(extra, true);
        const length = directory.getUint16(extra + 2, true);
        if (id === 1) {
          let field = extra + 4;
          const next = () => {
            const value = Number(directory.getBigUint64(field, true));
            field += 8;
            return value;
          };
          if (size === 0xffffffff) size = next();
          if (compressed === 0xffffffff) compressed = next();
          if (local === 0xffffffff) local = next();
        }
        extra += 4 + length;
      }
      at = extraEnd + commentLength;
      if (name.endsWith("/")) {
        continue;
      }
      if (flags & 1) {
        throw new Error(name + " is encrypted; zip the scene without a password");
      }
      if (method !== 0 && method !== 8) {
        throw new Error(name + ": compression method " + method + " is not supported (use deflate)");
      }
      entries.push({ name, method, compressed, size, local });
    }
    return entries;
  }

  // One zip entry's bytes; a deflated entry is inflated by the browser and must be its size.
  async function zipEntryBlob(file, entry) {
    const header = new DataView(await file.slice(entry.local, entry.local + 30).arrayBuffer());
    if (header.getUint32(0, true) !== 0x04034b50) {
      throw new Error(entry.name + ": damaged zip entry");
    }
    const start = entry.local + 30 + header.getUint16(26, true) + header.getUint16(28, true);
    const data = file.slice(start, start + entry.compressed);
    if (entry.method === 0) {
      return data;
    }
    let seen = 0;
    const limit = new TransformStream({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > entry.size) {
          controller.error(new Error(entry.name + " inflates past its stated size"));
          return;
        }
        controller.enqueue(chunk);
      },
    });
    const inflated = await new Response(
      data.stream().pipeThrough(new DecompressionStream("deflate-raw")).pipeThrough(limit)
    ).blob();
    if (inflated.size !== entry.size) {
      throw new Error(entry.name + " is not the size its archive states");
    }
    return inflated;
  }

  const chosen = async (list) => {
    sceneField.value = "";
    files = [];
    try {
      if (list.length === 1 && /\.zip$/i.test(list[0].name)) {
        const archive = list[0];
        say("Reading " + archive.name + "…");
        const entries = (await zipEntries(archive)).filter((entry) => !ignored(entry.name));
        for (const entry of entries) {
          files.push({ path: entry.name, blob: await zipEntryBlob(archive, entry) });
        }
        label = archive.name;
      } else if (list.length === 1 && !list[0].webkitRelativePath) {
        files = [{ path: list[0].name, blob: list[0] }];
        label = list[0].name;
      } else {
        files = Array.from(list)
          .map((file) => ({ path: file.webkitRelativePath || file.name, blob: file }))
          .filter((file) => !ignored(file.path));
        label = (files.length && files[0].path.split("/")[0]) + "/";
      }
      withoutCommonFolder(files);
      const total = files.reduce((sum, file) => sum + file.blob.size, 0);
      label += " (" + files.length + (files.length === 1 ? " file, " : " files, ") + megabytes(total) + ")";
      say("Chosen: " + label);
    } catch (error) {
      files = [];
      say("That scene cannot be read: " + error.message);
    }
    offerMainFiles();
  };
  fileInput.addEventListener("change", () => chosen(fileInput.files));
  folderInput.addEventListener("change", () => chosen(folderInput.files));

  // A call to the API as the signed-in account; a JSON error's message becomes the Error's.
  async function api(method, path, body, contentType) {
    const headers = { "X-Pictor-CSRF": csrf };
    if (contentType) {
      headers["Content-Type"] = contentType;
    }
    const response = await fetch(path, { method, headers, body, credentials: "same-origin" });
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (ignore) {
      data = null;
    }
    if (!response.ok) {
      const message = (data && data.error && data.error.message) || response.statusText;
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return data;
  }
  const json = (value) => JSON.stringify(value);
  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // Uploads one blob from where the network's staged copy ends; `sent(bytes)` after each chunk.
  async function uploadBlob(blob, hash, sent) {
    const size = blob.size;
    let offset = 0;
    try {
      const staged = await api("GET", "/v1/blobs/" + hash + "/upload?size=" + size);
      if (staged.complete) {
        sent(size);
        return;
      }
      offset = staged.received;
    } catch (error) {
      if (error.status !== 404) {
        throw error;
      }
    }
    sent(offset);
    let corrections = 0;
    let retries = 0;
    for (;;) {
      const end = Math.min(offset + CHUNK, size);
      try {
        const answer = await api(
          "PUT",
          "/v1/blobs/" + hash + "?size=" + size + "&offset=" + offset,
          blob.slice(offset, end),
          "application/octet-stream"
        );
        retries = 0;
        if (answer.complete) {
          sent(size - offset);
          return;
        }
        sent(answer.received - offset);
        offset = answer.received;
      } catch (error) {
        const expected = error.status === 409 && /expected offset (\d+)/.exec(error.message);
        if (expected && corrections++ < 5) {
          offset = Number(expected[1]);
          continue;
        }
        // A dropped connection or a busy network: wait, then go on from where it stands.
        if ((error.status === undefined || error.status === 503) && retries++ < 5) {
          await pause(1000 * retries);
          continue;
        }
        throw error;
      }
    }
  }

  async function upload() {
    const total = files.reduce((sum, file) => sum + file.blob.size, 0);
    let hashedBefore = 0;
    bar.max = Math.max(total, 1);
    for (const file of files) {
      file.hash = await window.PictorBlake3.ofBlob(file.blob, (hashed) => {
        bar.value = hashedBefore + hashed;
        say("Hashing " + file.path + "…");
      });
      hashedBefore += file.blob.size;
    }
    const unique = new Map(files.map((file) => [file.hash, file.blob]));
    const { missing } = await api(
      "POST",
      "/v1/blobs/missing",
      json({ hashes: Array.from(unique.keys()) }),
      "application/json"
    );
    const toSend = missing.reduce((sum, hash) => sum + unique.get(hash).size, 0);
    let done = 0;
    bar.max = Math.max(toSend, 1);
    bar.value = 0;
    for (const hash of missing) {
      await uploadBlob(unique.get(hash), hash, (bytes) => {
        done += bytes;
        bar.value = done;
        say("Uploading: " + megabytes(done) + " of " + megabytes(toSend));
      });
    }
    const asset = await api(
      "POST",
      "/v1/assets",
      json({
        manifest: {
          entries: files.map((file) => ({ path: file.path, hash: file.hash, size: file.blob.size })),
          main_file: mainSelect.value,
        },
      }),
      "application/json"
    );
    bar.value = bar.max;
    const skipped = unique.size - missing.length;
    say(
      "Uploaded " + megabytes(toSend) +
        (skipped ? " (" + skipped + " files already on the network)" : "") +
        ". Getting the quote…"
    );
    return asset.id;
  }

  form.addEventListener("submit", async (event) => {
    if (sceneField.value && !files.length) {
      return; // the scene uploaded before (a form shown again): post as it is
    }
    event.preventDefault();
    if (!files.length || !mainSelect.value) {
      say("Choose a scene first: a .blend, a scene folder, or a zip of one.");
      return;
    }
    button.disabled = true;
    try {
      sceneField.value = await upload();
      labelField.value = mainSelect.value + " from " + label;
      form.submit();
    } catch (error) {
      say("The upload stopped: " + error.message + ". Press the button again to resume.");
      button.disabled = false;
    }
  });
  form.dataset.ready = "on";
})();
