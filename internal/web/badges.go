package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
)

// Badges are GitLab's /<namespace>/<project>/badges/<ref>/pipeline.svg and
// coverage.svg, for READMEs: the latest pipeline's status for the ref, and
// the coverage of its latest successful pipeline (or of one job, ?job=).

// badgeRouteTable names the badges' ability; the route is matched by
// badgeRoute (the ref may contain slashes).
var badgeRouteTable = []route[struct{}]{
	{"GET", "pipeline.svg", policy.ReadPipeline, small, func(s *Server, c *req, _ struct{}, ref string) error { return s.pipelineBadge(c, ref) }},
	{"GET", "coverage.svg", policy.ReadPipeline, small, func(s *Server, c *req, _ struct{}, ref string) error { return s.coverageBadge(c, ref) }},
}

// badgeRoute splits a badge path into the project's full path, the ref
// and the route; ok is false for any other path. The project path is the
// longest one before a "/badges/" that names a project (tried by the
// caller, longest first).
func badgeRoute(path string) (candidates [][2]string, rt *route[struct{}], ok bool) {
	p := strings.Trim(path, "/")
	for i := range badgeRouteTable {
		name := "/" + badgeRouteTable[i].pattern
		if !strings.HasSuffix(p, name) {
			continue
		}
		head := strings.TrimSuffix(p, name)
		for j := strings.LastIndex(head, "/badges/"); j > 0; j = strings.LastIndex(head[:j], "/badges/") {
			full, ref := head[:j], head[j+len("/badges/"):]
			if strings.Contains(full, "/") && ref != "" {
				candidates = append(candidates, [2]string{full, ref})
			}
		}
		return candidates, &badgeRouteTable[i], len(candidates) > 0
	}
	return nil, nil, false
}

// errBadgeNotFound is the one answer for a missing project, a private one
// and a missing ref alike.
var errBadgeNotFound = ci.Errorf(ci.KindNotFound, "404 Not Found")

// serveBadge finds the badge's project and asks the policy for the route's
// ability; a project the caller may not read pipelines of answers exactly
// as a missing one.
func (s *Server) serveBadge(c *req, candidates [][2]string, rt *route[struct{}]) error {
	for _, cand := range candidates {
		proj, err := s.Store.ProjectByFullPath(c.r.Context(), cand[0])
		if ci.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if err := s.Policy.Project(c.r.Context(), c.p, rt.ability, proj); err != nil {
			if ci.KindOf(err) == ci.KindInternal {
				return err
			}
			return errBadgeNotFound
		}
		c.proj, c.ability = proj, rt.ability
		return rt.serve(s, c, struct{}{}, cand[1])
	}
	return errBadgeNotFound
}

// GitLab's badge colours (lib/gitlab/badge/*/template.rb).
var pipelineColors = map[ci.Status]string{
	ci.StatusSuccess: "#4c1", ci.StatusFailed: "#e05d44", ci.StatusRunning: "#dfb317", ci.StatusPending: "#dfb317",
	ci.StatusPreparing: "#a7a7a7", ci.StatusCanceled: "#9f9f9f", ci.StatusSkipped: "#9f9f9f", ci.StatusManual: "#9f9f9f",
	ci.StatusCreated: "#9f9f9f", ci.StatusCanceling: "#9f9f9f",
}

func (s *Server) pipelineBadge(c *req, ref string) error {
	text, color := "unknown", "#9f9f9f"
	pls, _, err := s.Store.ListPipelines(c.r.Context(), ci.PipelineFilter{ProjectID: c.proj.ID, Ref: ref, Page: ci.Page{Page: 1, PerPage: 1}})
	if err != nil {
		return err
	}
	if len(pls) > 0 {
		st := pls[0].Status
		text = string(st)
		if st == ci.StatusSuccess {
			text = "passed"
		}
		if col, ok := pipelineColors[st]; ok {
			color = col
		}
	}
	return writeBadge(c, badgeText(c, "pipeline"), text, color)
}

func (s *Server) coverageBadge(c *req, ref string) error {
	ctx := c.r.Context()
	text, color := "unknown", "#9f9f9f"
	pls, _, err := s.Store.ListPipelines(ctx, ci.PipelineFilter{ProjectID: c.proj.ID, Ref: ref,
		Statuses: []ci.Status{ci.StatusSuccess}, Page: ci.Page{Page: 1, PerPage: 1}})
	if err != nil {
		return err
	}
	if len(pls) > 0 {
		var cov *float64
		if job := c.r.URL.Query().Get("job"); job != "" {
			covs, err := s.Store.JobCoverage(ctx, pls[0].ID)
			if err != nil {
				return err
			}
			jobs, _, err := s.Store.ListJobs(ctx, ci.JobFilter{PipelineID: pls[0].ID, Name: job, Page: ci.Page{Page: 1, PerPage: 1}})
			if err != nil {
				return err
			}
			if len(jobs) > 0 {
				if v, ok := covs[jobs[0].ID]; ok {
					cov = &v
				}
			}
		} else if cov, err = s.Store.PipelineCoverage(ctx, pls[0].ID); err != nil {
			return err
		}
		if cov != nil {
			text = fmt.Sprintf("%.2f%%", *cov)
			switch {
			case *cov >= 95:
				color = "#4c1"
			case *cov >= 90:
				color = "#a3c51c"
			case *cov >= 75:
				color = "#dfb317"
			default:
				color = "#e05d44"
			}
		}
	}
	return writeBadge(c, badgeText(c, "coverage"), text, color)
}

// badgeText is the key text: ?key_text= (GitLab's), at most 64 bytes.
func badgeText(c *req, def string) string {
	if t := c.r.URL.Query().Get("key_text"); t != "" && len(t) <= 64 {
		return t
	}
	return def
}

var badgeSVG = template.Must(template.New("badge").Parse(`<svg xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="20">
  <linearGradient id="b" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>
  <mask id="a"><rect width="{{.Width}}" height="20" rx="3" fill="#fff"/></mask>
  <g mask="url(#a)">
    <path fill="#555" d="M0 0 h{{.KeyWidth}} v20 H0 z"/>
    <path fill="{{.Color}}" d="M{{.KeyWidth}} 0 h{{.ValueWidth}} v20 H{{.KeyWidth}} z"/>
    <path fill="url(#b)" d="M0 0 h{{.Width}} v20 H0 z"/>
  </g>
  <g fill="#fff" text-anchor="middle" font-family="DejaVu Sans,Verdana,Geneva,sans-serif" font-size="11">
    <text x="{{.KeyX}}" y="15" fill="#010101" fill-opacity=".3">{{.Key}}</text>
    <text x="{{.KeyX}}" y="14">{{.Key}}</text>
    <text x="{{.ValueX}}" y="15" fill="#010101" fill-opacity=".3">{{.Value}}</text>
    <text x="{{.ValueX}}" y="14">{{.Value}}</text>
  </g>
</svg>
`))

// writeBadge renders the badge with an ETag of its bytes and no-cache, so
// that an embedding page revalidates and sees the next status at once.
func writeBadge(c *req, key, value, color string) error {
	kw, vw := 10+7*len(key), 10+7*len(value)
	var b strings.Builder
	err := badgeSVG.Execute(&b, map[string]any{"Width": kw + vw, "KeyWidth": kw, "ValueWidth": vw, "Color": color,
		"KeyX": float64(kw) / 2, "ValueX": float64(kw) + float64(vw)/2, "Key": key, "Value": value})
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(b.String()))
	etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
	h := c.w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	if c.r.Header.Get("If-None-Match") == etag {
		c.w.WriteHeader(http.StatusNotModified)
		return nil
	}
	_, err = c.w.Write([]byte(b.String()))
	return err
}
