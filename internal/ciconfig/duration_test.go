package ciconfig

import "testing"

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"3600", 3600},
		{"1h 30m", 5400},
		{"1h30m", 5400},
		{"3 hours", 10800},
		{"90 minutes", 5400},
		{"1 hour and 30 minutes", 5400},
		{"2d", 172800},
		{"1 week", 604800},
		{"30s", 30},
		{"1.5h", 5400},
		{"10 mins", 600},
		{"1:30:00", 5400},
		{"  45 min  ", 2700},
		{"2 Hours, 5 Seconds", 7205},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseDuration(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("parseDuration(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "forever", "1 fortnight", "h", "1h-30m", "1:2:3:4", "99999999999999 years"} {
		t.Run("invalid "+bad, func(t *testing.T) {
			if got, err := parseDuration(bad); err == nil {
				t.Errorf("parseDuration(%q) = %d, want an error", bad, got)
			}
		})
	}
}
