"""A CredSSP acceptor (MS-CSSP) for wsman_endpoint.py: the `CredSSP` HTTP scheme and WinRM's CredSSP message
encryption (MS-WSMV 2.2.9.1.3).

Neither TLS nor NTLM is ours here: TLS is Python's ssl (OpenSSL) over MemoryBIOs, the inner SPNEGO/NTLM is MIT
GSSAPI with gss-ntlmssp (python3-gssapi). Only the TSRequest DER and the WinRM framing are written here, from the
specs, independently of psremote's TypeScript. Events on stdout (through the endpoint's `emit`):
  AUTH <conn> CredSSP <user> cbt=none target=<spn|-> version=<n>    the inner logon and both bindings verified
  CREDSSP <conn> <domain>\\<user> pw-sha256=<hex> valid=<yes|no>     the delegated credential, decrypted
  AUTHFAIL <conn> CredSSP <why>
"""
import base64
import hashlib
import ssl
import struct
import subprocess

CREDSSP_PROTOCOL = "application/HTTP-CredSSP-session-encrypted"
BOUNDARY = b"--Encrypted Boundary"
CHUNK = 16384
STATUS_LOGON_FAILURE = 0xC000006D
C2S = b"CredSSP Client-To-Server Binding Hash\x00"
S2C = b"CredSSP Server-To-Client Binding Hash\x00"


class CredsspFailure(Exception):
    def __init__(self, why, status=None):
        super().__init__(why)
        self.why = why
        self.status = status


# ---- DER (X.690), just what TSRequest needs -------------------------------------------------------------------------

def _len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, *parts):
    v = b"".join(parts)
    return bytes([tag]) + _len(len(v)) + v


def der_int(n):
    b = n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big")
    return tlv(0x02, b)


def read_tlv(buf, off):
    if off + 2 > len(buf):
        raise CredsspFailure("truncated DER")
    tag, n = buf[off], buf[off + 1]
    o = off + 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 3 or o + k > len(buf):
            raise CredsspFailure("bad DER length")
        n = int.from_bytes(buf[o:o + k], "big")
        o += k
    if o + n > len(buf):
        raise CredsspFailure("DER length overruns")
    return tag, buf[o:o + n], o + n


def children(value):
    out, o = [], 0
    while o < len(value):
        t, v, o = read_tlv(value, o)
        out.append((t, v))
    return out


def element_length(buf):
    """The length of the DER element at the start of buf, or None while incomplete."""
    if len(buf) < 2:
        return None
    n = buf[1]
    if not n & 0x80:
        return 2 + n
    k = n & 0x7F
    if len(buf) < 2 + k:
        return None
    return 2 + k + int.from_bytes(buf[2:2 + k], "big")


def decode_ts_request(buf):
    tag, value, end = read_tlv(buf, 0)
    if tag != 0x30 or end != len(buf):
        raise CredsspFailure("TSRequest is not one SEQUENCE")
    req = {}
    for t, v in children(value):
        n = t - 0xA0
        if n == 0:
            req["version"] = int.from_bytes(read_tlv(v, 0)[1], "big", signed=True)
        elif n == 1:
            _, seq, _ = read_tlv(v, 0)
            req["negoTokens"] = [read_tlv(read_tlv(item, 0)[1], 0)[1] for _, item in children(seq)]
        elif n in (2, 3, 5):
            req[{2: "authInfo", 3: "pubKeyAuth", 5: "clientNonce"}[n]] = read_tlv(v, 0)[1]
        elif n == 4:
            req["errorCode"] = int.from_bytes(read_tlv(v, 0)[1], "big", signed=True) & 0xFFFFFFFF
        else:
            raise CredsspFailure("TSRequest field [%d]" % n)
    if "version" not in req:
        raise CredsspFailure("TSRequest without a version")
    return req


def encode_ts_request(version, nego=None, pub=None, error=None):
    fields = [tlv(0xA0, der_int(version))]
    if nego:
        fields.append(tlv(0xA1, tlv(0x30, tlv(0x30, tlv(0xA0, tlv(0x04, nego))))))
    if pub is not None:
        fields.append(tlv(0xA3, tlv(0x04, pub)))
    if error is not None:
        fields.append(tlv(0xA4, der_int(error)))
    return tlv(0x30, *fields)


def decode_ts_credentials(buf):
    _, value, _ = read_tlv(buf, 0)
    f = dict(children(value))
    cred_type = int.from_bytes(read_tlv(f[0xA0], 0)[1], "big")
    if cred_type != 1:
        raise CredsspFailure("credType %d is not a password" % cred_type)
    _, creds, _ = read_tlv(read_tlv(f[0xA1], 0)[1], 0)
    parts = dict(children(creds))
    return tuple(read_tlv(parts[0xA0 + i], 0)[1].decode("utf-16-le") for i in range(3))


def subject_public_key(cert_pem_path):
    """The certificate's SubjectPublicKey (the BIT STRING's bits; for RSA the PKCS#1 RSAPublicKey), via openssl."""
    pem = subprocess.run(["openssl", "x509", "-noout", "-pubkey", "-in", cert_pem_path], check=True,
                         capture_output=True, timeout=30).stdout.decode("ascii")
    spki = base64.b64decode("".join(line for line in pem.splitlines() if not line.startswith("-----")))
    _, seq, _ = read_tlv(spki, 0)
    _, _, after_algorithm = read_tlv(seq, 0)
    tag, bits, _ = read_tlv(seq, after_algorithm)
    if tag != 0x03 or not bits or bits[0] != 0:
        raise CredsspFailure("the certificate's public key is not a whole-byte BIT STRING")
    return bits[1:]


# ---- configuration, per endpoint ------------------------------------------------------------------------------------

class CredsspConfig:
    """The acceptor's TLS certificate and options (--credssp-version, --credssp-tamper)."""

    def __init__(self, cert, key, version, tamper):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context.load_cert_chain(cert, key)
        self.public_key = subject_public_key(cert)
        self.version = version
        self.tamper = tamper


# ---- one connection -------------------------------------------------------------------------------------------------

class CredsspConn:
    """One connection's CredSSP state; once complete, its TLS channel seals the WinRM bodies."""

    scheme = "CredSSP"
    krb5 = False
    credssp = True

    def __init__(self, config):
        self.config = config
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls = config.context.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self.stage = "tls"
        self.gss = None
        self.ctx = self  # the endpoint tests `ctx is not None` for an established context
        self.complete = False
        self.user = None
        self.version = config.version
        self.nonce = None
        self.plain = b""

    # -- the TLS channel --
    def _read_message(self):
        """A whole TSRequest from the TLS channel, or None when more records are needed."""
        while True:
            n = element_length(self.plain)
            if n is not None and len(self.plain) >= n:
                msg, self.plain = self.plain[:n], self.plain[n:]
                return msg
            try:
                data = self.tls.read(65536)
            except ssl.SSLWantReadError:
                return None
            if not data:
                return None
            self.plain += data

    def _send(self, msg):
        self.tls.write(msg)

    def _wrap(self, data):
        return self.gss.wrap(data, True).message

    def _unwrap(self, data):
        res = self.gss.unwrap(data)
        if not res.encrypted:
            raise CredsspFailure("a CredSSP field signed but not sealed")
        return res.message

    # -- one leg --
    def step(self, token, conn_id, emit, users_ok):
        """Feeds the client's records; returns (bytes for a 401, or None when the credentials arrived)."""
        self.incoming.write(token)
        if self.stage == "tls":
            try:
                self.tls.do_handshake()
                self.stage = "nego"
            except ssl.SSLWantReadError:
                return self.outgoing.read()
        msg = self._read_message()
        if msg is None:
            return self.outgoing.read()
        req = decode_ts_request(msg)
        if self.stage == "nego":
            self._nego(req)
        elif self.stage == "auth":
            self._auth(req, conn_id, emit)
        elif self.stage == "creds":
            self._creds(req, conn_id, emit, users_ok)
            return None
        return self.outgoing.read()

    def _nego(self, req):
        import gssapi
        self.version = min(self.config.version, req["version"])
        tokens = req.get("negoTokens") or []
        if not tokens:
            raise CredsspFailure("no SPNEGO token in the first TSRequest")
        self.gss = gssapi.SecurityContext(usage="accept")  # SPNEGO; gss-ntlmssp answers the NTLM inside
        out = self.gss.step(tokens[0])
        self._send(encode_ts_request(self.config.version, nego=out))
        self.stage = "auth"

    def _auth(self, req, conn_id, emit):
        tokens = req.get("negoTokens") or []
        try:
            out = self.gss.step(tokens[0]) if tokens else None
            complete = self.gss.complete
        except Exception as e:  # GSSError: a wrong password, a bad token
            if self.version >= 3:
                # MS-CSSP 3.1.5 (version 3+): the failure goes back as errorCode.
                self._send(encode_ts_request(self.config.version, error=STATUS_LOGON_FAILURE))
            raise CredsspFailure("logon:%s" % type(e).__name__, STATUS_LOGON_FAILURE) from None
        if not complete:
            raise CredsspFailure("SPNEGO did not complete")
        self.user = str(self.gss.initiator_name).rstrip("\x00")
        key = self.config.public_key
        if self.config.tamper == "client":
            # As if a relay had terminated the client's TLS: the client bound its logon to a key that is not ours.
            key = bytes([key[0]]) + bytes([key[1] ^ 0x01]) + key[2:]
        if "pubKeyAuth" not in req:
            raise CredsspFailure("no pubKeyAuth")
        got = self._unwrap(req["pubKeyAuth"])
        nonce = req.get("clientNonce")
        if self.version >= 5:
            if not nonce or len(nonce) != 32:
                raise CredsspFailure("version %d without a 32-byte clientNonce" % self.version)
            self.nonce = nonce
            expected = hashlib.sha256(C2S + nonce + key).digest()
            answer = hashlib.sha256(S2C + nonce + key).digest()
        else:
            expected = key
            answer = bytes([(key[0] + 1) & 0xFF]) + key[1:]
        if got != expected:
            raise CredsspFailure("pubKeyAuth:mismatch")
        if self.config.tamper == "server":
            answer = answer[:-1] + bytes([answer[-1] ^ 0x01])
        self._send(encode_ts_request(self.config.version, nego=out, pub=self._wrap(answer)))
        self.stage = "creds"

    def _creds(self, req, conn_id, emit, users_ok):
        if "authInfo" not in req:
            raise CredsspFailure("no authInfo")
        domain, user, password = decode_ts_credentials(self._unwrap(req["authInfo"]))
        name = "%s\\%s" % (domain, user) if domain else user
        emit("AUTH %s CredSSP %s cbt=none target=- version=%d" % (conn_id, self.user, self.version))
        emit("CREDSSP %s %s pw-sha256=%s valid=%s" % (
            conn_id, name, hashlib.sha256(password.encode("utf-8")).hexdigest(),
            "yes" if users_ok(name, password) else "no"))
        self.stage = "done"
        self.complete = True

    # -- WinRM message encryption (MS-WSMV 2.2.9.1.3) --
    def _trailer(self, n):
        name = (self.tls.cipher() or ("",))[0].upper()
        if "GCM" in name or "CHACHA20" in name or "CCM" in name:
            return 16
        mac = 48 if name.endswith("SHA384") else 32 if name.endswith("SHA256") else 20
        return (n + mac + 16 - (n + mac) % 16) - n

    def seal(self, data):
        parts = []
        chunks = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)] or [b""]
        for chunk in chunks:
            self.tls.write(chunk)
            records = self.outgoing.read()
            parts.append(BOUNDARY + b"\r\n\tContent-Type: " + CREDSSP_PROTOCOL.encode() +
                         b"\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=%d\r\n" % len(chunk) +
                         BOUNDARY + b"\r\n\tContent-Type: application/octet-stream\r\n" +
                         struct.pack("<I", self._trailer(len(chunk))) + records)
        kind = "multipart/x-multi-encrypted" if len(chunks) > 1 else "multipart/encrypted"
        ctype = '%s;protocol="%s";boundary="Encrypted Boundary"' % (kind, CREDSSP_PROTOCOL)
        return ctype, b"".join(parts) + BOUNDARY + b"--\r\n"

    def unseal(self, content_type, body):
        """(SOAP bytes, charset); each part walked record by record, its plaintext checked against Length."""
        ctype = content_type or ""
        multi = ctype.startswith("multipart/x-multi-encrypted;")
        if not (multi or ctype.startswith("multipart/encrypted;")) or ('protocol="%s"' % CREDSSP_PROTOCOL) not in ctype:
            raise CredsspFailure("unexpected Content-Type " + ctype)
        out, pos, charset, count = [], 0, "UTF-8", 0
        head = BOUNDARY + b"\r\n\tContent-Type: " + CREDSSP_PROTOCOL.encode() + b"\r\n\tOriginalContent: type="
        octet = b"\r\n" + BOUNDARY + b"\r\n\tContent-Type: application/octet-stream\r\n"
        while True:
            if not body.startswith(head, pos):
                raise CredsspFailure("part %d does not start as MS-WSMV 2.2.9.1.3 shows" % count)
            end = body.index(b"\r\n", pos + len(head))
            meta = body[pos + len(head):end].decode("ascii")
            fields = dict(x.split("=", 1) for x in meta.split(";")[1:])
            charset, length = fields.get("charset", "UTF-8"), int(fields["Length"])
            pos = end
            if not body.startswith(octet, pos):
                raise CredsspFailure("no octet-stream part")
            pos += len(octet) + 4
            start = pos
            while not body.startswith(BOUNDARY, pos):
                if len(body) - pos < 5 or body[pos] != 0x17:
                    raise CredsspFailure("not a TLS application-data record at %d" % pos)
                pos += 5 + struct.unpack(">H", body[pos + 3:pos + 5])[0]
            self.incoming.write(body[start:pos])
            plain = b""
            while True:
                try:
                    d = self.tls.read(65536)
                except ssl.SSLWantReadError:
                    break
                if not d:
                    break
                plain += d
            if len(plain) != length:
                raise CredsspFailure("part %d: %d bytes decrypted, Length=%d" % (count, len(plain), length))
            out.append(plain)
            count += 1
            if body[pos:] == BOUNDARY + b"--\r\n":
                break
            if not multi:
                raise CredsspFailure("multipart/encrypted with more than one part")
        return b"".join(out), charset


def step(handler, value, emit, users_ok):
    """The endpoint's `CredSSP` leg: returns None when authenticated (answer 200), False when answered (401)."""
    config = handler.server.endpoint.credssp
    try:
        token = base64.b64decode(value.strip(), validate=True)
    except ValueError:
        handler.unauthorized("a CredSSP token that is not base64")
        return False
    # A ClientHello (TLS handshake record, type client_hello) starts a new exchange.
    if not isinstance(handler.auth, CredsspConn) or handler.auth.complete or (
            len(token) > 5 and token[0] == 0x16 and token[5] == 0x01):
        handler.auth = CredsspConn(config)
    conn = handler.auth
    try:
        out = conn.step(token, handler.conn_id, emit, users_ok)
    except Exception as e:  # CredsspFailure, ssl.SSLError, a GSS error
        why = e.why if isinstance(e, CredsspFailure) else type(e).__name__
        emit("AUTHFAIL %s CredSSP %s" % (handler.conn_id, why))
        pending = conn.outgoing.read()
        handler.auth = None
        headers = [("WWW-Authenticate", "CredSSP " + base64.b64encode(pending).decode())] if pending else \
            handler.challenges()
        handler.reply(401, headers=headers)
        return False
    if out is None:
        return None
    handler.reply(401, headers=[("WWW-Authenticate", "CredSSP " + base64.b64encode(out).decode())])
    return False
