package runnerapi

import (
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/batonci/baton/internal/ci"
)

// expireUnits are the unit words GitLab's duration parser (chronic_duration)
// knows, in seconds. A month is 30 days, a year 365.25 days, as there.
var expireUnits = map[string]float64{
	"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
	"m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
	"h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
	"d": 86400, "day": 86400, "days": 86400,
	"w": 604800, "wk": 604800, "wks": 604800, "week": 604800, "weeks": 604800,
	"mo": 2592000, "mos": 2592000, "month": 2592000, "months": 2592000,
	"y": 31557600, "yr": 31557600, "yrs": 31557600, "year": 31557600, "years": 31557600,
}

// ParseExpireIn parses an artifact expiry in GitLab's duration syntax:
// "never", "42" (seconds), "3 mins 4 sec", "2 hrs 20 min", "6 mos 1 day",
// "1 week", "1h30m", "1.5 days". never reports "never" (keep forever). An
// empty string is KindInvalid, as is anything else it cannot read.
func ParseExpireIn(s string) (d time.Duration, never bool, err error) {
	in := strings.ToLower(strings.TrimSpace(s))
	bad := ci.Errorf(ci.KindInvalid, "400 Bad request - expire_in %q is not a valid duration", s)
	switch in {
	case "":
		return 0, false, bad
	case "never":
		return 0, true, nil
	}
	toks := tokenizeDuration(in)
	if len(toks) == 0 {
		return 0, false, bad
	}
	var secs float64
	for i := 0; i < len(toks); i++ {
		n, err := strconv.ParseFloat(toks[i], 64)
		if err != nil || n < 0 {
			return 0, false, bad
		}
		unit := 1.0 // a bare number counts seconds
		if i+1 < len(toks) {
			if u, ok := expireUnits[toks[i+1]]; ok {
				unit = u
				i++
			} else if _, err := strconv.ParseFloat(toks[i+1], 64); err != nil {
				return 0, false, bad
			}
		}
		secs += n * unit
	}
	if secs > float64(100*365*86400) {
		return 0, false, bad
	}
	return time.Duration(secs * float64(time.Second)), false, nil
}

// tokenizeDuration splits into numbers and unit words, dropping spaces,
// commas and the word "and"; any other character makes it return nil.
func tokenizeDuration(s string) []string {
	var toks []string
	var cur strings.Builder
	kind := 0 // 1 number, 2 word
	flush := func() {
		if cur.Len() > 0 && cur.String() != "and" {
			toks = append(toks, cur.String())
		}
		cur.Reset()
		kind = 0
	}
	for _, r := range s {
		switch {
		case unicode.IsDigit(r) || r == '.':
			if kind == 2 {
				flush()
			}
			kind = 1
			cur.WriteRune(r)
		case unicode.IsLetter(r):
			if kind == 1 {
				flush()
			}
			kind = 2
			cur.WriteRune(r)
		case unicode.IsSpace(r) || r == ',':
			flush()
		default:
			return nil
		}
	}
	flush()
	return toks
}

// expireAt is when an artifact uploaded at now with expire_in v expires;
// nil for never. An empty v uses the server's default.
func (s *Server) expireAt(v string, now time.Time) (*time.Time, error) {
	if v == "" {
		v = s.DefaultArtifactExpireIn
	}
	if v == "" {
		return nil, nil
	}
	d, never, err := ParseExpireIn(v)
	if err != nil || never {
		return nil, err
	}
	t := now.Add(d)
	return &t, nil
}
