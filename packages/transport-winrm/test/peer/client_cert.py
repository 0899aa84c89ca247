"""Client-certificate authentication for the test WSMan endpoint (wsman_endpoint.py), as a WinRM service does it:
HTTPS only, the client certificate checked in the TLS handshake against the CAs given by --client-ca (ssl
CERT_REQUIRED, or CERT_OPTIONAL with --client-cert-mode optional), then mapped to a local user by WinRM's rules for
its ClientCertificate mapping table: the certificate's subject (the User Principal Name in its Subject Alternative
Name, else its e-mail address, else its CN) against a Subject pattern (`*`, `*@domain` or a literal), and its issuer
(the thumbprint of the CA that signed it) against an Issuer thumbprint or `*`.

Requests carry `Authorization: http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual` (DSP0226
C.3.5). A trusted certificate that no entry maps is refused with 401 and no challenge (WinRM answers "Access is
denied"); the profile without any certificate (possible only with --client-cert-mode optional) gets 403, HTTP.sys's
answer when a client certificate is required; the profile over HTTP gets 401.

The map file (--client-cert-map) has one entry a line, `<subject pattern> <issuer thumbprint|*> <local user>`;
blank lines and `#` comments are skipped. Written for psremote's tests from the WinRM documentation, standard
library and the openssl CLI only.
"""
import hashlib
import re
import ssl
import subprocess

MUTUAL_PROFILE = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"
UPN_LINE = re.compile(r"othername:\s*UPN::?(\S+)", re.I)
EMAIL_LINE = re.compile(r"email:(\S+?)(?:,|$)", re.I)


def add_arguments(p):
    p.add_argument("--client-ca", help="PEM CA certificates for client certificates: turns certificate auth on (HTTPS)")
    p.add_argument("--client-cert-mode", choices=("required", "optional"), default="required",
                   help="TLS client certificate: required (CERT_REQUIRED) or optional (CERT_OPTIONAL)")
    p.add_argument("--client-cert-map", help="the mapping table: '<subject pattern> <issuer thumbprint|*> <user>' lines")


def _openssl_text(args, data):
    return subprocess.run(["openssl", "x509", "-noout", "-nameopt", "RFC2253"] + args, input=data, check=True,
                          capture_output=True, timeout=30).stdout.decode("utf-8", "replace")


def _ca_thumbprints(path):
    """{subject DN (RFC 2253): SHA-1 thumbprint} of every CA certificate in the PEM file."""
    with open(path, encoding="ascii") as f:
        blocks = re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", f.read(), re.S)
    out = {}
    for b in blocks:
        der = ssl.PEM_cert_to_DER_cert(b)
        subject = _openssl_text(["-inform", "DER", "-subject"], der).strip().partition("=")[2]
        out[subject] = hashlib.sha1(der).hexdigest().upper()
    return out


def _load_map(path):
    entries = []
    if not path:
        return entries
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 3:
                raise SystemExit("--client-cert-map: want '<subject> <issuer thumbprint|*> <user>': %r" % line)
            entries.append((parts[0], parts[1].replace(":", "").upper(), parts[2]))
    return entries


class CertAuth:
    """The endpoint's client-certificate settings and its mapping table."""

    def __init__(self, args):
        self.enabled = bool(args.client_ca)
        self.client_ca_path = args.client_ca
        self.mode = args.client_cert_mode
        self.entries = _load_map(args.client_cert_map)
        self.cas = _ca_thumbprints(args.client_ca) if self.enabled else {}

    def configure(self, tls_ctx):
        """Asks for the client certificate in the handshake and checks it against --client-ca."""
        if not self.enabled or tls_ctx is None:
            return
        tls_ctx.load_verify_locations(cafile=self.client_ca_path)
        tls_ctx.verify_mode = ssl.CERT_REQUIRED if self.mode == "required" else ssl.CERT_OPTIONAL

    def describe(self, der):
        """(subject for mapping, issuer thumbprint, own thumbprint) of a verified client certificate."""
        text = _openssl_text(["-inform", "DER", "-subject", "-issuer", "-ext", "subjectAltName"], der)
        subject = issuer_dn = ""
        for line in text.splitlines():
            if line.startswith("subject="):
                subject = line.partition("=")[2].strip()
            elif line.startswith("issuer="):
                issuer_dn = line.partition("=")[2].strip()
        upn = UPN_LINE.search(text)
        email = EMAIL_LINE.search(text)
        cn = re.search(r"(?:^|,)CN=([^,]+)", subject)
        name = upn.group(1) if upn else email.group(1) if email else cn.group(1) if cn else ""
        return name, self.cas.get(issuer_dn, ""), hashlib.sha1(der).hexdigest().upper()

    def map_user(self, name, issuer):
        for pattern, want_issuer, user in self.entries:
            if want_issuer != "*" and want_issuer != issuer:
                continue
            if pattern == "*" or pattern.lower() == name.lower():
                return user
            if pattern.startswith("*") and name.lower().endswith(pattern[1:].lower()):
                return user
        return None

    def authenticate(self, handler):
        """For a request with the mutual profile: (user, None) when mapped, else (None, (status, why))."""
        if not self.enabled:
            return None, (401, "certificate authentication is off (no --client-ca)")
        if not handler.tls:
            return None, (401, "the certificate profile over HTTP")
        der = handler.request.getpeercert(binary_form=True)
        if not der:
            return None, (403, "no client certificate")
        name, issuer, thumbprint = self.describe(der)
        user = self.map_user(name, issuer)
        if user is None:
            return None, (401, "no mapping for subject=%s issuer=%s thumbprint=%s" % (name or "-", issuer or "-",
                                                                                      thumbprint))
        return (user, "subject=%s issuer=%s thumbprint=%s" % (name, issuer, thumbprint)), None


def setup(args, tls_ctx):
    """Builds the settings from the parsed arguments and applies them to the HTTPS context (None without HTTPS)."""
    auth = CertAuth(args)
    auth.configure(tls_ctx)
    return auth
