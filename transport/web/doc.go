// Package web holds the files a node serves to browsers, embedded in the binary: the JS client
// (liveroom.js, also the SDK apps load from /v1/sdk/liveroom.js), the demo page (index.html,
// demo.js, its pure helpers demo_view.js, demo.css; dev mode only) and the admin page (admin.html, admin.js, admin.css), and
// serves them with their content types and security headers (web.go). Routing, the method
// check and the error answers are the caller's (transport).
//
// Concurrency contract: everything here is read-only after init; Serve may be called from any
// number of goroutines at once.
package web
