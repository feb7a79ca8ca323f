package store

import (
	"fmt"
	"time"
)

// sqliteTime is the fixed-width text form of timestamps on SQLite: it sorts
// and compares like the instants it names.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

// t renders a timestamp argument: timestamptz on PostgreSQL, fixed-width
// UTC text on SQLite.
func (db *DB) t(t time.Time) any {
	t = norm(t)
	if db.engine.Numbered {
		return t
	}
	return t.Format(sqliteTime)
}

// tp renders an optional timestamp argument; nil is NULL.
func (db *DB) tp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return db.t(*t)
}

// timeDst scans a timestamp column of either engine into a time.Time.
type timeDst struct{ t *time.Time }

func (d timeDst) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*d.t = norm(v)
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	case nil:
		*d.t = time.Time{}
	default:
		return fmt.Errorf("scanning time from %T", src)
	}
	return nil
}

func (d timeDst) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("parsing time %q: %w", s, err)
	}
	*d.t = norm(t)
	return nil
}

// nullTimeDst scans a nullable timestamp column into a *time.Time.
type nullTimeDst struct{ t **time.Time }

func (d nullTimeDst) Scan(src any) error {
	if src == nil {
		*d.t = nil
		return nil
	}
	var t time.Time
	if err := (timeDst{&t}).Scan(src); err != nil {
		return err
	}
	*d.t = &t
	return nil
}

func scanTime(t *time.Time) timeDst          { return timeDst{t} }
func scanNullTime(t **time.Time) nullTimeDst { return nullTimeDst{t} }
