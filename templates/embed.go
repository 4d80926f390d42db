// Package templates holds sitrep's default email templates. Each file is a
// Go text/template that produces Markdown; internal/compose parses them all
// at start-up and renders them to HTML and plain text. An operator can
// override any of them by putting a file of the same name in the directory
// named by the config; the comment at the top of each file lists the data it
// receives.
package templates

import "embed"

// FS holds the default templates, one file per kind of email.
//
//go:embed *.md.tmpl
var FS embed.FS
