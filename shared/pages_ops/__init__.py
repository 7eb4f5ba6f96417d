"""pages_ops: the Lambda layer of cf-pages-ops.

Modules, by concept: `config` (environment variables), `credentials` (the secret), `client` and `transport`
(the Cloudflare Pages API), `models`, `errors`, `timing` (deadline, rate limiter, retries) and `runtime`
(objects reused across warm invocations). Nothing is imported here, so a handler pays at cold start only for
the modules it uses.
"""

__version__ = "0.1.0"
