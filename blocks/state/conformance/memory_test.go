package conformance_test

import (
	"testing"

	"github.com/skiffd/skiff/blocks/state"
	"github.com/skiffd/skiff/blocks/state/conformance"
	"github.com/skiffd/skiff/blocks/state/memory"
)

func TestInMemory(t *testing.T) {
	conformance.Run(t, func(t *testing.T) state.Store {
		s, err := memory.New("conformance", nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, conformance.Options{})
}
