package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// setPagination writes GitLab's pagination headers for a list of total
// rows. Link URLs start with the external URL, never the request's Host
// header, which the client chooses.
func (s *Server) setPagination(w http.ResponseWriter, r *http.Request, pg ci.Page, total int) {
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
		return fmt.Sprintf("<%s>; rel=%q", s.ExternalURL+u.RequestURI(), rel)
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
