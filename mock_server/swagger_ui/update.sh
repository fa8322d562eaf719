#!/usr/bin/env bash
# Vendor Swagger UI from npm's swagger-ui-dist (the Swagger project's own build) into the package, so
# /ui/ is served from the sandbox itself with no CDN. Usage: mock_server/swagger_ui/update.sh [VERSION]
# The version is pinned in mock_server/swagger_ui/VERSION; pass a new one to upgrade, then run
# tests/mock_server/test_swagger_ui.py and tests/mock_server/test_browser.py and commit the changed files.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=mock_server/swagger_ui
version="${1:-$(cat "$dest/VERSION")}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "swagger-ui-dist@$version" >/dev/null && tar xzf "swagger-ui-dist-$version.tgz")
for file in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui-standalone-preset.js \
    swagger-ui-standalone-preset.js.LICENSE.txt swagger-ui.css index.css favicon-16x16.png \
    favicon-32x32.png oauth2-redirect.html oauth2-redirect.js LICENSE NOTICE; do
  cp "$work/package/$file" "$dest/$file"
done
# the source maps are left out on purpose (5 MB nobody reads in a sandbox)
sed -i 's://# sourceMappingURL=.*$::' "$dest"/*.js "$dest"/*.css
echo "$version" > "$dest/VERSION"
echo "Swagger UI $version vendored into $dest"
