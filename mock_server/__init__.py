"""care-sandbox: the sandbox server of the patient-consented health-data partner API."""

import warnings

# Connexion 3.3 imports Starlette's TestClient at start-up, which warns on every launch; the warning
# is about Starlette's test client, not anything the sandbox does, so users should not see it.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
