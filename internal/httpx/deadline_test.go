package httpx

import (
	"net/http"
	"testing"
	"time"
)

// deadlineRecorder records the write deadlines set through a
// ResponseController.
type deadlineRecorder struct {
	http.ResponseWriter
	set []time.Time
}

func (d *deadlineRecorder) SetWriteDeadline(t time.Time) error {
	d.set = append(d.set, t)
	return nil
}

// TestExtendWrite: a body small enough to move within a second at the
// minimum rate keeps the server's deadline; a larger one gets its share
// of time on top of the grace.
func TestExtendWrite(t *testing.T) {
	for _, c := range []struct {
		size int64
		set  bool
	}{{0, false}, {4096, false}, {MinTransferRate, false}, {MinTransferRate + 1, true}, {1 << 30, true}} {
		d := &deadlineRecorder{}
		before := time.Now()
		ExtendWrite(d, c.size)
		if got := len(d.set) == 1; got != c.set {
			t.Errorf("size %d: deadline set %v, want %v", c.size, got, c.set)
			continue
		}
		if c.set && d.set[0].Before(before.Add(TransferTime(c.size))) {
			t.Errorf("size %d: deadline %v is short of %v", c.size, d.set[0].Sub(before), TransferTime(c.size))
		}
	}
}
