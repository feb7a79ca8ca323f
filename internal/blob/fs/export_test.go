package fs

// MaxOpenFiles is maxOpenFiles, for tests.
const MaxOpenFiles = maxOpenFiles
