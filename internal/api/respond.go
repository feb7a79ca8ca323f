package api

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

const maxJSONBody = 1 << 20

// params reads a request's parameters the way GitLab's Grape does: the query
// string, then a JSON object body or a form body. Values that are arrays or
// objects in JSON are kept as raw JSON in the json map.
type params struct {
	url.Values
	json map[string]json.RawMessage
}

func readParams(r *http.Request) (*params, error) {
	p := &params{Values: r.URL.Query()}
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return p, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxJSONBody))
		dec.UseNumber()
		var body map[string]json.RawMessage
		if err := dec.Decode(&body); err != nil {
			if err.Error() == "EOF" {
				return p, nil
			}
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - malformed JSON body: %v", err)
		}
		p.json = body
		for k, raw := range body {
			s, ok := scalar(raw)
			if ok && !p.Has(k) {
				p.Set(k, s)
			}
		}
	case "application/x-www-form-urlencoded", "multipart/form-data":
		if err := r.ParseMultipartForm(maxJSONBody); err != nil && err != http.ErrNotMultipart {
			if err := r.ParseForm(); err != nil {
				return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - malformed form body: %v", err)
			}
		}
		for k, vs := range r.PostForm {
			if !p.Has(k) {
				p.Values[k] = vs
			}
		}
	}
	return p, nil
}

func scalar(raw json.RawMessage) (string, bool) {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
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

// Bool parses a boolean parameter; absent gives def.
func (p *params) Bool(key string, def bool) (bool, error) {
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
func (p *params) Int(key string, def int64) (int64, error) {
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
func (p *params) Required(key string) (string, error) {
	v := p.Get(key)
	if v == "" {
		return "", ci.Errorf(ci.KindInvalid, "400 Bad request - %s is missing", key)
	}
	return v, nil
}

// List returns a list parameter given as key[]=a&key[]=b, key=a,b, or a JSON array.
func (p *params) List(key string) []string {
	if raw, ok := p.json[key]; ok {
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

// page reads page/per_page with GitLab's defaults (1, 20) and limit (100).
func (p *params) page() (ci.Page, error) {
	page, err := p.Int("page", 1)
	if err != nil {
		return ci.Page{}, err
	}
	per, err := p.Int("per_page", 20)
	if err != nil {
		return ci.Page{}, err
	}
	if page < 1 {
		page = 1
	}
	if per < 1 {
		per = 20
	}
	if per > 100 {
		per = 100
	}
	return ci.Page{Page: int(page), PerPage: int(per)}, nil
}

// setPagination writes GitLab's pagination headers for a list of total rows.
func setPagination(w http.ResponseWriter, r *http.Request, pg ci.Page, total int) {
	pages := (total + pg.PerPage - 1) / pg.PerPage
	if pages == 0 {
		pages = 1
	}
	h := w.Header()
	h.Set("X-Total", strconv.Itoa(total))
	h.Set("X-Total-Pages", strconv.Itoa(pages))
	h.Set("X-Per-Page", strconv.Itoa(pg.PerPage))
	h.Set("X-Page", strconv.Itoa(pg.Page))
	next, prev := "", ""
	if pg.Page < pages {
		next = strconv.Itoa(pg.Page + 1)
	}
	if pg.Page > 1 {
		prev = strconv.Itoa(pg.Page - 1)
	}
	h.Set("X-Next-Page", next)
	h.Set("X-Prev-Page", prev)
	link := func(page int, rel string) string {
		u := *r.URL
		q := u.Query()
		for _, secret := range []string{"private_token", "job_token", "token"} {
			q.Del(secret)
		}
		q.Set("page", strconv.Itoa(page))
		q.Set("per_page", strconv.Itoa(pg.PerPage))
		u.RawQuery = q.Encode()
		return fmt.Sprintf("<%s>; rel=%q", requestBase(r)+u.RequestURI(), rel)
	}
	var links []string
	if prev != "" {
		links = append(links, link(pg.Page-1, "prev"))
	}
	if next != "" {
		links = append(links, link(pg.Page+1, "next"))
	}
	links = append(links, link(1, "first"), link(pages, "last"))
	h.Set("Link", strings.Join(links, ", "))
}

func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
