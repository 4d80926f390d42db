package directory

import (
	"context"
	"fmt"
	"log/slog"
	"os"
)

// FileSync keeps the directory in step with groups.yaml: at start, on
// SIGHUP and from the API's sync endpoint.
type FileSync struct {
	Store *Store
	// File is groups.yaml; "" syncs Example (the built-in organisation).
	File    string
	Example []byte
	Logger  *slog.Logger
}

// Sync reads the file and replaces the directory with it; a file that is
// refused leaves the directory as it was.
func (f *FileSync) Sync(ctx context.Context) (*SyncResult, error) {
	data, name := f.Example, "example groups.yaml (built in)"
	if f.File != "" {
		b, err := os.ReadFile(f.File)
		if err != nil {
			return nil, fmt.Errorf("directory: %w", err)
		}
		data, name = b, f.File
	}
	res, err := f.Store.SyncFile(ctx, data, name)
	if err != nil {
		return nil, err
	}
	if f.Logger != nil {
		f.Logger.Info("directory synced", "file", name, "people", res.People, "groups", res.Groups, "escalations", res.Escalations)
	}
	return res, nil
}
