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

The MS-WSMV 2.2.9.1 multipart parsing and building (wsmv_sealing.py, shared with ../peer/wsman_endpoint.py) is
written from the spec independently of the TypeScript code under test, so that a shared misreading would have to
happen twice.
"""
import base64
import json
import re
import sys

import gssapi
import gssapi.raw

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
from wsmv_sealing import seal_body, unseal_body

NTLM = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")

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
    body = unb64(req["body"])
    data, _charset = unseal_body(ctx, req["contentType"], body)
    length = int(re.search(rb"Length=(\d+)", body).group(1))
    return {"data": b64(data), "length": length}


def wrap_winrm(req):
    ctype, body = seal_body(ctx, unb64(req["data"]))
    return {"contentType": ctype, "body": b64(body)}


def wrap(req):
    sealed = ctx.wrap(unb64(req["data"]), True).message
    return {"header": b64(sealed[:16]), "data": b64(sealed[16:])}


def unwrap(req):
    res = ctx.unwrap(unb64(req["header"]) + unb64(req["data"]))
    return {"data": b64(res.message), "encrypted": bool(res.encrypted)}


OPS = {"init": init, "step": step, "wrap": wrap, "unwrap": unwrap, "wrap_winrm": wrap_winrm,
       "unwrap_winrm": unwrap_winrm}


def main():
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


if __name__ == "__main__":
    main()
