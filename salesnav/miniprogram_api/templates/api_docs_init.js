// Starts Swagger UI on the API's own document (a file, not an inline script: the page's CSP allows no inline code).
window.addEventListener('load', function () {
  var root = document.getElementById('swagger-ui')
  window.ui = SwaggerUIBundle({
    url: root.getAttribute('data-spec-url'),
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: true,
    tryItOutEnabled: false,
  })
})
