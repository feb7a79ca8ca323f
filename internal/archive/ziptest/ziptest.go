// Package ziptest writes zip archives byte by byte for tests and
// measurements: archives of any number of entries in constant memory, and
// archives whose central directory says things archive/zip never writes
// (entries sharing bytes, declared sizes that are not the data's).
package ziptest

import (
	"bufio"
	"encoding/binary"
	"hash/crc32"
	"io"
)

// File is one entry of an archive written by Write.
type File struct {
	Name string
	Data []byte // stored as is (method 0)
	// Size, when non-zero, is the uncompressed size the central directory
	// declares instead of len(Data).
	Size uint64
	// SharesWith, when non-zero, is 1 + the index of an earlier file whose
	// local header and data this entry points at (an overlapping entry):
	// no local header is written for it.
	SharesWith int
}

var le = binary.LittleEndian

const maxUint16, maxUint32 = 0xffff, 0xffffffff

// Write writes files as a zip archive to w, with zip64 end records when the
// count or the central directory's offset needs them, and returns its size.
func Write(w io.Writer, files []File) (int64, error) {
	offsets := make([]uint64, len(files))
	cw := &counter{w: bufio.NewWriterSize(w, 64<<10)}
	for i, f := range files {
		if f.SharesWith != 0 {
			offsets[i] = offsets[f.SharesWith-1]
			continue
		}
		offsets[i] = uint64(cw.n)
		writeLocal(cw, f.Name, f.Data)
	}
	dirStart := uint64(cw.n)
	for i, f := range files {
		size := uint64(len(f.Data))
		if f.Size != 0 {
			size = f.Size
		}
		data := f.Data
		if f.SharesWith != 0 {
			data = files[f.SharesWith-1].Data
		}
		writeCentral(cw, f.Name, data, size, offsets[i])
	}
	return cw.n, finish(cw, uint64(len(files)), dirStart)
}

// WriteMany writes an archive of n stored entries named name(i), each
// holding body, to w in constant memory (the central directory is generated
// a second time rather than remembered), and returns its size.
func WriteMany(w io.Writer, n int, name func(i int) string, body []byte) (int64, error) {
	cw := &counter{w: bufio.NewWriterSize(w, 64<<10)}
	for i := range n {
		writeLocal(cw, name(i), body)
	}
	dirStart := uint64(cw.n)
	var off uint64
	for i := range n {
		nm := name(i)
		writeCentral(cw, nm, body, uint64(len(body)), off)
		off += 30 + uint64(len(nm)) + uint64(len(body))
	}
	return cw.n, finish(cw, uint64(n), dirStart)
}

func writeLocal(w *counter, name string, data []byte) {
	var h [30]byte
	le.PutUint32(h[0:], 0x04034b50)
	le.PutUint16(h[4:], 20)
	le.PutUint16(h[8:], 0) // stored
	le.PutUint16(h[12:], 0x21)
	le.PutUint32(h[14:], crc32.ChecksumIEEE(data))
	le.PutUint32(h[18:], uint32(len(data)))
	le.PutUint32(h[22:], uint32(len(data)))
	le.PutUint16(h[26:], uint16(len(name)))
	w.Write(h[:])
	io.WriteString(w, name)
	w.Write(data)
}

func writeCentral(w *counter, name string, data []byte, size, offset uint64) {
	var h [46]byte
	var extra []byte
	le.PutUint32(h[0:], 0x02014b50)
	le.PutUint16(h[4:], 3<<8|45) // Unix, zip 4.5
	le.PutUint16(h[6:], 20)
	le.PutUint16(h[12:], 0x21)
	le.PutUint32(h[16:], crc32.ChecksumIEEE(data))
	le.PutUint32(h[20:], uint32(len(data)))
	size32, off32 := uint32(size), uint32(offset)
	if size >= maxUint32 || offset >= maxUint32 {
		extra = make([]byte, 4, 20)
		le.PutUint16(extra, 0x0001)
		if size >= maxUint32 {
			size32 = maxUint32
			extra = le.AppendUint64(extra, size)
		}
		if offset >= maxUint32 {
			off32 = maxUint32
			extra = le.AppendUint64(extra, offset)
		}
		le.PutUint16(extra[2:], uint16(len(extra)-4))
	}
	le.PutUint32(h[24:], size32)
	le.PutUint16(h[28:], uint16(len(name)))
	le.PutUint16(h[30:], uint16(len(extra)))
	le.PutUint32(h[38:], 0o100644<<16)
	le.PutUint32(h[42:], off32)
	w.Write(h[:])
	io.WriteString(w, name)
	w.Write(extra)
}

// finish writes the end records (zip64 ones when needed) and flushes.
func finish(w *counter, count, dirStart uint64) error {
	dirSize := uint64(w.n) - dirStart
	if count >= maxUint16 || dirStart >= maxUint32 || dirSize >= maxUint32 {
		end64 := uint64(w.n)
		var r [56]byte
		le.PutUint32(r[0:], 0x06064b50)
		le.PutUint64(r[4:], 44)
		le.PutUint16(r[12:], 45)
		le.PutUint16(r[14:], 45)
		le.PutUint64(r[24:], count)
		le.PutUint64(r[32:], count)
		le.PutUint64(r[40:], dirSize)
		le.PutUint64(r[48:], dirStart)
		w.Write(r[:])
		var loc [20]byte
		le.PutUint32(loc[0:], 0x07064b50)
		le.PutUint64(loc[8:], end64)
		le.PutUint32(loc[16:], 1)
		w.Write(loc[:])
		count, dirStart, dirSize = maxUint16, maxUint32, maxUint32
	}
	var e [22]byte
	le.PutUint32(e[0:], 0x06054b50)
	le.PutUint16(e[8:], uint16(count))
	le.PutUint16(e[10:], uint16(count))
	le.PutUint32(e[12:], uint32(dirSize))
	le.PutUint32(e[16:], uint32(dirStart))
	w.Write(e[:])
	if w.err != nil {
		return w.err
	}
	return w.w.Flush()
}

// counter counts bytes written and keeps the first error.
type counter struct {
	w   *bufio.Writer
	n   int64
	err error
}

func (c *counter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
