// care-sandbox console: live regions and copy buttons. Plain JS, no dependencies, no build step.
(function () {
  "use strict";
  // Live updates: each [data-live] region is re-fetched (?partial=1) every 2 s and replaced when it changed.
  document.querySelectorAll("[data-live]").forEach(function (region) {
    var url = region.getAttribute("data-live");
    url += (url.indexOf("?") >= 0 ? "&" : "?") + "partial=1";
    setInterval(function () {
      if (document.hidden) return;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null && html.trim() !== region.innerHTML.trim()) region.innerHTML = html; })
        .catch(function () {});
    }, 2000);
  });
  // Copy buttons: data-copy="<id of the element whose text to copy>".
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = document.getElementById(button.getAttribute("data-copy")).textContent;
      navigator.clipboard.writeText(text).then(function () { button.textContent = "Copied"; });
    });
  });
})();
