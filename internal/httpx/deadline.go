package httpx

import (
	"net/http"
	"time"
)

// MinTransferRate is the slowest rate, in bytes per second, at which a
// client may legitimately move a large body (a runner uploading over a poor
// link, someone downloading a 1 GiB archive): a transfer of n bytes gets
// TransferGrace plus n/MinTransferRate seconds, so 1 GiB gets about 4.5 h.
const MinTransferRate = 64 << 10

// TransferGrace is the time any transfer gets on top of its size's share.
const TransferGrace = time.Minute

// TransferTime is how long moving size bytes may take.
func TransferTime(size int64) time.Duration {
	if size < 0 {
		size = 0
	}
	return TransferGrace + time.Duration(size/MinTransferRate)*time.Second
}

// ExtendWrite moves the response's write deadline (the server's
// WriteTimeout) far enough to send size bytes at MinTransferRate. A body
// of at most MinTransferRate bytes, which moves within a second at that
// rate, keeps the server's deadline like every JSON answer: moving a
// connection's deadline costs the runtime timer work that was a fifth of
// a small file's read. Writers that cannot set deadlines (tests'
// recorders) are left alone.
func ExtendWrite(w http.ResponseWriter, size int64) {
	if size <= MinTransferRate {
		return
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(TransferTime(size)))
}

// ExtendRead moves the request's read deadline (the server's ReadTimeout)
// far enough to receive size bytes at MinTransferRate.
func ExtendRead(w http.ResponseWriter, size int64) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(TransferTime(size)))
}

// Hold lets a handler keep a request open for d more (long polls, waits):
// both deadlines move, since an expired read deadline also ends the
// request's context once its body has been read.
func Hold(w http.ResponseWriter, d time.Duration) {
	rc := http.NewResponseController(w)
	t := time.Now().Add(d + TransferGrace)
	_ = rc.SetReadDeadline(t)
	_ = rc.SetWriteDeadline(t)
}
