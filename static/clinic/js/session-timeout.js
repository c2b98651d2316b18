// The warning before the idle logout (the GOV.UK timeout-warning pattern). The server ends a staff
// session after data-idle-seconds without a request; this opens the dialog data-warning-seconds
// before that, counts down, and "Stay signed in" makes a request that renews the session. When
// the time is up it says so and leaves the page as it is: nothing typed is thrown away, and a save
// after the logout is kept by the server until the same person signs in again.
(function () {
  "use strict";
  var dialog = document.getElementById("session-timeout");
  if (!dialog || typeof dialog.showModal !== "function") {
    return;
  }
  var idle = Number(dialog.dataset.idleSeconds);
  var warning = Math.min(Number(dialog.dataset.warningSeconds), idle);
  var countdown = dialog.querySelector(".session-timeout__countdown");
  var announcement = dialog.querySelector(".session-timeout__announcement");
  var expired = dialog.querySelector(".session-timeout__expired");
  var warningText = dialog.querySelector(".session-timeout__warning");
  var continueButton = dialog.querySelector(".session-timeout__continue");
  var closeButton = dialog.querySelector(".session-timeout__close");
  var endsAt;
  var timer;

  function words(seconds) {
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    var parts = [];
    if (minutes) {
      parts.push(minutes + (minutes === 1 ? " minute" : " minutes"));
    }
    if (rest || !minutes) {
      parts.push(rest + (rest === 1 ? " second" : " seconds"));
    }
    return parts.join(" ");
  }

  function signedOut() {
    clearInterval(timer);
    if (!dialog.open) {
      dialog.showModal();
    }
    dialog.querySelector(".session-timeout__soon").hidden = true;
    dialog.querySelector(".session-timeout__ended").hidden = false;
    dialog.querySelector(".session-timeout__kept").hidden = true;
    warningText.hidden = true;
    expired.hidden = false;
    continueButton.hidden = true;
    closeButton.hidden = false;
    announcement.textContent = dialog.querySelector(".session-timeout__ended").textContent + ". " + expired.textContent;
  }

  function tick() {
    var left = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
    if (left === 0) {
      signedOut();
      return;
    }
    if (left <= warning && !dialog.open) {
      dialog.showModal();
      continueButton.focus();
    }
    if (dialog.open) {
      countdown.textContent = words(left);
      // Screen readers hear the time at the start, then every 30 seconds, not every second.
      if (left === warning || left % 30 === 0) {
        announcement.textContent = warningText.textContent.trim();
      }
    }
  }

  function start() {
    endsAt = Date.now() + idle * 1000;
    clearInterval(timer);
    timer = setInterval(tick, 1000);
  }

  continueButton.addEventListener("click", function () {
    fetch(dialog.dataset.keepaliveUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 204) {
          dialog.close();
          start();
        } else {
          signedOut();
        }
      })
      .catch(signedOut);
  });
  closeButton.addEventListener("click", function () {
    dialog.close();
  });
  // Escape would only hide the warning; the session would still end.
  dialog.addEventListener("cancel", function (event) {
    event.preventDefault();
  });
  start();
})();
