(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("gateway-config").textContent);
  var root = document.getElementById("gateway");
  var current = config.state;
  var deadline = null;
  var redirecting = false;
  var pollTimer = null;

  function all(selector) { return Array.prototype.slice.call(document.querySelectorAll(selector)); }
  function setField(name, value) {
    all('[data-field="' + name + '"]').forEach(function (element) { element.textContent = value; });
  }
  function pad(number) { return (number < 10 ? "0" : "") + number; }

  function tick() {
    if (deadline === null) { return; }
    var left = Math.max(0, Math.round((deadline - performance.now()) / 1000));
    var hours = Math.floor(left / 3600), minutes = Math.floor((left % 3600) / 60), seconds = left % 60;
    setField("time_left", hours ? hours + ":" + pad(minutes) + ":" + pad(seconds) : minutes + ":" + pad(seconds));
  }

  function replaceQr() {
    fetch(config.qrUrl, { cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (svg) {
        var figure = document.querySelector('[data-field="qr"]');
        if (svg && figure) { figure.innerHTML = svg; }
      })
      .catch(function () {});
  }

  function show(state) {
    if (current.phase === "choose" && state.phase !== "choose") {
      window.location.reload();
      return;
    }
    root.dataset.status = state.status;
    all("[data-phases]").forEach(function (element) {
      element.hidden = element.dataset.phases.split(" ").indexOf(state.phase) < 0;
    });
    all("[data-statuses]").forEach(function (element) {
      element.hidden = element.dataset.statuses.split(" ").indexOf(state.status) < 0;
    });
    var banner = document.querySelector("[data-phase-class]");
    if (banner) { banner.className = "status status-" + state.phase; }
    if (state.headline !== current.headline) { setField("headline", state.headline); }
    if (state.detail !== current.detail) { setField("detail", state.detail); }
    if (state.amount_due !== null) { setField("amount_due", state.amount_due); }
    if (state.paid !== null) { setField("paid", state.paid); }
    setField("confirmations", String(state.confirmations));
    if (state.payment_uri && state.payment_uri !== current.payment_uri) {
      all('[data-field="wallet_link"]').forEach(function (link) { link.href = state.payment_uri; });
      replaceQr();
    }
    deadline = state.seconds_left === null ? null : performance.now() + state.seconds_left * 1000;
    tick();
    if (state.redirect_url && !redirecting) {
      redirecting = true;
      all('[data-field="redirect_link"]').forEach(function (link) { link.href = state.redirect_url; link.hidden = false; });
      all('[data-field="redirect_notice"]').forEach(function (notice) { notice.hidden = false; });
      window.setTimeout(function () { window.location.assign(state.redirect_url); }, config.redirectDelaySeconds * 1000);
    }
    current = state;
  }

  function poll() {
    window.clearTimeout(pollTimer);
    fetch(config.statusUrl, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) { if (state) { show(state); } })
      .catch(function () {})
      .then(function () {
        if (!redirecting) { pollTimer = window.setTimeout(poll, config.pollSeconds * 1000); }
      });
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) { return navigator.clipboard.writeText(text); }
    var scratch = document.createElement("textarea");
    scratch.value = text;
    scratch.setAttribute("readonly", "");
    scratch.className = "visually-hidden";
    document.body.appendChild(scratch);
    scratch.select();
    document.execCommand("copy");
    document.body.removeChild(scratch);
    return Promise.resolve();
  }

  all("[data-copy]").forEach(function (button) {
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.dataset.copy);
      copy(source.textContent.trim()).then(function () {
        button.textContent = config.copied;
        window.setTimeout(function () { button.textContent = label; }, 2000);
      }).catch(function () {});
    });
  });

  all("form[data-async]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button");
      button.disabled = true;
      fetch(form.action, { method: "POST", body: new FormData(form), headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (body) { setField("test_note", body.message); })
        .catch(function () {})
        .then(function () { button.disabled = false; poll(); });
    });
  });

  window.setInterval(tick, 1000);
  show(current);
  pollTimer = window.setTimeout(poll, config.pollSeconds * 1000);
})();
