"""Fixed values of the stand-in: fake credentials, identifier formats and list limits.

The credentials are obviously fake and only ever accepted by this stand-in. They have the length and
alphabet of the real ones (an account id is 32 hex characters, a Global API Key 37 lower-case letters and
digits), so clients that check formats accept them.
"""

from __future__ import annotations

import re
from typing import Final

API_PREFIX: Final = "/client/v4"

SANDBOX_ACCOUNT_ID: Final = "0000000000000000000000000000abcd"
SANDBOX_API_TOKEN: Final = "sandbox-api-token-not-a-real-secret"  # noqa: S105 -- fake, sandbox only
SANDBOX_EMAIL: Final = "sandbox@example.com"
SANDBOX_API_KEY: Final = "sandboxglobalapikeynotarealsecret0000"

# Cloudflare documents project names as `^[a-z0-9][a-z0-9-]*$`. The dashboard limits them to 58 characters
# so that `<name>-<3 chars>.pages.dev` stays a valid DNS label.
PROJECT_NAME_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,57}")
ACCOUNT_ID_PATTERN: Final = re.compile(r"[0-9a-f]{32}")
# Deployment and deploy hook ids are lower-case UUIDs, as the API returns them.
UUID_PATTERN: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# A Global API Key is 37 lower-case letters and digits; a key of another shape fails with code 6103.
GLOBAL_API_KEY_PATTERN: Final = re.compile(r"[0-9a-z]{37}")
EMAIL_PATTERN: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

DEFAULT_PER_PAGE: Final = 25
# Observed: `per_page` above 25 is rejected with code 8000024.
MAX_PER_PAGE: Final = 25

DEFAULT_RATE_LIMIT: Final = 1200
DEFAULT_RATE_WINDOW_SECONDS: Final = 300.0
DEFAULT_STAGE_SECONDS: Final = 2.0
