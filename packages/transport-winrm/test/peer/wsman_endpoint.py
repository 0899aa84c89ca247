#!/usr/bin/python3
"""A WS-Management endpoint for the PowerShell shell, for psremote's tests: authentication and message encryption
by MIT GSSAPI (python3-gssapi) with the gss-ntlmssp mechanism and, given a keytab (KRB5_KTNAME) and `--auth` with
`kerberos`, MIT Kerberos (the `Kerberos` scheme, and Kerberos inside SPNEGO under `Negotiate`), each shell relayed
to its own `pwsh -s`.

Written from MS-WSMV, MS-PSRP and the recorded Windows answers in shared/vectors/winrm-recorded, independently of
psremote's TypeScript: it is the independent implementation that checks ours. Standard library + python3-gssapi
only; run it with /usr/bin/python3. Every wait is bounded; it exits when its stdin closes (unless --ignore-stdin).

stdout carries one line per event, for the test that started it:
  HTTPS <port>            the HTTPS listener (with --https), printed before LISTENING
  CA <path>               the PEM certificate to trust (self-signed unless --cert), printed before LISTENING
  LISTENING <port>        ready; the HTTP port (0 when --https-only)
  AUTH <conn> <scheme> <user> cbt=<none|ok> target=<spn|->   a connection authenticated (NTLM, Basic)
  AUTH <conn> <scheme> <user> cbt=<none|ok> target=<spn> mech=krb5   ... with Kerberos (`Kerberos`, or in SPNEGO)
  AUTH <conn> Certificate <user> cbt=none target=- subject=<s> issuer=<thumbprint> thumbprint=<t>   (client_cert.py)
  AUTHFAIL <conn> <scheme> <why>
  CREDSSP <conn> <user> pw-sha256=<hex> valid=<yes|no>   the credential delegated by CredSSP (credssp_acceptor.py)
  SHELL <ShellId> <pid>   a shell's pwsh started, in its own process group <pid>
  SHELLEXIT <ShellId> <rc>
Requests are logged on stderr only with --verbose.
"""
import argparse
import base64
import collections
import hashlib
import http.server
import itertools
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "acceptor"))
from wsmv_sealing import (  # noqa: E402
    KERBEROS_PROTOCOL,
    PROTOCOL as SPNEGO_PROTOCOL,
    SealingError,
    is_encrypted,
    seal_body,
    unseal_body,
)
import client_cert  # noqa: E402  (beside this file: client-certificate authentication)
import credssp_acceptor  # noqa: E402  (beside this file)

# ---- names ---------------------------------------------------------------------------------------------------------

NS_S = "http://www.w3.org/2003/05/soap-envelope"
NS_A = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_X = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
NS_W = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
NS_P = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
NS_RSP = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
NS_F = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
NS_PS = "http://schemas.microsoft.com/powershell"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
PS_RESOURCE_PREFIX = "http://schemas.microsoft.com/powershell/"

ACT_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
ACT_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
ACT_COMMAND = NS_RSP + "/Command"
ACT_SEND = NS_RSP + "/Send"
ACT_RECEIVE = NS_RSP + "/Receive"
ACT_SIGNAL = NS_RSP + "/Signal"
ACT_FAULT = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
STATE_DONE = NS_RSP + "/CommandState/Done"
STATE_RUNNING = NS_RSP + "/CommandState/Running"
SIGNAL_STOP = "powershell/signal/crtl_c"  # MS-PSRP 3.1.5.3.9; any other code closes the command (WSManPlugin.cs)

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
# MS-PSRP 2.2.1: message types this peer reads to know when a pipeline or the pool has ended.
PIPELINE_STATE = 0x00041006
RUNSPACEPOOL_STATE = 0x00021005
PIPELINE_TERMINAL = {3, 4, 5}  # Stopped, Completed, Failed (MS-PSRP 2.2.3.5)
POOL_TERMINAL = {3, 5}  # Closed, Broken (MS-PSRP 2.2.3.4)

# WinRM codes as the recordings carry them (unsigned, decimal).
CODE_SHELL_NOT_FOUND = 2150858843  # w:InvalidSelectors, test_psrp_receive_failure.yml
CODE_TIMED_OUT = 2150858793  # w:TimedOut, test_psrp_long_running_cmdlet.yml
CODE_INVALID_HEADER = 2150858767  # a:InvalidMessageInformationHeader, test_psrp_is_alive_other_wsman_error.yml
CODE_INVALID_RESOURCE_URI = 2150858811  # ERROR_WSMAN_INVALID_RESOURCE_URI ([PS] WSManNativeAPI.cs: -2144108485)
# RPC_S_CALL_FAILED: what a Windows client reports when the provider host (wsmprovhost) died ("1726,PSSessionStateBroken").
CODE_PROVIDER_HOST_DIED = 1726

MAX_BODY = 16 * 1024 * 1024
ACK_TIMEOUT = 30.0
CLOSE_TIMEOUT = 10.0
IDLE_TIMEOUT = 120.0
MAX_RECEIVE_WAIT = 120.0
FRAGMENT_HEADER = 21

VERBOSE = False
OUT_LOCK = threading.Lock()


def emit(line):
    """One event line on stdout (for the test that started us)."""
    with OUT_LOCK:
        try:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except (BrokenPipeError, ValueError):
            pass


def log(msg):
    if VERBOSE:
        with OUT_LOCK:
            try:
                sys.stderr.write("[wsman-endpoint] %s\n" % msg)
                sys.stderr.flush()
            except (BrokenPipeError, ValueError):
                pass


def xesc(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&apos;"))


def new_uuid():
    return str(uuid.uuid4()).upper()


# ---- SOAP answers ------------------------------------------------------------------------------------------------

ENVELOPE_OPEN = (
    '<s:Envelope xml:lang="en-US" xmlns:s="%s" xmlns:a="%s" xmlns:x="%s" xmlns:w="%s" xmlns:rsp="%s" xmlns:p="%s">'
    % (NS_S, NS_A, NS_X, NS_W, NS_RSP, NS_P))


def envelope(action, relates_to, body):
    """A response envelope with the header Windows writes (recordings: Action, MessageID, To, RelatesTo)."""
    rel = "<a:RelatesTo>%s</a:RelatesTo>" % xesc(relates_to) if relates_to else ""
    return (ENVELOPE_OPEN + "<s:Header><a:Action>%s</a:Action><a:MessageID>uuid:%s</a:MessageID>"
            "<a:To>%s</a:To>%s</s:Header><s:Body>%s</s:Body></s:Envelope>"
            % (xesc(action), new_uuid(), ANONYMOUS, rel, body))


class Fault(Exception):
    """A SOAP fault shaped as Windows' (shared/vectors/winrm-recorded): Code, Subcode, Reason, WSManFault."""

    def __init__(self, code, subcode, message, wsman_code=None, detail_uri=None, status=500):
        super().__init__(message)
        self.code, self.subcode, self.message = code, subcode, message
        self.wsman_code, self.detail_uri, self.status = wsman_code, detail_uri, status

    def xml(self, relates_to, machine):
        detail = ""
        if self.detail_uri:
            detail += "<w:FaultDetail>%s</w:FaultDetail>" % xesc(self.detail_uri)
        code_attr = ' Code="%d"' % self.wsman_code if self.wsman_code is not None else ""
        detail += ('<f:WSManFault xmlns:f="%s"%s Machine="%s"><f:Message>%s</f:Message></f:WSManFault>'
                   % (NS_F, code_attr, xesc(machine), xesc(self.message)))
        body = ('<s:Fault><s:Code><s:Value>s:%s</s:Value><s:Subcode><s:Value>%s</s:Value></s:Subcode></s:Code>'
                '<s:Reason><s:Text xml:lang="en-US">%s</s:Text></s:Reason><s:Detail>%s</s:Detail></s:Fault>'
                % (self.code, self.subcode, xesc(self.message), detail))
        return envelope(ACT_FAULT, relates_to, body)


def shell_not_found(shell_id):
    return Fault("Sender", "w:InvalidSelectors",
                 "The request for the Windows Remote Shell with ShellId %s failed because the shell was not found "
                 "on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer "
                 "exists on the server. Provide the correct ShellId or create a new shell and retry the operation. "
                 % shell_id, CODE_SHELL_NOT_FOUND,
                 "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors")


def command_not_found():
    return Fault("Sender", "w:InvalidSelectors",
                 "The Windows Remote Shell received a request to perform an operation on a command identifier that "
                 "does not exist. Either the command has completed execution or the client specified an invalid "
                 "command identifier. ", CODE_SHELL_NOT_FOUND,
                 "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors")


def timed_out():
    return Fault("Receiver", "w:TimedOut",
                 "The WS-Management service cannot complete the operation within the time specified in "
                 "OperationTimeout.  ", CODE_TIMED_OUT)


def host_died():
    return Fault("Receiver", "w:InternalError",
                 "The WSMan provider host process did not return a proper response.  A provider in the host process "
                 "may have behaved improperly. ", CODE_PROVIDER_HOST_DIED)


def invalid_header(what):
    return Fault("Sender", "a:InvalidMessageInformationHeader",
                 "The WS-Management service cannot process the request. %s " % what, CODE_INVALID_HEADER)


def bad_envelope(what):
    return Fault("Sender", "w:SchemaValidationError",
                 "The WS-Management service cannot process the request because the XML is invalid. %s " % what)


def encoding_limit(what, status=500):
    return Fault("Sender", "w:EncodingLimit",
                 "The WS-Management service cannot process the request because the envelope size exceeds the "
                 "maximum envelope size. %s " % what, None,
                 "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/MaxEnvelopeSize", status)


# ---- PSRP fragments ------------------------------------------------------------------------------------------------

def split_fragments(data):
    """MS-PSRP 2.2.4: ObjectId u64 BE, FragmentId u64 BE, flags (S=1, E=2), BlobLength u32 BE, blob."""
    out, pos = [], 0
    while pos < len(data):
        if len(data) - pos < FRAGMENT_HEADER:
            raise ValueError("a truncated PSRP fragment header")
        (blob_len,) = struct.unpack(">I", data[pos + 17:pos + 21])
        end = pos + FRAGMENT_HEADER + blob_len
        if end > len(data):
            raise ValueError("a PSRP fragment longer than its data")
        out.append(data[pos:end])
        pos = end
    return out


def fragment_fields(frag):
    object_id, fragment_id, flags, _ = struct.unpack(">QQBI", frag[:FRAGMENT_HEADER])
    return object_id, fragment_id, flags, frag[FRAGMENT_HEADER:]


def message_header(blob):
    """(destination, type, RPID, PID) of a message's start (MS-PSRP 2.2.1), GUIDs lower-case."""
    if len(blob) < 40:
        return None
    dest, mtype = struct.unpack("<II", blob[:8])
    rpid = str(uuid.UUID(bytes_le=bytes(blob[8:24])))
    pid = str(uuid.UUID(bytes_le=bytes(blob[24:40])))
    return dest, mtype, rpid, pid


class Refragmenter:
    """Splits fragments larger than `max_blob` (so a Receive fits the client's MaxEnvelopeSize), renumbering the
    fragment ids of each object so the client still sees 0, 1, 2, ... (MS-PSRP 2.2.4)."""

    def __init__(self, max_blob):
        self.max_blob = max(max_blob, 64)
        self.next_id = {}

    def feed(self, frag):
        object_id, fragment_id, flags, blob = fragment_fields(frag)
        if fragment_id == 0:
            self.next_id[object_id] = 0
        pieces = [blob[i:i + self.max_blob] for i in range(0, len(blob), self.max_blob)] or [b""]
        out = []
        for i, piece in enumerate(pieces):
            f = 0
            if i == 0 and flags & 1:
                f |= 1
            if i == len(pieces) - 1 and flags & 2:
                f |= 2
            n = self.next_id.get(object_id, 0)
            self.next_id[object_id] = n + 1
            out.append(struct.pack(">QQBI", object_id, n, f, len(piece)) + piece)
        if flags & 2:
            self.next_id.pop(object_id, None)
        return out


class StateWatcher:
    """Reassembles only the messages it cares about (pipeline and pool state) from a stream of fragments."""

    def __init__(self):
        self.partial = {}

    def feed(self, frag):
        """The (type, data) of a complete PIPELINE_STATE or RUNSPACEPOOL_STATE message, else None."""
        object_id, _fid, flags, blob = fragment_fields(frag)
        if flags & 1:
            hdr = message_header(blob)
            if not hdr or hdr[1] not in (PIPELINE_STATE, RUNSPACEPOOL_STATE):
                self.partial.pop(object_id, None)
                return None
            self.partial[object_id] = bytearray(blob)
        elif object_id in self.partial:
            self.partial[object_id] += blob
            if len(self.partial[object_id]) > 1024 * 1024:
                del self.partial[object_id]
                return None
        else:
            return None
        if not flags & 2:
            return None
        msg = bytes(self.partial.pop(object_id))
        return struct.unpack("<I", msg[4:8])[0], msg[40:].decode("utf-8", "replace")


def state_value(text, name):
    m = re.search(r'N="%s"\s*>\s*(-?\d+)\s*<' % name, text)
    return int(m.group(1)) if m else None


# ---- a shell: one pwsh -s ----------------------------------------------------------------------------------------

PACKET_RE = re.compile(r"^\s*<(\w+)((?:\s+\w+\s*=\s*(?:'[^']*'|\"[^\"]*\"))*)\s*(/>|>(.*?)</\1>)\s*$", re.S)
ATTR_RE = re.compile(r"(\w+)\s*=\s*(?:'([^']*)'|\"([^\"]*)\")")


class Target:
    """Where output goes: the pool, or one pipeline."""

    def __init__(self, command_id, psguid, max_blob):
        self.command_id = command_id  # None for the pool
        self.psguid = psguid
        self.queue = collections.deque()
        self.queued_bytes = 0
        self.refrag = Refragmenter(max_blob)
        self.states = StateWatcher()
        self.terminal = False
        self.closed = False


class Waiter:
    def __init__(self):
        self.event = threading.Event()
        self.ok = False


class ShellDied(Exception):
    pass


class Shell:
    def __init__(self, server, shell_id, resource_uri, owner, client_ip, max_env):
        self.server = server
        self.shell_id = shell_id
        self.resource_uri = resource_uri
        self.owner = owner
        self.client_ip = client_ip
        self.max_env = max_env
        self.max_blob = max(256, (max_env - 4096) * 3 // 4 - FRAGMENT_HEADER)
        self.cond = threading.Condition()
        self.pool = Target(None, EMPTY_GUID, self.max_blob)
        self.pipelines = {}  # CommandId (upper) -> Target
        self.by_guid = {}  # psguid (lower) -> Target
        self.waiters = collections.defaultdict(collections.deque)
        self.send_locks = collections.defaultdict(threading.Lock)
        self.write_lock = threading.Lock()
        self.dead = False
        self.deleted = False
        self.stderr_tail = collections.deque(maxlen=50)
        self.created = time.time()
        self.proc = subprocess.Popen(
            [server.pwsh, "-s", "-NoLogo", "-NoProfile"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=server.workdir, env=server.child_env,
            # Its own process group: a dotnet-tool pwsh is a launcher with the runtime as its child, and killing
            # the shell (a test does, to prove "server dies mid-pipeline") must take both.
            start_new_session=True)
        self.pid = self.proc.pid
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # -- from pwsh --
    def _read_stdout(self):
        try:
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace").lstrip("\ufeff").strip()
                if line:
                    self._on_packet(line)
        except (OSError, ValueError):
            pass
        rc = self.proc.wait()
        with self.cond:
            self.dead = True
            for q in self.waiters.values():
                for w in q:
                    w.event.set()
            self.waiters.clear()
            self.cond.notify_all()
        emit("SHELLEXIT %s %s" % (self.shell_id, rc))
        log("shell %s: pwsh %d exited with %s; stderr: %s" % (self.shell_id, self.pid, rc,
                                                               " | ".join(self.stderr_tail)))

    def _read_stderr(self):
        try:
            for raw in self.proc.stderr:
                self.stderr_tail.append(raw.decode("utf-8", "replace").rstrip())
        except (OSError, ValueError):
            pass

    def _on_packet(self, line):
        m = PACKET_RE.match(line)
        if not m:
            log("shell %s: not a packet: %r" % (self.shell_id, line[:200]))
            return
        kind = m.group(1)
        attrs = {a.group(1): a.group(2) if a.group(2) is not None else a.group(3)
                 for a in ATTR_RE.finditer(m.group(2))}
        guid = (attrs.get("PSGuid") or "").lower()
        if kind == "Data":
            try:
                data = base64.b64decode(m.group(4) or "", validate=True)
                frags = split_fragments(data)
            except ValueError as e:
                log("shell %s: bad Data from pwsh: %s" % (self.shell_id, e))
                return
            with self.cond:
                target = self.pool if guid == EMPTY_GUID else self.by_guid.get(guid)
                if target is None:
                    log("shell %s: data for an unknown pipeline %s dropped" % (self.shell_id, guid))
                    return
                for frag in frags:
                    st = target.states.feed(frag)
                    if st:
                        mtype, text = st
                        if mtype == PIPELINE_STATE and state_value(text, "PipelineState") in PIPELINE_TERMINAL:
                            target.terminal = True
                        if mtype == RUNSPACEPOOL_STATE and state_value(text, "RunspaceState") in POOL_TERMINAL:
                            self.pool.terminal = True
                    for piece in target.refrag.feed(frag):
                        target.queue.append(piece)
                        target.queued_bytes += len(piece)
                self.cond.notify_all()
        elif kind in ("DataAck", "CommandAck", "SignalAck", "CloseAck"):
            with self.cond:
                q = self.waiters.get((kind, guid))
                if q:
                    w = q.popleft()
                    w.ok = True
                    w.event.set()
        else:
            log("shell %s: unexpected %s packet from pwsh" % (self.shell_id, kind))

    # -- to pwsh --
    def _write(self, line):
        with self.write_lock:
            try:
                self.proc.stdin.write((line + "\n").encode("utf-8"))
                self.proc.stdin.flush()
            except (OSError, ValueError) as e:
                raise ShellDied(str(e)) from e

    def call(self, line, ack_kind, guid, timeout=ACK_TIMEOUT):
        """Writes one packet and waits for its ack (OutOfProc flow control, protocols.md 3.2)."""
        w = Waiter()
        with self.cond:
            if self.dead:
                raise ShellDied("pwsh has exited")
            self.waiters[(ack_kind, guid)].append(w)
        self._write(line)
        if not w.event.wait(timeout):
            with self.cond:
                q = self.waiters.get((ack_kind, guid))
                if q and w in q:
                    q.remove(w)
            raise TimeoutError("no %s from pwsh within %ss" % (ack_kind, timeout))
        if not w.ok:
            raise ShellDied("pwsh has exited")

    def send_data(self, guid, stream, data):
        """Each fragment as one Data packet, acked before the next ([PS] OutOfProcTransportManager)."""
        frags = split_fragments(data)
        with self.send_locks[guid]:
            for frag in frags:
                self.call("<Data Stream='%s' PSGuid='%s'>%s</Data>"
                          % (stream, guid, base64.b64encode(frag).decode("ascii")), "DataAck", guid)

    def open_pool(self, creation):
        def run():
            try:
                self.send_data(EMPTY_GUID, "Default", creation)
            except (ShellDied, TimeoutError, ValueError) as e:
                log("shell %s: opening the pool failed: %s" % (self.shell_id, e))
        threading.Thread(target=run, daemon=True).start()

    def create_pipeline(self, command_id, psguid, first):
        target = Target(command_id, psguid, self.max_blob)
        with self.cond:
            self.pipelines[command_id] = target
            self.by_guid[psguid] = target
        self.call("<Command PSGuid='%s' />" % psguid, "CommandAck", psguid)
        self.send_data(psguid, "Default", first)
        return target

    def stop_pipeline(self, target):
        self.call("<Signal PSGuid='%s' />" % target.psguid, "SignalAck", target.psguid, 60.0)

    def close_pipeline(self, target):
        with self.cond:
            if target.closed:
                return
            target.closed = True
            self.pipelines.pop(target.command_id, None)
        try:
            if not self.dead:
                self.call("<Close PSGuid='%s' />" % target.psguid, "CloseAck", target.psguid, CLOSE_TIMEOUT)
        finally:
            with self.cond:
                self.by_guid.pop(target.psguid, None)
                self.cond.notify_all()

    def close(self):
        """Delete: every pipeline's Close (the server waits for them), the pool's Close, then pwsh's end."""
        with self.cond:
            self.deleted = True
            targets = list(self.pipelines.values())
            self.cond.notify_all()
        for t in targets:
            try:
                self.close_pipeline(t)
            except (ShellDied, TimeoutError) as e:
                log("shell %s: closing pipeline %s: %s" % (self.shell_id, t.command_id, e))
        if not self.dead:
            try:
                self.call("<Close PSGuid='%s' />" % EMPTY_GUID, "CloseAck", EMPTY_GUID, CLOSE_TIMEOUT)
            except (ShellDied, TimeoutError) as e:
                log("shell %s: closing the pool: %s" % (self.shell_id, e))
        self.terminate()

    def terminate(self):
        try:
            self.proc.stdin.close()
        except (OSError, ValueError):
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.kill()  # whatever the launcher left behind

    def kill(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass


# ---- authentication ----------------------------------------------------------------------------------------------

def load_users(path):
    users = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line or line.startswith("#"):
                continue
            parts = line.split(":", 2)
            if len(parts) == 3:
                users.append(tuple(parts))
    return users


def basic_ok(users, name, password):
    """`DOMAIN\\user`, `user@domain` or `user` against the NTLM_USER_FILE lines."""
    domain = None
    if "\\" in name:
        domain, name = name.split("\\", 1)
    for d, u, p in users:
        if u.lower() == name.lower() and p == password and (domain is None or d.lower() == domain.lower()):
            return True
    return False


def find_ntlm_message(token, msg_type):
    """The NTLM message of `msg_type` inside a raw NTLMSSP or SPNEGO token (MS-NLMP 2.2.1)."""
    sig = b"NTLMSSP\x00" + struct.pack("<I", msg_type)
    i = token.find(sig)
    return token[i:] if i >= 0 else None


def authenticate_av_pairs(msg):
    """The AV pairs of an AUTHENTICATE_MESSAGE's NTLMv2 response (MS-NLMP 2.2.1.3, 2.2.2.7, 2.2.2.1)."""
    if len(msg) < 28:
        return {}
    nt_len, _max, nt_off = struct.unpack("<HHI", msg[20:28])
    nt = msg[nt_off:nt_off + nt_len]
    pairs, pos = {}, 16 + 28  # NTProofStr, then the fixed part of NTLMv2_CLIENT_CHALLENGE
    while pos + 4 <= len(nt):
        av_id, av_len = struct.unpack("<HH", nt[pos:pos + 4])
        if av_id == 0:
            break
        pairs[av_id] = nt[pos + 4:pos + 4 + av_len]
        pos += 4 + av_len
    return pairs


def expected_binding_hash(app_data):
    """MD5 of gss_channel_bindings_struct with no addresses (MS-NLMP 3.1.5.1.2 MsvAvChannelBindings)."""
    return hashlib.md5(b"\x00" * 16 + struct.pack("<I", len(app_data)) + app_data).digest()


class ConnAuth:
    """One connection's GSSAPI security context (NTLM authenticates a connection, not a request)."""

    def __init__(self, scheme, ctx, raw_ntlm):
        self.scheme = scheme
        self.ctx = ctx
        self.raw_ntlm = raw_ntlm
        self.complete = False
        self.user = None
        # Kerberos (bare, or chosen inside SPNEGO): messages are sealed with the IOV calls.
        self.krb5 = False

    @property
    def protocol(self):
        """MS-WSMV 2.2.9.1.1.1: the protocol names the HTTP scheme the context was set up with."""
        return KERBEROS_PROTOCOL if self.scheme.lower() == "kerberos" else SPNEGO_PROTOCOL


# ---- the HTTP side -----------------------------------------------------------------------------------------------

class Endpoint:
    """Shared state of the listeners: options, users, shells."""

    def __init__(self, args):
        self.args = args
        self.users = load_users(args.users)
        self.pwsh = args.pwsh
        self.workdir = args.workdir
        self.child_env = {k: v for k, v in os.environ.items() if k != "NTLM_USER_FILE"}
        self.shells = {}
        self.lock = threading.Lock()
        self.message_ids = collections.OrderedDict()
        self.redirects_left = args.redirect_count if args.redirect_to else 0
        self.conn_ids = itertools.count(1)
        self.machine = socket.gethostname()
        self.cbt_app_data = None
        self.tls = None
        self.credssp = None

    def remember_message_id(self, mid):
        with self.lock:
            if mid in self.message_ids:
                return False
            self.message_ids[mid] = True
            while len(self.message_ids) > 4096:
                self.message_ids.popitem(last=False)
            return True

    def shell(self, shell_id):
        with self.lock:
            s = self.shells.get((shell_id or "").upper())
        if s is None or s.deleted:
            raise shell_not_found(shell_id)
        return s

    def kill_all(self):
        with self.lock:
            shells = list(self.shells.values())
        for s in shells:
            s.kill()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""

    def setup(self):
        ep = self.server.endpoint
        self.request.settimeout(IDLE_TIMEOUT)
        self.tls = self.server.tls_context is not None
        if self.tls:
            self.request.settimeout(15)
            self.request = self.server.tls_context.wrap_socket(self.request, server_side=True)
            self.request.settimeout(IDLE_TIMEOUT)
        super().setup()
        self.conn_id = next(ep.conn_ids)
        self.auth = None
        self.requests = 0

    def log_message(self, fmt, *a):
        log("conn %s: %s" % (getattr(self, "conn_id", "?"), fmt % a))

    # -- plumbing --
    def reply(self, status, body=b"", ctype=None, headers=(), close=False):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if body or ctype:
            self.send_header("Content-Type", ctype or "application/soap+xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if body:
            self.wfile.write(body)

    def challenges(self):
        a = self.server.endpoint.args
        out = []
        if "negotiate" in a.auth:
            out.append(("WWW-Authenticate", "Negotiate"))
        if "kerberos" in a.auth:
            out.append(("WWW-Authenticate", "Kerberos"))
        if "ntlm" in a.auth and a.offer_ntlm:
            out.append(("WWW-Authenticate", "NTLM"))
        if "credssp" in a.auth:
            out.append(("WWW-Authenticate", "CredSSP"))
        if "basic" in a.auth:
            out.append(("WWW-Authenticate", 'Basic realm="WSMAN"'))
        return out

    def unauthorized(self, why):
        log("conn %s: 401: %s" % (self.conn_id, why))
        self.auth = None
        self.reply(401, headers=self.challenges())

    def do_GET(self):
        self.read_body()
        self.reply(405, headers=[("Allow", "POST")])

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return None
        try:
            n = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            return None
        if n < 0 or n > MAX_BODY:
            return None
        return self.rfile.read(n) if n else b""

    # -- one request --
    def do_POST(self):
        ep = self.server.endpoint
        a = ep.args
        body = self.read_body()
        if body is None:
            self.reply(413, close=True)
            return
        path = self.path.split("?", 1)[0]
        if path.lower() != a.path.lower():
            self.reply(404)
            return
        with ep.lock:
            redirect = ep.redirects_left > 0
            if redirect:
                ep.redirects_left -= 1
        if redirect:
            self.reply(a.redirect_status, headers=[("Location", a.redirect_to)])
            return

        final_token = self.authenticate()
        if final_token is False:
            return
        extra = []
        if final_token:
            extra.append(("WWW-Authenticate", "%s %s" % (self.auth.scheme, base64.b64encode(final_token).decode())))
        if not body:
            # The empty POST that completes a handshake before encryption can start (pypsrp, pywinrm do this).
            self.reply(200, headers=extra)
            return

        credssp = isinstance(self.auth, credssp_acceptor.CredsspConn)
        encrypted = is_encrypted(self.headers.get("Content-Type")) or (
            credssp and (self.headers.get("Content-Type") or "").startswith("multipart/x-multi-encrypted"))
        negotiated = self.auth is not None and self.auth.complete and self.auth.ctx is not None
        if encrypted:
            if not negotiated:
                self.reply(400, headers=extra)
                return
            try:
                if credssp:
                    soap, charset = self.auth.unseal(self.headers.get("Content-Type"), body)
                else:
                    soap, charset = unseal_body(self.auth.ctx, self.headers.get("Content-Type"), body,
                                                self.auth.protocol, self.auth.krb5)
            except Exception as e:  # SealingError or a GSS error: the context is spent, like Windows drop it
                log("conn %s: cannot unseal: %s" % (self.conn_id, e))
                emit("AUTHFAIL %s %s unseal:%s" % (self.conn_id, self.auth.scheme, type(e).__name__))
                self.auth = None
                self.reply(400, close=True)
                return
            text = soap.decode("utf-16" if charset == "UTF-16" else "utf-8", "replace")
        else:
            if negotiated and not self.tls and not a.allow_unencrypted:
                # AllowUnencrypted=false: the body must be sealed on an HTTP Negotiate connection; Windows answers
                # such a request with 401, as old pywinrm users saw ("credentials rejected").
                emit("AUTHFAIL %s %s unencrypted-body" % (self.conn_id, self.auth.scheme))
                self.unauthorized("an unencrypted body on an HTTP %s connection" % self.auth.scheme)
                return
            soap = body
            text = body.decode("utf-8", "replace")

        status, answer = self.dispatch(text, len(soap))
        self.requests += 1
        close = bool(a.conn_max_requests) and self.requests >= a.conn_max_requests
        out = answer.encode("utf-8")
        if encrypted and credssp:
            ctype, out = self.auth.seal(out)
        elif encrypted:
            ctype, out = seal_body(self.auth.ctx, out, self.auth.protocol, self.auth.krb5)
        else:
            ctype = "application/soap+xml;charset=UTF-8"
        self.reply(status, out, ctype, headers=extra, close=close)

    def authenticate(self):
        """Authenticates the request; returns the final server token (bytes or None) or False when answered."""
        ep = self.server.endpoint
        a = ep.args
        header = self.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        scheme_l = scheme.lower()
        if not header:
            if self.auth is not None and self.auth.complete:
                return None
            self.unauthorized("no Authorization")
            return False
        if header.strip() == client_cert.MUTUAL_PROFILE:
            mapped, refused = ep.cert_auth.authenticate(self)
            if refused:
                emit("AUTHFAIL %s Certificate %d %s" % (self.conn_id, refused[0], refused[1]))
                log("conn %s: %d: %s" % (self.conn_id, refused[0], refused[1]))
                self.auth = None
                self.reply(refused[0])
                return False
            emit("AUTH %s Certificate %s cbt=none target=- %s" % (self.conn_id, mapped[0], mapped[1]))
            self.auth = ConnAuth("Certificate", None, False)
            self.auth.complete = True
            self.auth.user = mapped[0]
            return None
        if scheme_l == "basic" and "basic" in a.auth:
            if not self.tls and not a.allow_unencrypted:
                emit("AUTHFAIL %s Basic over-http" % self.conn_id)
                self.unauthorized("Basic over HTTP without --allow-unencrypted")
                return False
            try:
                name, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
            except ValueError:
                name, password = "", None
            if password is None or not basic_ok(ep.users, name, password):
                emit("AUTHFAIL %s Basic bad-credentials" % self.conn_id)
                self.unauthorized("Basic credentials rejected")
                return False
            emit("AUTH %s Basic %s cbt=none target=-" % (self.conn_id, name))
            self.auth = ConnAuth("Basic", None, False)
            self.auth.complete = True
            self.auth.user = name
            return None
        if ((scheme_l == "negotiate" and "negotiate" in a.auth) or (scheme_l == "ntlm" and "ntlm" in a.auth)
                or (scheme_l == "kerberos" and "kerberos" in a.auth)):
            try:
                token = base64.b64decode(value.strip(), validate=True)
            except ValueError:
                self.unauthorized("a token that is not base64")
                return False
            return self.step(scheme, token)
        if scheme_l == "credssp" and "credssp" in a.auth:
            return credssp_acceptor.step(self, value, emit, lambda n, pw: basic_ok(ep.users, n, pw))
        self.unauthorized("scheme %s not enabled" % scheme)
        return False

    def step(self, scheme, token):
        import gssapi
        import gssapi.raw
        ep = self.server.endpoint
        a = ep.args
        raw = token.startswith(b"NTLMSSP\x00")
        # An NTLM NEGOTIATE or a SPNEGO NegTokenInit (GSS-API tag 0x60, RFC 2743 3.1) opens a handshake.
        initial = token.startswith(b"\x60") or (raw and token[8:12] == struct.pack("<I", 1))
        if (self.auth is None or self.auth.complete or self.auth.ctx is None or initial
                or self.auth.scheme.lower() != scheme.lower()):
            # A new context: a first token starts over, even on an authenticated connection (as IIS does).
            cb = None
            if self.tls and ep.cbt_app_data is not None:
                cb = gssapi.raw.ChannelBindings(application_data=ep.cbt_app_data)
            try:
                if scheme.lower() == "kerberos":
                    # The Kerberos scheme: bare RFC 4121 tokens, the service keys from KRB5_KTNAME.
                    creds = gssapi.Credentials(usage="accept", mechs=[KRB5_OID])
                elif raw:
                    creds = gssapi.Credentials(usage="accept", mechs=[NTLM_OID])
                else:
                    creds = None  # SPNEGO: an NTLM-only acceptor credential fails with MissingCredentials
                ctx = gssapi.SecurityContext(creds=creds, usage="accept", channel_bindings=cb)
            except gssapi.exceptions.GSSError as e:
                emit("AUTHFAIL %s %s acceptor:%s" % (self.conn_id, scheme, type(e).__name__))
                self.unauthorized("no acceptor credential: %s" % e)
                return False
            self.auth = ConnAuth(scheme, ctx, raw)
        authenticate_msg = find_ntlm_message(token, 3)
        if authenticate_msg is not None and self.tls and a.require_cbt:
            pairs = authenticate_av_pairs(authenticate_msg)
            got = pairs.get(10)
            if not got or got == b"\x00" * 16 or got != expected_binding_hash(ep.cbt_app_data):
                emit("AUTHFAIL %s %s cbt:%s" % (self.conn_id, scheme, "missing" if not got or not any(got) else "wrong"))
                self.unauthorized("channel binding missing or wrong (--require-cbt)")
                return False
        try:
            out = self.auth.ctx.step(token)
            complete = self.auth.ctx.complete  # python-gssapi may raise the step's error here
        except Exception as e:  # GSSError: wrong password, bad token, bad channel binding
            emit("AUTHFAIL %s %s %s" % (self.conn_id, scheme, type(e).__name__))
            self.unauthorized("GSSAPI refused the token: %s" % e)
            return False
        if not complete:
            log("conn %s: %s leg, %d bytes out" % (self.conn_id, scheme, len(out or b"")))
            self.reply(401, headers=[("WWW-Authenticate", "%s %s" % (scheme, base64.b64encode(out or b"").decode()))])
            return False
        self.auth.complete = True
        self.auth.user = str(self.auth.ctx.initiator_name).rstrip("\x00")
        if self.auth.ctx.mech == KRB5_OID:
            return self.kerberos_done(scheme, out)
        pairs = authenticate_av_pairs(authenticate_msg) if authenticate_msg is not None else {}
        cbt = pairs.get(10)
        cbt_state = "none" if not cbt or not any(cbt) else (
            "ok" if ep.cbt_app_data is not None and cbt == expected_binding_hash(ep.cbt_app_data) else "other")
        target = pairs.get(9)
        target_s = target.decode("utf-16-le", "replace") if target else "-"
        emit("AUTH %s %s %s cbt=%s target=%s" % (self.conn_id, scheme, self.auth.user, cbt_state, target_s or "-"))
        return out or None

    def kerberos_done(self, scheme, out):
        """A Kerberos context completed (bare or in SPNEGO): check the channel binding, report, answer AP-REP."""
        import gssapi
        self.auth.krb5 = True
        # MIT sets channel_bound only when the initiator's bindings matched ours (a mismatch fails the step itself).
        bound = bool(self.auth.ctx.actual_flags & gssapi.RequirementFlag.channel_bound)
        if self.tls and self.server.endpoint.args.require_cbt and not bound:
            emit("AUTHFAIL %s %s cbt:missing" % (self.conn_id, scheme))
            self.unauthorized("Kerberos without the channel binding (--require-cbt)")
            return False
        target = str(self.auth.ctx.target_name) if self.auth.ctx.target_name is not None else "-"
        emit("AUTH %s %s %s cbt=%s target=%s mech=krb5" % (
            self.conn_id, scheme, self.auth.user, "ok" if bound else "none", target))
        return out or None

    # -- WS-Management --
    def dispatch(self, text, size):
        ep = self.server.endpoint
        a = ep.args
        relates = None
        try:
            if size > a.max_envelope_size:
                raise encoding_limit("The request has %d bytes; the limit is %d." % (size, a.max_envelope_size), 413)
            try:
                root = ET.fromstring(text)
            except ET.ParseError as e:
                raise bad_envelope(str(e)) from None
            if root.tag != "{%s}Envelope" % NS_S:
                raise bad_envelope("The root element is not a SOAP 1.2 Envelope.")
            hdr = root.find("{%s}Header" % NS_S)
            body = root.find("{%s}Body" % NS_S)
            if hdr is None or body is None:
                raise bad_envelope("The envelope has no Header or no Body.")
            mid = (hdr.findtext("{%s}MessageID" % NS_A) or "").strip()
            if not mid:
                raise invalid_header("The MessageID is missing.")
            relates = mid
            if not re.fullmatch(r"uuid:[0-9A-Fa-f-]{36}", mid):
                raise invalid_header("The MessageID %s is not a uuid: URI." % mid)
            if not ep.remember_message_id(mid.lower()):
                raise invalid_header("The MessageID %s was already used." % mid)
            action = (hdr.findtext("{%s}Action" % NS_A) or "").strip()
            resource = (hdr.findtext("{%s}ResourceURI" % NS_W) or "").strip()
            mes = (hdr.findtext("{%s}MaxEnvelopeSize" % NS_W) or "").strip()
            max_env = a.max_envelope_size
            if mes:
                if not mes.isdigit():
                    raise invalid_header("The MaxEnvelopeSize %s is not a number." % mes)
                if int(mes) < 8192:
                    raise encoding_limit("MaxEnvelopeSize %s is below 8192 (MS-WSMV 3.1.4.1.7)." % mes)
                max_env = min(max_env, int(mes))
            timeout = parse_duration(hdr.findtext("{%s}OperationTimeout" % NS_W))
            locale = hdr.find("{%s}Locale" % NS_W)
            if locale is not None and locale.get("{%s}mustUnderstand" % NS_S) in ("true", "1"):
                raise Fault("Sender", "s:MustUnderstand", "The WS-Management service cannot process the request "
                            "because wsman:Locale is marked mustUnderstand. ")
            shell_id = None
            sel = hdr.find("{%s}SelectorSet" % NS_W)
            if sel is not None:
                for s in sel.findall("{%s}Selector" % NS_W):
                    if s.get("Name") == "ShellId":
                        shell_id = (s.text or "").strip()
            log("conn %s: %s %s" % (self.conn_id, action.rsplit("/", 1)[-1], shell_id or ""))
            if action not in (ACT_CREATE, ACT_DELETE, ACT_COMMAND, ACT_SEND, ACT_RECEIVE, ACT_SIGNAL):
                raise Fault("Sender", "a:ActionNotSupported",
                            "The WS-Management service cannot process the request. The action %s is not supported "
                            "by the service. " % action,
                            None, "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/ActionMismatch")
            if not resource.startswith(PS_RESOURCE_PREFIX) or len(resource) == len(PS_RESOURCE_PREFIX):
                raise Fault("Sender", "w:DestinationUnreachable",
                            "The WS-Management service cannot process the request. The resource URI (%s) was not "
                            "found in the WS-Management catalog. " % resource, CODE_INVALID_RESOURCE_URI,
                            "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/InvalidResourceURI")
            req = Request(action, mid, resource, max_env, timeout, shell_id, hdr, body)
            handler = {ACT_CREATE: self.op_create, ACT_DELETE: self.op_delete, ACT_COMMAND: self.op_command,
                       ACT_SEND: self.op_send, ACT_RECEIVE: self.op_receive, ACT_SIGNAL: self.op_signal}[action]
            resp_body = handler(req)
            return 200, envelope(action + "Response", mid, resp_body)
        except Fault as f:
            log("conn %s: fault %s: %s" % (self.conn_id, f.subcode, f.message.strip()))
            return f.status, f.xml(relates, ep.machine)
        except ShellDied:
            f = host_died()
            return f.status, f.xml(relates, ep.machine)
        except TimeoutError as e:
            f = Fault("Receiver", "w:InternalError", "The shell's pwsh did not answer: %s " % e)
            return f.status, f.xml(relates, ep.machine)

    def op_create(self, req):
        ep = self.server.endpoint
        shell_el = req.body.find("{%s}Shell" % NS_RSP)
        if shell_el is None:
            raise bad_envelope("Create has no rsp:Shell.")
        creation_el = shell_el.find("{%s}creationXml" % NS_PS)
        if creation_el is None or not (creation_el.text or "").strip():
            raise bad_envelope("Create has no creationXml.")
        try:
            creation = base64.b64decode((creation_el.text or "").strip(), validate=True)
            frags = split_fragments(creation)
        except ValueError as e:
            raise bad_envelope("creationXml: %s" % e) from None
        if len(frags) < 2:
            raise bad_envelope("creationXml must hold SESSION_CAPABILITY and INIT_RUNSPACEPOOL.")
        shell_id = (shell_el.get("ShellId") or new_uuid()).upper()
        with ep.lock:
            if shell_id in ep.shells and not ep.shells[shell_id].deleted:
                raise Fault("Sender", "w:AlreadyExists", "A shell with ShellId %s already exists. " % shell_id)
            live = sum(1 for s in ep.shells.values() if not s.deleted and not s.dead)
            if live >= ep.args.max_shells:
                raise Fault("Receiver", "w:QuotaLimit", "The maximum number of shells (%d) is reached. "
                            % ep.args.max_shells)
        try:
            shell = Shell(ep, shell_id, req.resource, self.auth.user if self.auth else "-",
                          self.client_address[0], req.max_env)
        except OSError as e:
            raise Fault("Receiver", "w:InternalError", "pwsh could not be started: %s " % e) from None
        with ep.lock:
            ep.shells[shell_id] = shell
        emit("SHELL %s %d" % (shell_id, shell.pid))
        shell.open_pool(creation)
        to = (req.header.findtext("{%s}To" % NS_A) or "").strip()
        return ('<x:ResourceCreated><a:Address>%s</a:Address><a:ReferenceParameters><w:ResourceURI>%s</w:ResourceURI>'
                '<w:SelectorSet><w:Selector Name="ShellId">%s</w:Selector></w:SelectorSet></a:ReferenceParameters>'
                '</x:ResourceCreated><rsp:Shell xmlns:rsp="%s"><rsp:ShellId>%s</rsp:ShellId>'
                '<rsp:ResourceUri>%s</rsp:ResourceUri><rsp:Owner>%s</rsp:Owner><rsp:ClientIP>%s</rsp:ClientIP>'
                '<rsp:ProcessId>%d</rsp:ProcessId><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut>'
                '<rsp:InputStreams>stdin pr</rsp:InputStreams><rsp:OutputStreams>stdout</rsp:OutputStreams>'
                '<rsp:MaxIdleTimeOut>PT2147483.647S</rsp:MaxIdleTimeOut><rsp:Locale>en-US</rsp:Locale>'
                '<rsp:DataLocale>en-US</rsp:DataLocale><rsp:CompressionMode>NoCompression</rsp:CompressionMode>'
                '<rsp:ProfileLoaded>Yes</rsp:ProfileLoaded><rsp:Encoding>UTF8</rsp:Encoding>'
                '<rsp:BufferMode>Block</rsp:BufferMode><rsp:State>Connected</rsp:State>'
                '<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity>'
                '</rsp:Shell>'
                % (xesc(to), xesc(req.resource), shell_id, NS_RSP, shell_id, xesc(req.resource),
                   xesc(shell.owner), xesc(shell.client_ip), shell.pid))

    def op_command(self, req):
        shell = self.server.endpoint.shell(req.shell_id)
        cl = req.body.find("{%s}CommandLine" % NS_RSP)
        if cl is None:
            raise bad_envelope("Command has no rsp:CommandLine.")
        try:
            first = base64.b64decode((cl.findtext("{%s}Arguments" % NS_RSP) or "").strip(), validate=True)
            frags = split_fragments(first)
        except ValueError as e:
            raise bad_envelope("rsp:Arguments: %s" % e) from None
        if not frags:
            raise bad_envelope("rsp:Arguments holds no PSRP fragment.")
        proposed = (cl.get("CommandId") or "").strip()
        hdr = message_header(fragment_fields(frags[0])[3]) if fragment_fields(frags[0])[2] & 1 else None
        if proposed:
            command_id, psguid = proposed.upper(), proposed.lower()
        else:
            command_id = new_uuid()
            psguid = hdr[3] if hdr and hdr[3] != EMPTY_GUID else command_id.lower()
        if shell.dead:
            raise ShellDied()
        with shell.cond:
            if command_id in shell.pipelines:
                raise Fault("Sender", "w:AlreadyExists", "A command with CommandId %s already exists. " % command_id)
        shell.create_pipeline(command_id, psguid, first)
        return "<rsp:CommandResponse><rsp:CommandId>%s</rsp:CommandId></rsp:CommandResponse>" % command_id

    def op_send(self, req):
        shell = self.server.endpoint.shell(req.shell_id)
        send = req.body.find("{%s}Send" % NS_RSP)
        if send is None:
            raise bad_envelope("Send has no rsp:Send.")
        for st in send.findall("{%s}Stream" % NS_RSP):
            name = st.get("Name")
            if name not in ("stdin", "pr"):
                raise Fault("Sender", "w:InvalidParameter", "The stream %s is not an input stream of the shell. "
                            % name)
            try:
                data = base64.b64decode((st.text or "").strip(), validate=True)
                frags = split_fragments(data)
            except ValueError as e:
                raise bad_envelope("rsp:Stream: %s" % e) from None
            cid = (st.get("CommandId") or "").strip().upper()
            with shell.cond:
                if cid:
                    target = shell.pipelines.get(cid)
                    if target is None:
                        raise command_not_found()
                else:
                    # pypsrp sends `pr` without CommandId: route by the message's PID, as Windows does.
                    target = shell.pool
                    if frags and fragment_fields(frags[0])[2] & 1:
                        h = message_header(fragment_fields(frags[0])[3])
                        if h and h[3] in shell.by_guid:
                            target = shell.by_guid[h[3]]
            if shell.dead:
                raise ShellDied()
            shell.send_data(target.psguid, "PromptResponse" if name == "pr" else "Default", data)
        return "<rsp:SendResponse/>"

    def op_receive(self, req):
        shell = self.server.endpoint.shell(req.shell_id)
        rcv = req.body.find("{%s}Receive" % NS_RSP)
        ds = rcv.find("{%s}DesiredStream" % NS_RSP) if rcv is not None else None
        if ds is None:
            raise bad_envelope("Receive has no rsp:DesiredStream.")
        cid = (ds.get("CommandId") or "").strip().upper()
        wait = min(req.timeout if req.timeout is not None else 60.0, MAX_RECEIVE_WAIT)
        deadline = time.monotonic() + wait
        budget = req.max_env - 2048
        with shell.cond:
            if cid:
                target = shell.pipelines.get(cid)
                if target is None:
                    raise command_not_found()
            else:
                target = shell.pool
            # A pipeline's end ends the wait (CommandState Done); the pool's state does not (it has no Done).
            while not target.queue and not (cid and target.terminal) and not shell.dead and not target.closed \
                    and not shell.deleted:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise timed_out()
                shell.cond.wait(left)
            if shell.deleted and not target.queue:
                raise shell_not_found(req.shell_id)
            if target.closed and not target.queue:
                raise command_not_found()
            streams, used = [], 0
            attr = ' CommandId="%s"' % cid if cid else ""
            while target.queue:
                frag = target.queue[0]
                cost = 4 * ((len(frag) + 2) // 3) + 64 + len(attr)
                if streams and used + cost > budget:
                    break
                target.queue.popleft()
                target.queued_bytes -= len(frag)
                used += cost
                streams.append('<rsp:Stream Name="stdout"%s>%s</rsp:Stream>'
                               % (attr, base64.b64encode(frag).decode("ascii")))
            if not streams and shell.dead and not target.terminal:
                raise host_died()
            state = ""
            if cid:
                if target.terminal and not target.queue:
                    state = ('<rsp:CommandState CommandId="%s" State="%s"><rsp:ExitCode>0</rsp:ExitCode>'
                             '</rsp:CommandState>' % (cid, STATE_DONE))
                else:
                    state = '<rsp:CommandState CommandId="%s" State="%s"/>' % (cid, STATE_RUNNING)
            elif not streams:
                raise host_died() if shell.dead else timed_out()
        return "<rsp:ReceiveResponse>%s%s</rsp:ReceiveResponse>" % ("".join(streams), state)

    def op_signal(self, req):
        shell = self.server.endpoint.shell(req.shell_id)
        sig = req.body.find("{%s}Signal" % NS_RSP)
        if sig is None:
            raise bad_envelope("Signal has no rsp:Signal.")
        cid = (sig.get("CommandId") or "").strip().upper()
        code = (sig.findtext("{%s}Code" % NS_RSP) or "").strip()
        with shell.cond:
            target = shell.pipelines.get(cid)
        if target is None:
            raise command_not_found()
        if code == SIGNAL_STOP:
            if shell.dead:
                raise ShellDied()
            shell.stop_pipeline(target)
        else:
            shell.close_pipeline(target)
        return "<rsp:SignalResponse/>"

    def op_delete(self, req):
        ep = self.server.endpoint
        shell = ep.shell(req.shell_id)
        shell.close()
        with ep.lock:
            ep.shells.pop(shell.shell_id, None)
        return ""


class Request:
    def __init__(self, action, mid, resource, max_env, timeout, shell_id, header, body):
        self.action, self.mid, self.resource, self.max_env = action, mid, resource, max_env
        self.timeout, self.shell_id, self.header, self.body = timeout, shell_id, header, body


def parse_duration(text):
    """xs:duration seconds (`PT20S`, `PT0.500S`, `PT1M`); None when absent or not understood."""
    m = re.fullmatch(r"\s*P(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)\s*", text or "")
    if not m or not any(m.groups()):
        return None
    h, mi, s = m.groups()
    return int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)


NTLM_OID = None
KRB5_OID = None


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, endpoint, tls_context):
        self.endpoint = endpoint
        self.tls_context = tls_context
        family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        self.address_family = family
        super().__init__(addr, Handler)

    def handle_error(self, request, client_address):
        if VERBOSE:
            super().handle_error(request, client_address)


# ---- certificates and channel binding ------------------------------------------------------------------------------

def make_certificate(workdir, host):
    """A self-signed certificate for `host`, localhost and 127.0.0.1 (sha256WithRSA)."""
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    san = "DNS:localhost,IP:127.0.0.1,IP:::1"
    if host not in ("localhost", "127.0.0.1", "::1", "0.0.0.0", "::"):
        san += ",%s:%s" % ("IP" if re.fullmatch(r"[\d.]+|[0-9a-fA-F:]+", host) else "DNS", host)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-sha256", "-nodes", "-days", "2",
                    "-keyout", key, "-out", cert, "-subj", "/CN=localhost", "-addext", "subjectAltName=" + san],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    return cert, key


def binding_application_data(cert_pem_path):
    """RFC 5929 4.1 tls-server-end-point: the certificate's own signature hash, SHA-256 for MD5 and SHA-1."""
    with open(cert_pem_path, encoding="ascii") as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    text = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", cert_pem_path], check=True,
                          capture_output=True, timeout=30).stdout.decode("utf-8", "replace")
    m = re.search(r"Signature Algorithm:\s*(\S+)", text)
    alg = (m.group(1) if m else "").lower()
    name = "sha384" if "sha384" in alg else "sha512" if "sha512" in alg else "sha256"
    return b"tls-server-end-point:" + hashlib.new(name, der).digest()


# ---- main --------------------------------------------------------------------------------------------------------

def find_pwsh():
    for c in (os.environ.get("PSREMOTE_PWSH"), shutil.which("pwsh"),
              os.path.expanduser("~/.dotnet/tools/pwsh")):
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


def main():
    global VERBOSE, NTLM_OID, KRB5_OID
    p = argparse.ArgumentParser(description="WS-Management test endpoint (gss-ntlmssp auth, pwsh -s shells)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5985, help="HTTP port; 0: any free port")
    p.add_argument("--https", action="store_true", help="also serve HTTPS")
    p.add_argument("--https-port", type=int, default=0, help="HTTPS port; 0: any free port")
    p.add_argument("--https-only", action="store_true", help="no HTTP listener (implies --https)")
    p.add_argument("--cert", help="PEM certificate (default: a self-signed one made at start)")
    p.add_argument("--key", help="PEM private key for --cert")
    p.add_argument("--require-cbt", action="store_true",
                   help="over HTTPS refuse NTLM without the right tls-server-end-point binding (Extended Protection)")
    p.add_argument("--users", default=os.environ.get("NTLM_USER_FILE"),
                   help="DOMAIN:User:Password lines (default $NTLM_USER_FILE, else PSREMOTE:psuser:Passw0rd!)")
    p.add_argument("--auth", default="negotiate,ntlm,basic",
                   help="schemes accepted, comma-separated: negotiate, ntlm, basic, kerberos (needs KRB5_KTNAME), credssp")
    p.add_argument("--credssp-version", type=int, default=6, choices=range(2, 7),
                   help="the TSRequest version the CredSSP acceptor speaks (2-4: the old binding, 5-6: the hash)")
    p.add_argument("--credssp-tamper", choices=("server", "client"),
                   help="server: the CredSSP acceptor sends a wrong pubKeyAuth (the client must refuse it); client: it "
                        "checks the client's against another key, as when a relay terminated the client's TLS")
    p.add_argument("--offer-ntlm", action="store_true", help="also offer the bare NTLM scheme in 401s")
    p.add_argument("--allow-unencrypted", action="store_true",
                   help="accept plaintext bodies and Basic over HTTP (WinRM's AllowUnencrypted=true)")
    p.add_argument("--path", default="/wsman")
    p.add_argument("--pwsh", default=None, help="pwsh path (default $PSREMOTE_PWSH, PATH, ~/.dotnet/tools)")
    p.add_argument("--max-envelope-size", type=int, default=512000,
                   help="bytes; larger requests get the EncodingLimit fault (HTTP 413); caps the answers too")
    p.add_argument("--max-shells", type=int, default=16)
    p.add_argument("--redirect-to", help="answer the first --redirect-count requests with a redirect here")
    p.add_argument("--redirect-count", type=int, default=1)
    p.add_argument("--redirect-status", type=int, default=307, choices=(301, 302, 303, 307, 308))
    p.add_argument("--conn-max-requests", type=int, default=0,
                   help="close each connection after this many WS-Management answers (authentication legs do not count)")
    p.add_argument("--workdir", default=None, help="for the generated certificate and the shells' cwd")
    p.add_argument("--ignore-stdin", action="store_true", help="keep running when stdin closes")
    p.add_argument("--verbose", action="store_true", help="log requests to stderr")
    client_cert.add_arguments(p)
    args = p.parse_args()
    VERBOSE = args.verbose
    args.auth = {x.strip().lower() for x in args.auth.split(",") if x.strip()}
    if args.https_only:
        args.https = True
    args.workdir = args.workdir or tempfile.mkdtemp(prefix="psremote-wsman-")
    if not args.users:
        # Started by hand: the documented test account (README "Try WinRM without Windows").
        args.users = os.path.join(args.workdir, "users")
        with open(args.users, "w", encoding="utf-8") as f:
            f.write("PSREMOTE:psuser:Passw0rd!\n:psuser@psremote.test:Passw0rd!\n")
        os.chmod(args.users, 0o600)
        sys.stderr.write("[wsman-endpoint] no --users: account PSREMOTE\\psuser, password Passw0rd!\n")
    if not os.path.isfile(args.users):
        p.error("--users (or NTLM_USER_FILE) must name a DOMAIN:User:Password file")
    os.environ["NTLM_USER_FILE"] = os.path.abspath(args.users)
    args.pwsh = args.pwsh or find_pwsh()
    if not args.pwsh:
        p.error("pwsh not found: give --pwsh or set PSREMOTE_PWSH")

    import gssapi  # after NTLM_USER_FILE is set: gss-ntlmssp reads it
    NTLM_OID = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
    KRB5_OID = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2")

    ep = Endpoint(args)
    servers = []
    tls_ctx = None
    if args.https:
        cert, key = (args.cert, args.key) if args.cert else make_certificate(args.workdir, args.host)
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.load_cert_chain(cert, key)
        ep.cbt_app_data = binding_application_data(cert)
        https = Server((args.host, args.https_port), ep, tls_ctx)
        servers.append(https)
        emit("HTTPS %d" % https.server_address[1])
        emit("CA %s" % os.path.abspath(cert))
    ep.cert_auth = client_cert.setup(args, tls_ctx)
    if "credssp" in args.auth:
        # CredSSP's own TLS (inside the HTTP exchange) has its own certificate, as Windows' WinRM does.
        cdir = os.path.join(args.workdir, "credssp")
        os.makedirs(cdir, exist_ok=True)
        ep.credssp = credssp_acceptor.CredsspConfig(*make_certificate(cdir, args.host), args.credssp_version,
                                                    args.credssp_tamper)
    http_port = 0
    if not args.https_only:
        plain = Server((args.host, args.port), ep, None)
        servers.append(plain)
        http_port = plain.server_address[1]
    for s in servers:
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()

    done = threading.Event()

    def stop(*_):
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if not args.ignore_stdin:
        def watch_stdin():
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            except (OSError, ValueError):
                pass
            done.set()
        threading.Thread(target=watch_stdin, daemon=True).start()
    emit("LISTENING %d" % http_port)
    while not done.wait(0.5):
        pass
    ep.kill_all()
    for s in servers:
        try:
            s.server_close()
        except OSError:
            pass
    os._exit(0)


if __name__ == "__main__":
    main()
