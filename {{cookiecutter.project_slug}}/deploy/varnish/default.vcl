# The edge: Varnish in front of the app, keeping the app's public reads and dropping them the moment a write
# purges their surrogate keys. The app decides what is kept and for how long (Surrogate-Control), and names what
# each kept response depends on (xkey); this file only follows that protocol.
#
# A template: `python -m deploy.edge` (`make edge`) writes it to var/edge/default.vcl with @BACKEND_HOST@ and
# @BACKEND_PORT@ (the app's gunicorn), @PURGERS@ (the addresses allowed to purge, as ACL entries such as
# `"127.0.0.1"; "::1";`) and @PROBE_INTERVAL@ (how often the health probe runs) filled in, and starts varnishd
# with it. The README's "The edge: Varnish" explains each rule and what it costs.
#
# Headers of the protocol, between the app and this file only (none reaches a client):
#   Surrogate-Control: max-age=3600, stale-while-revalidate=30, stale-if-error=86400
#       on a response the edge may keep: fresh for max-age, then served stale while a background fetch
#       refreshes it (stale-while-revalidate, backend healthy) or while the backend is sick (stale-if-error).
#   xkey: api.article api.author api.article:42 api.article#objects
#       the surrogate keys of a kept response; `PURGE /` with the same header drops every object holding one.

vcl 4.1;

import std;
import xkey;
import var;

probe health {
    # The app's health check: 200 when its database and cache answer, 503 otherwise. A sick backend makes the
    # edge serve what it holds for up to stale-if-error instead of passing errors on. The Host is one the
    # default DJANGO_ALLOWED_HOSTS holds; if yours leaves localhost out, name one of its hosts here.
    .request = "GET /health/ HTTP/1.1"
               "Host: localhost"
               "Connection: close"
               "User-Agent: varnish-probe";
    .interval = @PROBE_INTERVAL@;
    .timeout = 2s;
    # Sick after 2 failures among the last 3 polls, healthy again after 2 successes: one slow poll (a deploy,
    # a long garbage collection) does not flip it.
    .window = 3;
    .threshold = 2;
    # Start healthy, so the first requests after a start go to the app instead of waiting for the first polls.
    .initial = 2;
}

backend app {
    .host = "@BACKEND_HOST@";
    .port = "@BACKEND_PORT@";
    .probe = health;
    .connect_timeout = 2s;
    # Above gunicorn's 35 s timeout, so gunicorn ends a stuck request first and the edge reports its error.
    .first_byte_timeout = 40s;
    .between_bytes_timeout = 10s;
}

acl purgers {
    @PURGERS@
}

sub vcl_recv {
    if (req.method == "PURGE") {
        call edge_purge;
    }
    # Writes, OPTIONS and anything else go through to the app every time: only reads are ever kept.
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # A signed-in request may see what an anonymous one may not (drafts, per-user fields): never answer it from
    # what the edge holds, and never keep its answer. The app never marks such a response with Surrogate-Control,
    # so this pass only saves a lookup; it is also the guard should that ever change.
    if (req.http.Authorization || req.http.Cookie ~ "(^|;\s*)sessionid=") {
        return (pass);
    }
    # Any other cookie (csrftoken, analytics) changes nothing the app reads for an anonymous request, but would
    # split the cache by its value (Vary: Cookie) or, with the built-in rules, pass: drop them all.
    unset req.http.Cookie;
    if (req.restarts > 0 && req.http.X-Edge-Refetch) {
        # Restarted by vcl_hit: the object it found is stale beyond stale-while-revalidate and the backend is
        # healthy, so wait for a fresh copy (sharing one fetch with every request that also waits) instead.
        set req.grace = 0s;
    }
    # The edge's own request header: neither a client's nor the app's business.
    unset req.http.X-Edge-Refetch;
    return (hash);
}

sub edge_purge {
    if (client.ip !~ purgers) {
        return (synth(403, "Forbidden"));
    }
    # The app's health page sends a PURGE without keys to learn that the edge is reachable and accepts its
    # purges: answer it without dropping anything.
    if (!req.http.xkey) {
        return (synth(400, "No xkey header"));
    }
    # The race guard, part 1. The time goes in BEFORE the purge: a fetch that started before this moment may
    # have read the data the purge is about, so vcl_backend_response refuses to keep it even if it ends after
    # the purge below has run. Kept as the same text a REAL becomes (milliseconds, see edge_fetch_started).
    var.global_set("purged_at", "" + std.time2real(now, 0.0));
    # A hard purge, not xkey.softpurge: a soft-purged object stays in grace and could still be served, stale,
    # after the write that purged it. A purged object is gone, even when the backend is sick.
    return (synth(200, "Purged " + xkey.purge(req.http.xkey)));
}

sub vcl_hit {
    # Past max-age, within stale-while-revalidate: Varnish answers with the stale object and refreshes it in
    # the background. Past stale-while-revalidate (kept in the object as X-Edge-Stale-Limit) and the backend
    # healthy: do not serve it; restart the request without grace so it waits for the fresh copy. With the
    # backend sick, obj.grace (stale-if-error) is the only limit, so the object is served.
    if (obj.ttl < 0s && std.healthy(req.backend_hint)
        && obj.ttl + std.duration(obj.http.X-Edge-Stale-Limit, 0s) < 0s) {
        set req.http.X-Edge-Refetch = "1";
        return (restart);
    }
    return (deliver);
}

sub vcl_backend_fetch {
    call edge_fetch_started;
    return (fetch);
}

sub edge_fetch_started {
    # The race guard, part 2: when this fetch started. Per fetch (vmod var's task scope), so not sent to the
    # app. Rounded to milliseconds exactly as purged_at is: rounding keeps the order of two times, and a fetch
    # in the same millisecond as a purge counts as before it, the safe side.
    var.set("fetch_started", "" + std.time2real(now, 0.0));
}

sub vcl_backend_response {
    # A background refresh that got an error from the app (a 5xx) is dropped, so the stale object stays and
    # keeps being served within stale-while-revalidate, instead of a short-lived copy of the error taking its
    # place. (One that cannot reach the app at all already leaves the stale object in place.)
    if (bereq.is_bgfetch && beresp.status >= 500) {
        return (abandon);
    }
    # Only what the app marks with Surrogate-Control is kept: its public reads, which carry the xkey keys that
    # let a write purge them. Everything else (private or no-cache answers, 404s and other errors, the docs,
    # anything setting a cookie) is passed on and not kept; hit-for-miss for a few seconds, so the requests
    # behind it are not queued one by one on a fetch that will not be kept, and the next read still fetches.
    if (!beresp.http.Surrogate-Control || beresp.status != 200 || beresp.http.Set-Cookie) {
        set beresp.uncacheable = true;
        set beresp.ttl = 5s;
        return (deliver);
    }
    # The race guard, part 3. A write bumps its keys' versions in the app, and then purges them here. A read
    # whose database read happened before that bump holds the old data; its fetch started before its
    # database read, hence before the bump, hence before the purge was recorded (part 1). So every response
    # that may hold data a purge was meant to remove comes from a fetch that started at or before purged_at:
    # deliver it to the one client that asked, keep nothing. Without this, a slow read that ends just after the
    # purge would be stored and served, stale, for max-age. The cost: every fetch in flight during any purge
    # (of any key) is not kept; under a purge every few milliseconds little is kept at all.
    if (std.real(var.get("fetch_started"), 0.0)
        <= std.real(var.global_get("purged_at"), -1.0)) {
        set beresp.uncacheable = true;
        set beresp.ttl = 0s;
        return (deliver);
    }
    call edge_lifetimes;
    return (deliver);
}

sub edge_lifetimes {
    # Surrogate-Control decides, not Cache-Control: the app's Cache-Control speaks to browsers and other caches
    # (max-age=0, revalidate every time), Surrogate-Control to this edge, which purges keep current.
    set beresp.ttl = std.duration(
        regsub(beresp.http.Surrogate-Control, "^(?:.*[,\s])?max-age=(\d+).*$", "\1s"), 0s);
    set beresp.http.X-Edge-Stale-Limit = regsub(beresp.http.Surrogate-Control,
        "^(?:.*[,\s])?stale-while-revalidate=(\d+).*$", "\1s");
    if (beresp.http.X-Edge-Stale-Limit !~ "^\d+s$") {
        set beresp.http.X-Edge-Stale-Limit = "0s";
    }
    # Grace is the longest any request may be answered stale: stale-if-error, when the backend is sick.
    # vcl_hit holds a healthy backend's requests to the shorter stale-while-revalidate.
    set beresp.grace = std.duration(
        regsub(beresp.http.Surrogate-Control, "^(?:.*[,\s])?stale-if-error=(\d+).*$", "\1s"),
        std.duration(beresp.http.X-Edge-Stale-Limit, 0s));
}

sub vcl_deliver {
    # Whether the edge answered from what it holds: HIT (fresh or stale), or MISS (fetched, passed or not kept
    # alike; a pass is not told apart).
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    # The protocol stays between the app and the edge: a client or another cache must not act on it.
    unset resp.http.xkey;
    unset resp.http.Surrogate-Control;
    unset resp.http.X-Edge-Stale-Limit;
    return (deliver);
}

sub vcl_synth {
    # PURGE answers and Varnish's own errors, as plain text without the built-in HTML page.
    set resp.http.Content-Type = "text/plain; charset=utf-8";
    set resp.body = resp.reason + {"
"};
    return (deliver);
}
