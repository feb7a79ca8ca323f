package httpx

import (
	"encoding/json"
	"net/http"

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
