#!/bin/sh
# Fill deploy/varnish/default.vcl's placeholders from the environment (as deploy/edge.py does for `make edge`), then
# run varnishd in the foreground. PURGERS: the hosts allowed to purge, space-separated names or addresses; a name
# is resolved when the VCL is compiled, so the app must be up first (compose.yaml waits for it to be healthy).
set -eu
acl=""
for purger in $PURGERS; do
  acl="$acl \"$purger\";"
done
sed -e "s|@BACKEND_HOST@|$BACKEND_HOST|" -e "s|@BACKEND_PORT@|$BACKEND_PORT|" \
  -e "s|@PURGERS@|$acl|" -e "s|@PROBE_INTERVAL@|$PROBE_INTERVAL|" \
  /etc/varnish/default.vcl.in > /etc/varnish/default.vcl
exec varnishd -F -a :6081 -f /etc/varnish/default.vcl -s "$VARNISH_STORAGE" -T none
