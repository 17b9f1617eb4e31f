// Command liveroomd is the liveroom server: flags and LIVEROOM_* environment onto the
// transport and actor configs, wiring, and graceful shutdown on SIGINT/SIGTERM (sessions get
// `kick` reason `shutdown` and close 1001, room grains save their state, the node leaves the
// cluster). See PROTOCOL.md section 7 for the flags.
package main
