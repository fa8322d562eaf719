"""The sandbox console at ``/console/``: Stripe's dashboard for this API, served by the sandbox itself.

Server-rendered Jinja2 pages and one small plain-JS file (no build step, no CDN). The console is a
*client* of the API, in process: every page and button is an API call (``api.InProcessApi``) made with
the signed-in workspace key through the same stack as any integrator's call — scopes, validation,
handlers and domain services included — so there is no second implementation of any business rule.
"""
