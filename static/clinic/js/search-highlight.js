/* Arriving from a search result (?hl=words#part): open the part that matched and mark the words.
   Without JavaScript the link still lands on the part; this only adds the highlighting. */
(function () {
  "use strict";
  var words = (new URLSearchParams(window.location.search).get("hl") || "")
    .toLowerCase().split(/\s+/).filter(function (word) { return word.length > 1; }).slice(0, 20);
  if (!words.length) { return; }
  var escaped = words.map(function (word) { return word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); });
  var pattern = new RegExp("(^|[^\\p{L}\\p{N}])(" + escaped.join("|") + ")(?![\\p{L}\\p{N}])", "giu");

  var target = window.location.hash ? document.getElementById(decodeURIComponent(window.location.hash.slice(1))) : null;
  var scope = [];
  if (target && /^H[23]$/.test(target.tagName)) {
    // A heading: its section runs to the next heading of the same or a higher level.
    scope.push(target);
    for (var node = target.nextElementSibling; node; node = node.nextElementSibling) {
      if (/^H[1-3]$/.test(node.tagName) && node.tagName <= target.tagName) { break; }
      scope.push(node);
    }
  } else if (target) {
    scope.push(target);
    var details = target.closest("details");
    if (details) { details.open = true; scope.push(details.querySelector("summary")); }
  } else {
    scope.push(document.querySelector("main") || document.body);
  }

  var first = null;
  scope.forEach(function (root) {
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    var texts = [];
    while (walker.nextNode()) { texts.push(walker.currentNode); }
    texts.forEach(function (text) {
      var value = text.nodeValue;
      pattern.lastIndex = 0;
      if (!pattern.test(value)) { return; }
      pattern.lastIndex = 0;
      var fragment = document.createDocumentFragment();
      var last = 0;
      value.replace(pattern, function (match, before, word, offset) {
        var start = offset + before.length;
        fragment.appendChild(document.createTextNode(value.slice(last, start)));
        var mark = document.createElement("mark");
        mark.className = "search-hit";
        mark.textContent = word;
        fragment.appendChild(mark);
        first = first || mark;
        last = start + word.length;
        return match;
      });
      fragment.appendChild(document.createTextNode(value.slice(last)));
      text.parentNode.replaceChild(fragment, text);
    });
  });
  if (target) { target.scrollIntoView(); }
})();
