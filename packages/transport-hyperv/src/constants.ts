/**
 * PowerShell Direct's constants, as PowerShell's client defines them
 * (RemoteSessionHyperVSocket.cs: "constants in hvsocket.h", "version constants", the service GUIDs).
 */

/** Address family of Hyper-V sockets (hvsocket.h AF_HYPERV). */
export const AF_HYPERV = 34;
/** The only Hyper-V socket protocol (hvsocket.h HV_PROTOCOL_RAW), also the socket-option level. */
export const HV_PROTOCOL_RAW = 1;
/** Socket option for Hyper-V containers only (hvsocket.h HVSOCKET_CONTAINER_PASSTHRU). */
export const HVSOCKET_CONTAINER_PASSTHRU = 2;
/** Socket option: connect timeout in milliseconds (hvsocket.h HVSOCKET_CONNECT_TIMEOUT; at most 300000). */
export const HVSOCKET_CONNECT_TIMEOUT = 1;
export const HVSOCKET_CONNECT_TIMEOUT_MAX_MS = 300_000;
/** sizeof(SOCKADDR_HV): family u16, reserved u16, VmId GUID, ServiceId GUID. */
export const SOCKADDR_HV_SIZE = 36;

/** Socket 1: the broker, vmicvmsession in the guest (HV_GUID_VM_SESSION_SERVICE_ID). */
export const VM_SESSION_SERVICE_ID = '999e53d4-3d5c-4c3e-8779-bed06ec056e1';
/** Socket 2: the PowerShell server the broker started (HV_GUID_VM_SESSION_SERVICE_ID_2). */
export const VM_SESSION_SERVICE_ID_2 = 'a5201c21-2770-4c11-a68e-f182edb29220';
/** A guest's server listens on this VmId (HV_GUID_PARENT). */
export const HV_GUID_PARENT = 'a42e7cda-d03f-480c-9cc2-a4de20abb878';
/** The host's own loopback partition (HV_GUID_LOOPBACK). */
export const HV_GUID_LOOPBACK = 'e0e16197-dd56-4a10-9195-5ee7a155a838';

/** What the client sends first to learn the peer's transport version. */
export const VERSION_REQUEST = 'VERSION';
/** The transport version this client speaks (PowerShell 7.6.0-preview.5 and later). */
export const CLIENT_VERSION = 'VERSION_2';
/** A V2-or-later peer answers VERSION with this prefix; a legacy broker answers PASS or FAIL. */
export const VERSION_PREFIX = 'VERSION_';
/** The user name of the legacy probe: `?`, `<` and `>` cannot appear in a real account name (<= 20 chars). */
export const LEGACY_PROBE_USER = '?<PSDirectVMLegacy>';
/** The prefix of the broker's and the client's token messages. */
export const TOKEN_PREFIX = 'TOKEN ';
/** A line from the guest's server that starts with this (any case) is error text, not a packet. */
export const HYPERV_SOCKET_ERROR_PREFIX = '__HyperVSocketError__:';

/**
 * How many bytes PowerShell's ReceiveResponse asks for at each step. It rents its buffer from
 * ArrayPool<byte>.Shared, whose smallest bucket is 16 bytes, so one Receive may take up to the rented size.
 */
export const REPLY_SIZE = {
  ack: 4,
  version: 16,
  token: 1024,
  tokenAck: 256,
} as const;
