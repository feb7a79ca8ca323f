package store

import (
	"context"
	"fmt"
)

// Setting returns the value of key, KindNotFound if it is unset.
func (db *DB) Setting(ctx context.Context, key string) (string, error) {
	var v string
	if err := db.queryRow(ctx, db.sql, `SELECT value FROM settings WHERE name = ?`, key).Scan(&v); err != nil {
		return "", db.notFound(err, "setting %q", key)
	}
	return v, nil
}

// SetSetting sets key to value, replacing any previous value.
func (db *DB) SetSetting(ctx context.Context, key, value string) error {
	_, err := db.exec(ctx, db.sql,
		`INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
		key, value)
	if err != nil {
		return fmt.Errorf("setting %q: %w", key, err)
	}
	return nil
}
