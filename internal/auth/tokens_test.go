package auth_test

import (
	"context"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

func TestTokenLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tokens := &auth.Tokens{DB: storetest.Open(t)}
	plain, tok, err := tokens.Create(ctx, "ci", auth.Lead)
	if err != nil {
		t.Fatal(err)
	}
	p, err := tokens.Verify(ctx, plain)
	if err != nil || p.Name != "ci" || p.Role != auth.Lead {
		t.Fatalf("verify: %+v %v", p, err)
	}
	if _, err := tokens.Verify(ctx, plain+"x"); errs.CodeOf(err) != errs.Unauthorized {
		t.Fatalf("a wrong token must be unauthorized, got %v", err)
	}
	var stored string
	tokens.DB.QueryRowContext(ctx, `SELECT hash FROM api_tokens WHERE id = $1`, tok.ID).Scan(&stored)
	if stored == plain || stored == "" {
		t.Fatal("the plaintext token must not be stored")
	}
	if err := tokens.Revoke(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Verify(ctx, plain); errs.CodeOf(err) != errs.Unauthorized {
		t.Fatalf("a revoked token must be unauthorized, got %v", err)
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	if !auth.Admin.Allows(auth.Lead) || auth.Viewer.Allows(auth.Lead) || !auth.Lead.Allows(auth.Viewer) || auth.Role("x").Allows(auth.Viewer) {
		t.Fatal("role ranking wrong")
	}
}
