//go:build race

package archive

// bombSize is smaller under the race detector, which slows inflating tenfold.
const bombSize = 256 << 20
