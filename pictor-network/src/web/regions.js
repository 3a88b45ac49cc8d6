// Pictor Cloud's live regions: an element with `data-live="/path"` is fetched again every two
// seconds (while the page is visible) and its content replaced by the server's fresh markup of
// the same region. Same-origin, with the session's cookie; no inline script (the
// Content-Security-Policy allows only same-origin files).
"use strict";
(function () {
  const regions = document.querySelectorAll("[data-live]");
  if (!regions.length || !window.fetch) {
    return;
  }
  const every = 2000;
  const last = new Map();
  const refresh = async (region) => {
    if (document.hidden) {
      return;
    }
    try {
      const response = await fetch(region.dataset.live, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
        cache: "no-store",
      });
      if (!response.ok) {
        return;
      }
      const markup = await response.text();
      if (last.get(region) !== markup) {
        last.set(region, markup);
        region.innerHTML = markup;
      }
    } catch (error) {
      // Offline for a moment: the next tick tries again.
    }
  };
  for (const region of regions) {
    setInterval(() => refresh(region), every);
  }
})();
