package runnerapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

const maxParamsBody = 1 << 20

// params are a request's parameters as GitLab's Grape sees them: the query
// string, then the fields of a JSON object body or a urlencoded form body.
// JSON values are kept raw, so that arrays (tag_list) and objects (info)
// can be decoded where needed.
type params struct {
	url.Values
	raw map[string]json.RawMessage
}

func readParams(r *http.Request) (*params, error) {
	p := &params{Values: r.URL.Query(), raw: map[string]json.RawMessage{}}
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return p, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxParamsBody+1))
	if err != nil {
		return nil, ci.Wrap(ci.KindInvalid, err, "400 Bad request - reading body")
	}
	if len(body) > maxParamsBody {
		return nil, ci.Errorf(ci.KindTooLarge, "413 Request Entity Too Large")
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
	case ct == "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - malformed form body")
		}
		for k, vs := range form {
			if !p.Has(k) {
				p.Values[k] = vs
			}
		}
	case trimmed[0] == '{':
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.UseNumber()
		if err := dec.Decode(&p.raw); err != nil {
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - malformed JSON body: %v", err)
		}
		for k, raw := range p.raw {
			if s, ok := jsonScalar(raw); ok && !p.Has(k) {
				p.Set(k, s)
			}
		}
	default:
		return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - the body must be a JSON object or a form")
	}
	return p, nil
}

func jsonScalar(raw json.RawMessage) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
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

// has reports whether key was given at all.
func (p *params) has(key string) bool {
	_, ok := p.raw[key]
	return ok || p.Has(key) || p.Has(key+"[]")
}

// boolean parses a boolean parameter; absent gives def.
func (p *params) boolean(key string, def bool) (bool, error) {
	v := p.Get(key)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def, ci.Errorf(ci.KindInvalid, "400 Bad request - %s is invalid", key)
	}
	return b, nil
}

// integer parses an integer parameter; absent gives def.
func (p *params) integer(key string, def int64) (int64, error) {
	v := p.Get(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return def, ci.Errorf(ci.KindInvalid, "400 Bad request - %s is invalid", key)
	}
	return n, nil
}

// tags reads tag_list given as a JSON array, tag_list[]=a&tag_list[]=b or a
// comma-separated string.
func (p *params) tags(key string) ([]string, error) {
	if raw, ok := p.raw[key]; ok {
		var list []string
		if err := json.Unmarshal(raw, &list); err == nil {
			return ParseTagList(strings.Join(list, ",")), nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - %s is invalid", key)
		}
		return ParseTagList(s), nil
	}
	if vs := p.Values[key+"[]"]; len(vs) > 0 {
		return ParseTagList(strings.Join(vs, ",")), nil
	}
	return ParseTagList(p.Get(key)), nil
}

// ParseTagList splits GitLab's comma-separated tag list, trimming spaces and
// dropping empty and repeated tags, in order.
func ParseTagList(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	return out
}

// runnerInfo is the info object runners send with most calls.
type runnerInfo struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	Revision     string `json:"revision"`
	Platform     string `json:"platform"`
	Architecture string `json:"architecture"`
	Executor     string `json:"executor"`
	Shell        string `json:"shell"`
}

func (p *params) info() runnerInfo {
	var in runnerInfo
	if raw, ok := p.raw["info"]; ok {
		_ = json.Unmarshal(raw, &in) // info is advisory; a malformed one is ignored
	}
	return in
}

// decodeJSON decodes a JSON request body of at most maxParamsBody bytes into
// v; an empty body leaves v unchanged.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxParamsBody))
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - malformed JSON body: %v", err)
	}
	return nil
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, ci.Errorf(ci.KindNotFound, "404 Not Found")
	}
	return id, nil
}
