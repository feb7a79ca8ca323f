package tests3_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/batonci/baton/internal/tests3"
)

func TestServer(t *testing.T) {
	b := tests3.Server(t)
	c := b.Client(t)
	ctx := context.Background()
	ok, err := c.BucketExists(ctx, b.Bucket)
	if err != nil || !ok {
		t.Fatalf("BucketExists(%s) = %v, %v; want true", b.Bucket, ok, err)
	}
	if _, err := c.PutObject(ctx, b.Bucket, "k", bytes.NewReader([]byte("hello")), 5, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	obj, err := c.GetObject(ctx, b.Bucket, "k", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	got, err := io.ReadAll(obj)
	if err != nil || string(got) != "hello" {
		t.Errorf("GetObject = %q, %v; want hello", got, err)
	}
}

func TestServerBucketsAreFresh(t *testing.T) {
	a, b := tests3.Server(t), tests3.Server(t)
	if a.Bucket == b.Bucket {
		t.Errorf("two calls returned the same bucket %s", a.Bucket)
	}
}
