package outbox_test

import (
	"os"

	"github.com/sitrep-dev/sitrep/internal/compose"
)

func writeFileErr(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

func newRendererOrErr(dir string) (*compose.Renderer, error) { return compose.New(dir) }
