package apicheck

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
)

// Transport is an http.RoundTripper that checks every reply it carries against Doc (on any
// of its servers: a client does not know which listener it called) and adds it to Log under
// the test whose goroutine made the request. Set as http.DefaultTransport in a TestMain, it
// checks what http.Get, http.DefaultClient and clients without a Transport of their own get.
// It reads each body whole before handing it on; a 101's is the connection and is left alone.
type Transport struct {
	Doc  *Doc
	Log  *Log
	Base http.RoundTripper
}

func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	test := CallingTest()
	resp, err := t.Base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	r := Reply{Method: req.Method, Path: req.URL.Path, Status: resp.StatusCode, Header: resp.Header}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
			return resp, nil // the caller sees the error where it would have; nothing to check
		}
		resp.Body, r.Body = io.NopCloser(bytes.NewReader(body)), body
	}
	what, cerr := t.Doc.Check(r)
	t.Log.Add(test, what, r, req.URL.RequestURI()+" ("+req.URL.Host+")", cerr)
	return resp, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Main is a TestMain for packages whose tests call a server over HTTP: it runs m with
// http.DefaultTransport checking every reply against the document in the file at path, then
// writes the report; it returns the exit code (1 when a reply failed and the tests did not).
func Main(m *testing.M, path string) int {
	b, err := os.ReadFile(path)
	if err == nil {
		var doc *Doc
		if doc, err = Load(b); err == nil {
			var log Log
			base := http.DefaultTransport
			http.DefaultTransport = &Transport{Doc: doc, Log: &log, Base: base}
			defer func() { http.DefaultTransport = base }()
			code := m.Run()
			if log.Report(os.Stderr, doc, testing.Verbose()) && code == 0 {
				code = 1
			}
			return code
		}
	}
	fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
	return 1
}
