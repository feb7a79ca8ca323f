//go:build !race

package archive

// bombSize is the declared size of the zip bomb in TestOpenEntryZipBomb.
const bombSize = 1 << 30
