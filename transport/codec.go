package transport

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/rooms"
)

// The parsers of HTTP request bodies and query values. Each returns a *rooms.Error
// (bad_request or too_large) for bad input, never panics; FuzzPostBody, FuzzParseNotice,
// FuzzParseTTL, FuzzParseConfigPatch and FuzzParsePullQuery feed them arbitrary bytes.

func badRequest(msg string) error { return rooms.Errorf(rooms.CodeBadRequest, msg) }

// decodeStrict decodes one JSON value from body into v: bytes that are not UTF-8, wrong JSON
// types and anything after the value are errors. unknownOK = false also refuses fields v does not have.
func decodeStrict(body []byte, v any, unknownOK bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("a JSON body is required")
	}
	if !utf8.Valid(body) {
		return badRequest("the body is not valid UTF-8 (JSON must be: RFC 8259 section 8.1)")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if !unknownOK {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return badRequest("malformed JSON body: " + err.Error())
	}
	if !onlyJSONSpace(body[dec.InputOffset():]) {
		return badRequest("trailing data after the JSON body")
	}
	return nil
}

func onlyJSONSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// postBody is `POST /v1/rooms/{room}/messages`: the message and the uid it is from.
type postBody struct {
	UID json.RawMessage `json:"uid"`
	messageIn
}

// parsePost validates a server's message: the message as checkMessage says, and uid absent,
// "" or a valid id. The Source is left for the caller (it depends on the key).
func parsePost(raw []byte, maxBody int) (rooms.SendRequest, error) {
	var p postBody
	if err := decodeStrict(raw, &p, true); err != nil {
		return rooms.SendRequest{}, err
	}
	req, err := checkMessage(p.messageIn, maxBody)
	if err != nil {
		return req, err
	}
	uid, _, err := jsonString("uid", p.UID)
	if err != nil {
		return req, err
	}
	if uid != "" && !ValidID(uid) {
		return req, badRequest("uid must be empty or match [A-Za-z0-9_.:-]{1,128}")
	}
	req.UID = uid
	return req, nil
}

// noticeBody is an admin notice: a message and its optional pin.
type noticeBody struct {
	messageIn
	PinS json.RawMessage `json:"pin_s"`
}

// parseNotice validates an admin notice `{"kind"?, "body", "cmid"?, "pin_s"?}` as checkMessage
// does; kind defaults to "notice" and any pri is ignored: the request is stamped system, from
// the admin, with uid "". cmid makes a retried notice (after a timeout, a failover) count once,
// as for messages. pin_s (PROTOCOL.md 8.3) is an integer from 1 to 86400.
func parseNotice(raw []byte, maxBody int) (rooms.SendRequest, error) {
	var p noticeBody
	if err := decodeStrict(raw, &p, true); err != nil {
		return rooms.SendRequest{}, err
	}
	if isAbsent(p.Kind) {
		p.Kind = json.RawMessage(`"notice"`)
	}
	p.Pri = nil
	req, err := checkMessage(p.messageIn, maxBody)
	req.Pri, req.Source = ring.System, rooms.FromAdmin
	if err != nil || isAbsent(p.PinS) {
		return req, err
	}
	n, end, ok := flatInt(p.PinS, 0)
	if !ok || end != len(p.PinS) || n < 1 || n > rooms.MaxPinS {
		return req, badRequest("pin_s must be an integer from 1 to 86400 (seconds)")
	}
	req.PinS = int(n)
	return req, nil
}

// maxTTL bounds a moderation TTL (ten years; 0 means forever anyway).
const maxTTL = 10 * 365 * 24 * time.Hour

// parseTTL reads the optional body `{"ttl_s":N}` of a moderation PUT: N an integer >= 0,
// 0 or absent = forever. An empty body means forever.
func parseTTL(raw []byte) (time.Duration, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return 0, nil
	}
	var p struct {
		TTL *int64 `json:"ttl_s"`
	}
	if err := decodeStrict(raw, &p, false); err != nil {
		return 0, err
	}
	if p.TTL == nil {
		return 0, nil
	}
	if *p.TTL < 0 || *p.TTL > int64(maxTTL/time.Second) {
		return 0, badRequest("ttl_s must be an integer from 0 (forever) to 315360000 (ten years)")
	}
	return time.Duration(*p.TTL) * time.Second, nil
}

// parseConfigPatch reads `PUT /v1/rooms/{room}/config`: strict types, no unknown fields (a
// typo must not silently change nothing), values in range (checked against the defaults, so
// the error names the field).
func parseConfigPatch(raw []byte) (rooms.ConfigPatch, error) {
	var p rooms.ConfigPatch
	if err := decodeStrict(raw, &p, false); err != nil {
		return p, err
	}
	if _, err := p.Apply(rooms.DefaultConfig()); err != nil {
		return p, err
	}
	return p, nil
}

// pullQuery is the parsed query of `GET /v1/rooms/{room}/messages`.
type pullQuery struct {
	since int64
	limit int
	wait  time.Duration
}

// parsePullQuery reads since (integer >= 0, default 0), limit (integer >= 1, default def,
// clamped to maxLimit) and wait (seconds, a number, clamped to 0..maxWait, default 0). get returns
// a query value, nil or empty when absent.
func parsePullQuery(get func(string) []byte, def, maxLimit int, maxWait time.Duration) (pullQuery, error) {
	q := pullQuery{limit: def}
	if v := get("since"); len(v) > 0 {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || n < 0 {
			return q, badRequest("since must be an integer >= 0")
		}
		q.since = n
	}
	if v := get("limit"); len(v) > 0 {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || n < 1 {
			return q, badRequest("limit must be an integer >= 1")
		}
		q.limit = int(min(n, int64(maxLimit)))
	}
	if v := get("wait"); len(v) > 0 {
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return q, badRequest("wait must be a number of seconds")
		}
		f = min(max(f, 0), maxWait.Seconds())
		q.wait = time.Duration(f * float64(time.Second))
	}
	return q, nil
}
