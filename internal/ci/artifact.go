package ci

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Artifact file types (GitLab's file_type values Baton stores).
const (
	FileTypeArchive = "archive"
	FileTypeJUnit   = "junit"
	FileTypeDotenv  = "dotenv"
	FileTypeTrace   = "trace"
	// FileTypePublished is an artifact a running job published by name
	// (PUT /jobs/:id/artifacts/publish/:name): a zip, indexed like the
	// archive, and one of several a job may have, told apart by Name.
	FileTypePublished = "published"
)

// Artifact file formats.
const (
	FormatZip  = "zip"
	FormatGzip = "gzip"
	FormatRaw  = "raw"
)

// Artifact is one stored file of a job: its archive, a report or its trace.
// A row exists only once the bytes are completely stored (and, for archives,
// indexed).
type Artifact struct {
	ID         int64
	JobID      int64
	PipelineID int64
	ProjectID  int64
	FileType   string // FileTypeArchive, ...
	Name       string // a published artifact's name, unique per job; "" otherwise
	FileFormat string // FormatZip, ...
	Filename   string // "artifacts.zip", "junit.xml.gz", ...
	Size       int64
	SHA256     string // hex
	BlobKey    string // key in the blob store
	IndexKey   string // key of the archive's entry index, archives only
	ExpireAt   *time.Time
	Locked     bool // kept regardless of expiry (keep, or latest successful pipeline)
	CreatedAt  time.Time
}

// Blob keys of artifacts. Every byte Baton puts in the blob store is an
// artifact's file or its archive index, at these keys; the orphan sweep
// reads the job back from a key to find the row that should reference it.
const (
	// ArtifactKeyPrefix starts every artifact blob key.
	ArtifactKeyPrefix = "artifacts/"
	// IndexKeySuffix turns an archive's key into its index's key.
	IndexKeySuffix = ".index"
)

// ArtifactBlobKey is the key of a job's uploaded file:
// artifacts/<project>/<job>/<file type>/<name>, name unique per upload.
func ArtifactBlobKey(projectID, jobID int64, fileType, name string) string {
	return fmt.Sprintf("%s%d/%d/%s/%s", ArtifactKeyPrefix, projectID, jobID, fileType, name)
}

// ArtifactKeyJob returns the job whose artifact (or archive index) key is
// key; ok is false for a key of any other shape.
func ArtifactKeyJob(key string) (jobID int64, ok bool) {
	rest, found := strings.CutPrefix(key, ArtifactKeyPrefix)
	if !found {
		return 0, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 || parts[2] == "" || parts[3] == "" {
		return 0, false
	}
	if _, err := strconv.ParseInt(parts[0], 10, 64); err != nil {
		return 0, false
	}
	id, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || id <= 0 {
		return 0, false
	}
	return id, true
}

// ArtifactFile is one file of an archive: its path and the hex SHA-256 of
// its bytes.
type ArtifactFile struct {
	Path   string
	SHA256 string
}

// FileProvenance is one archive holding a file of a given digest: where the
// file came from (commit, pipeline, job, runner) and its path in the archive.
type FileProvenance struct {
	ArtifactID        int64
	PipelineID        int64
	JobID             int64
	JobName           string
	CommitSHA         string
	Ref               string
	RunnerID          int64 // 0 when unknown
	RunnerDescription string
	Path              string
	CreatedAt         time.Time // when the archive was stored
}

// MaxArtifactNameLen bounds a published artifact's name.
const MaxArtifactNameLen = 100

// CheckArtifactName validates a published artifact's name: 1 to 100 ASCII
// letters, digits, '.', '_' and '-', not starting with '.'.
func CheckArtifactName(name string) error {
	ok := name != "" && len(name) <= MaxArtifactNameLen && name[0] != '.'
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
	}
	if !ok {
		return Errorf(KindInvalid, "400 Bad request - artifact name %q must be 1 to %d letters, digits, '.', '_' or '-', not starting with '.'", name, MaxArtifactNameLen)
	}
	return nil
}
