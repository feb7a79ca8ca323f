// Package s3 implements blob.Store on any S3-compatible object store
// (AWS S3, MinIO, Ceph RGW, Garage, versitygw...) with minio-go.
package s3

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/batonci/baton/internal/blob"
	"github.com/batonci/baton/internal/ci"
)

// PartSize is the multipart part size of Put. minio-go buffers one part in
// memory, so this bounds Put's memory; with S3's limit of 10,000 parts it
// also bounds an object to 160 GiB.
const PartSize = 16 << 20

// maxSignedTTL is S3's limit on the lifetime of a presigned URL.
const maxSignedTTL = 7 * 24 * time.Hour

// Config says where the store keeps its objects.
type Config struct {
	// Endpoint is host[:port], or an http:// or https:// URL (whose scheme
	// then overrides UseSSL).
	Endpoint  string
	Bucket    string
	Region    string // "" lets the client discover it (one request per bucket)
	AccessKey string
	SecretKey string
	UseSSL    bool
	// PathStyle forces path-style requests (endpoint/bucket/key), which most
	// self-hosted servers need; otherwise the client picks.
	PathStyle bool
	// Prefix is prepended to every key ("baton/" stores key "a" as
	// "baton/a"); a missing trailing slash is added.
	Prefix string
	// CreateBucket makes New create Bucket when it does not exist.
	CreateBucket bool
	// PublicEndpoint, if set, is the endpoint (same forms as Endpoint) put
	// into signed URLs, for when clients reach the store at another address
	// than Baton does.
	PublicEndpoint string
}

// Store is a blob.Store on an S3 bucket. It is safe for concurrent use.
type Store struct {
	client *minio.Client
	core   minio.Core
	signer *minio.Client // client whose endpoint goes into signed URLs
	bucket string
	prefix string
}

var _ blob.Store = (*Store)(nil)

// New connects to the store and checks that the bucket exists, creating it
// if cfg.CreateBucket. A missing bucket that is not to be (or cannot be)
// created is KindInvalid, with a message that says so; an unreachable server
// KindUnavailable.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Bucket == "" {
		return nil, ci.Errorf(ci.KindInvalid, "s3: no bucket configured")
	}
	client, err := newClient(cfg.Endpoint, cfg)
	if err != nil {
		return nil, err
	}
	s := &Store{client: client, core: minio.Core{Client: client}, signer: client, bucket: cfg.Bucket}
	if p := strings.Trim(cfg.Prefix, "/"); p != "" {
		s.prefix = p + "/"
	}
	if cfg.PublicEndpoint != "" {
		if cfg.Region == "" {
			// Signing without a request needs the region up front.
			cfg.Region = "us-east-1"
		}
		if s.signer, err = newClient(cfg.PublicEndpoint, cfg); err != nil {
			return nil, err
		}
	}

	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, classify(err, "checking bucket %s", cfg.Bucket)
	}
	if !ok {
		if !cfg.CreateBucket {
			return nil, ci.Errorf(ci.KindInvalid, "s3: bucket %s does not exist (create it, or let Baton create it)", cfg.Bucket)
		}
		if err := s.makeBucket(ctx, cfg); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// makeBucket creates the bucket. Another replica creating it at the same
// moment is success; a store that refuses (no s3:CreateBucket permission,
// a name taken by another account) is KindInvalid with what to do.
func (s *Store) makeBucket(ctx context.Context, cfg Config) error {
	err := s.client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
	if err == nil {
		return nil
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) && resp.Code == "BucketAlreadyOwnedByYou" {
		return nil
	}
	if ok, e := s.client.BucketExists(ctx, cfg.Bucket); e == nil && ok {
		return nil // made by someone else meanwhile
	}
	if c := classify(err, "creating bucket %s", cfg.Bucket); ci.KindOf(c) == ci.KindUnavailable {
		return c
	}
	return ci.Wrap(ci.KindInvalid, err, "s3: bucket %s does not exist and creating it failed: create it beforehand, or allow these credentials to create buckets", cfg.Bucket)
}

func newClient(endpoint string, cfg Config) (*minio.Client, error) {
	secure := cfg.UseSSL
	if rest, ok := strings.CutPrefix(endpoint, "https://"); ok {
		endpoint, secure = rest, true
	} else if rest, ok := strings.CutPrefix(endpoint, "http://"); ok {
		endpoint, secure = rest, false
	}
	endpoint = strings.TrimSuffix(endpoint, "/")
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       secure,
		Region:       cfg.Region,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, ci.Wrap(ci.KindInvalid, err, "s3: invalid endpoint %q", endpoint)
	}
	return client, nil
}

// Put streams r into key as a multipart upload of PartSize parts, hashing it
// on the way. S3 makes the object visible only when the upload completes;
// on any error the upload is aborted and key is left as it was. An error
// from r is wrapped; an invalid key is KindInvalid.
//
// Cancelling ctx stops reading r, after which the upload is aborted: the
// requests to S3 run under a context that is not cancelled, so that the
// abort itself still reaches the server (each request is bounded by the
// client's timeouts).
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (blob.Info, error) {
	name, err := s.name(key)
	if err != nil {
		return blob.Info{}, err
	}
	h := sha256.New()
	src := io.TeeReader(blob.ContextReader(ctx, r), h)
	info, err := s.client.PutObject(context.WithoutCancel(ctx), s.bucket, name, src, -1, minio.PutObjectOptions{
		PartSize:    PartSize,
		ContentType: "application/octet-stream",
	})
	if err != nil {
		return blob.Info{}, classify(err, "putting %q", key)
	}
	return blob.Info{Key: key, Size: info.Size, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Stat describes key. SHA256 is empty: the hash is known only once the
// upload has completed, too late to store it as object metadata without a
// server-side copy. A missing key is KindNotFound, an invalid one KindInvalid.
func (s *Store) Stat(ctx context.Context, key string) (blob.Info, error) {
	name, err := s.name(key)
	if err != nil {
		return blob.Info{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{})
	if err != nil {
		return blob.Info{}, classify(err, "getting %q", key)
	}
	return blob.Info{Key: key, Size: oi.Size}, nil
}

// Delete removes key; a missing key is not an error, an invalid one is
// KindInvalid.
func (s *Store) Delete(ctx context.Context, key string) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{}); err != nil {
		if err := classify(err, "deleting %q", key); ci.KindOf(err) != ci.KindNotFound {
			return err
		}
	}
	return nil
}

// SignedURL presigns a GET of key valid for ttl, whose response carries
// Content-Disposition: attachment with filename (if not empty) and
// Content-Type contentType (if not empty). It does not check that key
// exists. A ttl outside (0, 7 days] or an invalid key is KindInvalid.
func (s *Store) SignedURL(ctx context.Context, key string, ttl time.Duration, filename, contentType string) (string, error) {
	name, err := s.name(key)
	if err != nil {
		return "", err
	}
	if ttl <= 0 || ttl > maxSignedTTL {
		return "", ci.Errorf(ci.KindInvalid, "signed URL lifetime %s is not in (0, %s]", ttl, maxSignedTTL)
	}
	params := url.Values{}
	disposition := "attachment"
	if filename != "" {
		disposition = mime.FormatMediaType("attachment", map[string]string{"filename": filename})
	}
	params.Set("response-content-disposition", disposition)
	if contentType != "" {
		params.Set("response-content-type", contentType)
	}
	u, err := s.signer.PresignedGetObject(ctx, s.bucket, name, ttl, params)
	if err != nil {
		return "", classify(err, "signing %q", key)
	}
	return u.String(), nil
}

// classify turns a minio error into a ci kind: a missing object is
// KindNotFound, an unreachable server KindUnavailable; anything else is
// wrapped as is.
func classify(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch {
		case resp.Code == "NoSuchKey" || resp.Code == "NotFound" || (resp.StatusCode == 404 && resp.Code != "NoSuchBucket"):
			return ci.Wrap(ci.KindNotFound, err, "%s: not found", what)
		case resp.StatusCode == 503 || resp.Code == "SlowDown":
			return ci.Wrap(ci.KindUnavailable, err, "%s: object store unavailable", what)
		}
	}
	var netErr net.Error
	if errors.As(err, &netErr) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return ci.Wrap(ci.KindUnavailable, err, "%s: object store unreachable", what)
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
