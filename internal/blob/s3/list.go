package s3

import (
	"context"
	"errors"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/batonci/baton/internal/blob"
	"github.com/batonci/baton/internal/ci"
)

// List calls fn with every object whose key starts with prefix (under the
// store's own prefix). ModTime is S3's LastModified, which for an object
// stored by multipart upload is when the upload began.
func (s *Store) List(ctx context.Context, prefix string, fn func(blob.Entry) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the listing goroutine if fn stops early
	for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if oi.Err != nil {
			return classify(oi.Err, "listing %q", prefix)
		}
		key, ok := strings.CutPrefix(oi.Key, s.prefix)
		if !ok || strings.HasSuffix(key, "/") {
			continue // a directory marker some tools create
		}
		if err := fn(blob.Entry{Key: key, Size: oi.Size, ModTime: oi.LastModified}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// uploadsPage is how many multipart uploads one listing request asks for.
const uploadsPage = 1000

// Uploads lists the bucket's incomplete multipart uploads under the store's
// prefix: Puts under way, and those a killed process never completed or
// aborted (S3 keeps their parts, and bills them, until aborted).
func (s *Store) Uploads(ctx context.Context, fn func(blob.Upload) error) error {
	keyMarker, idMarker := "", ""
	for {
		res, err := s.core.ListMultipartUploads(ctx, s.bucket, s.prefix, keyMarker, idMarker, "", uploadsPage)
		if err != nil {
			return classify(err, "listing multipart uploads")
		}
		for _, u := range res.Uploads {
			key, ok := strings.CutPrefix(u.Key, s.prefix)
			if !ok {
				continue
			}
			if err := fn(blob.Upload{Key: key, ID: u.UploadID, Started: u.Initiated}); err != nil {
				return err
			}
		}
		if !res.IsTruncated || (res.NextKeyMarker == "" && res.NextUploadIDMarker == "") {
			return nil
		}
		keyMarker, idMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
}

// AbortUpload aborts a multipart upload, which deletes its parts. An upload
// already completed or aborted is not an error.
func (s *Store) AbortUpload(ctx context.Context, u blob.Upload) error {
	name, err := s.name(u.Key)
	if err != nil {
		return err
	}
	if u.ID == "" {
		return ci.Errorf(ci.KindInvalid, "no upload id")
	}
	if err := s.core.AbortMultipartUpload(ctx, s.bucket, name, u.ID); err != nil {
		var resp minio.ErrorResponse
		if errors.As(err, &resp) && (resp.Code == "NoSuchUpload" || resp.StatusCode == 404) {
			return nil
		}
		return classify(err, "aborting upload of %q", u.Key)
	}
	return nil
}
