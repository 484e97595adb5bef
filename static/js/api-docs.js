// Renders /api/docs: Swagger UI reading the OpenAPI document named on #swagger-ui.
// Kept in a file (no inline script), so the Content-Security-Policy needs no 'unsafe-inline'.
document.addEventListener("DOMContentLoaded", () => {
  const target = document.getElementById("swagger-ui");
  if (!target || typeof window.SwaggerUIBundle !== "function") return;
  window.SwaggerUIBundle({
    url: target.dataset.specUrl,
    domNode: target,
    deepLinking: true,
    // Never send the document to an outside validator.
    validatorUrl: null,
    // A token given with Authorize stays for the next visit (in this browser's storage).
    persistAuthorization: true,
  });
});
