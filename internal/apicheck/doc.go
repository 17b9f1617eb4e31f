// Package apicheck holds an HTTP API to its OpenAPI 3.1 document, for tests: Load reads the
// document and checks it (it parses, every $ref resolves, every schema compiles as JSON Schema
// 2020-12, path templates and their parameters agree, every operation lists its answers), and
// Doc.Check validates one reply (status, documented headers, content type, JSON body) against
// the operation the reply's path and method name.
//
// Only tests import it: the server's binary never links the schema library. It knows nothing
// of liveroom: the document says everything, the answers every path gives included (stated
// once in the extension x-every-path instead of under each operation); the caller says which
// of the document's servers a reply came from.
//
// Concurrency contract: a Doc is immutable once Load returns; Check may be called from any
// number of goroutines at once (the compiled schemas are read-only).
package apicheck
