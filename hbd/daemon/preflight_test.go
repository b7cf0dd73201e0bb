package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRefusal: a start CheckDirs refuses is a FilesError (hbd run exits
// 6, not retried) unless every error is a directory this process may not
// write (a file system still read-only at boot: exit 1, retried); the
// message has every error, on one line.
func TestRefusal(t *testing.T) {
	readOnly := notWritable{fmt.Errorf("state directory /var/lib/heartbeat is not writable: %w", unix.EROFS)}
	garbled := errors.New("hb_uuid: 3 bytes, want a 16-byte node uuid (remove it to make a new one)")
	ioErr := fmt.Errorf("state directory /var/lib/heartbeat: %w", &fs.PathError{Op: "stat", Path: "/var/lib/heartbeat", Err: unix.EIO})
	stale := fmt.Errorf("read settings: %w", &fs.PathError{Op: "open", Path: "/var/lib/heartbeat/hbd_settings", Err: unix.ESTALE})
	notDir := fmt.Errorf("read peer generations: %w", &fs.PathError{Op: "open", Path: "/var/lib/heartbeat/x", Err: unix.ENOTDIR})
	for _, tc := range []struct {
		name  string
		errs  []error
		files bool
	}{
		{"a directory not writable", []error{readOnly}, false},
		{"two not writable", []error{readOnly, readOnly}, false},
		{"a state file garbled", []error{garbled}, true},
		{"both", []error{readOnly, garbled}, true},
		{"an I/O error", []error{ioErr}, false},
		{"a stale mount and a directory not writable", []error{stale, readOnly}, false},
		{"an I/O error and a state file garbled", []error{ioErr, garbled}, true},
		{"a file where a directory should be", []error{notDir}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := refusal(tc.errs)
			var fe *FilesError
			if errors.As(err, &fe) != tc.files {
				t.Errorf("refusal(%v) = %#v, FilesError %v, want %v", tc.errs, err, !tc.files, tc.files)
			}
			for _, e := range tc.errs {
				if !strings.Contains(err.Error(), e.Error()) {
					t.Errorf("%q lacks %q", err, e)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("%q is more than one line", err)
			}
		})
	}
}
