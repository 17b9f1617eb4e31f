package transport

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/rooms"
)

// The parsers of HTTP request bodies and query values. Each returns a *rooms.Error
// (bad_request or too_large) for bad input, never panics; FuzzParsePost and FuzzParseNotice
// feed them arbitrary bytes.

func badRequest(msg string) error { return rooms.Errorf(rooms.CodeBadRequest, msg) }

// decodeStrict decodes one JSON value from body into v: wrong JSON types are errors, and so is
// anything after the value. unknownOK = false also refuses fields v does not have.
func decodeStrict(body []byte, v any, unknownOK bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("a JSON body is required")
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

// postBody is `POST /v1/rooms/{room}/messages`. Pointers tell a missing field from an empty one.
type postBody struct {
	UID  *string         `json:"uid"`
	Kind *string         `json:"kind"`
	Pri  *string         `json:"pri"`
	Body json.RawMessage `json:"body"`
	CMID *string         `json:"cmid"`
}

// parsePost validates a server's message: uid "" or a valid id, kind 1-32 bytes, pri a known
// priority (default normal), body any JSON value of at most maxBody bytes once compacted, cmid
// at most 128 bytes. The Source is left for the caller (it depends on the key).
func parsePost(raw []byte, maxBody int) (rooms.SendRequest, error) {
	var p postBody
	if err := decodeStrict(raw, &p, true); err != nil {
		return rooms.SendRequest{}, err
	}
	req, err := parseMessageFields(p.Kind, p.Pri, p.Body, p.CMID, maxBody)
	if err != nil {
		return req, err
	}
	if p.UID != nil && *p.UID != "" {
		if !ValidID(*p.UID) {
			return req, badRequest("uid must be empty or match [A-Za-z0-9_.:-]{1,128}")
		}
		req.UID = *p.UID
	}
	return req, nil
}

// parseMessageFields checks the fields every message shares (HTTP post or WebSocket send):
// kind 1-32 bytes, pri (nil = normal), body (required, not null, at most maxBody bytes
// compacted) and cmid (nil or at most 128 bytes). The body returned is compacted.
func parseMessageFields(kind, pri *string, body json.RawMessage, cmid *string, maxBody int) (rooms.SendRequest, error) {
	req := rooms.SendRequest{Pri: ring.Normal}
	if kind == nil || len(*kind) < 1 || len(*kind) > 32 {
		return req, badRequest("kind must be 1-32 characters")
	}
	req.Kind = *kind
	if pri != nil {
		p, ok := ring.ParsePriority(*pri)
		if !ok {
			return req, badRequest("pri must be system, high, normal or low")
		}
		req.Pri = p
	}
	b, err := checkBody(body, maxBody)
	if err != nil {
		return req, err
	}
	req.Body = b
	if cmid != nil {
		if len(*cmid) > 128 {
			return req, badRequest("cmid must be at most 128 characters")
		}
		req.CMID = *cmid
	}
	return req, nil
}

// checkBody validates a message body: present, not null, at most maxBody bytes encoded (white
// space between tokens does not count). It returns the compacted body.
func checkBody(body json.RawMessage, maxBody int) (json.RawMessage, error) {
	if len(body) == 0 || string(body) == "null" {
		return nil, badRequest("body is required")
	}
	var buf bytes.Buffer
	buf.Grow(len(body))
	if err := json.Compact(&buf, body); err != nil {
		return nil, badRequest("body is not valid JSON")
	}
	if buf.Len() > maxBody {
		return nil, rooms.Errorf(rooms.CodeTooLarge, "body is over max_body ("+strconv.Itoa(maxBody)+" bytes)")
	}
	return buf.Bytes(), nil
}

// parseNotice validates an admin notice `{"kind"?, "body", "cmid"?}`: kind defaults to
// "notice"; the request is stamped system, from the admin, with uid "". cmid makes a retried
// notice (after a timeout, a failover) count once, as for messages.
func parseNotice(raw []byte, maxBody int) (rooms.SendRequest, error) {
	var p struct {
		Kind *string         `json:"kind"`
		Body json.RawMessage `json:"body"`
		CMID *string         `json:"cmid"`
	}
	if err := decodeStrict(raw, &p, true); err != nil {
		return rooms.SendRequest{}, err
	}
	if p.Kind == nil {
		def := "notice"
		p.Kind = &def
	}
	sys := "system"
	req, err := parseMessageFields(p.Kind, &sys, p.Body, p.CMID, maxBody)
	req.Source = rooms.FromAdmin
	return req, err
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

// appendJSONStr appends s as a JSON string (the fast path copies plain ASCII).
func appendJSONStr(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
