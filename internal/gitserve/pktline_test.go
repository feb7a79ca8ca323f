package gitserve

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestParseCommands(t *testing.T) {
	a, b := strings.Repeat("a", 40), strings.Repeat("b", 40)
	z := zeroSHA
	a256 := strings.Repeat("a", 64)
	tests := []struct {
		name    string
		body    string
		want    []RefUpdate
		wantErr bool
	}{
		{
			name: "create, update, delete, tag",
			body: pkt(z+" "+a+" refs/heads/new\x00report-status side-band-64k agent=git/2.39\n") +
				pkt(a+" "+b+" refs/heads/main\n") +
				pkt(b+" "+z+" refs/heads/old") +
				pkt(z+" "+a+" refs/tags/v1\n") +
				"0000PACK....",
			want: []RefUpdate{
				{Ref: "refs/heads/new", Name: "new", OldSHA: z, NewSHA: a, Created: true},
				{Ref: "refs/heads/main", Name: "main", OldSHA: a, NewSHA: b},
				{Ref: "refs/heads/old", Name: "old", OldSHA: b, NewSHA: z, Deleted: true},
				{Ref: "refs/tags/v1", Name: "v1", Tag: true, OldSHA: z, NewSHA: a, Created: true},
			},
		},
		{
			name: "other namespace",
			body: pkt(z+" "+a+" refs/merge-requests/1/head\x00caps\n") + "0000",
			want: []RefUpdate{{Ref: "refs/merge-requests/1/head", Name: "merge-requests/1/head", OldSHA: z, NewSHA: a, Created: true}},
		},
		{
			name: "sha256",
			body: pkt(strings.Repeat("0", 64)+" "+a256+" refs/heads/main\x00caps\n") + "0000",
			want: []RefUpdate{{Ref: "refs/heads/main", Name: "main", OldSHA: strings.Repeat("0", 64), NewSHA: a256, Created: true}},
		},
		{
			name: "shallow lines first",
			body: pkt("shallow "+b+"\n") + pkt(a+" "+b+" refs/heads/main\x00caps\n") + "0000",
			want: []RefUpdate{{Ref: "refs/heads/main", Name: "main", OldSHA: a, NewSHA: b}},
		},
		{
			name: "push certificate",
			body: pkt("push-cert\x00report-status\n") + pkt("certificate version 0.1\n") + pkt("pusher Ada 1 +0000\n") +
				pkt("\n") + pkt(a+" "+b+" refs/heads/main\n") + pkt("-----BEGIN PGP SIGNATURE-----\n") +
				pkt("push-cert-end\n") + "0000",
			want: []RefUpdate{{Ref: "refs/heads/main", Name: "main", OldSHA: a, NewSHA: b}},
		},
		{name: "empty body", body: "", wantErr: true},
		{name: "truncated", body: pkt(a + " " + b + " refs/heads/main\x00caps\n")[:30], wantErr: true},
		{name: "garbage", body: "zzzz", wantErr: true},
		{name: "not a command", body: pkt("hello world\n") + "0000", wantErr: true},
		{name: "short sha", body: pkt("abc def refs/heads/main\n") + "0000", wantErr: true},
		{name: "mixed lengths", body: pkt(a+" "+a256+" refs/heads/main\n") + "0000", wantErr: true},
		{name: "delimiter packet", body: "0001", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCommands(strings.NewReader(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("commands:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestCommandSniffer streams a body with a large pack after the command list
// through the sniffer, plain and gzipped, and checks that every byte passes
// through unchanged while the commands are parsed.
func TestCommandSniffer(t *testing.T) {
	a, b := strings.Repeat("a", 40), strings.Repeat("b", 40)
	commands := pkt(a+" "+b+" refs/heads/main\x00report-status\n") + "0000"
	pack := make([]byte, 1<<20)
	rand.Read(pack)
	plain := append([]byte(commands), pack...)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(plain)
	zw.Close()

	for _, tt := range []struct {
		name    string
		body    []byte
		gzipped bool
	}{
		{"plain", plain, false},
		{"gzip", zipped.Bytes(), true},
		{"command list only", []byte(commands), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newCommandSniffer(bytes.NewReader(tt.body), tt.gzipped)
			var out bytes.Buffer
			// Read in odd-sized pieces, as a pipe to git would.
			if _, err := io.CopyBuffer(&out, struct{ io.Reader }{s}, make([]byte, 1000)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), tt.body) {
				t.Errorf("body changed while passing through the sniffer")
			}
			got, err := s.Result()
			want := []RefUpdate{{Ref: "refs/heads/main", Name: "main", OldSHA: a, NewSHA: b}}
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Result = %+v, %v; want %+v", got, err, want)
			}
		})
	}

	t.Run("body ends early", func(t *testing.T) {
		s := newCommandSniffer(strings.NewReader(commands[:20]), false)
		io.Copy(io.Discard, s)
		if _, err := s.Result(); err == nil {
			t.Errorf("Result of a truncated command list succeeded")
		}
	})
	t.Run("body abandoned", func(t *testing.T) {
		s := newCommandSniffer(strings.NewReader(commands), false)
		if _, err := s.Result(); err == nil {
			t.Errorf("Result of an unread body succeeded")
		}
	})
}
