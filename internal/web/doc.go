// Package web is Recado's web UI for operators and managers: server-rendered
// pages (html/template) made lively with htmx, and live updates over
// server-sent events, in Portuguese (pt-BR, the default) and English.
//
// Everything the browser needs is embedded in the binary: the templates,
// our CSS, and the vendored htmx and Pico CSS (static/vendor, fetched from
// npm at pinned versions by static/vendor/update.sh). Nothing comes from a
// CDN.
//
// Sign-in makes a session (github.com/alexedwards/scs, kept in the database
// so that every instance shares it): the cookie is HttpOnly, SameSite=Lax,
// Secure behind HTTPS, and renewed at sign-in so that a session id fixed
// before cannot be used after. Failed sign-ins are throttled per account and
// per address (auth.Throttle, counted in the database). Every state-changing
// request must carry the session's CSRF token, and cross-origin ones are
// refused outright (http.CrossOriginProtection).
//
// Every handler checks the signed-in user's permission itself: hiding a
// button is never the permission. Handlers are thin: they decode a form,
// call the same services the REST API calls, and render.
package web
