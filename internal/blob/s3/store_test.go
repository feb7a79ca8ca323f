package s3_test

import (
	"context"
	"testing"

	"github.com/batonci/baton/internal/blob"
	"github.com/batonci/baton/internal/blob/blobtest"
	"github.com/batonci/baton/internal/blob/s3"
	"github.com/batonci/baton/internal/tests3"
)

func config(b tests3.Bucket) s3.Config {
	return s3.Config{
		Endpoint:  b.Endpoint,
		UseSSL:    b.UseSSL,
		Bucket:    b.Bucket,
		Region:    b.Region,
		AccessKey: b.AccessKey,
		SecretKey: b.SecretKey,
		PathStyle: true,
	}
}

func newStore(t *testing.T) *s3.Store {
	t.Helper()
	s, err := s3.New(context.Background(), config(tests3.Server(t)))
	if err != nil {
		t.Fatalf("s3.New: %v", err)
	}
	return s
}

func TestStore(t *testing.T) {
	blobtest.TestStore(t, func(t *testing.T) blob.Store { return newStore(t) })
}
