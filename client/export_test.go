package client

// StartFakeServer starts the tests' stand-in for liveroomd (fakeserver_test.go, with the rooms
// of fakeroom_test.go) for the examples, which live in package client_test. It returns the
// server's WebSocket URL and a func that stops it.
func StartFakeServer() (wsURL string, stop func(), err error) {
	fs, err := startFakeServer(newFakeHub().serveRooms)
	if err != nil {
		return "", nil, err
	}
	return fs.url, fs.close, nil
}
