// Package wire owns every JSON encoding the server writes (PROTOCOL.md): the JSON string
// escaper, a message's wire form, a pull window, the WebSocket server frames (hello, joined,
// notify, left, msgs, push, sent, pong, kick, error) and the HTTP bodies built by hand. Bodies
// that are plain encoding/json of a Go struct (room info, config) and the parsing of client
// frames stay with their packages.
//
// Every encoder takes primitives or a small wire type and appends to the caller's []byte: it
// allocates only when the buffer is too small, so callers that reuse buffers stay
// allocation-free (the pull reply, the window encoding). Output is valid UTF-8 and valid JSON
// whatever the input strings hold.
//
// wire imports only the standard library: ring, rooms, actors, transport and the Go client
// import it, never the other way round.
//
// Concurrency contract: the package has no state; every function is safe for concurrent use.
// A Window is read-only once built: many replies share one.
package wire
