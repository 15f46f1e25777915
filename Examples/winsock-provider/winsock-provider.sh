#!/bin/sh
# Starts the Winsock provider under Wine: a prefix of Teardown's own (created on first use, in a few seconds),
# Wine's messages off, the wineserver started first so that the provider can name it to the harness: it holds
# every socket the provider has open, and the harness's descriptor audit looks at it too.
#   teardown run --provider exec:'Examples/winsock-provider/winsock-provider.sh'
# The program itself: .build/winsock-provider/winsock_provider.exe (make winsock-provider), or WINSOCK_PROVIDER.
# With --stop: stops the prefix's wineserver now.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
wineserver=$(command -v wineserver || echo /usr/lib/wine/wineserver64)
export WINEDEBUG=-all
export WINEPREFIX="${TEARDOWN_WINEPREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/teardown/wine}"
if [ "${1:-}" = --stop ]; then
  "$wineserver" -k 2>/dev/null || true
  exit 0
fi
program=${WINSOCK_PROVIDER:-$here/../../.build/winsock-provider/winsock_provider.exe}
[ -f "$program" ] || { echo "winsock-provider: $program is missing; build it with: make winsock-provider" >&2; exit 1; }
wine=$(command -v wine64 || command -v wine || echo /usr/lib/wine/wine64)
[ -x "$wine" ] || { echo "winsock-provider: Wine is missing; install it with: sudo apt-get install -y wine64" >&2; exit 1; }
mkdir -p "$WINEPREFIX"
# The prefix's server, started if it is not running, to end as soon as its last client does (-p0): no wineserver
# outlives the run. (One that a Wine program starts by itself would stay 3 s more.)
"$wineserver" -p0 >/dev/null 2>&1 || true
server=0
for pid in $(pgrep -x wineserver64 || true) $(pgrep -x wineserver || true); do
  if tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "WINEPREFIX=$WINEPREFIX"; then server=$pid; fi
done
exec "$wine" "$program" "$server"
