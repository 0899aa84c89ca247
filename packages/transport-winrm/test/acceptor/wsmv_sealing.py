"""MS-WSMV 2.2.9.1 message encryption for a GSSAPI security context (NTLM, SPNEGO with NTLM or Kerberos inside, or
bare Kerberos), shared by gss_acceptor.py and ../peer/wsman_endpoint.py.

Written from the spec, independently of the TypeScript code under test, so that a shared misreading would have to
happen twice. Deliberately strict: a body that is not laid out exactly as MS-WSMV 2.2.9.1.1.2 shows is refused.
`ctx` is a python3-gssapi SecurityContext; NTLM's wrap token is its 16-byte signature followed by the sealed bytes.
Kerberos (`iov=True`) goes through gss_wrap_iov / gss_unwrap_iov: HEADER | DATA | PADDING, the header's length in
the Length-Field, the padding after the data and counted in OriginalContent's Length (MS-WSMV 2.2.9.1.1.2.2).
"""
import re
import struct

PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
KERBEROS_PROTOCOL = "application/HTTP-Kerberos-session-encrypted"
BOUNDARY = b"--Encrypted Boundary"
CONTENT_TYPE = 'multipart/encrypted;protocol="%s";boundary="Encrypted Boundary"' % PROTOCOL
NTLM_SIGNATURE_LENGTH = 16
MAX_KERBEROS_HEADER = 1024


class SealingError(ValueError):
    """The body is not an MS-WSMV 2.2.9.1 encrypted body, or did not unseal."""


def is_encrypted(content_type):
    return (content_type or "").lower().startswith("multipart/encrypted")


def unseal_body(ctx, content_type, body, protocol=PROTOCOL, iov=False):
    """The SOAP bytes of a multipart/encrypted body (2.2.9.1.1.2), and the charset of its OriginalContent."""
    ctype = content_type or ""
    if not ctype.startswith("multipart/encrypted;") or ('protocol="%s"' % protocol) not in ctype:
        raise SealingError("unexpected Content-Type " + ctype)
    if not body.startswith(BOUNDARY + b"\r\n"):
        raise SealingError("body does not start with the boundary")
    try:
        first_end = body.index(BOUNDARY, len(BOUNDARY))
    except ValueError:
        raise SealingError("no second boundary") from None
    meta = body[len(BOUNDARY) + 2:first_end].decode("ascii", "replace")
    m = re.fullmatch(
        r"\tContent-Type: %s\r\n\tOriginalContent: type=application/soap\+xml;charset=(UTF-8|UTF-16);Length=(\d+)\r\n"
        % re.escape(protocol), meta)
    if not m:
        raise SealingError("metadata part is not exactly as MS-WSMV 2.2.9.1.1.2.1 shows: %r" % meta[:200])
    charset, length = m.group(1), int(m.group(2))
    rest = body[first_end + len(BOUNDARY):]
    octet = b"\r\n\tContent-Type: application/octet-stream\r\n"
    if not rest.startswith(octet):
        raise SealingError("second part header wrong: %r" % rest[:60])
    rest = rest[len(octet):]
    if len(rest) < 4:
        raise SealingError("truncated before the signature length")
    (hlen,) = struct.unpack("<I", rest[:4])
    if not iov and hlen != NTLM_SIGNATURE_LENGTH:
        raise SealingError("signature length %d, NTLM's is 16" % hlen)
    if iov and not 16 <= hlen <= MAX_KERBEROS_HEADER:
        raise SealingError("Kerberos header length %d" % hlen)
    header = rest[4:4 + hlen]
    data = rest[4 + hlen:4 + hlen + length]
    if len(data) != length:
        raise SealingError("Length=%d but only %d sealed bytes follow" % (length, len(data)))
    tail = rest[4 + hlen + length:]
    if tail != BOUNDARY + b"--\r\n":
        raise SealingError("trailer wrong: %r" % tail[:60])
    if iov:
        import gssapi.raw as raw
        message = raw.IOV((raw.IOVBufferType.header, False, header), data, std_layout=False)
        res = raw.unwrap_iov(ctx, message)
        if not res.encrypted:
            raise SealingError("message was signed but not sealed")
        return message[1].value, charset
    res = ctx.unwrap(header + data)
    if not res.encrypted:
        raise SealingError("message was signed but not sealed")
    return res.message, charset


def seal_body(ctx, data, protocol=PROTOCOL, iov=False):
    """(Content-Type, body) of `data` (SOAP, UTF-8) sealed as MS-WSMV 2.2.9.1.1.2 lays it out."""
    if iov:
        import gssapi.raw as raw
        message = raw.IOV(raw.IOVBufferType.header, data, raw.IOVBufferType.padding, std_layout=False)
        if not raw.wrap_iov(ctx, message, confidential=True):
            raise SealingError("gss_wrap_iov did not encrypt")
        header, enc = message[0].value, message[1].value + (message[2].value or b"")
    else:
        sealed = ctx.wrap(data, True).message
        header, enc = sealed[:NTLM_SIGNATURE_LENGTH], sealed[NTLM_SIGNATURE_LENGTH:]
    body = (
        BOUNDARY + b"\r\n"
        + ("\tContent-Type: %s\r\n" % protocol).encode()
        + ("\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=%d\r\n" % len(enc)).encode()
        + BOUNDARY + b"\r\n"
        + b"\tContent-Type: application/octet-stream\r\n"
        + struct.pack("<I", len(header)) + header + enc
        + BOUNDARY + b"--\r\n"
    )
    return 'multipart/encrypted;protocol="%s";boundary="Encrypted Boundary"' % protocol, body
