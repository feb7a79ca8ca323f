package ci

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// durationUnits maps the unit words GitLab's ChronicDuration accepts to seconds.
var durationUnits = map[string]float64{
	"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
	"m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
	"h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
	"d": 86400, "day": 86400, "days": 86400,
	"w": 604800, "wk": 604800, "wks": 604800, "week": 604800, "weeks": 604800,
	"mo": 2592000, "mon": 2592000, "mos": 2592000, "month": 2592000, "months": 2592000,
	"y": 31557600, "yr": 31557600, "yrs": 31557600, "year": 31557600, "years": 31557600,
}

// ParseDuration parses GitLab's human duration syntax (ChronicDuration's):
// "1h 30m", "3 hours", "90 minutes", "3600", "1h30m", "3 mins 4 sec",
// "6 mos 1 day", "1:30:00". A bare number is seconds, a month 30 days, a
// year 365.25 days. Anything else is an error naming the input; the result
// is in whole seconds.
func ParseDuration(s string) (time.Duration, error) {
	secs, err := parseSeconds(s)
	return time.Duration(secs) * time.Second, err
}

func parseSeconds(s string) (int, error) {
	in := strings.ToLower(strings.TrimSpace(s))
	if in == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if strings.Contains(in, ":") {
		return parseClock(in)
	}
	var total float64
	seen := false
	i := 0
	for i < len(in) {
		r := rune(in[i])
		switch {
		case unicode.IsSpace(r) || r == ',':
			i++
			continue
		case unicode.IsDigit(r) || r == '.':
		default:
			word := takeWhile(in[i:], unicode.IsLetter)
			if word == "and" {
				i += len(word)
				continue
			}
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		num := takeWhile(in[i:], func(r rune) bool { return unicode.IsDigit(r) || r == '.' })
		i += len(num)
		v, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		for i < len(in) && in[i] == ' ' {
			i++
		}
		unit := takeWhile(in[i:], unicode.IsLetter)
		i += len(unit)
		mult := 1.0
		if unit != "" {
			m, ok := durationUnits[unit]
			if !ok {
				return 0, fmt.Errorf("invalid duration %q: unknown unit %q", s, unit)
			}
			mult = m
		}
		total += v * mult
		seen = true
		if total > 1e12 {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
	}
	if !seen {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return int(total), nil
}

func parseClock(in string) (int, error) {
	parts := strings.Split(in, ":")
	if len(parts) > 3 {
		return 0, fmt.Errorf("invalid duration %q", in)
	}
	total := 0
	for _, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v > 1_000_000 {
			return 0, fmt.Errorf("invalid duration %q", in)
		}
		total = total*60 + v
	}
	return total, nil
}

func takeWhile(s string, ok func(rune) bool) string {
	for i, r := range s {
		if !ok(r) {
			return s[:i]
		}
	}
	return s
}
