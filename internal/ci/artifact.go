package ci

import "time"

// Artifact file types (GitLab's file_type values Baton stores).
const (
	FileTypeArchive = "archive"
	FileTypeJUnit   = "junit"
	FileTypeDotenv  = "dotenv"
	FileTypeTrace   = "trace"
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
