// Proves the proxy path: asks okapi-server for its WSDL through Apache's /okapi
// ProxyPass, and shows the HTTP status it answers with.
"use strict";
fetch("/okapi?wsdl", { method: "GET", credentials: "same-origin" })
  .then(function (r) {
    document.getElementById("server").textContent =
      "okapi-server answered through the proxy: HTTP " + r.status;
  })
  .catch(function (e) {
    document.getElementById("server").textContent =
      "okapi-server is not reachable through the proxy: " + e;
  });
