package api

import (
	"encoding/json"
	"fmt"
	"net/http"
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

// Page reads page/per_page with GitLab's defaults (1, 20) and limit (100).
func (p *Params) Page() (ci.Page, error) {
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
