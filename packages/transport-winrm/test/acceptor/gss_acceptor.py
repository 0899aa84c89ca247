#!/usr/bin/python3
"""An independent NTLM/SPNEGO acceptor for psremote's tests: MIT GSSAPI (python3-gssapi) with the gss-ntlmssp
mechanism. It reads JSON requests, one per line, on stdin and answers each with one JSON line on stdout.

Run with NTLM_USER_FILE pointing at lines `DOMAIN:User:Password`. Requests:
  {"op": "init", "mech": "ntlm" | "spnego", "cb": <hex application data> | null}
  {"op": "step", "token": <b64>}             -> {"token": <b64> | null, "complete": bool, "initiator": str}
  {"op": "unwrap", "header": <b64>, "data": <b64>} -> {"data": <b64>, "encrypted": bool}
  {"op": "wrap", "data": <b64>}              -> {"header": <b64>, "data": <b64>}
  {"op": "unwrap_winrm", "contentType": str, "body": <b64>} -> {"data": <b64>, "length": int}
  {"op": "wrap_winrm", "data": <b64>}        -> {"contentType": str, "body": <b64>}
Any failure answers {"error": "<GSS error or parse problem>"}; the process keeps serving.

The MS-WSMV 2.2.9.1 multipart parsing and building here is written from the spec independently of the
TypeScript code under test, so that a shared misreading would have to happen twice.
"""
import base64
import json
import re
import struct
import sys

import gssapi
import gssapi.raw

NTLM = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = b"--Encrypted Boundary"

ctx = None


def b64(b):
    return base64.b64encode(b).decode("ascii")


def unb64(s):
    return base64.b64decode(s) if s else b""


def init(req):
    global ctx
    cb = None
    if req.get("cb") is not None:
        cb = gssapi.raw.ChannelBindings(application_data=bytes.fromhex(req["cb"]))
    if req["mech"] == "ntlm":
        creds = gssapi.Credentials(usage="accept", mechs=[NTLM])
    else:
        # An NTLM-only acceptor credential makes SPNEGO fail with MissingCredentials; None lets SPNEGO pick.
        creds = None
    ctx = gssapi.SecurityContext(creds=creds, usage="accept", channel_bindings=cb)
    return {"ok": True}


def step(req):
    out = ctx.step(unb64(req["token"]))
    res = {"token": b64(out) if out else None, "complete": bool(ctx.complete)}
    if ctx.complete:
        res["initiator"] = str(ctx.initiator_name)
    return res


def unwrap_winrm(req):
    ctype = req["contentType"]
    if not ctype.startswith("multipart/encrypted;") or ('protocol="%s"' % PROTOCOL) not in ctype:
        raise ValueError("unexpected Content-Type " + ctype)
    body = unb64(req["body"])
    if not body.startswith(BOUNDARY + b"\r\n"):
        raise ValueError("body does not start with the boundary")
    first_end = body.index(BOUNDARY, len(BOUNDARY))
    meta = body[len(BOUNDARY) + 2:first_end].decode("ascii")
    if meta != "\tContent-Type: %s\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=%s\r\n" % (
        PROTOCOL, re.search(r"Length=(\d+)", meta).group(1)):
        raise ValueError("metadata part is not exactly as MS-WSMV 2.2.9.1.1.2.1 shows: %r" % meta)
    length = int(re.search(r"Length=(\d+)", meta).group(1))
    rest = body[first_end + len(BOUNDARY):]
    octet = b"\r\n\tContent-Type: application/octet-stream\r\n"
    if not rest.startswith(octet):
        raise ValueError("second part header wrong: %r" % rest[:60])
    rest = rest[len(octet):]
    (hlen,) = struct.unpack("<I", rest[:4])
    header = rest[4:4 + hlen]
    data = rest[4 + hlen:4 + hlen + length]
    tail = rest[4 + hlen + length:]
    if tail != BOUNDARY + b"--\r\n":
        raise ValueError("trailer wrong: %r" % tail)
    res = ctx.unwrap(header + data)
    if not res.encrypted:
        raise ValueError("message was not sealed")
    return {"data": b64(res.message), "length": length}


def wrap_winrm(req):
    data = unb64(req["data"])
    sealed = ctx.wrap(data, True).message
    header, enc = sealed[:16], sealed[16:]
    body = (
        BOUNDARY + b"\r\n"
        + ("\tContent-Type: %s\r\n" % PROTOCOL).encode()
        + ("\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=%d\r\n" % len(data)).encode()
        + BOUNDARY + b"\r\n"
        + b"\tContent-Type: application/octet-stream\r\n"
        + struct.pack("<I", len(header)) + header + enc
        + BOUNDARY + b"--\r\n"
    )
    ctype = 'multipart/encrypted;protocol="%s";boundary="Encrypted Boundary"' % PROTOCOL
    return {"contentType": ctype, "body": b64(body)}


def wrap(req):
    sealed = ctx.wrap(unb64(req["data"]), True).message
    return {"header": b64(sealed[:16]), "data": b64(sealed[16:])}


def unwrap(req):
    res = ctx.unwrap(unb64(req["header"]) + unb64(req["data"]))
    return {"data": b64(res.message), "encrypted": bool(res.encrypted)}


OPS = {"init": init, "step": step, "wrap": wrap, "unwrap": unwrap, "wrap_winrm": wrap_winrm,
       "unwrap_winrm": unwrap_winrm}

for line in sys.stdin:
    if not line.strip():
        continue
    try:
        req = json.loads(line)
        res = OPS[req["op"]](req)
    except Exception as e:  # every failure is an answer, never a crash: the test asserts on it
        res = {"error": "%s: %s" % (type(e).__name__, e)}
    sys.stdout.write(json.dumps(res) + "\n")
    sys.stdout.flush()
