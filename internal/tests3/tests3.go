// Package tests3 gives tests a real S3 server: the one named by
// BATON_TEST_S3_ENDPOINT (with BATON_TEST_S3_ACCESS_KEY and
// BATON_TEST_S3_SECRET_KEY), or else a versitygw gateway on a temporary
// directory, built from the repository's tools module and cached between runs.
package tests3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Bucket is a fresh, empty bucket on a running S3 server.
type Bucket struct {
	Endpoint  string // host:port, without scheme
	UseSSL    bool
	Region    string
	AccessKey string
	SecretKey string
	Bucket    string
}

// URL returns the endpoint as an http(s):// URL.
func (b Bucket) URL() string {
	if b.UseSSL {
		return "https://" + b.Endpoint
	}
	return "http://" + b.Endpoint
}

// Server returns a fresh bucket for the test. Without BATON_TEST_S3_ENDPOINT
// it starts a versitygw gateway for this test and stops it at cleanup. When
// versitygw cannot be built the test is skipped, or fails if CI is set.
func Server(tb testing.TB) Bucket {
	tb.Helper()
	var b Bucket
	ep := os.Getenv("BATON_TEST_S3_ENDPOINT")
	external := ep != ""
	if external {
		b = Bucket{
			Endpoint:  ep,
			Region:    envOr("BATON_TEST_S3_REGION", "us-east-1"),
			AccessKey: os.Getenv("BATON_TEST_S3_ACCESS_KEY"),
			SecretKey: os.Getenv("BATON_TEST_S3_SECRET_KEY"),
		}
		if rest, ok := strings.CutPrefix(ep, "https://"); ok {
			b.Endpoint, b.UseSSL = rest, true
		} else if rest, ok := strings.CutPrefix(ep, "http://"); ok {
			b.Endpoint = rest
		}
	} else {
		b = startGateway(tb)
	}
	b.Bucket = "baton-test-" + randomHex(tb, 6)
	createBucket(tb, b, external)
	return b
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func randomHex(tb testing.TB, n int) string {
	p := make([]byte, n)
	if _, err := rand.Read(p); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(p)
}

// Client returns a minio client for b, for tests that look at the bucket
// directly.
func (b Bucket) Client(tb testing.TB) *minio.Client {
	tb.Helper()
	c, err := minio.New(b.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(b.AccessKey, b.SecretKey, ""),
		Secure:       b.UseSSL,
		Region:       b.Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		tb.Fatalf("creating S3 client: %v", err)
	}
	return c
}

// createBucket makes b.Bucket and, if removeAfter (an external server; a
// gateway's directory goes away by itself), empties and removes it at cleanup.
func createBucket(tb testing.TB, b Bucket, removeAfter bool) {
	tb.Helper()
	c := b.Client(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.MakeBucket(ctx, b.Bucket, minio.MakeBucketOptions{Region: b.Region}); err != nil {
		tb.Fatalf("creating test bucket %s on %s: %v", b.Bucket, b.Endpoint, err)
	}
	if !removeAfter {
		return
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		objects := c.ListObjects(ctx, b.Bucket, minio.ListObjectsOptions{Recursive: true})
		for res := range c.RemoveObjects(ctx, b.Bucket, objects, minio.RemoveObjectsOptions{}) {
			tb.Logf("removing test object %s: %v", res.ObjectName, res.Err)
		}
		if err := c.RemoveBucket(ctx, b.Bucket); err != nil {
			tb.Logf("removing test bucket %s: %v", b.Bucket, err)
		}
	})
}
