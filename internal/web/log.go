package web

import (
	"bytes"
	"html/template"
	"regexp"
	"strconv"
	"strings"

	terminal "github.com/buildkite/terminal-to-html/v3"
)

// logLine is one displayed line of a job log: its number, its HTML (ANSI
// colours rendered by terminal-to-html, everything else escaped), and the
// GitLab section it opens or closes.
type logLine struct {
	N         int           `json:"n"`
	HTML      template.HTML `json:"h"`
	Start     string        `json:"s,omitempty"` // section opened by this line (it is the header)
	StartTime int64         `json:"st,omitempty"`
	Collapsed bool          `json:"c,omitempty"`
	End       string        `json:"e,omitempty"` // section closed at this line (no text of its own)
	EndTime   int64         `json:"et,omitempty"`
}

// GitLab section markers: section_start:<unix>:<name>[options]\r\x1b[0K.
var sectionRe = regexp.MustCompile(`section_(start|end):(\d+):([A-Za-z0-9_.\-]+)(\[[^\]\r\n]*\])?\r?(\x1b\[0K)?`)

// parseLog splits data into lines, numbering from first. Unless final, an
// unterminated last line is left for later: consumed is how many bytes the
// lines cover.
func parseLog(data []byte, first int, final bool) (lines []logLine, consumed int) {
	n := first
	for len(data) > consumed {
		rest := data[consumed:]
		i := bytes.IndexByte(rest, '\n')
		var raw []byte
		if i < 0 {
			if !final {
				break
			}
			raw, consumed = rest, len(data)
		} else {
			raw, consumed = rest[:i], consumed+i+1
		}
		raw = bytes.TrimSuffix(raw, []byte("\r"))
		line := logLine{N: n}
		if bytes.Contains(raw, []byte("section_")) {
			for _, m := range sectionRe.FindAllSubmatch(raw, -1) {
				t, _ := strconv.ParseInt(string(m[2]), 10, 64)
				if string(m[1]) == "start" {
					line.Start, line.StartTime = string(m[3]), t
					line.Collapsed = bytes.Contains(m[4], []byte("collapsed=true"))
				} else {
					line.End, line.EndTime = string(m[3]), t
				}
			}
			raw = sectionRe.ReplaceAll(raw, nil)
		}
		if line.End != "" && line.Start == "" && len(bytes.TrimSpace(raw)) == 0 {
			lines = append(lines, line) // a bare end marker: no line of its own
			continue
		}
		if line.Start != "" && len(bytes.TrimSpace(raw)) == 0 {
			raw = []byte(line.Start)
		}
		line.HTML = template.HTML(terminal.Render(raw))
		lines = append(lines, line)
		n++
	}
	return lines, consumed
}

// nextLine is the number the line after lines gets.
func nextLine(lines []logLine, first int) int {
	for i := len(lines) - 1; i >= 0; i-- {
		if lines[i].HTML != "" || lines[i].Start != "" {
			return lines[i].N + 1
		}
	}
	return first
}

// renderLog turns parsed lines into nested HTML: each section a <details>
// whose <summary> is its header line. Sections still open at the end are
// marked data-open so the page's script appends new lines into them.
func renderLog(lines []logLine) template.HTML {
	// Find each section's end, to show its duration and whether it is closed.
	type open struct {
		name string
		idx  int
	}
	endOf := map[int]int64{} // start index → end time
	var stack []open
	for i, l := range lines {
		if l.Start != "" {
			stack = append(stack, open{l.Start, i})
		}
		if l.End != "" {
			for k := len(stack) - 1; k >= 0; k-- {
				if stack[k].name == l.End {
					endOf[stack[k].idx] = l.EndTime
					stack = stack[:k]
					break
				}
			}
		}
	}
	var b strings.Builder
	b.Grow(len(lines) * 80)
	var names []string
	for i, l := range lines {
		if l.Start != "" {
			end, closed := endOf[i]
			b.WriteString(`<details class="section" data-section="` + template.HTMLEscapeString(l.Start) + `" data-start="` + strconv.FormatInt(l.StartTime, 10) + `"`)
			if !closed {
				b.WriteString(` data-open="1"`)
			}
			if !l.Collapsed {
				b.WriteString(" open")
			}
			b.WriteString(`><summary class="line" id="L` + strconv.Itoa(l.N) + `">`)
			writeLineBody(&b, l)
			if closed && end >= l.StartTime {
				b.WriteString(`<span class="sdur">` + formatDurationOrZero(float64(end-l.StartTime)) + `</span>`)
			} else {
				b.WriteString(`<span class="sdur"></span>`)
			}
			b.WriteString("</summary>")
			names = append(names, l.Start)
		} else if l.HTML != "" || l.End == "" {
			b.WriteString(`<div class="line" id="L` + strconv.Itoa(l.N) + `">`)
			writeLineBody(&b, l)
			b.WriteString("</div>")
		}
		if l.End != "" && l.Start == "" {
			for k := len(names) - 1; k >= 0; k-- {
				if names[k] == l.End {
					for range len(names) - k {
						b.WriteString("</details>")
					}
					names = names[:k]
					break
				}
			}
		}
	}
	for range names {
		b.WriteString("</details>")
	}
	return template.HTML(b.String())
}

func writeLineBody(b *strings.Builder, l logLine) {
	n := strconv.Itoa(l.N)
	b.WriteString(`<a class="ln" href="#L` + n + `" aria-label="line ` + n + `">` + n + `</a><span class="lc">`)
	b.WriteString(string(l.HTML))
	b.WriteString("</span>")
}

func formatDurationOrZero(sec float64) string {
	if sec <= 0 {
		return "0s"
	}
	return formatDuration(sec)
}
