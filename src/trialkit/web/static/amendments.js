// trialkit: the amendment page's file input. The chosen YAML file is read in the browser and put
// into the text box, so the form stays urlencoded (no multipart body: asgi-csrf 0.11 breaks on
// one, simonw/asgi-csrf#38). Without JavaScript the file input stays hidden and the box takes a
// paste. Loaded from the package's static files (CSP script-src 'self'); no inline script.
(function () {
  "use strict";
  var input = document.getElementById("protocol-file");
  var box = document.getElementById("protocol");
  var chooser = document.getElementById("protocol-chooser");
  var status = document.getElementById("protocol-file-status");
  if (!input || !box || !chooser || !status || !window.FileReader || !window.TextDecoder) {
    return;
  }
  chooser.hidden = false;
  var max = parseInt(input.getAttribute("data-max") || "0", 10);
  function say(text) { status.textContent = text; }
  input.addEventListener("change", function () {
    var file = input.files && input.files[0];
    if (!file) { return; }
    if (max && file.size > max) {
      say(input.getAttribute("data-too-big"));
      input.value = "";
      return;
    }
    var reader = new FileReader();
    reader.onload = function () {
      var text;
      try {
        // fatal: a file that is not UTF-8 is refused, not read with replacement characters
        text = new TextDecoder("utf-8", { fatal: true }).decode(reader.result);
      } catch (e) {
        say(input.getAttribute("data-not-text"));
        input.value = "";
        return;
      }
      box.value = text;
      say(input.getAttribute("data-read") + " " + file.name);
      box.dispatchEvent(new Event("input", { bubbles: true }));
    };
    reader.onerror = function () { say(input.getAttribute("data-not-text")); };
    reader.readAsArrayBuffer(file);
  });
}());
