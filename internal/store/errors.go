package store

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/batonci/baton/internal/ci"
)

// notFound maps sql.ErrNoRows onto KindNotFound naming the thing, and any
// other error onto a wrapped internal one.
func (db *DB) notFound(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return ci.Errorf(ci.KindNotFound, "%s not found", what)
	}
	return fmt.Errorf("reading %s: %w", what, err)
}

// violation maps constraint violations onto kinds: a unique violation is
// KindConflict with msg, a foreign-key violation KindInvalid naming what
// doing was about. Other errors are wrapped as "doing: err".
func (db *DB) violation(err error, doing, msg string) error {
	if err == nil {
		return nil
	}
	var ce *ci.Error
	if errors.As(err, &ce) {
		return err
	}
	switch db.engine.Classify(err) {
	case UniqueViolation:
		return ci.Wrap(ci.KindConflict, err, "%s", msg)
	case ForeignKeyViolation:
		return ci.Wrap(ci.KindInvalid, err, "%s: a referenced row does not exist", doing)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// mustAffect turns "no row changed" into KindNotFound naming the thing.
func mustAffect(res sql.Result, format string, args ...any) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("counting affected rows: %w", err)
	}
	if n == 0 {
		return ci.Errorf(ci.KindNotFound, "%s not found", fmt.Sprintf(format, args...))
	}
	return nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
