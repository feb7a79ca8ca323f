package ci

import "testing"

func TestArtifactKeyJob(t *testing.T) {
	key := ArtifactBlobKey(3, 42, FileTypeArchive, "0a1b2c")
	tests := []struct {
		key    string
		wantID int64
		wantOK bool
	}{
		{key, 42, true},
		{key + IndexKeySuffix, 42, true},
		{ArtifactBlobKey(1, 7, FileTypeDotenv, "x"), 7, true},
		{"artifacts/3/42/archive", 0, false},
		{"artifacts/3/42/archive/a/b", 0, false},
		{"artifacts/3/x/archive/a", 0, false},
		{"artifacts/x/42/archive/a", 0, false},
		{"artifacts/3/0/archive/a", 0, false},
		{"artifacts/3/42//a", 0, false},
		{"other/3/42/archive/a", 0, false},
		{"probe", 0, false},
	}
	for _, tt := range tests {
		id, ok := ArtifactKeyJob(tt.key)
		if id != tt.wantID || ok != tt.wantOK {
			t.Errorf("ArtifactKeyJob(%q) = %d, %v; want %d, %v", tt.key, id, ok, tt.wantID, tt.wantOK)
		}
	}
}
