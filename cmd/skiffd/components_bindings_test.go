package main

import "testing"

func TestBindingDirections(t *testing.T) {
	for v, want := range map[string][2]bool{"": {true, true}, "input": {true, false}, "output": {false, true}, "input, output": {true, true}, " Output ": {false, true}} {
		in, out, err := bindingDirections(map[string]string{"direction": v})
		if err != nil || in != want[0] || out != want[1] {
			t.Errorf("%q: %v %v %v", v, in, out, err)
		}
	}
	if _, _, err := bindingDirections(map[string]string{"Direction": "sideways"}); err == nil {
		t.Error("sideways accepted")
	}
}
