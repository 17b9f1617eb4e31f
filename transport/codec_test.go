package transport

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/rooms"
)

func TestDecodeStrict(t *testing.T) {
	type T struct {
		A *int `json:"a"`
	}
	f := func(body string, unknownOK bool, wantErr bool) {
		t.Helper()
		var v T
		err := decodeStrict([]byte(body), &v, unknownOK)
		if (err != nil) != wantErr {
			t.Errorf("%q: %v", body, err)
		}
		if err != nil && rooms.CodeOf(err) != rooms.CodeBadRequest {
			t.Errorf("%q: code %s", body, rooms.CodeOf(err))
		}
	}
	f(`{"a":1}`, false, false)
	f(" \t\r\n{\"a\":1} \n", false, false)
	f(`{"a":1,"b":2}`, true, false)
	f(`{"a":1,"b":2}`, false, true)
	f(`{"a":"1"}`, true, true)
	f(`{"a":1.5}`, true, true)
	f(`{"a":1} {"a":2}`, true, true)
	f(`{"a":1}}`, true, true)
	f(`{"a":1}]`, true, true)
	f(`{"a":1} x`, true, true)
	f("{\"a\":1}\u00a0", true, true)
	f(`{"a":1`, true, true)
	f(``, true, true)
	f("  \n", true, true)
	f("{\"a\":1,\"b\":\"\xff\"}", true, true) // not UTF-8, even in a field v does not have
}

// TestParsePostFields checks each field of a posted message, alone.
func TestParsePostFields(t *testing.T) {
	f := func(body string, want rooms.SendRequest, wantCode rooms.Code) {
		t.Helper()
		got, err := parsePost([]byte(body), 32)
		if wantCode != "" {
			if rooms.CodeOf(err) != wantCode {
				t.Errorf("%s: %v, want %s", body, err, wantCode)
			}
			return
		}
		if err != nil {
			t.Errorf("%s: %v", body, err)
			return
		}
		if got.UID != want.UID || got.Kind != want.Kind || got.Pri != want.Pri || string(got.Body) != string(want.Body) || got.CMID != want.CMID || got.Source != rooms.FromViewer {
			t.Errorf("%s:\n got  %+v\n want %+v", body, got, want)
		}
	}
	req := func(uid, kind string, pri ring.Priority, body, cmid string) rooms.SendRequest {
		return rooms.SendRequest{UID: uid, Kind: kind, Pri: pri, Body: json.RawMessage(body), CMID: cmid}
	}
	f(`{"kind":"k","body":1}`, req("", "k", ring.Normal, "1", ""), "")
	f(`{"uid":"a.b:c_d-9","kind":"k","body":1}`, req("a.b:c_d-9", "k", ring.Normal, "1", ""), "")
	for _, p := range []ring.Priority{ring.Low, ring.Normal, ring.High, ring.System} {
		f(`{"kind":"k","pri":"`+p.String()+`","body":1}`, req("", "k", p, "1", ""), "")
	}
	f(`{"kind":"k","body":{ "x" : [ true , null ] }}`, req("", "k", ring.Normal, `{"x":[true,null]}`, ""), "")
	f(`{"kind":"k","body":"\u00e9\n"}`, req("", "k", ring.Normal, `"\u00e9\n"`, ""), "")
	f(`{"kind":"k","body":0,"cmid":""}`, req("", "k", ring.Normal, "0", ""), "")
	f(`{"kind":"k","body":0,"cmid":"`+strings.Repeat("c", 128)+`"}`, req("", "k", ring.Normal, "0", strings.Repeat("c", 128)), "")
	f(`{"kind":"直播礼物","body":0}`, req("", "直播礼物", ring.Normal, "0", ""), "")
	f(`{"kind":"k","body":"`+strings.Repeat("x", 30)+`"}`, req("", "k", ring.Normal, `"`+strings.Repeat("x", 30)+`"`, ""), "")
	f(`{"kind":"k","body":"`+strings.Repeat("x", 31)+`"}`, rooms.SendRequest{}, rooms.CodeTooLarge)
	f(`{"kind":"k","body":{"a":"b"},"body":null}`, rooms.SendRequest{}, rooms.CodeBadRequest) // the last key wins
	f(`{"kind":"k","body":1,"uid":true}`, rooms.SendRequest{}, rooms.CodeBadRequest)
	f(`{"kind":["k"],"body":1}`, rooms.SendRequest{}, rooms.CodeBadRequest)
	f(`{"kind":"k","body":1,"pri":null}`, req("", "k", ring.Normal, "1", ""), "")
	f("{\"kind\":\"k\xff\",\"body\":1}", rooms.SendRequest{}, rooms.CodeBadRequest)
	f("{\"kind\":\"k\",\"body\":\"\xc3\"}", rooms.SendRequest{}, rooms.CodeBadRequest)
	f(`{"kind":"k","body":"\ud800"}`, rooms.SendRequest{}, rooms.CodeBadRequest)
	f(`{"kind":"k","body":1,"uid":"\u0061"}`, req("a", "k", ring.Normal, "1", ""), "")
	f(`{"kind":"k","body":1,"uid":"\ud800"}`, rooms.SendRequest{}, rooms.CodeBadRequest)
	f(`{"kind":"k","body":1,"uid":null}`, req("", "k", ring.Normal, "1", ""), "")
	f(`{"kind":"k","body":1,"uid":["u1"]}`, rooms.SendRequest{}, rooms.CodeBadRequest)
}

func TestCheckBodyCompactsBeforeMeasuring(t *testing.T) {
	pretty := []byte("{\n  \"text\": \"hello\",\n  \"n\": [1, 2, 3]\n}")
	got, err := checkBody(pretty, 28)
	if err != nil || string(got) != `{"text":"hello","n":[1,2,3]}` {
		t.Errorf("%s %v", got, err)
	}
	if _, err := checkBody(pretty, 27); rooms.CodeOf(err) != rooms.CodeTooLarge {
		t.Errorf("27 bytes: %v", err)
	}
}

func TestParsePullQuery(t *testing.T) {
	f := func(query string, want pullQuery, ok bool) {
		t.Helper()
		vals := map[string]string{}
		for _, kv := range strings.Split(query, "&") {
			if k, v, found := strings.Cut(kv, "="); found {
				vals[k] = v
			}
		}
		got, err := parsePullQuery(func(k string) []byte { return []byte(vals[k]) }, 100, 200, 30*time.Second)
		if !ok {
			if rooms.CodeOf(err) != rooms.CodeBadRequest {
				t.Errorf("%q: %+v %v, want bad_request", query, got, err)
			}
			return
		}
		if err != nil || got != want {
			t.Errorf("%q: %+v %v, want %+v", query, got, err, want)
		}
	}
	f("", pullQuery{limit: 100}, true)
	f("since=5", pullQuery{since: 5, limit: 100}, true)
	f("since=0&limit=1", pullQuery{limit: 1}, true)
	f("limit=200", pullQuery{limit: 200}, true)
	f("limit=201", pullQuery{limit: 200}, true)
	f("wait=1", pullQuery{limit: 100, wait: time.Second}, true)
	f("wait=0.25", pullQuery{limit: 100, wait: 250 * time.Millisecond}, true)
	f("wait=30", pullQuery{limit: 100, wait: 30 * time.Second}, true)
	f("wait=31", pullQuery{limit: 100, wait: 30 * time.Second}, true)
	f("wait=1e9", pullQuery{limit: 100, wait: 30 * time.Second}, true)
	f("wait=-1", pullQuery{limit: 100}, true)
	f("since=-1", pullQuery{}, false)
	f("since=0x10", pullQuery{}, false)
	f("since= 1", pullQuery{}, false)
	f("limit=0", pullQuery{}, false)
	f("limit=1.0", pullQuery{}, false)
	f("wait=x", pullQuery{}, false)
	f("wait=nan", pullQuery{}, false)
	f("wait=-inf", pullQuery{}, false)
}

func TestParseTTL(t *testing.T) {
	f := func(body string, want time.Duration, ok bool) {
		t.Helper()
		got, err := parseTTL([]byte(body))
		if ok != (err == nil) || got != want {
			t.Errorf("%q: %v %v", body, got, err)
		}
	}
	f(``, 0, true)
	f(`  `, 0, true)
	f(`{}`, 0, true)
	f(`null`, 0, true)
	f(`{"ttl_s":null}`, 0, true)
	f(`{"ttl_s":0}`, 0, true)
	f(`{"ttl_s":600}`, 10*time.Minute, true)
	f(`{"ttl_s":315360000}`, maxTTL, true)
	f(`{"ttl_s":315360001}`, 0, false)
	f(`{"ttl_s":-1}`, 0, false)
	f(`{"ttl_s":1.5}`, 0, false)
	f(`{"ttl_s":"1"}`, 0, false)
	f(`{"ttl_s":9223372036854775808}`, 0, false)
	f(`{"ttl":5}`, 0, false)
	f(`[5]`, 0, false)
}

// bodySeeds are HTTP bodies of messages with every JSON type in every field, bytes that are
// not UTF-8, lone surrogates, deep nesting and huge numbers.
func bodySeeds() []string {
	seeds := []string{
		`{"uid":"u1","kind":"chat","pri":"high","body":{"text":"hi"},"cmid":"c-7"}`,
		`{"kind":"k","body": [1, 2, {"a" : "b"}] }`,
		`{"kind":"k","body":"\u00e9","uid":""}`,
		`{"kind":"k","body":"\ud83d\ude00"}`,
		`{"kind":"k","body":"\ud800"}`,
		`{"kind":"k","body":"\\ud800"}`,
		"{\"kind\":\"k\",\"body\":\"\xff\"}",
		"{\"kind\":\"\xc3\",\"body\":1}",
		"{\"kind\":\"k\",\"body\":1,\"extra\":\"\xed\xa0\x80\"}",
		`{"kind":"k","body":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
		`{"kind":"k","body":` + strings.Repeat("9", 500) + `}`,
		`{"kind":"k","body":1e999}`,
		`{"kind":"k","body":1} {}`,
		`{"kind":"k","body":null}`,
		`{"kind":"k","body":{"a":1},"body":null}`,
		`{"KIND":"k","Body":1}`,
		`[]`, `null`, ``, `{`, `"x"`,
	}
	values := []string{`"s"`, `""`, `"é"`, `"\u00e9"`, `"\ud800"`, "\"\xff\"", `0`, `-0`, `1.5`, `1e3`, `9223372036854775808`,
		`true`, `false`, `null`, `[]`, `["s"]`, `{}`, `{"a":1}`, `"high"`, `"system"`, `"u1"`}
	for _, key := range []string{"uid", "kind", "pri", "body", "cmid", "ttl_s", "rate", "ring"} {
		for _, v := range values {
			seeds = append(seeds, `{"uid":"u","kind":"k","body":1,"`+key+`":`+v+`}`)
		}
	}
	return seeds
}

// acceptableText: what may reach a viewer (valid UTF-8, no lone surrogate escape).
func acceptableText(b []byte) bool { return utf8.Valid(b) && !loneSurrogate(b) }

// FuzzPostBody: whatever bytes are posted, parsePost either refuses them with bad_request or
// too_large, or accepts exactly what encoding/json reads, with a body that is valid compact
// JSON within max_body and nothing in it or in the strings that a viewer could not decode.
func FuzzPostBody(f *testing.F) {
	for _, s := range bodySeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		const maxBody = 64
		req, err := parsePost(b, maxBody)
		if err != nil {
			if c := rooms.CodeOf(err); c != rooms.CodeBadRequest && c != rooms.CodeTooLarge {
				t.Fatalf("%q: code %s", b, c)
			}
			return
		}
		var ref struct { // pointers: a later null undoes an earlier value, as for parsePost
			UID  *string         `json:"uid"`
			Kind *string         `json:"kind"`
			Pri  *string         `json:"pri"`
			Body json.RawMessage `json:"body"`
			CMID *string         `json:"cmid"`
		}
		if err := json.Unmarshal(b, &ref); err != nil {
			t.Fatalf("%q accepted, encoding/json says %v", b, err)
		}
		deref := func(p *string) string {
			if p == nil {
				return ""
			}
			return *p
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, ref.Body); err != nil {
			t.Fatalf("%q: body %s", b, ref.Body)
		}
		wantPri := ring.Normal
		if ref.Pri != nil {
			wantPri, _ = ring.ParsePriority(*ref.Pri)
		}
		if req.UID != deref(ref.UID) || req.Kind != deref(ref.Kind) || req.CMID != deref(ref.CMID) || req.Pri != wantPri || !bytes.Equal(req.Body, compact.Bytes()) {
			t.Fatalf("%q: parsed %+v, encoding/json %+v", b, req, ref)
		}
		if len(req.Kind) < 1 || len(req.Kind) > 32 || len(req.CMID) > 128 || (req.UID != "" && !ValidID(req.UID)) ||
			len(req.Body) == 0 || len(req.Body) > maxBody || string(req.Body) == "null" || !json.Valid(req.Body) {
			t.Fatalf("%q: accepted invalid %+v", b, req)
		}
		if !utf8.Valid(b) || !acceptableText(req.Body) || !utf8.ValidString(req.Kind) || !utf8.ValidString(req.CMID) {
			t.Fatalf("%q: accepted text a viewer cannot decode: %+v", b, req)
		}
	})
}

// FuzzParseNotice: notices are always system, from the admin, with uid "" (cmid optional),
// and pass the same message check as posts.
func FuzzParseNotice(f *testing.F) {
	f.Add([]byte(`{"body":{"text":"welcome"}}`))
	f.Add([]byte(`{"kind":"pin","body":"x"}`))
	f.Add([]byte(`{"kind":"","body":1}`))
	f.Add([]byte(`{"kind":null,"body":1,"pri":"low"}`))
	f.Add([]byte(`{"body":1,"cmid":"n-1"}`))
	for _, s := range bodySeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := parseNotice(b, 64)
		if err != nil {
			if c := rooms.CodeOf(err); c != rooms.CodeBadRequest && c != rooms.CodeTooLarge {
				t.Fatalf("%q: code %s", b, c)
			}
			return
		}
		if req.Pri != ring.System || req.Source != rooms.FromAdmin || req.UID != "" || len(req.CMID) > 128 ||
			len(req.Kind) < 1 || len(req.Kind) > 32 || len(req.Body) > 64 || !json.Valid(req.Body) || string(req.Body) == "null" {
			t.Fatalf("%q: accepted %+v", b, req)
		}
		if !utf8.Valid(b) || !acceptableText(req.Body) || !utf8.ValidString(req.Kind) || !utf8.ValidString(req.CMID) {
			t.Fatalf("%q: accepted text a viewer cannot decode: %+v", b, req)
		}
	})
}

// FuzzParseTTL: a moderation body is refused with bad_request or gives a whole number of
// seconds from 0 to ten years, the one encoding/json reads.
func FuzzParseTTL(f *testing.F) {
	for _, s := range []string{``, ` `, `{}`, `null`, `{"ttl_s":null}`, `{"ttl_s":600}`, `{"ttl_s":0}`, `{"ttl_s":-1}`,
		`{"ttl_s":315360000}`, `{"ttl_s":315360001}`, `{"ttl_s":1.5}`, `{"ttl_s":1e3}`, `{"ttl_s":"600"}`, `{"ttl_s":true}`,
		`{"ttl_s":[600]}`, `{"ttl_s":{}}`, `{"ttl_s":9223372036854775807}`, `{"ttl_s":9223372036854775808}`,
		`{"ttl_s":-9223372036854775808}`, `{"TTL_S":5}`, `{"ttl":5}`, `{"ttl_s":5,"ttl_s":6}`, `{"ttl_s":5} x`, `[5]`, `5`,
		"{\"ttl_s\":5,\"x\":\"\xff\"}", `{"ttl_s":` + strings.Repeat("9", 400) + `}`, strings.Repeat("[", 10000)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseTTL(b)
		if err != nil {
			if rooms.CodeOf(err) != rooms.CodeBadRequest {
				t.Fatalf("%q: %v", b, err)
			}
			return
		}
		if d < 0 || d > maxTTL || d%time.Second != 0 {
			t.Fatalf("%q: ttl %v", b, d)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return
		}
		var ref struct {
			TTL int64 `json:"ttl_s"`
		}
		if err := json.Unmarshal(b, &ref); err != nil || time.Duration(ref.TTL)*time.Second != d || !utf8.Valid(b) {
			t.Fatalf("%q: ttl %v, encoding/json %v %v", b, d, ref.TTL, err)
		}
	})
}

// FuzzParseConfigPatch: a config body is refused with bad_request, or is a patch that applies
// to the defaults and reads back the same once encoded.
func FuzzParseConfigPatch(f *testing.F) {
	for _, s := range []string{`{}`, `{"rate":{"normal":50}}`, `{"rate":{"high":0.5,"normal":1e3,"low":0}}`,
		`{"ring":{"system":16,"high":32,"normal":64,"low":8}}`, `{"ring":{"normal":0}}`, `{"ring":{"normal":-1}}`,
		`{"ring":{"normal":1.5}}`, `{"ring":{"normal":"64"}}`, `{"rate":{"normal":-1}}`, `{"rate":{"normal":1e400}}`,
		`{"rate":{"normal":null}}`, `{"rate":null}`, `{"rate":[]}`, `{"rate":{"nromal":5}}`, `{"rings":{}}`,
		`{"ring":{"normal":9223372036854775807}}`, `{"ring":{"normal":9223372036854775808}}`, `{"RATE":{"Normal":5}}`,
		`{"rate":{"normal":5}} {}`, `null`, `[]`, ``, "{\"rate\":{\"normal\":5},\"x\":\"\xff\"}",
		`{"rate":` + strings.Repeat("{", 5000) + `}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseConfigPatch(b)
		if err != nil {
			if rooms.CodeOf(err) != rooms.CodeBadRequest {
				t.Fatalf("%q: %v", b, err)
			}
			return
		}
		if _, err := p.Apply(rooms.DefaultConfig()); err != nil || !utf8.Valid(b) {
			t.Fatalf("%q accepted, applying it: %v", b, err)
		}
		enc, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("%q: %+v does not encode: %v", b, p, err)
		}
		back, err := parseConfigPatch(enc)
		if err != nil || !reflect.DeepEqual(back, p) {
			t.Fatalf("%q: %s reads back as %+v, %v", b, enc, back, err)
		}
	})
}

// FuzzParsePullQuery: since, limit and wait as any bytes: refused with bad_request, or in range
// (since >= 0, limit 1..max clamped, wait 0..max clamped), the defaults when absent.
func FuzzParsePullQuery(f *testing.F) {
	for _, s := range [][3]string{{"", "", ""}, {"5", "10", "1"}, {"0", "1", "0.25"}, {"-1", "0", "-1"}, {"1.5", "1e3", "1e9"},
		{"9223372036854775807", "9223372036854775807", "inf"}, {"9223372036854775808", "-9223372036854775808", "nan"},
		{"+5", " 5", "0x10"}, {"05", "1_0", "1e-400"}, {"\xff", "١", "30.000000001"}, {"", "201", "-0"}} {
		f.Add([]byte(s[0]), []byte(s[1]), []byte(s[2]))
	}
	f.Fuzz(func(t *testing.T, since, limit, wait []byte) {
		get := func(k string) []byte { return map[string][]byte{"since": since, "limit": limit, "wait": wait}[k] }
		q, err := parsePullQuery(get, 100, 200, 30*time.Second)
		if err != nil {
			if rooms.CodeOf(err) != rooms.CodeBadRequest {
				t.Fatalf("%q %q %q: %v", since, limit, wait, err)
			}
			return
		}
		if q.since < 0 || q.limit < 1 || q.limit > 200 || q.wait < 0 || q.wait > 30*time.Second {
			t.Fatalf("%q %q %q: %+v", since, limit, wait, q)
		}
		if (len(since) == 0 && q.since != 0) || (len(limit) == 0 && q.limit != 100) || (len(wait) == 0 && q.wait != 0) {
			t.Fatalf("%q %q %q: defaults %+v", since, limit, wait, q)
		}
		if n, err := strconv.ParseInt(string(since), 10, 64); len(since) > 0 && (err != nil || n != q.since) {
			t.Fatalf("since %q read as %d", since, q.since)
		}
	})
}

func BenchmarkParsePost(b *testing.B) {
	body := []byte(`{"uid":"u1","kind":"chat","pri":"normal","body":{"text":"hello there","color":"#fff"},"cmid":"c-123"}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := parsePost(body, 4096); err != nil {
			b.Fatal(err)
		}
	}
}
