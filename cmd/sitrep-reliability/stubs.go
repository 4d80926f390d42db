package main

import "context"

func replicas(ctx context.Context, e *env, args []string) error    { return nil }
func imapFaults(ctx context.Context, e *env, args []string) error  { return nil }
func load(ctx context.Context, e *env, args []string) error        { return nil }
