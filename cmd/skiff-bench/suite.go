package main

import (
	"context"
	"errors"
)

func suiteCmd(ctx context.Context, args []string) error { return errors.New("suite: not yet") }
