#!/usr/bin/env python3
"""Generates the hostile-request corpus for tests/reliability (corpus_test.cpp).

Each request is one file `NNN-<slug>.<status>.http` holding the raw bytes sent on a fresh
connection (the test then half-closes its side). <status> is the answer docs/receiver.md
documents; 0 means "no answer: the connection is closed" (a request cut off before its end).

The signed requests use the secret of tests/receiver/receiver_process.hpp (kReceiverSecret) and
assume the limits the corpus test configures: body_limit_bytes 262144, header_limit_bytes 16384.

Run from anywhere: `python3 tests/reliability/corpus/generate.py` rewrites every *.http file
next to this script (old ones are removed first). The output is deterministic.
"""
import hashlib
import hmac
import os
import random

SECRET = b"It's a Secret to Everybody"
BODY_LIMIT = 262144
HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(8)
cases = []  # (slug, status, bytes)


def sign(body, secret=SECRET):
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def delivery():
    return "%08x-%04x-%04x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16),
                                          rng.getrandbits(16), rng.getrandbits(16),
                                          rng.getrandbits(48))


PUSH = (b'{"ref":"refs/heads/main","after":"' + b"a" * 40 +
        b'","repository":{"full_name":"ducompsoc/durhack"}}')


def request(body=PUSH, event="push", deliv=None, sig=None, ctype="application/json",
            method="POST", path="/github-webhook", extra=(), omit=(), length=None,
            chunked=False, version="HTTP/1.1"):
    """A GitHub-style request; every header can be overridden, left out or duplicated."""
    deliv = delivery() if deliv is None else deliv
    sig = sign(body) if sig is None else sig
    headers = [("Host", "127.0.0.1"), ("User-Agent", "GitHub-Hookshot/abc123"),
               ("Content-Type", ctype), ("X-GitHub-Event", event),
               ("X-GitHub-Delivery", deliv), ("X-GitHub-Hook-ID", "123456"),
               ("X-Hub-Signature-256", sig)]
    headers = [(n, v) for n, v in headers if n.lower() not in {o.lower() for o in omit}]
    if chunked:
        headers.append(("Transfer-Encoding", "chunked"))
    else:
        headers.append(("Content-Length", str(len(body)) if length is None else length))
    headers.append(("Connection", "close"))
    headers += list(extra)
    head = f"{method} {path} {version}\r\n".encode()
    for n, v in headers:
        n = n.encode() if isinstance(n, str) else n
        v = v.encode() if isinstance(v, str) else v
        head += n + b": " + v + b"\r\n"
    payload = body
    if chunked:
        payload = b""
        for i in range(0, len(body), 1000):
            part = body[i:i + 1000]
            payload += b"%x\r\n" % len(part) + part + b"\r\n"
        payload += b"0\r\n\r\n"
    return head + b"\r\n" + payload


def add(slug, status, data):
    cases.append((slug, status, data))


# --- valid requests (baselines the receiver must accept) -------------------------------------
add("valid-push", 202, request())
add("valid-push-chunked", 202, request(chunked=True))
add("valid-ping", 202, request(event="ping", body=b'{"zen":"Design for failure.","hook_id":1}'))
add("valid-form", 202, request(ctype="application/x-www-form-urlencoded",
                               body=b"payload=%7B%22zen%22%3A%22x%22%7D"))
add("valid-charset-param", 202, request(ctype="application/json; charset=utf-8"))

# --- not HTTP / truncated ---------------------------------------------------------------------
add("garbage", 400, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)))
add("http2-preface", 400, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
add("http09", 400, b"GET /\r\n\r\n")
add("bad-version", 400, b"POST /github-webhook HTTP/9.9\r\nHost: x\r\n\r\n")
add("lowercase-version", 400, b"GET / http/1.1\r\nHost: x\r\n\r\n")
add("space-in-target", 400, b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n")
add("no-target", 400, b"GET  HTTP/1.1\r\nHost: x\r\n\r\n")
add("only-crlf", 400, b"\r\n\r\n\r\n\r\n")
add("binary-method", 400, b"\x00\x01\x02 / HTTP/1.1\r\n\r\n")
add("ctl-in-method", 400, b"PO\x7fST /github-webhook HTTP/1.1\r\nHost: x\r\n\r\n")
full = request()
head_end = full.index(b"\r\n\r\n")
for cut in [1, 5, 16, 30, 60, 100, 150, 200, 250, head_end - 10, head_end, head_end + 2]:
    if cut < head_end + 2:
        add(f"truncated-head-at-{cut}", 0, full[:cut])
for cut in [1, 10, 50, 100]:
    add(f"truncated-body-missing-{cut}", 0, full[:-cut])
add("truncated-chunked-no-last", 0, request(chunked=True)[:-5])
add("truncated-chunked-mid-chunk", 0, request(chunked=True)[:-30])

# --- Content-Length ---------------------------------------------------------------------------
for i, value in enumerate(["abc", "-1", "+10", "1.5", "0x10", "1e3", " ", "", "10 10",
                           "99999999999999999999999999", "18446744073709551616", "\x0b5"]):
    add(f"bad-content-length-{i}", 400, request(length=value))
# RFC 9110 8.6: a list of identical values may be taken as one value: a 1-byte body, whose
# signature does not match.
add("content-length-list", 401, request(length="1,1"))
add("conflicting-content-length", 400,
    request(extra=[("Content-Length", "5")]))
add("content-length-and-chunked", 400,
    request(extra=[("Transfer-Encoding", "chunked")]))
# The body is cut to Content-Length: the signature (of the whole text) no longer matches.
add("content-length-too-short-json", 401, request(length=str(len(PUSH) - 10)))
add("content-length-zero", 400, request(body=b"", length="0"))
add("over-limit-content-length", 413, request(length=str(BODY_LIMIT + 1))[:2000])
add("huge-content-length", 413, request(length="1099511627776"))

# --- Transfer-Encoding ------------------------------------------------------------------------
def chunked_raw(chunks):
    base = request(chunked=True)
    head = base[:base.index(b"\r\n\r\n") + 4]
    return head + chunks


add("chunk-size-not-hex", 400, chunked_raw(b"zz\r\nabc\r\n0\r\n\r\n"))
add("chunk-size-negative", 400, chunked_raw(b"-5\r\nabcde\r\n0\r\n\r\n"))
add("chunk-size-overflow", 400, chunked_raw(b"ffffffffffffffffffffff\r\nabc\r\n0\r\n\r\n"))
add("chunk-missing-crlf", 400, chunked_raw(b"3\r\nabcXX0\r\n\r\n"))
add("chunk-longer-than-size", 400, chunked_raw(b"2\r\nabcdef\r\n0\r\n\r\n"))
add("chunk-size-space", 400, chunked_raw(b"3 3\r\nabc\r\n0\r\n\r\n"))
# Beast waits for CRLF; the half-close ends the request unanswered.
add("chunk-bare-lf", 0, chunked_raw(b"3\nabc\n0\n\n"))
add("chunk-over-limit", 413,
    chunked_raw(b"".join(b"%x\r\n" % 60000 + b"{" * 60000 + b"\r\n" for _ in range(5)) +
                b"0\r\n\r\n"))
add("chunk-declared-over-limit", 413, chunked_raw(b"%x\r\n" % (BODY_LIMIT * 4) + b"{" * 100))
for i, te in enumerate(["gzip", "chunked, gzip", "identity", "xchunked", "chunked\x00"]):
    raw = request(chunked=True)
    raw = raw.replace(b"Transfer-Encoding: chunked", b"Transfer-Encoding: " + te.encode())
    add(f"transfer-encoding-{i}", 400, raw)
add("transfer-encoding-twice", 400,
    request(chunked=True, extra=[("Transfer-Encoding", "chunked")]))

# --- header limits and header syntax ----------------------------------------------------------
add("header-too-large", 431, request(extra=[("X-Pad", "a" * 20000)]))
add("many-headers", 431, request(extra=[(f"X-H{i}", "v" * 20) for i in range(1000)]))
add("long-target", 431, request(path="/github-webhook?" + "a" * 20000))
add("long-header-name", 431, request(extra=[("X" * 17000, "v")]))
add("header-no-colon", 400, request(extra=[("X-Broken", "")]).replace(b"X-Broken: ", b"X-Broken"))
add("header-space-before-colon", 400, request(extra=[("X-Space ", "v")]))
# RFC 9112 5.2: obs-fold may be replaced by a space; the header is not one the receiver uses.
add("header-obs-fold", 202, request(extra=[("X-Fold", "a\r\n b")]))
add("header-bare-cr", 400, request(extra=[("X-CR", "a\rb")]))
add("header-bare-lf-injection", 400, request(extra=[("X-LF", "a\nX-Injected: 1")]))
add("header-nul", 400, request(extra=[("X-Nul", "a\x00b")]))
add("header-name-nul", 400, request(extra=[("X-N\x00ul", "v")]))
add("header-name-utf8", 400, request(extra=[("X-\xc3\xa9".encode("latin-1"), "v")]))
add("header-ctl", 400, request(extra=[("X-Ctl", "a\x01b")]))
add("crlf-injection-in-event", 400, request(event="push\r\nX-Hub-Signature-256: sha256=00"))
add("lf-injection-in-delivery", 400, request(deliv="abc\nX-Evil: 1"))

# --- GitHub headers -----------------------------------------------------------------------------
for h in ["X-GitHub-Event", "X-GitHub-Delivery", "X-Hub-Signature-256"]:
    add(f"missing-{h.lower()}", 400, request(omit=[h]))
    add(f"empty-{h.lower()}", 400, request(extra=[], **{
        "X-GitHub-Event": {"event": ""}, "X-GitHub-Delivery": {"deliv": ""},
        "X-Hub-Signature-256": {"sig": ""}}[h]))
add("event-twice", 400, request(extra=[("X-GitHub-Event", "ping")]))
add("event-twice-same", 400, request(extra=[("X-GitHub-Event", "push")]))
add("delivery-twice", 400, request(extra=[("X-GitHub-Delivery", delivery())]))
add("signature-twice", 400, request(extra=[("X-Hub-Signature-256", sign(PUSH))]))
add("signature-twice-other", 401 if False else 400,
    request(extra=[("X-Hub-Signature-256", sign(b"other"))]))
for i, event in enumerate(["PUSH", "push;rm -rf /", "pu sh", "push\x00", "../push", "p" * 65,
                           "push$(id)", "push`id`", "é", "\tpush\x0b"]):
    add(f"bad-event-{i}", 400, request(event=event.encode("utf-8", "surrogateescape")))
for i, d in enumerate(["../../etc/passwd", "..", ".", "a/b", "/abs", "a\\b", "a..b/../c",
                       "%2e%2e%2f", "a b", "a;rm -rf /", "$(reboot)", "`id`", "a|b", "a&b",
                       "a>b", "a*", "a?", "~root", "x" * 101, "é", "a.json", ".hidden",
                       "a:b", "a\tb", "a'b", 'a"b', "{a}", "a=b", "a,b", "a@b"]):
    add(f"bad-delivery-{i}", 400, request(deliv=d.encode("utf-8")))
for i, hook in enumerate(["", "abc", "-1", "1" * 21, "12 34", "0x10", "1;2", "../1"]):
    add(f"bad-hook-id-{i}", 400, request(extra=[("X-GitHub-Hook-ID", hook)]))
add("hook-id-twice", 400, request(extra=[("X-GitHub-Hook-ID", "654321")]))

# --- signatures -------------------------------------------------------------------------------
hexsig = sign(PUSH)[len("sha256="):]
for i, sig in enumerate([
        "sha1=" + hashlib.sha1(PUSH).hexdigest(), "sha1=" + hexsig, "SHA256=" + hexsig,
        "sha256 =" + hexsig, "sha256:" + hexsig, "sha256=" + hexsig[:-1], "sha256=" + hexsig + "0",
        "sha256=" + hexsig[:-2] + "zz", hexsig, "sha512=" + hexsig, "sha256=" + hexsig + "\x0b",
        "sha256=", "sha256=" + "0" * 64 + "," + hexsig, "sha256=\x00" + hexsig[1:],
        "sha256=" + hexsig[:32] + " " + hexsig[33:], "sha256=" + hexsig * 2]):
    add(f"bad-signature-syntax-{i}", 400, request(sig=sig))
for i, other in enumerate([b"", b"{}", PUSH + b" ", PUSH[:-1], b"x" * 1000]):
    add(f"signature-of-other-body-{i}", 401, request(sig=sign(other)))
for i, secret in enumerate([b"", b"wrong", SECRET + b"\n", SECRET.upper(), b"It's a Secret"]):
    add(f"signature-other-secret-{i}", 401, request(sig=sign(PUSH, secret)))
add("signature-all-zero", 401, request(sig="sha256=" + "0" * 64))
add("unsigned-bad-content-type", 401, request(sig="sha256=" + "f" * 64, ctype="text/plain"))
add("unsigned-bad-body", 401, request(body=b"[not json", sig="sha256=" + "1" * 64))

# --- content types ----------------------------------------------------------------------------
for i, ct in enumerate(["text/plain", "application/xml", "multipart/form-data; boundary=x",
                        "application/jsonx", "json", "*/*", "application/x-www-form-urlencodedx",
                        "text/json"]):
    add(f"content-type-{i}", 415, request(ctype=ct))
add("content-type-missing", 415, request(omit=["Content-Type"]))

# --- bodies (signed, so they reach the payload checks) ----------------------------------------
bodies = {
    "empty-body": b"",
    "not-json": b"hello",
    "json-array": b"[1,2,3]",
    "json-string": b'"push"',
    "json-number": b"42",
    "json-null": b"null",
    "json-true": b"true",
    "two-objects": b"{}{}",
    "object-then-garbage": b'{"a":1} x',
    "trailing-comma": b'{"a":1,}',
    "single-quotes": b"{'a':1}",
    "unterminated-string": b'{"a":"b}',
    "unterminated-object": b'{"a":{"b":1}',
    "bad-escape": b'{"a":"\\x41"}',
    "lone-surrogate-escape-bad": b'{"a":"\\ud800\\u0041"}',
    "invalid-utf8-c0": b'{"a":"\xc0\xaf"}',
    "invalid-utf8-ff": b'{"a":"\xff\xfe"}',
    "invalid-utf8-truncated": b'{"a":"\xe2\x82"}',
    "invalid-utf8-surrogate": b'{"a":"\xed\xa0\x80"}',
    "invalid-utf8-overlong": b'{"a":"\xf0\x82\x82\xac"}',
    "invalid-utf8-too-big": b'{"a":"\xf4\x90\x80\x80"}',
    "invalid-utf8-key": b'{"\x80":1}',
    "nul-in-string": b'{"a":"b\x00c"}',
    "nul-after-object": b'{"a":1}\x00',
    "nul-before-object": b'\x00{"a":1}',
    "control-char-in-string": b'{"a":"b\x01c"}',
    "nested-100000-arrays": b'{"a":' + b"[" * 100000 + b"]" * 100000 + b"}",
    "nested-50000-objects": b'{"a":' + b'{"":' * 50000 + b"1" + b"}" * 50000 + b"}",
    "nested-100000-unclosed": b'{"a":' + b"[" * 100000,
    "nested-512": b'{"a":' + b"[" * 511 + b"]" * 511 + b"}",
    "nan": b'{"a":NaN}',
    "infinity": b'{"a":Infinity}',
    "leading-zero": b'{"a":01}',
    "hex-number": b'{"a":0x10}',
    "plus-number": b'{"a":+1}',
    "comment": b'{"a":1 /* c */}',
    "bom-then-object": b'\xef\xbb\xbf{"a":1}',
    # Numbers nlohmann cannot hold and unpaired surrogates: every reader would refuse the entry,
    # so the receiver refuses the request.
    "huge-number": b'{"a":' + b"9" * 5000 + b"}",
    "huge-exponent": b'{"a":1e999999999}',
    "lone-surrogate-escape": b'{"a":"\\ud800"}',
    "nul-then-garbage": b'{"a":1}\x00{{{{',
}
for slug, body in bodies.items():
    add(f"body-{slug}", 400, request(body=body))
# Valid JSON objects that are hostile only to what comes later (router, deployer): accepted.
accepted = {
    "duplicate-keys": b'{"ref":"refs/heads/main","ref":"refs/heads/evil","after":"' + b"b" * 40 +
                      b'","repository":{"full_name":"ducompsoc/durhack"}}',
    "negative-huge": b'{"a":-' + b"9" * 400 + b".5e-99999}",
    "nested-500": b'{"a":' + b"[" * 500 + b"]" * 500 + b"}",
    "escaped-nul": b'{"a":"\\u0000"}',
    "ref-shell-metachar": b'{"ref":"refs/heads/main;rm -rf /","after":"' + b"c" * 40 +
                          b'","repository":{"full_name":"ducompsoc/durhack"}}',
    "ref-backticks": b'{"ref":"refs/heads/`reboot`","after":"' + b"c" * 40 +
                     b'","repository":{"full_name":"ducompsoc/durhack"}}',
    "ref-dotdot": b'{"ref":"refs/heads/../../etc","after":"' + b"c" * 40 +
                  b'","repository":{"full_name":"ducompsoc/durhack"}}',
    "repo-shell-metachar": b'{"ref":"refs/heads/main","after":"' + b"c" * 40 +
                           b'","repository":{"full_name":"ducompsoc/durhack$(id)"}}',
    "repo-path-traversal": b'{"ref":"refs/heads/main","after":"' + b"c" * 40 +
                           b'","repository":{"full_name":"../../durhack"}}',
    "sha-option-injection": b'{"ref":"refs/heads/main","after":"--upload-pack=touch /tmp/pwn",'
                            b'"repository":{"full_name":"ducompsoc/durhack"}}',
    "ref-newline": b'{"ref":"refs/heads/main\\nrm","after":"' + b"c" * 40 +
                   b'","repository":{"full_name":"ducompsoc/durhack"}}',
    "unicode-escapes": b'{"a":"\\ud83d\\ude00 \\u00e9"}',
    "many-keys": b"{" + b",".join(b'"k%d":%d' % (i, i) for i in range(5000)) + b"}",
    "whitespace-around": b' \r\n\t{"a":1} \n',
}
for slug, body in accepted.items():
    add(f"accepted-{slug}", 202, request(body=body))
add("form-two-payloads", 400, request(ctype="application/x-www-form-urlencoded",
                                      body=b"payload=%7B%7D&payload=%7B%7D"))
add("form-no-payload", 400, request(ctype="application/x-www-form-urlencoded", body=b"a=1"))
add("form-bad-escape", 400, request(ctype="application/x-www-form-urlencoded",
                                    body=b"payload=%7G%7D"))
add("form-payload-array", 400, request(ctype="application/x-www-form-urlencoded",
                                       body=b"payload=%5B%5D"))
add("form-payload-deep", 400, request(ctype="application/x-www-form-urlencoded",
                                      body=b"payload=" + b"%5B" * 20000))
add("form-payload-nul", 400, request(ctype="application/x-www-form-urlencoded",
                                     body=b"payload=%7B%22a%22%3A%22%00%22%7D"))

# Obsolete whitespace around a header value is not part of it (RFC 9110 5.5).
add("event-with-ows", 202, request(event="\tpush "))
add("signature-with-ows", 202, request(sig=" " + sign(PUSH) + "\t"))

# --- methods and paths ------------------------------------------------------------------------
for i, m in enumerate(["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]):
    add(f"method-{m.lower()}", 405, request(method=m))
for i, p in enumerate(["/", "/github-webhook/", "/GITHUB-WEBHOOK", "/../github-webhook",
                       "/github-webhook/../etc/passwd", "//github-webhook", "/%67ithub-webhook",
                       "/github-webhook%00", "/x"]):
    status = 405 if p == "/" else 404
    add(f"path-{i}", status, request(path=p))
add("absolute-form-target", 404, request(path="http://evil.example/github-webhook"))
add("asterisk-target", 404, request(path="*"))


def main():
    for name in os.listdir(HERE):
        if name.endswith(".http"):
            os.remove(os.path.join(HERE, name))
    seen = set()
    for i, (slug, status, data) in enumerate(cases):
        assert slug not in seen, slug
        seen.add(slug)
        with open(os.path.join(HERE, f"{i:03d}-{slug}.{status}.http"), "wb") as f:
            f.write(data)
    print(f"{len(cases)} requests written to {HERE}")


if __name__ == "__main__":
    main()
