"""The status page: managed projects, their live and newest deployments, and preview links, over HTTP.

Modules, by concept: `cache` (per-container cache with stale fallback) and `service` (what is fetched from
Cloudflare, concurrently). `display` makes text, links and times safe for people, and `html`, `badge` and
`document` are the three representations. `auth` checks optional HTTP Basic auth, `mount` finds where API
Gateway mounted the routes, and `web` does routing, headers and ETags and contains the Lambda entry point.
Nothing is imported here, so each module pays at import only for what it uses.
"""
