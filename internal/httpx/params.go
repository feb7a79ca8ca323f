package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// maxParamsBody bounds a parameter body (JSON or form); artifact uploads
// never go through Params.
const maxParamsBody = 1 << 20

// Params are a request's parameters as GitLab's Grape sees them: the query
// string, then the fields of a JSON object body (with or without its
// Content-Type, as runners send it) or of a form body. Scalars land in
// Values; every JSON value is also kept raw in JSON, so arrays (tag_list,
// variables) and objects (info) can be decoded where needed. The API and
// the runner API share it.
type Params struct {
	url.Values
	JSON map[string]json.RawMessage
}

// ReadParams reads r's parameters. A body over 1 MiB (or over the route's
// limit, see LimitBody) is KindTooLarge, a malformed one KindInvalid.
// Nothing is ever written to disk: multipart bodies are parsed in memory,
// every part (file parts too) counting against the same limit.
func ReadParams(r *http.Request) (*Params, error) {
	p := &Params{Values: r.URL.Query(), JSON: map[string]json.RawMessage{}}
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return p, nil
	}
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body := &countingReader{r: r.Body, left: maxParamsBody}
	if ct == "multipart/form-data" {
		form, err := readMultipart(body, ctParams["boundary"])
		if err != nil {
			return nil, err
		}
		p.merge(form)
		return p, nil
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, bodyError(err)
	}
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
	case ct == "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(data))
		if err != nil {
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - malformed form body: %v", err)
		}
		p.merge(form)
	case ct == "application/json" || trimmed[0] == '{':
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.UseNumber()
		if err := dec.Decode(&p.JSON); err != nil {
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - malformed JSON body: %v", err)
		}
		for k, raw := range p.JSON {
			if s, ok := scalar(raw); ok && !p.Has(k) {
				p.Set(k, s)
			}
		}
	default:
		return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - the body must be a JSON object or a form")
	}
	return p, nil
}

// errParamsTooLarge is a parameter body over maxParamsBody.
var errParamsTooLarge = errors.New("parameters too large")

// countingReader fails once more than left bytes are read.
type countingReader struct {
	r    io.Reader
	left int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, errParamsTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, errParamsTooLarge
	}
	return n, err
}

func bodyError(err error) error {
	if tl := TooLarge(err); tl != nil {
		return tl
	}
	if errors.Is(err, errParamsTooLarge) {
		return ci.Errorf(ci.KindTooLarge, "413 Request Entity Too Large: parameters over 1 MiB")
	}
	return ci.Wrap(ci.KindInvalid, err, "400 Bad request - reading body")
}

// readMultipart parses a multipart/form-data body into values, in memory:
// unlike Request.ParseMultipartForm it never spills file parts to
// temporary files (which outlived requests), and the whole body, file
// parts included, is bounded by the reader it is given.
func readMultipart(body io.Reader, boundary string) (url.Values, error) {
	if boundary == "" {
		return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - malformed form body: no multipart boundary")
	}
	mr := multipart.NewReader(body, boundary)
	form := url.Values{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return form, nil
		}
		if err != nil {
			if e := bodyLimitError(err); e != nil {
				return nil, e
			}
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - malformed form body: %v", err)
		}
		v, err := io.ReadAll(part)
		part.Close()
		if err != nil {
			if e := bodyLimitError(err); e != nil {
				return nil, e
			}
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - malformed form body: %v", err)
		}
		if name := part.FormName(); name != "" {
			form.Add(name, string(v))
		}
	}
}

// bodyLimitError is bodyError for limit errors only, nil for others.
func bodyLimitError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || errors.Is(err, errParamsTooLarge) {
		return bodyError(err)
	}
	return nil
}

// merge adds body fields the query string did not already set.
func (p *Params) merge(form url.Values) {
	for k, vs := range form {
		if !p.Has(k) {
			p.Values[k] = vs
		}
	}
}

func scalar(raw json.RawMessage) (string, bool) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// Given reports whether key was sent at all, in any form.
func (p *Params) Given(key string) bool {
	_, ok := p.JSON[key]
	return ok || p.Has(key) || p.Has(key+"[]")
}

// Bool parses a boolean parameter; absent gives def.
func (p *Params) Bool(key string, def bool) (bool, error) {
	v := p.Get(key)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def, ci.Errorf(ci.KindInvalid, "400 Bad request - %s is invalid: %q is not a boolean", key, v)
	}
	return b, nil
}

// Int parses an integer parameter; absent gives def.
func (p *Params) Int(key string, def int64) (int64, error) {
	v := p.Get(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return def, ci.Errorf(ci.KindInvalid, "400 Bad request - %s is invalid: %q is not an integer", key, v)
	}
	return n, nil
}

// Required returns a non-empty parameter or a KindInvalid naming it.
func (p *Params) Required(key string) (string, error) {
	v := p.Get(key)
	if v == "" {
		return "", ci.Errorf(ci.KindInvalid, "400 Bad request - %s is missing", key)
	}
	return v, nil
}

// List returns a list parameter given as a JSON array, key[]=a&key[]=b or
// a comma-separated key=a,b.
func (p *Params) List(key string) []string {
	if raw, ok := p.JSON[key]; ok {
		var out []string
		if json.Unmarshal(raw, &out) == nil {
			return out
		}
	}
	if vs := p.Values[key+"[]"]; len(vs) > 0 {
		return vs
	}
	if v := p.Get(key); v != "" {
		return strings.Split(v, ",")
	}
	return nil
}

// Time parses an ISO 8601 time parameter as GitLab's API takes it
// (2024-01-02T03:04:05Z, with a zone offset or fraction, or a date alone
// meaning its midnight UTC); absent gives nil, anything else KindInvalid.
func (p *Params) Time(key string) (*time.Time, error) {
	v := p.Get(key)
	if v == "" {
		return nil, nil
	}
	// .999999999: the fraction is optional, so a time without a zone is
	// one layout.
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			t = t.UTC()
			return &t, nil
		}
	}
	return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - %s is invalid: %q is not an ISO 8601 time", key, v)
}
