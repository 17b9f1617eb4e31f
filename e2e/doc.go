// Package e2e holds tests that drive the real liveroomd binary from outside, such as the
// browser test of the demo page. It has no non-test code.
package e2e
