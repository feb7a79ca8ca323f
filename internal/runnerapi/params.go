package runnerapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

const maxParamsBody = 1 << 20

// tags reads tag_list given as a JSON array, tag_list[]=a&tag_list[]=b or a
// comma-separated string.
func tags(p *httpx.Params, key string) ([]string, error) {
	if raw, ok := p.JSON[key]; ok {
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

func info(p *httpx.Params) runnerInfo {
	var in runnerInfo
	if raw, ok := p.JSON["info"]; ok {
		_ = json.Unmarshal(raw, &in) // info is advisory; a malformed one is ignored
	}
	return in
}

// decodeJSON decodes a JSON request body of at most maxParamsBody bytes into
// v; an empty body leaves v unchanged.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxParamsBody))
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		if tl := httpx.TooLarge(err); tl != nil {
			return tl
		}
		return ci.Errorf(ci.KindInvalid, "400 Bad request - malformed JSON body: %v", err)
	}
	return nil
}

func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, ci.Errorf(ci.KindNotFound, "404 Not Found")
	}
	return id, nil
}
