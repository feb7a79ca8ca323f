package gitserve

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// PushDecision is CheckPush's answer about a push's ref updates.
type PushDecision struct {
	// Refused maps each ref (full name) the push may not change to the
	// reason git shows. A push with any refused ref is refused whole:
	// nothing is received, no ref moves.
	Refused map[string]string
	// NoForce maps branches (full names) whose update must be a
	// fast-forward to the reason shown when it is not; git's pre-receive
	// hook checks it once the pushed objects are in.
	NoForce map[string]string
}

// maxCommandBytes bounds the command list of a push read before git runs
// (with the read-ahead that comes with it).
const maxCommandBytes = 8 << 20

// readCommandList reads a receive-pack request's command list from body
// (gzip-encoded if gzipped) and returns the raw bytes it consumed, to be
// given to git before the rest of the body, with the ref updates and the
// capabilities of the first command.
func readCommandList(body io.Reader, gzipped bool) (raw []byte, updates []RefUpdate, caps []string, err error) {
	var buf bytes.Buffer
	var r io.Reader = io.TeeReader(io.LimitReader(body, maxCommandBytes), &buf)
	if gzipped {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return buf.Bytes(), nil, nil, fmt.Errorf("reading gzipped push: %w", err)
		}
		r = zr
	}
	updates, caps, err = parseCommandList(r)
	return buf.Bytes(), updates, caps, err
}

// checkPush reads the command list of a receive-pack request and asks
// CheckPush about it. It returns the body to give git (the bytes it read,
// then the rest) and the environment git needs, or refuses the push
// itself (handled true).
func (h *Handler) checkPush(w http.ResponseWriter, r *http.Request, log *slog.Logger, p *ci.Project, username, password string) (body io.Reader, hooks *hookEnv, handled bool) {
	raw, updates, caps, err := readCommandList(r.Body, isGzip(r))
	body = io.MultiReader(bytes.NewReader(raw), r.Body)
	if err != nil {
		// A list Baton cannot read could hide a protected ref: refuse.
		log.Warn("reading pushed ref updates", "error", err)
		plainError(w, http.StatusBadRequest, "Baton could not read the ref updates of this push")
		return nil, nil, true
	}
	d, err := h.CheckPush(r.Context(), p, username, password, updates)
	if err != nil {
		h.refuse(w, log, err)
		return nil, nil, true
	}
	if len(d.Refused) > 0 {
		// Read what the client sends (bounded) so that it reads our answer.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, h.drainLimit()))
		for ref, why := range d.Refused {
			log.Info("push refused", "ref", ref, "reason", why)
		}
		writeRefusal(w, updates, caps, d.Refused)
		return nil, nil, true
	}
	if len(d.NoForce) > 0 {
		dir, err := h.Repos.hooksDir()
		if err != nil {
			log.Error("installing the protected branch hook", "error", err)
			plainError(w, http.StatusInternalServerError, "Internal Server Error")
			return nil, nil, true
		}
		refs := make([]string, 0, len(d.NoForce))
		msg := ""
		for ref, why := range d.NoForce {
			refs = append(refs, ref)
			msg = why
		}
		sort.Strings(refs)
		hooks = &hookEnv{dir: dir, env: []string{"BATON_NO_FORCE_PUSH=" + strings.Join(refs, "\n"), "BATON_NO_FORCE_PUSH_MESSAGE=" + msg}}
	}
	return body, hooks, false
}

// hookEnv runs receive-pack with Baton's hooks and what they read.
type hookEnv struct {
	dir string
	env []string
}

func (h *Handler) drainLimit() int64 {
	if h.MaxPushBytes > 0 {
		return h.MaxPushBytes
	}
	return 1 << 30
}

// writeRefusal answers a refused push as receive-pack would: the reasons
// on the side band (git prints them as "remote: ...") and a report-status
// with every ref rejected, the refused ones with their reason.
func writeRefusal(w http.ResponseWriter, updates []RefUpdate, caps []string, refused map[string]string) {
	has := func(c string) bool {
		for _, x := range caps {
			if x == c {
				return true
			}
		}
		return false
	}
	var report bytes.Buffer
	report.WriteString(pktLine("unpack ok\n"))
	var why []string
	for _, u := range updates {
		reason, ok := refused[u.Ref]
		if ok {
			why = append(why, u.Name+": "+reason)
		} else {
			reason = "push declined: another ref of this push is protected"
		}
		report.WriteString(pktLine("ng " + u.Ref + " " + reason + "\n"))
	}
	report.WriteString("0000")
	sort.Strings(why)

	h := w.Header()
	h.Set("Content-Type", "application/x-git-receive-pack-result")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	band := 0
	switch {
	case has("side-band-64k"):
		band = 65515
	case has("side-band"):
		band = 995
	}
	if band == 0 {
		_, _ = w.Write(report.Bytes())
		return
	}
	var out bytes.Buffer
	for _, line := range why {
		out.WriteString(pktLine("\x02GitLab: " + line + "\n"))
	}
	data := report.Bytes()
	for len(data) > 0 {
		n := min(band, len(data))
		out.WriteString(pktLine("\x01" + string(data[:n])))
		data = data[n:]
	}
	out.WriteString("0000")
	_, _ = w.Write(out.Bytes())
}

// pktLine frames s as one pkt-line.
func pktLine(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }

// preReceive refuses updates of the refs named in BATON_NO_FORCE_PUSH
// (one per line) that are not fast-forwards. It runs inside receive-pack,
// which gives it the pushed objects; deletions and creations pass (the
// policy decided those before git ran).
const preReceive = `#!/bin/sh
# Installed by Baton: protected branches refuse force pushes.
[ -n "$BATON_NO_FORCE_PUSH" ] || exit 0
status=0
while read -r old new ref; do
	[ -n "$(printf '%s' "$old" | tr -d 0)" ] || continue
	[ -n "$(printf '%s' "$new" | tr -d 0)" ] || continue
	if printf '%s\n' "$BATON_NO_FORCE_PUSH" | grep -qxF -- "$ref"; then
		if ! git merge-base --is-ancestor "$old" "$new" 2>/dev/null; then
			echo "GitLab: $BATON_NO_FORCE_PUSH_MESSAGE ($ref)" >&2
			status=1
		fi
	fi
done
exit $status
`

// hooksDir returns the directory of Baton's git hooks under the
// repositories' root, writing them there first if they are missing or
// differ (replicas sharing the root write the same bytes).
func (r *Repos) hooksDir() (string, error) {
	dir := filepath.Join(r.root, ".baton-hooks")
	path := filepath.Join(dir, "pre-receive")
	if b, err := os.ReadFile(path); err == nil && string(b) == preReceive {
		return dir, nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".pre-receive-*")
	if err != nil {
		return "", err
	}
	if _, err := tmp.WriteString(preReceive); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return dir, nil
}
