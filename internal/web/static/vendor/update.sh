#!/usr/bin/env bash
# Fetches the web UI's front-end packages from npm at pinned versions and copies
# the files Recado serves, with their licences, into this folder. The results
# are committed and embedded in the binary: there is no front-end build step
# and no CDN. Run it only to change a version; then commit the folder.
set -euo pipefail
cd "$(dirname "$0")"

HTMX=2.0.11          # htmx.org
HTMX_SSE=2.2.4       # htmx-ext-sse: live updates over server-sent events
PICO=2.1.1           # @picocss/pico: classless CSS

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && npm pack --silent "htmx.org@$HTMX" "htmx-ext-sse@$HTMX_SSE" "@picocss/pico@$PICO" >/dev/null )
for f in "$tmp"/*.tgz; do mkdir -p "${f%.tgz}" && tar -xzf "$f" -C "${f%.tgz}"; done

cp "$tmp/htmx.org-$HTMX/package/dist/htmx.min.js" htmx.min.js
cp "$tmp/htmx.org-$HTMX/package/LICENSE" htmx.LICENSE
cp "$tmp/htmx-ext-sse-$HTMX_SSE/package/dist/sse.min.js" htmx-sse.min.js
cp "$tmp/htmx-ext-sse-$HTMX_SSE/package/LICENSE" htmx-sse.LICENSE
cp "$tmp/picocss-pico-$PICO/package/css/pico.min.css" pico.min.css
cp "$tmp/picocss-pico-$PICO/package/LICENSE.md" pico.LICENSE.md
printf 'htmx.org %s\nhtmx-ext-sse %s\n@picocss/pico %s\n' "$HTMX" "$HTMX_SSE" "$PICO" > VERSIONS
echo "vendored: $(tr '\n' ' ' < VERSIONS)"
