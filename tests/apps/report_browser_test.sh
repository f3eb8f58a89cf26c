#!/usr/bin/env bash
# Opens the page `gradscope report` writes in headless Chromium and checks that every image loaded
# (the page's own check: data-images="loaded N" on <body>, naturalWidth > 0 for each) and that the
# console shows nothing (the page logs only a failed image; a script error is logged too).
# Exit 77 (ctest: skipped) when chromium is not installed.
# Usage: report_browser_test.sh GRADSCOPE [SCREENSHOT.png]
set -euo pipefail
gradscope=$1
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "skipped: chromium is not installed (apt-get install chromium)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$gradscope" report --out "$work/report" --iters 500 >"$work/stdout" 2>"$work/stderr" || {
  cat "$work/stderr"
  exit 1
}
page="file://$work/report/index.html"
flags=(--headless --disable-gpu --no-sandbox --user-data-dir="$work/profile"
  --virtual-time-budget=10000)
timeout 120 "$browser" "${flags[@]}" --enable-logging=stderr --v=0 --dump-dom "$page" \
  >"$work/dom.html" 2>"$work/browser.log" || {
  echo "chromium failed:"
  tail -5 "$work/browser.log"
  exit 1
}
loaded=$(grep -o 'data-images="[^"]*"' "$work/dom.html" || true)
images=$(grep -o '<img ' "$work/report/index.html" | wc -l)
echo "images on the page: $images; in the browser: ${loaded:-no check ran}"
status=0
if [ "$loaded" != "data-images=\"loaded $images\"" ] || [ "$images" -eq 0 ]; then
  echo "FAIL: not every image loaded"
  status=1
fi
if grep -q ':CONSOLE' "$work/browser.log"; then
  echo "FAIL: the console shows:"
  grep ':CONSOLE' "$work/browser.log"
  status=1
fi
if [ $status -eq 0 ] && [ $# -ge 2 ]; then
  timeout 120 "$browser" "${flags[@]}" --hide-scrollbars --window-size=1200,2400 \
    --screenshot="$2" "$page" >/dev/null 2>&1
  echo "screenshot: $2"
fi
exit $status
