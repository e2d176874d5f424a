// The daemon layer's door: svcd's server, the remote Engine clients use, and where the socket is.
export { DaemonServer, type DaemonListen, type DaemonServerOptions } from "./daemon-server.js";
export { RemoteEngine, type RemoteSessionOptions } from "./remote-engine.js";
export { probeDaemon, probeKeepingClient, daemonStatus, PROBE_TIMEOUT_MS, type DaemonProbe } from "./probe.js";
export { daemonSocketPath, defaultDaemonDir, SOCKET_NAME } from "./daemon-socket.js";
export { svcdVersion } from "./protocol.js";
export { daemonListServices, daemonServiceLogs, daemonServiceRuns, daemonStopServices } from "./operations.js";
