// Package architecture holds no code, only tests: the rules of sitrep's
// shape (docs/architecture.md, issue 16) written so that `go test` checks
// them. Each table has one owning package that alone names it in SQL; the
// import graph is at most five edges deep from cmd/sitrep; the domain
// (incident, resolution, postmortem) imports no adapter and the outbox no
// domain package; cmd/sitrep wires with interfaces, not function values.
//
// A rule broken today is listed in its test's pending list. The test fails
// on a violation not listed, and on a listed one that is gone, so that the
// lists only shrink until they are empty.
package architecture
