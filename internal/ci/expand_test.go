package ci

import "testing"

func TestExpandExisting(t *testing.T) {
	env := map[string]string{"A": "x", "B_1": "y", "EMPTY": "", "LOOP": "$A"}
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"$A", "x"},
		{"${A}", "x"},
		{"g/$A/${B_1}@$A", "g/x/y@x"},
		{"$MISSING/${MISSING}", "$MISSING/${MISSING}"}, // unknown ones stay
		{"[$EMPTY]", "[]"},
		{"$LOOP", "$A"},      // one level deep
		{"$AB", "$AB"},       // the longest name, not A then B
		{"$1 ${A", "$1 ${A"}, // not variable references
		{"$$A", "$x"},
	} {
		if got := ExpandExisting(c.in, env); got != c.want {
			t.Errorf("ExpandExisting(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
