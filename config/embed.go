// Package config ships the example files: the example organisation that
// the embedded default runs on, and the documented configuration.
package config

import _ "embed"

// ExampleGroups is config/groups.yaml: an EXAMPLE organisation, used when
// no directory.file is configured.
//
//go:embed groups.yaml
var ExampleGroups []byte
