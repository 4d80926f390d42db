package main

import "context"

func imapFaults(ctx context.Context, e *env, args []string) error  { return nil }
func load(ctx context.Context, e *env, args []string) error        { return nil }
